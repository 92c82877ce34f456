//! Access requests, leases and grants on the wire.

use holdfast_core::{AccessRequest, Lease, Review};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/requests`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccessRequest {
    /// What the access is for (a ticket, a change, a task).
    pub task: Option<String>,
    pub reason: Option<String>,
    /// `jwt` (default) or `postgres`.
    pub kind: Option<String>,
    /// The system that will accept the grant: the JWT's `aud`, or the name of a PostgreSQL
    /// target the server's configuration declares.
    pub audience: Option<String>,
    /// What the grant allows there (the JWT's `scope`).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The identity (id) to elevate, when it is not the caller.
    pub identity: Option<String>,
    /// The person an AI agent acts for (required when the caller is an AI agent).
    pub on_behalf_of: Option<String>,
    /// How long the grant should last, in seconds; bounded by the approval rule (default: the
    /// rule's bound, at most an hour).
    pub ttl_seconds: Option<u32>,
    /// Declare the request management-plane even if nothing in it says so.
    #[serde(default)]
    pub management_plane: bool,
}

/// `approve`, `deny`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideRequest {
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessRequestPage {
    pub items: Vec<AccessRequest>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeasePage {
    pub items: Vec<Lease>,
    pub next: Option<String>,
}

/// The one response that carries a grant's credential.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IssuedGrant {
    pub lease: Lease,
    /// The credential (a JWT, or a PostgreSQL login's password); shown once.
    pub credential: String,
    /// The login the credential belongs to (PostgreSQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
}

/// `POST /v1/leases/{id}/renew`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewLeaseRequest {
    /// Seconds from now (default: the request's TTL); bounded by the lease's maximum.
    pub ttl_seconds: Option<u32>,
}

/// `POST /v1/leases/revoke-holder`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeHolderRequest {
    /// The holder as a policy principal (`Holdfast::Identity::"<id>"`) or an identity id.
    pub holder: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RevokedLeases {
    pub revoked: Vec<uuid::Uuid>,
    /// Leases that could not be ended now (their target refused or was unreachable), with why.
    #[serde(default)]
    pub failed: Vec<String>,
}

/// `POST /v1/grants/introspect` (after RFC 7662).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntrospectRequest {
    pub token: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Introspection {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Why it is not active (expired, revoked, superseded by a renewal, unknown signer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A JSON Web Key Set of the nodes' grant-signing keys.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<serde_json::Value>,
}

/// The authenticator to add, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StepUpEnrolled {
    /// Base32 TOTP secret (SHA-1, 6 digits, 30 s).
    pub secret: String,
    pub otpauth_uri: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepUpRequest {
    /// The current 6-digit code.
    pub code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StepUpStatus {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub stepped_up_at: time::OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewPage {
    pub items: Vec<Review>,
    pub next: Option<String>,
}

/// `POST /v1/reviews/{id}/close`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseReviewRequest {
    /// What the review found.
    pub notes: Option<String>,
}

/// What a relying party needs to check X.509 grants: the CA certificate and its current CRL.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct X509Trust {
    pub ca_pem: String,
    pub crl_pem: String,
}
