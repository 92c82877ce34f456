//! `/v1/secrets`: path-addressed, versioned secrets. Values are encrypted under the vault's active
//! data key with the path and version bound in, and exist in plaintext only in the write request
//! and the one read response. Every read is authorised, audited (without the value) and recorded
//! on the secret (last read at, by whom). Until Cedar policy lands (issue 6), reading a value takes
//! the `write` scope; metadata takes `read`.

use axum::Json as AxumJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use holdfast_core::{Identity, Secret, SecretVersion};
use holdfast_policy::Target;
use holdfast_store::{Change, Filter, Query as StoreQuery, Table, Value, get_by};
use holdfast_types::{
    PutSecretRequest, SecretMetaView, SecretPage, SecretValueView, SecretVersionsRequest,
    SecretWritten,
};
use holdfast_vault::Envelope;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use zeroize::Zeroizing;

use super::{must_get, page};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::{AppState, Ctx};

/// Largest value accepted.
pub const MAX_VALUE: usize = 512 * 1024;

/// A secret path: `/`-separated segments of letters, digits, `.`, `_`, `-`; no empty, `.` or `..`
/// segment; at most 512 characters.
pub fn check_path(path: &str) -> ApiResult<()> {
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
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "path",
            "must be `/`-separated segments of letters, digits, `.`, `_` or `-` (no empty, `.` or `..` segment), at most 512 characters",
        ))
    }
}

fn not_found(path: &str) -> ApiError {
    ApiError::not_found(format!("secret `{path}` does not exist"))
}

async fn load(ctx: &Ctx, path: &str) -> ApiResult<Secret> {
    get_by::<Secret>(ctx.store(), "path", path)
        .await?
        .ok_or_else(|| not_found(path))
}

fn integrity(path: &str, version: u64, e: impl std::fmt::Display) -> ApiError {
    tracing::error!(path, version, error = %e, "a stored secret version failed its integrity check");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "integrity",
        format!(
            "version {version} of `{path}` failed its integrity check: the stored ciphertext was altered or belongs to another path or version; other secrets are unaffected"
        ),
    )
}

#[utoipa::path(put, path = "/v1/secrets/{path}", tag = "secrets", request_body = PutSecretRequest,
    params(("path" = String, Path, description = "secret path, e.g. `ci/deploy/aws`")),
    responses((status = 200, body = SecretWritten), (status = 409, body = holdfast_types::ErrorBody),
        (status = 503, body = holdfast_types::ErrorBody)))]
pub async fn put(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(path): Path<String>,
    Json(req): Json<PutSecretRequest>,
) -> ApiResult<AxumJson<SecretWritten>> {
    ctx.require_on("secret.write", Target::Secret(path.clone()), "")
        .await?;
    check_path(&path)?;
    let PutSecretRequest {
        value,
        cas,
        owner_identity,
        consumers,
        max_age_days,
    } = req;
    let value = Zeroizing::new(value.ok_or_else(|| ApiError::invalid("value", "is required"))?);
    if value.len() > MAX_VALUE {
        return Err(ApiError::invalid(
            "value",
            format!("must be at most {MAX_VALUE} bytes"),
        ));
    }
    if let Some(id) = owner_identity {
        let _: Identity = must_get(&ctx, id).await.map_err(|_| {
            ApiError::invalid(
                "owner_identity",
                format!("names identity `{id}`, which does not exist"),
            )
        })?;
    }
    // A write without check-and-set retries when a read or another write bumped the record in
    // between; with check-and-set the caller decides.
    for attempt in 0..5 {
        let keyring = state.vault.current_keyring(ctx.store()).await?;
        let now = ctx.now();
        let existing = get_by::<Secret>(ctx.store(), "path", &path).await?;
        let open_rotation: Vec<holdfast_core::RotationJob> = holdfast_store::find_all(
            ctx.store(),
            vec![
                Filter::Eq("path", Value::text(&path)),
                Filter::Eq("finished", Value::Int(Some(0))),
            ],
            1,
        )
        .await?;
        if !open_rotation.is_empty() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("`{path}` is being rotated; write it when the rotation has finished"),
            ));
        }
        let current = existing.as_ref().map_or(0, |s| s.current);
        if let Some(expected) = cas
            && expected != current
        {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                "stale",
                format!("check-and-set failed: `{path}` is at version {current}, not {expected}"),
            );
            e.field = Some("cas".into());
            return Err(e);
        }
        // After the newest version of any kind (a rotation may have written one that was never
        // promoted).
        let version = existing
            .as_ref()
            .and_then(|s| s.versions.iter().map(|v| v.version).max())
            .unwrap_or(0)
            .max(current)
            + 1;
        let envelope = keyring
            .encrypt(&path, version, value.as_bytes())
            .map_err(|e| ApiError::internal("encrypting a secret", e))?;
        let entry = SecretVersion {
            version,
            ciphertext: envelope.to_string(),
            created_at: now,
            created_by: ctx
                .principal
                .as_ref()
                .map(|p| p.actor())
                .unwrap_or_default(),
            deleted_at: None,
            destroyed: false,
            pending: false,
        };
        let change = match existing {
            None => {
                let secret = Secret {
                    id: uuid::Uuid::now_v7(),
                    version: 1,
                    path: path.clone(),
                    current: version,
                    versions: vec![entry],
                    owner_identity,
                    consumers: consumers.clone().unwrap_or_default(),
                    max_age_days,
                    created_at: now,
                    updated_at: now,
                    last_read_at: None,
                    last_read_by: None,
                };
                Change::insert(&secret)?
            }
            Some(mut secret) => {
                secret.version += 1;
                secret.current = version;
                secret.versions.push(entry);
                if owner_identity.is_some() {
                    secret.owner_identity = owner_identity;
                }
                if let Some(c) = consumers.clone() {
                    secret.consumers = c;
                }
                if max_age_days.is_some() {
                    secret.max_age_days = max_age_days;
                }
                secret.updated_at = now;
                Change::update(&secret)?
            }
        };
        let committed = ctx
            .commit(
                vec![change],
                "secret.write",
                Some(format!("secret:{path}")),
                json!({"path": path, "version": version, "key_id": envelope.key_id}),
            )
            .await;
        match committed {
            Ok(_) => {
                return Ok(AxumJson(SecretWritten {
                    path,
                    version,
                    created_at: now,
                }));
            }
            Err(e) if cas.is_none() && e.status == StatusCode::CONFLICT && attempt < 4 => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "stale",
        format!("`{path}` kept changing while it was written; try again"),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReadQuery {
    /// A version number; the newest when omitted.
    pub version: Option<u64>,
}

#[utoipa::path(get, path = "/v1/secrets/{path}", tag = "secrets",
    params(("path" = String, Path, description = "secret path"), ReadQuery),
    responses((status = 200, body = SecretValueView), (status = 404, body = holdfast_types::ErrorBody),
        (status = 503, body = holdfast_types::ErrorBody)))]
