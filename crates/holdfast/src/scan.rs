//! `holdfast scan`: the secret scanner on its own, offline, for CI and pre-commit. Printers for
//! text, JSON and SARIF 2.1.0 live here; the engine is `holdfast-scan`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Context;
use holdfast_rules::Confidence;
use holdfast_scan::suppress::BaselineEntry;
use holdfast_scan::{Baseline, Engine, Finding, ScanConfig, WalkOptions, scan_paths};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::cli::{MinConfidence, RulesCmd, ScanArgs, ScanCmd, ScanFormat};

const CONFIG_FILE: &str = ".holdfast-scan.toml";

/// Runs the command; `Ok(true)` when nothing was found (exit 0), `Ok(false)` when something was (exit 1).
/// `client` is the server to report to with `--report-to-server`.
pub fn run(
    args: ScanArgs,
    json: bool,
    client: Option<holdfast_client::Client>,
) -> anyhow::Result<bool> {
    if let Some(ScanCmd::Rules(cmd)) = args.command {
        return rules(cmd, json);
    }
    let format = if json { ScanFormat::Json } else { args.format };
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let config_path = args.config.clone().or_else(|| {
        let p = paths.first().map(|p| {
            if p.is_dir() {
                p.join(CONFIG_FILE)
            } else {
                PathBuf::from(CONFIG_FILE)
            }
        })?;
        p.exists().then_some(p)
    });
    let config = match &config_path {
        Some(p) => ScanConfig::parse(
            &std::fs::read_to_string(p)
                .with_context(|| format!("cannot read `{}`", p.display()))?,
        )
        .with_context(|| format!("in `{}`", p.display()))?,
        None => ScanConfig::default(),
    };
    let mut rules = holdfast_rules::bundled().context("the bundled rule pack does not load")?;
    let min = match args.min_confidence {
        MinConfidence::Low => Confidence::Low,
        MinConfidence::Medium => Confidence::Medium,
        MinConfidence::High => Confidence::High,
    };
    for id in args.only_rules.iter().chain(&config.allow.rules) {
        if rules.get(id).is_none() {
            anyhow::bail!("there is no rule `{id}` (see `holdfast scan rules list`)");
        }
    }
    let only: BTreeSet<&str> = args.only_rules.iter().map(String::as_str).collect();
    let off: BTreeSet<String> = config.allow.rules.iter().cloned().collect();
    rules.retain(|r| {
        r.def.confidence >= min
            && (only.is_empty() || only.contains(r.id()))
            && !off.contains(r.id())
    });
    let engine = Engine::new(rules)?;

    let opts = WalkOptions {
        respect_gitignore: args.respect_gitignore,
        max_file_size: args.max_file_size,
        threads: args.threads,
        exclude: config.allow.paths.clone(),
    };
    let bar = if args.no_progress {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bytes} scanned ({bytes_per_sec}), {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let found = Mutex::new(Vec::<Finding>::new());
    let started = Instant::now();
    let sink = |f: Finding| {
        if let Ok(mut v) = found.lock() {
            v.push(f);
            bar.set_message(format!("{} findings", v.len()));
        }
    };
    let stats: ScanStats = if args.git {
        let [repo] = paths.as_slice() else {
            anyhow::bail!("--git scans one repository: give exactly one path")
        };
        let s = holdfast_scan::git::scan_history(
            &engine,
            repo,
            args.max_file_size,
            args.threads,
            &|n| bar.inc(n),
            &sink,
        )?;
        let get = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        ScanStats {
            files: get(&s.blobs),
            bytes: get(&s.bytes),
            skipped_binary: get(&s.skipped_binary),
            skipped_large: get(&s.skipped_large),
            commits: Some(get(&s.commits)),
            trees: Some(get(&s.trees)),
        }
    } else {
        let s = scan_paths(&engine, &paths, &opts, &|n| bar.inc(n), &sink)?;
        let get = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        ScanStats {
            files: get(&s.files),
            bytes: get(&s.bytes),
            skipped_binary: get(&s.skipped_binary),
            skipped_large: get(&s.skipped_large),
            commits: None,
            trees: None,
        }
    };
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let mut findings = found
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a scan worker panicked"))?;
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.rule).cmp(&(&b.path, b.line, b.column, &b.rule))
    });

    let allowed_fps: BTreeSet<&str> = config
        .allow
        .fingerprints
        .iter()
        .map(String::as_str)
        .collect();
    findings.retain(|f| !allowed_fps.contains(f.fingerprint.as_str()));
    if let Some(b) = &args.baseline {
        let text = std::fs::read_to_string(b)
            .with_context(|| format!("cannot read the baseline `{}`", b.display()))?;
        let baseline = Baseline::parse(&text).with_context(|| format!("in `{}`", b.display()))?;
        let ids = baseline.ids();
        findings.retain(|f| !ids.contains(f.id.as_str()));
    }
    if let Some(out) = &args.write_baseline {
        let b = Baseline {
            version: 1,
            findings: findings
                .iter()
                .map(|f| BaselineEntry {
                    id: f.id.clone(),
                    rule: f.rule.clone(),
                    path: f.path.clone(),
                })
                .collect(),
        };
        std::fs::write(out, serde_json::to_string_pretty(&b)? + "\n")
            .with_context(|| format!("cannot write `{}`", out.display()))?;
        eprintln!(
            "wrote {} findings to the baseline `{}`",
            b.findings.len(),
            out.display()
        );
        return Ok(true);
    }

    let report = match format {
        ScanFormat::Text => text(&findings, args.show_secrets),
        ScanFormat::Json => {
            serde_json::to_string_pretty(&json_report(&findings, args.show_secrets, &stats))? + "\n"
        }
        ScanFormat::Sarif => serde_json::to_string_pretty(&sarif(&engine, &findings))? + "\n",
    };
    match &args.output {
        Some(p) => {
            std::fs::write(p, report).with_context(|| format!("cannot write `{}`", p.display()))?
        }
        None => std::io::stdout().lock().write_all(report.as_bytes())?,
    }
    if args.report_to_server {
        let client =
            client.ok_or_else(|| anyhow::anyhow!("--report-to-server needs --addr and a token"))?;
        let root = paths
            .first()
            .and_then(|p| std::fs::canonicalize(p).ok())
            .unwrap_or_default();
        report_to(&client, &findings, &root)?;
    }
    let what = if stats.commits.is_some() {
        "blobs"
    } else {
        "files"
    };
    eprintln!(
        "{} finding{} in {} {what} ({:.1} MB) in {:.2} s; {} binary and {} oversized skipped{}",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        stats.files,
        stats.bytes as f64 / 1e6,
        elapsed.as_secs_f64(),
        stats.skipped_binary,
        stats.skipped_large,
        stats
            .commits
            .map(|c| format!("; {c} commits"))
            .unwrap_or_default(),
    );
    Ok(findings.is_empty())
}

