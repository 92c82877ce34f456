//! `/v1/owners`: the people and teams accountable for identities.

use axum::Json as AxumJson;
use axum::extract::Path;
use axum::http::StatusCode;
use holdfast_core::{Owner, OwnerKind, ValidationErrors};
use holdfast_store::{Change, Filter, Table, Value};
use holdfast_types::{CreateOwnerRequest, OwnerPage, OwnerView, UpdateOwnerRequest};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{check_version, eq, like, need_version, page, resolve_owner, table_query};
use crate::error::ApiResult;
use crate::extract::{Json, Query};
use crate::state::Ctx;

#[utoipa::path(post, path = "/v1/owners", tag = "owners", request_body = CreateOwnerRequest,
    responses((status = 201, body = OwnerView), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn create(
    ctx: Ctx,
    Json(req): Json<CreateOwnerRequest>,
) -> ApiResult<(StatusCode, AxumJson<OwnerView>)> {
    ctx.require("owner.create").await?;
    let now = ctx.now();
    let mut errs = ValidationErrors::default();
    if req.name.is_none() {
        errs.push("name", "is required");
    }
    if req.contact.is_none() {
        errs.push("contact", "is required: say how to reach the owner");
    }
    errs.into_result()?;
    let owner = Owner {
        id: Uuid::now_v7(),
        version: 1,
        name: req.name.unwrap_or_default(),
        display_name: req.display_name,
        kind: req.kind.unwrap_or(OwnerKind::Team),
        contact: req.contact.unwrap_or_default(),
        active: true,
        created_at: now,
        updated_at: now,
    };
    owner.check()?;
    let detail = json!({"name": owner.name, "kind": owner.kind});
    ctx.commit(
        vec![Change::insert(&owner)?],
        "owner.create",
        Some(format!("owner:{}", owner.id)),
        detail,
    )
    .await?;
    Ok((StatusCode::CREATED, AxumJson(owner.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OwnerFilter {
    pub kind: Option<OwnerKind>,
    pub active: Option<bool>,
    /// Substring of the handle.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/owners", tag = "owners", params(OwnerFilter), responses((status = 200, body = OwnerPage)))]
pub async fn list(ctx: Ctx, Query(f): Query<OwnerFilter>) -> ApiResult<AxumJson<OwnerPage>> {
    ctx.require("owner.list").await?;
    let mut q = eq(table_query(Table::Owners), "kind", f.kind);
    if let Some(a) = f.active {
        q = q.filter(Filter::Eq("active", Value::Int(Some(i64::from(a)))));
    }
    let q = like(q, "name", f.q);
    let (items, next) = page::<Owner>(&ctx, q, f.limit, f.after).await?;
    Ok(AxumJson(OwnerPage {
        items: items.into_iter().map(Into::into).collect(),
        next,
    }))
}

#[utoipa::path(get, path = "/v1/owners/{owner}", tag = "owners", params(("owner" = String, Path, description = "id or handle")),
    responses((status = 200, body = OwnerView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn show(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<OwnerView>> {
    ctx.require("owner.show").await?;
    let owner = resolve_owner(&ctx, "owner", &raw)
        .await
        .map_err(|e| super::missing_as_404(e, "owner", &raw))?;
    Ok(AxumJson(owner.into()))
}

#[utoipa::path(patch, path = "/v1/owners/{owner}", tag = "owners", request_body = UpdateOwnerRequest,
    params(("owner" = String, Path, description = "id or handle")),
    responses((status = 200, body = OwnerView), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn update(
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<UpdateOwnerRequest>,
) -> ApiResult<AxumJson<OwnerView>> {
    ctx.require("owner.update").await?;
    let version = need_version(req.version)?;
    let current = resolve_owner(&ctx, "owner", &raw)
        .await
        .map_err(|e| super::missing_as_404(e, "owner", &raw))?;
    check_version("owner", current.id, current.version, version)?;
    let mut next = current.clone();
    if let Some(d) = req.display_name {
        next.display_name = d;
    }
    if let Some(c) = req.contact {
        next.contact = c;
    }
    if let Some(a) = req.active {
        next.active = a;
    }
    next.check()?;
    next.version = version + 1;
    next.updated_at = ctx.now();
    let detail = json!({"active": next.active, "contact_changed": next.contact != current.contact});
    ctx.commit(
        vec![Change::update(&next)?],
        "owner.update",
        Some(format!("owner:{}", next.id)),
        detail,
    )
    .await?;
    Ok(AxumJson(next.into()))
}
