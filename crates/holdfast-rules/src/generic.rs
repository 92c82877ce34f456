//! Judging a value assigned to a secret-sounding name (`password = …`, `api_key: …`) from its
//! context: the key name, the file type, quoting, and the value's own shape. This is where generic
//! detection wins or loses precision, so each rule below says what it protects against.

use crate::filters::{InputContext, entropy, is_placeholder, is_variable};

/// Words that, after the secret word in a key name, say the value is about the secret rather than
/// the secret itself: `password_hash_algorithm`, `secret.key.ref`, `tokenUrl`, `api_key_header`.
const NON_SECRET_AFTER: &[&str] = &[
    "name",
    "names",
    "type",
    "types",
    "id",
    "ids",
    "url",
    "urls",
    "uri",
    "path",
    "paths",
    "file",
    "files",
    "filename",
    "field",
    "fields",
    "label",
    "length",
    "len",
    "size",
    "count",
    "header",
    "headers",
    "prefix",
    "suffix",
    "policy",
    "policies",
    "hint",
    "format",
    "env",
    "var",
    "vars",
    "variable",
    "regex",
    "regexp",
    "pattern",
    "endpoint",
    "expiry",
    "expires",
    "expiration",
    "ttl",
    "hash",
    "hashed",
    "digest",
    "version",
    "mode",
    "dir",
    "directory",
    "min",
    "max",
    "enabled",
    "enable",
    "required",
    "placeholder",
    "provider",
    "storage",
    "store",
    "manager",
    "reset",
    "confirm",
    "confirmation",
    "question",
    "strength",
    "rotation",
    "location",
    "ref",
    "reference",
    "refs",
    "algorithm",
    "algo",
    "alg",
    "encoder",
    "hasher",
    "scheme",
    "cipher",
    "rounds",
    "strategy",
    "backend",
    "class",
    "module",
    "method",
    "kind",
    "source",
    "service",
    "arn",
    "timeout",
    "interval",
    "config",
    "settings",
    "mount",
    "volume",
    "template",
    "generator",
    "validator",
    "validation",
    "rule",
    "rules",
    "lifetime",
    "duration",
    "age",
    "days",
    "param",
    "parameter",
    "input",
    "form",
    "button",
    "text",
    "message",
    "msg",
    "error",
    "errors",
    "prompt",
    "description",
    "help",
    "title",
    "chars",
    "complexity",
    "visible",
    "visibility",
    "icon",
    "selector",
    "column",
    "col",
    "table",
    "index",
    "key",
    "keys",
];

/// Words that, before the secret word, say the same: `public_key`, `is_password_set`, `min_password_length`.
const NON_SECRET_BEFORE: &[&str] = &[
    "public", "pub", "is", "has", "show", "use", "enable", "disable", "min", "max", "forgot",
    "reset", "require", "validate", "check", "hide", "toggle", "allow", "no", "num", "max",
    "invalid", "wrong", "bad", "missing",
];

const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "pass",
    "secret",
    "secrets",
    "token",
    "key",
    "apikey",
    "credential",
    "credentials",
    "auth",
];

