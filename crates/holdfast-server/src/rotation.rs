//! The rotation engine: starts rotations (the new value stored as a pending version and the job in
//! one transaction) and drives them step by step in a background worker. Each step runs under a
//! lease taken with an optimistic version check, so with several replicas on one PostgreSQL exactly
//! one drives a rotation; each step's outcome is persisted (with its audit record) before the next
//! step, and an interrupted step is repeated — rotators' steps are idempotent. Consumers are
//! pointed at the new version only after it works at the target, and the old credential is revoked
//! only after the grace period: never a moment with neither valid.

use std::time::Duration;

use holdfast_audit::{AuditEvent, Outcome};
use holdfast_core::{RotationJob, Secret};
use holdfast_rotate::{
    CommandRotator, CommandSettings, PostgresRotator, PostgresSettings, Rotator, WebhookRotator,
    WebhookSettings,
};
use holdfast_store::{Change, Filter, Value, find_all, get_by};
use holdfast_vault::rotation::{Rotation, Step};
use holdfast_vault::{Envelope, Keyring};
use serde::Deserialize;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::state::AppState;

/// How long a lease on a rotation lasts: a replica that died holding one gives it up this late.
pub const LEASE: Duration = Duration::from_secs(30);

/// The value a rotated secret holds: the login and its password, as JSON.
#[derive(serde::Serialize, Deserialize)]
pub struct RotatedValue {
    pub login: String,
    pub password: String,
}

impl std::fmt::Debug for RotatedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatedValue")
            .field("login", &self.login)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Reads the newest version of a vault secret (for rotators' own credentials).
pub async fn read_value(
    state: &AppState,
    keyring: &Keyring,
    path: &str,
    version: Option<u64>,
) -> Result<Zeroizing<String>, String> {
    let secret: Secret = get_by(state.store.as_ref(), "path", path)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("secret `{path}` does not exist"))?;
    let version = version.unwrap_or(secret.current);
    let entry = secret
        .versions
        .iter()
        .find(|v| v.version == version && !v.destroyed)
        .ok_or_else(|| format!("`{path}` has no version {version}"))?;
    let env: Envelope = entry.ciphertext.parse().map_err(|e| format!("{e}"))?;
    let plain = keyring
        .decrypt(path, version, &env)
        .map_err(|e| e.to_string())?;
    String::from_utf8(plain.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| format!("`{path}` version {version} is not text"))
}

/// The rotator a job names.
pub async fn rotator_for(
    state: &AppState,
    keyring: &Keyring,
    kind: &str,
    config: &serde_json::Value,
) -> Result<Box<dyn Rotator>, String> {
    match kind {
        "postgres" => {
            let settings: PostgresSettings = serde_json::from_value(config.clone())
                .map_err(|e| format!("rotator settings: {e}"))?;
            settings.check().map_err(|e| e.to_string())?;
            let admin = read_value(state, keyring, &settings.admin_secret, None)
                .await
                .map_err(|e| format!("the admin connection secret: {e}"))?;
            Ok(Box::new(
                PostgresRotator::new(settings, admin).map_err(|e| e.to_string())?,
            ))
        }
        "command" => {
            let settings: CommandSettings = serde_json::from_value(config.clone())
                .map_err(|e| format!("rotator settings: {e}"))?;
            let spec = state.rotators.command.get(&settings.name).cloned().ok_or_else(|| {
                format!(
                    "no command rotator named `{}` is declared in the server's configuration ([rotators.command.<name>])",
                    settings.name
                )
            })?;
            Ok(Box::new(
                CommandRotator::new(spec, settings).map_err(|e| e.to_string())?,
            ))
        }
        "webhook" => {
            let settings: WebhookSettings = serde_json::from_value(config.clone())
                .map_err(|e| format!("rotator settings: {e}"))?;
            let spec = state.rotators.webhook.get(&settings.name).cloned().ok_or_else(|| {
                format!(
                    "no webhook rotator named `{}` is declared in the server's configuration ([rotators.webhook.<name>])",
                    settings.name
                )
            })?;
            let key = read_value(state, keyring, &spec.signing_secret, None)
                .await
                .map_err(|e| format!("the webhook signing secret: {e}"))?;
            Ok(Box::new(
                WebhookRotator::new(spec, settings, key).map_err(|e| e.to_string())?,
            ))
        }
        other => Err(format!(
            "unknown rotator `{other}`: expected `postgres`, `command` or `webhook`"
        )),
    }
}

fn event(node: &str, action: &str, path: &str, detail: serde_json::Value) -> AuditEvent {
    AuditEvent {
        time: OffsetDateTime::now_utc(),
        actor: format!("node:{node}"),
        action: action.into(),
        target: Some(format!("secret:{path}")),
        outcome: Outcome::Success,
        source: None,
        request_id: None,
        detail,
    }
}

