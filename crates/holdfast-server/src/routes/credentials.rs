//! `/v1/credentials`: credentials of identities, kept as fingerprints, with where copies were found.

use axum::Json as AxumJson;
use axum::extract::Path;
use axum::http::StatusCode;
use holdfast_core::{
    Credential, CredentialKind, CredentialState, Exposure, Fingerprint, Identity, ValidationErrors,
};
use holdfast_store::{Change, Table};
use holdfast_types::{
    AddExposureRequest, CreateCredentialRequest, CredentialPage, CredentialView,
    UpdateCredentialRequest,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{check_version, eq, must_get, need_version, page, parse_id, table_query};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::Ctx;

fn target(id: Uuid) -> Option<String> {
    Some(format!("credential:{id}"))
}

fn parse_fingerprint(raw: &str) -> ApiResult<Fingerprint> {
    raw.parse()
        .map_err(|e: holdfast_core::fingerprint::FingerprintParseError| {
            ApiError::invalid("fingerprint", e.to_string())
        })
}

async fn owning_identity(ctx: &Ctx, raw: Option<&str>) -> ApiResult<Identity> {
    let Some(raw) = raw else {
        return Err(ApiError::invalid(
            "identity",
            "is required: a credential belongs to one identity",
        ));
    };
    let id = Uuid::try_parse(raw)
        .map_err(|_| ApiError::invalid("identity", format!("`{raw}` is not an identity id")))?;
    holdfast_store::get::<Identity>(ctx.store(), id)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "identity",
                format!("names identity `{id}`, which does not exist"),
            )
        })
}

