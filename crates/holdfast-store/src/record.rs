//! How domain records map onto stored rows: a JSON document plus a few indexed columns.

use holdfast_core::{
    AccessRequest, ApiToken, Campaign, CampaignItem, Credential, DiscoverySource, Entitlement,
    Identity, Leak, Lease, Offboarding, Owner, Review, RotationJob, Secret, System, VaultConfig,
};
use holdfast_graph::{EdgeSpec, NodeSpec};
use holdfast_monitor::{Alert, EventBatch, ProfileRecord};
use holdfast_posture::{FindingRecord, PostureRun};
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::{Store, StoreError};

/// The tables that hold records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Owners,
    Systems,
    Identities,
    Credentials,
    Entitlements,
    Tokens,
    Leaks,
    GraphNodes,
    GraphEdges,
    Sources,
    Secrets,
    Vault,
    Rotations,
    PolicyVersions,
    Requests,
    Leases,
    GrantKeys,
    Reviews,
    Alerts,
    Profiles,
    EventBatches,
    Findings,
    PostureRuns,
    Offboardings,
    Campaigns,
    CampaignItems,
}

impl Table {
    pub const ALL: [Table; 26] = [
        Self::CampaignItems,
        Self::Campaigns,
        Self::Offboardings,
        Self::Findings,
        Self::PostureRuns,
        Self::Alerts,
        Self::Profiles,
        Self::EventBatches,
        Self::Reviews,
        Self::Requests,
        Self::Leases,
        Self::GrantKeys,
        Self::PolicyVersions,
        Self::Rotations,
        Self::Secrets,
        Self::Vault,
        Self::GraphNodes,
        Self::GraphEdges,
        Self::Sources,
        Self::Leaks,
        Self::Owners,
        Self::Systems,
        Self::Identities,
        Self::Credentials,
        Self::Entitlements,
        Self::Tokens,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Owners => "owners",
            Self::Systems => "systems",
            Self::Identities => "identities",
            Self::Credentials => "credentials",
            Self::Entitlements => "entitlements",
            Self::Tokens => "api_tokens",
            Self::Leaks => "leaks",
            Self::GraphNodes => "graph_nodes",
            Self::GraphEdges => "graph_edges",
            Self::Sources => "discovery_sources",
            Self::Secrets => "secrets",
            Self::Vault => "vault_config",
            Self::Rotations => "rotations",
            Self::PolicyVersions => "policy_versions",
            Self::Requests => "access_requests",
            Self::Leases => "leases",
            Self::GrantKeys => "grant_keys",
            Self::Reviews => "reviews",
            Self::Alerts => "alerts",
            Self::Profiles => "profiles",
            Self::EventBatches => "event_batches",
            Self::Findings => "posture_findings",
            Self::PostureRuns => "posture_runs",
            Self::Offboardings => "offboardings",
            Self::Campaigns => "review_campaigns",
            Self::CampaignItems => "review_items",
        }
    }

    /// The record kind in messages.
    pub fn what(self) -> &'static str {
        match self {
            Self::Owners => "owner",
            Self::Systems => "system",
            Self::Identities => "identity",
            Self::Credentials => "credential",
            Self::Entitlements => "entitlement",
            Self::Tokens => "token",
            Self::Leaks => "leak",
            Self::GraphNodes => "graph node",
            Self::GraphEdges => "graph edge",
            Self::Sources => "discovery source",
            Self::Secrets => "secret",
            Self::Vault => "vault configuration",
            Self::Rotations => "rotation",
            Self::PolicyVersions => "policy version",
            Self::Requests => "access request",
            Self::Leases => "lease",
            Self::GrantKeys => "grant signing key",
            Self::Reviews => "review",
            Self::Alerts => "alert",
            Self::Profiles => "activity profile",
            Self::EventBatches => "event batch",
            Self::Findings => "finding",
            Self::PostureRuns => "posture run",
            Self::Offboardings => "offboarding",
            Self::Campaigns => "access review campaign",
            Self::CampaignItems => "access review item",
        }
    }

    /// The indexed columns besides `id`, `version` and `doc`, in the order rows list them.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Owners => &["name", "kind", "active"],
            Self::Systems => &["name", "kind", "environment"],
            Self::Identities => &[
                "kind",
                "name",
                "source",
                "external_id",
                "owner_id",
                "state",
                "tier",
                "environment",
                "systems",
            ],
            Self::Credentials => &["identity_id", "kind", "state", "fingerprint", "external_id"],
            Self::Entitlements => &["identity_id", "system_id"],
            Self::Tokens => &["name"],
            Self::Leaks => &["fingerprint", "rule"],
            Self::GraphNodes => &["source", "key"],
            Self::GraphEdges => &["source", "from_key", "to_key", "kind"],
            Self::Sources => &["source", "connector"],
            Self::Secrets => &["path", "owner_identity"],
            Self::Vault => &["mode"],
            Self::Rotations => &["path", "finished"],
            Self::PolicyVersions => &["kind", "number", "current"],
            Self::Requests => &["state", "requester"],
            Self::Leases => &["state", "holder", "request"],
            Self::GrantKeys => &["kid"],
            Self::Reviews => &["state", "request"],
            Self::Alerts => &[
                "dedup",
                "state",
                "severity",
                "detection",
                "identity_id",
                "pending",
            ],
            Self::Profiles => &["identity_id", "actor"],
            Self::EventBatches => &["format", "digest"],
            Self::Findings => &["key", "state", "rule", "severity", "identity_id"],
            Self::PostureRuns => &["at"],
            Self::Offboardings => &["identity_id", "state"],
            Self::Campaigns => &["state"],
            Self::CampaignItems => &["campaign", "identity_id", "decision", "owner"],
        }
    }

    /// Which column a unique violation is about, given the column or constraint suffix a backend reports.
    pub fn unique_field(self, reported: &str) -> String {
        match (self, reported) {
            (Self::Identities, "source" | "external_id") => "external_id".into(),
            (Self::PolicyVersions, "kind" | "number") => "number".into(),
            (_, other) => other.to_string(),
        }
    }
}