/// Splits a key name into lower-case words at `_`, `-`, `.`, `/`, spaces and camelCase boundaries.
fn words(key: &[u8]) -> Vec<String> {
    let s = String::from_utf8_lossy(key);
    let mut out = vec![];
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn key_is_non_secret(key: &[u8]) -> bool {
    let w = words(key);
    // The last word naming a secret; words merged into one (`apikey`, `passwordfield`) count by prefix.
    let Some(pos) = w
        .iter()
        .rposition(|x| SECRET_WORDS.iter().any(|s| x == s || x.starts_with(s)))
    else {
        return false;
    };
    let word = w.get(pos).map(String::as_str).unwrap_or_default();
    let merged_tail = SECRET_WORDS
        .iter()
        .filter(|s| word.starts_with(**s) && word.len() > s.len())
        .map(|s| &word[s.len()..])
        .next();
    if merged_tail.is_some_and(|t| NON_SECRET_AFTER.contains(&t)) {
        return true;
    }
    let after = w.get(pos + 1..).unwrap_or_default();
    // `secret_key`, `api_key`: a trailing `key` is part of the secret's name, not about it.
    let after_is_about = after
        .iter()
        .any(|x| x != "key" && x != "keys" && NON_SECRET_AFTER.contains(&x.as_str()))
        || (after.len() >= 2 && after.last().is_some_and(|x| x == "id" || x == "ids"));
    let before_is_about = w
        .get(..pos)
        .unwrap_or_default()
        .iter()
        .any(|x| NON_SECRET_BEFORE.contains(&x.as_str()));
    after_is_about
        || before_is_about
        || (after.len() == 1 && after.first().is_some_and(|x| x == "id" || x == "ids"))
}

/// Values people type instead of a secret: defaults, demo values, doc strings.
const WEAK_OR_DEMO: &[&str] = &[
    "password",
    "password1",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "secret",
    "secret123",
    "mysecret",
    "mypassword",
    "letmein",
    "qwerty",
    "qwerty123",
    "admin",
    "admin123",
    "administrator",
    "root",
    "toor",
    "test",
    "test123",
    "testtest",
    "testing",
    "testing123",
    "abc123",
    "abcdef",
    "123456",
    "12345678",
    "123456789",
    "1234567890",
    "default",
    "guest",
    "user",
    "username",
    "postgres",
    "mysql",
    "changeit",
    "notasecret",
    "secretkey",
    "supersecret",
    "topsecret",
    "pass",
    "pass123",
    "pwd",
    "token",
    "apikey",
    "api_key",
    "mytoken",
    "s3cr3t",
    "hunter2",
    "foobar",
    "foo",
    "bar",
    "baz",
    "insecure",
    "unsafe",
    "development",
    "dev",
    "local",
    "localhost",
    "none",
    "empty",
    "todo",
    "tbd",
    "n/a",
    "na",
    "xxx",
    "opensesame",
];

/// Source files where an unquoted right-hand side is an expression, not a literal.
fn is_code_file(path: Option<&str>) -> bool {
    let Some(p) = path else { return false };
    let ext = p
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    matches!(
        ext.as_str(),
        "py" | "js"
            | "jsx"
            | "ts"
            | "tsx"
            | "mjs"
            | "cjs"
            | "go"
            | "java"
            | "kt"
            | "kts"
            | "scala"
            | "rb"
            | "php"
            | "cs"
            | "rs"
            | "swift"
            | "c"
            | "h"
            | "cc"
            | "cpp"
            | "hpp"
            | "m"
            | "mm"
            | "dart"
            | "lua"
            | "pl"
            | "groovy"
            | "r"
            | "jl"
            | "ex"
            | "exs"
            | "erl"
            | "clj"
            | "fs"
            | "vb"
    )
}

/// Character classes present: lower, upper, digit, other.
fn classes(v: &[u8]) -> usize {
    let mut c = [false; 4];
    for &b in v {
        let i = if b.is_ascii_lowercase() {
            0
        } else if b.is_ascii_uppercase() {
            1
        } else if b.is_ascii_digit() {
            2
        } else {
            3
        };
        if let Some(slot) = c.get_mut(i) {
            *slot = true;
        }
    }
    c.iter().filter(|x| **x).count()
}

fn looks_like_path_or_url(v: &[u8]) -> bool {
    let s = String::from_utf8_lossy(v);
    s.contains("://")
        || (s.starts_with('/') && looks_like_absolute_path(&s))
        || s.starts_with("./")
        || s.starts_with("../")
        || s.starts_with("~/")
        || (s.contains('/')
            && s.rsplit('/')
                .next()
                .is_some_and(|last| last.contains('.') && last.len() < 40 && !last.contains('=')))
        || s.contains('\\')
        || is_reference(&s)
}

/// `/etc/secrets/db.pass` or `/run/secrets/DB_PASSWORD`, as opposed to base64 that happens to
/// start with `/` (`/snRWhVd+RC/dlUl1SKMvQ==`).
fn looks_like_absolute_path(s: &str) -> bool {
    if s.contains('+') || s.ends_with('=') {
        return false;
    }
    let letters = s.chars().filter(|c| c.is_ascii_alphabetic()).count().max(1);
    let upper = s.chars().filter(|c| c.is_ascii_uppercase()).count();
    let segments: Vec<&str> = s.split('/').filter(|x| !x.is_empty()).collect();
    let screaming = segments.iter().any(|x| {
        x.len() > 1
            && x.chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
    });
    upper * 5 < letters || segments.last().is_some_and(|l| l.contains('.')) || screaming
}

/// `vault:secret/data/app#key`, `arn:aws:secretsmanager:…`, `ssm:/prod/db`, `crm-secrets/api-key`:
/// a pointer to where a secret lives, not the secret.
fn is_reference(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let scheme_ref = lower.split_once(':').is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme.len() <= 24
            && scheme
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c == '+')
            && (rest.contains('/') || rest.contains(':'))
    });
    let slug_path = s.contains('/')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_/.#".contains(c))
        && !s.chars().any(|c| c.is_ascii_digit());
    scheme_ref || slug_path
}