#[utoipa::path(post, path = "/v1/credentials", tag = "credentials", request_body = CreateCredentialRequest,
    responses((status = 201, body = CredentialView), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn create(
    ctx: Ctx,
    Json(req): Json<CreateCredentialRequest>,
) -> ApiResult<(StatusCode, AxumJson<CredentialView>)> {
    ctx.require("credential.create").await?;
    let mut errs = ValidationErrors::default();
    if req.kind.is_none() {
        errs.push("kind", "is required");
    }
    if req.name.is_none() {
        errs.push("name", "is required");
    }
    if req.fingerprint.is_some() && req.value.is_some() {
        errs.push("value", "give either `fingerprint` or `value`, not both");
    }
    errs.into_result()?;
    let identity = owning_identity(&ctx, req.identity.as_deref()).await?;
    super::require_for_identity(&ctx, "credential.create", identity.id).await?;
    if !identity.state.is_editable() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "offboarded",
            "the identity is offboarded; it cannot receive credentials",
        ));
    }
    let fingerprint = match (req.fingerprint.as_deref(), req.value.as_deref()) {
        (Some(f), _) => Some(parse_fingerprint(f)?),
        (None, Some("")) => {
            return Err(ApiError::invalid("value", "must not be empty"));
        }
        (None, Some(v)) => Some(Fingerprint::of_secret(v.as_bytes())),
        (None, None) => None,
    };
    drop(req.value);
    let now = ctx.now();
    let cred = Credential {
        id: Uuid::now_v7(),
        version: 1,
        identity_id: identity.id,
        kind: req.kind.unwrap_or(CredentialKind::Other),
        name: req.name.unwrap_or_default(),
        external_id: req.external_id,
        fingerprint,
        state: CredentialState::Active,
        stored_in: req.stored_in,
        exposures: vec![],
        created_at: now,
        updated_at: now,
        issued_at: req.issued_at,
        expires_at: req.expires_at,
        last_rotated_at: req.last_rotated_at,
        last_used_at: None,
    };
    cred.check()?;
    let detail = json!({"identity_id": cred.identity_id, "kind": cred.kind, "fingerprint": cred.fingerprint});
    ctx.commit(
        vec![Change::insert(&cred)?],
        "credential.create",
        target(cred.id),
        detail,
    )
    .await?;
    Ok((StatusCode::CREATED, AxumJson(cred.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CredentialFilter {
    pub identity: Option<Uuid>,
    pub kind: Option<CredentialKind>,
    pub state: Option<CredentialState>,
    /// `sha256:…`: which credentials have this value.
    pub fingerprint: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/credentials", tag = "credentials", params(CredentialFilter), responses((status = 200, body = CredentialPage)))]
pub async fn list(
    ctx: Ctx,
    Query(f): Query<CredentialFilter>,
) -> ApiResult<AxumJson<CredentialPage>> {
    ctx.require("credential.list").await?;
    let fp = f
        .fingerprint
        .as_deref()
        .map(parse_fingerprint)
        .transpose()?;
    let q = eq(
        eq(
            eq(table_query(Table::Credentials), "identity_id", f.identity),
            "kind",
            f.kind,
        ),
        "state",
        f.state,
    );
    let q = eq(q, "fingerprint", fp);
    let (items, next) = page::<Credential>(&ctx, q, f.limit, f.after).await?;
    Ok(AxumJson(CredentialPage {
        items: items.into_iter().map(Into::into).collect(),
        next,
    }))
}

#[utoipa::path(get, path = "/v1/credentials/{id}", tag = "credentials", params(("id" = Uuid, Path)),
    responses((status = 200, body = CredentialView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn show(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<CredentialView>> {
    ctx.require("credential.show").await?;
    let c: Credential = must_get(&ctx, parse_id("credential", &raw)?).await?;
    Ok(AxumJson(c.into()))
}

#[utoipa::path(patch, path = "/v1/credentials/{id}", tag = "credentials", params(("id" = Uuid, Path)), request_body = UpdateCredentialRequest,
    responses((status = 200, body = CredentialView), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn update(
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<UpdateCredentialRequest>,
) -> ApiResult<AxumJson<CredentialView>> {
    ctx.require("credential.update").await?;
    let version = need_version(req.version)?;
    let current: Credential = must_get(&ctx, parse_id("credential", &raw)?).await?;
    super::require_for_identity(&ctx, "credential.update", current.identity_id).await?;
    check_version("credential", current.id, current.version, version)?;
    let mut next = current.clone();
    if let Some(s) = req.state {
        if current.state == CredentialState::Revoked && s != CredentialState::Revoked {
            return Err(ApiError::invalid(
                "state",
                "a revoked credential cannot be reactivated; register the new credential instead",
            ));
        }
        next.state = s;
    }
    if let Some(s) = req.stored_in {
        next.stored_in = Some(s);
    }
    if let Some(e) = req.expires_at {
        next.expires_at = Some(e);
    }
    if let Some(r) = req.last_rotated_at {
        next.last_rotated_at = Some(r);
    }
    if let Some(f) = req.fingerprint.as_deref() {
        next.fingerprint = Some(parse_fingerprint(f)?);
    }
    next.check()?;
    next.version = version + 1;
    next.updated_at = ctx.now();
    let detail = json!({"state": next.state, "fingerprint_changed": next.fingerprint != current.fingerprint});
    ctx.commit(
        vec![Change::update(&next)?],
        "credential.update",
        target(next.id),
        detail,
    )
    .await?;
    Ok(AxumJson(next.into()))
}

#[utoipa::path(post, path = "/v1/credentials/{id}/exposures", tag = "credentials", params(("id" = Uuid, Path)),
    request_body = AddExposureRequest, responses((status = 200, body = CredentialView)))]
pub async fn add_exposure(
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<AddExposureRequest>,
) -> ApiResult<AxumJson<CredentialView>> {
    ctx.require("credential.exposure_add").await?;
    let Some(location) = req.location else {
        return Err(ApiError::invalid(
            "location",
            "is required: say where the copy was found",
        ));
    };
    let current: Credential = must_get(&ctx, parse_id("credential", &raw)?).await?;
    super::require_for_identity(&ctx, "credential.exposure_add", current.identity_id).await?;
    let mut next = current.clone();
    if !next.exposures.iter().any(|e| e.location == location) {
        next.exposures.push(Exposure {
            location: location.clone(),
            source: req.source.unwrap_or_else(|| "manual".into()),
            found_at: ctx.now(),
            detail: req.detail,
        });
    }
    if let Err(mut e) = next.check() {
        for f in &mut e.errors {
            if let Some(rest) = f
                .field
                .strip_prefix("exposures[")
                .and_then(|r| r.split_once("]."))
            {
                f.field = rest.1.to_string();
            }
        }
        return Err(e.into());
    }
    next.version = current.version + 1;
    next.updated_at = ctx.now();
    let detail = json!({"location": location, "exposures": next.exposures.len()});
    ctx.commit(
        vec![Change::update(&next)?],
        "credential.exposure_add",
        target(next.id),
        detail,
    )
    .await?;
    Ok(AxumJson(next.into()))
}