/// A value of an indexed column.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(Option<String>),
    Int(Option<i64>),
}

impl Value {
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(Some(s.into()))
    }

    pub fn opt_text<T: ToString>(s: Option<T>) -> Self {
        Self::Text(s.map(|v| v.to_string()))
    }
}

/// One row to write: indexed column values in [`Table::columns`] order, and the whole document.
#[derive(Debug, Clone)]
pub struct Row {
    pub table: Table,
    pub id: Uuid,
    pub version: i64,
    pub values: Vec<Value>,
    pub doc: String,
}

/// A domain record that can be stored.
pub trait Record: Serialize + DeserializeOwned + Send + Sync {
    const TABLE: Table;
    fn id(&self) -> Uuid;
    fn version(&self) -> i64;
    /// Values for [`Table::columns`], in order.
    fn values(&self) -> Vec<Value>;

    fn to_row(&self) -> Result<Row, StoreError> {
        let doc = serde_json::to_string(self).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Row {
            table: Self::TABLE,
            id: self.id(),
            version: self.version(),
            values: self.values(),
            doc,
        })
    }
}

/// One change inside a transaction.
#[derive(Debug, Clone)]
pub enum Change {
    /// Add a new row; fails with [`StoreError::Duplicate`] on a unique clash.
    Insert(Row),
    /// Replace a row whose stored version is `expected_version`; the row carries the new version.
    Update { row: Row, expected_version: i64 },
    /// Remove a row whose stored version is `expected_version`.
    Delete {
        table: Table,
        id: Uuid,
        expected_version: i64,
    },
    /// Mark the store initialised; fails with [`StoreError::AlreadyInitialized`] the second time.
    Initialize,
    /// Record a node's public audit key (a no-op when it is already known).
    RegisterAuditKey(holdfast_audit::PublicKeyInfo),
}

impl Change {
    pub fn insert<R: Record>(r: &R) -> Result<Self, StoreError> {
        Ok(Self::Insert(r.to_row()?))
    }

    /// Stores `r` (which already carries its next version) over the version before it.
    pub fn update<R: Record>(r: &R) -> Result<Self, StoreError> {
        Ok(Self::Update {
            row: r.to_row()?,
            expected_version: r.version() - 1,
        })
    }

    pub fn delete<R: Record>(r: &R) -> Self {
        Self::Delete {
            table: R::TABLE,
            id: r.id(),
            expected_version: r.version(),
        }
    }
}

