//! Recomputing posture: load the inventory and the graph, assess it, reconcile the findings with
//! what is stored (opened, reopened, resolved, acceptances expired) and write the changes with one
//! audit record. The sweeper recomputes when the audit log has moved since the last run (every
//! change Holdfast makes is audited, so an unmoved log means an unchanged inventory), at most once
//! per interval; `POST /v1/findings/recompute` recomputes at once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use holdfast_core::{
    Credential, CredentialState, DiscoverySource, Entitlement, Identity, Leak, Owner, Secret,
    System,
};
use holdfast_monitor::{Alert, ProfileRecord};
use holdfast_posture::{
    Estate, FindingRecord, FindingState, PostureRun, RecomputeReport, Risk, Settings,
};
use holdfast_store::{Change, Filter, Value, find_all, get};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// `[posture]` of the server's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostureConfig {
    /// Recompute at most this often when the inventory changed (seconds).
    pub interval_seconds: u64,
    /// The longest a risk acceptance may last (days).
    pub max_acceptance_days: i64,
    /// The engine's thresholds (`[posture.thresholds]`).
    pub thresholds: Settings,
}

impl Default for PostureConfig {
    fn default() -> Self {
        PostureConfig {
            interval_seconds: 60,
            max_acceptance_days: 365,
            thresholds: Settings::default(),
        }
    }
}

impl PostureConfig {
    /// The first problem, naming its field.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=86_400).contains(&self.interval_seconds) {
            return Err(format!(
                "posture.interval_seconds: must be between 1 and 86400, not {}",
                self.interval_seconds
            ));
        }
        if !(1..=1825).contains(&self.max_acceptance_days) {
            return Err(format!(
                "posture.max_acceptance_days: must be between 1 and 1825, not {}",
                self.max_acceptance_days
            ));
        }
        if let Some((field, why)) = self.thresholds.problems().into_iter().next() {
            return Err(format!("posture.thresholds.{field}: {why}"));
        }
        Ok(())
    }
}

/// Posture settings and what this node last saw.
#[derive(Debug)]
pub struct PostureState {
    pub config: PostureConfig,
    /// One recompute at a time on this node.
    running: tokio::sync::Mutex<()>,
    /// The audit sequence number the last assessment saw (or wrote).
    seen_seq: AtomicU64,
    /// Unix seconds of the last assessment.
    last_run: AtomicI64,
}

impl PostureState {
    pub fn new(config: PostureConfig) -> Self {
        PostureState {
            config,
            running: Default::default(),
            seen_seq: AtomicU64::new(0),
            last_run: AtomicI64::new(0),
        }
    }
}

/// Raised findings counted by OWASP item, severity and rule.
#[derive(Debug, Default)]
struct Counts {
    raised: u64,
    by_owasp: BTreeMap<String, u64>,
    by_severity: BTreeMap<String, u64>,
    by_rule: BTreeMap<String, u64>,
}

/// Reads every record of a table.
async fn all<R: holdfast_store::Record>(
    store: &dyn holdfast_store::Store,
    filters: Vec<Filter>,
) -> ApiResult<Vec<R>> {
    Ok(find_all::<R>(store, filters, 1000).await?)
}

/// The id of the run record of a UTC day: one record per day keeps the trend without growing
/// with every recompute.
fn day_id(t: OffsetDateTime) -> Uuid {
    let day = t.unix_timestamp().div_euclid(86_400);
    Uuid::from_u64_pair(0x686f_6c64_6661_7374, u64::try_from(day).unwrap_or(0))
}

/// Recomputes when the audit log moved since the last run and the interval has passed.
pub async fn maybe_recompute(state: &AppState) -> ApiResult<bool> {
    let now = state.clock.now().unix_timestamp();
    let last = state.posture.last_run.load(Ordering::Relaxed);
    let interval = i64::try_from(state.posture.config.interval_seconds).unwrap_or(60);
    if last != 0 && now - last < interval {
        return Ok(false);
    }
    let head = state.store.audit_head().await?.map_or(0, |h| h.seq);
    // Time alone changes findings too (ages, expiries, acceptances running out): an unchanged
    // inventory is still assessed again once an hour.
    if head <= state.posture.seen_seq.load(Ordering::Relaxed) && now - last < STALE_AFTER_SECONDS {
        return Ok(false);
    }
    recompute(state, None).await.map(|r| r.is_some())
}

