//! The CLI commands that drive the API through `holdfast-client`.

use std::collections::BTreeMap;
use std::io::Read;

use anyhow::{Context, bail};
use holdfast_client::{Client, Params};
use holdfast_types::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::cli::*;
use crate::output::{record, table};

/// A parsed enum option, with the flag's name in the error.
fn parse_opt<T: DeserializeOwned>(flag: &str, v: Option<&str>) -> anyhow::Result<Option<T>> {
    v.map(|s| {
        serde_json::from_value::<T>(serde_json::Value::String(s.to_string()))
            .map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
    })
    .transpose()
}

fn parse_time(flag: &str, v: Option<&str>) -> anyhow::Result<Option<OffsetDateTime>> {
    v.map(|s| {
        OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
            anyhow::anyhow!("--{flag}: `{s}` is not an RFC 3339 time like 2027-01-31T00:00:00Z")
        })
    })
    .transpose()
}

fn parse_labels(labels: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    labels
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => bail!("--label: `{l}` is not key=value"),
        })
        .collect()
}

/// Parses `3600`, `3600s`, `90m`, `12h`, `30d` into seconds.
pub fn parse_ttl(s: &str) -> anyhow::Result<u64> {
    let (num, mult) = match s.chars().last() {
        Some('s') => (&s[..s.len() - 1], 1),
        Some('m') => (&s[..s.len() - 1], 60),
        Some('h') => (&s[..s.len() - 1], 3600),
        Some('d') => (&s[..s.len() - 1], 86400),
        _ => (s, 1),
    };
    let n: u64 = num.parse().map_err(|_| {
        anyhow::anyhow!("--ttl: `{s}` is not a duration like 3600s, 90m, 12h or 30d")
    })?;
    n.checked_mul(mult)
        .ok_or_else(|| anyhow::anyhow!("--ttl: `{s}` is too long"))
}

