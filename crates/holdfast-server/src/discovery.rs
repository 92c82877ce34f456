//! Discovery imports and the identity graph as the server keeps it.
//!
//! An import turns one connector run into one store transaction: the source's graph nodes and
//! edges are diffed against what the source reported last time (added, changed, removed), its
//! identities are upserted by `(source, external id)` with provenance per field, identities that
//! vanished from the source are marked `missing_since` (never deleted), credentials of known
//! identities are upserted with their copies as exposures, and the management-plane tier of every
//! identity in the graph is recomputed — all with one audit record. Re-importing the same export
//! writes nothing but that audit record.
//!
//! The graph served to queries is the union of every source's nodes and edges, rebuilt from the
//! store when a source changed (the cache is keyed by every source's version, so replicas sharing a
//! PostgreSQL see each other's imports).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use holdfast_core::{
    Credential, CredentialState, DiscoverySource, Exposure, Fingerprint, Identity, LifecycleState,
    Owner, Tier,
};
use holdfast_discover::{Connector, DiscoveredCredential, DiscoveredIdentity, Discovery};
use holdfast_graph::{EdgeKind, EdgeSpec, Graph, NodeSpec};
use holdfast_store::{
    Change, GraphEdgeRecord, GraphNodeRecord, Record, Store, StoreError, find_all,
};
use holdfast_types::ImportReport;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

/// Rows read per page when loading the graph.
const PAGE: u32 = 20_000;

/// The graph as last built, and the source versions it was built from.
#[derive(Debug, Default)]
pub struct GraphCache {
    inner: RwLock<Option<(String, Arc<Graph>)>>,
    /// One rebuild at a time: concurrent queries after an import wait for it instead of each
    /// loading the whole graph.
    rebuild: tokio::sync::Mutex<()>,
    /// One import at a time on this node, so imports plan against each other's results (across
    /// replicas the store's versions refuse a stale plan).
    pub imports: tokio::sync::Mutex<()>,
}

/// Builds a graph from stored rows, dropping edges whose ends are missing (rows read while an
/// import on another replica was committing).
pub fn build_lenient(
    nodes: Vec<NodeSpec>,
    edges: Vec<EdgeSpec>,
) -> Result<Graph, holdfast_graph::GraphError> {
    let keys: std::collections::HashSet<&str> = nodes.iter().map(|n| n.key.as_str()).collect();
    let edges: Vec<EdgeSpec> = edges
        .into_iter()
        .filter(|e| keys.contains(e.from.as_str()) && keys.contains(e.to.as_str()))
        .collect();
    drop(keys);
    Graph::build(nodes, edges)
}

/// A stamp of every source's version: equal stamps, equal graphs.
async fn stamp(store: &dyn Store) -> Result<String, StoreError> {
    let mut sources: Vec<DiscoverySource> = find_all(store, vec![], 1000).await?;
    sources.sort_by(|a, b| a.source.cmp(&b.source));
    Ok(sources
        .iter()
        .map(|s| format!("{}@{}", s.source, s.version))
        .collect::<Vec<_>>()
        .join(","))
}

/// Every stored node and edge, all sources.
pub async fn stored_specs(store: &dyn Store) -> Result<(Vec<NodeSpec>, Vec<EdgeSpec>), StoreError> {
    let nodes: Vec<GraphNodeRecord> = find_all(store, vec![], PAGE).await?;
    let edges: Vec<GraphEdgeRecord> = find_all(store, vec![], PAGE).await?;
    Ok((
        nodes.into_iter().map(|n| n.node).collect(),
        edges.into_iter().map(|e| e.edge).collect(),
    ))
}