/// The longest an assessment stands without being redone, changes or not.
const STALE_AFTER_SECONDS: i64 = 3600;

/// Assesses the estate and writes what changed. `by` names the caller of an explicit recompute
/// (which always records its run); without it, a run that changes nothing writes nothing.
pub async fn recompute(state: &AppState, by: Option<&str>) -> ApiResult<Option<RecomputeReport>> {
    let _one = state.posture.running.lock().await;
    let now = state.clock.now();
    state
        .posture
        .last_run
        .store(now.unix_timestamp(), Ordering::Relaxed);
    let (report, seq, _) = assess_and_write(
        state.store.as_ref(),
        &state.graph,
        &state.posture.config.thresholds,
        now,
        by,
    )
    .await?;
    state.posture.seen_seq.store(seq, Ordering::Relaxed);
    Ok(report)
}

/// Where the time of one recompute went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub load: std::time::Duration,
    pub assess: std::time::Duration,
    pub write: std::time::Duration,
    pub findings: usize,
}

/// The work of [`recompute`] on a store: load, assess, reconcile, write. Returns the report (none
/// when nothing changed and no caller asked), the audit sequence number it saw or wrote, and
/// its timings.
pub async fn assess_and_write(
    store: &dyn holdfast_store::Store,
    graph_cache: &crate::discovery::GraphCache,
    settings: &Settings,
    now: OffsetDateTime,
    by: Option<&str>,
) -> ApiResult<(Option<RecomputeReport>, u64, Timings)> {
    let head = store.audit_head().await?.map_or(0, |h| h.seq);
    let started = std::time::Instant::now();
    let identities: Vec<Identity> = all(store, vec![]).await?;
    let credentials: Vec<Credential> = all(store, vec![]).await?;
    let entitlements: Vec<Entitlement> = all(store, vec![]).await?;
    let owners: Vec<Owner> = all(store, vec![]).await?;
    let systems: Vec<System> = all(store, vec![]).await?;
    let leaks: Vec<Leak> = all(store, vec![]).await?;
    let secrets: Vec<Secret> = all(store, vec![]).await?;
    let sources: Vec<DiscoverySource> = all(store, vec![]).await?;
    let profiles: Vec<ProfileRecord> = all(store, vec![]).await?;
    let alerts: Vec<Alert> = all(
        store,
        vec![Filter::Eq("detection", Value::text("human_style_use"))],
    )
    .await?;
    let stored: Vec<FindingRecord> = all(store, vec![]).await?;
    let graph = graph_cache.get(store).await?;
    let settings = settings.clone();
    let mut timings = Timings {
        load: started.elapsed(),
        ..Timings::default()
    };
    let assessing = std::time::Instant::now();
    let actor = by.unwrap_or("holdfast").to_string();
    let n_identities = identities.len() as u64;
    let (risks, counts, reconciled) = tokio::task::spawn_blocking(move || {
        let estate = Estate {
            identities: &identities,
            credentials: &credentials,
            entitlements: &entitlements,
            owners: &owners,
            systems: &systems,
            leaks: &leaks,
            secrets: &secrets,
            sources: &sources,
            profiles: &profiles,
            alerts: &alerts,
            graph: Some(graph.as_ref()),
        };
        let holdfast_posture::Assessment { findings, risks } =
            holdfast_posture::assess(&estate, &settings, now);
        // Every raised finding is one of this assessment's: count them before they move.
        let mut counts = Counts {
            raised: findings.len() as u64,
            ..Counts::default()
        };
        for f in &findings {
            for o in &f.owasp {
                *counts.by_owasp.entry(o.clone()).or_default() += 1;
            }
            *counts
                .by_severity
                .entry(f.severity.as_str().to_string())
                .or_default() += 1;
            *counts.by_rule.entry(f.rule.clone()).or_default() += 1;
        }
        let reconciled = holdfast_posture::reconcile(stored, findings, now, &actor);
        (risks, counts, reconciled)
    })
    .await
    .map_err(|e| ApiError::internal("assessing posture", e))?;
    timings.assess = assessing.elapsed();
    timings.findings = usize::try_from(counts.raised).unwrap_or(usize::MAX);
    let changed = !reconciled.inserts.is_empty() || !reconciled.updates.is_empty();
    if !changed && by.is_none() {
        return Ok((None, head, timings));
    }
    let writing = std::time::Instant::now();
    let mut top: Vec<Risk> = risks;
    top.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.identity_id.cmp(&b.identity_id))
    });
    top.truncate(25);
    let id = day_id(now);
    let previous: Option<PostureRun> = get(store, id).await?;
    let run = PostureRun {
        id,
        version: previous.as_ref().map_or(1, |p| p.version + 1),
        at: now,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        identities: n_identities,
        raised: counts.raised,
        accepted: reconciled.accepted,
        opened: reconciled.opened,
        reopened: reconciled.reopened,
        resolved: reconciled.resolved,
        acceptances_expired: reconciled.acceptances_expired,
        by_owasp: counts.by_owasp,
        by_severity: counts.by_severity,
        by_rule: counts.by_rule,
        top_risks: top,
    };
    let sample = |rs: &[FindingRecord], pick: &dyn Fn(&FindingRecord) -> bool| -> Vec<String> {
        rs.iter()
            .filter(|r| pick(r))
            .take(50)
            .map(|r| r.key.clone())
            .collect()
    };
    let detail = json!({
        "identities": run.identities,
        "raised": run.raised,
        "opened": run.opened,
        "reopened": run.reopened,
        "resolved": run.resolved,
        "acceptances_expired": run.acceptances_expired,
        "opened_keys": sample(&reconciled.inserts, &|_| true),
        "resolved_keys": sample(&reconciled.updates, &|r| r.state == FindingState::Resolved),
        "duration_ms": run.duration_ms,
    });
    let mut changes: Vec<Change> =
        Vec::with_capacity(reconciled.inserts.len() + reconciled.updates.len() + 1);
    for r in &reconciled.inserts {
        changes.push(Change::insert(r)?);
    }
    for r in &reconciled.updates {
        changes.push(Change::update(r)?);
    }
    changes.push(if previous.is_some() {
        Change::update(&run)?
    } else {
        Change::insert(&run)?
    });
    let event = holdfast_audit::AuditEvent {
        time: now,
        actor: by.unwrap_or("holdfast").to_string(),
        action: "posture.recompute".into(),
        target: Some("posture".into()),
        outcome: holdfast_audit::Outcome::Success,
        source: None,
        request_id: None,
        detail,
    };
    let seq = store.apply(changes, event).await?;
    timings.write = writing.elapsed();
    Ok((Some(RecomputeReport { run, changed }), seq, timings))
}

