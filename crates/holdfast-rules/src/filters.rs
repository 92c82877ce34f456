//! The filters that judge a candidate secret: placeholders, entropy, checksums and shape checks.

use base64::Engine;

/// What a validator sees about one candidate.
#[derive(Debug, Clone, Copy)]
pub struct InputContext<'a> {
    pub value: &'a [u8],
    /// The key or variable name the value was assigned to, when the pattern captures one.
    pub key: Option<&'a [u8]>,
    /// Whether the value was quoted.
    pub quoted: bool,
    pub path: Option<&'a str>,
    /// The whole match the secret sits in (for URL rules: scheme, user, host).
    pub whole: &'a [u8],
}

/// Shannon entropy in bits per byte.
pub fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        if let Some(c) = counts.get_mut(usize::from(b)) {
            *c += 1;
        }
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "xxxx",
    "placeholder",
    "your_",
    "your-",
    "yourkey",
    "changeme",
    "dummy",
    "sample",
    "redacted",
    "fake",
    "<",
    ">",
    "${",
    "{{",
    "%s",
    "***",
    "\u{2026}",
    "...",
];

/// The global placeholder filter every candidate passes through.
pub fn is_placeholder(value: &[u8]) -> bool {
    static WORDS: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> =
        std::sync::OnceLock::new();
    let words = WORDS.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(PLACEHOLDER_WORDS)
            .ok()
    });
    let hit = match words {
        Some(ac) => ac.is_match(value),
        None => {
            let lower = value.to_ascii_lowercase();
            PLACEHOLDER_WORDS
                .iter()
                .any(|w| contains(&lower, w.as_bytes()))
        }
    };
    if hit {
        return true;
    }
    if famous_example(value) {
        return true;
    }
    // Long encoded blobs (private keys, certificates) have runs of `A` where the key has zero bytes;
    // a run only marks a placeholder in a short value.
    let mut run = 1;
    for w in value.windows(2).take_while(|_| value.len() < 100) {
        if w.first() == w.get(1) {
            run += 1;
            if run >= 6 {
                return true;
            }
        } else {
            run = 1;
        }
    }
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in value {
        if let Some(s) = seen.get_mut(usize::from(b))
            && !*s
        {
            *s = true;
            distinct += 1;
        }
    }
    distinct <= 3
}

/// Values published in documentation that people paste verbatim: the jwt.io sample token's
/// signature, AWS's documented key pair.
const FAMOUS_EXAMPLES: &[&str] = &[
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCY",
    "AKIAIOSFODNN7",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
];

fn famous_example(value: &[u8]) -> bool {
    // One automaton built once: a substring search per example per candidate cost more than the
    // rest of the judging.
    static EXAMPLES: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> =
        std::sync::OnceLock::new();
    let shortest = FAMOUS_EXAMPLES.iter().map(|e| e.len()).min().unwrap_or(0);
    if value.len() < shortest {
        return false;
    }
    match EXAMPLES.get_or_init(|| aho_corasick::AhoCorasick::new(FAMOUS_EXAMPLES).ok()) {
        Some(ac) => ac.is_match(value),
        None => FAMOUS_EXAMPLES
            .iter()
            .any(|e| memchr::memmem::find(value, e.as_bytes()).is_some()),
    }
}

pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn base62_6(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62.get((n % 62) as usize).copied().unwrap_or(b'0');
        n /= 62;
    }
    out
}

/// The last 6 bytes of `token` are base62(CRC32(`body`)).
fn crc_trailer_ok(body: &[u8], trailer: &[u8]) -> bool {
    trailer.len() == 6 && base62_6(crc32fast::hash(body)) == trailer
}

fn github_classic(v: &[u8]) -> bool {
    let Some(rest) = v.get(4..) else { return false };
    let (Some(body), Some(trailer)) = (rest.get(..30), rest.get(30..)) else {
        return false;
    };
    rest.len() == 36 && crc_trailer_ok(body, trailer)
}

fn github_pat(v: &[u8]) -> bool {
    let Some(rest) = v.strip_prefix(b"github_pat_") else {
        return false;
    };
    if rest.len() < 7 {
        return false;
    }
    let (body, trailer) = rest.split_at(rest.len() - 6);
    crc_trailer_ok(body, trailer)
}

fn npm(v: &[u8]) -> bool {
    let Some(rest) = v.strip_prefix(b"npm_") else {
        return false;
    };
    let (Some(body), Some(trailer)) = (rest.get(..30), rest.get(30..)) else {
        return false;
    };
    rest.len() == 36 && crc_trailer_ok(body, trailer)
}