impl GraphCache {
    /// The current graph, rebuilt from the store when any source changed since the last build.
    pub async fn get(&self, store: &dyn Store) -> Result<Arc<Graph>, crate::error::ApiError> {
        let cached = |stamp: &str| {
            self.inner.read().ok().and_then(|guard| {
                guard
                    .as_ref()
                    .filter(|(s, _)| s == stamp)
                    .map(|(_, g)| g.clone())
            })
        };
        let stamp = stamp(store).await?;
        if let Some(g) = cached(&stamp) {
            return Ok(g);
        }
        let _one = self.rebuild.lock().await;
        if let Some(g) = cached(&stamp) {
            return Ok(g);
        }
        let (nodes, edges) = stored_specs(store).await?;
        let graph = tokio::task::spawn_blocking(move || build_lenient(nodes, edges))
            .await
            .map_err(|e| crate::error::ApiError::internal("building the graph", e))?
            .map_err(|e| crate::error::ApiError::internal("building the graph", e))?;
        let graph = Arc::new(graph);
        if let Ok(mut guard) = self.inner.write() {
            *guard = Some((stamp, graph.clone()));
        }
        Ok(graph)
    }
}

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// The tier of a graph node, as the identity record stores it.
fn tier_of(graph: &Graph, key: &str) -> (Tier, Option<String>) {
    let Some(id) = graph.find(key) else {
        return (Tier::Standard, None);
    };
    let t = graph.tier(id);
    if !t.management_plane {
        return (Tier::Standard, None);
    }
    let mut reason = t
        .reason
        .unwrap_or_else(|| "reaches a management-plane capability".into());
    if !t.path.is_empty() {
        let hops: Vec<String> = t
            .path
            .iter()
            .map(|s| format!("{} `{}`", s.kind, s.to))
            .collect();
        reason = format!("{reason} — {}", hops.join(" → "));
    }
    if reason.chars().count() > 3900 {
        reason = reason.chars().take(3900).collect::<String>() + " …";
    }
    (Tier::ManagementPlane, Some(reason))
}

/// Finds an owner by the name a tag gives: exactly, then as a handle (`Platform Team` →
/// `platform-team`).
fn resolve_owner<'a>(owners: &'a HashMap<String, Owner>, claim: &str) -> Option<&'a Owner> {
    owners.get(claim).or_else(|| {
        let handle: String = claim
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| if c.is_whitespace() { '-' } else { c })
            .collect();
        owners.get(&handle)
    })
}

