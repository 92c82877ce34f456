//! `holdfast bench events`: generates CloudTrail records for an estate (the documented record
//! shape, each identity with its own networks, clients, hours and actions, plus attacks mixed in),
//! then measures (1) parsing + detection on one core, in batches as the server takes them, and
//! (2) the whole ingest path through `POST /v1/events` into a fresh embedded store (parse, map,
//! judge, store the batch, profiles and alerts with an audit record). Prints events per second and
//! peak memory; asserts nothing.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Context as _;
use holdfast_client::Client;
use holdfast_monitor::synthetic::{self, Rng};
use holdfast_monitor::{Config, Format, Profile, Subject, observe, parse};

use crate::benchgraph::peak_rss_mib;
use crate::serve::{Settings, start};

const BATCH: usize = 20_000;
/// 2026-11-02T00:00:00Z.
const START: i64 = 1_793_577_600;

/// `count` records as JSON lines over as many days as it takes, about 30 calls per identity a day.
fn generate(count: usize, identities: usize) -> Vec<String> {
    let actors = synthetic::estate(identities.max(1), 7);
    let mut rng = Rng::new(11);
    let per_day = actors.len() * 30;
    let days = count.div_ceil(per_day).max(1);
    let mut out = Vec::with_capacity(count);
    for d in 0..days {
        for mut r in synthetic::ordinary_day(&actors, START + d as i64 * 86_400, 30, &mut rng) {
            if out.len() >= count {
                break;
            }
            // Once baselines are mature, one call in 500 comes from somewhere new.
            if d >= 8
                && out.len() % 500 == 0
                && let Some(obj) = r.as_object_mut()
            {
                obj.insert(
                    "sourceIPAddress".into(),
                    format!("192.0.{}.{}", rng.below(250), 1 + rng.below(250)).into(),
                );
            }
            out.push(r.to_string());
        }
    }
    out
}

pub async fn run(count: usize, identities: usize, http_count: usize) -> anyhow::Result<()> {
    eprintln!("bench events: generating {count} CloudTrail records for {identities} identities");
    let t = Instant::now();
    let lines = generate(count, identities);
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    println!(
        "generated                   {} records, {:.0} MiB, in {:.1} s",
        lines.len(),
        bytes as f64 / 1024.0 / 1024.0,
        t.elapsed().as_secs_f64()
    );
    let batches: Vec<String> = lines.chunks(BATCH).map(|c| c.join("\n")).collect();
    drop(lines);
    let before = peak_rss_mib().unwrap_or(0.0);

    // (1) Parse + detect on one core.
    let cfg = Config::default();
    let mut profiles: HashMap<String, Profile> = HashMap::new();
    let subject = Subject {
        identity: Some("bench".into()),
        tier: Some("standard".into()),
        state: Some("active".into()),
        ..Default::default()
    };
    let (mut events, mut hits, mut parse_time) = (0usize, 0usize, 0.0f64);
    let t = Instant::now();
    for b in &batches {
        let p0 = Instant::now();
        let parsed = parse(b.as_bytes(), Format::Cloudtrail).map_err(anyhow::Error::msg)?;
        parse_time += p0.elapsed().as_secs_f64();
        for ev in &parsed.events {
            let key = ev.actor.principal.as_deref().unwrap_or("");
            let profile = match profiles.get_mut(key) {
                Some(p) => p,
                None => profiles.entry(key.to_string()).or_default(),
            };
            hits += observe(profile, &subject, key, ev, &cfg).len();
        }
        events += parsed.events.len();
    }
    let secs = t.elapsed().as_secs_f64();
    let profile_bytes: usize = profiles
        .values()
        .map(|p| serde_json::to_vec(p).map(|v| v.len()).unwrap_or(0))
        .sum();
    println!(
        "parse + detect, 1 core      {:.0} events/s ({events} events in {secs:.2} s; parsing {:.0}% of it); {hits} hits",
        events as f64 / secs,
        parse_time / secs * 100.0
    );
    println!(
        "baselines                   {} profiles, {:.1} MiB as stored JSON",
        profiles.len(),
        profile_bytes as f64 / 1024.0 / 1024.0
    );
    if let Some(m) = peak_rss_mib() {
        println!(
            "peak memory (VmHWM)         {m:.0} MiB ({before:.0} MiB of it the generated input)"
        );
    }
    drop(profiles);

    // (2) The whole ingest path through the API.
    if http_count == 0 {
        return Ok(());
    }
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let settings = Settings::scratch(dir.path())?;
    let running = start(&settings).await?;
    let anon = Client::new(&running.url, None, None)?;
    let init = anon.init().await.context("initialising the bench server")?;
    let client = anon.with_token(Some(init.root_token));
    let mut sent = 0usize;
    let mut alerts = 0usize;
    let t = Instant::now();
    for b in batches.iter().take(http_count.div_ceil(BATCH)) {
        let r = client
            .ingest_events(b.clone().into_bytes(), Some("cloudtrail"), None)
            .await?;
        sent += r.accepted;
        alerts += r.alerts_opened.len();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "POST /v1/events, sqlite     {:.0} events/s ({sent} events in {secs:.2} s, batches of {BATCH}, stored with profiles and alerts, audited); {alerts} alerts opened",
        sent as f64 / secs
    );
    if let Some(m) = peak_rss_mib() {
        println!(
            "peak memory (VmHWM)         {m:.0} MiB (client, server and input in one process)"
        );
    }
    Ok(())
}
