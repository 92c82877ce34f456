//! `holdfast bench`: identity create and list throughput through the real HTTP API, with the audit
//! log on, against a fresh embedded store (or PostgreSQL). Prints figures; asserts nothing.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use holdfast_client::Client;
use holdfast_core::IdentityKind;
use holdfast_types::{CreateIdentityRequest, CreateOwnerRequest};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::BenchArgs;
use crate::serve::{Settings, start};

use crate::benchsecrets::{ms, percentile};

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.command {
        Some(crate::cli::BenchCmd::Graph {
            identities,
            edges,
            queries,
            threads,
            database_url,
        }) => {
            return crate::benchgraph::run(identities, edges, queries, threads, database_url).await;
        }
        Some(crate::cli::BenchCmd::Secrets {
            count,
            concurrency,
            database_url,
        }) => return crate::benchsecrets::run(count, concurrency, database_url).await,
        Some(crate::cli::BenchCmd::Events {
            count,
            identities,
            http_count,
        }) => return crate::benchevents::run(count, identities, http_count).await,
        Some(crate::cli::BenchCmd::Posture {
            identities,
            edges,
            database_url,
        }) => return crate::benchposture::run(identities, edges, database_url).await,
        Some(crate::cli::BenchCmd::Authorize { count, entities }) => {
            return crate::benchauthorize::run(count, entities).await;
        }
        None => {}
    }
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let settings = Settings {
        data: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse()?,
        database_url: args.database_url.clone(),
        tls: None,
        insecure_http: false,
        unseal_key_file: None,
        rotators: Default::default(),
        monitor: Default::default(),
        posture: Default::default(),
        offboarding: Default::default(),
    };
    let running = start(&settings).await?;
    let anon = Client::new(&running.url, None, None)?;
    let init = anon
        .init()
        .await
        .context("initialising the bench server (is the database empty?)")?;
    let client = anon.with_token(Some(init.root_token));
    client
        .create_owner(&CreateOwnerRequest {
            name: Some("bench".into()),
            display_name: None,
            kind: None,
            contact: Some("bench@example.com".into()),
        })
        .await?;
    let backend = if args.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    eprintln!(
        "bench: {} identity creates, {} concurrent clients, {backend} store, audit on",
        args.count, args.concurrency
    );

    let bar = ProgressBar::new(args.count as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} creates ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let bar = Arc::new(bar);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = vec![];
    for _ in 0..args.concurrency.max(1) {
        let (client, next, bar, count) = (client.clone(), next.clone(), bar.clone(), args.count);
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let req = CreateIdentityRequest {
                    kind: Some(IdentityKind::ServiceAccount),
                    name: Some(format!("bench-{i:07}")),
                    owner: Some("bench".into()),
                    purpose: Some("benchmark".into()),
                    environment: Some(if i % 3 == 0 { "prod" } else { "dev" }.into()),
                    ..Default::default()
                };
                let t = Instant::now();
                client.create_identity(&req).await?;
                lat.push(t.elapsed());
                bar.inc(1);
            }
            Ok::<_, holdfast_client::ClientError>(lat)
        }));
    }
    let mut create_lat = vec![];
    for t in tasks {
        create_lat.extend(t.await??);
    }
    let create_wall = started.elapsed();
    bar.finish_and_clear();
    create_lat.sort();

    let started = Instant::now();
    let mut after: Option<String> = None;
    let mut listed = 0usize;
    let mut page_lat = vec![];
    loop {
        let t = Instant::now();
        let page = client
            .list_identities(vec![
                ("limit", Some("100".into())),
                ("after", after.clone()),
            ])
            .await?;
        page_lat.push(t.elapsed());
        listed += page.items.len();
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let list_wall = started.elapsed();
    page_lat.sort();

    let started = Instant::now();
    let filtered = client
        .list_identities(vec![
            ("environment", Some("prod".into())),
            ("limit", Some("500".into())),
        ])
        .await?;
    let filter_time = started.elapsed();

    let verify_started = Instant::now();
    let report = client.audit_verify(None).await?;
    let verify_time = verify_started.elapsed();

    let creates_per_s = create_lat.len() as f64 / create_wall.as_secs_f64();
    println!("backend                  {backend}");
    println!(
        "identity create          {creates_per_s:.0}/s over {} requests, {} clients; p50 {:.2} ms, p99 {:.2} ms",
        create_lat.len(),
        args.concurrency,
        ms(percentile(&create_lat, 0.5)),
        ms(percentile(&create_lat, 0.99))
    );
    println!(
        "identity list (paged)    {:.0} identities/s, {} pages of 100; page p50 {:.2} ms, p99 {:.2} ms",
        listed as f64 / list_wall.as_secs_f64(),
        page_lat.len(),
        ms(percentile(&page_lat, 0.5)),
        ms(percentile(&page_lat, 0.99))
    );
    println!(
        "identity list (filtered) {} of {listed} in {:.2} ms (environment=prod, limit 500)",
        filtered.items.len(),
        ms(filter_time)
    );
    println!(
        "audit verify             {} records in {:.0} ms ({})",
        report.records_checked,
        ms(verify_time),
        if report.ok { "ok" } else { "FAILED" }
    );
    running.stop().await
}
