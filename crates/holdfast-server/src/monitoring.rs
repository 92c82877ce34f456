//! Ingesting events: map each actor to an inventory identity, judge each event against the actor's
//! profile, and store the batch, the profiles and the alerts with one audit record, in one
//! transaction — what the caller is told was accepted is stored, baselines included. Then, outside
//! that transaction, notify and take the automatic responses policy permits, each audited.

use std::collections::{BTreeMap, HashMap, HashSet};

use holdfast_core::{
    ApiToken, Credential, Entitlement, Identity, Lease, LeaseState, LifecycleState, Secret,
};
use holdfast_monitor::{
    ActorKind, Alert, AlertState, Event, EventBatch, Hit, IngestReport, Parsed, Platform,
    ProfileRecord, ResponseTaken, Subject,
};
use holdfast_store::{Change, Filter, Query, Table, Value, find, find_all, get};
use serde_json::json;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::state::Ctx;

/// Monitoring settings (`[monitor]` of the server's configuration) and the lock that makes one
/// node ingest one batch at a time (profiles are read, judged and written back as a unit).
#[derive(Debug)]
pub struct MonitorState {
    pub config: holdfast_monitor::Config,
    pub ingest: tokio::sync::Mutex<()>,
    /// Batches being parsed at once (each can take hundreds of MiB while it is read).
    pub parsing: tokio::sync::Semaphore,
}

impl MonitorState {
    pub fn new(config: holdfast_monitor::Config) -> Self {
        Self {
            config,
            ingest: Default::default(),
            parsing: tokio::sync::Semaphore::new(2),
        }
    }
}

/// The label an owner sets to declare an identity's actions (comma-separated patterns).
pub use holdfast_posture::DECLARED_ACTIONS;

/// Most line errors a report lists.
const MAX_REPORTED_ERRORS: usize = 1000;

/// Who an event's actor is, as far as the inventory knows.
#[derive(Debug, Clone)]
struct Resolved {
    /// The profile's id: the identity's, or one derived from the actor.
    key: Uuid,
    identity: Option<Identity>,
    subject: Subject,
    /// Skip judging (an AWS service acting on its own).
    skip: bool,
}