/// One identity's risk now: its tier, blast radius, exposed and oldest credentials, and the
/// severity of its raised findings.
pub async fn risk_of(state: &AppState, identity: &Identity) -> ApiResult<Risk> {
    let store = state.store.as_ref();
    let creds: Vec<Credential> = holdfast_store::of_identity(store, identity.id).await?;
    let findings: Vec<FindingRecord> = holdfast_store::of_identity(store, identity.id).await?;
    if identity.state == holdfast_core::LifecycleState::Offboarded {
        return Ok(Risk::offboarded(identity.id));
    }
    let graph = state.graph.get(store).await?;
    let blast = identity
        .graph_key
        .as_deref()
        .and_then(|k| graph.find(k))
        .map_or(0, |n| graph.summarize(n).score);
    let now = state.clock.now();
    let active: Vec<&Credential> = creds
        .iter()
        .filter(|c| c.state == CredentialState::Active)
        .collect();
    let mut risk = holdfast_posture::risk(&holdfast_posture::RiskInput {
        identity_id: identity.id,
        tier: identity.tier,
        blast,
        exposed_credentials: active.iter().filter(|c| !c.exposures.is_empty()).count(),
        oldest_credential_days: active
            .iter()
            .map(|c| (now - c.last_rotated_at.or(c.issued_at).unwrap_or(c.created_at)).whole_days())
            .max(),
        max_age_days: state.posture.config.thresholds.max_credential_age_days,
    });
    risk.add_findings(
        findings
            .iter()
            .filter(|f| f.state != FindingState::Resolved)
            .map(|f| holdfast_posture::severity_points(f.severity))
            .sum(),
    );
    Ok(risk)
}
