//! The inventory's records: identities, credentials, entitlements, owners and systems.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::fingerprint::Fingerprint;
use crate::lifecycle::LifecycleState;

/// Defines a closed vocabulary that is stored and sent as snake_case strings.
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    format!("unknown {} `{s}`; expected one of {}", $what, names.join(", "))
                })
            }
        }
    };
}

string_enum!(
    /// What sort of non-human identity this is.
    IdentityKind, "identity kind" {
        ServiceAccount => "service_account",
        ApiKey => "api_key",
        AccessKey => "access_key",
        Token => "token",
        Certificate => "certificate",
        SshKey => "ssh_key",
        Workload => "workload",
        CiJob => "ci_job",
        AiAgent => "ai_agent",
        Bot => "bot",
        OauthApp => "oauth_app",
    }
);

string_enum!(
    /// How much damage the identity can do: management-plane identities can change policy, mint
    /// credentials or reconfigure trust for many systems at once.
    Tier, "tier" {
        Standard => "standard",
        ManagementPlane => "management_plane",
        BreakGlass => "break_glass",
    }
);

string_enum!(
    /// What sort of secret material a credential is.
    CredentialKind, "credential kind" {
        Password => "password",
        ApiKey => "api_key",
        AccessKey => "access_key",
        Token => "token",
        Certificate => "certificate",
        SshKey => "ssh_key",
        PrivateKey => "private_key",
        OauthClientSecret => "oauth_client_secret",
        WebhookSecret => "webhook_secret",
        ConnectionString => "connection_string",
        Other => "other",
    }
);

string_enum!(
    /// Whether a credential still authenticates, as far as Holdfast knows.
    CredentialState, "credential state" {
        Active => "active",
        Revoked => "revoked",
        Expired => "expired",
    }
);

string_enum!(
    /// Whether an owner is one person or a team.
    OwnerKind, "owner kind" {
        Person => "person",
        Team => "team",
    }
);

string_enum!(
    /// What sort of system identities act on.
    SystemKind, "system kind" {
        AwsAccount => "aws_account",
        GcpProject => "gcp_project",
        AzureSubscription => "azure_subscription",
        KubernetesCluster => "kubernetes_cluster",
        GithubOrganization => "github_organization",
        CiPlatform => "ci_platform",
        Database => "database",
        Saas => "saas",
        IdentityProvider => "identity_provider",
        SecretStore => "secret_store",
        Other => "other",
    }
);

/// A person or team accountable for identities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    pub id: Uuid,
    pub version: i64,
    /// Short unique handle, e.g. `platform-team` or `alice`.
    pub name: String,
    pub display_name: Option<String>,
    pub kind: OwnerKind,
    /// Where to reach the owner: an e-mail address, a chat channel, a pager rota.
    pub contact: String,
    /// False once the person has left or the team was dissolved.
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A system identities act on: a cloud account, a cluster, a database, a SaaS tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct System {
    pub id: Uuid,
    pub version: i64,
    pub name: String,
    pub kind: SystemKind,
    pub description: Option<String>,
    pub environment: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A non-human identity: the register's central record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub id: Uuid,
    pub version: i64,
    pub kind: IdentityKind,
    pub name: String,
    /// Where the identity was found or declared: `manual`, `kubernetes`, `aws-iam`, …
    pub source: String,
    /// The identity's id at its source (an ARN, `namespace/name`, …), unique per source.
    pub external_id: Option<String>,
    /// Accountable owner. Only discovery may leave it empty, and an empty owner is a finding.
    pub owner_id: Option<Uuid>,
    /// Why the identity exists. Only discovery may leave it empty.
    pub purpose: Option<String>,
    pub environment: Option<String>,
    /// Systems the identity is meant to act on.
    pub systems: Vec<Uuid>,
    pub tier: Tier,
    /// Why the tier is what it is; required for every tier but standard.
    pub tier_reason: Option<String>,
    pub state: LifecycleState,
    /// Why the identity entered its current state.
    pub state_reason: Option<String>,
    pub labels: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_rotated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_reviewed_at: Option<OffsetDateTime>,
    /// The identity's node in the identity graph (`aws:arn:…`, `k8s:prod:serviceaccount:ns/name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_key: Option<String>,
    /// Where each discovered field came from (`owner` → `iam.json UserDetailList[0] Tags[owner]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub provenance: BTreeMap<String, String>,
    /// Further facts a connector reported (token permissions, triggers, namespace, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Set when the identity vanished from its source on a later import: it is kept, not deleted.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub missing_since: Option<OffsetDateTime>,
    /// A person set the tier (with a reason); discovery does not recompute it.
    #[serde(default)]
    pub tier_override: bool,
}

/// A place where a copy of a credential was found: a file in a repository, a CI log, a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Exposure {
    /// Where the copy is, e.g. `git:github.com/acme/api@3f2a…:config/prod.env:12`.
    pub location: String,
    /// What found it: `scanner`, `manual`, a connector name.
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub found_at: OffsetDateTime,
    /// Free-form detail, never the secret itself.
    pub detail: Option<String>,
}

