//! `/v1/secret-rotations`: start a rotation of a secret and follow it. The background worker
//! (`crate::rotation`) drives it.

use axum::Json as AxumJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use holdfast_core::{RotationJob, Secret, SecretVersion};
use holdfast_policy::Target;
use holdfast_store::{Change, Filter, Value, find_all, get_by};
use holdfast_types::{
    EmergencyRotationReport, EmergencyRotationRequest, RotationView, StartRotationRequest,
};
use holdfast_vault::rotation::{Rotation, Slot};
use serde_json::json;

use super::secrets::check_path;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::rotation::{RotatedValue, read_value, rotator_for};
use crate::state::{AppState, Ctx};

/// Everything starting a rotation writes: the pending version (with a fresh secret) and the job.
/// Used by the API, the max-age scheduler and emergency rotation.
pub async fn plan_rotation(
    state: &AppState,
    path: &str,
    kind: &str,
    settings: serde_json::Value,
    grace_seconds: u64,
    actor: &str,
    now: time::OffsetDateTime,
) -> ApiResult<(Vec<Change>, RotationJob, String)> {
    let store = state.store.as_ref();
    let keyring = state.vault.current_keyring(store).await?;
    let rotator = rotator_for(state, &keyring, kind, &settings)
        .await
        .map_err(|e| ApiError::invalid("settings", e))?;
    let open: Vec<RotationJob> = find_all(
        store,
        vec![
            Filter::Eq("path", Value::text(path)),
            Filter::Eq("finished", Value::Int(Some(0))),
        ],
        1,
    )
    .await?;
    if !open.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("`{path}` is already being rotated"),
        ));
    }
    let existing: Option<Secret> = get_by(store, "path", path).await?;
    // An offboarded identity's revoked logins stay revoked: nothing rotates them back to life.
    if let Some(owner) = existing.as_ref().and_then(|s| s.owner_identity)
        && let Some(i) = holdfast_store::get::<holdfast_core::Identity>(store, owner).await?
        && matches!(
            i.state,
            holdfast_core::LifecycleState::Offboarding | holdfast_core::LifecycleState::Offboarded
        )
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "offboarded",
            format!(
                "`{path}` belongs to identity `{}`, which is {}: its credentials are revoked, not rotated",
                i.id,
                i.state.as_str()
            ),
        ));
    }
    // Which slot consumers use now: the login of the current version, if it is one of the two.
    let active = match &existing {
        Some(s) if s.current > 0 => {
            let value = read_value(state, &keyring, path, None)
                .await
                .map_err(|e| ApiError::invalid("path", e))?;
            let login = serde_json::from_str::<RotatedValue>(&value)
                .map(|v| v.login)
                .unwrap_or_default();
            if login == rotator.login(Slot::Blue) {
                Slot::Blue
            } else if login == rotator.login(Slot::Green) {
                Slot::Green
            } else {
                return Err(ApiError::invalid(
                    "settings",
                    format!(
                        "the current value of `{path}` is not a login of this rotator: store `{{\"login\": \"<blue or green role>\", \"password\": …}}` first"
                    ),
                ));
            }
        }
        _ => Slot::Green,
    };
    let rotation = Rotation::start(active);
    let new_slot = rotation.new_slot();
    let new_login = rotator.login(new_slot);
    let password = holdfast_rotate::generate_secret()
        .map_err(|e| ApiError::internal("generating a password", e))?;
    let value = zeroize::Zeroizing::new(
        serde_json::to_string(&RotatedValue {
            login: new_login.clone(),
            password: password.to_string(),
        })
        .map_err(|e| ApiError::internal("encoding a rotated value", e))?,
    );
    let mut secret = existing.unwrap_or_else(|| Secret {
        id: uuid::Uuid::now_v7(),
        version: 0,
        path: path.to_string(),
        current: 0,
        versions: Vec::new(),
        owner_identity: None,
        consumers: Vec::new(),
        max_age_days: None,
        created_at: now,
        updated_at: now,
        last_read_at: None,
        last_read_by: None,
    });
    let new_version = secret.versions.iter().map(|v| v.version).max().unwrap_or(0) + 1;
    let envelope = keyring
        .encrypt(path, new_version, value.as_bytes())
        .map_err(|e| ApiError::internal("encrypting a secret", e))?;
    secret.versions.push(SecretVersion {
        version: new_version,
        ciphertext: envelope.to_string(),
        created_at: now,
        created_by: actor.to_string(),
        deleted_at: None,
        destroyed: false,
        pending: true,
    });
    secret.updated_at = now;
    let secret_change = if secret.version == 0 {
        secret.version = 1;
        Change::insert(&secret)?
    } else {
        secret.version += 1;
        Change::update(&secret)?
    };
    let job = RotationJob {
        id: uuid::Uuid::now_v7(),
        version: 1,
        path: path.to_string(),
        rotator: kind.to_string(),
        config: settings,
        state: serde_json::to_value(rotation)
            .map_err(|e| ApiError::internal("encoding a rotation", e))?,
        new_version,
        grace_seconds,
        finished: false,
        acknowledged: false,
        lease_owner: None,
        lease_until: None,
        last_error: None,
        started_by: actor.to_string(),
        started_at: now,
        updated_at: now,
    };
    Ok((vec![secret_change, Change::insert(&job)?], job, new_login))
}