/// Where a finding is, as the inventory records it.
fn location(f: &Finding, root: &std::path::Path) -> String {
    match &f.git {
        Some(g) => format!("git:{}@{}:{}:{}", root.display(), g.commit, f.path, f.line),
        None => {
            let p = std::path::Path::new(&f.path);
            let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            format!("file://{}:{}", abs.display(), f.line)
        }
    }
}

fn report_to(
    client: &holdfast_client::Client,
    findings: &[Finding],
    root: &std::path::Path,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Handle::current();
    let (mut matched, mut unmatched, mut new) = (0, 0, 0);
    for chunk in findings.chunks(2000) {
        let req = holdfast_types::ScanReport {
            source: Some("scanner".into()),
            findings: chunk
                .iter()
                .map(|f| holdfast_types::ReportedFinding {
                    fingerprint: Some(f.fingerprint.clone()),
                    rule: Some(f.rule.clone()),
                    location: Some(location(f, root)),
                    preview: Some(f.preview.clone()),
                })
                .collect(),
        };
        let r = rt
            .block_on(client.scan_report(&req))
            .context("reporting findings to the server")?;
        matched += r.matched;
        unmatched += r.unmatched;
        new += r.new_locations;
    }
    eprintln!(
        "reported to {}: {matched} matched known credentials, {unmatched} unknown (leaks), {new} new locations",
        client.addr()
    );
    Ok(())
}

fn text(findings: &[Finding], show: bool) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!(
            "{}:{}:{}  {} ({})  {}\n",
            f.path, f.line, f.column, f.rule, f.confidence, f.rule_name
        ));
        let shown = if show {
            format!(
                "    secret: {}\n",
                String::from_utf8_lossy(f.secret.expose())
            )
        } else {
            String::new()
        };
        out.push_str(&format!(
            "    {}\n{shown}    {}  id {}\n\n",
            f.snippet, f.fingerprint, f.id
        ));
    }
    out
}

