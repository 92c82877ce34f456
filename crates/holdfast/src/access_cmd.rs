//! `holdfast request …` and `holdfast lease …`: just-in-time access from the command line.

use std::io::Read;

use anyhow::Context;
use holdfast_client::Client;
use holdfast_core::{AccessRequest, Lease};
use holdfast_types::{CreateAccessRequest, IssuedGrant};

use crate::cli::{LeaseCmd, RequestCmd};
use crate::commands::{list, parse_ttl};
use crate::output::record;

const REQUEST_COLS: &[&str] = &[
    "id",
    "state",
    "requester_name",
    "grantee_name",
    "tier",
    "audience",
    "approvals_needed",
    "task",
];
const LEASE_COLS: &[&str] = &[
    "id",
    "state",
    "holder_name",
    "audience",
    "expires_at",
    "renewals",
];

fn seconds(ttl: Option<&str>) -> anyhow::Result<Option<u32>> {
    ttl.map(|t| {
        let s = parse_ttl(t)?;
        u32::try_from(s).map_err(|_| anyhow::anyhow!("--ttl: `{t}` is too long"))
    })
    .transpose()
}

fn print_request(json: bool, r: &AccessRequest) -> anyhow::Result<()> {
    record(json, r)
}

fn print_grant(json: bool, g: &IssuedGrant) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(g)?);
    } else {
        println!(
            "lease {} ({}), expires {}; the credential is shown only now:\n\n  {}\n",
            g.lease.id,
            g.lease.audience,
            g.lease
                .expires_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            g.credential
        );
    }
    Ok(())
}

pub async fn request(c: &Client, json: bool, cmd: RequestCmd) -> anyhow::Result<()> {
    match cmd {
        RequestCmd::Create {
            task,
            reason,
            audience,
            scopes,
            identity,
            on_behalf_of,
            ttl,
            management_plane,
        } => {
            let r = c
                .create_access_request(&CreateAccessRequest {
                    task: Some(task),
                    reason: Some(reason),
                    kind: Some("jwt".into()),
                    audience: Some(audience),
                    scopes,
                    identity,
                    on_behalf_of,
                    ttl_seconds: seconds(ttl.as_deref())?,
                    management_plane,
                })
                .await?;
            print_request(json, &r)
        }
        RequestCmd::List { state, page } => {
            list::<AccessRequest>(
                c,
                json,
                "/requests",
                &[("state", state.as_deref())],
                &page,
                REQUEST_COLS,
            )
            .await
        }
        RequestCmd::Show { id } => print_request(json, &c.access_request(id).await?),
        RequestCmd::Approve { id, comment } => print_request(
            json,
            &c.decide_access_request(id, "approve", comment).await?,
        ),
        RequestCmd::Deny { id, comment } => {
            print_request(json, &c.decide_access_request(id, "deny", comment).await?)
        }
        RequestCmd::Cancel { id } => {
            print_request(json, &c.decide_access_request(id, "cancel", None).await?)
        }
        RequestCmd::Issue { id } => print_grant(json, &c.issue_grant(id).await?),
    }
}

pub async fn breakglass(c: &Client, json: bool, cmd: crate::cli::Command) -> anyhow::Result<()> {
    let crate::cli::Command::Breakglass {
        reason,
        task,
        audience,
        scopes,
        identity,
        kind,
        ttl,
    } = cmd
    else {
        anyhow::bail!("not a break-glass command");
    };
    let g = c
        .breakglass(&CreateAccessRequest {
            task: Some(task),
            reason: Some(reason),
            kind,
            audience: Some(audience),
            scopes,
            identity,
            on_behalf_of: None,
            ttl_seconds: seconds(ttl.as_deref())?,
            management_plane: false,
        })
        .await?;
    print_grant(json, &g)
}