#[utoipa::path(post, path = "/v1/secret-rotations/{path}", tag = "secrets", request_body = StartRotationRequest,
    params(("path" = String, Path, description = "secret path")),
    responses((status = 201, body = RotationView), (status = 409, body = holdfast_types::ErrorBody),
        (status = 422, body = holdfast_types::ErrorBody), (status = 503, body = holdfast_types::ErrorBody)))]
pub async fn start(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(path): Path<String>,
    Json(req): Json<StartRotationRequest>,
) -> ApiResult<(StatusCode, AxumJson<RotationView>)> {
    ctx.require_on("secret.rotate", Target::Secret(path.clone()), "")
        .await?;
    check_path(&path)?;
    let kind = req
        .rotator
        .ok_or_else(|| ApiError::invalid("rotator", "is required: `postgres`"))?;
    let settings = req
        .settings
        .ok_or_else(|| ApiError::invalid("settings", "is required"))?;
    let actor = ctx
        .principal
        .as_ref()
        .map(|p| p.actor())
        .unwrap_or_default();
    let (changes, job, new_login) = plan_rotation(
        &state,
        &path,
        &kind,
        settings,
        req.grace_seconds.unwrap_or(300),
        &actor,
        ctx.now(),
    )
    .await?;
    ctx.commit(
        changes,
        "secret.rotate",
        Some(format!("secret:{path}")),
        json!({"path": path, "rotator": kind, "new_version": job.new_version, "new_login": new_login}),
    )
    .await?;
    Ok((StatusCode::CREATED, AxumJson(job.into())))
}

/// Consumers have moved to the new version: the old credential may be revoked now instead of at
/// the end of the grace period.
#[utoipa::path(post, path = "/v1/secret-rotation-acks/{path}", tag = "secrets",
    params(("path" = String, Path, description = "secret path")),
    responses((status = 200, body = RotationView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn acknowledge(ctx: Ctx, Path(path): Path<String>) -> ApiResult<AxumJson<RotationView>> {
    ctx.require_on("secret.rotation_ack", Target::Secret(path.clone()), "")
        .await?;
    check_path(&path)?;
    let jobs: Vec<RotationJob> = find_all(
        ctx.store(),
        vec![
            Filter::Eq("path", Value::text(&path)),
            Filter::Eq("finished", Value::Int(Some(0))),
        ],
        1,
    )
    .await?;
    let mut job = jobs
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("`{path}` has no rotation in progress")))?;
    job.version += 1;
    job.acknowledged = true;
    job.updated_at = ctx.now();
    ctx.commit(
        vec![Change::update(&job)?],
        "secret.rotation_ack",
        Some(format!("secret:{path}")),
        json!({"path": path}),
    )
    .await?;
    Ok(AxumJson(job.into()))
}

