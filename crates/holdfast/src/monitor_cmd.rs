//! `holdfast events ingest`, `holdfast alerts …`, `holdfast usage ID`.

use std::io::{IsTerminal as _, Read as _};

use anyhow::{Context as _, bail};
use holdfast_client::Client;
use holdfast_monitor::{Alert, IngestReport, LineError};
use indicatif::{ProgressBar, ProgressStyle};
use uuid::Uuid;

use crate::cli::{AlertsCmd, EventsCmd};
use crate::commands::list;
use crate::output::{record, table};

/// The largest single request the server takes (its import body limit).
const MAX_REQUEST: usize = 64 * 1024 * 1024;

fn read_input(file: &str) -> anyhow::Result<Vec<u8>> {
    if file == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(file).with_context(|| format!("cannot read `{file}`"))
    }
}

/// A CloudTrail file as delivered: one JSON document, sent whole.
fn is_whole_document(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return true;
    }
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let head = bytes
        .get(start..(start + 64).min(bytes.len()))
        .unwrap_or_default();
    let head = String::from_utf8_lossy(head);
    head.starts_with('{') && head.contains("\"Records\"") && {
        // Several delivered files one per line are JSON lines, not one document.
        let text = String::from_utf8_lossy(bytes);
        text.trim().lines().count() <= 1 || serde_json::from_str::<serde_json::Value>(&text).is_ok()
    }
}

