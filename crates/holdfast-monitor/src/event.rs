//! The normalised event every format becomes: who (and with which credential) did what to which
//! resource, when, from where, with which client, and how it ended.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where an event was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Aws,
    Kubernetes,
    Holdfast,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Kubernetes => "kubernetes",
            Self::Holdfast => "holdfast",
        }
    }
}

/// How the call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    /// Authentication or authorisation refused it.
    Denied,
    /// It was allowed but failed for another reason.
    Failure,
}

/// What kind of principal acted, as the log says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// An IAM user (`userIdentity.type` `IAMUser`).
    IamUser,
    /// A session of an IAM role (`AssumedRole`); the principal is the role.
    AssumedRole,
    /// A federated session (`FederatedUser`, `WebIdentityUser`, `SAMLUser`).
    Federated,
    /// The account's root user.
    Root,
    /// Another AWS account (`AWSAccount`).
    Account,
    /// An AWS service acting on its own (`AWSService`): never an identity of the estate.
    Service,
    /// A Kubernetes service account (`system:serviceaccount:<ns>:<name>`).
    ServiceAccount,
    /// A Kubernetes control-plane component or node (`system:kube-…`, `system:node:…`).
    SystemComponent,
    /// Any other Kubernetes user (people, OIDC, certificates).
    KubernetesUser,
    /// An identity provider's user assuming a role (`WebIdentityUser`, `SAMLUser`, EKS and
    /// other managed control planes): judged through the role session that follows, not itself.
    External,
    /// A Holdfast API token.
    HoldfastToken,
    /// Nobody authenticated.
    Anonymous,
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    pub kind: ActorKind,
    /// As the log names it: an ARN, a session ARN, a username, `token:<id> (<name>)`.
    pub display: String,
    /// The principal an inventory identity is keyed by: a user or role ARN (the role of a
    /// session), `serviceaccount/<ns>/<name>`, `token:<id>`.
    pub principal: Option<String>,
    /// The credential it presented, when the log says: an access key id, a token's `JTI=…`.
    pub credential: Option<String>,
    /// Its account (AWS) or namespace (Kubernetes service accounts).
    pub account: Option<String>,
    /// The IAM user name, for users.
    pub user_name: Option<String>,
}

/// One normalised event. Never holds a secret: logs carry ids and names, and request or response
/// bodies are not kept beyond the few named fields below.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub time: OffsetDateTime,
    pub platform: Platform,
    /// The log's own id (`eventID`, `auditID`, an audit sequence number).
    pub id: Option<String>,
    pub actor: Actor,
    /// `<service>:<eventName>` (AWS), `<verb> <group>/<resource>[/<subresource>]` (Kubernetes,
    /// `core` for the core group), `holdfast:<action>`.
    pub action: String,
    /// What it was done to: an ARN, `<namespace>/<name>`, a secret id, a Holdfast target.
    pub resource: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub outcome: Outcome,
    /// The error code or reason when it did not succeed.
    pub error: Option<String>,
    /// Whose credential a call creates, when it names someone (`CreateAccessKey`'s `userName`).
    pub target_user: Option<String>,
    /// The call did not change anything (`readOnly`, Kubernetes `get`/`list`/`watch`).
    pub read_only: bool,
}

impl Event {
    /// Unix seconds.
    pub fn at(&self) -> i64 {
        self.time.unix_timestamp()
    }
}
