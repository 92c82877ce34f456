//! `/v1/secret-rotations`: start a rotation of a secret and follow it. The background worker
//! (`crate::rotation`) drives it.

use axum::Json as AxumJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use holdfast_core::{RotationJob, Scope, Secret, SecretVersion};
use holdfast_store::{Change, Filter, Value, find_all, get_by};
use holdfast_types::{RotationView, StartRotationRequest};
use holdfast_vault::rotation::{Rotation, Slot};
use serde_json::json;

use super::secrets::check_path;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::rotation::{RotatedValue, read_value, rotator_for};
use crate::state::{AppState, Ctx};

async fn open_job(ctx: &Ctx, path: &str) -> ApiResult<Option<RotationJob>> {
    let jobs: Vec<RotationJob> = find_all(
        ctx.store(),
        vec![
            Filter::Eq("path", Value::text(path)),
            Filter::Eq("finished", Value::Int(Some(0))),
        ],
        10,
    )
    .await?;
    Ok(jobs.into_iter().next())
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
    ctx.require(Scope::Write, "secret.rotate").await?;
    check_path(&path)?;
    let kind = req
        .rotator
        .ok_or_else(|| ApiError::invalid("rotator", "is required: `postgres`"))?;
    let settings = req
        .settings
        .ok_or_else(|| ApiError::invalid("settings", "is required"))?;
    let keyring = state.vault.current_keyring(ctx.store()).await?;
    let rotator = rotator_for(&state, &keyring, &kind, &settings)
        .await
        .map_err(|e| ApiError::invalid("settings", e))?;
    if open_job(&ctx, &path).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("`{path}` is already being rotated"),
        ));
    }
    let existing: Option<Secret> = get_by(ctx.store(), "path", &path).await?;
    // Which slot consumers use now: the login of the current version, if it is one of the two.
    let active = match &existing {
        Some(s) if s.current > 0 => {
            let value = read_value(&state, &keyring, &path, None)
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
    let password = holdfast_rotate::generate_secret()
        .map_err(|e| ApiError::internal("generating a password", e))?;
    let value = zeroize::Zeroizing::new(
        serde_json::to_string(&RotatedValue {
            login: rotator.login(new_slot),
            password: password.to_string(),
        })
        .map_err(|e| ApiError::internal("encoding a rotated value", e))?,
    );
    let now = ctx.now();
    let actor = ctx
        .principal
        .as_ref()
        .map(|p| p.actor())
        .unwrap_or_default();
    let mut secret = existing.unwrap_or_else(|| Secret {
        id: uuid::Uuid::now_v7(),
        version: 0,
        path: path.clone(),
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
        .encrypt(&path, new_version, value.as_bytes())
        .map_err(|e| ApiError::internal("encrypting a secret", e))?;
    secret.versions.push(SecretVersion {
        version: new_version,
        ciphertext: envelope.to_string(),
        created_at: now,
        created_by: actor.clone(),
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
        path: path.clone(),
        rotator: kind.clone(),
        config: settings,
        state: serde_json::to_value(rotation)
            .map_err(|e| ApiError::internal("encoding a rotation", e))?,
        new_version,
        grace_seconds: req.grace_seconds.unwrap_or(300),
        finished: false,
        lease_owner: None,
        lease_until: None,
        last_error: None,
        started_by: actor,
        started_at: now,
        updated_at: now,
    };
    ctx.commit(
        vec![secret_change, Change::insert(&job)?],
        "secret.rotate",
        Some(format!("secret:{path}")),
        json!({"path": path, "rotator": kind, "new_version": new_version, "new_login": rotator.login(new_slot)}),
    )
    .await?;
    Ok((StatusCode::CREATED, AxumJson(job.into())))
}

#[utoipa::path(get, path = "/v1/secret-rotations/{path}", tag = "secrets",
    params(("path" = String, Path, description = "secret path")),
    responses((status = 200, body = RotationView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn show(ctx: Ctx, Path(path): Path<String>) -> ApiResult<AxumJson<RotationView>> {
    ctx.require(Scope::Read, "secret.rotation").await?;
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
