//! Policy sets, their versions, and the decision point's requests and answers.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// `PUT /v1/policy` and `PUT /v1/policy/entities`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyPolicyRequest {
    /// The whole policy set in Cedar syntax (or, for entities, Cedar's entity JSON as text).
    pub text: Option<String>,
    /// Why; kept with the version.
    pub comment: Option<String>,
    /// The version this change was based on; refused with 409 if another was applied since.
    pub base_version: Option<i64>,
    /// Validate and show what would change, store nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// One policy that changed, matched by `@id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyChangeView {
    pub id: String,
    /// `added`, `removed` or `changed`.
    pub change: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// What applying did (or, for a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyApplied {
    /// The version now current (for a dry run, the one that would be).
    pub version: i64,
    pub sha256: String,
    /// Whether a new version was stored (false for a dry run or an unchanged text).
    pub applied: bool,
    pub changes: Vec<PolicyChangeView>,
}

/// One stored version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyVersionView {
    /// 0 is the shipped default, in force until a policy set is applied.
    pub version: i64,
    pub sha256: String,
    pub current: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<OffsetDateTime>,
    /// The text, on single-version reads; left out of the history list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyHistory {
    pub items: Vec<PolicyVersionView>,
}

/// One question to the decision point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    /// A Cedar entity reference: `Holdfast::Identity::"<id>"`, `Holdfast::Person::"alice"`.
    pub principal: Option<String>,
    /// An action the schema declares: `secret.read`.
    pub action: Option<String>,
    /// A Cedar entity reference: `Holdfast::Secret::"ci/deploy"`.
    pub resource: Option<String>,
    /// `hour`, `weekday`, `source`, `token_age_minutes`, `step_up_minutes`, `tier`; missing keys
    /// default (now for the time, "never" for freshness).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub context: serde_json::Value,
    /// Extra entities for this question only (Cedar entity JSON), beside the stored ones.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub entities: Option<serde_json::Value>,
}

/// The decision and the policies that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuthorizeResponse {
    /// `allow` or `deny`.
    pub decision: String,
    pub allowed: bool,
    /// `@id`s of the policies that decided it; empty when nothing permitted it (default deny).
    pub policies: Vec<String>,
    pub errors: Vec<String>,
    /// The policy-set version that decided.
    pub policy_version: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchAuthorizeRequest {
    pub requests: Vec<AuthorizeRequest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchAuthorizeResponse {
    pub decisions: Vec<AuthorizeResponse>,
}