/// The identity record a discovered identity should be, given what is stored (if anything).
fn desired_identity(
    d: &DiscoveredIdentity,
    source: &str,
    existing: Option<&Identity>,
    owners: &HashMap<String, Owner>,
    tier: (Tier, Option<String>),
    now: OffsetDateTime,
) -> Identity {
    let mut next = existing.cloned().unwrap_or_else(|| Identity {
        id: Uuid::now_v7(),
        version: 0,
        kind: d.kind,
        name: d.name.clone(),
        source: source.to_string(),
        external_id: Some(d.external_id.clone()),
        owner_id: None,
        purpose: None,
        environment: None,
        systems: Vec::new(),
        tier: Tier::Standard,
        tier_reason: None,
        state: LifecycleState::Active,
        state_reason: None,
        labels: BTreeMap::new(),
        created_at: now,
        updated_at: now,
        expires_at: None,
        last_used_at: None,
        last_rotated_at: None,
        last_reviewed_at: None,
        graph_key: None,
        provenance: BTreeMap::new(),
        attributes: BTreeMap::new(),
        missing_since: None,
        tier_override: false,
    });
    // Fields a person set (a value without discovery provenance) are left as they are.
    let person_set = |field: &str, has_value: bool| {
        existing.is_some() && has_value && !next_provenance_has(existing, field)
    };
    let keep_owner = person_set("owner", next.owner_id.is_some());
    let mut owner_changed: Option<String> = None;
    let keep_purpose = person_set("purpose", next.purpose.is_some());
    let keep_environment = person_set("environment", next.environment.is_some());
    next.kind = d.kind;
    next.name = d.name.clone();
    next.graph_key = Some(d.key.clone());
    next.missing_since = None;
    let mut provenance = BTreeMap::new();
    next.labels.remove("holdfast.io/owner-claim");
    if !keep_owner && let Some(owner) = &d.owner {
        match resolve_owner(owners, &owner.value) {
            Some(o) => {
                if existing.is_some_and(|e| e.owner_id.is_some() && e.owner_id != Some(o.id))
                    && let Ok(at) = now.format(&time::format_description::well_known::Rfc3339)
                {
                    owner_changed = Some(at);
                }
                next.owner_id = Some(o.id);
                provenance.insert("owner".to_string(), owner.from.clone());
            }
            None => {
                // Named, but not a registered owner: keep the claim visible; it stays unowned
                // until someone registers the owner (the next import then resolves it).
                let claim: String = owner.value.chars().take(200).collect();
                next.labels
                    .insert("holdfast.io/owner-claim".to_string(), claim);
                provenance.insert("owner_claim".to_string(), owner.from.clone());
            }
        }
    }
    if !keep_purpose && let Some(p) = &d.purpose {
        next.purpose = Some(p.value.chars().take(3900).collect());
        provenance.insert("purpose".to_string(), p.from.clone());
    }
    if !keep_environment && let Some(e) = &d.environment {
        // Environments are handles: `Production` → `production`, `eu west` → `eu-west`.
        let handle: String = e
            .value
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .take(200)
            .collect();
        next.environment = Some(handle);
        provenance.insert("environment".to_string(), e.from.clone());
    }
    if let Some(t) = d
        .last_used_at
        .as_ref()
        .and_then(|t| parse_time(&t.value).map(|p| (p, t)))
    {
        next.last_used_at = Some(t.0);
        provenance.insert("last_used_at".to_string(), t.1.from.clone());
    }
    let mut attributes: BTreeMap<String, serde_json::Value> = d
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    for (k, v) in &d.attributes {
        provenance.insert(format!("attributes.{k}"), v.from.clone());
    }
    if let Some(c) = &d.created_at {
        attributes.insert(
            "created_at_source".into(),
            serde_json::Value::String(c.value.clone()),
        );
        provenance.insert("attributes.created_at_source".into(), c.from.clone());
    }
    attributes.insert(
        "source_kind".into(),
        serde_json::Value::String(d.source_kind.clone()),
    );
    // Facts Holdfast itself keeps on an identity (`holdfast.io/…`, such as when its owner changed)
    // survive a re-import.
    for (k, v) in &current_attributes_to_keep(&next) {
        attributes.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if let Some(at) = owner_changed {
        attributes.insert(
            crate::routes::identities::OWNER_CHANGED_AT.into(),
            serde_json::Value::String(at),
        );
    }
    next.attributes = attributes;
    next.provenance = provenance;
    if !next.tier_override {
        next.tier = tier.0;
        next.tier_reason = tier.1;
    }
    next
}

fn next_provenance_has(existing: Option<&Identity>, field: &str) -> bool {
    existing.is_some_and(|i| i.provenance.contains_key(field))
}

fn credential_state(active: bool) -> CredentialState {
    if active {
        CredentialState::Active
    } else {
        CredentialState::Revoked
    }
}

fn desired_credential(
    c: &DiscoveredCredential,
    identity_id: Uuid,
    connector: Connector,
    existing: Option<&Credential>,
    now: OffsetDateTime,
) -> Credential {
    let mut next = existing.cloned().unwrap_or_else(|| Credential {
        id: Uuid::now_v7(),
        version: 0,
        identity_id,
        kind: c.kind,
        name: String::new(),
        external_id: Some(c.external_id.clone()),
        fingerprint: None,
        state: CredentialState::Active,
        stored_in: None,
        exposures: Vec::new(),
        created_at: now,
        updated_at: now,
        issued_at: None,
        expires_at: None,
        last_rotated_at: None,
        last_used_at: None,
    });
    next.kind = c.kind;
    next.name = c.name.chars().take(200).collect();
    if let Some(fp) = c
        .fingerprint
        .as_deref()
        .and_then(|f| f.parse::<Fingerprint>().ok())
    {
        next.fingerprint = Some(fp);
    }
    next.state = credential_state(c.active);
    if let Some(t) = c.created_at.as_ref().and_then(|t| parse_time(&t.value)) {
        next.issued_at = Some(t);
        next.last_rotated_at = Some(t);
    }
    if let Some(t) = c.last_used_at.as_ref().and_then(|t| parse_time(&t.value)) {
        next.last_used_at = Some(t);
    }
    for loc in &c.locations {
        if !next.exposures.iter().any(|e| &e.location == loc) {
            next.exposures.push(Exposure {
                location: loc.clone(),
                source: connector.as_str().to_string(),
                found_at: now,
                detail: Some("recorded by discovery".to_string()),
            });
        }
    }
    next
}

/// Whether two records differ in anything but bookkeeping (version, update time).
fn differs<R: Record + Clone + PartialEq>(a: &R, b: &R, normalise: impl Fn(&mut R)) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    normalise(&mut a);
    normalise(&mut b);
    a != b
}

