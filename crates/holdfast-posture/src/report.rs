//! The evidence report: what Holdfast knows, in one document an auditor can take away. The server
//! gathers a [`Report`]; this module renders it as JSON (the report itself), as one self-contained
//! HTML file with charts drawn in inline SVG (no script, no network), and as an OSCAL 1.2
//! assessment-results document in which every NIST CSF 2.0 outcome Holdfast gives evidence for is
//! a finding, satisfied or not, with its observations.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::catalog::{CSF_OUTCOMES, OWASP_NHI};

/// The OSCAL release whose assessment-results model the document follows.
pub const OSCAL_VERSION: &str = "1.2.3";
use crate::stored::{FindingRecord, PostureRun};

/// Counts of the inventory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InventoryCounts {
    pub identities: u64,
    pub by_kind: BTreeMap<String, u64>,
    pub by_tier: BTreeMap<String, u64>,
    pub by_source: BTreeMap<String, u64>,
    pub by_state: BTreeMap<String, u64>,
    pub credentials: u64,
    pub credentials_active: u64,
    pub owners: u64,
    pub owners_departed: u64,
    pub systems: u64,
    pub leaks: u64,
    pub vault_secrets: u64,
}

/// Where access requests, reviews and offboardings stand.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Workflows {
    pub requests_pending: u64,
    pub leases_active: u64,
    pub breakglass_reviews_open: u64,
    pub review_campaigns_open: u64,
    pub review_items_pending: u64,
    pub review_items_missed: u64,
    pub offboardings_running: u64,
    pub offboardings_waiting: u64,
    pub offboardings_complete: u64,
    pub offboardings_copies_remain: u64,
    pub alerts_open: BTreeMap<String, u64>,
}

/// The audit chain's verification, as the report states it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditStatus {
    pub ok: bool,
    pub records_checked: u64,
    pub head_seq: u64,
    pub problem: Option<String>,
    pub keys: Vec<String>,
}

/// One CSF 2.0 outcome with what stands behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsfEvidence {
    pub id: String,
    pub function: String,
    pub category: String,
    pub outcome: String,
    /// What Holdfast does towards it.
    pub controls: String,
    /// Facts from this installation.
    pub evidence: Vec<String>,
    /// Raised (open, not accepted) findings mapped to it.
    pub open_findings: u64,
    /// Satisfied when no open finding of high or critical severity maps to it and its evidence holds.
    pub satisfied: bool,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub generated_by: String,
    pub version: String,
    pub inventory: InventoryCounts,
    /// Raised findings per OWASP item, per severity.
    pub owasp: BTreeMap<String, BTreeMap<String, u64>>,
    pub severity: BTreeMap<String, u64>,
    pub accepted: u64,
    /// One run per day, oldest first.
    pub trend: Vec<PostureRun>,
    /// The most severe raised findings (at most 100).
    pub top_findings: Vec<FindingRecord>,
    pub csf: Vec<CsfEvidence>,
    pub workflows: Workflows,
    pub audit: AuditStatus,
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn time_text(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// A horizontal bar chart in inline SVG.
fn bars(id: &str, title: &str, rows: &[(String, u64)]) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let h = 22 * rows.len().max(1) + 10;
    let mut s = format!(
        "<svg id=\"{id}\" class=\"chart\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 640 {h}\" width=\"640\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(title)
    );
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = 5 + i * 22;
        let w = (*v as f64 / max as f64 * 290.0).round() as u64;
        let short: String = if label.chars().count() > 44 {
            label.chars().take(43).chain(std::iter::once('…')).collect()
        } else {
            label.clone()
        };
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"12\"><title>{}</title>{}</text><rect x=\"290\" y=\"{y}\" width=\"{w}\" height=\"16\" fill=\"#3b6ea5\"/><text x=\"{}\" y=\"{}\" font-size=\"12\">{v}</text>",
            y + 12,
            esc(label),
            esc(&short),
            295 + w,
            y + 12
        );
    }
    s.push_str("</svg>");
    s
}