/// Lists a route: one page, or every page with `--all`, printed as JSON or as a table of `cols`.
pub(crate) async fn list<T: DeserializeOwned + Serialize>(
    c: &Client,
    json: bool,
    path: &str,
    filters: &[(&'static str, Option<&str>)],
    page: &Page,
    cols: &[&str],
) -> anyhow::Result<()> {
    let (mut items, mut next) = c
        .list::<T>(path, params(filters, page.after.clone(), page.limit))
        .await?;
    while page.all && next.is_some() {
        let (more, n) = c
            .list::<T>(
                path,
                params(filters, next.clone(), page.limit.or(Some(500))),
            )
            .await?;
        items.extend(more);
        next = n;
    }
    table(json, &items, next.as_deref(), cols)
}

fn params<'a>(
    pairs: &[(&'a str, Option<&str>)],
    after: Option<String>,
    limit: Option<u32>,
) -> Params<'a> {
    let mut p: Params<'a> = pairs
        .iter()
        .map(|(k, v)| (*k, v.map(str::to_string)))
        .collect();
    p.push(("after", after));
    p.push(("limit", limit.map(|l| l.to_string())));
    p
}

fn show<T: Serialize>(json: bool, v: &T) -> anyhow::Result<()> {
    record(json, v)
}

const IDENTITY_COLS: &[&str] = &[
    "id",
    "name",
    "kind",
    "state",
    "tier",
    "environment",
    "source",
];

pub async fn identity(c: &Client, json: bool, cmd: IdentityCmd) -> anyhow::Result<()> {
    match cmd {
        IdentityCmd::Create {
            name,
            kind,
            owner,
            purpose,
            environment,
            systems,
            tier,
            tier_reason,
            expires_at,
            source,
            external_id,
            labels,
        } => {
            let req = CreateIdentityRequest {
                kind: parse_opt("kind", Some(&kind))?,
                name: Some(name),
                owner,
                purpose,
                environment,
                systems,
                tier: parse_opt("tier", tier.as_deref())?,
                tier_reason,
                labels: parse_labels(&labels)?,
                expires_at: parse_time("expires-at", expires_at.as_deref())?,
                source,
                external_id,
            };
            show(json, &c.create_identity(&req).await?)
        }
        IdentityCmd::List {
            kind,
            owner,
            state,
            tier,
            environment,
            source,
            system,
            q,
            page,
        } => {
            let filters = [
                ("kind", kind.as_deref()),
                ("owner", owner.as_deref()),
                ("state", state.as_deref()),
                ("tier", tier.as_deref()),
                ("environment", environment.as_deref()),
                ("source", source.as_deref()),
                ("system", system.as_deref()),
                ("q", q.as_deref()),
            ];
            list::<IdentityView>(c, json, "/identities", &filters, &page, IDENTITY_COLS).await
        }
        IdentityCmd::Show { id } => show(json, &c.identity(&id).await?),
        IdentityCmd::Update {
            id,
            version,
            name,
            owner,
            purpose,
            environment,
            tier,
            tier_reason,
            expires_at,
            reviewed,
        } => {
            let req = UpdateIdentityRequest {
                version: Some(version),
                name,
                owner,
                purpose,
                environment: environment.map(Some),
                systems: None,
                tier: parse_opt("tier", tier.as_deref())?,
                tier_reason: tier_reason.map(Some),
                labels: None,
                expires_at: parse_time("expires-at", expires_at.as_deref())?.map(Some),
                reviewed,
            };
            show(json, &c.update_identity(&id, &req).await?)
        }
        IdentityCmd::Suspend { id, reason } => {
            transition(c, json, &id, "suspended", Some(reason)).await
        }
        IdentityCmd::Resume { id, reason } => transition(c, json, &id, "active", reason).await,
        IdentityCmd::Offboard {
            id,
            reason,
            no_wait,
            receipt,
        } => crate::offboard_cmd::offboard(c, json, &id, &reason, no_wait, receipt).await,
        IdentityCmd::Transition { id, to, reason } => transition(c, json, &id, &to, reason).await,
    }
}

async fn transition(
    c: &Client,
    json: bool,
    id: &str,
    to: &str,
    reason: Option<String>,
) -> anyhow::Result<()> {
    let req = TransitionRequest {
        state: parse_opt("to", Some(to))?,
        reason,
        version: None,
    };
    show(json, &c.transition(id, &req).await?)
}

pub async fn owner(c: &Client, json: bool, cmd: OwnerCmd) -> anyhow::Result<()> {
    match cmd {
        OwnerCmd::Create {
            name,
            kind,
            contact,
            display_name,
        } => {
            let req = CreateOwnerRequest {
                name: Some(name),
                display_name,
                kind: parse_opt("kind", Some(&kind))?,
                contact: Some(contact),
            };
            show(json, &c.create_owner(&req).await?)
        }
        OwnerCmd::List { q, page } => {
            let filters = [("q", q.as_deref())];
            list::<OwnerView>(
                c,
                json,
                "/owners",
                &filters,
                &page,
                &["id", "name", "kind", "contact", "active"],
            )
            .await
        }
        OwnerCmd::Show { owner } => show(json, &c.owner(&owner).await?),
        OwnerCmd::Depart {
            owner,
            reason,
            reassign_to,
        } => {
            let r = c
                .depart_owner(
                    &owner,
                    &holdfast_types::DepartRequest {
                        reason: Some(reason),
                        reassign_to,
                    },
                )
                .await?;
            crate::output::record(json, &r)
        }
        OwnerCmd::Update {
            owner,
            version,
            contact,
            active,
        } => {
            let req = UpdateOwnerRequest {
                version: Some(version),
                display_name: None,
                contact,
                active,
            };
            show(json, &c.update_owner(&owner, &req).await?)
        }
    }
}

pub async fn system(c: &Client, json: bool, cmd: SystemCmd) -> anyhow::Result<()> {
    match cmd {
        SystemCmd::Create {
            name,
            kind,
            description,
            environment,
        } => {
            let req = CreateSystemRequest {
                name: Some(name),
                kind: parse_opt("kind", Some(&kind))?,
                description,
                environment,
            };
            show(json, &c.create_system(&req).await?)
        }
        SystemCmd::List { kind, page } => {
            let filters = [("kind", kind.as_deref())];
            list::<SystemView>(
                c,
                json,
                "/systems",
                &filters,
                &page,
                &["id", "name", "kind", "environment"],
            )
            .await
        }
        SystemCmd::Show { system } => show(json, &c.system(&system).await?),
    }
}

pub async fn credential(c: &Client, json: bool, cmd: CredentialCmd) -> anyhow::Result<()> {
    match cmd {
        CredentialCmd::Create {
            identity,
            kind,
            name,
            external_id,
            fingerprint,
            value_stdin,
            stored_in,
            expires_at,
        } => {
            let value = if value_stdin {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("cannot read the secret value from stdin")?;
                Some(s.trim_end_matches(['\n', '\r']).to_string())
            } else {
                None
            };
            let req = CreateCredentialRequest {
                identity: Some(identity),
                kind: parse_opt("kind", Some(&kind))?,
                name: Some(name),
                external_id,
                fingerprint,
                value,
                stored_in,
                issued_at: None,
                expires_at: parse_time("expires-at", expires_at.as_deref())?,
                last_rotated_at: None,
            };
            show(json, &c.create_credential(&req).await?)
        }
        CredentialCmd::List {
            identity,
            fingerprint,
            page,
        } => {
            let filters = [
                ("identity", identity.as_deref()),
                ("fingerprint", fingerprint.as_deref()),
            ];
            list::<CredentialView>(
                c,
                json,
                "/credentials",
                &filters,
                &page,
                &["id", "name", "kind", "state", "identity_id", "fingerprint"],
            )
            .await
        }
        CredentialCmd::Show { id } => show(json, &c.credential(&id).await?),
        CredentialCmd::AddExposure {
            id,
            location,
            source,
            detail,
        } => {
            let req = AddExposureRequest {
                location: Some(location),
                source,
                detail,
            };
            show(json, &c.add_exposure(&id, &req).await?)
        }
        CredentialCmd::Revoke { id, version } => {
            let req = UpdateCredentialRequest {
                version: Some(version),
                state: Some(holdfast_core::CredentialState::Revoked),
                ..Default::default()
            };
            show(json, &c.update_credential(&id, &req).await?)
        }
    }
}

pub async fn entitlement(c: &Client, json: bool, cmd: EntitlementCmd) -> anyhow::Result<()> {
    match cmd {
        EntitlementCmd::Create {
            identity,
            system,
            resource,
            actions,
            granted_by,
        } => {
            let req = CreateEntitlementRequest {
                identity: Some(identity),
                system,
                resource: Some(resource),
                actions,
                granted_by: Some(granted_by),
            };
            show(json, &c.create_entitlement(&req).await?)
        }
        EntitlementCmd::List {
            identity,
            system,
            page,
        } => {
            let filters = [
                ("identity", identity.as_deref()),
                ("system", system.as_deref()),
            ];
            list::<EntitlementView>(
                c,
                json,
                "/entitlements",
                &filters,
                &page,
                &["id", "identity_id", "resource", "actions", "granted_by"],
            )
            .await
        }
        EntitlementCmd::Show { id } => show(json, &c.entitlement(&id).await?),
        EntitlementCmd::Delete { id, version } => {
            c.delete_entitlement(&id, version).await?;
            if json {
                println!("{}", serde_json::json!({"deleted": id}));
            } else {
                println!("entitlement {id} deleted");
            }
            Ok(())
        }
    }
}

pub async fn token(c: &Client, json: bool, cmd: TokenCmd) -> anyhow::Result<()> {
    match cmd {
        TokenCmd::Create {
            name,
            roles,
            identity,
            groups,
            ttl,
        } => {
            let roles = roles
                .iter()
                .map(|s| {
                    s.parse::<holdfast_core::Role>()
                        .map_err(|e| anyhow::anyhow!("--role: {e}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let req = CreateTokenRequest {
                name: Some(name),
                roles,
                identity,
                groups,
                ttl_seconds: ttl.as_deref().map(parse_ttl).transpose()?,
            };
            let created = c.create_token(&req).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&created)?);
            } else {
                println!(
                    "token {} ({}) created; it is shown only now:\n\n  {}\n",
                    created.info.id, created.info.name, created.token
                );
            }
            Ok(())
        }
        TokenCmd::List { page } => {
            list::<TokenView>(
                c,
                json,
                "/tokens",
                &[],
                &page,
                &[
                    "id",
                    "name",
                    "roles",
                    "identity",
                    "expires_at",
                    "revoked_at",
                ],
            )
            .await
        }
        TokenCmd::Revoke { id } => {
            let id =
                Uuid::try_parse(&id).map_err(|_| anyhow::anyhow!("`{id}` is not a token id"))?;
            show(json, &c.revoke_token(id).await?)
        }
    }
}

/// Returns whether the log verified.
pub async fn audit(c: &Client, json: bool, cmd: AuditCmd) -> anyhow::Result<bool> {
    match cmd {
        AuditCmd::Verify { public_keys } => {
            let keys = (!public_keys.is_empty()).then(|| public_keys.join(","));
            let report = c.audit_verify(keys).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if let Some(p) = &report.problem {
                println!(
                    "audit log FAILED verification at record {}: {}",
                    p.seq, p.message
                );
                println!("(checked {} records before it)", report.records_checked);
            } else {
                println!(
                    "audit log verified: {} records, {} signed checkpoints, head {} at record {}",
                    report.records_checked,
                    report.checkpoints_verified,
                    report.head_hash,
                    report.last_seq
                );
            }
            Ok(report.ok)
        }
        AuditCmd::Tail { lines } => {
            let page = c.audit(None, Some(lines.clamp(1, 1000))).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&page)?);
            } else {
                for r in page.items {
                    let e = r.event;
                    let when = e.time.format(&Rfc3339).unwrap_or_default();
                    let outcome = serde_json::to_value(e.outcome)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    println!(
                        "{:>6}  {when}  {outcome:7}  {:28}  {}  {}",
                        r.seq,
                        e.action,
                        e.target.unwrap_or_else(|| "-".into()),
                        e.actor
                    );
                }
            }
            Ok(true)
        }
        AuditCmd::Keys => {
            let keys = c.audit_keys().await?;
            table(json, &keys, None, &["key_id", "public_key"])?;
            Ok(true)
        }
    }
}