/// Whether letters split at lower→upper boundaries into two or more words of three or more letters,
/// each lower-case after its first letter.
fn camel_words(v: &[u8]) -> bool {
    let mut words: Vec<&[u8]> = vec![];
    let mut start = 0;
    for i in 1..v.len() {
        if v.get(i - 1).is_some_and(u8::is_ascii_lowercase)
            && v.get(i).is_some_and(u8::is_ascii_uppercase)
        {
            words.push(v.get(start..i).unwrap_or_default());
            start = i;
        }
    }
    words.push(v.get(start..).unwrap_or_default());
    words.len() >= 2
        && words.iter().all(|w| {
            w.len() >= 3
                && w.get(1..)
                    .is_some_and(|rest| rest.iter().all(u8::is_ascii_lowercase))
        })
}

/// The judgement for `generic-value`.
pub(crate) fn judge(c: &InputContext<'_>) -> bool {
    let v = c.value;
    // Formats with a checksum are judged by their own rules; a failed checksum is not a secret.
    for prefix in [
        &b"ghp_"[..],
        b"gho_",
        b"ghu_",
        b"ghs_",
        b"ghr_",
        b"github_pat_",
        b"npm_",
    ] {
        if v.starts_with(prefix) {
            return false;
        }
    }
    // `syn::token::Brace`, `SigningKey::from`: a path separator, not an assignment.
    if v.starts_with(b":") || v.starts_with(b"=") || v.starts_with(b">") {
        return false;
    }
    let password_key = c.key.is_some_and(|k| {
        let k = k.to_ascii_lowercase();
        [&b"pass"[..], b"pwd"]
            .iter()
            .any(|w| crate::filters::contains(&k, w))
    });
    // People choose short passwords; machine secrets and tokens are longer.
    let min = if password_key { 8 } else { 12 };
    if v.len() < min || v.len() > 200 {
        return false;
    }
    if let Some(k) = c.key
        && key_is_non_secret(k)
    {
        return false;
    }
    if is_variable(v) || is_placeholder(v) || looks_like_path_or_url(v) {
        return false;
    }
    let lower = String::from_utf8_lossy(v).to_ascii_lowercase();
    if WEAK_OR_DEMO.contains(&lower.as_str()) {
        return false;
    }
    if let Some(k) = c.key {
        // `password = "password"`, `token: my_token`.
        let key = String::from_utf8_lossy(k).to_ascii_lowercase();
        if !key.is_empty()
            && lower.contains(key.trim_matches(|ch: char| !ch.is_ascii_alphanumeric()))
        {
            return false;
        }
    }
    // In code an unquoted right-hand side is an identifier or expression.
    if !c.quoted && is_code_file(c.path) {
        return false;
    }
    // Prose in quotes: "Enter your password here".
    if v.contains(&b' ') {
        return false;
    }
    let e = entropy(v);
    let cls = classes(v);
    // Letters only, in CamelCase words or CAPITALS, are names (`TokenLifetimeMinutes`, `AWSPREVIOUS`),
    // while random letters (`qZtWmKxLpRvN`) break into short, irregular humps.
    if v.iter().all(u8::is_ascii_alphabetic)
        && (v.iter().all(u8::is_ascii_uppercase) || camel_words(v))
    {
        return false;
    }
    // Lower-case words joined by `_` or `-` are identifiers (`db_admin_password_secret`).
    let wordy = v
        .iter()
        .all(|b| b.is_ascii_lowercase() || *b == b'_' || *b == b'-' || *b == b'.');
    if wordy {
        return false;
    }
    // Human-chosen passwords mix classes; machine tokens are long and high-entropy.
    (cls >= 3 && e >= 2.5) || (cls >= 2 && e >= 3.2 && v.len() >= 10) || (v.len() >= 20 && e >= 3.6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(value: &str, key: &str, quoted: bool, path: &str) -> bool {
        judge(&InputContext {
            value: value.as_bytes(),
            key: Some(key.as_bytes()),
            quoted,
            path: Some(path),
            whole: value.as_bytes(),
        })
    }

    #[test]
    fn judged_by_context() {
        let cases = [
            (
                "TokenLifetimeMinutes",
                "refresh_token",
                true,
                "appsettings.json",
                false,
            ),
            ("AWSPREVIOUS", "secret_stage", true, "config.json", false),
            ("qZtWmKxLpRvNbHcD", "api_token", true, "config.json", true),
            ("Tr0ub4dor&3x", "password", true, "app.py", true),
            (":Brace\"]", "token", true, "token.css", false),
            (
                "bcrypt-sha256",
                "PASSWORD_HASH_ALGORITHM",
                false,
                ".env",
                false,
            ),
            (
                "Kq7#vR2m!Zt9xP4w",
                "PASSWORD_HASH_ALGORITHM",
                false,
                ".env",
                false,
            ),
            (
                "Kq7#vR2m!Zt9xP4w",
                "secret.key.ref",
                false,
                "app.properties",
                false,
            ),
            (
                "Kq7#vR2m!Zt9xP4w",
                "api.key.id",
                false,
                "app.properties",
                false,
            ),
            (
                "Kq7#vR2m!Zt9xP4w",
                "passwordEncoder",
                true,
                "Security.java",
                false,
            ),
            ("Kq7#vR2m!Zt9xP4w", "publicKey", true, "keys.ts", false),
            ("Kq7#vR2m!Zt9xP4w", "DB_PASSWORD", false, ".env", true),
            (
                "Kq7#vR2m!Zt9xP4wLm2",
                "client_secret_key",
                true,
                "settings.py",
                true,
            ),
            ("Kq7#vR2m!Zt9xP4wLm2", "newPassword", true, "seed.js", true),
            (
                "vault:secret/data/mobile-api#jwt",
                "jwt.secret",
                false,
                "app.properties",
                false,
            ),
            (
                "crm-secrets/api-key",
                "secret",
                false,
                "app.properties",
                false,
            ),
            ("Zq8mW2xR7t", "token", true, "README.md", false),
            ("Tr0ub4dor&3x", "password", false, "app.py", false),
            ("Tr0ub4dor&3x", "password", false, ".env", true),
            ("Tr0ub4dor&3x", "password_hash", true, "app.py", false),
            ("Tr0ub4dor&3x", "passwordField", true, "form.ts", false),
            ("get_password()", "password", false, "app.py", false),
            ("password123", "password", true, "app.py", false),
            ("DB_PASSWORD", "password", true, "app.py", false),
            (
                "/etc/secrets/db.pass",
                "password_file",
                true,
                "app.py",
                false,
            ),
            ("Enter your password", "password", true, "app.py", false),
            (
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "api_key",
                true,
                "settings.py",
                true,
            ),
            (
                "my_super_secret_value",
                "secret",
                true,
                "settings.py",
                false,
            ),
            (
                "q7Zt2mWx9LpR4vNs",
                "client_secret",
                false,
                "config.yaml",
                true,
            ),
        ];
        for (v, k, q, p, expect) in cases {
            assert_eq!(ok(v, k, q, p), expect, "{k} = {v} ({p}, quoted {q})");
        }
    }
}
