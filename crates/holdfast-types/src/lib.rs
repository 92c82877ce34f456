//! Holdfast's HTTP API wire types: request bodies, response views, the error envelope.
//!
//! These are deliberately separate from the domain records in `holdfast-core`, so the API can change
//! shape without the domain changing meaning. Shared vocabularies (kinds, tiers, states) are the
//! core's enums. Every type here has an OpenAPI schema.

mod access;
mod policy;
mod requests;
mod views;

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

pub use access::*;
pub use policy::*;
pub use requests::*;
pub use views::*;

/// The one error shape every failing response has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `invalid`, `unauthenticated`, `forbidden`, `not_found`,
    /// `conflict`, `stale`, `already_initialized`, `not_initialized`, `audit_unavailable`,
    /// `unavailable`, `internal`.
    pub code: String,
    /// What went wrong and what to do about it.
    pub message: String,
    /// The request field at fault, when the input was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Deserialises a present field (even `null`) as `Some`, so `Option<Option<T>>` tells "absent"
/// (leave as is) from `null` (clear).
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