/// A line of daily totals in inline SVG.
fn trend_chart(runs: &[PostureRun]) -> String {
    let max = runs.iter().map(|r| r.raised).max().unwrap_or(0).max(1);
    let n = runs.len().max(1);
    // Each day's position, computed once for the line and its points.
    let at: Vec<(f64, f64, &PostureRun)> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let x = if n == 1 {
                320.0
            } else {
                20.0 + 600.0 * i as f64 / (n - 1) as f64
            };
            (x, 150.0 - 130.0 * r.raised as f64 / max as f64, r)
        })
        .collect();
    let mut points = String::new();
    for (x, y, _) in &at {
        let _ = write!(points, "{x:.1},{y:.1} ");
    }
    let mut s = format!(
        "<svg id=\"chart-trend\" class=\"chart\" role=\"img\" aria-label=\"raised findings per day\" viewBox=\"0 0 640 170\" width=\"640\" height=\"170\" xmlns=\"http://www.w3.org/2000/svg\"><polyline fill=\"none\" stroke=\"#b5402a\" stroke-width=\"2\" points=\"{}\"/>",
        points.trim()
    );
    for (x, y, r) in &at {
        let _ = write!(
            s,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"#b5402a\"><title>{} {}</title></circle>",
            r.at.date(),
            r.raised
        );
    }
    let _ = write!(
        s,
        "<text x=\"20\" y=\"166\" font-size=\"11\">{}</text><text x=\"540\" y=\"166\" font-size=\"11\">{}</text></svg>",
        runs.first()
            .map(|r| r.at.date().to_string())
            .unwrap_or_default(),
        runs.last()
            .map(|r| r.at.date().to_string())
            .unwrap_or_default()
    );
    s
}

/// Raised findings per OWASP item on each of the last 14 days with a run.
fn owasp_trend(runs: &[PostureRun]) -> String {
    let recent = runs
        .get(runs.len().saturating_sub(14)..)
        .unwrap_or_default();
    let mut head: Vec<String> = vec!["item".into()];
    head.extend(recent.iter().map(|r| r.at.date().to_string()));
    let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = OWASP_NHI
        .iter()
        .map(|o| {
            let mut row = vec![o.id.to_string()];
            row.extend(
                recent
                    .iter()
                    .map(|r| r.by_owasp.get(o.id).copied().unwrap_or(0).to_string()),
            );
            row
        })
        .collect();
    table(&head_refs, &rows)
}

fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{}</td>", esc(c));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