pub async fn events(c: &Client, json: bool, cmd: EventsCmd) -> anyhow::Result<()> {
    let EventsCmd::Ingest {
        file,
        format,
        source,
        batch,
    } = cmd;
    if batch == 0 {
        bail!("`--batch` must be at least 1");
    }
    let bytes = read_input(&file)?;
    let chunks: Vec<(usize, Vec<u8>)> = if is_whole_document(&bytes) {
        if bytes.len() > MAX_REQUEST {
            bail!(
                "`{file}` is {} MiB; one log document may be at most 64 MiB (CloudTrail delivers files far smaller: send them one by one)",
                bytes.len() / 1024 / 1024
            );
        }
        vec![(0, bytes)]
    } else {
        let text = String::from_utf8(bytes)
            .map_err(|e| anyhow::anyhow!("`{file}` is not UTF-8 text: {e}"))?;
        let lines: Vec<&str> = text.lines().collect();
        lines
            .chunks(batch)
            .enumerate()
            .map(|(i, ls)| (i * batch, ls.join("\n").into_bytes()))
            .collect()
    };
    let bar = if std::io::stderr().is_terminal() && !json && chunks.len() > 1 {
        let b = ProgressBar::new(chunks.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} batches ({per_sec}) {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let mut total: Option<IngestReport> = None;
    let mut duplicates = 0usize;
    for (offset, body) in chunks {
        // A batch that met another replica's change to the same profile or alert (409) changed
        // nothing: send it again.
        let mut attempt = 0;
        let mut r = loop {
            match c
                .ingest_events(body.clone(), Some(&format), source.as_deref())
                .await
            {
                Err(e) if e.status() == Some(409) && attempt < 5 => attempt += 1,
                other => break other.with_context(|| format!("ingesting lines after {offset}"))?,
            }
        };
        for e in &mut r.errors {
            e.line += offset;
        }
        duplicates += usize::from(r.duplicate);
        total = Some(match total {
            None => r,
            Some(mut t) => {
                t.accepted += r.accepted;
                t.rejected += r.rejected;
                t.skipped += r.skipped;
                t.mapped += r.mapped;
                t.errors.extend(r.errors);
                for u in r.unknown_actors {
                    if !t.unknown_actors.contains(&u) {
                        t.unknown_actors.push(u);
                    }
                }
                t.alerts_opened.extend(r.alerts_opened);
                t.alerts_updated.extend(r.alerts_updated);
                t.responses.extend(r.responses);
                t
            }
        });
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let Some(t) = total else {
        bail!("`{file}` is empty");
    };
    if json {
        return record(true, &t);
    }
    println!(
        "accepted {} events ({} mapped to identities), rejected {} lines, skipped {}",
        t.accepted, t.mapped, t.rejected, t.skipped
    );
    for LineError {
        line,
        record,
        reason,
    } in t.errors.iter().take(20)
    {
        match record {
            Some(i) => eprintln!("  line {line}, record {i}: {reason}"),
            None => eprintln!("  line {line}: {reason}"),
        }
    }
    if t.errors.len() > 20 {
        eprintln!("  … and {} more", t.errors.len() - 20);
    }
    if !t.unknown_actors.is_empty() {
        println!("unknown actors: {}", t.unknown_actors.join(", "));
    }
    println!(
        "alerts: {} opened, {} updated",
        t.alerts_opened.len(),
        t.alerts_updated.len()
    );
    for r in &t.responses {
        println!("response: {r}");
    }
    if duplicates > 0 {
        println!(
            "{duplicates} batch(es) had been ingested before, byte for byte: counted above, not judged again"
        );
    }
    Ok(())
}

fn alert_id(raw: &str) -> anyhow::Result<Uuid> {
    Uuid::try_parse(raw).map_err(|_| anyhow::anyhow!("`{raw}` is not an alert id (a UUID)"))
}

pub async fn alerts(c: &Client, json: bool, cmd: AlertsCmd) -> anyhow::Result<()> {
    match cmd {
        AlertsCmd::List {
            state,
            severity,
            detection,
            identity,
            page,
        } => {
            let filters = [
                ("state", state.as_deref()),
                ("severity", severity.as_deref()),
                ("detection", detection.as_deref()),
                ("identity", identity.as_deref()),
            ];
            list::<Alert>(
                c,
                json,
                "/alerts",
                &filters,
                &page,
                &[
                    "id",
                    "severity",
                    "state",
                    "detection",
                    "actor",
                    "count",
                    "last_seen",
                ],
            )
            .await
        }
        AlertsCmd::Show { id } => {
            let a = c.alert(alert_id(&id)?).await?;
            if json {
                return record(true, &a);
            }
            println!("{} [{}] {}", a.title, a.severity.as_str(), a.state.as_str());
            println!("{}", a.summary);
            println!(
                "detection {} · ATT&CK {} · {} hits · actor {}",
                a.detection.id(),
                a.mitre.join(", "),
                a.count,
                a.actor
            );
            for r in &a.responses {
                println!("response: {} — {}", r.action, r.outcome);
            }
            let rows: Vec<serde_json::Value> = a
                .events
                .iter()
                .map(|e| {
                    serde_json::json!({"time": e.time.to_string(), "action": e.action, "resource": e.resource,
                        "source_ip": e.source_ip, "outcome": e.outcome})
                })
                .collect();
            table(
                false,
                &rows,
                None,
                &["time", "action", "resource", "source_ip", "outcome"],
            )
        }
        AlertsCmd::Ack { id, note } => {
            let a = c.update_alert(alert_id(&id)?, "ack", note).await?;
            record(
                json,
                &serde_json::json!({"id": a.id, "state": a.state, "by": a.acknowledged_by}),
            )
        }
        AlertsCmd::Close { id, note } => {
            let a = c.update_alert(alert_id(&id)?, "close", Some(note)).await?;
            record(
                json,
                &serde_json::json!({"id": a.id, "state": a.state, "by": a.closed_by}),
            )
        }
    }
}

pub async fn usage(c: &Client, json: bool, id: &str, window_days: i64) -> anyhow::Result<()> {
    let id = Uuid::try_parse(id).map_err(|_| anyhow::anyhow!("`{id}` is not an identity id"))?;
    let u = c.usage(id, Some(window_days)).await?;
    if json {
        return record(true, &u);
    }
    println!(
        "{}: {} events, {} refused; last used {}",
        u.name,
        u.events,
        u.denied,
        u.last_used_at
            .map_or("never".to_string(), |t| t.to_string())
    );
    println!(
        "baseline {} · networks {} · clients {}",
        if u.baseline_mature {
            "mature"
        } else {
            "learning"
        },
        u.networks.join(", "),
        u.clients.join(", ")
    );
    for (cred, at) in &u.credentials {
        println!("credential {cred} last used {at}");
    }
    println!(
        "\ngranted versus used over {} days ({} unused grants):",
        u.rightsizing.window_days,
        u.rightsizing.unused.len()
    );
    for line in &u.rightsizing.diff {
        println!("{line}");
    }
    if u.rightsizing.flavour != "none" {
        println!(
            "\nproposed {} policy:\n{}",
            u.rightsizing.flavour,
            serde_json::to_string_pretty(&u.rightsizing.proposed)?
        );
    }
    Ok(())
}
