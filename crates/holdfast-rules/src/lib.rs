//! Holdfast's secret-detection rules as data: the bundled rule pack (`rules/*.toml`), its loader
//! and compiler, the filters that judge a candidate secret (placeholders, entropy, checksums,
//! context), and the checker that proves each rule against its own examples.
//!
//! Synchronous and free of I/O: the scan engine (`holdfast-scan`) decides where bytes come from.

pub mod assign;
mod check;
mod filters;
mod generic;
mod rule;

pub use assign::is_word_byte;
pub use check::{CheckProblem, check};
pub use filters::{entropy, is_placeholder};
pub use rule::{Candidate, Confidence, Context, LoadError, Rule, RuleDef, Ruleset};

/// The rule files compiled into the binary, as `(file name, TOML text)`.
pub const BUNDLED: &[(&str, &str)] = &[
    (
        "keys-and-urls.toml",
        include_str!("../rules/keys-and-urls.toml"),
    ),
    ("generic.toml", include_str!("../rules/generic.toml")),
    ("cloud.toml", include_str!("../rules/cloud.toml")),
    (
        "vcs-ci-registries.toml",
        include_str!("../rules/vcs-ci-registries.toml"),
    ),
    ("saas-ai.toml", include_str!("../rules/saas-ai.toml")),
];

/// The bundled rule pack, compiled.
pub fn bundled() -> Result<Ruleset, LoadError> {
    Ruleset::from_sources(BUNDLED.iter().copied())
}
