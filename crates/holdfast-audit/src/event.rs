//! What an audit record says: who did what to which target, when, from where, and how it ended.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How a recorded request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The change was made.
    Success,
    /// Authentication or authorisation refused the request.
    Denied,
}

/// The body of one audit record. It never holds a secret value: callers put ids, names and
/// fingerprints in `detail`, never tokens or passwords.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub time: OffsetDateTime,
    /// Who acted: `token:<id> (<name>)`, or `anonymous`.
    pub actor: String,
    /// What was attempted, e.g. `identity.create`, `auth.denied`.
    pub action: String,
    /// What it was done to, e.g. `identity:0192…`.
    pub target: Option<String>,
    pub outcome: Outcome,
    /// Source address of the request, when known.
    pub source: Option<String>,
    /// Request id, to join with logs.
    pub request_id: Option<String>,
    /// Structured detail without secrets.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

impl AuditEvent {
    /// The exact text that is stored and hashed.
    pub fn to_body(&self) -> String {
        // Serialising a struct of strings, a timestamp and a JSON value cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}