pub async fn get(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(path): Path<String>,
    Query(q): Query<ReadQuery>,
) -> ApiResult<AxumJson<SecretValueView>> {
    ctx.require_on("secret.read", Target::Secret(path.clone()), "")
        .await?;
    check_path(&path)?;
    let actor = ctx
        .principal
        .as_ref()
        .map(|p| p.actor())
        .unwrap_or_default();
    // Recording the read can race a write to the same secret: read again and retry.
    for _ in 0..5 {
        let keyring = state.vault.current_keyring(ctx.store()).await?;
        let secret = load(&ctx, &path).await?;
        let version = q.version.unwrap_or(secret.current);
        let entry = secret
            .versions
            .iter()
            .find(|v| v.version == version)
            .ok_or_else(|| ApiError::not_found(format!("`{path}` has no version {version}")))?;
        if entry.pending {
            return Err(ApiError::not_found(format!(
                "version {version} of `{path}` is a rotation's pending version: it is served once the rotation promotes it"
            )));
        }
        if entry.destroyed {
            return Err(ApiError::not_found(format!(
                "version {version} of `{path}` was destroyed"
            )));
        }
        if entry.deleted_at.is_some() {
            return Err(ApiError::not_found(format!(
                "version {version} of `{path}` is deleted (undelete it to read it)"
            )));
        }
        let envelope: Envelope = entry
            .ciphertext
            .parse()
            .map_err(|e| integrity(&path, version, e))?;
        let plain = keyring
            .decrypt(&path, version, &envelope)
            .map_err(|e| integrity(&path, version, e))?;
        let value = String::from_utf8(plain.to_vec())
            .map_err(|_| integrity(&path, version, "not UTF-8"))?;
        let created_at = entry.created_at;
        let mut next = secret.clone();
        next.version += 1;
        next.last_read_at = Some(ctx.now());
        next.last_read_by = Some(actor.clone());
        let committed = ctx
            .commit(
                vec![Change::update(&next)?],
                "secret.read",
                Some(format!("secret:{path}")),
                json!({"path": path, "version": version}),
            )
            .await;
        match committed {
            Ok(_) => {
                return Ok(AxumJson(SecretValueView {
                    path,
                    version,
                    value,
                    created_at,
                }));
            }
            Err(e) if e.code == "stale" || e.status == StatusCode::CONFLICT => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "stale",
        format!("`{path}` kept changing while it was read; try again"),
    ))
}

