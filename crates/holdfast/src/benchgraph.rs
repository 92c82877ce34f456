//! `holdfast bench graph`: generate an estate (100k identities, 1M edges by default), import it
//! into a fresh store through the same planning code an API import uses, rebuild the graph from the
//! store, compute every blast radius, and time single blast-radius queries. Prints figures and
//! peak memory; asserts nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use holdfast_audit::{AuditEvent, Outcome};
use holdfast_core::IdentityKind;
use holdfast_discover::{Connector, DiscoveredIdentity, Discovery};
use holdfast_graph::NodeKind;
use holdfast_graph::synthetic::{Shape, estate};
use holdfast_store::Store;

use crate::serve::{Settings, load_signer, open_store};

pub(crate) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn event(action: &str, detail: serde_json::Value) -> AuditEvent {
    AuditEvent {
        time: time::OffsetDateTime::now_utc(),
        actor: "bench".into(),
        action: action.into(),
        target: Some("source:synthetic:bench".into()),
        outcome: Outcome::Success,
        source: None,
        request_id: None,
        detail,
    }
}

async fn import(
    store: &dyn Store,
    discovery: &Discovery,
) -> anyhow::Result<(Duration, Duration, bool)> {
    let t = Instant::now();
    let (changes, report) = holdfast_server::discovery::plan(
        store,
        Connector::Kubernetes,
        discovery,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    let planned = t.elapsed();
    let t = Instant::now();
    let n = changes.len();
    store
        .apply(
            changes,
            event("discovery.import", serde_json::json!({"changes": n})),
        )
        .await?;
    Ok((planned, t.elapsed(), report.changed))
}

pub async fn run(
    identities: usize,
    edges: usize,
    queries: usize,
    threads: Option<usize>,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let settings = Settings {
        data: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse()?,
        database_url: database_url.clone(),
        tls: None,
        insecure_http: false,
        unseal_key_file: None,
        rotators: Default::default(),
        monitor: Default::default(),
        posture: Default::default(),
        offboarding: Default::default(),
    };
    let signer = Arc::new(load_signer(dir.path())?);
    let store = open_store(&settings, signer).await?;
    let backend = store.backend();
    eprintln!(
        "bench graph: {identities} identities, {edges} edges, {backend} store, {threads} threads"
    );

    let t = Instant::now();
    let (nodes, edge_specs) = estate(Shape {
        identities,
        edges,
        seed: 7,
    });
    let generated = t.elapsed();
    let discovery = Discovery {
        source: "synthetic:bench".into(),
        identities: nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Identity)
            .map(|n| DiscoveredIdentity {
                key: n.key.clone(),
                external_id: n.key.clone(),
                name: n.label.clone(),
                kind: IdentityKind::ServiceAccount,
                source_kind: "synthetic".into(),
                system: n.system.clone().unwrap_or_default(),
                owner: None,
                purpose: None,
                environment: None,
                created_at: None,
                last_used_at: None,
                attributes: BTreeMap::new(),
            })
            .collect(),
        credentials: Vec::new(),
        nodes,
        edges: edge_specs,
        findings: Vec::new(),
        skipped: Vec::new(),
    };
    let (node_count, edge_count) = (discovery.nodes.len(), discovery.edges.len());

    eprintln!("importing …");
    let (plan_time, commit_time, _) = import(store.as_ref(), &discovery).await?;
    eprintln!("re-importing the same estate …");
    let (replan_time, recommit_time, rechanged) = import(store.as_ref(), &discovery).await?;
    drop(discovery);

    eprintln!("loading the graph from the store …");
    let cache = holdfast_server::discovery::GraphCache::default();
    let t = Instant::now();
    let graph = cache
        .get(store.as_ref())
        .await
        .map_err(|e| anyhow::anyhow!("loading the graph: {}", e.message))?;
    let load_time = t.elapsed();

    eprintln!("computing every blast radius …");
    let t = Instant::now();
    let all = graph.summarize_all(&[NodeKind::Identity, NodeKind::Credential], threads);
    let all_time = t.elapsed();
    let mgmt = all.iter().filter(|s| s.management_plane).count();
    let mean_reach =
        all.iter().map(|s| u64::from(s.reached)).sum::<u64>() as f64 / all.len().max(1) as f64;
    let max_reach = all.iter().map(|s| s.reached).max().unwrap_or(0);

    // Single queries: full blast radius with paths, over a spread of identities.
    let ids: Vec<_> = graph
        .nodes()
        .filter(|(_, n)| n.kind == NodeKind::Identity)
        .map(|(id, _)| id)
        .collect();
    let step = (ids.len() / queries.max(1)).max(1);
    let mut lat: Vec<Duration> = Vec::new();
    for id in ids.iter().step_by(step).take(queries) {
        let t = Instant::now();
        let r = graph.blast_radius(*id, 50);
        lat.push(t.elapsed());
        std::hint::black_box(r);
    }
    lat.sort();
    let pick = |p: f64| {
        lat.get(((lat.len().saturating_sub(1)) as f64 * p).round() as usize)
            .copied()
            .unwrap_or_default()
    };

    println!("backend                     {backend}");
    println!(
        "estate                      {identities} identities, {node_count} nodes, {edge_count} edges (generated in {})",
        secs(generated)
    );
    println!(
        "import (plan + commit)      {} + {} = {}",
        secs(plan_time),
        secs(commit_time),
        secs(plan_time + commit_time)
    );
    println!(
        "re-import, unchanged        {} + {} (changed: {rechanged})",
        secs(replan_time),
        secs(recommit_time)
    );
    println!("graph load + build          {}", secs(load_time));
    println!(
        "every blast radius          {} for {} subjects ({} management-plane; mean reach {mean_reach:.1} nodes, max {max_reach})",
        secs(all_time),
        all.len(),
        mgmt
    );
    println!(
        "full recompute              {} (load + build + every blast radius)",
        secs(load_time + all_time)
    );
    println!(
        "one blast radius (paths)    p50 {}  p99 {}  max {}  over {} identities",
        ms(pick(0.5)),
        ms(pick(0.99)),
        ms(pick(1.0)),
        lat.len()
    );
    match peak_rss_mib() {
        Some(m) => println!("peak memory (VmHWM)         {m:.0} MiB"),
        None => println!("peak memory (VmHWM)         n/a on this platform"),
    }
    Ok(())
}
