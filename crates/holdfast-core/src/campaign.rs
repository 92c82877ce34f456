//! Access reviews: a campaign asks each owner to attest, reduce or revoke each identity they own
//! (and its entitlements) by a deadline. What nobody answered by then is enforced: policy decides
//! whether a missed review suspends the identity.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    Open,
    /// Every item answered, or the deadline passed and misses were enforced.
    Closed,
}

impl CampaignState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

/// An access-review campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Campaign {
    pub id: Uuid,
    pub version: i64,
    pub name: String,
    pub started_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub deadline: OffsetDateTime,
    /// Only identities of this owner (name), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Only identities of this tier, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    pub state: CampaignState,
    pub items: u64,
    /// The reminder before the deadline went out.
    #[serde(default)]
    pub reminded: bool,
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<OffsetDateTime>,
}

/// What an owner answered for one identity, or what happened when nobody did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ItemDecision {
    Pending,
    /// Still needed as it is.
    Attested,
    /// Still needed, with the named entitlements removed.
    Reduced,
    /// No longer needed: offboarded.
    Revoked,
    /// Nobody answered by the deadline; policy chose not to suspend.
    Missed,
    /// Nobody answered by the deadline; the identity was suspended.
    MissedSuspended,
}

impl ItemDecision {
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Attested,
        Self::Reduced,
        Self::Revoked,
        Self::Missed,
        Self::MissedSuspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Attested => "attested",
            Self::Reduced => "reduced",
            Self::Revoked => "revoked",
            Self::Missed => "missed",
            Self::MissedSuspended => "missed_suspended",
        }
    }
}

impl std::str::FromStr for ItemDecision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("unknown decision `{s}`; expected attested, reduced or revoked"))
    }
}

/// One identity under review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignItem {
    pub id: Uuid,
    pub version: i64,
    pub campaign: Uuid,
    pub identity_id: Uuid,
    pub identity_name: String,
    pub tier: String,
    /// The owner asked to answer (name).
    pub owner: Option<String>,
    /// The entitlements under review, as `<id>: <actions> on <resource>`.
    pub entitlements: Vec<String>,
    pub decision: ItemDecision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub decided_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