/// The digest of a discovery's content.
pub fn digest(d: &Discovery) -> String {
    let bytes = serde_json::to_vec(d).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Plans the import of `discovery`: the changes to apply (with the report of what they do).
pub async fn plan(
    store: &dyn Store,
    connector: Connector,
    discovery: &Discovery,
    now: OffsetDateTime,
) -> Result<(Vec<Change>, ImportReport), StoreError> {
    let source = discovery.source.clone();
    let mut report = ImportReport {
        source: source.clone(),
        connector: connector.as_str().to_string(),
        changed: false,
        identities_created: 0,
        identities_updated: 0,
        identities_missing: 0,
        identities_unchanged: 0,
        credentials_created: 0,
        credentials_updated: 0,
        nodes_added: 0,
        nodes_removed: 0,
        nodes_changed: 0,
        edges_added: 0,
        edges_removed: 0,
        edges_changed: 0,
        tiers_changed: 0,
        management_plane: 0,
        findings: discovery.findings.clone(),
        skipped: discovery.skipped.clone(),
    };
    let mut changes: Vec<Change> = Vec::new();

    // 1. Graph rows: this source's, to diff; the others', for the graph tiers are computed on.
    let all_nodes: Vec<GraphNodeRecord> = find_all(store, vec![], PAGE).await?;
    let all_edges: Vec<GraphEdgeRecord> = find_all(store, vec![], PAGE).await?;
    let mut graph_nodes: Vec<NodeSpec> =
        Vec::with_capacity(all_nodes.len() + discovery.nodes.len());
    let mut graph_edges: Vec<EdgeSpec> =
        Vec::with_capacity(all_edges.len() + discovery.edges.len());
    let mut old_nodes: HashMap<String, GraphNodeRecord> = HashMap::new();
    for n in all_nodes {
        if n.source == source {
            old_nodes.insert(n.node.key.clone(), n);
        } else {
            graph_nodes.push(n.node);
        }
    }
    let mut old_edges: HashMap<(String, String, EdgeKind), GraphEdgeRecord> = HashMap::new();
    for e in all_edges {
        if e.source == source {
            old_edges.insert((e.edge.from.clone(), e.edge.to.clone(), e.edge.kind), e);
        } else {
            graph_edges.push(e.edge);
        }
    }
    let mut seen_nodes: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for node in &discovery.nodes {
        if !seen_nodes.insert(node.key.as_str()) {
            continue; // a repeated key: the first one stands, as in the graph
        }
        match old_nodes.remove(&node.key) {
            Some(old) if old.node == *node => {}
            Some(old) => {
                let next = GraphNodeRecord {
                    version: old.version + 1,
                    node: node.clone(),
                    ..old
                };
                changes.push(Change::update(&next)?);
                report.nodes_changed += 1;
            }
            None => {
                changes.push(Change::insert(&GraphNodeRecord {
                    id: Uuid::now_v7(),
                    version: 1,
                    source: source.clone(),
                    node: node.clone(),
                })?);
                report.nodes_added += 1;
            }
        }
    }
    for old in old_nodes.values() {
        changes.push(Change::delete(old));
        report.nodes_removed += 1;
    }
    let mut seen_edges: std::collections::HashSet<(&str, &str, EdgeKind)> =
        std::collections::HashSet::new();
    for edge in &discovery.edges {
        if !seen_edges.insert((edge.from.as_str(), edge.to.as_str(), edge.kind)) {
            continue;
        }
        match old_edges.remove(&(edge.from.clone(), edge.to.clone(), edge.kind)) {
            Some(old) if old.edge == *edge => {}
            Some(old) => {
                let next = GraphEdgeRecord {
                    version: old.version + 1,
                    edge: edge.clone(),
                    ..old
                };
                changes.push(Change::update(&next)?);
                report.edges_changed += 1;
            }
            None => {
                changes.push(Change::insert(&GraphEdgeRecord {
                    id: Uuid::now_v7(),
                    version: 1,
                    source: source.clone(),
                    edge: edge.clone(),
                })?);
                report.edges_added += 1;
            }
        }
    }
    for old in old_edges.values() {
        changes.push(Change::delete(old));
        report.edges_removed += 1;
    }

    // 2. The graph with this source's new content, for tiers.
    graph_nodes.extend(discovery.nodes.iter().cloned());
    graph_edges.extend(discovery.edges.iter().cloned());
    let graph =
        build_lenient(graph_nodes, graph_edges).map_err(|e| StoreError::Corrupt(e.to_string()))?;

    // 3. Identities of this source, and every other identity whose tier may have moved.
    let owners: Vec<Owner> = find_all(store, vec![], 1000).await?;
    let owners: HashMap<String, Owner> = owners.into_iter().map(|o| (o.name.clone(), o)).collect();
    let all: Vec<Identity> = find_all(store, vec![], PAGE).await?;
    let mut mine: HashMap<String, Identity> = HashMap::new();
    let mut others: Vec<Identity> = Vec::new();
    for i in all {
        match (&i.external_id, i.source == source) {
            (Some(ext), true) => {
                mine.insert(ext.clone(), i);
            }
            _ => others.push(i),
        }
    }
    // Provenance alone (the same values read from a file with another name) is not a change.
    let normalise = |i: &mut Identity| {
        i.version = 0;
        i.updated_at = OffsetDateTime::UNIX_EPOCH;
        i.provenance.clear();
    };
    let mut key_to_id: HashMap<String, Uuid> = HashMap::new();
    for d in &discovery.identities {
        let existing = mine.remove(&d.external_id);
        if let Some(old) = &existing
            && !old.state.is_editable()
        {
            // Offboarded identities are history: discovery does not edit them.
            key_to_id.insert(d.key.clone(), old.id);
            report.identities_unchanged += 1;
            continue;
        }
        let tier = tier_of(&graph, &d.key);
        if tier.0 == Tier::ManagementPlane {
            report.management_plane += 1;
        }
        let mut next = desired_identity(d, &source, existing.as_ref(), &owners, tier, now);
        if let Err(e) = next.check() {
            let fields: Vec<String> = e
                .errors
                .iter()
                .map(|f| format!("{} {}", f.field, f.message))
                .collect();
            report.skipped.push(format!(
                "identity `{}` was not stored: {}",
                d.external_id.chars().take(200).collect::<String>(),
                fields.join("; ")
            ));
            continue;
        }
        key_to_id.insert(d.key.clone(), next.id);
        match existing {
            None => {
                next.version = 1;
                changes.push(Change::insert(&next)?);
                report.identities_created += 1;
            }
            Some(old) => {
                if differs(&old, &next, normalise) {
                    if old.tier != next.tier {
                        report.tiers_changed += 1;
                    }
                    next.version = old.version + 1;
                    next.updated_at = now;
                    changes.push(Change::update(&next)?);
                    report.identities_updated += 1;
                } else {
                    report.identities_unchanged += 1;
                }
            }
        }
    }
    // Vanished from the source: kept, marked missing.
    for old in mine.into_values() {
        if old.missing_since.is_none() && old.state.is_editable() {
            let mut next = old.clone();
            next.missing_since = Some(now);
            next.version = old.version + 1;
            next.updated_at = now;
            changes.push(Change::update(&next)?);
            report.identities_missing += 1;
        }
    }
    // Other sources' identities whose tier this import moved.
    for old in others {
        let Some(key) = old.graph_key.as_deref() else {
            continue;
        };
        if old.tier_override || !old.state.is_editable() {
            continue;
        }
        let (tier, reason) = tier_of(&graph, key);
        if tier != old.tier || reason != old.tier_reason {
            let mut next = old.clone();
            next.tier = tier;
            next.tier_reason = reason;
            next.version = old.version + 1;
            next.updated_at = now;
            if next.check().is_ok() {
                changes.push(Change::update(&next)?);
                report.tiers_changed += 1;
            }
        }
    }

    // 4. Credentials of identities this import knows.
    let stored: Vec<Credential> = find_all(store, vec![], PAGE).await?;
    let stored: HashMap<(Uuid, String), Credential> = stored
        .into_iter()
        .filter_map(|c| Some(((c.identity_id, c.external_id.clone()?), c)))
        .collect();
    let normalise_c = |c: &mut Credential| {
        c.version = 0;
        c.updated_at = OffsetDateTime::UNIX_EPOCH;
        for e in &mut c.exposures {
            e.found_at = OffsetDateTime::UNIX_EPOCH;
        }
    };
    for c in &discovery.credentials {
        let Some(identity_id) = c.identity.as_ref().and_then(|k| key_to_id.get(k)).copied() else {
            continue;
        };
        let existing = stored.get(&(identity_id, c.external_id.clone()));
        let mut next = desired_credential(c, identity_id, connector, existing, now);
        if let Err(e) = next.check() {
            let fields: Vec<String> = e
                .errors
                .iter()
                .map(|f| format!("{} {}", f.field, f.message))
                .collect();
            report.skipped.push(format!(
                "credential `{}` was not stored: {}",
                c.external_id.chars().take(200).collect::<String>(),
                fields.join("; ")
            ));
            continue;
        }
        match existing {
            None => {
                next.version = 1;
                changes.push(Change::insert(&next)?);
                report.credentials_created += 1;
            }
            Some(old) if differs(old, &next, normalise_c) => {
                next.version = old.version + 1;
                next.updated_at = now;
                changes.push(Change::update(&next)?);
                report.credentials_updated += 1;
            }
            Some(_) => {}
        }
    }

    // 5. The source record.
    let digest = digest(discovery);
    let existing: Option<DiscoverySource> =
        holdfast_store::get_by(store, "source", &source).await?;
    let counts = |s: &mut DiscoverySource| {
        s.identities = discovery.identities.len() as u64;
        s.credentials = discovery.credentials.len() as u64;
        s.nodes = discovery.nodes.len() as u64;
        s.edges = discovery.edges.len() as u64;
        s.findings = discovery.findings.clone();
        s.skipped = report.skipped.clone();
    };
    match existing {
        None => {
            let mut s = DiscoverySource {
                id: Uuid::now_v7(),
                version: 1,
                source: source.clone(),
                connector: connector.as_str().to_string(),
                digest,
                identities: 0,
                credentials: 0,
                nodes: 0,
                edges: 0,
                findings: Vec::new(),
                skipped: Vec::new(),
                first_imported_at: now,
                changed_at: now,
            };
            counts(&mut s);
            changes.push(Change::insert(&s)?);
        }
        Some(old) if old.digest != digest || !changes.is_empty() => {
            let mut s = old.clone();
            s.version = old.version + 1;
            s.digest = digest;
            s.changed_at = now;
            counts(&mut s);
            changes.push(Change::update(&s)?);
        }
        Some(_) => {}
    }
    report.changed = !changes.is_empty();
    Ok((changes, report))
}

fn current_attributes_to_keep(i: &Identity) -> Vec<(String, serde_json::Value)> {
    i.attributes
        .iter()
        .filter(|(k, _)| k.starts_with("holdfast.io/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