impl Report {
    /// One self-contained HTML file: inline CSS and SVG, no script, nothing fetched.
    pub fn to_html(&self) -> String {
        let mut h = String::new();
        let _ = write!(
            h,
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Holdfast evidence report {}</title>\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
<style>body{{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1d2430}}h1{{margin-bottom:0}}\
section{{margin:2rem 0;border-top:1px solid #ccd}}table{{border-collapse:collapse;width:100%;font-size:.85rem}}\
th,td{{border:1px solid #dde;padding:.25rem .4rem;text-align:left;vertical-align:top}}th{{background:#f0f3f8}}\
.ok{{color:#17723a;font-weight:bold}}.bad{{color:#b5402a;font-weight:bold}}.kpi{{display:inline-block;margin:.5rem 1.5rem .5rem 0}}\
.kpi b{{display:block;font-size:1.6rem}}</style></head><body>",
            esc(&time_text(self.generated_at))
        );
        let _ = write!(
            h,
            "<header><h1>Holdfast evidence report</h1><p>Generated {} by {} · Holdfast {}</p></header>",
            esc(&time_text(self.generated_at)),
            esc(&self.generated_by),
            esc(&self.version)
        );
        // Summary.
        let raised: u64 = self.severity.values().sum();
        let _ = write!(
            h,
            "<section id=\"summary\"><h2>Summary</h2><div class=\"kpi\"><b>{}</b>identities</div><div class=\"kpi\"><b>{}</b>findings raised</div>\
<div class=\"kpi\"><b>{}</b>critical</div><div class=\"kpi\"><b>{}</b>accepted risks</div><div class=\"kpi\"><b class=\"{}\">{}</b>audit chain</div></section>",
            self.inventory.identities,
            raised,
            self.severity.get("critical").copied().unwrap_or(0),
            self.accepted,
            if self.audit.ok { "ok" } else { "bad" },
            if self.audit.ok { "verified" } else { "FAILED" }
        );
        // Inventory.
        let kinds: Vec<(String, u64)> = self
            .inventory
            .by_kind
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let tiers: Vec<(String, u64)> = self
            .inventory
            .by_tier
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let sources: Vec<Vec<String>> = self
            .inventory
            .by_source
            .iter()
            .map(|(k, v)| vec![k.clone(), v.to_string()])
            .collect();
        let i = &self.inventory;
        let _ = write!(
            h,
            "<section id=\"inventory\"><h2>Inventory</h2><p>{} identities ({} active credentials of {}), {} owners ({} departed), {} systems, {} vault secrets, {} unclaimed leaks.</p>\
<h3>By kind</h3>{}<h3>By tier</h3>{}<h3>By source</h3>{}</section>",
            i.identities,
            i.credentials_active,
            i.credentials,
            i.owners,
            i.owners_departed,
            i.systems,
            i.vault_secrets,
            i.leaks,
            bars("chart-kinds", "identities by kind", &kinds),
            bars("chart-tiers", "identities by tier", &tiers),
            table(&["source", "identities"], &sources)
        );
        // Findings by OWASP item.
        let owasp_rows: Vec<(String, u64)> = OWASP_NHI
            .iter()
            .map(|o| {
                (
                    format!("{} {}", o.id, o.title),
                    self.owasp.get(o.id).map_or(0, |m| m.values().sum()),
                )
            })
            .collect();
        let owasp_table: Vec<Vec<String>> = OWASP_NHI
            .iter()
            .map(|o| {
                let m = self.owasp.get(o.id);
                let get = |s: &str| m.and_then(|m| m.get(s)).copied().unwrap_or(0).to_string();
                vec![
                    o.full_id.to_string(),
                    o.title.to_string(),
                    get("critical"),
                    get("high"),
                    get("medium"),
                    get("low"),
                ]
            })
            .collect();
        let _ = write!(
            h,
            "<section id=\"findings\"><h2>Findings by OWASP Non-Human Identities Top 10 (2025)</h2>{}{}<h3>Trend</h3>{}<h3>Trend by OWASP item</h3>{}<h3>Most severe</h3>{}</section>",
            bars("chart-owasp", "raised findings by OWASP item", &owasp_rows),
            table(
                &["item", "title", "critical", "high", "medium", "low"],
                &owasp_table
            ),
            trend_chart(&self.trend),
            owasp_trend(&self.trend),
            table(
                &["severity", "rule", "subject", "OWASP", "CSF 2.0", "since"],
                &self
                    .top_findings
                    .iter()
                    .map(|f| vec![
                        f.severity.as_str().to_string(),
                        f.title.clone(),
                        f.subject_label.clone(),
                        f.owasp.join(", "),
                        f.csf.join(", "),
                        f.first_seen.date().to_string(),
                    ])
                    .collect::<Vec<_>>()
            )
        );
        // CSF outcomes.
        let csf_rows: Vec<Vec<String>> = self
            .csf
            .iter()
            .map(|c| {
                vec![
                    c.id.clone(),
                    c.outcome.clone(),
                    c.controls.clone(),
                    c.evidence.join("; "),
                    c.open_findings.to_string(),
                    if c.satisfied {
                        "satisfied"
                    } else {
                        "not satisfied"
                    }
                    .to_string(),
                ]
            })
            .collect();
        let _ = write!(
            h,
            "<section id=\"csf\"><h2>NIST CSF 2.0 outcomes</h2>{}</section>",
            table(
                &[
                    "outcome",
                    "text",
                    "Holdfast controls",
                    "evidence",
                    "open findings",
                    "status"
                ],
                &csf_rows
            )
        );
        // Workflows.
        let w = &self.workflows;
        let _ = write!(
            h,
            "<section id=\"workflows\"><h2>Access requests, reviews and offboarding</h2>{}</section>",
            table(
                &["what", "count"],
                &[
                    vec![
                        "access requests pending".into(),
                        w.requests_pending.to_string()
                    ],
                    vec!["leases active".into(), w.leases_active.to_string()],
                    vec![
                        "break-glass reviews open".into(),
                        w.breakglass_reviews_open.to_string()
                    ],
                    vec![
                        "review campaigns open".into(),
                        w.review_campaigns_open.to_string()
                    ],
                    vec![
                        "review items pending".into(),
                        w.review_items_pending.to_string()
                    ],
                    vec![
                        "review items missed".into(),
                        w.review_items_missed.to_string()
                    ],
                    vec![
                        "offboardings running".into(),
                        w.offboardings_running.to_string()
                    ],
                    vec![
                        "offboardings waiting for a person".into(),
                        w.offboardings_waiting.to_string()
                    ],
                    vec![
                        "offboardings complete".into(),
                        w.offboardings_complete.to_string()
                    ],
                    vec![
                        "offboardings with copies remaining".into(),
                        w.offboardings_copies_remain.to_string()
                    ],
                    vec![
                        "alerts open".into(),
                        w.alerts_open
                            .iter()
                            .map(|(k, v)| format!("{k} {v}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ],
                ]
            )
        );
        // Audit.
        let _ = write!(
            h,
            "<section id=\"audit\"><h2>Audit chain</h2><p class=\"{}\">{}</p><p>{} records checked up to record {}; signing keys: {}.</p></section>",
            if self.audit.ok { "ok" } else { "bad" },
            if self.audit.ok {
                "The hash chain and every signature verify.".to_string()
            } else {
                format!(
                    "Verification FAILED: {}",
                    esc(self.audit.problem.as_deref().unwrap_or("unknown problem"))
                )
            },
            self.audit.records_checked,
            self.audit.head_seq,
            esc(&self.audit.keys.join(", "))
        );
        h.push_str("<footer><p>Generated by Holdfast. Findings map to the OWASP Non-Human Identities Top 10 (2025) and NIST CSF 2.0 (CSWP 29).</p></footer></body></html>\n");
        h
    }

    /// An OSCAL assessment-results document ([`OSCAL_VERSION`]): one result whose findings are the CSF 2.0
    /// outcomes (satisfied or not) and whose observations are the evidence behind them.
    pub fn to_oscal(&self) -> serde_json::Value {
        let now = time_text(self.generated_at);
        let start = self
            .trend
            .first()
            .map_or_else(|| now.clone(), |r| time_text(r.at));
        let mut observations = Vec::new();
        let mut findings = Vec::new();
        for c in &self.csf {
            let mut related = Vec::new();
            for e in &c.evidence {
                let id = Uuid::new_v4();
                related.push(serde_json::json!({"observation-uuid": id}));
                observations.push(serde_json::json!({
                    "uuid": id,
                    "title": format!("{} evidence", c.id),
                    "description": e,
                    "methods": ["TEST"],
                    "types": ["control-objective"],
                    "collected": now,
                }));
            }
            let mut f = serde_json::json!({
                "uuid": Uuid::new_v4(),
                "title": format!("{} {}", c.id, c.category),
                "description": format!("{} — Holdfast: {} Open findings mapped here: {}.", c.outcome, c.controls, c.open_findings),
                "target": {
                    "type": "objective-id",
                    "target-id": c.id,
                    "status": {"state": if c.satisfied { "satisfied" } else { "not-satisfied" }},
                },
            });
            if !related.is_empty()
                && let Some(m) = f.as_object_mut()
            {
                m.insert(
                    "related-observations".into(),
                    serde_json::Value::Array(related),
                );
            }
            findings.push(f);
        }
        let controls: Vec<serde_json::Value> = CSF_OUTCOMES
            .iter()
            .map(|o| serde_json::json!({"control-id": o.id}))
            .collect();
        let mut result = serde_json::json!({
            "uuid": Uuid::new_v4(),
            "title": "Holdfast non-human identity posture",
            "description": format!(
                "Automated assessment of {} non-human identities against NIST CSF 2.0 outcomes, with findings mapped to the OWASP Non-Human Identities Top 10 (2025). Audit chain {}.",
                self.inventory.identities,
                if self.audit.ok { "verified" } else { "verification failed" }
            ),
            "start": start,
            "end": now,
            "reviewed-controls": {"control-selections": [{"include-controls": controls}]},
        });
        if !observations.is_empty()
            && let Some(m) = result.as_object_mut()
        {
            m.insert(
                "observations".into(),
                serde_json::Value::Array(observations),
            );
        }
        if !findings.is_empty()
            && let Some(m) = result.as_object_mut()
        {
            m.insert("findings".into(), serde_json::Value::Array(findings));
        }
        let plan = Uuid::new_v4();
        serde_json::json!({
            "assessment-results": {
                "uuid": Uuid::new_v4(),
                "metadata": {
                    "title": "Holdfast evidence report",
                    "last-modified": now,
                    "version": self.version,
                    "oscal-version": OSCAL_VERSION,
                },
                "import-ap": {"href": format!("#{plan}")},
                "results": [result],
                "back-matter": {"resources": [{
                    "uuid": plan,
                    "title": "Holdfast continuous assessment",
                    "description": "Holdfast assesses its inventory continuously: posture is recomputed whenever the inventory changes, every privileged action is policy-checked and written to a hash-chained, signed audit log.",
                }]},
            }
        })
    }
}