/// A condition on an indexed column.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Column equals value.
    Eq(&'static str, Value),
    /// A comma-joined list column contains this element.
    Contains(&'static str, String),
    /// Column contains this text, case-insensitively.
    Like(&'static str, String),
}

/// A page of rows of one table in id order.
#[derive(Debug, Clone)]
pub struct Query {
    pub table: Table,
    pub filters: Vec<Filter>,
    /// Only rows with an id after this one (the previous page's last id).
    pub after: Option<Uuid>,
    pub limit: u32,
}

impl Query {
    pub fn new(table: Table) -> Self {
        Self {
            table,
            filters: vec![],
            after: None,
            limit: 100,
        }
    }

    pub fn filter(mut self, f: Filter) -> Self {
        self.filters.push(f);
        self
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    pub fn after(mut self, after: Option<Uuid>) -> Self {
        self.after = after;
        self
    }
}

fn parse<R: Record>(doc: &str) -> Result<R, StoreError> {
    serde_json::from_str(doc)
        .map_err(|e| StoreError::Corrupt(format!("{} record: {e}", R::TABLE.what())))
}

/// One record by id.
pub async fn get<R: Record>(store: &dyn Store, id: Uuid) -> Result<Option<R>, StoreError> {
    store
        .get_doc(R::TABLE, id)
        .await?
        .map(|d| parse(&d))
        .transpose()
}

/// The one record whose column equals a value (e.g. an owner by name).
pub async fn get_by<R: Record>(
    store: &dyn Store,
    column: &'static str,
    value: &str,
) -> Result<Option<R>, StoreError> {
    let q = Query::new(R::TABLE)
        .filter(Filter::Eq(column, Value::text(value)))
        .limit(1);
    Ok(find::<R>(store, &q).await?.into_iter().next())
}

/// Records matching a query.
pub async fn find<R: Record>(store: &dyn Store, q: &Query) -> Result<Vec<R>, StoreError> {
    store.find_docs(q).await?.iter().map(|d| parse(d)).collect()
}

fn list(ids: &[Uuid]) -> Value {
    if ids.is_empty() {
        Value::Text(None)
    } else {
        let mut s = String::from(",");
        for id in ids {
            s.push_str(&id.to_string());
            s.push(',');
        }
        Value::Text(Some(s))
    }
}

/// Implements [`Record`] for a domain type with `id` and `version` fields; `$values` maps the record
/// to its indexed columns, in [`Table::columns`] order.
macro_rules! record {
    ($ty:ty, $table:expr, |$r:ident| $values:block) => {
        impl Record for $ty {
            const TABLE: Table = $table;
            fn id(&self) -> Uuid {
                self.id
            }
            fn version(&self) -> i64 {
                self.version
            }
            fn values(&self) -> Vec<Value> {
                let $r = self;
                $values
            }
        }
    };
}

record!(Owner, Table::Owners, |r| {
    vec![
        Value::text(&r.name),
        Value::text(r.kind.as_str()),
        Value::Int(Some(i64::from(r.active))),
    ]
});

record!(System, Table::Systems, |r| {
    vec![
        Value::text(&r.name),
        Value::text(r.kind.as_str()),
        Value::opt_text(r.environment.as_ref()),
    ]
});

record!(Identity, Table::Identities, |r| {
    vec![
        Value::text(r.kind.as_str()),
        Value::text(&r.name),
        Value::text(&r.source),
        Value::opt_text(r.external_id.as_ref()),
        Value::opt_text(r.owner_id),
        Value::text(r.state.as_str()),
        Value::text(r.tier.as_str()),
        Value::opt_text(r.environment.as_ref()),
        list(&r.systems),
    ]
});

record!(Credential, Table::Credentials, |r| {
    vec![
        Value::text(r.identity_id.to_string()),
        Value::text(r.kind.as_str()),
        Value::text(r.state.as_str()),
        Value::opt_text(r.fingerprint.as_ref()),
        Value::opt_text(r.external_id.as_ref()),
    ]
});

record!(Entitlement, Table::Entitlements, |r| {
    vec![
        Value::text(r.identity_id.to_string()),
        Value::opt_text(r.system_id),
    ]
});

record!(ApiToken, Table::Tokens, |r| { vec![Value::text(&r.name)] });

record!(Leak, Table::Leaks, |r| {
    vec![Value::text(r.fingerprint.to_string()), Value::text(&r.rule)]
});

/// A graph node as one discovery source reported it. The graph is the union over sources: a node
/// two sources report (a role in the IAM export and in a workflow) is one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphNodeRecord {
    pub id: Uuid,
    pub version: i64,
    pub source: String,
    pub node: NodeSpec,
}

/// A graph edge as one discovery source reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphEdgeRecord {
    pub id: Uuid,
    pub version: i64,
    pub source: String,
    pub edge: EdgeSpec,
}

record!(GraphNodeRecord, Table::GraphNodes, |r| {
    vec![Value::text(&r.source), Value::text(&r.node.key)]
});

record!(GraphEdgeRecord, Table::GraphEdges, |r| {
    vec![
        Value::text(&r.source),
        Value::text(&r.edge.from),
        Value::text(&r.edge.to),
        Value::text(r.edge.kind.as_str()),
    ]
});

record!(Secret, Table::Secrets, |r| {
    vec![Value::text(&r.path), Value::opt_text(r.owner_identity)]
});

record!(VaultConfig, Table::Vault, |r| {
    vec![Value::text(r.mode.as_str())]
});

record!(RotationJob, Table::Rotations, |r| {
    vec![
        Value::text(&r.path),
        Value::Int(Some(i64::from(r.finished))),
    ]
});

/// One version of Holdfast's policy set. Versions are never edited: applying a policy set adds a
/// version and moves `current` to it, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersionRecord {
    pub id: Uuid,
    pub version: i64,
    /// `policies`.
    pub kind: String,
    /// 1, 2, 3, … per kind.
    pub number: i64,
    pub current: bool,
    /// The Cedar text as applied.
    pub text: String,
    /// Hex SHA-256 of `text`.
    pub sha256: String,
    #[serde(default)]
    pub comment: Option<String>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

record!(PolicyVersionRecord, Table::PolicyVersions, |r| {
    vec![
        Value::text(&r.kind),
        Value::Int(Some(r.number)),
        Value::Int(Some(i64::from(r.current))),
    ]
});

record!(AccessRequest, Table::Requests, |r| {
    vec![Value::text(r.state.as_str()), Value::text(&r.requester)]
});

record!(Review, Table::Reviews, |r| {
    vec![
        Value::text(r.state.as_str()),
        Value::text(r.request.to_string()),
    ]
});

record!(Lease, Table::Leases, |r| {
    vec![
        Value::text(r.state.as_str()),
        Value::text(&r.holder),
        Value::text(r.request.to_string()),
    ]
});

/// A node's public key for grant signatures (EdDSA), published in `/v1/grants/jwks`; or, under
/// the kid `x509-ca`, the installation's certificate authority for X.509 grants (`x` is then its
/// certificate in PEM and `sealed_key` its private key sealed under the vault keyring).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantKeyRecord {
    pub id: Uuid,
    pub version: i64,
    pub kid: String,
    /// The raw 32-byte Ed25519 public key, base64url without padding (a JWK's `x`).
    pub x: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_key: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

record!(GrantKeyRecord, Table::GrantKeys, |r| {
    vec![Value::text(&r.kid)]
});

record!(DiscoverySource, Table::Sources, |r| {
    vec![Value::text(&r.source), Value::text(&r.connector)]
});

record!(Alert, Table::Alerts, |r| {
    vec![
        Value::text(&r.dedup),
        Value::text(r.state.as_str()),
        Value::text(r.severity.as_str()),
        Value::text(r.detection.id()),
        Value::opt_text(r.identity_id),
        Value::Int(Some(i64::from(r.respond_pending))),
    ]
});

record!(ProfileRecord, Table::Profiles, |r| {
    vec![Value::opt_text(r.identity_id), Value::text(&r.actor)]
});

record!(EventBatch, Table::EventBatches, |r| {
    vec![Value::text(&r.format), Value::text(&r.digest)]
});

record!(FindingRecord, Table::Findings, |r| {
    vec![
        Value::text(&r.key),
        Value::text(r.state.as_str()),
        Value::text(&r.rule),
        Value::text(r.severity.as_str()),
        Value::opt_text(r.identity_id),
    ]
});

record!(Campaign, Table::Campaigns, |r| {
    vec![Value::text(r.state.as_str())]
});

record!(CampaignItem, Table::CampaignItems, |r| {
    vec![
        Value::text(r.campaign.to_string()),
        Value::text(r.identity_id.to_string()),
        Value::text(r.decision.as_str()),
        Value::opt_text(r.owner.as_ref()),
    ]
});

record!(Offboarding, Table::Offboardings, |r| {
    vec![
        Value::text(r.identity_id.to_string()),
        Value::text(r.state.as_str()),
    ]
});

record!(PostureRun, Table::PostureRuns, |r| {
    vec![Value::text(
        r.at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    )]
});

/// Every record of a table matching `filters`, read in pages of `page` rows.
pub async fn find_all<R: Record>(
    store: &dyn Store,
    filters: Vec<Filter>,
    page: u32,
) -> Result<Vec<R>, StoreError> {
    let mut out: Vec<R> = Vec::new();
    let mut after = None;
    loop {
        let mut q = Query::new(R::TABLE).limit(page.max(1)).after(after);
        q.filters.clone_from(&filters);
        let batch: Vec<R> = find(store, &q).await?;
        let n = batch.len();
        after = batch.last().map(Record::id);
        out.extend(batch);
        if n < page.max(1) as usize {
            break;
        }
    }
    Ok(out)
}

/// Every record of a table whose `identity_id` column is `identity` (credentials, entitlements,
/// findings, offboardings, …).
pub async fn of_identity<R: Record>(
    store: &dyn Store,
    identity: Uuid,
) -> Result<Vec<R>, StoreError> {
    find_all(
        store,
        vec![Filter::Eq("identity_id", Value::text(identity.to_string()))],
        500,
    )
    .await
}
