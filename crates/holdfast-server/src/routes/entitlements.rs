//! `/v1/entitlements`: what each identity may do, and what grants it.

use axum::Json as AxumJson;
use axum::extract::Path;
use axum::http::StatusCode;
use holdfast_core::{Entitlement, Identity, ValidationErrors};
use holdfast_store::{Change, Table};
use holdfast_types::{CreateEntitlementRequest, EntitlementPage, EntitlementView};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{check_version, eq, must_get, page, parse_id, resolve_system, table_query};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::Ctx;

#[utoipa::path(post, path = "/v1/entitlements", tag = "entitlements", request_body = CreateEntitlementRequest,
    responses((status = 201, body = EntitlementView), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn create(
    ctx: Ctx,
    Json(req): Json<CreateEntitlementRequest>,
) -> ApiResult<(StatusCode, AxumJson<EntitlementView>)> {
    ctx.require("entitlement.create").await?;
    let mut errs = ValidationErrors::default();
    if req.identity.is_none() {
        errs.push("identity", "is required");
    }
    if req.resource.is_none() {
        errs.push("resource", "is required");
    }
    if req.granted_by.is_none() {
        errs.push(
            "granted_by",
            "is required: say what grants this (a role, a policy, a binding)",
        );
    }
    errs.into_result()?;
    let raw = req.identity.unwrap_or_default();
    let iid = Uuid::try_parse(&raw)
        .map_err(|_| ApiError::invalid("identity", format!("`{raw}` is not an identity id")))?;
    let identity = holdfast_store::get::<Identity>(ctx.store(), iid)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "identity",
                format!("names identity `{iid}`, which does not exist"),
            )
        })?;
    super::require_for_identity(&ctx, "entitlement.create", identity.id).await?;
    if !identity.state.is_editable() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "offboarded",
            "the identity is offboarded; it cannot receive entitlements",
        ));
    }
    let system_id = match req.system.as_deref() {
        Some(s) => Some(resolve_system(&ctx, "system", s).await?.id),
        None => None,
    };
    let now = ctx.now();
    let ent = Entitlement {
        id: Uuid::now_v7(),
        version: 1,
        identity_id: identity.id,
        system_id,
        resource: req.resource.unwrap_or_default(),
        actions: req.actions,
        granted_by: req.granted_by.unwrap_or_default(),
        created_at: now,
        updated_at: now,
    };
    ent.check()?;
    let detail =
        json!({"identity_id": ent.identity_id, "resource": ent.resource, "actions": ent.actions});
    ctx.commit(
        vec![Change::insert(&ent)?],
        "entitlement.create",
        Some(format!("entitlement:{}", ent.id)),
        detail,
    )
    .await?;
    Ok((StatusCode::CREATED, AxumJson(ent.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntitlementFilter {
    pub identity: Option<Uuid>,
    pub system: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/entitlements", tag = "entitlements", params(EntitlementFilter), responses((status = 200, body = EntitlementPage)))]
pub async fn list(
    ctx: Ctx,
    Query(f): Query<EntitlementFilter>,
) -> ApiResult<AxumJson<EntitlementPage>> {
    ctx.require("entitlement.list").await?;
    let mut q = eq(table_query(Table::Entitlements), "identity_id", f.identity);
    if let Some(s) = f.system {
        q = eq(
            q,
            "system_id",
            Some(resolve_system(&ctx, "system", &s).await?.id),
        );
    }
    let (items, next) = page::<Entitlement>(&ctx, q, f.limit, f.after).await?;
    Ok(AxumJson(EntitlementPage {
        items: items.into_iter().map(Into::into).collect(),
        next,
    }))
}

#[utoipa::path(get, path = "/v1/entitlements/{id}", tag = "entitlements", params(("id" = Uuid, Path)),
    responses((status = 200, body = EntitlementView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn show(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<EntitlementView>> {
    ctx.require("entitlement.show").await?;
    let e: Entitlement = must_get(&ctx, parse_id("entitlement", &raw)?).await?;
    Ok(AxumJson(e.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeleteParams {
    /// The version being removed; a stale one gets 409.
    pub version: Option<i64>,
}

#[utoipa::path(delete, path = "/v1/entitlements/{id}", tag = "entitlements", params(("id" = Uuid, Path), DeleteParams),
    responses((status = 204), (status = 404, body = holdfast_types::ErrorBody), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn delete(
    ctx: Ctx,
    Path(raw): Path<String>,
    Query(p): Query<DeleteParams>,
) -> ApiResult<StatusCode> {
    ctx.require("entitlement.delete").await?;
    let current: Entitlement = must_get(&ctx, parse_id("entitlement", &raw)?).await?;
    super::require_for_identity(&ctx, "entitlement.delete", current.identity_id).await?;
    if let Some(v) = p.version {
        check_version("entitlement", current.id, current.version, v)?;
    }
    let detail = json!({"identity_id": current.identity_id, "resource": current.resource, "actions": current.actions});
    ctx.commit(
        vec![Change::delete(&current)],
        "entitlement.delete",
        Some(format!("entitlement:{}", current.id)),
        detail,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
