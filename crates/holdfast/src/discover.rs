//! `holdfast discover` and `holdfast graph`: read files for a connector, import them through the
//! API (or run the connector here with `--dry-run`), and print blast radii.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use holdfast_client::Client;
use holdfast_discover::{Connector, Discovery, Input, Options};
use holdfast_graph::{BlastRadius, Graph, NodeKind, Tier};
use holdfast_types::{BlastRadiusView, DiscoverInput, DiscoverRequest, ImportReport};

use crate::cli::{DiscoverArgs, DiscoverCmd, GraphCmd};

/// Largest single file read for discovery.
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// Whether a file found while walking a directory is one the connector reads.
fn wanted(connector: Connector, path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let yaml = ext == "yaml" || ext == "yml";
    match connector {
        Connector::Kubernetes => yaml || ext == "json",
        Connector::AwsIam => ext == "json" || ext == "csv",
        Connector::GithubActions => {
            yaml && path
                .to_string_lossy()
                .replace('\\', "/")
                .contains(".github/workflows/")
        }
        Connector::Terraform => ext == "tfstate" || name.ends_with(".tfstate.backup"),
        Connector::Env => {
            name == ".env"
                || name.starts_with(".env.")
                || ext == "env"
                || (yaml && (name.starts_with("docker-compose") || name.starts_with("compose")))
        }
    }
}

fn walk(connector: Connector, dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory `{}`", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if name == ".git" || name == "node_modules" || name == "target" || name == ".terraform"
            {
                continue;
            }
            walk(connector, &p, out)?;
        } else if wanted(connector, &p) {
            out.push(p);
        }
    }
    Ok(())
}

/// The files to read: given files as they are, directories searched.
pub fn collect(connector: Connector, paths: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    if paths.is_empty() {
        bail!("give at least one file or directory to read");
    }
    let mut files = Vec::new();
    for p in paths {
        let meta =
            std::fs::metadata(p).with_context(|| format!("cannot read `{}`", p.display()))?;
        if meta.is_dir() {
            walk(connector, p, &mut files)?;
        } else {
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        bail!("no {connector} files found under the paths given");
    }
    let mut inputs = Vec::with_capacity(files.len());
    for f in files {
        let size = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        if size > MAX_FILE {
            bail!(
                "`{}` is larger than {} MiB",
                f.display(),
                MAX_FILE / 1024 / 1024
            );
        }
        let bytes = std::fs::read(&f).with_context(|| format!("cannot read `{}`", f.display()))?;
        inputs.push(Input {
            name: f.display().to_string(),
            bytes,
        });
    }
    Ok(inputs)
}

pub async fn run(client: Option<&Client>, json: bool, args: DiscoverArgs) -> anyhow::Result<bool> {
    if let Some(DiscoverCmd::Sources) = args.command {
        let c = client.context("a server is needed to list sources")?;
        let list = c.sources().await?;
        if json {
            println!("{}", serde_json::to_string_pretty(&list)?);
            return Ok(true);
        }
        for s in &list.items {
            println!(
                "{}  {} identities, {} credentials, {} nodes, {} edges, {} findings  (changed {})",
                s.source,
                s.identities,
                s.credentials,
                s.nodes,
                s.edges,
                s.findings.len(),
                s.changed_at
            );
        }
        return Ok(true);
    }
    let Some(connector) = args.connector.as_deref() else {
        bail!("name a connector: kubernetes, aws-iam, github-actions, terraform or env");
    };
    let connector: Connector = connector.parse()?;
    let inputs = collect(connector, &args.paths)?;
    match client {
        None => {
            let options = Options {
                system: args.system,
                now: Some(time::OffsetDateTime::now_utc()),
            };
            let discovery = holdfast_discover::discover(connector, &inputs, &options)?;
            print_dry_run(json, &discovery)?;
        }
        Some(c) => {
            let mut req = DiscoverRequest {
                inputs: Vec::with_capacity(inputs.len()),
                system: args.system,
            };
            for i in inputs {
                let content = String::from_utf8(i.bytes)
                    .with_context(|| format!("`{}` is not UTF-8 text", i.name))?;
                req.inputs.push(DiscoverInput {
                    name: Some(i.name),
                    content: Some(content),
                });
            }
            let report = c.discover(connector.as_str(), &req).await?;
            print_report(json, &report)?;
        }
    }
    Ok(true)
}

fn print_report(json: bool, r: &ImportReport) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    println!(
        "{}: {}",
        r.source,
        if r.changed {
            "imported"
        } else {
            "unchanged (same as the last import)"
        }
    );
    println!(
        "  identities  {} new, {} updated, {} unchanged, {} gone from the source",
        r.identities_created, r.identities_updated, r.identities_unchanged, r.identities_missing
    );
    println!(
        "  credentials {} new, {} updated",
        r.credentials_created, r.credentials_updated
    );
    println!(
        "  graph       nodes +{} -{} ~{}, edges +{} -{} ~{}",
        r.nodes_added,
        r.nodes_removed,
        r.nodes_changed,
        r.edges_added,
        r.edges_removed,
        r.edges_changed
    );
    println!(
        "  tiers       {} management-plane in this source, {} tier changes",
        r.management_plane, r.tiers_changed
    );
    print_findings(&r.findings);
    for s in &r.skipped {
        println!("  skipped: {s}");
    }
    Ok(())
}

