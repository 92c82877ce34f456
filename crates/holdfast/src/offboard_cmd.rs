//! `holdfast identity offboard`, `holdfast offboarding …`, `holdfast receipt verify`.

use std::io::IsTerminal as _;

use anyhow::Context as _;
use holdfast_client::Client;
use holdfast_core::{Offboarding, OffboardingState};
use uuid::Uuid;

use crate::cli::{OffboardingCmd, ReceiptCmd};
use crate::commands::list;
use crate::output::record;

fn id_of(raw: &str) -> anyhow::Result<Uuid> {
    Uuid::try_parse(raw).map_err(|_| anyhow::anyhow!("`{raw}` is not an offboarding id (a UUID)"))
}

fn print(o: &Offboarding) {
    println!(
        "offboarding {} of {} — {}{}",
        o.id,
        o.identity_name,
        o.state.as_str(),
        o.outcome
            .as_deref()
            .map(|x| format!(" ({x})"))
            .unwrap_or_default()
    );
    println!(
        "reason: {} · requested by {} · trigger {}",
        o.reason, o.requested_by, o.trigger
    );
    for s in &o.steps {
        println!(
            "{:>3}. {:<17} {:<8} {:<22} {}",
            s.n,
            s.kind.as_str(),
            s.status.as_str(),
            s.outcome.as_deref().unwrap_or("-"),
            s.target
        );
        for e in &s.evidence {
            println!("       {e}");
        }
        if let Some(err) = &s.last_error {
            println!("       last attempt failed: {err}");
        }
    }
    if o.state == OffboardingState::Waiting {
        println!(
            "waiting for a person: do the manual steps, then `holdfast offboarding confirm {} --step N --note …`",
            o.id
        );
    }
}

/// `holdfast identity offboard ID --reason …`: start it, and (unless `--no-wait`) wait until it
/// finishes or needs a person.
pub async fn offboard(
    c: &Client,
    json: bool,
    identity: &str,
    reason: &str,
    no_wait: bool,
    receipt: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let mut o = c.offboard(identity, reason).await?;
    if !no_wait {
        let spinner = std::io::stderr().is_terminal().then(|| {
            let pb = indicatif::ProgressBar::new_spinner();
            pb.set_message("revoking, re-scanning, verifying …");
            pb.enable_steady_tick(std::time::Duration::from_millis(120));
            pb
        });
        for _ in 0..1200 {
            if o.state != OffboardingState::Running {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            o = c.offboarding(o.id).await?;
        }
        if let Some(pb) = spinner {
            pb.finish_and_clear();
        }
    }
    if let Some(path) = receipt
        && o.state == OffboardingState::Finished
    {
        let text = c.offboarding_receipt(o.id).await?;
        std::fs::write(&path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        eprintln!("receipt written to {}", path.display());
    }
    if json {
        return record(true, &o);
    }
    print(&o);
    Ok(())
}

pub async fn offboarding(c: &Client, json: bool, cmd: OffboardingCmd) -> anyhow::Result<()> {
    match cmd {
        OffboardingCmd::List {
            state,
            identity,
            page,
        } => {
            let filters = [
                ("state", state.as_deref()),
                ("identity", identity.as_deref()),
            ];
            list::<Offboarding>(
                c,
                json,
                "/offboardings",
                &filters,
                &page,
                &[
                    "id",
                    "identity_name",
                    "state",
                    "outcome",
                    "trigger",
                    "started_at",
                ],
            )
            .await
        }
        OffboardingCmd::Show { id } => {
            let o = c.offboarding(id_of(&id)?).await?;
            if json {
                return record(true, &o);
            }
            print(&o);
            Ok(())
        }
        OffboardingCmd::Confirm { id, step, note } => {
            let o = c.confirm_offboarding_step(id_of(&id)?, step, &note).await?;
            if json {
                return record(true, &o);
            }
            print(&o);
            Ok(())
        }
        OffboardingCmd::Recheck { id } => {
            let o = c.recheck_offboarding(id_of(&id)?).await?;
            if json {
                return record(true, &o);
            }
            print(&o);
            Ok(())
        }
        OffboardingCmd::Receipt { id, output } => {
            let text = c.offboarding_receipt(id_of(&id)?).await?;
            match output {
                Some(p) => std::fs::write(&p, text)
                    .with_context(|| format!("cannot write `{}`", p.display())),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
    }
}

/// `holdfast receipt verify FILE`: offline; `Ok(false)` when it does not verify.
pub fn receipt(json: bool, cmd: ReceiptCmd) -> anyhow::Result<bool> {
    match cmd {
        ReceiptCmd::Verify { file, public_keys } => {
            let text = std::fs::read(&file)
                .with_context(|| format!("cannot read `{}`", file.display()))?;
            let text = match String::from_utf8(text) {
                Ok(t) => t,
                Err(_) => {
                    eprintln!("{}: does not verify: not UTF-8 text", file.display());
                    return Ok(false);
                }
            };
            match holdfast_server::offboarding::verify_receipt(&text, &public_keys) {
                Ok(r) => {
                    if json {
                        record(
                            true,
                            &serde_json::json!({"valid": true, "key_id": r.signature.key_id,
                                "pinned": !public_keys.is_empty(), "outcome": r.receipt.outcome,
                                "identity": r.receipt.identity.name, "steps": r.receipt.steps.len()}),
                        )?;
                    } else {
                        println!(
                            "valid: signed by key {}{} — {}",
                            r.signature.key_id,
                            if public_keys.is_empty() {
                                " (the key the receipt names; pin it with --public-key)"
                            } else {
                                ""
                            },
                            r.receipt.summary
                        );
                    }
                    Ok(true)
                }
                Err(e) => {
                    if json {
                        record(true, &serde_json::json!({"valid": false, "error": e}))?;
                    } else {
                        eprintln!("{}: does not verify: {e}", file.display());
                    }
                    Ok(false)
                }
            }
        }
    }
}
