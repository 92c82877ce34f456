//! Judging a value assigned to a secret-sounding name (`password = …`, `api_key: …`) from its
//! context: the key name, the file type, quoting, and the value's own shape. This is where generic
//! detection wins or loses precision, so each rule below says what it protects against.

use crate::filters::{InputContext, entropy, is_placeholder, is_variable};

/// Key names that mention a secret but hold something else.
const NON_SECRET_KEY_SUFFIXES: &[&str] = &[
    "_name",
    "name",
    "_type",
    "type",
    "_id",
    "_url",
    "url",
    "_uri",
    "uri",
    "_path",
    "path",
    "_file",
    "file",
    "_field",
    "field",
    "_label",
    "label",
    "_length",
    "length",
    "_len",
    "_size",
    "size",
    "_count",
    "count",
    "_header",
    "header",
    "_prefix",
    "prefix",
    "_policy",
    "policy",
    "_hint",
    "hint",
    "_format",
    "format",
    "_env",
    "_var",
    "_regex",
    "regex",
    "_pattern",
    "pattern",
    "_endpoint",
    "endpoint",
    "_expiry",
    "expiry",
    "_expires",
    "expires",
    "_ttl",
    "ttl",
    "_hash",
    "hash",
    "_digest",
    "digest",
    "_version",
    "version",
    "_mode",
    "mode",
    "_dir",
    "dir",
    "_min",
    "_max",
    "_enabled",
    "enabled",
    "_required",
    "required",
    "_placeholder",
    "placeholder",
    "_provider",
    "provider",
    "_storage",
    "_store",
    "_manager",
    "_reset",
    "reset",
    "_confirm",
    "confirmation",
    "_question",
    "_strength",
    "strength",
    "_rotation",
    "_location",
    "_ref",
];

const NON_SECRET_KEY_PREFIXES: &[&str] = &[
    "public",
    "pub_",
    "no_",
    "is_",
    "has_",
    "show_",
    "use_",
    "enable",
    "disable",
    "min_",
    "max_",
    "forgot",
    "reset_",
    "new_password_",
    "old_",
];

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

fn key_is_non_secret(key: &[u8]) -> bool {
    let k = String::from_utf8_lossy(key).to_ascii_lowercase();
    let k = k.trim_matches(|c: char| c == '"' || c == '\'' || c == '-' || c == '.' || c == '_');
    // camelCase keys become snake-ish for suffix checks: `passwordField` → `passwordfield`.
    NON_SECRET_KEY_SUFFIXES
        .iter()
        .any(|s| k.ends_with(s) && k.len() > s.len())
        || NON_SECRET_KEY_PREFIXES.iter().any(|p| k.starts_with(p))
}

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
        || s.starts_with('/')
        || s.starts_with("./")
        || s.starts_with("../")
        || s.starts_with("~/")
        || (s.contains('/')
            && s.rsplit('/')
                .next()
                .is_some_and(|last| last.contains('.') && last.len() < 40 && !last.contains('=')))
        || s.contains('\\')
}

/// The judgement for `generic-value`.
pub(crate) fn judge(c: &InputContext<'_>) -> bool {
    let v = c.value;
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
    // Lower-case words joined by `_` or `-` are identifiers (`db_admin_password_secret`).
    let wordy = v
        .iter()
        .all(|b| b.is_ascii_lowercase() || *b == b'_' || *b == b'-' || *b == b'.');
    if wordy {
        return false;
    }
    // Human-chosen passwords mix classes; machine tokens are long and high-entropy.
    (cls >= 3 && e >= 2.8) || (cls >= 2 && e >= 3.2 && v.len() >= 10) || (v.len() >= 20 && e >= 3.6)
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
            ("Tr0ub4dor&3x", "password", true, "app.py", true),
            (":Brace\"]", "token", true, "token.css", false),
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
