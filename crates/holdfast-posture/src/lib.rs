//! Holdfast's posture engine. Discovery says what exists; posture says what is wrong with it:
//! findings computed over the inventory and the identity graph, each with a severity, a plain
//! explanation, the records it rests on, a fix, and the OWASP Non-Human Identities Top 10 (2025)
//! items and NIST CSF 2.0 outcomes it maps to; and a risk score per identity with its parts shown.
//!
//! Pure and synchronous: the server loads the records and passes the time in.

pub mod api;
pub mod catalog;
mod engine;
mod grants;
pub mod report;
mod score;
mod stored;
pub mod synthetic;

pub use api::{AcceptFinding, Catalog, FindingPage, PostureSummary, RecomputeReport};
pub use catalog::{CSF_1_1_TO_2_0, CSF_OUTCOMES, OWASP_NHI, RULES, Rule, csf_2_0, owasp, rule};
pub use engine::{Assessment, Estate, Evidence, Finding, Settings, assess, rank};
pub use grants::{DECLARED_ACTIONS, grants_of};
pub use score::{Risk, RiskInput, RiskPart, risk, severity_points};
pub use stored::{
    Acceptance, FindingEvent, FindingRecord, FindingState, HISTORY_MAX, PostureRun, Reconciled,
    reconcile,
};
