//! The posture API's wire types.

use serde::{Deserialize, Serialize};

use crate::catalog::{CsfOutcome, OwaspItem, Rule};
use crate::stored::{FindingRecord, PostureRun};

/// A page of findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FindingPage {
    pub items: Vec<FindingRecord>,
    pub next: Option<String>,
}

/// Accepting a finding as a risk: a reason and an expiry are required; the caller is the
/// approver and must not be accountable for the identity the finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AcceptFinding {
    /// Why the risk is accepted (10 to 2000 characters; required).
    pub reason: Option<String>,
    /// RFC 3339 time the acceptance ends (required); the finding is open again after it.
    pub expires_at: Option<String>,
}

/// What one recompute did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecomputeReport {
    pub run: PostureRun,
    /// Whether any finding was opened, changed or resolved.
    pub changed: bool,
}

/// The state of posture: the latest run and the daily runs before it (oldest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostureSummary {
    pub latest: Option<PostureRun>,
    /// One run per day (the last of the day), oldest first: the trend.
    pub days: Vec<PostureRun>,
}

/// What findings map to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Catalog {
    pub rules: Vec<Rule>,
    pub owasp: Vec<OwaspItem>,
    pub csf: Vec<CsfOutcome>,
    /// CSF 1.1 subcategory → the CSF 2.0 outcomes it became.
    pub csf_1_1: Vec<(String, Vec<String>)>,
}

impl Catalog {
    pub fn new() -> Self {
        Catalog {
            rules: crate::catalog::RULES.to_vec(),
            owasp: crate::catalog::OWASP_NHI.to_vec(),
            csf: crate::catalog::CSF_OUTCOMES.to_vec(),
            csf_1_1: crate::catalog::CSF_1_1_TO_2_0
                .iter()
                .map(|(a, b)| (a.to_string(), b.iter().map(|s| s.to_string()).collect()))
                .collect(),
        }
    }
}

impl Default for Catalog {
    fn default() -> Self {
        Self::new()
    }
}