pub async fn operator(c: &Client, json: bool, cmd: crate::cli::OperatorCmd) -> anyhow::Result<()> {
    use crate::cli::OperatorCmd;
    match cmd {
        OperatorCmd::Init { shares, threshold } => init(c, json, shares, threshold).await,
        OperatorCmd::Unseal => {
            let mut line = zeroize::Zeroizing::new(String::new());
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the share from standard input")?;
            let s = c.unseal(line.trim()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else if s.sealed {
                println!("sealed: {} of {} shares given", s.progress, s.threshold);
            } else {
                println!("unsealed");
            }
            Ok(())
        }
        OperatorCmd::Rekey { shares, threshold } => {
            let mut status = c
                .rekey_start(&holdfast_types::InitRequest { shares, threshold })
                .await?;
            eprintln!(
                "rekey started: give {} of the current shares, one per line",
                status.threshold
            );
            for line in std::io::stdin().lines() {
                let line = zeroize::Zeroizing::new(line.context("cannot read a share")?);
                if line.trim().is_empty() {
                    continue;
                }
                status = c.rekey_share("authorize", line.trim()).await?;
                if status.phase == "verify" {
                    break;
                }
            }
            if status.phase != "verify" {
                bail!(
                    "not enough current shares: {} of {}",
                    status.progress,
                    status.threshold
                );
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                println!(
                    "New unseal key shares (shown only now; any {} of them unseal). They replace the old ones once `holdfast operator rekey-verify` has been given {} of them:\n",
                    status.threshold, status.threshold
                );
                for s in &status.new_shares {
                    println!("  {s}");
                }
            }
            Ok(())
        }
        OperatorCmd::RekeyVerify => {
            let mut last = None;
            for line in std::io::stdin().lines() {
                let line = zeroize::Zeroizing::new(line.context("cannot read a share")?);
                if line.trim().is_empty() {
                    continue;
                }
                let status = c.rekey_share("verify", line.trim()).await?;
                let done = status.phase == "done";
                last = Some(status);
                if done {
                    break;
                }
            }
            let status = last.context("no share given")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else if status.phase == "done" {
                println!("rekeyed: only the new shares unseal from now on");
            } else {
                println!(
                    "verifying: {} of {} new shares given; the old shares still work",
                    status.progress, status.threshold
                );
            }
            Ok(())
        }
        OperatorCmd::RotateKeyring => {
            let r = c.rotate_keyring().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "data key {} is active; {} versions re-encrypted, {} could not be",
                    r.active_key, r.rewrapped, r.failed
                );
            }
            Ok(())
        }
        OperatorCmd::Seal => {
            let s = c.seal().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!("sealed: {} shares needed to unseal", s.threshold);
            }
            Ok(())
        }
    }
}