fn print_findings(findings: &[holdfast_core::Finding]) {
    if findings.is_empty() {
        return;
    }
    println!("  findings:");
    for f in findings {
        println!("    {:8} {:32} {}", f.severity.as_str(), f.kind, f.message);
    }
}

fn print_dry_run(json: bool, d: &Discovery) -> anyhow::Result<()> {
    let graph = holdfast_discover::graph(std::slice::from_ref(d))?;
    if json {
        let tiers: Vec<serde_json::Value> = d
            .identities
            .iter()
            .map(|i| {
                let tier = graph.find(&i.key).map(|n| graph.tier(n));
                serde_json::json!({"key": i.key, "tier": tier})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"discovery": d, "tiers": tiers}))?
        );
        return Ok(());
    }
    println!("{} (dry run: nothing imported)", d.source);
    println!(
        "  {} identities, {} credentials, {} nodes, {} edges",
        d.identities.len(),
        d.credentials.len(),
        d.nodes.len(),
        d.edges.len()
    );
    for i in &d.identities {
        let tier = graph.find(&i.key).map(|n| graph.tier(n));
        let owner = i.owner.as_ref().map_or("(no owner)", |o| o.value.as_str());
        let mark = if tier.as_ref().is_some_and(|t| t.management_plane) {
            "MANAGEMENT-PLANE"
        } else {
            "standard"
        };
        println!(
            "  {mark:16} {:28} {}  owner: {owner}",
            i.source_kind, i.name
        );
        if let Some(t) = tier.filter(|t| t.management_plane) {
            println!("  {:16} why: {}", "", t.reason.unwrap_or_default());
            for s in &t.path {
                println!("  {:16}   {} {} {}", "", s.from, s.kind, s.to);
            }
        }
    }
    print_findings(&d.findings);
    for s in &d.skipped {
        println!("  skipped: {s}");
    }
    Ok(())
}

/// Parses `CONNECTOR=VALUE`.
fn pair(raw: &str, what: &str) -> anyhow::Result<(Connector, String)> {
    let (c, v) = raw
        .split_once('=')
        .with_context(|| format!("`{raw}`: expected CONNECTOR={what}"))?;
    Ok((c.parse()?, v.to_string()))
}

