//! Offboarding an identity: revoke first, then prove. The plan is written when the offboarding
//! starts; a driver works through it one step at a time, storing each step's result (with an
//! audit record) before the next, so a restarted server resumes where it stopped. When every step
//! is done the identity is `offboarded` and a receipt, signed with the node's Ed25519 audit key,
//! states what was revoked, re-scanned and verified.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use holdfast_core::{
    ApiToken, Credential, CredentialState, Identity, Lease, LeaseState, LifecycleState,
    Offboarding, OffboardingState, Receipt, ReceiptFile, ReceiptIdentity, ReceiptSignature, Secret,
    Step, StepKind, StepStatus,
};
use holdfast_store::{Change, Filter, Value, find_all, get, get_by};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Ctx};

/// `[offboarding]` of the server's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OffboardingConfig {
    /// Directories the server may re-scan to prove a copy is gone (repositories and files
    /// recorded as exposure locations under them). Anything else is a manual step.
    pub scan_roots: Vec<PathBuf>,
    /// Offboard identities whose end date has passed.
    pub on_expiry: bool,
}

impl Default for OffboardingConfig {
    fn default() -> Self {
        OffboardingConfig {
            scan_roots: Vec::new(),
            on_expiry: true,
        }
    }
}

/// Offboarding settings, the scan engine (built on first use) and the one-driver lock.
#[derive(Debug)]
pub struct OffboardState {
    pub config: OffboardingConfig,
    engine: std::sync::OnceLock<Result<Arc<holdfast_scan::Engine>, String>>,
    driving: tokio::sync::Mutex<()>,
}

impl OffboardState {
    pub fn new(config: OffboardingConfig) -> Self {
        OffboardState {
            config,
            engine: Default::default(),
            driving: Default::default(),
        }
    }