/// Runs forever: every half second, drives each unfinished rotation one step if it has work now.
pub async fn worker(state: AppState, node: String) {
    loop {
        if !state.vault.is_sealed()
            && let Err(e) = tick(&state, &node).await
        {
            tracing::warn!(error = %e, "rotation worker");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn tick(state: &AppState, node: &str) -> Result<(), String> {
    let open: Vec<RotationJob> = find_all(
        state.store.as_ref(),
        vec![Filter::Eq("finished", Value::Int(Some(0)))],
        100,
    )
    .await
    .map_err(|e| e.to_string())?;
    for job in open {
        if let Err(e) = drive(state, node, job).await {
            tracing::warn!(error = %e, "rotation step");
        }
    }
    schedule(state, node).await
}

/// Reminders already given, as `(path, version)`, so each is given once per process.
static REMINDED: std::sync::Mutex<std::collections::BTreeSet<(String, u64)>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// Max-age policy: a secret whose newest version is older than its `max_age_days` is rotated again
/// the way it was rotated last time; one Holdfast has never rotated gets a reminder (an audit
/// record and a warning) when it reaches nine tenths of its max age.
async fn schedule(state: &AppState, node: &str) -> Result<(), String> {
    let store = state.store.as_ref();
    let secrets: Vec<Secret> = find_all(store, vec![], 500)
        .await
        .map_err(|e| e.to_string())?;
    let now = OffsetDateTime::now_utc();
    for s in secrets {
        let Some(days) = s.max_age_days else { continue };
        let Some(entry) = s.versions.iter().find(|v| v.version == s.current) else {
            continue;
        };
        let max = time::Duration::days(i64::from(days));
        let age = now - entry.created_at;
        if age < max * 9 / 10 {
            continue;
        }
        let open: Vec<RotationJob> = find_all(
            store,
            vec![
                Filter::Eq("path", Value::text(&s.path)),
                Filter::Eq("finished", Value::Int(Some(0))),
            ],
            1,
        )
        .await
        .map_err(|e| e.to_string())?;
        if !open.is_empty() {
            continue;
        }
        let last = crate::routes::rotations::last_rotation(store, &s.path)
            .await
            .map_err(|e| e.message)?;
        match last {
            Some(last) if age >= max => {
                let (changes, job, _) = crate::routes::rotations::plan_rotation(
                    state,
                    &s.path,
                    &last.rotator,
                    last.config.clone(),
                    last.grace_seconds,
                    &format!("node:{node}"),
                    now,
                )
                .await
                .map_err(|e| e.message)?;
                let detail = serde_json::json!({"path": s.path, "rotator": last.rotator, "new_version": job.new_version, "reason": "max age", "max_age_days": days});
                store
                    .apply(changes, event(node, "secret.rotate", &s.path, detail))
                    .await
                    .map_err(|e| e.to_string())?;
                tracing::info!(path = %s.path, "rotation started: the secret reached its max age");
            }
            Some(_) => {}
            None => {
                let key = (s.path.clone(), s.current);
                let first = REMINDED.lock().map(|mut r| r.insert(key)).unwrap_or(false);
                if first {
                    let due = entry.created_at + max;
                    tracing::warn!(path = %s.path, %due, "secret is due for rotation and Holdfast cannot rotate it itself");
                    let detail = serde_json::json!({"path": s.path, "version": s.current, "max_age_days": days, "due_at": due.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()});
                    store
                        .apply(vec![], event(node, "secret.reminder", &s.path, detail))
                        .await
                        .map_err(|e| e.to_string())?;
                    // The audit record is the reminder of record; the webhook follows it.
                    notify_reminder(state, &s.path, s.current, days, due).await;
                }
            }
        }
    }
    Ok(())
}

/// One step of one rotation, if it has one due and this node can lease it.
async fn drive(state: &AppState, node: &str, job: RotationJob) -> Result<(), String> {
    let now = OffsetDateTime::now_utc();
    let rotation: Rotation =
        serde_json::from_value(job.state.clone()).map_err(|e| e.to_string())?;
    let step = rotation.next(now, job.acknowledged);
    if let Step::WaitUntil(_) = step {
        return Ok(());
    }
    if job.lease_until.is_some_and(|t| t > now) && job.lease_owner.as_deref() != Some(node) {
        return Ok(());
    }
    // Lease: an optimistic update; another replica that got there first makes it fail.
    let mut leased = job.clone();
    leased.version += 1;
    leased.lease_owner = Some(node.to_string());
    leased.lease_until = Some(now + LEASE);
    leased.updated_at = now;
    let lease_event = event(
        node,
        "rotation.lease",
        &job.path,
        serde_json::json!({"step": format!("{step:?}")}),
    );
    if state
        .store
        .apply(
            vec![Change::update(&leased).map_err(|e| e.to_string())?],
            lease_event,
        )
        .await
        .is_err()
    {
        return Ok(());
    }
    let keyring = state
        .vault
        .current_keyring(state.store.as_ref())
        .await
        .map_err(|e| e.message)?;
    let outcome = run_step(state, &keyring, &leased, step).await;
    let mut next = leased.clone();
    next.version += 1;
    next.lease_owner = None;
    next.lease_until = None;
    next.updated_at = OffsetDateTime::now_utc();
    let mut changes = Vec::new();
    let detail;
    match outcome {
        Ok(()) => {
            let done = rotation.completed(
                step,
                next.updated_at,
                time::Duration::seconds(job.grace_seconds as i64),
            );
            next.state = serde_json::to_value(done).map_err(|e| e.to_string())?;
            next.finished = matches!(step, Step::Done);
            next.last_error = None;
            if let Step::Promote = step {
                // Consumers now get the new version.
                let mut secret: Secret = get_by(state.store.as_ref(), "path", &job.path)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("the secret vanished")?;
                secret.version += 1;
                secret.current = job.new_version;
                for v in secret
                    .versions
                    .iter_mut()
                    .filter(|v| v.version == job.new_version)
                {
                    v.pending = false;
                }
                secret.updated_at = next.updated_at;
                changes.push(Change::update(&secret).map_err(|e| e.to_string())?);
            }
            detail = serde_json::json!({"step": format!("{step:?}"), "outcome": "done", "phase": next.state});
        }
        Err(e) => {
            next.last_error = Some(e.chars().take(500).collect());
            detail = serde_json::json!({"step": format!("{step:?}"), "outcome": "failed", "error": next.last_error});
        }
    }
    changes.push(Change::update(&next).map_err(|e| e.to_string())?);
    state
        .store
        .apply(changes, event(node, "rotation.step", &job.path, detail))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

async fn run_step(
    state: &AppState,
    keyring: &Keyring,
    job: &RotationJob,
    step: Step,
) -> Result<(), String> {
    match step {
        Step::Apply { slot } => {
            let rotator = rotator_for(state, keyring, &job.rotator, &job.config).await?;
            let value = read_value(state, keyring, &job.path, Some(job.new_version)).await?;
            let parsed: RotatedValue = serde_json::from_str(&value)
                .map_err(|_| "the pending version is not a rotated value")?;
            let password = Zeroizing::new(parsed.password);
            rotator
                .apply(slot, &password)
                .await
                .map_err(|e| e.to_string())?;
            fault("abort-after-apply");
            Ok(())
        }
        Step::Revoke { slot } => {
            let rotator = rotator_for(state, keyring, &job.rotator, &job.config).await?;
            rotator.revoke(slot).await.map_err(|e| e.to_string())?;
            fault("abort-after-revoke");
            Ok(())
        }
        Step::Promote | Step::Done | Step::WaitUntil(_) => Ok(()),
    }
}

/// Posts a reminder to the configured webhook, if any (best effort: the audit record is the
/// reminder of record).
async fn notify_reminder(
    state: &AppState,
    path: &str,
    version: u64,
    days: u32,
    due: OffsetDateTime,
) {
    let Some(spec) = state.rotators.reminders.clone() else {
        return;
    };
    let Ok(keyring) = state.vault.current_keyring(state.store.as_ref()).await else {
        return;
    };
    let Ok(key) = read_value(state, &keyring, &spec.signing_secret, None).await else {
        tracing::warn!(path, "reminder webhook: its signing secret cannot be read");
        return;
    };
    let body = serde_json::json!({
        "kind": "rotation-due",
        "path": path,
        "version": version,
        "max_age_days": days,
        "due_at": due.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    });
    let timeout = Duration::from_secs(spec.timeout_seconds.unwrap_or(10));
    if let Err(e) = holdfast_rotate::post_signed(&spec.url, key.as_bytes(), &body, timeout).await {
        tracing::warn!(path, error = %e, "reminder webhook");
    }
}

/// Test hook: `HOLDFAST_FAULT=<point>` kills the process at that point (after the target changed,
/// before the state is persisted), so tests can show a killed rotation resumes safely.
pub(crate) fn fault(point: &str) {
    if std::env::var("HOLDFAST_FAULT").is_ok_and(|v| v == point) {
        tracing::error!(point, "HOLDFAST_FAULT: aborting");
        std::process::abort();
    }
}
