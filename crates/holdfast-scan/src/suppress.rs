//! What keeps a finding quiet: an inline `holdfast:allow` comment, a scan configuration file
//! (path globs, rules turned off, allowed fingerprints), and a baseline of known findings.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Markers that suppress findings on their line. `holdfast:allow` is ours; the others are what
/// teams moving from gitleaks and detect-secrets already have in their code.
pub const INLINE_MARKERS: &[&[u8]] = &[
    b"holdfast:allow",
    b"gitleaks:allow",
    b"pragma: allowlist secret",
];

/// Whether the line holding byte `pos` carries an inline allow marker.
pub fn inline_allowed(hay: &[u8], pos: usize) -> bool {
    let start = memchr::memrchr(b'\n', hay.get(..pos).unwrap_or_default()).map_or(0, |p| p + 1);
    let end =
        memchr::memchr(b'\n', hay.get(pos..).unwrap_or_default()).map_or(hay.len(), |p| pos + p);
    let line = hay.get(start..end).unwrap_or_default();
    INLINE_MARKERS
        .iter()
        .any(|m| memchr::memmem::find(line, m).is_some())
}

/// `.holdfast-scan.toml`: what a repository tells the scanner.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    #[serde(default)]
    pub allow: Allow,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    /// Gitignore-style globs of paths not to scan.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Rule ids turned off.
    #[serde(default)]
    pub rules: Vec<String>,
    /// `sha256:…` fingerprints of values known not to be secrets (or already rotated).
    #[serde(default)]
    pub fingerprints: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the scan configuration is invalid: {0}")]
    Parse(String),
    #[error("the baseline is invalid: {0}")]
    Baseline(String),
}

impl ScanConfig {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))
    }
}

/// A set of finding ids to stay quiet about.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<BaselineEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub id: String,
    pub rule: String,
    pub path: String,
}

impl Baseline {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let b: Baseline =
            serde_json::from_str(text).map_err(|e| ConfigError::Baseline(e.to_string()))?;
        if b.version != 1 {
            return Err(ConfigError::Baseline(format!(
                "version {} is not supported (expected 1)",
                b.version
            )));
        }
        Ok(b)
    }

    pub fn ids(&self) -> BTreeSet<&str> {
        self.findings.iter().map(|f| f.id.as_str()).collect()
    }
}