/// What a scan covered, for the summary line and the JSON report.
#[derive(Debug, serde::Serialize)]
struct ScanStats {
    /// Files (or, with --git, distinct blobs) read.
    files: u64,
    bytes: u64,
    skipped_binary: u64,
    skipped_large: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    commits: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trees: Option<u64>,
}

fn json_report(findings: &[Finding], show: bool, stats: &ScanStats) -> Value {
    let items: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
            if show && let Value::Object(m) = &mut v {
                m.insert(
                    "secret".into(),
                    Value::String(String::from_utf8_lossy(f.secret.expose()).into_owned()),
                );
            }
            v
        })
        .collect();
    json!({ "findings": items, "stats": stats })
}

/// A SARIF 2.1.0 log that GitHub code scanning accepts.
fn sarif(engine: &Engine, findings: &[Finding]) -> Value {
    let used: BTreeSet<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    let rules: Vec<&holdfast_rules::Rule> = engine
        .rules
        .rules
        .iter()
        .filter(|r| used.contains(r.id()))
        .collect();
    let index = |id: &str| rules.iter().position(|r| r.id() == id);
    let level = |c: &str| if c == "low" { "warning" } else { "error" };
    let rule_objs: Vec<Value> = rules
        .iter()
        .map(|r| {
            let tags: Vec<String> = ["security", "secret"].into_iter().map(String::from).chain(r.def.tags.iter().cloned()).collect();
            json!({
                "id": r.def.id,
                "name": r.def.id.split('-').map(|w| {
                    let mut c = w.chars();
                    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
                }).collect::<String>(),
                "shortDescription": {"text": r.def.name},
                "fullDescription": {"text": r.def.description},
                "help": {"text": format!("{} Rotate or revoke the credential, then remove it from the file and its history.", r.def.description)},
                "defaultConfiguration": {"level": level(r.def.confidence.as_str())},
                "properties": {
                    "tags": tags,
                    "precision": match r.def.confidence { Confidence::High => "very-high", Confidence::Medium => "high", Confidence::Low => "medium" },
                    "security-severity": match r.def.confidence { Confidence::High => "9.0", Confidence::Medium => "7.5", Confidence::Low => "5.0" },
                }
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            json!({
                "ruleId": f.rule,
                "ruleIndex": index(&f.rule),
                "level": level(f.confidence),
                "message": {"text": format!("{} found: {} ({}).", f.rule_name, f.preview, f.fingerprint)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path.replace('\\', "/")},
                        "region": {"startLine": f.line, "startColumn": f.column, "endLine": f.end_line, "endColumn": f.end_column}
                    }
                }],
                "partialFingerprints": {"holdfastFindingId/v1": f.id, "secretFingerprint/v1": f.fingerprint},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "holdfast",
                "informationUri": "https://github.com/holdfast-nhi/holdfast",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rule_objs,
            }},
            "results": results,
        }]
    })
}

fn rules(cmd: RulesCmd, json: bool) -> anyhow::Result<bool> {
    let rules = holdfast_rules::bundled().context("the bundled rule pack does not load")?;
    match cmd {
        RulesCmd::Check => {
            let problems = holdfast_rules::check(&rules);
            if json {
                let v: Vec<Value> = problems
                    .iter()
                    .map(|p| json!({"rule": p.rule, "message": p.message}))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"rules": rules.rules.len(), "problems": v})
                    )?
                );
            } else {
                for p in &problems {
                    println!("{}: {}", p.rule, p.message);
                }
                let examples: usize = rules
                    .rules
                    .iter()
                    .map(|r| r.def.examples.len() + r.def.negative_examples.len())
                    .sum();
                println!(
                    "{} rules, {examples} examples checked, {} problems",
                    rules.rules.len(),
                    problems.len()
                );
            }
            Ok(problems.is_empty())
        }
        RulesCmd::List => {
            let rows: Vec<Value> = rules
                .rules
                .iter()
                .map(|r| json!({"id": r.def.id, "confidence": r.def.confidence.as_str(), "name": r.def.name, "keywords": r.def.keywords}))
                .collect();
            crate::output::table(json, &rows, None, &["id", "confidence", "name"])?;
            Ok(true)
        }
    }
}
