//! `holdfast policy …` and `holdfast authorize`: validate and test offline against the schema
//! compiled into this binary; apply, diff, history and decisions through the server.

use std::path::Path;

use anyhow::Context;
use holdfast_client::Client;
use holdfast_policy::{Engine, Suite, diff, run_suite};
use holdfast_types::{ApplyPolicyRequest, AuthorizeRequest, PolicyChangeView};

use crate::cli::{AuthorizeArgs, PolicyCmd};

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading `{}`", path.display()))
}

fn print_changes(changes: &[PolicyChangeView]) {
    if changes.is_empty() {
        println!("no policy changes");
    }
    for c in changes {
        let sign = match c.change.as_str() {
            "added" => "+",
            "removed" => "-",
            _ => "~",
        };
        println!("{sign} {} ({})", c.id, c.change);
        if let Some(b) = &c.before {
            for line in b.lines() {
                println!("    - {line}");
            }
        }
        if let Some(a) = &c.after {
            for line in a.lines() {
                println!("    + {line}");
            }
        }
    }
}

/// Runs a policy command; `Ok(false)` is a clean "no" (invalid policy, failing test, deny).
pub async fn policy(c: Option<&Client>, json: bool, cmd: PolicyCmd) -> anyhow::Result<bool> {
    let server = || c.ok_or_else(|| anyhow::anyhow!("this command needs a server"));
    match cmd {
        PolicyCmd::Schema => {
            print!("{}", holdfast_policy::SCHEMA);
            Ok(true)
        }
        PolicyCmd::Validate { file } => {
            let text = read(&file)?;
            match Engine::new(&text) {
                Ok(engine) => {
                    let n = engine.policies().policies().count();
                    if json {
                        println!("{}", serde_json::json!({"valid": true, "policies": n}));
                    } else {
                        println!(
                            "{}: {n} policies, valid against Holdfast's schema",
                            file.display()
                        );
                    }
                    Ok(true)
                }
                Err(e) => {
                    if json {
                        println!(
                            "{}",
                            serde_json::json!({"valid": false, "error": e.to_string()})
                        );
                    } else {
                        eprintln!("{}: {e}", file.display());
                    }
                    Ok(false)
                }
            }
        }
        PolicyCmd::Test { file, suite } => {
            let engine = Engine::new(&read(&file)?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let suite: Suite = serde_json::from_str(&read(&suite)?)
                .with_context(|| format!("`{}` is not a test suite", suite.display()))?;
            let results = run_suite(&engine, &suite)?;
            let failed = results.iter().filter(|r| !r.passed).count();
            if json {
                println!("{}", serde_json::to_string_pretty(&results)?);
            } else {
                for r in &results {
                    match &r.problem {
                        None => println!("ok   {}", r.name),
                        Some(p) => println!("FAIL {}: {p}", r.name),
                    }
                }
                println!("{} passed, {failed} failed", results.len() - failed);
            }
            Ok(failed == 0)
        }
        PolicyCmd::Apply {
            file,
            comment,
            base,
            dry_run,
        } => {
            let req = ApplyPolicyRequest {
                text: Some(read(&file)?),
                comment,
                base_version: base,
                dry_run,
            };
            let out = server()?.apply_policy(&req).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                print_changes(&out.changes);
                match (out.applied, dry_run) {
                    (true, _) => println!("applied as version {}", out.version),
                    (false, true) => println!("dry run: would be version {}", out.version),
                    (false, false) => println!("unchanged: version {} is current", out.version),
                }
            }
            Ok(true)
        }
        PolicyCmd::Diff { file, from, to } => {
            let changes: Vec<PolicyChangeView> = match (file, from, to) {
                (Some(file), _, _) => {
                    let req = ApplyPolicyRequest {
                        text: Some(read(&file)?),
                        dry_run: true,
                        ..Default::default()
                    };
                    server()?.apply_policy(&req).await?.changes
                }
                (None, Some(a), Some(b)) => {
                    let load = |v: holdfast_types::PolicyVersionView| {
                        Engine::new(v.text.as_deref().unwrap_or_default())
                            .map_err(|e| anyhow::anyhow!("version {}: {e}", v.version))
                    };
                    let before = load(server()?.policy(Some(a)).await?)?;
                    let after = load(server()?.policy(Some(b)).await?)?;
                    diff(&before, &after)
                        .into_iter()
                        .map(|c| PolicyChangeView {
                            id: c.id,
                            change: c.change,
                            before: c.before,
                            after: c.after,
                        })
                        .collect()
                }
                _ => anyhow::bail!("give a policy file, or --from and --to versions"),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&changes)?);
            } else {
                print_changes(&changes);
            }
            Ok(true)
        }
        PolicyCmd::History => {
            let h = server()?.policy_history().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&h)?);
            } else {
                for v in &h.items {
                    let when = v
                        .created_at
                        .and_then(|t| {
                            t.format(&time::format_description::well_known::Rfc3339)
                                .ok()
                        })
                        .unwrap_or_else(|| "(shipped)".into());
                    println!(
                        "{}{:>4}  {}  {}  {}  {}",
                        if v.current { "*" } else { " " },
                        v.version,
                        &v.sha256[..12.min(v.sha256.len())],
                        when,
                        v.created_by,
                        v.comment.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(true)
        }
        PolicyCmd::Show { version } => {
            let v = server()?.policy(version).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", v.text.unwrap_or_default());
            }
            Ok(true)
        }
        PolicyCmd::Entities { file, comment } => {
            let req = ApplyPolicyRequest {
                text: Some(read(&file)?),
                comment,
                ..Default::default()
            };
            let out = server()?.apply_policy_entities(&req).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("entities applied as version {}", out.version);
            }
            Ok(true)
        }
    }
}

/// `holdfast authorize`: exit 0 for allow, 1 for deny.
pub async fn authorize(c: &Client, json: bool, a: AuthorizeArgs) -> anyhow::Result<bool> {
    let context = match a.context.as_deref() {
        None => serde_json::Value::Null,
        Some(s) => serde_json::from_str(s).context("--context: not a JSON object")?,
    };
    let d = c
        .authorize(&AuthorizeRequest {
            principal: Some(a.principal),
            action: Some(a.action),
            resource: Some(a.resource),
            context,
            entities: None,
        })
        .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        let by = if d.policies.is_empty() {
            "no policy permits it".to_string()
        } else {
            d.policies.join(", ")
        };
        println!("{} ({by}; policy version {})", d.decision, d.policy_version);
    }
    Ok(d.allowed)
}