pub async fn review(c: &Client, json: bool, cmd: crate::cli::ReviewCmd) -> anyhow::Result<()> {
    match cmd {
        crate::cli::ReviewCmd::List { state } => {
            let page = c.reviews(state.as_deref()).await?;
            crate::output::table(
                json,
                &page.items,
                page.next.as_deref(),
                &[
                    "id",
                    "state",
                    "used_by",
                    "reason",
                    "opened_at",
                    "rotation_done",
                ],
            )
        }
        crate::cli::ReviewCmd::Start {
            name,
            deadline_days,
            deadline,
            owner,
            tier,
        } => {
            let tier = tier
                .map(|t| t.parse::<holdfast_core::Tier>())
                .transpose()
                .map_err(|e| anyhow::anyhow!("--tier: {e}"))?;
            let v = c
                .start_campaign(&holdfast_types::StartCampaignRequest {
                    name: Some(name),
                    deadline_days,
                    deadline,
                    owner,
                    tier,
                })
                .await?;
            record(json, &v)
        }
        crate::cli::ReviewCmd::Status { id: None, .. } => {
            let page = c.list_campaigns(vec![]).await?;
            crate::output::table(
                json,
                &page.items,
                page.next.as_deref(),
                &["id", "name", "state", "items", "deadline", "started_by"],
            )
        }
        crate::cli::ReviewCmd::Status {
            id: Some(id),
            owner,
        } => {
            let id = uuid::Uuid::try_parse(&id)
                .map_err(|_| anyhow::anyhow!("`{id}` is not a campaign id (a UUID)"))?;
            let v = c.campaign(id).await?;
            let items = c.campaign_items(id, vec![("owner", owner.clone())]).await?;
            if json {
                return record(
                    true,
                    &serde_json::json!({"campaign": v.campaign, "counts": v.counts, "items": items.items}),
                );
            }
            println!(
                "{} — {} · deadline {} · {} identities",
                v.campaign.name,
                v.campaign.state.as_str(),
                v.campaign.deadline,
                v.campaign.items
            );
            println!("{:?}", v.counts);
            crate::output::table(
                false,
                &items.items,
                items.next.as_deref(),
                &[
                    "identity_id",
                    "identity_name",
                    "owner",
                    "tier",
                    "decision",
                    "decided_by",
                ],
            )
        }
        crate::cli::ReviewCmd::Attest {
            campaign,
            identity,
            decision,
            note,
            remove_entitlements,
        } => {
            let campaign = uuid::Uuid::try_parse(&campaign)
                .map_err(|_| anyhow::anyhow!("`{campaign}` is not a campaign id (a UUID)"))?;
            let item = c
                .decide_review_item(
                    campaign,
                    &identity,
                    &holdfast_types::DecideItemRequest {
                        decision: Some(decision),
                        note,
                        remove_entitlements,
                    },
                )
                .await?;
            record(json, &item)
        }
        crate::cli::ReviewCmd::Close { id, notes } => {
            record(json, &c.close_review(id, Some(notes)).await?)
        }
    }
}

pub async fn auth(c: &Client, json: bool, cmd: crate::cli::AuthCmd) -> anyhow::Result<()> {
    match cmd {
        crate::cli::AuthCmd::Enroll => {
            let e = c.step_up_enroll().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                println!(
                    "add this to your authenticator (shown only now):\n\n  {}\n\nor the secret {}",
                    e.otpauth_uri, e.secret
                );
            }
        }
        crate::cli::AuthCmd::StepUp { code } => {
            let s = c.step_up(&code).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!("stepped up");
            }
        }
    }
    Ok(())
}

pub async fn lease(c: &Client, json: bool, cmd: LeaseCmd) -> anyhow::Result<bool> {
    match cmd {
        LeaseCmd::List {
            state,
            holder,
            page,
        } => {
            list::<Lease>(
                c,
                json,
                "/leases",
                &[("state", state.as_deref()), ("holder", holder.as_deref())],
                &page,
                LEASE_COLS,
            )
            .await?;
        }
        LeaseCmd::Renew { id, ttl } => {
            print_grant(json, &c.renew_lease(id, seconds(ttl.as_deref())?).await?)?;
        }
        LeaseCmd::Revoke { id } => record(json, &c.revoke_lease(id).await?)?,
        LeaseCmd::RevokeHolder { holder, reason } => {
            let out = c.revoke_holder(&holder, reason).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("revoked {} leases", out.revoked.len());
                for id in out.revoked {
                    println!("  {id}");
                }
            }
        }
        LeaseCmd::Introspect { file } => {
            let token = match file {
                Some(p) => std::fs::read_to_string(&p)
                    .with_context(|| format!("reading `{}`", p.display()))?,
                None => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s)?;
                    s
                }
            };
            let i = c.introspect(token.trim()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&i)?);
            } else if i.active {
                println!(
                    "active: {} for {} ({})",
                    i.sub.as_deref().unwrap_or(""),
                    i.aud.as_deref().unwrap_or(""),
                    i.scope.as_deref().unwrap_or("")
                );
            } else {
                println!("not active: {}", i.reason.as_deref().unwrap_or("unknown"));
            }
            return Ok(i.active);
        }
    }
    Ok(true)
}