pub async fn graph(client: Option<&Client>, json: bool, cmd: GraphCmd) -> anyhow::Result<bool> {
    let GraphCmd::BlastRadius {
        target,
        max_paths,
        from,
        systems,
    } = cmd;
    let view = match client {
        Some(c) => {
            let id = uuid::Uuid::try_parse(&target).ok();
            let node = if id.is_some() {
                None
            } else {
                Some(target.as_str())
            };
            c.blast_radius(node, id, max_paths).await?
        }
        None => {
            let systems: Vec<(Connector, String)> = systems
                .iter()
                .map(|s| pair(s, "SYSTEM"))
                .collect::<Result<_, _>>()?;
            let mut discoveries = Vec::new();
            for f in &from {
                let (connector, path) = pair(f, "PATH")?;
                let inputs = collect(connector, &[PathBuf::from(path)])?;
                let system = systems
                    .iter()
                    .find(|(c, _)| *c == connector)
                    .map(|(_, s)| s.clone());
                let options = Options {
                    system,
                    now: Some(time::OffsetDateTime::now_utc()),
                };
                discoveries.push(holdfast_discover::discover(connector, &inputs, &options)?);
            }
            let graph = holdfast_discover::graph(&discoveries)?;
            offline_radius(&graph, &target, max_paths.unwrap_or(50))?
        }
    };
    print_radius(json, &view)?;
    Ok(true)
}

fn offline_radius(
    graph: &Graph,
    target: &str,
    max_paths: usize,
) -> anyhow::Result<BlastRadiusView> {
    let Some(id) = graph.find(target) else {
        bail!("`{target}` is not a node of the identity graph built from the files given");
    };
    let radius = graph.blast_radius(id, max_paths).context("node vanished")?;
    Ok(BlastRadiusView {
        radius,
        tier: graph.tier(id),
    })
}

fn print_radius(json: bool, v: &BlastRadiusView) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(v)?);
        return Ok(());
    }
    let r: &BlastRadius = &v.radius;
    println!("{} ({})", r.subject.label, r.subject.key);
    print_tier(&v.tier);
    println!(
        "score        {}/100 — reaches {} systems, {} identities it can become, {} resources ({} nodes in all)",
        r.score,
        r.systems.len(),
        r.identities_total,
        r.resources_total,
        r.reached_count
    );
    if !r.systems.is_empty() {
        println!("systems      {}", r.systems.join(", "));
    }
    if !r.management_plane_paths.is_empty() {
        println!("\nmanagement-plane capabilities reached:");
        for p in &r.management_plane_paths {
            println!("  {} ({})", p.to.label, p.to.key);
            for (n, s) in p.steps.iter().enumerate() {
                println!("    {}. {} —{}→ {}", n + 1, s.from, s.kind, s.to);
                println!("       because {}", s.reason);
            }
        }
    }
    if !r.identity_paths.is_empty() {
        println!("\nidentities it can become:");
        for p in &r.identity_paths {
            println!("  {} ({})", p.to.label, p.to.key);
            for (n, s) in p.steps.iter().enumerate() {
                println!("    {}. {} —{}→ {}", n + 1, s.from, s.kind, s.to);
                println!("       because {}", s.reason);
            }
        }
        if r.paths_truncated > 0 {
            println!("  … and {} more (raise --max-paths)", r.paths_truncated);
        }
    }
    let resources: Vec<_> = r
        .resources
        .iter()
        .filter(|x| x.node.kind != NodeKind::Capability)
        .collect();
    if !resources.is_empty() {
        println!("\nresources and secret locations:");
        for x in resources.iter().take(50) {
            println!(
                "  {} ({}), {} steps, via {} from {}",
                x.node.label, x.node.key, x.depth, x.via.kind, x.via.from
            );
        }
        if resources.len() > 50 {
            println!("  … and {} more (--json lists all)", resources.len() - 50);
        }
    }
    Ok(())
}

fn print_tier(t: &Tier) {
    if t.management_plane {
        println!(
            "tier         MANAGEMENT PLANE — {}",
            t.reason.as_deref().unwrap_or("")
        );
        for s in &t.path {
            println!("             {} —{}→ {}", s.from, s.kind, s.to);
        }
    } else {
        println!("tier         standard");
    }
}