fn actor_key(ev: &Event) -> Uuid {
    let who = ev
        .actor
        .principal
        .as_deref()
        .unwrap_or(ev.actor.display.as_str());
    let digest = Sha256::digest(format!("{}:{who}", ev.platform.as_str()).as_bytes());
    let mut bytes = [0u8; 16];
    for (b, d) in bytes.iter_mut().zip(digest.iter()) {
        *b = *d;
    }
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

async fn identity_by_external_id(
    ctx: &Ctx,
    external_id: &str,
    source: Option<&str>,
) -> ApiResult<Option<Identity>> {
    let mut q = Query::new(Table::Identities)
        .filter(Filter::Eq("external_id", Value::text(external_id)))
        .limit(20);
    if let Some(s) = source {
        q = q.filter(Filter::Eq("source", Value::text(s)));
    }
    let mut found: Vec<Identity> = find(ctx.store(), &q).await?;
    // The same name in two sources (two clusters) is ambiguous without `source`: left unmapped
    // rather than pinned on the wrong one (and contained there).
    let mut sources: Vec<&str> = found.iter().map(|i| i.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    if sources.len() > 1 {
        return Ok(None);
    }
    // One still present at its source wins over one that vanished.
    found.sort_by_key(|i| (i.missing_since.is_some(), i.created_at));
    Ok(found.into_iter().next())
}

async fn resolve(ctx: &Ctx, ev: &Event, source: Option<&str>) -> ApiResult<Resolved> {
    let mut r = Resolved {
        key: actor_key(ev),
        identity: None,
        subject: Subject::default(),
        skip: ev.actor.kind == ActorKind::Service,
    };
    if r.skip {
        return Ok(r);
    }
    let mut credential: Option<Credential> = None;
    if let Some(c) = ev.actor.credential.as_deref()
        && ev.platform == Platform::Aws
    {
        let q = Query::new(Table::Credentials)
            .filter(Filter::Eq("external_id", Value::text(c)))
            .limit(5);
        credential = find::<Credential>(ctx.store(), &q)
            .await?
            .into_iter()
            .next();
    }
    let mut identity = match &credential {
        Some(c) => get::<Identity>(ctx.store(), c.identity_id).await?,
        None => None,
    };
    match (ev.actor.kind, ev.actor.principal.as_deref()) {
        (ActorKind::HoldfastToken, Some(p)) => {
            let token = match p.strip_prefix("token:").map(Uuid::try_parse) {
                Some(Ok(id)) => get::<ApiToken>(ctx.store(), id).await?,
                _ => None,
            };
            match token.and_then(|t| t.identity) {
                Some(id) => identity = get::<Identity>(ctx.store(), id).await?,
                // A token that stands for no identity is a person's.
                None => r.subject.person = true,
            }
        }
        (ActorKind::KubernetesUser, _) if ev.actor.display.contains('@') => {
            r.subject.person = true;
        }
        (_, Some(p)) if identity.is_none() => {
            identity = identity_by_external_id(ctx, p, source).await?;
        }
        _ => {}
    }
    // AWS IAM Identity Center permission sets are people signing in through SSO.
    if identity.as_ref().is_some_and(|i| {
        i.name.starts_with("AWSReservedSSO_")
            || i.external_id
                .as_deref()
                .is_some_and(|x| x.contains(":role/aws-reserved/sso.amazonaws.com/"))
    }) {
        r.subject.person = true;
    }
    if let Some(c) = &credential {
        if c.state != holdfast_core::CredentialState::Active {
            r.subject.credential_inactive_since = Some(unix(c.updated_at));
        }
        r.subject.credential_state = Some(c.state.as_str().to_string());
        r.subject.credential_issued_at = Some(unix(c.issued_at.unwrap_or(c.created_at)));
    }
    if let Some(i) = &identity {
        r.key = i.id;
        r.subject.identity = Some(i.id.to_string());
        r.subject.tier = Some(i.tier.as_str().to_string());
        r.subject.state = Some(i.state.as_str().to_string());
        if i.state != LifecycleState::Active {
            r.subject.inactive_since = Some(unix(i.updated_at));
        }
        r.subject.owner_changed_at = i
            .attributes
            .get(crate::routes::identities::OWNER_CHANGED_AT)
            .and_then(|v| v.as_str())
            .and_then(|s| {
                OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
            })
            .map(unix);
        let mut declared: Vec<String> = i
            .labels
            .get(DECLARED_ACTIONS)
            .map(|l| {
                l.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let ents: Vec<Entitlement> = find_all(
            ctx.store(),
            vec![Filter::Eq("identity_id", Value::text(i.id.to_string()))],
            500,
        )
        .await?;
        declared.extend(ents.into_iter().flat_map(|e| e.actions));
        r.subject.declared_actions = declared;
    }
    r.identity = identity;
    Ok(r)
}

/// Ingests a parsed batch: see the module documentation.
pub async fn ingest(
    ctx: &Ctx,
    parsed: Parsed,
    format: &str,
    source: Option<&str>,
    digest: String,
) -> ApiResult<IngestReport> {
    let state = &ctx.state;
    let _one_batch = state.monitor.ingest.lock().await;
    // A retry of a batch that was stored (its answer lost on the way back) changes nothing.
    if let Some(before) =
        holdfast_store::get_by::<EventBatch>(ctx.store(), "digest", &digest).await?
    {
        return Ok(IngestReport {
            batch: before.id,
            accepted: before.events.len(),
            rejected: before.errors.len(),
            errors: before.errors,
            skipped: 0,
            mapped: 0,
            unknown_actors: vec![],
            alerts_opened: vec![],
            alerts_updated: vec![],
            responses: vec![],
            duplicate: true,
        });
    }
    let cfg = &state.monitor.config;
    let now = ctx.now();
    let rejected = parsed.rejected();
    let Parsed {
        mut events,
        errors,
        skipped,
        ..
    } = parsed;
    events.sort_by_key(|e| e.time);

    // Who is each actor?
    let mut resolved: HashMap<(Platform, String, Option<String>), Resolved> = HashMap::new();
    let mut order = Vec::with_capacity(events.len());
    for ev in &events {
        let k = (
            ev.platform,
            ev.actor
                .principal
                .clone()
                .unwrap_or_else(|| ev.actor.display.clone()),
            ev.actor.credential.clone(),
        );
        if !resolved.contains_key(&k) {
            let r = resolve(ctx, ev, source).await?;
            resolved.insert(k.clone(), r);
        }
        order.push(k);
    }

    // Their profiles as stored.
    let mut profiles: HashMap<Uuid, ProfileRecord> = HashMap::new();
    let mut stored_versions: HashMap<Uuid, i64> = HashMap::new();
    for r in resolved.values() {
        if r.skip || profiles.contains_key(&r.key) {
            continue;
        }
        if let Some(p) = get::<ProfileRecord>(ctx.store(), r.key).await? {
            stored_versions.insert(p.id, p.version);
            profiles.insert(p.id, p);
        }
    }

    // Judge, in time order.
    let mut alerts: BTreeMap<String, Alert> = BTreeMap::new();
    let mut alert_versions: HashMap<Uuid, i64> = HashMap::new();
    let mut opened: Vec<Uuid> = vec![];
    // Stored alerts' severity before this batch, to respond when it rises.
    let mut severity_before: HashMap<Uuid, holdfast_monitor::Severity> = HashMap::new();
    let mut mapped = 0;
    let mut unknown: HashSet<String> = HashSet::new();
    for (ev, k) in events.iter().zip(order.iter()) {
        let Some(r) = resolved.get(k) else { continue };
        if r.skip {
            continue;
        }
        if r.identity.is_some() {
            mapped += 1;
        } else if !r.subject.person
            && !matches!(ev.actor.kind, ActorKind::SystemComponent | ActorKind::Root)
        {
            unknown.insert(ev.actor.display.clone());
        }
        let record = profiles.entry(r.key).or_insert_with(|| ProfileRecord {
            id: r.key,
            version: 0,
            identity_id: r.identity.as_ref().map(|i| i.id),
            actor: ev.actor.display.clone(),
            profile: Default::default(),
            updated_at: now,
        });
        record.actor.clone_from(&ev.actor.display);
        let hits =
            holdfast_monitor::observe(&mut record.profile, &r.subject, &r.key.to_string(), ev, cfg);
        for hit in hits {
            if let Some(a) = alerts.get_mut(&hit.dedup) {
                a.add_event(ev);
                a.severity = a.severity.max(hit.severity);
                a.updated_at = now;
                continue;
            }
            let mut a = match open_alert(ctx, &hit.dedup).await? {
                Some(mut a) => {
                    alert_versions.insert(a.id, a.version);
                    severity_before.insert(a.id, a.severity);
                    a.add_event(ev);
                    a
                }
                None => {
                    let a = new_alert(&hit, r, ev, now);
                    opened.push(a.id);
                    a
                }
            };
            a.severity = a.severity.max(hit.severity);
            a.updated_at = now;
            alerts.insert(hit.dedup.clone(), a);
        }
    }

    // One transaction: the batch, the profiles, the alerts, and the audit record.
    let batch = EventBatch {
        id: Uuid::now_v7(),
        version: 1,
        format: format.to_string(),
        received_by: ctx
            .principal
            .as_ref()
            .map(|p| p.actor())
            .unwrap_or_default(),
        received_at: now,
        digest,
        errors: errors.clone(),
        events,
    };
    let mut changes = vec![Change::insert(&batch)?];
    for (id, mut p) in profiles {
        p.updated_at = now;
        match stored_versions.get(&id) {
            Some(v) => {
                p.version = v + 1;
                changes.push(Change::update(&p)?);
            }
            None => {
                p.version = 1;
                changes.push(Change::insert(&p)?);
            }
        }
    }
    let mut updated = vec![];
    let mut owed: Vec<(Uuid, &'static str, Decided)> = vec![];
    for a in alerts.values_mut() {
        let new = opened.contains(&a.id);
        let raised = severity_before
            .get(&a.id)
            .is_some_and(|before| a.severity > *before);
        if new || raised {
            let decided = decide_responses(ctx, a).await;
            // Owed only when there is something to send or do.
            if state.rotators.alerts.is_some() || !decided.actions.is_empty() {
                a.respond_pending = true;
                let kind = if new { "alert.opened" } else { "alert.raised" };
                owed.push((a.id, kind, decided));
            }
        }
        match alert_versions.get(&a.id) {
            Some(v) => {
                a.version = v + 1;
                updated.push(a.id);
                changes.push(Change::update(&*a)?);
            }
            None => changes.push(Change::insert(&*a)?),
        }
    }
    let mut unknown: Vec<String> = unknown.into_iter().collect();
    unknown.sort();
    let report = IngestReport {
        batch: batch.id,
        accepted: batch.events.len(),
        rejected,
        errors: errors.into_iter().take(MAX_REPORTED_ERRORS).collect(),
        skipped,
        mapped,
        unknown_actors: unknown,
        alerts_opened: opened.clone(),
        alerts_updated: updated,
        responses: vec![],
        duplicate: false,
    };
    ctx.commit(
        changes,
        "events.ingest",
        Some(format!("event_batch:{}", batch.id)),
        json!({
            "format": format,
            "accepted": report.accepted,
            "rejected": report.rejected,
            "skipped": report.skipped,
            "alerts_opened": report.alerts_opened,
            "alerts_updated": report.alerts_updated,
        }),
    )
    .await?;
    drop(_one_batch);

    // After the commit: tell people, and contain where policy says so.
    let mut report = report;
    for (id, kind, decided) in owed {
        let Some(alert) = alerts.values().find(|a| a.id == id) else {
            continue;
        };
        notify(ctx, alert, kind);
        report
            .responses
            .extend(respond(ctx, alert.clone(), decided).await);
    }
    Ok(report)
}

async fn open_alert(ctx: &Ctx, dedup: &str) -> ApiResult<Option<Alert>> {
    // By the dedup index alone (a key is reopened only after it was closed, so few rows share
    // one); a second filter on the low-selectivity state column would lead the planner astray.
    let mut after = None;
    loop {
        let q = Query::new(Table::Alerts)
            .filter(Filter::Eq("dedup", Value::text(dedup)))
            .after(after)
            .limit(200);
        let page: Vec<Alert> = find(ctx.store(), &q).await?;
        let n = page.len();
        after = page.last().map(|a| a.id);
        if let Some(a) = page.into_iter().find(|a| a.state != AlertState::Closed) {
            return Ok(Some(a));
        }
        if n < 200 {
            return Ok(None);
        }
    }
}

fn new_alert(hit: &Hit, r: &Resolved, ev: &Event, now: OffsetDateTime) -> Alert {
    Alert {
        id: Uuid::now_v7(),
        version: 1,
        detection: hit.detection,
        title: hit.detection.title().to_string(),
        severity: hit.severity,
        state: AlertState::Open,
        dedup: hit.dedup.clone(),
        identity_id: r.identity.as_ref().map(|i| i.id),
        actor: ev.actor.display.clone(),
        summary: hit.summary.clone(),
        mitre: hit
            .detection
            .mitre()
            .iter()
            .map(|m| (*m).to_string())
            .collect(),
        count: 1,
        first_seen: ev.time,
        last_seen: ev.time,
        events: vec![ev.clone()],
        responses: vec![],
        respond_pending: false,
        acknowledged_by: None,
        closed_by: None,
        note: None,
        created_at: now,
        updated_at: now,
    }
}

/// Posts a new alert to `[rotators.alerts]` in the background (alerts never hold a secret).
fn notify(ctx: &Ctx, alert: &Alert, kind: &str) {
    let Some(spec) = ctx.state.rotators.alerts.clone() else {
        return;
    };
    let body = json!({
        "kind": kind,
        "alert": alert.id,
        "detection": alert.detection,
        "title": alert.title,
        "severity": alert.severity,
        "identity": alert.identity_id,
        "actor": alert.actor,
        "summary": alert.summary,
        "mitre": alert.mitre,
    });
    crate::notify::post(&ctx.state, spec, body, "alert webhook");
}

/// The automatic responses, in the order they are taken.
pub const RESPONSES: [&str; 3] = ["revoke_leases", "suspend", "rotate_secrets"];

/// The responses policy permits for `alert` on `identity` and that were not already done, with
/// the policies that permit them: asks Cedar `Holdfast::Detection::"<id>"` → `respond.<action>` →
/// `Holdfast::Identity::"<id>"` with the alert's severity, detection and the identity's tier and
/// kind.
fn permitted(
    ctx: &Ctx,
    alert: &Alert,
    identity: &Identity,
) -> Result<Vec<(&'static str, Vec<String>)>, String> {
    let mut out = vec![];
    for action in RESPONSES {
        let (allowed, policies) = response_allowed(
            ctx,
            alert.detection.id(),
            alert.severity.as_str(),
            identity,
            action,
        )?;
        let done = alert
            .responses
            .iter()
            .any(|t| t.action == action && t.outcome.starts_with("done"));
        if allowed && !done {
            out.push((action, policies));
        }
    }
    Ok(out)
}

/// Whether policy permits Holdfast to take `respond.<action>` on `identity` for what
/// `detection` found (an alert's detection, or `review_missed`): asks Cedar
/// `Holdfast::Detection::"<detection>"` → `respond.<action>` → `Holdfast::Identity::"<id>"` with
/// the severity and the identity's tier and kind. The answer and the policies that decided it.
pub(crate) fn response_allowed(
    ctx: &Ctx,
    detection: &str,
    severity: &str,
    identity: &Identity,
    action: &str,
) -> Result<(bool, Vec<String>), String> {
    let active = ctx.state.policy.current();
    let entities = json!([
        {"uid": {"type": "Holdfast::Detection", "id": detection},
         "attrs": {"severity": severity}, "parents": []},
        {"uid": {"type": "Holdfast::Identity", "id": identity.id.to_string()},
         "attrs": {"name": identity.name, "kind": identity.kind.as_str(), "tier": identity.tier.as_str(), "owner": ""},
         "parents": []},
    ]);
    let entities = active
        .engine
        .entities(entities)
        .map_err(|e| format!("entities: {e}"))?;
    // The moment as every decision sees it; Holdfast itself acts, so there is no token age and
    // no step-up ("never").
    let now = ctx.now();
    let context = holdfast_policy::complete_context(
        &json!({
            "source": "holdfast",
            "tier": identity.tier.as_str(),
            "severity": severity,
            "detection": detection,
            "identity_kind": identity.kind.as_str(),
        }),
        i64::from(now.hour()),
        i64::from(now.weekday().number_from_monday()),
    )
    .map_err(|e| format!("context: {e}"))?;
    let q = holdfast_policy::Query {
        principal: format!("Holdfast::Detection::{detection:?}"),
        action: format!("respond.{action}"),
        resource: format!("Holdfast::Identity::{:?}", identity.id.to_string()),
        context,
    };
    let decision = active
        .engine
        .decide(&q, &entities)
        .map_err(|e| format!("decision: {e}"))?;
    Ok((decision.allowed, decision.policies))
}

/// The identity an alert concerns and the responses policy permits on it.
#[derive(Debug, Default)]
struct Decided {
    identity: Option<Identity>,
    actions: Vec<(&'static str, Vec<String>)>,
}

async fn decide_responses(ctx: &Ctx, alert: &Alert) -> Decided {
    let identity = match alert.identity_id {
        Some(id) => get::<Identity>(ctx.store(), id).await.ok().flatten(),
        None => None,
    };
    let actions = match &identity {
        Some(i) => permitted(ctx, alert, i).unwrap_or_else(|e| {
            tracing::error!(error = %e, "automatic response");
            vec![]
        }),
        None => vec![],
    };
    Decided { identity, actions }
}

/// Takes the responses decided for `alert` and settles its debt.
async fn respond(ctx: &Ctx, alert: Alert, decided: Decided) -> Vec<String> {
    let mut out = vec![];
    let Decided { identity, actions } = decided;
    let (Some(identity), false) = (identity, actions.is_empty()) else {
        settle(ctx, alert.id, vec![]).await;
        return out;
    };
    let mut taken = vec![];
    for (action, policies) in actions {
        let outcome = match take(ctx, &alert, &identity, action).await {
            Ok(done) => done,
            Err(e) => format!("failed: {}", e.message),
        };
        out.push(format!("{}: {action}: {outcome}", alert.id));
        taken.push(ResponseTaken {
            action: action.to_string(),
            outcome,
            policies,
            at: ctx.now(),
        });
    }
    settle(ctx, alert.id, taken).await;
    out
}

/// Records the responses taken on the alert and clears its debt (a fresh read: another batch may
/// have added events meanwhile). The audit record lists what was done.
async fn settle(ctx: &Ctx, id: Uuid, taken: Vec<ResponseTaken>) {
    for _ in 0..3 {
        let Ok(Some(mut current)) = get::<Alert>(ctx.store(), id).await else {
            return;
        };
        if !current.respond_pending && taken.is_empty() {
            return;
        }
        current.responses.extend(taken.iter().cloned());
        current.respond_pending = false;
        current.version += 1;
        current.updated_at = ctx.now();
        let Ok(change) = Change::update(&current) else {
            return;
        };
        let done: Vec<String> = taken
            .iter()
            .map(|t| format!("{}: {}", t.action, t.outcome))
            .collect();
        if ctx
            .commit(
                vec![change],
                "alert.responded",
                Some(format!("alert:{id}")),
                json!({ "responses": done }),
            )
            .await
            .is_ok()
        {
            return;
        }
    }
}

/// Runs the notifications and responses a crash left owed (alerts still marked pending a while
/// after they were written). Called by the sweeper.
pub async fn retry_owed(state: &crate::state::AppState) -> ApiResult<usize> {
    let ctx = Ctx::system(state);
    let owed: Vec<Alert> = find_all(
        ctx.store(),
        vec![Filter::Eq("pending", holdfast_store::Value::Int(Some(1)))],
        100,
    )
    .await?;
    let now = ctx.now();
    let mut n = 0;
    for alert in owed {
        // A batch on another node may be responding right now.
        if now - alert.updated_at < time::Duration::seconds(30) {
            continue;
        }
        notify(&ctx, &alert, "alert.opened");
        let decided = decide_responses(&ctx, &alert).await;
        respond(&ctx, alert, decided).await;
        n += 1;
    }
    Ok(n)
}

/// Carries out one response; each is its own audited change.
async fn take(ctx: &Ctx, alert: &Alert, identity: &Identity, action: &str) -> ApiResult<String> {
    let by = format!("holdfast monitor (alert {})", alert.id);
    let reason = format!("automatic containment: {} ({})", alert.title, alert.id);
    match action {
        "suspend" => {
            let Some(mut current) = get::<Identity>(ctx.store(), identity.id).await? else {
                return Ok("the identity is gone".into());
            };
            if current.state != LifecycleState::Active {
                return Ok(format!("already {}", current.state.as_str()));
            }
            current.state = LifecycleState::Suspended;
            current.state_reason = Some(reason.clone());
            current.version += 1;
            current.updated_at = ctx.now();
            ctx.commit(
                vec![Change::update(&current)?],
                "identity.transition",
                Some(format!("identity:{}", current.id)),
                json!({"from": "active", "to": "suspended", "reason": reason, "by": by, "alert": alert.id}),
            )
            .await?;
            Ok("done".into())
        }
        "revoke_leases" => {
            let holder = format!("Holdfast::Identity::{:?}", identity.id.to_string());
            let active: Vec<Lease> = find_all(
                ctx.store(),
                vec![
                    Filter::Eq("holder", Value::text(&holder)),
                    Filter::Eq("state", Value::text(LeaseState::Active.as_str())),
                ],
                500,
            )
            .await?;
            let (mut ok, mut failed) = (0, 0);
            for lease in active {
                match crate::routes::requests::end_lease(ctx, lease, &by, Some(&reason)).await {
                    Ok(_) => ok += 1,
                    Err(_) => failed += 1,
                }
            }
            Ok(if failed == 0 {
                format!("done ({ok} leases)")
            } else {
                format!(
                    "{ok} leases revoked, {failed} could not be (retry with lease revoke-holder)"
                )
            })
        }
        "rotate_secrets" => {
            let owned: Vec<Secret> = find_all(
                ctx.store(),
                vec![Filter::Eq(
                    "owner_identity",
                    Value::text(identity.id.to_string()),
                )],
                500,
            )
            .await?;
            let mut started = 0;
            let mut manual = 0;
            for s in owned {
                let Some(last) =
                    crate::routes::rotations::last_rotation(ctx.store(), &s.path).await?
                else {
                    manual += 1;
                    continue;
                };
                let (changes, job, _) = crate::routes::rotations::plan_rotation(
                    &ctx.state,
                    &s.path,
                    &last.rotator,
                    last.config.clone(),
                    0,
                    &by,
                    ctx.now(),
                )
                .await?;
                ctx.commit(
                    changes,
                    "secret.rotate",
                    Some(format!("secret:{}", s.path)),
                    json!({"path": s.path, "rotator": last.rotator, "new_version": job.new_version, "alert": alert.id}),
                )
                .await?;
                started += 1;
            }
            Ok(format!(
                "done ({started} rotations started, {manual} need a person)"
            ))
        }
        other => Err(ApiError::internal("unknown response", other)),
    }
}
