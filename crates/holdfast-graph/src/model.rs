//! The graph's vocabulary: what a node is, what an edge means, and the serialisable specs that
//! connectors produce and the store keeps.
//!
//! Every edge is a *control* edge: `A → B` means "whoever controls A gains B" — a credential
//! authenticates as its identity, an identity is a member of a group, a role grants access to a
//! resource, an identity can assume a role. Blast radius is therefore plain reachability, and each
//! step of a path reads as a sentence.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    /// A non-human (or human) principal: IAM user or role, Kubernetes service account, user or
    /// group subject, CI job identity.
    Identity,
    /// A group of principals whose members gain its permissions (IAM group, Kubernetes group).
    Group,
    /// Something that authenticates as an identity: access key, token, password, key pair.
    Credential,
    /// A set of permissions: IAM policy, Kubernetes Role or ClusterRole.
    Policy,
    /// Something permissions are granted on: an ARN pattern, a Kubernetes resource in a namespace.
    Resource,
    /// A management-plane capability: change IAM, read every secret, escalate RBAC, …
    Capability,
    /// A place a copy of a secret sits: a file, a CI secret store, a Kubernetes Secret, state.
    Location,
    /// Something that runs as an identity: a pod, a deployment, a CI job, a compute service.
    Workload,
    /// An account, a cluster, a repository: the unit a team thinks of as "a system".
    System,
}

impl NodeKind {
    pub const ALL: [NodeKind; 9] = [
        NodeKind::Identity,
        NodeKind::Group,
        NodeKind::Credential,
        NodeKind::Policy,
        NodeKind::Resource,
        NodeKind::Capability,
        NodeKind::Location,
        NodeKind::Workload,
        NodeKind::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Identity => "identity",
            NodeKind::Group => "group",
            NodeKind::Credential => "credential",
            NodeKind::Policy => "policy",
            NodeKind::Resource => "resource",
            NodeKind::Capability => "capability",
            NodeKind::Location => "location",
            NodeKind::Workload => "workload",
            NodeKind::System => "system",
        }
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an edge means. `A → B` always reads "controlling A gives B".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    /// Credential → identity: the credential signs in as the identity.
    AuthenticatesAs,
    /// Identity → group: the identity holds the group's permissions.
    MemberOf,
    /// Identity or group → policy: the policy is attached or bound to it.
    HasPolicy,
    /// Policy or identity → resource or capability: the permission itself.
    HasAccessTo,
    /// Identity → identity: a trust policy or binding lets it assume the target.
    CanAssume,
    /// Identity → identity: it can act as the target (Kubernetes impersonation).
    CanImpersonate,
    /// Identity → identity: it can mint a credential for the target (access key, login profile,
    /// service-account token).
    CanCreateCredentialFor,
    /// Identity → identity or policy: it can rewrite the target's permissions.
    CanModifyPolicyOf,
    /// Identity → identity: it can start compute that runs as the target (pass-role, pod create).
    CanRunAs,
    /// Workload → identity: the workload runs with the identity's credentials.
    RunsAs,
    /// Location → credential: a copy of the credential sits there.
    HoldsCopyOf,
    /// Identity or workload → location: it can read what sits there.
    CanRead,
    /// Identity → system: it can deploy to or administer the system.
    CanDeployTo,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::AuthenticatesAs => "authenticates-as",
            EdgeKind::MemberOf => "member-of",
            EdgeKind::HasPolicy => "has-policy",
            EdgeKind::HasAccessTo => "has-access-to",
            EdgeKind::CanAssume => "can-assume",
            EdgeKind::CanImpersonate => "can-impersonate",
            EdgeKind::CanCreateCredentialFor => "can-create-credential-for",
            EdgeKind::CanModifyPolicyOf => "can-modify-policy-of",
            EdgeKind::CanRunAs => "can-run-as",
            EdgeKind::RunsAs => "runs-as",
            EdgeKind::HoldsCopyOf => "holds-copy-of",
            EdgeKind::CanRead => "can-read",
            EdgeKind::CanDeployTo => "can-deploy-to",
        }
    }

    /// Edges by which one identity becomes another: what "identities it can become" follows.
    pub fn is_escalation(self) -> bool {
        matches!(
            self,
            EdgeKind::CanAssume
                | EdgeKind::CanImpersonate
                | EdgeKind::CanCreateCredentialFor
                | EdgeKind::CanModifyPolicyOf
                | EdgeKind::CanRunAs
        )
    }
}

impl fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A node as a connector emits it and the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Stable key, unique across sources: `aws:arn:…`, `k8s:<cluster>:sa:<ns>/<name>`, …
    pub key: String,
    pub kind: NodeKind,
    pub label: String,
    /// The system the node belongs to (`aws:123456789012`, `k8s:prod`, `github:org/repo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Set on capability nodes: why holding this is management-plane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_plane: Option<String>,
}

impl NodeSpec {
    pub fn new(key: impl Into<String>, kind: NodeKind, label: impl Into<String>) -> Self {
        NodeSpec {
            key: key.into(),
            kind,
            label: label.into(),
            system: None,
            management_plane: None,
        }
    }

    pub fn in_system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    pub fn management_plane(mut self, reason: impl Into<String>) -> Self {
        self.management_plane = Some(reason.into());
        self
    }
}

/// An edge as a connector emits it: `from` and `to` are node keys; `reason` says in words why the
/// edge exists ("policy AdministratorAccess allows iam:* on *").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EdgeSpec {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    pub reason: String,
}

impl EdgeSpec {
    pub fn new(
        from: impl Into<String>,
        kind: EdgeKind,
        to: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        EdgeSpec {
            from: from.into(),
            to: to.into(),
            kind,
            reason: reason.into(),
        }
    }
}
