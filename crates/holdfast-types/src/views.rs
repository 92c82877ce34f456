//! Response views of the inventory's records.

use std::collections::BTreeMap;

use holdfast_audit::{AuditEvent, PublicKeyInfo};
use holdfast_core::{
    ApiToken, Credential, CredentialKind, CredentialState, Entitlement, Exposure, Identity,
    IdentityKind, LifecycleState, Owner, OwnerKind, Role, System, SystemKind, Tier,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// `GET /v1/sys/health`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub backend: String,
    pub initialized: bool,
    /// Whether this server's vault is sealed (secret operations answer `sealed` until it is not).
    pub sealed: bool,
    /// Unseal shares given so far, and how many are needed.
    pub unseal_progress: u8,
    pub unseal_threshold: u8,
}

/// What `operator init` returns, once.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct InitResponse {
    /// The first admin token. Shown only here; Holdfast keeps only its hash.
    pub root_token: String,
    pub root_token_id: Uuid,
    /// The audit signing key of the node that ran init, to pin with `audit verify --public-key`.
    pub audit_public_key: PublicKeyInfo,
    /// How the vault unseals after a restart: `shamir` (shares) or `key_file`.
    pub seal_mode: holdfast_core::SealMode,
    /// The root key's shares (`hfs1-…`), shown only here: give each to a different person.
    pub unseal_shares: Vec<String>,
    pub unseal_threshold: u8,
}