async fn init(
    c: &Client,
    json: bool,
    shares: Option<u8>,
    threshold: Option<u8>,
) -> anyhow::Result<()> {
    let r = c
        .init_with(&holdfast_types::InitRequest { shares, threshold })
        .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!("Holdfast initialised.\n");
        println!(
            "Root token (shown only now; Holdfast keeps only its hash):\n\n  {}\n",
            r.root_token
        );
        if r.unseal_shares.is_empty() {
            println!(
                "The vault's root key is in the server's key file; it unseals itself at start.\n"
            );
        } else {
            println!(
                "Unseal key shares (shown only now; any {} of them unseal a restarted server — give each to a different person):\n",
                r.unseal_threshold
            );
            for s in &r.unseal_shares {
                println!("  {s}");
            }
            println!();
        }
        println!(
            "Audit signing key {} (pin it with `holdfast audit verify --public-key`):\n\n  {}\n",
            r.audit_public_key.key_id, r.audit_public_key.public_key
        );
        println!(
            "Create scoped tokens with `holdfast token create` and keep the root token offline."
        );
    }
    Ok(())
}

pub async fn leak(c: &Client, json: bool, cmd: LeakCmd) -> anyhow::Result<()> {
    match cmd {
        LeakCmd::List { rule, page } => {
            let filters = [("rule", rule.as_deref())];
            list::<LeakView>(
                c,
                json,
                "/leaks",
                &filters,
                &page,
                &["id", "rule", "preview", "fingerprint", "last_seen"],
            )
            .await
        }
    }
}

