//! `/v1/systems`: the systems identities act on.

use axum::Json as AxumJson;
use axum::extract::Path;
use axum::http::StatusCode;
use holdfast_core::{System, SystemKind, ValidationErrors};
use holdfast_store::{Change, Table};
use holdfast_types::{CreateSystemRequest, SystemPage, SystemView};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{eq, like, page, resolve_system, table_query};
use crate::error::ApiResult;
use crate::extract::{Json, Query};
use crate::state::Ctx;

#[utoipa::path(post, path = "/v1/systems", tag = "systems", request_body = CreateSystemRequest,
    responses((status = 201, body = SystemView), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn create(
    ctx: Ctx,
    Json(req): Json<CreateSystemRequest>,
) -> ApiResult<(StatusCode, AxumJson<SystemView>)> {
    ctx.require("system.create").await?;
    let mut errs = ValidationErrors::default();
    if req.name.is_none() {
        errs.push("name", "is required");
    }
    if req.kind.is_none() {
        errs.push("kind", "is required");
    }
    errs.into_result()?;
    let now = ctx.now();
    let system = System {
        id: Uuid::now_v7(),
        version: 1,
        name: req.name.unwrap_or_default(),
        kind: req.kind.unwrap_or(SystemKind::Other),
        description: req.description,
        environment: req.environment,
        created_at: now,
        updated_at: now,
    };
    system.check()?;
    let detail = json!({"name": system.name, "kind": system.kind});
    ctx.commit(
        vec![Change::insert(&system)?],
        "system.create",
        Some(format!("system:{}", system.id)),
        detail,
    )
    .await?;
    Ok((StatusCode::CREATED, AxumJson(system.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SystemFilter {
    pub kind: Option<SystemKind>,
    pub environment: Option<String>,
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/systems", tag = "systems", params(SystemFilter), responses((status = 200, body = SystemPage)))]
pub async fn list(ctx: Ctx, Query(f): Query<SystemFilter>) -> ApiResult<AxumJson<SystemPage>> {
    ctx.require("system.list").await?;
    let q = eq(
        eq(table_query(Table::Systems), "kind", f.kind),
        "environment",
        f.environment,
    );
    let q = like(q, "name", f.q);
    let (items, next) = page::<System>(&ctx, q, f.limit, f.after).await?;
    Ok(AxumJson(SystemPage {
        items: items.into_iter().map(Into::into).collect(),
        next,
    }))
}

#[utoipa::path(get, path = "/v1/systems/{system}", tag = "systems", params(("system" = String, Path, description = "id or name")),
    responses((status = 200, body = SystemView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn show(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<SystemView>> {
    ctx.require("system.show").await?;
    let s = resolve_system(&ctx, "system", &raw)
        .await
        .map_err(|e| super::missing_as_404(e, "system", &raw))?;
    Ok(AxumJson(s.into()))
}
