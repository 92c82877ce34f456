//! `holdfast findings …`: posture findings, risk acceptance, risk scores.

use holdfast_client::Client;
use holdfast_posture::{AcceptFinding, FindingRecord};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::cli::FindingsCmd;
use crate::commands::{list, parse_ttl};
use crate::output::{record, table};

fn id_of(what: &str, raw: &str) -> anyhow::Result<Uuid> {
    Uuid::try_parse(raw).map_err(|_| anyhow::anyhow!("`{raw}` is not a {what} id (a UUID)"))
}

/// `--expires`: an RFC 3339 time, or a duration from now (`30d`, `12h`).
fn expiry(raw: &str) -> anyhow::Result<String> {
    if OffsetDateTime::parse(raw, &Rfc3339).is_ok() {
        return Ok(raw.to_string());
    }
    let secs = parse_ttl(raw).map_err(|_| {
        anyhow::anyhow!("--expires: `{raw}` is neither an RFC 3339 time nor a duration like 30d")
    })?;
    let at = i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::now_utc().checked_add(time::Duration::seconds(s)))
        .ok_or_else(|| anyhow::anyhow!("--expires: `{raw}` is too far ahead"))?;
    Ok(at.format(&Rfc3339)?)
}

fn print_finding(f: &FindingRecord) {
    println!(
        "{} [{}] {} — {}",
        f.title,
        f.severity.as_str(),
        f.state.as_str(),
        f.subject_label
    );
    println!("{}", f.explanation);
    println!(
        "rule {} · OWASP {} · NIST CSF 2.0 {}",
        f.rule,
        f.owasp.join(", "),
        f.csf.join(", ")
    );
    println!("fix: {}", f.fix);
    if let Some(a) = &f.acceptance {
        println!(
            "accepted by {} until {}: {}",
            a.approved_by, a.expires_at, a.reason
        );
    }
    println!("evidence:");
    for e in &f.evidence {
        println!("  {} — {}", e.record, e.detail);
    }
    println!("history:");
    for h in &f.history {
        println!(
            "  {} {} by {}{}",
            h.at,
            h.event,
            h.by,
            h.note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        );
    }
}

pub async fn findings(c: &Client, json: bool, cmd: FindingsCmd) -> anyhow::Result<()> {
    match cmd {
        FindingsCmd::List {
            state,
            rule,
            severity,
            owasp,
            csf,
            identity,
            page,
        } => {
            let filters = [
                ("state", state.as_deref()),
                ("rule", rule.as_deref()),
                ("severity", severity.as_deref()),
                ("owasp", owasp.as_deref()),
                ("csf", csf.as_deref()),
                ("identity", identity.as_deref()),
            ];
            list::<FindingRecord>(
                c,
                json,
                "/findings",
                &filters,
                &page,
                &["id", "severity", "state", "rule", "owasp", "subject_label"],
            )
            .await
        }
        FindingsCmd::Show { id } => {
            let f = c.finding(id_of("finding", &id)?).await?;
            if json {
                return record(true, &f);
            }
            print_finding(&f);
            Ok(())
        }
        FindingsCmd::Accept {
            id,
            reason,
            expires,
        } => {
            let f = c
                .accept_finding(
                    id_of("finding", &id)?,
                    &AcceptFinding {
                        reason: Some(reason),
                        expires_at: Some(expiry(&expires)?),
                    },
                )
                .await?;
            record(
                json,
                &serde_json::json!({"id": f.id, "state": f.state, "acceptance": f.acceptance}),
            )
        }
        FindingsCmd::Recompute => {
            let r = c.recompute_findings().await?;
            record(
                json,
                &serde_json::json!({
                    "identities": r.run.identities, "raised": r.run.raised,
                    "opened": r.run.opened, "reopened": r.run.reopened,
                    "resolved": r.run.resolved, "duration_ms": r.run.duration_ms,
                }),
            )
        }
        FindingsCmd::Summary => {
            let s = c.posture().await?;
            if json {
                return record(true, &s);
            }
            let Some(run) = &s.latest else {
                println!("no posture run yet: `holdfast findings recompute` starts one");
                return Ok(());
            };
            println!(
                "{} identities · {} findings raised ({} accepted) · last run {}",
                run.identities, run.raised, run.accepted, run.at
            );
            let mut rows = Vec::new();
            for item in holdfast_posture::OWASP_NHI {
                rows.push(serde_json::json!({
                    "owasp": item.full_id,
                    "title": item.title,
                    "raised": run.by_owasp.get(item.id).copied().unwrap_or(0),
                }));
            }
            table(false, &rows, None, &["owasp", "title", "raised"])?;
            println!("by severity: {:?}", run.by_severity);
            println!("trend (raised per day):");
            for d in &s.days {
                println!("  {} {}", d.at.date(), d.raised);
            }
            Ok(())
        }
        FindingsCmd::Risk { id } => {
            let r = c.identity_risk(id_of("identity", &id)?).await?;
            if json {
                return record(true, &r);
            }
            println!("risk {} / 100", r.score);
            table(false, &r.parts, None, &["name", "points", "max", "why"])
        }
        FindingsCmd::Catalog => {
            let cat = c.posture_catalog().await?;
            if json {
                return record(true, &cat);
            }
            let rules = cat
                .get("rules")
                .and_then(|r| r.as_array())
                .cloned()
                .unwrap_or_default();
            table(
                false,
                &rules,
                None,
                &["id", "severity", "owasp", "csf", "title"],
            )
        }
    }
}