#[utoipa::path(get, path = "/v1/secret-metadata/{path}", tag = "secrets",
    params(("path" = String, Path, description = "secret path")),
    responses((status = 200, body = SecretMetaView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn metadata(ctx: Ctx, Path(path): Path<String>) -> ApiResult<AxumJson<SecretMetaView>> {
    ctx.require_on("secret.metadata", Target::Secret(path.clone()), "")
        .await?;
    check_path(&path)?;
    Ok(AxumJson(load(&ctx, &path).await?.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SecretFilter {
    /// Paths containing this (case-insensitive).
    pub prefix: Option<String>,
    pub owner_identity: Option<uuid::Uuid>,
    pub limit: Option<u32>,
    pub after: Option<uuid::Uuid>,
}

#[utoipa::path(get, path = "/v1/secrets", tag = "secrets", params(SecretFilter),
    responses((status = 200, body = SecretPage)))]
pub async fn list(ctx: Ctx, Query(f): Query<SecretFilter>) -> ApiResult<AxumJson<SecretPage>> {
    ctx.require("secret.list").await?;
    let mut q = StoreQuery::new(Table::Secrets);
    if let Some(p) = f.prefix.filter(|p| !p.is_empty()) {
        q = q.filter(Filter::Like("path", p));
    }
    if let Some(o) = f.owner_identity {
        q = q.filter(Filter::Eq("owner_identity", Value::text(o.to_string())));
    }
    let (items, next): (Vec<Secret>, _) = page(&ctx, q, f.limit, f.after).await?;
    Ok(AxumJson(SecretPage {
        items: items.into_iter().map(Into::into).collect(),
        next,
    }))
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Delete,
    Undelete,
    Destroy,
}

async fn versions_op(
    ctx: Ctx,
    path: String,
    req: SecretVersionsRequest,
    op: Op,
) -> ApiResult<AxumJson<SecretMetaView>> {
    let action = match op {
        Op::Delete => "secret.delete",
        Op::Undelete => "secret.undelete",
        Op::Destroy => "secret.destroy",
    };
    ctx.require_on(action, Target::Secret(path.clone()), "")
        .await?;
    check_path(&path)?;
    let mut secret = load(&ctx, &path).await?;
    let wanted = if req.versions.is_empty() {
        vec![secret.current]
    } else {
        req.versions.clone()
    };
    let now = ctx.now();
    for (i, v) in wanted.iter().enumerate() {
        let entry = secret
            .versions
            .iter_mut()
            .find(|e| e.version == *v)
            .ok_or_else(|| {
                ApiError::invalid(
                    format!("versions[{i}]"),
                    format!("`{path}` has no version {v}"),
                )
            })?;
        match op {
            Op::Delete => {
                if entry.deleted_at.is_none() {
                    entry.deleted_at = Some(now);
                }
            }
            Op::Undelete => {
                if entry.destroyed {
                    return Err(ApiError::invalid(
                        format!("versions[{i}]"),
                        format!("version {v} was destroyed and cannot come back"),
                    ));
                }
                entry.deleted_at = None;
            }
            Op::Destroy => {
                entry.destroyed = true;
                entry.ciphertext.clear();
                if entry.deleted_at.is_none() {
                    entry.deleted_at = Some(now);
                }
            }
        }
    }
    secret.version += 1;
    secret.updated_at = now;
    ctx.commit(
        vec![Change::update(&secret)?],
        action,
        Some(format!("secret:{path}")),
        json!({"path": path, "versions": wanted}),
    )
    .await?;
    Ok(AxumJson(secret.into()))
}

#[utoipa::path(post, path = "/v1/secret-versions/delete/{path}", tag = "secrets", request_body = SecretVersionsRequest,
    params(("path" = String, Path, description = "secret path")),
    responses((status = 200, body = SecretMetaView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn delete(
    ctx: Ctx,
    Path(path): Path<String>,
    Json(req): Json<SecretVersionsRequest>,
) -> ApiResult<AxumJson<SecretMetaView>> {
    versions_op(ctx, path, req, Op::Delete).await
}

#[utoipa::path(post, path = "/v1/secret-versions/undelete/{path}", tag = "secrets", request_body = SecretVersionsRequest,
    params(("path" = String, Path, description = "secret path")),
    responses((status = 200, body = SecretMetaView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn undelete(
    ctx: Ctx,
    Path(path): Path<String>,
    Json(req): Json<SecretVersionsRequest>,
) -> ApiResult<AxumJson<SecretMetaView>> {
    versions_op(ctx, path, req, Op::Undelete).await
}

#[utoipa::path(post, path = "/v1/secret-versions/destroy/{path}", tag = "secrets", request_body = SecretVersionsRequest,
    params(("path" = String, Path, description = "secret path")),
    responses((status = 200, body = SecretMetaView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn destroy(
    ctx: Ctx,
    Path(path): Path<String>,
    Json(req): Json<SecretVersionsRequest>,
) -> ApiResult<AxumJson<SecretMetaView>> {
    versions_op(ctx, path, req, Op::Destroy).await
}