/// A credential of one identity. Holdfast keeps its fingerprint, never its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    pub id: Uuid,
    pub version: i64,
    pub identity_id: Uuid,
    pub kind: CredentialKind,
    /// Human label, e.g. `deploy key (2024)`.
    pub name: String,
    /// Non-secret id at the provider, e.g. an AWS access key id.
    pub external_id: Option<String>,
    pub fingerprint: Option<Fingerprint>,
    pub state: CredentialState,
    /// Where the credential is meant to live, e.g. `vault:kv/ci/deploy` or `k8s:prod/secret/api`.
    pub stored_in: Option<String>,
    pub exposures: Vec<Exposure>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub issued_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_rotated_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_used_at: Option<OffsetDateTime>,
}

/// What one identity may do: actions on a resource of a system, and what grants it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entitlement {
    pub id: Uuid,
    pub version: i64,
    pub identity_id: Uuid,
    pub system_id: Option<Uuid>,
    /// The resource the actions apply to, e.g. an ARN pattern or `namespace/secrets`.
    pub resource: String,
    pub actions: Vec<String>,
    /// What grants it, e.g. `policy AdministratorAccess via role deploy`.
    pub granted_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

string_enum!(
    /// How bad a finding is.
    Severity, "severity" {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

/// Something wrong a connector saw: an unowned identity, a secret in Terraform state, a workflow
/// that hands secrets to untrusted code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    /// Stable name: `unowned-identity`, `secret-in-state`, `untrusted-trigger-with-secrets`, …
    pub kind: String,
    pub severity: Severity,
    /// Graph key of what the finding is about.
    pub subject: String,
    pub message: String,
    /// Where in the input it was seen.
    pub from: String,
}

/// One discovery source (`aws-iam:123456789012`, `kubernetes:prod`) as last imported: what it held
/// and what was wrong with it. Re-importing the same export leaves it unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoverySource {
    pub id: Uuid,
    pub version: i64,
    pub source: String,
    pub connector: String,
    /// SHA-256 over the discovery's content: equal digests, nothing changed.
    pub digest: String,
    pub identities: u64,
    pub credentials: u64,
    pub nodes: u64,
    pub edges: u64,
    pub findings: Vec<Finding>,
    /// Documents the connector skipped, and why.
    pub skipped: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub first_imported_at: OffsetDateTime,
    /// When the content last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
}

/// A secret found somewhere (by the scanner or a connector) whose fingerprint matches no credential
/// in the inventory: an unknown credential in the wild, kept until someone claims or resolves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leak {
    pub id: Uuid,
    pub version: i64,
    pub fingerprint: Fingerprint,
    /// The detector that recognised it, e.g. `aws-access-key-id`.
    pub rule: String,
    /// A redacted preview: the first characters and the length, never the value.
    pub preview: String,
    pub locations: Vec<Exposure>,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
}

string_enum!(
    /// How the root key comes back after a restart.
    SealMode, "seal mode" {
        Shamir => "shamir",
        KeyFile => "key_file",
    }
);

/// The vault's configuration: how it is sealed and its keyring, encrypted under the root key.
/// One row; nothing in it is secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaultConfig {
    pub id: Uuid,
    pub version: i64,
    pub mode: SealMode,
    pub shares: u8,
    pub threshold: u8,
    /// The keyring sealed under the root key: nonce (hex) and ciphertext (base64).
    pub keyring_nonce: String,
    pub keyring_ciphertext: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// A rekey waiting for its new shares to be proven; until then the current key stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingRekey>,
}

/// The keyring sealed under a new root key, and the new share scheme, before they replace the
/// current ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRekey {
    pub shares: u8,
    pub threshold: u8,
    pub keyring_nonce: String,
    pub keyring_ciphertext: String,
}

/// One version of a secret: its ciphertext (never the value) and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretVersion {
    pub version: u64,
    /// `hfv1:…`: the value encrypted under a data key, bound to the path and this version.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub ciphertext: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub deleted_at: Option<OffsetDateTime>,
    /// The ciphertext is gone for good.
    #[serde(default)]
    pub destroyed: bool,
    /// Written by a rotation that has not promoted it yet: not served as the newest version.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
}

/// A path-addressed, versioned secret with its metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    pub id: Uuid,
    pub version: i64,
    pub path: String,
    /// The newest version number (0 before the first write).
    pub current: u64,
    pub versions: Vec<SecretVersion>,
    /// The identity the secret belongs to.
    pub owner_identity: Option<Uuid>,
    /// Who is known to use it (workloads, identities, hosts).
    #[serde(default)]
    pub consumers: Vec<String>,
    /// Rotate at least this often.
    pub max_age_days: Option<u32>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_read_at: Option<OffsetDateTime>,
    pub last_read_by: Option<String>,
}

/// A rotation in flight (or finished) for one secret: which rotator, its state machine's state,
/// and the lease that makes exactly one replica drive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RotationJob {
    pub id: Uuid,
    pub version: i64,
    pub path: String,
    /// `postgres`, …
    pub rotator: String,
    /// The rotator's settings (never a secret: credentials are referenced by vault path).
    pub config: serde_json::Value,
    /// The state machine's state (`holdfast_vault::rotation::Rotation`).
    pub state: serde_json::Value,
    /// The version the rotation writes.
    pub new_version: u64,
    pub grace_seconds: u64,
    pub finished: bool,
    /// Consumers said they moved to the new version: no need to wait out the grace period.
    #[serde(default)]
    pub acknowledged: bool,
    pub lease_owner: Option<String>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub lease_until: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub started_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}