    fn engine(&self) -> Result<Arc<holdfast_scan::Engine>, String> {
        self.engine
            .get_or_init(|| {
                let rules = holdfast_rules::bundled().map_err(|e| e.to_string())?;
                holdfast_scan::Engine::new(rules)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }
}

/// Appends a step numbered after the others.
fn push(steps: &mut Vec<Step>, kind: StepKind, target: String, about: String) -> &mut Step {
    let n = u32::try_from(steps.len() + 1).unwrap_or(u32::MAX);
    steps.push(Step::new(n, kind, target, about));
    let last = steps.len() - 1;
    #[allow(clippy::indexing_slicing)] // just pushed: `last` exists
    &mut steps[last]
}

fn principal_of(identity: Uuid) -> String {
    format!("Holdfast::Identity::{:?}", identity.to_string())
}

fn conflict(code: &'static str, message: String) -> ApiError {
    ApiError::new(axum::http::StatusCode::CONFLICT, code, message)
}

/// Plans an offboarding of `identity` and starts it: the identity moves to `offboarding` in the
/// same transaction that stores the plan.
pub async fn start(
    ctx: &Ctx,
    identity: Identity,
    reason: String,
    trigger: &str,
    by: &str,
) -> ApiResult<Offboarding> {
    let store = ctx.store();
    if identity.state == LifecycleState::Offboarded {
        return Err(conflict(
            "offboarded",
            format!(
                "identity `{}` is already offboarded; it never comes back",
                identity.id
            ),
        ));
    }
    let open: Vec<Offboarding> = holdfast_store::of_identity(store, identity.id).await?;
    if let Some(o) = open.iter().find(|o| o.state != OffboardingState::Finished) {
        return Err(conflict(
            "offboarding",
            format!(
                "identity `{}` is being offboarded already: offboarding `{}`",
                identity.id, o.id
            ),
        ));
    }
    let now = ctx.now();
    let mut steps: Vec<Step> = Vec::new();
    // 1. Revoke: leases, tokens, vault secrets through their rotators, credentials.
    let leases: Vec<Lease> = find_all(
        store,
        vec![Filter::Eq("holder", Value::text(principal_of(identity.id)))],
        500,
    )
    .await?;
    for l in leases.iter().filter(|l| l.state == LeaseState::Active) {
        push(
            &mut steps,
            StepKind::RevokeLease,
            format!("lease:{}", l.id),
            format!("{:?} grant for {}", l.kind, l.audience).to_lowercase(),
        );
    }
    let tokens: Vec<ApiToken> = find_all(store, vec![], 500).await?;
    for t in tokens
        .iter()
        .filter(|t| t.identity == Some(identity.id) && t.revoked_at.is_none())
    {
        push(
            &mut steps,
            StepKind::RevokeToken,
            format!("token:{}", t.id),
            format!("Holdfast API token {}", t.name),
        );
    }
    let secrets: Vec<Secret> = find_all(
        store,
        vec![Filter::Eq(
            "owner_identity",
            Value::text(identity.id.to_string()),
        )],
        500,
    )
    .await?;
    let mut revocable: Vec<String> = Vec::new();
    let mut verify: Vec<(String, String)> = Vec::new();
    for s in &secrets {
        match crate::routes::rotations::last_rotation(store, &s.path).await? {
            Some(job) => {
                push(
                    &mut steps,
                    StepKind::RevokeSecret,
                    format!("secret:{}", s.path),
                    format!(
                        "vault secret {} (rotated by the {} rotator)",
                        s.path, job.rotator
                    ),
                );
                revocable.push(s.path.clone());
                verify.push((s.path.clone(), job.rotator.clone()));
            }
            None => {
                let step = push(
                    &mut steps,
                    StepKind::RevokeCredential,
                    format!("secret:{}", s.path),
                    format!(
                        "vault secret {} (no rotator: revoke it at its target)",
                        s.path
                    ),
                );
                step.status = StepStatus::Manual;
            }
        }
    }
    let credentials: Vec<Credential> = holdfast_store::of_identity(store, identity.id).await?;
    for c in credentials
        .iter()
        .filter(|c| c.state == CredentialState::Active)
    {
        let in_vault = c
            .stored_in
            .as_deref()
            .and_then(|s| s.strip_prefix("vault:"))
            .is_some_and(|p| revocable.iter().any(|r| r == p));
        let step = push(
            &mut steps,
            StepKind::RevokeCredential,
            format!("credential:{}", c.id),
            format!("{} {}", c.kind, c.name),
        );
        if !in_vault {
            // Holdfast cannot reach this provider: a person revokes it and confirms.
            step.status = StepStatus::Manual;
        }
    }
    // 2. Prove every recorded copy is gone.
    for c in &credentials {
        for x in &c.exposures {
            let step = push(
                &mut steps,
                StepKind::Rescan,
                format!("location:{}", x.location),
                format!("{} {}", c.kind, c.name),
            );
            step.fingerprint = c.fingerprint.as_ref().map(ToString::to_string);
        }
    }
    // 3. Prove the revoked credentials no longer authenticate where a verifier exists.
    for (path, rotator) in verify {
        push(
            &mut steps,
            StepKind::Verify,
            format!("secret:{path}"),
            format!("vault secret {path} ({rotator})"),
        );
    }
    push(
        &mut steps,
        StepKind::Finish,
        format!("identity:{}", identity.id),
        identity.name.clone(),
    );
    let mut o = Offboarding {
        id: Uuid::now_v7(),
        version: 1,
        identity_id: identity.id,
        identity_name: identity.name.clone(),
        reason: reason.clone(),
        requested_by: by.to_string(),
        trigger: trigger.to_string(),
        state: OffboardingState::Running,
        steps,
        started_at: now,
        updated_at: now,
        finished_at: None,
        outcome: None,
        receipt: None,
        claimed_by: None,
        claimed_until: None,
    };
    o.settle();
    let next = identity
        .transitioned(LifecycleState::Offboarding, Some(reason.clone()), now)
        .map_err(|e| conflict("transition", e.to_string()))?;
    ctx.commit(
        vec![Change::update(&next)?, Change::insert(&o)?],
        "identity.offboard",
        Some(format!("identity:{}", identity.id)),
        json!({"offboarding": o.id, "reason": reason, "trigger": trigger,
               "steps": o.steps.iter().map(|s| json!({"n": s.n, "kind": s.kind.as_str(), "target": s.target})).collect::<Vec<_>>()}),
    )
    .await?;
    Ok(o)
}

/// Drives `id` (or, without one, every unfinished offboarding) as far as it can go now.
pub async fn drive(state: &AppState, only: Option<Uuid>) -> ApiResult<usize> {
    let Ok(_one) = state.offboard.driving.try_lock() else {
        return Ok(0);
    };
    let ids: Vec<Uuid> = match only {
        Some(id) => vec![id],
        None => find_all::<Offboarding>(
            state.store.as_ref(),
            vec![Filter::Eq("state", Value::text("running"))],
            100,
        )
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect(),
    };
    let mut steps = 0;
    for id in ids {
        steps += drive_one(state, id).await?;
    }
    Ok(steps)
}

async fn drive_one(state: &AppState, id: Uuid) -> ApiResult<usize> {
    let ctx = Ctx::system(state);
    let mut done = 0;
    // Steps that failed in this pass or are backing off: the others go on without them.
    let mut later: std::collections::HashSet<u32> = std::collections::HashSet::new();
    loop {
        let Some(mut o) = get::<Offboarding>(ctx.store(), id).await? else {
            return Ok(done);
        };
        if o.state != OffboardingState::Running {
            return Ok(done);
        }
        let now = ctx.now();
        for s in &o.steps {
            if s.next_attempt_at.is_some_and(|t| t > now) {
                later.insert(s.n);
            }
        }
        // Finishing waits for every other step, manual ones included.
        let Some(step) = o
            .steps
            .iter()
            .find(|s| {
                s.status == StepStatus::Pending
                    && !later.contains(&s.n)
                    && (s.kind != StepKind::Finish
                        || o.steps
                            .iter()
                            .all(|x| x.kind == StepKind::Finish || x.status == StepStatus::Done))
            })
            .cloned()
        else {
            if o.steps
                .iter()
                .any(|s| s.status == StepStatus::Pending && later.contains(&s.n))
            {
                // Something is backing off: the sweeper comes back to it.
                return Ok(done);
            }
            o.settle();
            if o.state == OffboardingState::Running {
                o.state = OffboardingState::Waiting;
            }
            return settled(save(&ctx, o, None).await, done);
        };
        // One node at a time acts on an offboarding's targets: claim it (an optimistic update,
        // audited) unless this node holds a claim with time left.
        let me = format!("node:{}", state.audit_key.key_id);
        let mine = o.claimed_by.as_deref() == Some(me.as_str());
        if o.claimed_until.is_some_and(|t| t > now) && !mine {
            return Ok(done);
        }
        if !(mine
            && o.claimed_until
                .is_some_and(|t| t > now + time::Duration::seconds(30)))
        {
            o.claimed_by = Some(me.clone());
            o.claimed_until = Some(now + time::Duration::seconds(CLAIM_SECONDS));
            o.version += 1;
            let claimed = ctx
                .commit(
                    vec![Change::update(&o)?],
                    "offboarding.claim",
                    Some(format!("offboarding:{}", o.id)),
                    json!({"node": me, "step": step.n}),
                )
                .await;
            if claimed.is_err() {
                // Another replica claimed it first.
                return Ok(done);
            }
        }
        let result = perform(&ctx, &o, &step).await;
        if step.kind == StepKind::RevokeSecret && result.is_ok() {
            // Test hook: die after revoking at the target, before the step is recorded.
            crate::rotation::fault("abort-in-offboarding");
        }
        let Some(slot) = o.steps.iter_mut().find(|s| s.n == step.n) else {
            return Ok(done);
        };
        slot.attempts += 1;
        match result {
            Ok(Performed::Done { outcome, evidence }) => {
                slot.status = StepStatus::Done;
                slot.outcome = Some(outcome);
                slot.evidence = evidence;
                slot.done_at = Some(now);
                slot.last_error = None;
                slot.next_attempt_at = None;
            }
            Ok(Performed::Manual { why }) => {
                slot.status = StepStatus::Manual;
                slot.evidence = vec![why];
                slot.next_attempt_at = None;
            }
            Err(e) => {
                // Kept pending and backed off (5 s, 10 s, 20 s, … up to an hour); the other
                // steps go on.
                let shift = slot.attempts.saturating_sub(1).min(10);
                let wait = (5i64 << shift).min(3600);
                slot.last_error = Some(e.clone());
                slot.next_attempt_at = Some(now + time::Duration::seconds(wait));
                let failed = slot.clone();
                later.insert(failed.n);
                tracing::warn!(offboarding = %id, step = failed.n, error = %e, "offboarding step failed; will retry");
                if save(&ctx, o, Some(&failed)).await.is_err() {
                    return Ok(done);
                }
                continue;
            }
        }
        let finished = slot.clone();
        o.settle();
        if o.state == OffboardingState::Finished {
            o.finished_at = Some(now);
            o.receipt = Some(receipt(&ctx, &o).await?);
        }
        if save(&ctx, o, Some(&finished)).await.is_err() {
            // Another replica recorded this step first (its version won): it carries on.
            return Ok(done);
        }
        done += 1;
    }
}

/// How long a node's claim on an offboarding lasts (renewed while it works).
const CLAIM_SECONDS: i64 = 120;

/// A save that lost to another replica is not an error of this driver.
fn settled(r: ApiResult<()>, done: usize) -> ApiResult<usize> {
    match r {
        Ok(()) => Ok(done),
        Err(e) if e.status == axum::http::StatusCode::CONFLICT => Ok(done),
        Err(e) => Err(e),
    }
}

/// Stores the offboarding after a step, with the step's audit record.
async fn save(ctx: &Ctx, mut o: Offboarding, step: Option<&Step>) -> ApiResult<()> {
    o.version += 1;
    o.updated_at = ctx.now();
    let (action, detail) = match step {
        Some(s) => (
            if o.state == OffboardingState::Finished {
                "offboarding.finished"
            } else {
                "offboarding.step"
            },
            json!({"step": s.n, "kind": s.kind.as_str(), "target": s.target, "status": s.status.as_str(),
                   "outcome": s.outcome, "evidence": s.evidence, "error": s.last_error,
                   "state": o.state.as_str(), "outcome_overall": o.outcome}),
        ),
        None => ("offboarding.waiting", json!({"state": o.state.as_str()})),
    };
    ctx.commit(
        vec![Change::update(&o)?],
        action,
        Some(format!("offboarding:{}", o.id)),
        detail,
    )
    .await?;
    Ok(())
}

enum Performed {
    Done {
        outcome: String,
        evidence: Vec<String>,
    },
    Manual {
        why: String,
    },
}

fn done(outcome: &str, evidence: Vec<String>) -> Result<Performed, String> {
    Ok(Performed::Done {
        outcome: outcome.to_string(),
        evidence,
    })
}

async fn perform(ctx: &Ctx, o: &Offboarding, step: &Step) -> Result<Performed, String> {
    let store = ctx.store();
    let target = step.target.split_once(':').map_or("", |(_, t)| t);
    match step.kind {
        StepKind::RevokeLease => {
            let id = Uuid::try_parse(target).map_err(|e| e.to_string())?;
            let lease: Lease = get(store, id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the lease no longer exists")?;
            if lease.state != LeaseState::Active {
                return done(
                    "revoked",
                    vec![format!(
                        "the lease had already ended ({})",
                        lease.state.as_str()
                    )],
                );
            }
            let login = lease.login.clone();
            crate::routes::requests::end_lease(
                ctx,
                lease,
                "holdfast (offboarding)",
                Some(&o.reason),
            )
            .await
            .map_err(|e| e.message)?;
            let mut evidence = vec![format!("lease {id} revoked")];
            if let Some(l) = login {
                evidence.push(format!("login {l} removed at its target"));
            }
            done("revoked", evidence)
        }
        StepKind::RevokeToken => {
            let id = Uuid::try_parse(target).map_err(|e| e.to_string())?;
            let Some(mut t) = get::<ApiToken>(store, id)
                .await
                .map_err(|e| e.to_string())?
            else {
                return done("revoked", vec!["the token no longer exists".into()]);
            };
            if t.revoked_at.is_none() {
                t.revoked_at = Some(ctx.now());
                t.version += 1;
                ctx.commit(
                    vec![Change::update(&t).map_err(|e| e.to_string())?],
                    "token.revoke",
                    Some(format!("token:{id}")),
                    json!({"by": "holdfast (offboarding)", "offboarding": o.id}),
                )
                .await
                .map_err(|e| e.message)?;
                ctx.state.tokens.forget(id);
            }
            done(
                "revoked",
                vec![format!("token {} ({}) revoked", t.name, id)],
            )
        }
        StepKind::RevokeSecret => {
            // A rotation already under way would make a slot valid again: let it finish first
            // (no new one starts for an identity being offboarded).
            let open: Vec<holdfast_core::RotationJob> = find_all(
                store,
                vec![
                    Filter::Eq("path", Value::text(target)),
                    Filter::Eq("finished", Value::Int(Some(0))),
                ],
                1,
            )
            .await
            .map_err(|e| e.to_string())?;
            if !open.is_empty() {
                return Err(format!(
                    "a rotation of {target} is under way; revoking after it finishes"
                ));
            }
            let (job, _, rotator) = rotator_of(ctx, target).await?;
            let mut evidence = Vec::new();
            for slot in [
                holdfast_vault::rotation::Slot::Blue,
                holdfast_vault::rotation::Slot::Green,
            ] {
                rotator.revoke(slot).await.map_err(|e| e.to_string())?;
                evidence.push(format!(
                    "{} rotator: login {} revoked at the target",
                    job.rotator,
                    rotator.login(slot)
                ));
            }
            done("revoked", evidence)
        }
        StepKind::RevokeCredential => {
            // Automatic only for a credential held in a vault secret revoked by an earlier step.
            let id = Uuid::try_parse(target).map_err(|_| "not a credential")?;
            let mut c: Credential = get(store, id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the credential no longer exists")?;
            let path = c
                .stored_in
                .as_deref()
                .and_then(|s| s.strip_prefix("vault:"))
                .unwrap_or_default()
                .to_string();
            let revoked_with = o.steps.iter().find(|s| {
                s.kind == StepKind::RevokeSecret
                    && s.target == format!("secret:{path}")
                    && s.status == StepStatus::Done
            });
            if revoked_with.is_none() {
                return Ok(Performed::Manual {
                    why: "Holdfast cannot reach this credential's provider: revoke it there and confirm".into(),
                });
            }
            if c.state == CredentialState::Active {
                c.state = CredentialState::Revoked;
                c.version += 1;
                c.updated_at = ctx.now();
                ctx.commit(
                    vec![Change::update(&c).map_err(|e| e.to_string())?],
                    "credential.revoked",
                    Some(format!("credential:{id}")),
                    json!({"by": "holdfast (offboarding)", "offboarding": o.id, "with": format!("secret:{path}")}),
                )
                .await
                .map_err(|e| e.message)?;
            }
            done("revoked", vec![format!("revoked with vault secret {path}")])
        }
        StepKind::Rescan => rescan(ctx, target, step.fingerprint.as_deref()).await,
        StepKind::Verify => verify_secret(ctx, target).await,
        StepKind::Finish => finish(ctx, o).await,
    }
}

/// A location as the scanner records it: `git:<repository>@<commit>:<path>:<line>` or
/// `file://<path>:<line>`; the repository or file to re-scan.
fn local_target(location: &str) -> Option<(PathBuf, bool)> {
    if let Some(rest) = location.strip_prefix("git:") {
        // The repository ends where `@<commit>:` starts: 40 (SHA-1) or 64 (SHA-256) hex digits.
        // Paths may hold `@` themselves (`node_modules/@scope/…`), so the commit is what marks it.
        let at = rest.match_indices('@').map(|(i, _)| i).find(|&i| {
            [40, 64].iter().any(|&n| {
                rest.get(i + 1..i + 1 + n)
                    .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                    && rest.as_bytes().get(i + 1 + n) == Some(&b':')
            })
        })?;
        let root = rest.get(..at)?;
        return Some((PathBuf::from(root), true));
    }
    if let Some(rest) = location.strip_prefix("file://") {
        let path = match rest.rsplit_once(':') {
            Some((p, line)) if line.chars().all(|c| c.is_ascii_digit()) => p,
            _ => rest,
        };
        return Some((PathBuf::from(path), false));
    }
    None
}

fn under_roots(path: &Path, roots: &[PathBuf]) -> Option<PathBuf> {
    let real = std::fs::canonicalize(path).ok()?;
    roots
        .iter()
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .any(|r| real.starts_with(&r))
        .then_some(real)
}

async fn rescan(ctx: &Ctx, location: &str, fingerprint: Option<&str>) -> Result<Performed, String> {
    let Some(fingerprint) = fingerprint.map(str::to_string) else {
        return Ok(Performed::Manual {
            why: "the credential has no fingerprint to look for: check the location by hand and confirm".into(),
        });
    };
    let Some((path, git)) = local_target(location) else {
        return Ok(Performed::Manual {
            why: format!("Holdfast cannot read `{location}`: remove the copy there and confirm"),
        });
    };
    let Some(real) = under_roots(&path, &ctx.state.offboard.config.scan_roots) else {
        return Ok(Performed::Manual {
            why: format!(
                "`{}` is not under a directory the server may scan ([offboarding] scan_roots): re-scan it with `holdfast scan` and confirm",
                path.display()
            ),
        });
    };
    let engine = ctx.state.offboard.engine()?;
    let report = tokio::task::spawn_blocking(move || -> Result<(Vec<String>, String), String> {
        let hits = std::sync::Mutex::new(Vec::new());
        let sink = |f: holdfast_scan::Finding| {
            if f.fingerprint == fingerprint
                && let Ok(mut h) = hits.lock()
            {
                h.push(match &f.git {
                    Some(g) => {
                        format!("still present at commit {} {}:{}", g.commit, f.path, f.line)
                    }
                    None => format!("still present at {}:{}", f.path, f.line),
                });
            }
        };
        let scanned = if git {
            let stats = holdfast_scan::git::scan_history(
                &engine,
                &real,
                25 * 1024 * 1024,
                1,
                &|_| {},
                &sink,
            )
            .map_err(|e| e.to_string())?;
            use std::sync::atomic::Ordering::Relaxed;
            format!(
                "re-scanned {}: every blob reachable from {} refs ({} commits, {} blobs)",
                real.display(),
                stats.refs.load(Relaxed),
                stats.commits.load(Relaxed),
                stats.blobs.load(Relaxed)
            )
        } else {
            let opts = holdfast_scan::walk::WalkOptions {
                threads: 1,
                ..Default::default()
            };
            holdfast_scan::walk::scan_paths(
                &engine,
                std::slice::from_ref(&real),
                &opts,
                &|_| {},
                &sink,
            )
            .map_err(|e| e.to_string())?;
            format!("re-scanned {}", real.display())
        };
        let hits = hits.into_inner().map_err(|_| "scan results lost")?;
        Ok((hits, scanned))
    })
    .await
    .map_err(|e| e.to_string())??;
    let (mut hits, scanned) = report;
    hits.sort();
    hits.dedup();
    let mut evidence = vec![scanned];
    if hits.is_empty() {
        evidence.push("no copy of the credential found".into());
        done("gone", evidence)
    } else {
        evidence.extend(hits);
        done("still_present", evidence)
    }
}

/// The rotator a vault secret was last rotated with (and the keyring that opened its settings).
async fn rotator_of(
    ctx: &Ctx,
    path: &str,
) -> Result<
    (
        holdfast_core::RotationJob,
        holdfast_vault::Keyring,
        Box<dyn holdfast_rotate::Rotator>,
    ),
    String,
> {
    let store = ctx.store();
    let job = crate::routes::rotations::last_rotation(store, path)
        .await
        .map_err(|e| e.message)?
        .ok_or("the secret has no rotation on record")?;
    let keyring = ctx
        .state
        .vault
        .current_keyring(store)
        .await
        .map_err(|e| e.message)?;
    let rotator =
        crate::rotation::rotator_for(&ctx.state, &keyring, &job.rotator, &job.config).await?;
    Ok((job, keyring, rotator))
}

async fn verify_secret(ctx: &Ctx, path: &str) -> Result<Performed, String> {
    let store = ctx.store();
    let (job, keyring, rotator) = rotator_of(ctx, path).await?;
    let secret: Secret = get_by(store, "path", path)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the secret no longer exists")?;
    let mut evidence = Vec::new();
    let mut checked = 0;
    // Every version still readable: the current password and those before it.
    for v in secret
        .versions
        .iter()
        .rev()
        .filter(|v| !v.destroyed && !v.pending)
        .take(3)
    {
        let value =
            crate::rotation::read_value(&ctx.state, &keyring, path, Some(v.version)).await?;
        let Some((login, password)) = login_and_password(&value) else {
            continue;
        };
        match rotator
            .authenticates(&login, &password)
            .await
            .map_err(|e| e.to_string())?
        {
            None => {
                return done(
                    "no_verifier",
                    vec![format!(
                        "the {} rotator has no way to try a login",
                        job.rotator
                    )],
                );
            }
            Some(true) => {
                return Err(format!(
                    "version {} of {path} still signs in as {login}: not revoked",
                    v.version
                ));
            }
            Some(false) => {
                checked += 1;
                evidence.push(format!(
                    "version {} (login {login}): the target refused the login",
                    v.version
                ));
            }
        }
    }
    if checked == 0 {
        return done(
            "no_verifier",
            vec!["no version holds a login and password to try".into()],
        );
    }
    done("does_not_authenticate", evidence)
}

/// A rotated secret's value: `{"login": …, "password": …}`.
fn login_and_password(value: &str) -> Option<(String, zeroize::Zeroizing<String>)> {
    let v: serde_json::Value = serde_json::from_str(value).ok()?;
    let login = v.get("login")?.as_str()?.to_string();
    let password = zeroize::Zeroizing::new(v.get("password")?.as_str()?.to_string());
    Some((login, password))
}

async fn finish(ctx: &Ctx, o: &Offboarding) -> Result<Performed, String> {
    let store = ctx.store();
    let identity: Identity = get(store, o.identity_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the identity no longer exists")?;
    let now = ctx.now();
    let mut changes = Vec::new();
    if identity.state != LifecycleState::Offboarded {
        let next = identity
            .transitioned(LifecycleState::Offboarded, Some(o.reason.clone()), now)
            .map_err(|e| e.to_string())?;
        changes.push(Change::update(&next).map_err(|e| e.to_string())?);
    }
    // Credentials confirmed revoked by hand are recorded as revoked with the identity.
    let creds: Vec<Credential> = holdfast_store::of_identity(store, o.identity_id)
        .await
        .map_err(|e| e.to_string())?;
    let mut revoked = 0;
    for mut c in creds
        .into_iter()
        .filter(|c| c.state == CredentialState::Active)
    {
        c.state = CredentialState::Revoked;
        c.version += 1;
        c.updated_at = now;
        revoked += 1;
        changes.push(Change::update(&c).map_err(|e| e.to_string())?);
    }
    if !changes.is_empty() {
        ctx.commit(
            changes,
            "identity.offboarded",
            Some(format!("identity:{}", o.identity_id)),
            json!({"offboarding": o.id, "credentials_revoked": revoked}),
        )
        .await
        .map_err(|e| e.message)?;
    }
    done(
        "offboarded",
        vec![format!(
            "identity {} is offboarded; it never comes back",
            o.identity_name
        )],
    )
}

/// Builds and signs the receipt of a finished offboarding: the file's exact text.
async fn receipt(ctx: &Ctx, o: &Offboarding) -> ApiResult<String> {
    let identity: Option<Identity> = get(ctx.store(), o.identity_id).await?;
    let who = match identity {
        Some(i) => ReceiptIdentity {
            id: i.id,
            name: i.name,
            kind: i.kind.as_str().to_string(),
            source: i.source,
            external_id: i.external_id,
        },
        None => ReceiptIdentity {
            id: o.identity_id,
            name: o.identity_name.clone(),
            kind: String::new(),
            source: String::new(),
            external_id: None,
        },
    };
    let r = Receipt::of(o, who).ok_or_else(|| {
        ApiError::internal("issuing the receipt", "the offboarding is not finished")
    })?;
    sign_receipt(&ctx.state.signer, r).map_err(|e| ApiError::internal("issuing the receipt", e))
}

/// Signs `receipt` with the node's audit key and renders the file.
pub fn sign_receipt(signer: &holdfast_audit::Signer, receipt: Receipt) -> Result<String, String> {
    let body = receipt.signed_bytes().map_err(|e| e.to_string())?;
    let info = signer.public_info();
    let file = ReceiptFile {
        receipt,
        signature: ReceiptSignature {
            algorithm: "ed25519".into(),
            key_id: info.key_id,
            public_key: info.public_key,
            signature: signer.sign_receipt(&body),
        },
    };
    file.render().map_err(|e| e.to_string())
}

/// Verifies a receipt file's text: exactly as issued, signed by the key it names — and, when
/// `trusted` is given (hex public keys), by one of those.
pub fn verify_receipt(text: &str, trusted: &[String]) -> Result<ReceiptFile, String> {
    let file = ReceiptFile::parse_exact(text)?;
    if file.signature.algorithm != "ed25519" {
        return Err(format!(
            "unknown signature algorithm `{}`",
            file.signature.algorithm
        ));
    }
    // Hex is written lower-case; any other spelling of the same bytes is an altered file.
    for (field, v) in [
        ("signature", &file.signature.signature),
        ("public_key", &file.signature.public_key),
        ("key_id", &file.signature.key_id),
    ] {
        if v.bytes()
            .any(|b| !(b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        {
            return Err(format!(
                "the file was altered: `{field}` is not lower-case hex"
            ));
        }
    }
    if !trusted.is_empty()
        && !trusted
            .iter()
            .any(|k| k.trim().to_ascii_lowercase() == file.signature.public_key)
    {
        return Err(format!(
            "signed by key {} ({}), which is not one of the trusted keys",
            file.signature.key_id, file.signature.public_key
        ));
    }
    let key = holdfast_audit::AuditKey::from_info(&holdfast_audit::PublicKeyInfo {
        key_id: file.signature.key_id.clone(),
        public_key: file.signature.public_key.clone(),
    })
    .map_err(|e| e.to_string())?;
    if key.key_id != file.signature.key_id {
        return Err("the key id does not match the public key".into());
    }
    let body = file.receipt.signed_bytes().map_err(|e| e.to_string())?;
    if !key.verifies_receipt(&body, &file.signature.signature) {
        return Err(
            "the signature does not match the receipt: it was altered or not issued by this key"
                .into(),
        );
    }
    Ok(file)
}

/// A person confirms a manual step (with what they did).
pub async fn confirm(
    ctx: &Ctx,
    id: Uuid,
    n: u32,
    note: String,
    by: &str,
) -> ApiResult<Offboarding> {
    let mut o: Offboarding = get(ctx.store(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("offboarding `{id}` does not exist")))?;
    let now = ctx.now();
    let Some(step) = o.steps.iter_mut().find(|s| s.n == n) else {
        return Err(ApiError::not_found(format!(
            "offboarding `{id}` has no step {n}"
        )));
    };
    if step.status != StepStatus::Manual {
        return Err(conflict(
            "not_manual",
            format!(
                "step {n} is {}, not waiting for a person",
                step.status.as_str()
            ),
        ));
    }
    step.status = StepStatus::Done;
    step.outcome = Some(match step.kind {
        StepKind::Rescan => "gone".to_string(),
        _ => "confirmed".to_string(),
    });
    step.evidence.push(format!("confirmed by {by}: {note}"));
    step.done_at = Some(now);
    let confirmed = step.clone();
    if o.state == OffboardingState::Waiting {
        o.state = OffboardingState::Running;
    }
    o.version += 1;
    o.updated_at = now;
    ctx.commit(
        vec![Change::update(&o)?],
        "offboarding.confirm",
        Some(format!("offboarding:{id}")),
        json!({"step": n, "kind": confirmed.kind.as_str(), "target": confirmed.target, "note": note}),
    )
    .await?;
    Ok(o)
}

/// Re-scans every location of a finished offboarding whose copies remained: a new receipt once
/// done.
pub async fn recheck(ctx: &Ctx, id: Uuid) -> ApiResult<Offboarding> {
    let mut o: Offboarding = get(ctx.store(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("offboarding `{id}` does not exist")))?;
    if o.state != OffboardingState::Finished {
        return Err(conflict(
            "not_finished",
            format!(
                "offboarding `{id}` is {}; re-check a finished one",
                o.state.as_str()
            ),
        ));
    }
    if o.outcome.as_deref() != Some(holdfast_core::offboard::OUTCOME_COPIES_REMAIN) {
        return Err(conflict(
            "complete",
            format!("offboarding `{id}` is complete: no copy remained to re-check"),
        ));
    }
    // The receipt being replaced stays on record (its digest in the audit log).
    let previous = o.receipt.as_deref().map(|r| {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(r.as_bytes()))
    });
    for s in o
        .steps
        .iter_mut()
        .filter(|s| s.kind == StepKind::Rescan && s.outcome.as_deref() == Some("still_present"))
    {
        s.status = StepStatus::Pending;
        s.outcome = None;
        s.evidence.clear();
        s.done_at = None;
    }
    o.state = OffboardingState::Running;
    o.outcome = None;
    o.receipt = None;
    o.finished_at = None;
    o.version += 1;
    o.updated_at = ctx.now();
    ctx.commit(
        vec![Change::update(&o)?],
        "offboarding.recheck",
        Some(format!("offboarding:{id}")),
        json!({"rescans": o.steps.iter().filter(|s| s.kind == StepKind::Rescan && s.status == StepStatus::Pending).count(),
               "previous_receipt_sha256": previous}),
    )
    .await?;
    Ok(o)
}

/// Starts offboarding every active identity whose end date has passed (when configured).
pub async fn offboard_expired(state: &AppState) -> ApiResult<usize> {
    if !state.offboard.config.on_expiry {
        return Ok(0);
    }
    let ctx = Ctx::system(state);
    let now = ctx.now();
    let active: Vec<Identity> = find_all(
        ctx.store(),
        vec![Filter::Eq("state", Value::text("active"))],
        1000,
    )
    .await?;
    let mut n = 0;
    for i in active
        .into_iter()
        .filter(|i| i.expires_at.is_some_and(|e| e < now))
    {
        let reason = format!(
            "its end date {} passed",
            i.expires_at
                .map(|e| e.date().to_string())
                .unwrap_or_default()
        );
        if start(&ctx, i, reason, "expired", "holdfast").await.is_ok() {
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn locations_name_the_repository_even_with_at_signs_in_paths() {
        let commit = "3f2a9c0d1e2b3a4f5061728394a5b6c7d8e9f0a1";
        let (root, git) = local_target(&format!(
            "git:/srv/repos/web@{commit}:node_modules/@scope/pkg/.env:3"
        ))
        .unwrap();
        assert_eq!((root, git), (PathBuf::from("/srv/repos/web"), true));
        let (root, _) = local_target(&format!("git:/srv/me@home/api@{commit}:a.py:1")).unwrap();
        assert_eq!(root, PathBuf::from("/srv/me@home/api"));
        assert!(local_target("git:/srv/repos/web@main:a.py:1").is_none());
        let (file, git) = local_target("file:///etc/app/prod.env:12").unwrap();
        assert_eq!((file, git), (PathBuf::from("/etc/app/prod.env"), false));
        assert!(local_target("jira:SEC-42").is_none());
    }
}
