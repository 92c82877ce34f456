//! Request bodies. Fields the server requires are still `Option` here, so that a missing one is
//! reported by validation with its name and a reason rather than as a parse failure.

use std::collections::BTreeMap;

use holdfast_core::{
    CredentialKind, CredentialState, IdentityKind, LifecycleState, OwnerKind, Role, SystemKind,
    Tier,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::present;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOwnerRequest {
    /// Unique handle, e.g. `platform-team`.
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub kind: Option<OwnerKind>,
    /// E-mail, chat channel or rota.
    pub contact: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOwnerRequest {
    /// The version this update is based on.
    pub version: Option<i64>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    pub contact: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSystemRequest {
    pub name: Option<String>,
    pub kind: Option<SystemKind>,
    pub description: Option<String>,
    pub environment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIdentityRequest {
    pub kind: Option<IdentityKind>,
    pub name: Option<String>,
    /// Owner id or handle. Required.
    pub owner: Option<String>,
    /// Why the identity exists. Required.
    pub purpose: Option<String>,
    pub environment: Option<String>,
    /// System ids or names.
    #[serde(default)]
    pub systems: Vec<String>,
    pub tier: Option<Tier>,
    pub tier_reason: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    /// Defaults to `manual`.
    pub source: Option<String>,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIdentityRequest {
    /// The version this update is based on; a stale version gets 409.
    pub version: Option<i64>,
    pub name: Option<String>,
    pub owner: Option<String>,
    pub purpose: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub environment: Option<Option<String>>,
    pub systems: Option<Vec<String>>,
    pub tier: Option<Tier>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub tier_reason: Option<Option<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(
        default,
        deserialize_with = "present_time",
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_time"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Option<OffsetDateTime>>,
    /// Marks the identity as reviewed now.
    #[serde(default)]
    pub reviewed: bool,
}

fn present_time<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<OffsetDateTime>>, D::Error> {
    time::serde::rfc3339::option::deserialize(d).map(Some)
}

fn ser_time<S: serde::Serializer>(
    v: &Option<Option<OffsetDateTime>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    time::serde::rfc3339::option::serialize(&v.flatten(), s)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// The state to move to.
    pub state: Option<LifecycleState>,
    /// Why; required for suspension and offboarding.
    pub reason: Option<String>,
    /// The version this transition is based on; optional.
    pub version: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCredentialRequest {
    /// Id of the identity the credential belongs to.
    pub identity: Option<String>,
    pub kind: Option<CredentialKind>,
    pub name: Option<String>,
    /// Non-secret id at the provider (e.g. an AWS access key id).
    pub external_id: Option<String>,
    /// `sha256:` + 64 hex digits. Give this or `value`.
    pub fingerprint: Option<String>,
    /// The secret itself, only to compute its fingerprint; never stored, logged or returned.
    pub value: Option<String>,
    pub stored_in: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub issued_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_rotated_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCredentialRequest {
    pub version: Option<i64>,
    pub state: Option<CredentialState>,
    pub stored_in: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_rotated_at: Option<OffsetDateTime>,
    /// New fingerprint after a rotation.
    pub fingerprint: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddExposureRequest {
    /// Where the copy was found.
    pub location: Option<String>,
    /// What found it; defaults to `manual`.
    pub source: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEntitlementRequest {
    pub identity: Option<String>,
    /// System id or name.
    pub system: Option<String>,
    pub resource: Option<String>,
    #[serde(default)]
    pub actions: Vec<String>,
    pub granted_by: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    pub name: Option<String>,
    /// Built-in roles: reader, writer, auditor, approver, admin (`scopes` is read as this).
    #[serde(default, alias = "scopes")]
    pub roles: Vec<Role>,
    /// The machine identity or AI agent (id) the token authenticates as; omit for a person.
    pub identity: Option<String>,
    /// Named groups besides the roles (e.g. `platform-leads`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Lifetime in seconds; default 30 days, at most one year.
    pub ttl_seconds: Option<u64>,
}

/// One secret found by a scanner: its fingerprint and where it was, never its value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportedFinding {
    /// `sha256:…` of the secret.
    pub fingerprint: Option<String>,
    /// The detector that recognised it.
    pub rule: Option<String>,
    /// Where the copy is, e.g. `file:///srv/app/.env:3` or `git:/src/app@3f2a…:config.py:12`.
    pub location: Option<String>,
    /// Redacted preview (first characters and length).
    pub preview: Option<String>,
}

/// A batch of scanner findings to record as exposures.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanReport {
    /// What produced the findings; defaults to `scanner`.
    pub source: Option<String>,
    #[serde(default)]
    pub findings: Vec<ReportedFinding>,
}

/// One file handed to a connector.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoverInput {
    /// The file's name or path, used in provenance (`iam.json UserDetailList[3] Tags[owner]`).
    pub name: Option<String>,
    /// The file's text.
    pub content: Option<String>,
}

/// Files for one connector run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoverRequest {
    #[serde(default)]
    pub inputs: Vec<DiscoverInput>,
    /// The cluster, repository or account the files describe when they do not say.
    pub system: Option<String>,
}

/// Options for `operator init`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InitRequest {
    /// Split the vault's root key into this many shares (default 5; 2–255).
    pub shares: Option<u8>,
    /// Shares needed to unseal (default 3; at least 2, at most `shares`).
    pub threshold: Option<u8>,
}

/// One unseal key share.
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnsealRequest {
    /// `hfs1-…`
    pub share: Option<String>,
}

impl std::fmt::Debug for UnsealRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnsealRequest([redacted])")
    }
}

/// A new version of a secret.
#[derive(Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSecretRequest {
    /// The value. Stored only encrypted; never logged or audited.
    pub value: Option<String>,
    /// Check-and-set: write only if the newest version is this one (0: only if the secret does
    /// not exist yet).
    pub cas: Option<u64>,
    /// The identity the secret belongs to (id).
    pub owner_identity: Option<uuid::Uuid>,
    /// Who is known to use it.
    pub consumers: Option<Vec<String>>,
    /// Rotate at least this often.
    pub max_age_days: Option<u32>,
}

impl std::fmt::Debug for PutSecretRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PutSecretRequest")
            .field("value", &self.value.as_ref().map(|_| "[redacted]"))
            .field("cas", &self.cas)
            .field("owner_identity", &self.owner_identity)
            .finish_non_exhaustive()
    }
}