fn b64_decode(v: &[u8]) -> Option<Vec<u8>> {
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    engines.iter().find_map(|e| e.decode(v).ok())
}

fn jwt(v: &[u8]) -> bool {
    let mut parts = v.split(|&b| b == b'.');
    let (Some(h), Some(p), Some(_s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some(header) = b64_decode(h) else {
        return false;
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(&header)
    else {
        return false;
    };
    map.contains_key("alg") && b64_decode(p).is_some_and(|payload| payload.first() == Some(&b'{'))
}

/// Values that are names, references or expressions rather than literal secrets.
pub(crate) fn is_variable(v: &[u8]) -> bool {
    let s = String::from_utf8_lossy(v);
    let t = s.trim_matches(|c| c == '"' || c == '\'' || c == '`');
    let lower = t.to_ascii_lowercase();
    if t.is_empty() {
        return true;
    }
    if t.starts_with('$')
        || t.starts_with('%')
        || t.starts_with('@')
        || t.starts_with('&')
        || t.starts_with('#')
    {
        return true;
    }
    if t.contains('(') || t.contains(')') || t.contains("${") || t.contains("{{") || t.contains('[')
    {
        return true;
    }
    let words = [
        "true",
        "false",
        "null",
        "none",
        "nil",
        "undefined",
        "str",
        "string",
        "bytes",
        "int",
        "bool",
        "boolean",
        "object",
        "password",
        "passwd",
        "secret",
        "token",
        "required",
        "optional",
        "empty",
        "env",
        "environ",
        "process.env",
    ];
    if words.contains(&lower.as_str()) {
        return true;
    }
    for prefix in [
        "os.environ",
        "os.getenv",
        "process.env",
        "env.",
        "self.",
        "this.",
        "config.",
        "settings.",
        "secrets.",
        "vars.",
        "props.",
        "params.",
        "args.",
        "options.",
        "opts.",
        "request.",
        "req.",
        "ctx.",
    ] {
        if lower.starts_with(prefix) {
            return true;
        }
    }
    // dotted identifiers (`cfg.db.password`) and SCREAMING_CASE names (`DB_PASSWORD`)
    let ident = |p: &str| {
        !p.is_empty()
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && p.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    };
    if t.contains('.')
        && t.split('.').all(ident)
        && t.split('.').count() >= 2
        && !t.chars().any(|c| c.is_ascii_digit())
    {
        return true;
    }
    if t.contains('_')
        && t.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return true;
    }
    false
}

/// Hosts that only ever appear in documentation and examples (RFC 2606 and friends).
fn is_documentation_host(whole: &[u8]) -> bool {
    let Some(at) = whole.iter().rposition(|&b| b == b'@') else {
        return false;
    };
    let host =
        String::from_utf8_lossy(whole.get(at + 1..).unwrap_or_default()).to_ascii_lowercase();
    let host = host
        .split([':', '/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_string();
    [
        "example.com",
        "example.org",
        "example.net",
        "example",
        "test",
        "invalid",
    ]
    .iter()
    .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

fn url_password(v: &[u8], whole: &[u8]) -> bool {
    // In a connection string a password may well start with `@`; `@NAME` alone is still a reference.
    let at_reference = v.starts_with(b"@")
        && v.get(1..)
            .is_some_and(|r| r.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_'));
    let variable = if v.starts_with(b"@") {
        at_reference
    } else {
        is_variable(v)
    };
    if v.is_empty()
        || variable
        || v.starts_with(b"$")
        || v.starts_with(b"%")
        || is_placeholder(v)
        || is_documentation_host(whole)
    {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    !matches!(
        lower.as_slice(),
        b"password"
            | b"pass"
            | b"pwd"
            | b"secret"
            | b"user"
            | b"username"
            | b"root"
            | b"postgres"
            | b"admin"
            | b"guest"
            | b"test"
            | b"mysql"
            | b"redis"
            | b"changeit"
            | b"opensesame"
            | b"open sesame"
            | b"passw0rd"
            | b"p@ssw0rd"
    )
}

fn private_key_body(v: &[u8]) -> bool {
    // Count base64 body characters; a real key's body is at least a few hundred of them.
    let body = v
        .iter()
        .filter(|b| b.is_ascii_alphanumeric() || **b == b'+' || **b == b'/')
        .count();
    body >= 64 && !is_placeholder_body(v)
}

fn is_placeholder_body(v: &[u8]) -> bool {
    let lower = v.to_ascii_lowercase();
    [
        "...", "\u{2026}", "<", "your", "xxxx", "redacted", "example",
    ]
    .iter()
    .any(|w| contains(&lower, w.as_bytes()))
}

/// A named check a rule can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    GithubChecksum,
    GithubPatChecksum,
    NpmChecksum,
    Jwt,
    Base64,
    NotVariable,
    GenericValue,
    UrlPassword,
    PrivateKeyBody,
}

impl Validator {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "github-checksum" => Self::GithubChecksum,
            "github-pat-checksum" => Self::GithubPatChecksum,
            "npm-checksum" => Self::NpmChecksum,
            "jwt" => Self::Jwt,
            "base64" => Self::Base64,
            "not-variable" => Self::NotVariable,
            "generic-value" => Self::GenericValue,
            "url-password" => Self::UrlPassword,
            "private-key-body" => Self::PrivateKeyBody,
            _ => return None,
        })
    }

    pub fn accepts(self, c: &InputContext<'_>) -> bool {
        match self {
            Self::GithubChecksum => github_classic(c.value),
            Self::GithubPatChecksum => github_pat(c.value),
            Self::NpmChecksum => npm(c.value),
            Self::Jwt => jwt(c.value),
            Self::Base64 => b64_decode(c.value).is_some(),
            Self::NotVariable => !is_variable(c.value),
            Self::GenericValue => crate::generic::judge(c),
            Self::UrlPassword => url_password(c.value, c.whole),
            Self::PrivateKeyBody => private_key_body(c.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github(prefix: &str, body: &str) -> String {
        let t = base62_6(crc32fast::hash(body.as_bytes()));
        format!("{prefix}{body}{}", String::from_utf8_lossy(&t))
    }

    #[test]
    fn github_checksums() {
        let tok = github("ghp_", "Qx7Lm2Rt9Vb4Nc8Kd3Hs6Wf1Jg5Pz0");
        assert!(github_classic(tok.as_bytes()), "{tok}");
        let mut broken = tok.clone().into_bytes();
        let last = broken.len() - 1;
        broken[last] = if broken[last] == b'A' { b'B' } else { b'A' };
        assert!(!github_classic(&broken));
        let pat = format!("github_pat_{}", {
            let body = format!("{}_{}", "11ABCDEFG0abcdefghij12", "Zq8".repeat(17) + "Mn");
            let t = base62_6(crc32fast::hash(body.as_bytes()));
            format!("{body}{}", String::from_utf8_lossy(&t))
        });
        assert!(github_pat(pat.as_bytes()), "{pat}");
        assert!(!github_pat(
            b"github_pat_11ABCDEFG0abcdefghij12_Zq8Zq8Zq8000000"
        ));
    }

    #[test]
    fn placeholders_and_entropy() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9Kq2mPeW",
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
            "xxxxxxxxxxxx",
            "${TOKEN}",
            "<your-token>",
            "aaaaaaaaaa",
            "abababab",
            "changeme123",
            "sk-...abc",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
        for real in [
            "q8Zr2Lm9Xw4Tb7Nc1Vd5Hs3Jf6Kg0Pa2Ye8Ui4OQ",
            "Tr0ub4dor&3",
            "ghp_Qx7Lm2Rt9Vb4Nc8Kd3Hs6Wf1Jg5Pz0abcd",
        ] {
            assert!(!is_placeholder(real.as_bytes()), "{real}");
        }
        assert!(entropy(b"aaaa") < 0.01);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn variables_are_not_secrets() {
        for v in [
            "os.environ['X']",
            "getenv(\"X\")",
            "self.password",
            "DB_PASSWORD",
            "$PASSWORD",
            "%PASSWORD%",
            "config.db.password",
            "null",
            "process.env.TOKEN",
            "{{ .Values.pw }}",
        ] {
            assert!(is_variable(v.as_bytes()), "{v}");
        }
        for v in ["Tr0ub4dor&3", "s3cr3t-Val.9x", "hunter2hunter2"] {
            assert!(!is_variable(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn jwt_shape() {
        let jwt_s = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"; // holdfast:allow
        assert!(jwt(jwt_s.as_bytes()));
        assert!(!jwt(b"eyJub3QiOiJqd3QifQ.eyJ4IjoxfQ.abc"));
    }
}