#[utoipa::path(get, path = "/v1/secret-rotations/{path}", tag = "secrets",
    params(("path" = String, Path, description = "secret path")),
    responses((status = 200, body = RotationView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn show(ctx: Ctx, Path(path): Path<String>) -> ApiResult<AxumJson<RotationView>> {
    ctx.require_on("secret.rotation", Target::Secret(path.clone()), "")
        .await?;
    check_path(&path)?;
    let mut jobs: Vec<RotationJob> = find_all(
        ctx.store(),
        vec![Filter::Eq("path", Value::text(&path))],
        100,
    )
    .await?;
    jobs.sort_by_key(|j| j.started_at);
    jobs.pop()
        .map(|j| AxumJson(j.into()))
        .ok_or_else(|| ApiError::not_found(format!("`{path}` has never been rotated")))
}

/// The newest finished rotation of a path: how it was rotated last time.
pub async fn last_rotation(
    store: &dyn holdfast_store::Store,
    path: &str,
) -> ApiResult<Option<RotationJob>> {
    let mut jobs: Vec<RotationJob> = find_all(
        store,
        vec![
            Filter::Eq("path", Value::text(path)),
            Filter::Eq("finished", Value::Int(Some(1))),
        ],
        100,
    )
    .await?;
    jobs.sort_by_key(|j| j.started_at);
    Ok(jobs.pop())
}

/// Emergency rotation: every secret an identity owns, or whose current value has a leaked
/// fingerprint, rotated now with no grace period — each with the rotator it was rotated with
/// before. Secrets never rotated by Holdfast are listed as needing a person.
#[utoipa::path(post, path = "/v1/secret-rotations-emergency", tag = "secrets", request_body = EmergencyRotationRequest,
    responses((status = 200, body = EmergencyRotationReport), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn emergency(
    ctx: Ctx,
    State(state): State<AppState>,
    Json(req): Json<EmergencyRotationRequest>,
) -> ApiResult<AxumJson<EmergencyRotationReport>> {
    ctx.require("secret.rotate_emergency").await?;
    let keyring = state.vault.current_keyring(ctx.store()).await?;
    let secrets: Vec<Secret> = match (req.identity, req.fingerprint.as_deref()) {
        (Some(id), None) => {
            find_all(
                ctx.store(),
                vec![Filter::Eq("owner_identity", Value::text(id.to_string()))],
                500,
            )
            .await?
        }
        (None, Some(fp)) => {
            let fp: holdfast_core::Fingerprint = fp.parse().map_err(|_| {
                ApiError::invalid("fingerprint", "must be `sha256:` and 64 hex digits")
            })?;
            let all: Vec<Secret> = find_all(ctx.store(), vec![], 500).await?;
            let mut hits = Vec::new();
            for s in all {
                if s.current == 0 {
                    continue;
                }
                if let Ok(value) = read_value(&state, &keyring, &s.path, None).await
                    && holdfast_core::Fingerprint::of_secret(value.as_bytes()) == fp
                {
                    hits.push(s);
                }
            }
            hits
        }
        _ => {
            return Err(ApiError::invalid(
                "identity",
                "give exactly one of `identity` or `fingerprint`",
            ));
        }
    };
    let actor = ctx
        .principal
        .as_ref()
        .map(|p| p.actor())
        .unwrap_or_default();
    let mut report = EmergencyRotationReport {
        started: Vec::new(),
        needs_a_person: Vec::new(),
        failed: Vec::new(),
    };
    for s in secrets {
        let Some(last) = last_rotation(ctx.store(), &s.path).await? else {
            report.needs_a_person.push(s.path.clone());
            continue;
        };
        let planned = plan_rotation(
            &state,
            &s.path,
            &last.rotator,
            last.config.clone(),
            0,
            &actor,
            ctx.now(),
        )
        .await;
        match planned {
            Ok((changes, job, _)) => {
                ctx.commit(
                    changes,
                    "secret.rotate",
                    Some(format!("secret:{}", s.path)),
                    json!({"path": s.path, "rotator": last.rotator, "new_version": job.new_version, "emergency": true}),
                )
                .await?;
                report.started.push(s.path.clone());
            }
            Err(e) => report.failed.push(format!("{}: {}", s.path, e.message)),
        }
    }
    Ok(AxumJson(report))
}
