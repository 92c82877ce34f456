//! What the scanner reports: where a secret is, which rule found it, and its fingerprint. The
//! secret itself is held in a [`Secret`] that zeroizes on drop and never prints.

use holdfast_core::Fingerprint;
use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// A secret value: wiped from memory on drop, `[redacted]` in `Debug`.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    pub fn new(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(bytes.to_vec()))
    }

    /// The value, for the one output that shows it on purpose (`--show-secrets`).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// A preview that identifies the secret without revealing it: a few leading characters of its
    /// prefix and its length.
    pub fn redacted(&self) -> String {
        let s = String::from_utf8_lossy(&self.0);
        let keep = s
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .count()
            .min(4)
            .min(s.chars().count() / 8);
        let head: String = s.chars().take(keep).collect();
        format!("{head}…({} chars)", s.chars().count())
    }

    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_secret(&self.0)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where in git history a blob was first seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitOrigin {
    pub commit: String,
    pub author: String,
    pub date: String,
    pub blob: String,
}

/// One secret found at one place.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable id: the same secret found by the same rule in the same file has the same id,
    /// whatever line it moves to. Baselines store these.
    pub id: String,
    pub rule: String,
    pub rule_name: String,
    pub confidence: &'static str,
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// `sha256:…` of the secret, the same form the inventory keeps for credentials.
    pub fingerprint: String,
    /// The secret's first characters and length; never the secret.
    pub preview: String,
    /// The line with the secret redacted, trimmed to 200 characters.
    pub snippet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<GitOrigin>,
    /// The id of the finding holding this credential's other half (an AWS key id and its secret),
    /// when both are in the same file within a few lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paired_with: Option<String>,
    #[serde(skip)]
    pub secret: Secret,
}

/// The stable id of a finding.
pub fn finding_id(rule: &str, fingerprint: &Fingerprint, path: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"holdfast-finding-v1\0");
    h.update(rule.as_bytes());
    h.update(b"\0");
    h.update(fingerprint.as_bytes());
    h.update(b"\0");
    h.update(path.as_bytes());
    hex::encode(h.finalize().get(..16).unwrap_or_default())
}

/// Turns byte offsets into 1-based lines and columns (in characters). Offsets asked for in rising
/// order cost one pass over the buffer in all, not one pass per finding.
#[derive(Debug)]
pub struct LineCursor<'a> {
    hay: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> LineCursor<'a> {
    pub fn new(hay: &'a [u8]) -> Self {
        Self {
            hay,
            pos: 0,
            line: 1,
        }
    }

    /// Line and column of byte `pos`.
    pub fn at(&mut self, pos: usize) -> (usize, usize) {
        let pos = pos.min(self.hay.len());
        if pos < self.pos {
            *self = Self::new(self.hay);
        }
        self.line +=
            memchr::memchr_iter(b'\n', self.hay.get(self.pos..pos).unwrap_or_default()).count();
        self.pos = pos;
        let before = self.hay.get(..pos).unwrap_or_default();
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |p| p + 1);
        let col = String::from_utf8_lossy(before.get(line_start..).unwrap_or_default())
            .chars()
            .count()
            + 1;
        (self.line, col)
    }
}

/// The line around `[start, end)` with `[secret_start, secret_end)` replaced by `replacement`.
pub fn snippet(hay: &[u8], secret_start: usize, secret_end: usize, replacement: &str) -> String {
    let line_start =
        memchr::memrchr(b'\n', hay.get(..secret_start).unwrap_or_default()).map_or(0, |p| p + 1);
    let line_end = memchr::memchr(b'\n', hay.get(secret_end..).unwrap_or_default())
        .map_or(hay.len(), |p| secret_end + p);
    let before =
        String::from_utf8_lossy(hay.get(line_start..secret_start).unwrap_or_default()).into_owned();
    let after =
        String::from_utf8_lossy(hay.get(secret_end..line_end).unwrap_or_default()).into_owned();
    let before: String = before
        .chars()
        .rev()
        .take(100)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let after: String = after.chars().take(100).collect();
    format!("{}{replacement}{}", before.trim_start(), after.trim_end())
}
