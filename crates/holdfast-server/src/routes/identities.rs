//! `/v1/identities`: the register of non-human identities and their lifecycle.

use axum::Json as AxumJson;
use axum::extract::Path;
use axum::http::StatusCode;
use holdfast_core::validate::{IdentityDraft, IdentityPatch, UpdateError};
use holdfast_core::{Identity, IdentityKind, LifecycleState, Tier, ValidationErrors};
use holdfast_policy::Target;
use holdfast_store::{Change, Filter, Table};
use holdfast_types::{
    CreateIdentityRequest, IdentityPage, IdentityView, TransitionRequest, UpdateIdentityRequest,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{
    check_version, eq, like, must_get, need_version, page, parse_id, resolve_owner, resolve_system,
    resolve_systems, table_query,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::Ctx;

fn target(id: Uuid) -> Option<String> {
    Some(format!("identity:{id}"))
}

async fn active_owner(ctx: &Ctx, raw: &str) -> ApiResult<Uuid> {
    let owner = resolve_owner(ctx, "owner", raw).await?;
    if !owner.active {
        return Err(ApiError::invalid(
            "owner",
            format!(
                "names owner `{}`, who is no longer active; choose an active owner",
                owner.name
            ),
        ));
    }
    Ok(owner.id)
}

#[utoipa::path(post, path = "/v1/identities", tag = "identities", request_body = CreateIdentityRequest,
    responses((status = 201, body = IdentityView), (status = 422, body = holdfast_types::ErrorBody),
              (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn create(
    ctx: Ctx,
    Json(req): Json<CreateIdentityRequest>,
) -> ApiResult<(StatusCode, AxumJson<IdentityView>)> {
    ctx.require("identity.create").await?;
    let mut errs = ValidationErrors::default();
    if req.kind.is_none() {
        errs.push("kind", "is required");
    }
    if req.name.is_none() {
        errs.push("name", "is required");
    }
    if req.owner.as_deref().is_none_or(|o| o.trim().is_empty()) {
        errs.push(
            "owner",
            "is required: every identity needs an accountable owner",
        );
    }
    if req.purpose.as_deref().is_none_or(|p| p.trim().is_empty()) {
        errs.push("purpose", "is required: say why this identity exists");
    }
    errs.into_result()?;
    let owner_id = active_owner(&ctx, req.owner.as_deref().unwrap_or_default()).await?;
    let systems = resolve_systems(&ctx, &req.systems).await?;
    let draft = IdentityDraft {
        kind: req.kind.unwrap_or(IdentityKind::ServiceAccount),
        name: req.name.unwrap_or_default(),
        source: req.source.unwrap_or_else(|| "manual".into()),
        external_id: req.external_id,
        owner_id: Some(owner_id),
        purpose: req.purpose,
        environment: req.environment,
        systems,
        tier: req.tier.unwrap_or(Tier::Standard),
        tier_reason: req.tier_reason,
        labels: req.labels,
        expires_at: req.expires_at,
    };
    let identity = draft.into_identity(Uuid::now_v7(), ctx.now(), true)?;
    // Decided again with the tier asked for: creating a management-plane identity is guarded like
    // changing one.
    ctx.require_on("identity.create", Target::Api, identity.tier.as_str())
        .await?;
    let detail = json!({"name": identity.name, "kind": identity.kind, "owner_id": identity.owner_id, "tier": identity.tier});
    ctx.commit(
        vec![Change::insert(&identity)?],
        "identity.create",
        target(identity.id),
        detail,
    )
    .await?;
    Ok((StatusCode::CREATED, AxumJson(identity.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IdentityFilter {
    pub kind: Option<IdentityKind>,
    /// Owner id or handle.
    pub owner: Option<String>,
    pub state: Option<LifecycleState>,
    pub tier: Option<Tier>,
    pub environment: Option<String>,
    pub source: Option<String>,
    /// System id or name the identity is scoped to.
    pub system: Option<String>,
    /// Substring of the name, case-insensitive.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/identities", tag = "identities", params(IdentityFilter), responses((status = 200, body = IdentityPage)))]
pub async fn list(ctx: Ctx, Query(f): Query<IdentityFilter>) -> ApiResult<AxumJson<IdentityPage>> {
    ctx.require("identity.list").await?;
    let mut q = table_query(Table::Identities);
    q = eq(q, "kind", f.kind);
    q = eq(q, "state", f.state);
    q = eq(q, "tier", f.tier);
    q = eq(q, "environment", f.environment);
    q = eq(q, "source", f.source);
    if let Some(o) = f.owner {
        q = eq(
            q,
            "owner_id",
            Some(resolve_owner(&ctx, "owner", &o).await?.id),
        );
    }
    if let Some(s) = f.system {
        q = q.filter(Filter::Contains(
            "systems",
            resolve_system(&ctx, "system", &s).await?.id.to_string(),
        ));
    }
    q = like(q, "name", f.q);
    let (items, next) = page::<Identity>(&ctx, q, f.limit, f.after).await?;
    Ok(AxumJson(IdentityPage {
        items: items.into_iter().map(Into::into).collect(),
        next,
    }))
}

#[utoipa::path(get, path = "/v1/identities/{id}", tag = "identities", params(("id" = Uuid, Path)),
    responses((status = 200, body = IdentityView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn show(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<IdentityView>> {
    ctx.require("identity.show").await?;
    let identity: Identity = must_get(&ctx, parse_id("identity", &raw)?).await?;
    Ok(AxumJson(identity.into()))
}

#[utoipa::path(patch, path = "/v1/identities/{id}", tag = "identities", params(("id" = Uuid, Path)), request_body = UpdateIdentityRequest,
    responses((status = 200, body = IdentityView), (status = 409, body = holdfast_types::ErrorBody),
              (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn update(
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<UpdateIdentityRequest>,
) -> ApiResult<AxumJson<IdentityView>> {
    ctx.require("identity.update").await?;
    let version = need_version(req.version)?;
    let current: Identity = must_get(&ctx, parse_id("identity", &raw)?).await?;
    // Decided again with the identity's tier, so policy can guard the management plane, and a
    // tier override is a management-plane action of its own.
    ctx.require_on("identity.update", Target::Api, current.tier.as_str())
        .await?;
    if req.tier.is_some() {
        ctx.require_on("tier.override", Target::Api, current.tier.as_str())
            .await?;
    }
    check_version("identity", current.id, current.version, version)?;
    let owner_id = match req.owner.as_deref() {
        Some(o) => Some(active_owner(&ctx, o).await?),
        None => None,
    };
    let systems = match &req.systems {
        Some(s) => Some(resolve_systems(&ctx, s).await?),
        None => None,
    };
    if let Some(p) = &req.purpose
        && p.trim().is_empty()
    {
        return Err(ApiError::invalid(
            "purpose",
            "must not be blank: say why this identity exists",
        ));
    }
    let now = ctx.now();
    let patch = IdentityPatch {
        name: req.name,
        owner_id,
        purpose: req.purpose,
        environment: req.environment,
        systems,
        tier: req.tier,
        tier_reason: req.tier_reason,
        labels: req.labels,
        expires_at: req.expires_at,
        last_reviewed_at: req.reviewed.then_some(now),
    };
    let mut next = current.patched(patch, now).map_err(|e| match e {
        UpdateError::Offboarded => ApiError::new(StatusCode::CONFLICT, "offboarded", e.to_string()),
        UpdateError::Invalid(v) => v.into(),
    })?;
    // Monitoring flags credentials issued before a hand-over that are still in use.
    if current.owner_id.is_some() && next.owner_id != current.owner_id {
        let at = now
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| ApiError::internal("formatting a time", e))?;
        next.attributes
            .insert(OWNER_CHANGED_AT.into(), serde_json::Value::String(at));
    }
    let mut changed = vec![];
    for (field, a, b) in [
        ("name", json!(current.name), json!(next.name)),
        ("owner_id", json!(current.owner_id), json!(next.owner_id)),
        ("tier", json!(current.tier), json!(next.tier)),
        (
            "environment",
            json!(current.environment),
            json!(next.environment),
        ),
        ("systems", json!(current.systems), json!(next.systems)),
        (
            "expires_at",
            json!(current.expires_at.map(|t| t.unix_timestamp())),
            json!(next.expires_at.map(|t| t.unix_timestamp())),
        ),
    ] {
        if a != b {
            changed.push(json!({"field": field, "from": a, "to": b}));
        }
    }
    let detail = json!({"version": next.version, "changes": changed, "reviewed": req.reviewed});
    ctx.commit(
        vec![Change::update(&next)?],
        "identity.update",
        target(next.id),
        detail,
    )
    .await?;
    Ok(AxumJson(next.into()))
}

/// The attribute that records when an identity's owner last changed (RFC 3339).
pub const OWNER_CHANGED_AT: &str = "holdfast.io/owner-changed-at";

#[utoipa::path(post, path = "/v1/identities/{id}/transition", tag = "identities", params(("id" = Uuid, Path)),
    request_body = TransitionRequest,
    responses((status = 200, body = IdentityView), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn transition(
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<TransitionRequest>,
) -> ApiResult<AxumJson<IdentityView>> {
    ctx.require("identity.transition").await?;
    let Some(to) = req.state else {
        return Err(ApiError::invalid("state", "is required"));
    };
    let reason = req.reason.filter(|r| !r.trim().is_empty());
    if reason.is_none() && to != LifecycleState::Active {
        return Err(ApiError::invalid(
            "reason",
            format!("is required to move an identity to {to}"),
        ));
    }
    let current: Identity = must_get(&ctx, parse_id("identity", &raw)?).await?;
    ctx.require_on("identity.transition", Target::Api, current.tier.as_str())
        .await?;
    if matches!(to, LifecycleState::Offboarding | LifecycleState::Offboarded) {
        // Offboarding revokes first and proves it; a bare state change would do neither.
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "use_offboard",
            format!(
                "identities are offboarded with `POST /v1/identities/{}/offboard` (holdfast identity offboard), which revokes what they hold and issues a receipt",
                current.id
            ),
        ));
    }
    if let Some(v) = req.version {
        check_version("identity", current.id, current.version, v)?;
    }
    let next = current
        .transitioned(to, reason.clone(), ctx.now())
        .map_err(|e| ApiError::new(StatusCode::CONFLICT, "invalid_transition", e.to_string()))?;
    let detail = json!({"from": current.state, "to": to, "reason": reason});
    ctx.commit(
        vec![Change::update(&next)?],
        &format!("identity.{}", action_name(to)),
        target(next.id),
        detail,
    )
    .await?;
    Ok(AxumJson(next.into()))
}

fn action_name(to: LifecycleState) -> &'static str {
    match to {
        LifecycleState::Active => "resume",
        LifecycleState::Suspended => "suspend",
        LifecycleState::Offboarding => "offboard_start",
        LifecycleState::Offboarded => "offboard_complete",
    }
}
