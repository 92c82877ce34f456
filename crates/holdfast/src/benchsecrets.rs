//! `holdfast bench secrets`: secret writes and reads through the real HTTP API (encryption, a
//! hash-chained signed audit record per write and per read, the read recorded on the secret),
//! beside the raw rate of the same store applying one audited insert at a time — printed as a
//! ratio, so the cost of the vault path over the store is visible. Prints figures; asserts nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use holdfast_audit::{AuditEvent, Outcome};
use holdfast_client::Client;
use holdfast_store::{Change, Store};
use holdfast_types::PutSecretRequest;

use crate::serve::{Settings, load_signer, open_store, start};

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len().max(1) as f64 - 1.0) * p).round() as usize;
    sorted.get(idx).copied().unwrap_or_default()
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `count` calls of `op` on `concurrency` tasks; returns wall time and sorted latencies.
pub(crate) async fn drive<F, Fut>(
    count: usize,
    concurrency: usize,
    op: F,
) -> anyhow::Result<(Duration, Vec<Duration>)>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (op, next) = (op.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let t = Instant::now();
                op(i).await?;
                lat.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let wall = started.elapsed();
    all.sort();
    Ok((wall, all))
}

fn event(i: usize) -> AuditEvent {
    AuditEvent {
        time: time::OffsetDateTime::now_utc(),
        actor: "bench".into(),
        action: "bench.insert".into(),
        target: Some(format!("owner:raw-{i}")),
        outcome: Outcome::Success,
        source: None,
        request_id: None,
        detail: serde_json::json!({}),
    }
}

pub async fn run(
    count: usize,
    concurrency: usize,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    // The raw rate: the same backend, one audited insert per transaction, no HTTP, no crypto.
    let raw_dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let raw_settings = Settings {
        data: raw_dir.path().to_path_buf(),
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
    let raw_store: Arc<dyn Store> =
        open_store(&raw_settings, Arc::new(load_signer(raw_dir.path())?)).await?;
    let backend = raw_store.backend();
    eprintln!(
        "bench secrets: {count} writes and {count} reads, {concurrency} clients, {backend} store, audit on"
    );
    let now = time::OffsetDateTime::now_utc();
    let store = raw_store.clone();
    let (raw_wall, raw_lat) = drive(count, concurrency, move |i| {
        let store = store.clone();
        async move {
            let owner = holdfast_core::Owner {
                id: uuid::Uuid::now_v7(),
                version: 1,
                name: format!("raw-{i}"),
                display_name: None,
                kind: holdfast_core::OwnerKind::Team,
                contact: "bench@example.com".into(),
                active: true,
                created_at: now,
                updated_at: now,
            };
            store.apply(vec![Change::insert(&owner)?], event(i)).await?;
            Ok(())
        }
    })
    .await?;
    drop(raw_store);

    // The vault path, through the HTTP API, on the same backend (the same PostgreSQL database,
    // which the raw pass left uninitialised; or a fresh embedded store).
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let settings = Settings {
        data: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse()?,
        database_url,
        tls: None,
        insecure_http: false,
        unseal_key_file: Some(dir.path().join("unseal.key")),
        rotators: Default::default(),
        monitor: Default::default(),
        posture: Default::default(),
        offboarding: Default::default(),
    };
    let running = start(&settings).await?;
    let anon = Client::new(&running.url, None, None)?;
    let init = anon.init().await.context("initialising the bench server")?;
    let client = anon.with_token(Some(init.root_token));
    let c = client.clone();
    let (write_wall, write_lat) = drive(count, concurrency, move |i| {
        let c = c.clone();
        async move {
            let req = PutSecretRequest {
                value: Some(format!(
                    "bench-value-{i:08}-0123456789abcdef0123456789abcdef"
                )),
                ..Default::default()
            };
            c.put_secret(&format!("bench/app-{}/secret-{i}", i % 50), &req)
                .await?;
            Ok(())
        }
    })
    .await?;
    let c = client.clone();
    let (read_wall, read_lat) = drive(count, concurrency, move |i| {
        let c = c.clone();
        async move {
            c.get_secret(&format!("bench/app-{}/secret-{i}", i % 50), None)
                .await?;
            Ok(())
        }
    })
    .await?;
    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    let (raw, writes, reads) = (
        rate(raw_lat.len(), raw_wall),
        rate(write_lat.len(), write_wall),
        rate(read_lat.len(), read_wall),
    );
    println!("backend                  {backend}");
    println!(
        "raw store insert         {raw:.0}/s, one audited insert per transaction; p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&raw_lat, 0.5)),
        ms(percentile(&raw_lat, 0.99))
    );
    println!(
        "secret write (HTTP)      {writes:.0}/s; p50 {:.2} ms, p99 {:.2} ms; {:.2}× the raw insert rate",
        ms(percentile(&write_lat, 0.5)),
        ms(percentile(&write_lat, 0.99)),
        writes / raw
    );
    println!(
        "secret read (HTTP)       {reads:.0}/s (each read audited and recorded); p50 {:.2} ms, p99 {:.2} ms; {:.2}× the raw insert rate",
        ms(percentile(&read_lat, 0.5)),
        ms(percentile(&read_lat, 0.99)),
        reads / raw
    );
    running.stop().await
}