/// Secret paths are checked here as the server checks them: URL handling would otherwise quietly
/// turn `a/../b` into `b` before the server could refuse it.
fn check_secret_path(path: &str) -> anyhow::Result<()> {
    let ok = !path.is_empty()
        && path.len() <= 512
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        });
    if !ok {
        bail!(
            "`{path}` is not a secret path: `/`-separated segments of letters, digits, `.`, `_` or `-` (no empty, `.` or `..` segment)"
        );
    }
    Ok(())
}

pub async fn secret(c: &Client, json: bool, cmd: crate::cli::SecretCmd) -> anyhow::Result<()> {
    use crate::cli::SecretCmd;
    match &cmd {
        SecretCmd::Put { path, .. }
        | SecretCmd::Get { path, .. }
        | SecretCmd::Versions { path }
        | SecretCmd::Delete { path, .. }
        | SecretCmd::Undelete { path, .. }
        | SecretCmd::Destroy { path, .. }
        | SecretCmd::Rotate { path, .. }
        | SecretCmd::Rotation { path }
        | SecretCmd::RotationAck { path } => check_secret_path(path)?,
        SecretCmd::List { .. } | SecretCmd::RotateEmergency { .. } => {}
    }
    match cmd {
        SecretCmd::Put {
            path,
            value_file,
            cas,
            owner_identity,
            consumers,
            max_age_days,
        } => {
            let value = zeroize::Zeroizing::new(match value_file {
                Some(f) => std::fs::read_to_string(&f)
                    .with_context(|| format!("cannot read `{}`", f.display()))?,
                None => {
                    let mut v = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut v)
                        .context("cannot read the value from standard input")?;
                    v
                }
            });
            // One trailing newline (from `echo` or an editor) is not part of the value.
            let trimmed = value.strip_suffix('\n').unwrap_or(&value);
            let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
            let req = holdfast_types::PutSecretRequest {
                value: Some(trimmed.to_string()),
                cas,
                owner_identity,
                consumers: (!consumers.is_empty()).then_some(consumers),
                max_age_days,
            };
            let w = c.put_secret(&path, &req).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&w)?);
            } else {
                println!("{} version {}", w.path, w.version);
            }
        }
        SecretCmd::Get { path, version } => {
            let v = c.get_secret(&path, version).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{}", v.value);
            }
        }
        SecretCmd::List { prefix, page } => {
            let filters = [("prefix", prefix.as_deref())];
            list::<holdfast_types::SecretMetaView>(
                c,
                json,
                "/secrets",
                &filters,
                &page,
                &[
                    "path",
                    "current",
                    "rotation_due_at",
                    "last_read_at",
                    "updated_at",
                ],
            )
            .await?;
        }
        SecretCmd::Versions { path } => {
            let m = c.secret_metadata(&path).await?;
            crate::output::record(json, &m)?;
        }
        SecretCmd::Delete { path, versions } => {
            let m = c.secret_versions("delete", &path, versions).await?;
            crate::output::record(json, &m)?;
        }
        SecretCmd::Undelete { path, versions } => {
            let m = c.secret_versions("undelete", &path, versions).await?;
            crate::output::record(json, &m)?;
        }
        SecretCmd::Rotate {
            path,
            rotator,
            admin_secret,
            blue_role,
            green_role,
            name,
            blue_login,
            green_login,
            grace_seconds,
        } => {
            let need = |v: Option<String>, flag: &str| {
                v.ok_or_else(|| anyhow::anyhow!("`--rotator {rotator}` needs `{flag}`"))
            };
            let settings = match rotator.as_str() {
                "postgres" => serde_json::json!({
                    "admin_secret": need(admin_secret, "--admin-secret")?,
                    "blue_role": need(blue_role, "--blue-role")?,
                    "green_role": need(green_role, "--green-role")?,
                }),
                "command" | "webhook" => serde_json::json!({
                    "name": need(name, "--name")?,
                    "blue_login": need(blue_login, "--blue-login")?,
                    "green_login": need(green_login, "--green-login")?,
                }),
                other => {
                    bail!("unknown rotator `{other}`: expected `postgres`, `command` or `webhook`")
                }
            };
            let req = holdfast_types::StartRotationRequest {
                rotator: Some(rotator),
                settings: Some(settings),
                grace_seconds,
            };
            let r = c.start_rotation(&path, &req).await?;
            crate::output::record(json, &r)?;
        }
        SecretCmd::Rotation { path } => {
            let r = c.rotation(&path).await?;
            crate::output::record(json, &r)?;
        }
        SecretCmd::RotationAck { path } => {
            let r = c.acknowledge_rotation(&path).await?;
            crate::output::record(json, &r)?;
        }
        SecretCmd::RotateEmergency {
            identity,
            fingerprint,
        } => {
            let r = c
                .emergency_rotation(&holdfast_types::EmergencyRotationRequest {
                    identity,
                    fingerprint,
                })
                .await?;
            crate::output::record(json, &r)?;
        }
        SecretCmd::Destroy { path, versions } => {
            let m = c.secret_versions("destroy", &path, versions).await?;
            crate::output::record(json, &m)?;
        }
    }
    Ok(())
}
