//! Holdfast's discovery connectors: read the configuration people already have — Kubernetes
//! manifests and `kubectl` lists, `aws iam get-account-authorization-details`, access-key lists and
//! credential reports, GitHub Actions workflows, Terraform state, `.env` and compose files — and turn
//! it into inventory records (identities, credentials, with provenance per field), identity-graph
//! nodes and edges, and findings.
//!
//! Pure: the caller reads the files and passes their bytes in; nothing here touches the disk, the
//! network or the clock. Secret values seen in the inputs (Terraform state, env files) are reduced
//! to `sha256:` fingerprints on the spot and never kept.

mod actions;
mod aws;

/// The identity attribute that lists what an identity is granted, statement by statement
/// (`policy`, `actions`, `resources`, and for AWS `except` and `conditional`), for comparing with
/// what it used: AWS identity, group and managed policies; Kubernetes rules bound to a service
/// account.
pub const GRANTED_ATTRIBUTE: &str = "granted_permissions";
/// Most statements kept in it.
pub const GRANTED_MAX: usize = 500;
mod emit;
mod env;
mod kubernetes;
mod terraform;
mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use holdfast_core::{CredentialKind, IdentityKind};
pub use holdfast_core::{Finding, Severity};
use holdfast_graph::{EdgeSpec, NodeSpec};
use serde::{Deserialize, Serialize};

pub use emit::{Emitter, owner_from_tags};

/// The connectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Connector {
    Kubernetes,
    AwsIam,
    GithubActions,
    Terraform,
    Env,
}

impl Connector {
    pub const ALL: [Connector; 5] = [
        Connector::Kubernetes,
        Connector::AwsIam,
        Connector::GithubActions,
        Connector::Terraform,
        Connector::Env,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Connector::Kubernetes => "kubernetes",
            Connector::AwsIam => "aws-iam",
            Connector::GithubActions => "github-actions",
            Connector::Terraform => "terraform",
            Connector::Env => "env",
        }
    }
}

impl fmt::Display for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Connector {
    type Err = DiscoverError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Connector::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| DiscoverError::UnknownConnector {
                name: s.chars().take(64).collect(),
            })
    }
}

/// One input file: its name (the path as the user gave it) and its bytes.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Connector options.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The system the inputs describe when the inputs do not say: the cluster name for
    /// Kubernetes (default `default`), `owner/repo` for GitHub Actions (default taken from the
    /// path), the account id for an access-key list without one.
    #[serde(default)]
    pub system: Option<String>,
    /// The time findings about age are judged at (key age, unused roles); without it those
    /// findings are not made.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub now: Option<time::OffsetDateTime>,
}

/// Why discovery failed. Messages name the input and the place in it, never a value from it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DiscoverError {
    #[error(
        "unknown connector `{name}`: expected one of kubernetes, aws-iam, github-actions, terraform, env"
    )]
    UnknownConnector { name: String },
    #[error("{input}: {message}")]
    Parse { input: String, message: String },
    #[error("{input}: {field}: {message}")]
    Field {
        input: String,
        field: String,
        message: String,
    },
    #[error("no input given")]
    NoInput,
}

/// A value and where it came from (`file#document path.to.field`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sourced<T> {
    pub value: T,
    pub from: String,
}

impl<T> Sourced<T> {
    pub fn new(value: T, from: impl Into<String>) -> Self {
        Sourced {
            value,
            from: from.into(),
        }
    }
}

/// An identity as a source describes it. `external_id` is unique within the source; together
/// they make re-imports idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveredIdentity {
    /// The identity's graph node key.
    pub key: String,
    pub external_id: String,
    pub name: String,
    pub kind: IdentityKind,
    /// What the source calls it: `aws-iam-role`, `kubernetes-service-account`, …
    pub source_kind: String,
    pub system: String,
    pub owner: Option<Sourced<String>>,
    pub purpose: Option<Sourced<String>>,
    pub environment: Option<Sourced<String>>,
    pub created_at: Option<Sourced<String>>,
    pub last_used_at: Option<Sourced<String>>,
    /// Further facts, each with its provenance.
    pub attributes: BTreeMap<String, Sourced<serde_json::Value>>,
}

/// A credential as a source describes it. Values are never kept: `fingerprint` is the SHA-256 of
/// the value when the source held the value itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveredCredential {
    pub key: String,
    pub external_id: String,
    pub name: String,
    pub kind: CredentialKind,
    /// Key of the identity it authenticates as, when known.
    pub identity: Option<String>,
    pub fingerprint: Option<String>,
    pub active: bool,
    pub created_at: Option<Sourced<String>>,
    pub last_used_at: Option<Sourced<String>>,
    /// Where copies of it sit (location node keys).
    pub locations: Vec<String>,
    pub from: String,
}

/// What one connector run found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// The source, e.g. `kubernetes:prod` or `aws-iam:123456789012`: identities that vanish from
    /// a source on a later import are marked gone from it.
    pub source: String,
    pub identities: Vec<DiscoveredIdentity>,
    pub credentials: Vec<DiscoveredCredential>,
    pub nodes: Vec<NodeSpec>,
    pub edges: Vec<EdgeSpec>,
    pub findings: Vec<Finding>,
    /// Documents that were skipped, and why.
    pub skipped: Vec<String>,
}

/// Runs one connector over its inputs.
pub fn discover(
    connector: Connector,
    inputs: &[Input],
    options: &Options,
) -> Result<Discovery, DiscoverError> {
    if inputs.is_empty() {
        return Err(DiscoverError::NoInput);
    }
    let mut discovery = match connector {
        Connector::Kubernetes => kubernetes::discover(inputs, options)?,
        Connector::AwsIam => aws::discover(inputs, options)?,
        Connector::GithubActions => actions::discover(inputs, options)?,
        Connector::Terraform => terraform::discover(inputs, options)?,
        Connector::Env => env::discover(inputs, options)?,
    };
    emit::unowned_findings(&mut discovery);
    Ok(discovery)
}

/// The identity graph of several discoveries together: nodes with the same key (an IAM role seen
/// in the IAM export, a workflow and Terraform state) are one node, so paths cross sources.
pub fn graph(
    discoveries: &[Discovery],
) -> Result<holdfast_graph::Graph, holdfast_graph::GraphError> {
    let nodes = discoveries
        .iter()
        .flat_map(|d| d.nodes.iter().cloned())
        .collect();
    let edges = discoveries
        .iter()
        .flat_map(|d| d.edges.iter().cloned())
        .collect();
    holdfast_graph::Graph::build(nodes, edges)
}
