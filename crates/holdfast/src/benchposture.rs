//! `holdfast bench posture`: generate an estate (100k identities with credentials, entitlements,
//! secrets and leaks, and a 1M-edge graph by default), assess it in memory, then store it in a
//! fresh store and time the server's recompute: load, assess, reconcile and write every finding
//! (cold), and the same again with nothing changed (warm). Prints figures and peak memory;
//! asserts nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use holdfast_audit::{AuditEvent, Outcome};
use holdfast_core::DiscoverySource;
use holdfast_graph::Graph;
use holdfast_graph::synthetic::{Shape, estate};
use holdfast_posture::{Estate, Settings};
use holdfast_store::{Change, GraphEdgeRecord, GraphNodeRecord, Store};

use crate::benchgraph::peak_rss_mib;
use crate::serve::{Settings as ServeSettings, load_signer, open_store};

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn event(n: usize) -> AuditEvent {
    AuditEvent {
        time: time::OffsetDateTime::now_utc(),
        actor: "bench".into(),
        action: "bench.load".into(),
        target: Some("posture".into()),
        outcome: Outcome::Success,
        source: None,
        request_id: None,
        detail: serde_json::json!({ "changes": n }),
    }
}

/// Writes `changes` in transactions of 20k.
async fn write(store: &dyn Store, changes: Vec<Change>) -> anyhow::Result<()> {
    let mut it = changes.into_iter().peekable();
    while it.peek().is_some() {
        let chunk: Vec<Change> = it.by_ref().take(20_000).collect();
        let n = chunk.len();
        store.apply(chunk, event(n)).await?;
    }
    Ok(())
}

pub async fn run(
    identities: usize,
    edges: usize,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let settings = ServeSettings {
        database_url,
        ..ServeSettings::scratch(dir.path())?
    };
    let signer = Arc::new(load_signer(dir.path())?);
    let store = open_store(&settings, signer).await?;
    let backend = store.backend();
    let now = time::OffsetDateTime::now_utc();
    eprintln!("bench posture: {identities} identities, {edges} edges, {backend} store");

    let t = Instant::now();
    let (nodes, edge_specs) = estate(Shape {
        identities,
        edges,
        seed: 7,
    });
    let inv = holdfast_posture::synthetic::inventory(identities, 7, now);
    let generated = t.elapsed();

    eprintln!("assessing in memory …");
    let t = Instant::now();
    let graph = Graph::build(nodes.clone(), edge_specs.clone())?;
    let built = t.elapsed();
    let t = Instant::now();
    let estate = Estate {
        identities: &inv.identities,
        credentials: &inv.credentials,
        entitlements: &inv.entitlements,
        owners: &inv.owners,
        systems: &inv.systems,
        leaks: &inv.leaks,
        secrets: &inv.secrets,
        sources: &[],
        profiles: &[],
        alerts: &[],
        graph: Some(&graph),
    };
    let assessment = holdfast_posture::assess(&estate, &Settings::default(), now);
    let assessed = t.elapsed();
    let mut by_rule: std::collections::BTreeMap<String, usize> = Default::default();
    for f in &assessment.findings {
        *by_rule.entry(f.rule.clone()).or_default() += 1;
    }
    let in_memory = assessment.findings.len();
    drop(assessment);
    drop(graph);

    eprintln!("storing the estate …");
    let t = Instant::now();
    let source = "synthetic:posture-bench";
    let mut changes: Vec<Change> = Vec::new();
    for n in nodes {
        changes.push(Change::insert(&GraphNodeRecord {
            id: uuid::Uuid::now_v7(),
            version: 1,
            source: source.into(),
            node: n,
        })?);
    }
    let mut seen = std::collections::HashSet::new();
    for e in edge_specs {
        if !seen.insert((e.from.clone(), e.to.clone(), e.kind)) {
            continue;
        }
        changes.push(Change::insert(&GraphEdgeRecord {
            id: uuid::Uuid::now_v7(),
            version: 1,
            source: source.into(),
            edge: e,
        })?);
    }
    changes.push(Change::insert(&DiscoverySource {
        id: uuid::Uuid::now_v7(),
        version: 1,
        source: source.into(),
        connector: "kubernetes".into(),
        digest: String::new(),
        identities: identities as u64,
        credentials: 0,
        nodes: 0,
        edges: 0,
        findings: Vec::new(),
        skipped: Vec::new(),
        first_imported_at: now,
        changed_at: now,
    })?);
    for r in &inv.owners {
        changes.push(Change::insert(r)?);
    }
    for r in &inv.systems {
        changes.push(Change::insert(r)?);
    }
    for r in &inv.identities {
        changes.push(Change::insert(r)?);
    }
    for r in &inv.credentials {
        changes.push(Change::insert(r)?);
    }
    for r in &inv.entitlements {
        changes.push(Change::insert(r)?);
    }
    for r in &inv.secrets {
        changes.push(Change::insert(r)?);
    }
    for r in &inv.leaks {
        changes.push(Change::insert(r)?);
    }
    let records = changes.len();
    write(store.as_ref(), changes).await?;
    let stored = t.elapsed();
    drop(inv);

    let cache = holdfast_server::discovery::GraphCache::default();
    let thresholds = Settings::default();
    eprintln!("recomputing (cold: every finding is new) …");
    let t = Instant::now();
    let (cold, _, cold_t) =
        holdfast_server::posture::assess_and_write(store.as_ref(), &cache, &thresholds, now, None)
            .await
            .map_err(|e| anyhow::anyhow!("recompute: {}", e.message))?;
    let cold_total = t.elapsed();
    eprintln!("recomputing (warm: nothing changed) …");
    let t = Instant::now();
    let (warm, _, warm_t) =
        holdfast_server::posture::assess_and_write(store.as_ref(), &cache, &thresholds, now, None)
            .await
            .map_err(|e| anyhow::anyhow!("recompute: {}", e.message))?;
    let warm_total = t.elapsed();

    println!("backend                     {backend}");
    println!(
        "estate                      {identities} identities, {records} records (generated in {}, stored in {})",
        secs(generated),
        secs(stored)
    );
    println!(
        "in memory                   graph build {} + assess {} → {in_memory} findings",
        secs(built),
        secs(assessed)
    );
    println!(
        "recompute, cold             {} (load {}, assess + reconcile {}, write {}) → {} findings opened",
        secs(cold_total),
        secs(cold_t.load),
        secs(cold_t.assess),
        secs(cold_t.write),
        cold.as_ref().map_or(0, |r| r.run.opened)
    );
    println!(
        "recompute, unchanged        {} (load {}, assess + reconcile {}) → changed: {}",
        secs(warm_total),
        secs(warm_t.load),
        secs(warm_t.assess),
        warm.is_some()
    );
    println!("findings by rule            {by_rule:?}");
    if let Some(mib) = peak_rss_mib() {
        println!("peak memory                 {mib:.0} MiB");
    }
    Ok(())
}