/// The seal state after an unseal share or a seal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SealStatusView {
    pub sealed: bool,
    pub progress: u8,
    pub threshold: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OwnerView {
    pub id: Uuid,
    pub version: i64,
    pub name: String,
    pub display_name: Option<String>,
    pub kind: OwnerKind,
    pub contact: String,
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<Owner> for OwnerView {
    fn from(o: Owner) -> Self {
        Self {
            id: o.id,
            version: o.version,
            name: o.name,
            display_name: o.display_name,
            kind: o.kind,
            contact: o.contact,
            active: o.active,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SystemView {
    pub id: Uuid,
    pub version: i64,
    pub name: String,
    pub kind: SystemKind,
    pub description: Option<String>,
    pub environment: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<System> for SystemView {
    fn from(s: System) -> Self {
        Self {
            id: s.id,
            version: s.version,
            name: s.name,
            kind: s.kind,
            description: s.description,
            environment: s.environment,
            created_at: s.created_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IdentityView {
    pub id: Uuid,
    pub version: i64,
    pub kind: IdentityKind,
    pub name: String,
    pub source: String,
    pub external_id: Option<String>,
    pub owner_id: Option<Uuid>,
    pub purpose: Option<String>,
    pub environment: Option<String>,
    pub systems: Vec<Uuid>,
    pub tier: Tier,
    pub tier_reason: Option<String>,
    pub state: LifecycleState,
    pub state_reason: Option<String>,
    pub labels: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_rotated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_reviewed_at: Option<OffsetDateTime>,
    /// The identity's node in the identity graph, for `graph blast-radius`.
    pub graph_key: Option<String>,
    /// Where each discovered field came from.
    pub provenance: BTreeMap<String, String>,
    /// Further facts a connector reported.
    #[schema(value_type = Object)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Set when the identity vanished from its source on a later import.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub missing_since: Option<OffsetDateTime>,
    /// A person set the tier; discovery does not recompute it.
    pub tier_override: bool,
}

impl From<Identity> for IdentityView {
    fn from(i: Identity) -> Self {
        Self {
            id: i.id,
            version: i.version,
            kind: i.kind,
            name: i.name,
            source: i.source,
            external_id: i.external_id,
            owner_id: i.owner_id,
            purpose: i.purpose,
            environment: i.environment,
            systems: i.systems,
            tier: i.tier,
            tier_reason: i.tier_reason,
            state: i.state,
            state_reason: i.state_reason,
            labels: i.labels,
            created_at: i.created_at,
            updated_at: i.updated_at,
            expires_at: i.expires_at,
            last_used_at: i.last_used_at,
            last_rotated_at: i.last_rotated_at,
            last_reviewed_at: i.last_reviewed_at,
            graph_key: i.graph_key,
            provenance: i.provenance,
            attributes: i.attributes,
            missing_since: i.missing_since,
            tier_override: i.tier_override,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CredentialView {
    pub id: Uuid,
    pub version: i64,
    pub identity_id: Uuid,
    pub kind: CredentialKind,
    pub name: String,
    pub external_id: Option<String>,
    /// `sha256:…` of the value; the value itself is never kept.
    pub fingerprint: Option<String>,
    pub state: CredentialState,
    pub stored_in: Option<String>,
    pub exposures: Vec<Exposure>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub issued_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_rotated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<Credential> for CredentialView {
    fn from(c: Credential) -> Self {
        Self {
            id: c.id,
            version: c.version,
            identity_id: c.identity_id,
            kind: c.kind,
            name: c.name,
            external_id: c.external_id,
            fingerprint: c.fingerprint.map(|f| f.to_string()),
            state: c.state,
            stored_in: c.stored_in,
            exposures: c.exposures,
            created_at: c.created_at,
            issued_at: c.issued_at,
            expires_at: c.expires_at,
            last_rotated_at: c.last_rotated_at,
            last_used_at: c.last_used_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EntitlementView {
    pub id: Uuid,
    pub version: i64,
    pub identity_id: Uuid,
    pub system_id: Option<Uuid>,
    pub resource: String,
    pub actions: Vec<String>,
    pub granted_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<Entitlement> for EntitlementView {
    fn from(e: Entitlement) -> Self {
        Self {
            id: e.id,
            version: e.version,
            identity_id: e.identity_id,
            system_id: e.system_id,
            resource: e.resource,
            actions: e.actions,
            granted_by: e.granted_by,
            created_at: e.created_at,
        }
    }
}

/// A token's metadata; never its secret or hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    pub roles: Vec<Role>,
    /// The identity the token authenticates as; none for a person.
    pub identity: Option<Uuid>,
    pub groups: Vec<String>,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            roles: t.roles,
            identity: t.identity,
            groups: t.groups,
            created_by: t.created_by,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A newly created token: the secret is shown in this response only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    pub token: String,
    pub info: TokenView,
}

/// One audit record with its parsed event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditRecordView {
    pub seq: u64,
    pub hash: String,
    pub prev_hash: String,
    pub event: AuditEvent,
}

/// A page of results; pass `next` as `after` to get the following page.
macro_rules! page {
    ($name:ident, $item:ty) => {
        #[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Cursor for the next page, absent on the last one.
            pub next: Option<String>,
        }
    };
}

page!(OwnerPage, OwnerView);
page!(SystemPage, SystemView);
page!(IdentityPage, IdentityView);
page!(CredentialPage, CredentialView);
page!(EntitlementPage, EntitlementView);
page!(TokenPage, TokenView);
page!(AuditPage, AuditRecordView);

/// A secret seen somewhere that matches no credential in the inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeakView {
    pub id: Uuid,
    pub version: i64,
    pub fingerprint: String,
    pub rule: String,
    pub preview: String,
    pub locations: Vec<holdfast_core::Exposure>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: OffsetDateTime,
}

impl From<holdfast_core::Leak> for LeakView {
    fn from(l: holdfast_core::Leak) -> Self {
        Self {
            id: l.id,
            version: l.version,
            fingerprint: l.fingerprint.to_string(),
            rule: l.rule,
            preview: l.preview,
            locations: l.locations,
            first_seen: l.first_seen,
            last_seen: l.last_seen,
        }
    }
}

/// What a scan report changed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScanReportResult {
    /// Findings whose fingerprint matched a known credential (recorded as its exposures).
    pub matched: usize,
    /// Findings that matched nothing (recorded as leaks: unknown credentials in the wild).
    pub unmatched: usize,
    /// New locations recorded (a location already known is not added twice).
    pub new_locations: usize,
    pub credentials: Vec<Uuid>,
    pub leaks: Vec<Uuid>,
}

page!(LeakPage, LeakView);

/// What one import did. Re-importing the same export reports `changed: false` and zero counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    pub source: String,
    pub connector: String,
    pub changed: bool,
    pub identities_created: u64,
    pub identities_updated: u64,
    /// Identities that vanished from the source on this import (kept, marked `missing_since`).
    pub identities_missing: u64,
    pub identities_unchanged: u64,
    pub credentials_created: u64,
    pub credentials_updated: u64,
    pub nodes_added: u64,
    pub nodes_removed: u64,
    pub nodes_changed: u64,
    pub edges_added: u64,
    pub edges_removed: u64,
    pub edges_changed: u64,
    /// Identities (of any source) whose computed tier changed.
    pub tiers_changed: u64,
    pub management_plane: u64,
    pub findings: Vec<holdfast_core::Finding>,
    pub skipped: Vec<String>,
}

/// A discovery source as last imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SourceView {
    pub id: Uuid,
    pub source: String,
    pub connector: String,
    pub digest: String,
    pub identities: u64,
    pub credentials: u64,
    pub nodes: u64,
    pub edges: u64,
    pub findings: Vec<holdfast_core::Finding>,
    pub skipped: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_imported_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub changed_at: OffsetDateTime,
}

impl From<holdfast_core::DiscoverySource> for SourceView {
    fn from(s: holdfast_core::DiscoverySource) -> Self {
        Self {
            id: s.id,
            source: s.source,
            connector: s.connector,
            digest: s.digest,
            identities: s.identities,
            credentials: s.credentials,
            nodes: s.nodes,
            edges: s.edges,
            findings: s.findings,
            skipped: s.skipped,
            first_imported_at: s.first_imported_at,
            changed_at: s.changed_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SourceList {
    pub items: Vec<SourceView>,
}

/// A blast radius and the tier of its subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlastRadiusView {
    #[serde(flatten)]
    pub radius: holdfast_graph::BlastRadius,
    pub tier: holdfast_graph::Tier,
}

/// What a write made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretWritten {
    pub path: String,
    pub version: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// A secret's value: the one response that deliberately returns a secret.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct SecretValueView {
    pub path: String,
    pub version: u64,
    pub value: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for SecretValueView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretValueView")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("value", &"[redacted]")
            .finish()
    }
}

/// A secret's metadata and versions, without any value or ciphertext.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SecretMetaView {
    pub id: Uuid,
    pub path: String,
    pub current: u64,
    pub owner_identity: Option<Uuid>,
    pub consumers: Vec<String>,
    pub max_age_days: Option<u32>,
    /// When the newest version reaches its max age: rotation is due then.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub rotation_due_at: Option<OffsetDateTime>,
    pub versions: Vec<holdfast_core::SecretVersion>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_read_at: Option<OffsetDateTime>,
    pub last_read_by: Option<String>,
}

impl From<holdfast_core::Secret> for SecretMetaView {
    fn from(s: holdfast_core::Secret) -> Self {
        Self {
            id: s.id,
            path: s.path,
            current: s.current,
            owner_identity: s.owner_identity,
            consumers: s.consumers,
            max_age_days: s.max_age_days,
            rotation_due_at: s.max_age_days.and_then(|days| {
                s.versions
                    .iter()
                    .find(|v| v.version == s.current)
                    .map(|v| v.created_at + time::Duration::days(i64::from(days)))
            }),
            versions: s
                .versions
                .into_iter()
                .map(|mut v| {
                    v.ciphertext.clear();
                    v
                })
                .collect(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            last_read_at: s.last_read_at,
            last_read_by: s.last_read_by,
        }
    }
}

page!(SecretPage, SecretMetaView);

/// What a keyring rotation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyringRotated {
    /// The data key new writes use from now on.
    pub active_key: u32,
    /// Versions re-encrypted under it.
    pub rewrapped: u64,
    /// Versions that could not be (altered ciphertexts, or written concurrently: run it again).
    pub failed: u64,
}

impl std::fmt::Debug for InitResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitResponse")
            .field("root_token", &"[redacted]")
            .field("root_token_id", &self.root_token_id)
            .field("seal_mode", &self.seal_mode)
            .field(
                "unseal_shares",
                &format!("[{} redacted]", self.unseal_shares.len()),
            )
            .field("unseal_threshold", &self.unseal_threshold)
            .finish()
    }
}

/// A rotation's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RotationView {
    pub id: Uuid,
    pub path: String,
    pub rotator: String,
    /// The state machine's state: `{"old": "blue", "phase": "promoted", "grace_until": …}`.
    #[schema(value_type = Object)]
    pub state: serde_json::Value,
    pub new_version: u64,
    pub grace_seconds: u64,
    pub finished: bool,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<holdfast_core::RotationJob> for RotationView {
    fn from(j: holdfast_core::RotationJob) -> Self {
        Self {
            id: j.id,
            path: j.path,
            rotator: j.rotator,
            state: j.state,
            new_version: j.new_version,
            grace_seconds: j.grace_seconds,
            finished: j.finished,
            last_error: j.last_error,
            started_at: j.started_at,
            updated_at: j.updated_at,
        }
    }
}

/// What an emergency rotation started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EmergencyRotationReport {
    /// Rotations started (grace period 0).
    pub started: Vec<String>,
    /// Secrets Holdfast has never rotated, so it does not know how: a person must.
    pub needs_a_person: Vec<String>,
    /// Rotations that could not start, with why.
    pub failed: Vec<String>,
}

/// Where a rekey stands. `new_shares` is filled once, in the answer that creates them.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct RekeyStatus {
    /// `authorize` (current shares wanted), `verify` (new shares wanted) or `done`.
    pub phase: String,
    pub progress: u8,
    pub threshold: u8,
    pub new_shares: Vec<String>,
}

impl std::fmt::Debug for RekeyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RekeyStatus")
            .field("phase", &self.phase)
            .field("progress", &self.progress)
            .field("threshold", &self.threshold)
            .field(
                "new_shares",
                &format!("[{} redacted]", self.new_shares.len()),
            )
            .finish()
    }
}

/// A page of offboardings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OffboardingPage {
    pub items: Vec<holdfast_core::Offboarding>,
    pub next: Option<String>,
}

/// What an owner's departure did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct DepartReport {
    pub owner: String,
    /// Identities moved to the new owner.
    pub reassigned: Vec<uuid::Uuid>,
    /// Offboardings started, one per identity.
    pub offboardings: Vec<uuid::Uuid>,
}

/// A campaign with its items counted by decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CampaignView {
    pub campaign: holdfast_core::Campaign,
    /// Items per decision (`pending`, `attested`, `reduced`, `revoked`, `missed`, `missed_suspended`).
    pub counts: BTreeMap<String, u64>,
}

/// A page of campaigns.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CampaignPage {
    pub items: Vec<holdfast_core::Campaign>,
    pub next: Option<String>,
}

/// A page of review items.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CampaignItemPage {
    pub items: Vec<holdfast_core::CampaignItem>,
    pub next: Option<String>,
}
