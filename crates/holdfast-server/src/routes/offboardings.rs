//! `/v1/identities/{id}/offboard`, `/v1/offboardings` and `/v1/owners/{name}/depart`.

use axum::Json as AxumJson;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use holdfast_core::{Identity, Offboarding, Owner};
use holdfast_store::{Change, Filter, Table, Value, find_all};
use holdfast_types::{
    ConfirmStepRequest, DepartReport, DepartRequest, OffboardRequest, OffboardingPage,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{eq, must_get, page, parse_id, require_for_identity, resolve_owner, table_query};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::{AppState, Ctx};

fn reason_of(raw: Option<String>) -> ApiResult<String> {
    let r = raw.unwrap_or_default().trim().to_string();
    if r.is_empty() || r.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "reason",
            "is required (at most 2000 characters): it is written into the receipt",
        ));
    }
    Ok(r)
}

/// Works through `id` in the background, as far as it can go now.
fn drive_soon(state: &AppState, id: Uuid) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = crate::offboarding::drive(&state, Some(id)).await {
            tracing::warn!(offboarding = %id, error = %e.message, "offboarding paused; the sweeper resumes it");
        }
    });
}

#[utoipa::path(post, path = "/v1/identities/{id}/offboard", tag = "offboarding", params(("id" = Uuid, Path)),
    request_body = OffboardRequest,
    responses((status = 202, body = Offboarding), (status = 409, body = holdfast_types::ErrorBody),
        (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn offboard(
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<OffboardRequest>,
) -> ApiResult<(StatusCode, AxumJson<Offboarding>)> {
    let p = ctx.require("identity.offboard").await?;
    let by = p.actor();
    let id = parse_id("identity", &raw)?;
    require_for_identity(&ctx, "identity.offboard", id).await?;
    let reason = reason_of(req.reason)?;
    let identity = must_get::<Identity>(&ctx, id).await?;
    let o = crate::offboarding::start(&ctx, identity, reason, "manual", &by).await?;
    drive_soon(&ctx.state, o.id);
    Ok((StatusCode::ACCEPTED, AxumJson(o)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OffboardingFilter {
    /// `running`, `waiting` or `finished`.
    pub state: Option<String>,
    pub identity: Option<Uuid>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/offboardings", tag = "offboarding", params(OffboardingFilter),
    responses((status = 200, body = OffboardingPage)))]
pub async fn list(
    ctx: Ctx,
    Query(f): Query<OffboardingFilter>,
) -> ApiResult<AxumJson<OffboardingPage>> {
    ctx.require("offboarding.read").await?;
    if let Some(s) = &f.state
        && !matches!(s.as_str(), "running" | "waiting" | "finished")
    {
        return Err(ApiError::invalid(
            "state",
            format!("`{s}` is not a state: use running, waiting or finished"),
        ));
    }
    let q = table_query(Table::Offboardings);
    let q = eq(q, "state", f.state);
    let q = eq(q, "identity_id", f.identity);
    let (items, next) = page::<Offboarding>(&ctx, q, f.limit, f.after).await?;
    Ok(AxumJson(OffboardingPage { items, next }))
}

#[utoipa::path(get, path = "/v1/offboardings/{id}", tag = "offboarding", params(("id" = Uuid, Path)),
    responses((status = 200, body = Offboarding), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn show(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<Offboarding>> {
    ctx.require("offboarding.read").await?;
    let id = parse_id("offboarding", &raw)?;
    Ok(AxumJson(must_get::<Offboarding>(&ctx, id).await?))
}

#[utoipa::path(get, path = "/v1/offboardings/{id}/receipt", tag = "offboarding", params(("id" = Uuid, Path)),
    responses((status = 200, description = "The signed receipt file, exactly as issued", content_type = "application/json"),
        (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn receipt(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<axum::response::Response> {
    ctx.require("offboarding.read").await?;
    let id = parse_id("offboarding", &raw)?;
    let o = must_get::<Offboarding>(&ctx, id).await?;
    let Some(text) = o.receipt else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_finished",
            format!(
                "offboarding `{id}` is {}: its receipt is issued when every step is done",
                o.state.as_str()
            ),
        ));
    };
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response())
}

#[utoipa::path(post, path = "/v1/offboardings/{id}/steps/{n}/confirm", tag = "offboarding",
    params(("id" = Uuid, Path), ("n" = u32, Path)), request_body = ConfirmStepRequest,
    responses((status = 200, body = Offboarding), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn confirm(
    ctx: Ctx,
    Path((raw, n)): Path<(String, String)>,
    Json(req): Json<ConfirmStepRequest>,
) -> ApiResult<AxumJson<Offboarding>> {
    let p = ctx.require("offboarding.confirm").await?;
    let by = p.actor();
    let id = parse_id("offboarding", &raw)?;
    let n: u32 = n
        .parse()
        .map_err(|_| ApiError::invalid("n", format!("`{n}` is not a step number")))?;
    let note = req.note.unwrap_or_default().trim().to_string();
    if note.chars().count() < 5 || note.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "note",
            "is required (5 to 2000 characters): say what was done and where",
        ));
    }
    let o = crate::offboarding::confirm(&ctx, id, n, note, &by).await?;
    drive_soon(&ctx.state, id);
    Ok(AxumJson(o))
}

#[utoipa::path(post, path = "/v1/offboardings/{id}/recheck", tag = "offboarding", params(("id" = Uuid, Path)),
    responses((status = 200, body = Offboarding), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn recheck(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<Offboarding>> {
    ctx.require("offboarding.recheck").await?;
    let id = parse_id("offboarding", &raw)?;
    let o = crate::offboarding::recheck(&ctx, id).await?;
    drive_soon(&ctx.state, id);
    Ok(AxumJson(o))
}

#[utoipa::path(post, path = "/v1/owners/{name}/depart", tag = "offboarding", params(("name" = String, Path)),
    request_body = DepartRequest,
    responses((status = 200, body = DepartReport), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn depart(
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<DepartRequest>,
) -> ApiResult<AxumJson<DepartReport>> {
    let p = ctx.require("owner.depart").await?;
    let by = p.actor();
    let reason = reason_of(req.reason)?;
    let mut owner: Owner = resolve_owner(&ctx, "name", &raw)
        .await
        .map_err(|_| ApiError::not_found(format!("owner `{raw}` does not exist")))?;
    let to: Option<Owner> = match req.reassign_to.as_deref() {
        Some(name) => {
            let o: Owner = resolve_owner(&ctx, "reassign_to", name).await?;
            if !o.active {
                return Err(ApiError::invalid(
                    "reassign_to",
                    format!("owner `{}` is inactive", o.name),
                ));
            }
            if o.id == owner.id {
                return Err(ApiError::invalid(
                    "reassign_to",
                    "must be another owner than the one leaving",
                ));
            }
            Some(o)
        }
        None => None,
    };
    let now = ctx.now();
    let owned: Vec<Identity> = find_all(
        ctx.store(),
        vec![Filter::Eq("owner_id", Value::text(owner.id.to_string()))],
        1000,
    )
    .await?;
    // Each identity is decided with its own tier, as offboarding or updating it directly would be.
    for i in &owned {
        let action = if to.is_some() {
            "identity.update"
        } else {
            "identity.offboard"
        };
        require_for_identity(&ctx, action, i.id).await?;
    }
    let mut report = DepartReport {
        owner: owner.name.clone(),
        ..DepartReport::default()
    };
    if owner.active {
        owner.active = false;
        owner.version += 1;
        owner.updated_at = now;
        ctx.commit(
            vec![Change::update(&owner)?],
            "owner.depart",
            Some(format!("owner:{}", owner.id)),
            json!({"reason": reason, "reassign_to": to.as_ref().map(|o| o.name.clone()),
                   "identities": owned.len()}),
        )
        .await?;
    }
    for i in owned
        .into_iter()
        .filter(|i| i.state != holdfast_core::LifecycleState::Offboarded)
    {
        match &to {
            Some(new_owner) => {
                let mut next = i.clone();
                next.owner_id = Some(new_owner.id);
                next.version += 1;
                next.updated_at = now;
                next.provenance.remove("owner");
                ctx.commit(
                    vec![Change::update(&next)?],
                    "identity.update",
                    Some(format!("identity:{}", i.id)),
                    json!({"owner": {"from": owner.name, "to": new_owner.name}, "reason": format!("owner departed: {reason}")}),
                )
                .await?;
                report.reassigned.push(i.id);
            }
            None => {
                if i.state == holdfast_core::LifecycleState::Offboarding {
                    continue;
                }
                let o = crate::offboarding::start(
                    &ctx,
                    i,
                    format!("owner {} departed: {reason}", owner.name),
                    "owner_departed",
                    &by,
                )
                .await?;
                drive_soon(&ctx.state, o.id);
                report.offboardings.push(o.id);
            }
        }
    }
    Ok(AxumJson(report))
}