/// Versions to soft-delete, undelete or destroy.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretVersionsRequest {
    /// Version numbers; empty means the newest.
    #[serde(default)]
    pub versions: Vec<u64>,
}

/// Starts a rotation of the secret at a path.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRotationRequest {
    /// The rotator: `postgres`.
    pub rotator: Option<String>,
    /// The rotator's settings; for `postgres`: `admin_secret` (vault path of the admin connection
    /// string), `blue_role`, `green_role`.
    #[schema(value_type = Object)]
    pub settings: Option<serde_json::Value>,
    /// How long the old credential keeps working after consumers are pointed at the new one
    /// (default 300 seconds).
    pub grace_seconds: Option<u64>,
}

/// What to rotate in an emergency: everything an identity owns, or every secret whose current
/// value has this fingerprint.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyRotationRequest {
    pub identity: Option<uuid::Uuid>,
    /// `sha256:…`, as the scanner reports a leaked value.
    pub fingerprint: Option<String>,
}

/// Offboarding an identity: revoke everything it holds, prove every copy gone, issue a receipt.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OffboardRequest {
    /// Why (required): it is written into the receipt.
    pub reason: Option<String>,
}

/// Confirming a manual offboarding step: what was done, by the caller.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmStepRequest {
    /// What was done and where (required), e.g. "deleted AKIA… in the AWS console".
    pub note: Option<String>,
}

/// An owner leaves: each identity they own is reassigned or offboarded.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartRequest {
    /// Why (required).
    pub reason: Option<String>,
    /// Reassign every identity to this owner instead of offboarding them.
    pub reassign_to: Option<String>,
}

/// Starting an access-review campaign.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartCampaignRequest {
    /// What the campaign is called, e.g. `2026-Q4 management plane`.
    pub name: Option<String>,
    /// Days until the deadline (1–365; default 14).
    pub deadline_days: Option<u32>,
    /// Or the deadline itself (RFC 3339, in the future, at most 365 days ahead).
    pub deadline: Option<String>,
    /// Only identities of this owner.
    pub owner: Option<String>,
    /// Only identities of this tier.
    pub tier: Option<Tier>,
}

/// An owner's answer for one identity under review.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideItemRequest {
    /// `attested` (still needed as it is), `reduced` (remove the entitlements named in
    /// `remove_entitlements`) or `revoked` (no longer needed: offboard it).
    pub decision: Option<String>,
    pub note: Option<String>,
    /// Entitlement ids to remove, for `reduced`.
    #[serde(default)]
    pub remove_entitlements: Vec<String>,
}
