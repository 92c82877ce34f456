//! Holdfast's secret-scanning engine, split the way ripgrep splits its own: a matcher
//! ([`engine::Engine`]: keyword prefilter with Aho-Corasick, then each triggered rule's regex over a
//! window around its keyword hits), a searcher that feeds it bytes ([`walk`] over a directory tree,
//! in parallel), and a sink that receives [`Finding`]s. Printing lives in the CLI.
//!
//! Synchronous, no HTTP, no SQL.

pub mod engine;
pub mod finding;
pub mod git;
pub mod suppress;
pub mod walk;

pub use engine::{Engine, RawMatch};
pub use finding::{Finding, Secret};
pub use suppress::{Baseline, ScanConfig};
pub use walk::{WalkOptions, WalkStats, scan_paths};
