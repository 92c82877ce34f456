//! `/v1/policy`: the policy set Holdfast decides every action by (versioned, validated against the
//! schema before it is stored), the entities the decision point knows, and `/v1/authorize`, the
//! decision point other systems ask.

use axum::Json as AxumJson;
use axum::extract::Path;
use holdfast_policy::{Engine, PolicyError, Query as PolicyQuery, complete_context, diff};
use holdfast_store::{Change, Filter, PolicyVersionRecord, Query as StoreQuery, Table, Value};
use holdfast_types::{
    ApplyPolicyRequest, AuthorizeRequest, AuthorizeResponse, BatchAuthorizeRequest,
    BatchAuthorizeResponse, PolicyApplied, PolicyChangeView, PolicyHistory, PolicyVersionView,
};
use serde_json::json;
use uuid::Uuid;

use crate::authz::{Active, ENTITIES, POLICIES, current, sha256_hex};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::Ctx;

/// Most questions in one batch.
pub const MAX_BATCH: usize = 1000;

fn view(r: PolicyVersionRecord, with_text: bool) -> PolicyVersionView {
    PolicyVersionView {
        version: r.number,
        sha256: r.sha256,
        current: r.current,
        comment: r.comment,
        created_by: r.created_by,
        created_at: Some(r.created_at),
        text: with_text.then_some(r.text),
    }
}

fn shipped_default(current: bool) -> PolicyVersionView {
    PolicyVersionView {
        version: 0,
        sha256: sha256_hex(holdfast_policy::DEFAULT_POLICIES),
        current,
        comment: Some("the default policy set shipped with Holdfast".into()),
        created_by: "holdfast".into(),
        created_at: None,
        text: Some(holdfast_policy::DEFAULT_POLICIES.to_string()),
    }
}

fn refused(field: &str, e: PolicyError) -> ApiError {
    ApiError::invalid(field, format!("is refused: {e}"))
}

#[utoipa::path(get, path = "/v1/policy", tag = "policy",
    responses((status = 200, body = PolicyVersionView)))]
pub async fn show(ctx: Ctx) -> ApiResult<AxumJson<PolicyVersionView>> {
    ctx.require("policy.read").await?;
    Ok(AxumJson(match current(ctx.store(), POLICIES).await? {
        Some(r) => view(r, true),
        None => shipped_default(true),
    }))
}

#[utoipa::path(get, path = "/v1/policy/history", tag = "policy",
    responses((status = 200, body = PolicyHistory)))]
pub async fn history(ctx: Ctx) -> ApiResult<AxumJson<PolicyHistory>> {
    ctx.require("policy.read").await?;
    let mut rows: Vec<PolicyVersionRecord> = holdfast_store::find_all(
        ctx.store(),
        vec![Filter::Eq("kind", Value::text(POLICIES))],
        500,
    )
    .await?;
    rows.sort_by_key(|r| r.number);
    let any_current = rows.iter().any(|r| r.current);
    let mut first = shipped_default(!any_current);
    first.text = None;
    let mut items = vec![first];
    items.extend(rows.into_iter().map(|r| view(r, false)));
    Ok(AxumJson(PolicyHistory { items }))
}

#[utoipa::path(get, path = "/v1/policy/versions/{version}", tag = "policy",
    params(("version" = i64, Path)),
    responses((status = 200, body = PolicyVersionView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn version(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<PolicyVersionView>> {
    ctx.require("policy.read").await?;
    let n: i64 = raw
        .parse()
        .map_err(|_| ApiError::not_found(format!("policy version `{raw}` does not exist")))?;
    if n == 0 {
        let none_applied = current(ctx.store(), POLICIES).await?.is_none();
        return Ok(AxumJson(shipped_default(none_applied)));
    }
    let q = StoreQuery::new(Table::PolicyVersions)
        .filter(Filter::Eq("kind", Value::text(POLICIES)))
        .filter(Filter::Eq("number", Value::Int(Some(n))))
        .limit(1);
    let found = holdfast_store::find::<PolicyVersionRecord>(ctx.store(), &q)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("policy version `{n}` does not exist")))?;
    Ok(AxumJson(view(found, true)))
}

/// Stores `text` as the next version of `kind`, moving `current` to it, with its audit record.
async fn store_version(
    ctx: &Ctx,
    kind: &str,
    text: &str,
    comment: Option<String>,
    previous: Option<PolicyVersionRecord>,
    audit_detail: serde_json::Value,
) -> ApiResult<i64> {
    let number = previous.as_ref().map_or(1, |p| p.number + 1);
    let mut changes = Vec::new();
    if let Some(mut p) = previous {
        p.current = false;
        p.version += 1;
        changes.push(Change::update(&p)?);
    }
    let record = PolicyVersionRecord {
        id: Uuid::now_v7(),
        version: 1,
        kind: kind.to_string(),
        number,
        current: true,
        text: text.to_string(),
        sha256: sha256_hex(text),
        comment,
        created_by: ctx
            .principal
            .as_ref()
            .map_or_else(|| "anonymous".to_string(), crate::state::Principal::actor),
        created_at: ctx.now(),
    };
    changes.push(Change::insert(&record)?);
    let action = if kind == POLICIES {
        "policy.apply"
    } else {
        "policy.entities_apply"
    };
    let mut detail = audit_detail;
    if let Some(map) = detail.as_object_mut() {
        map.insert("version".into(), json!(number));
        map.insert("sha256".into(), json!(record.sha256));
    }
    ctx.commit(
        changes,
        action,
        Some(format!("policy:{kind}:{number}")),
        detail,
    )
    .await?;
    Ok(number)
}

fn check_base(base: Option<i64>, now: i64) -> ApiResult<()> {
    match base {
        Some(b) if b != now => {
            let mut e = ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "stale",
                format!(
                    "the policy set is at version {now} and this change was based on version {b}; fetch it again, review the difference and retry"
                ),
            );
            e.field = Some("base_version".into());
            Err(e)
        }
        _ => Ok(()),
    }
}

#[utoipa::path(put, path = "/v1/policy", tag = "policy", request_body = ApplyPolicyRequest,
    responses((status = 200, body = PolicyApplied), (status = 409, body = holdfast_types::ErrorBody),
        (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn apply(
    ctx: Ctx,
    Json(req): Json<ApplyPolicyRequest>,
) -> ApiResult<AxumJson<PolicyApplied>> {
    ctx.require("policy.write").await?;
    let text = req
        .text
        .as_deref()
        .ok_or_else(|| ApiError::invalid("text", "is required: the whole policy set, in Cedar"))?;
    let engine = Engine::new(text).map_err(|e| refused("text", e))?;
    let previous = current(ctx.store(), POLICIES).await?;
    let now = previous.as_ref().map_or(0, |p| p.number);
    check_base(req.base_version, now)?;
    let before = ctx.state.policy.current();
    // The difference from the stored current version (this node's copy may be seconds behind).
    let base = match &previous {
        Some(p) => Engine::new(&p.text)
            .map_err(|e| ApiError::internal("the stored policy set no longer validates", e))?,
        None => Engine::default_policies()
            .map_err(|e| ApiError::internal("the default policy set does not validate", e))?,
    };
    let changes: Vec<PolicyChangeView> = diff(&base, &engine)
        .into_iter()
        .map(|c| PolicyChangeView {
            id: c.id,
            change: c.change,
            before: c.before,
            after: c.after,
        })
        .collect();
    let sha256 = sha256_hex(text);
    let unchanged = previous.as_ref().is_some_and(|p| p.sha256 == sha256);
    if req.dry_run || unchanged {
        return Ok(AxumJson(PolicyApplied {
            version: if unchanged { now } else { now + 1 },
            sha256,
            applied: false,
            changes,
        }));
    }
    let summary: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| json!({"id": c.id, "change": c.change}))
        .collect();
    let detail = json!({"changes": summary, "comment": req.comment});
    let number = store_version(&ctx, POLICIES, text, req.comment.clone(), previous, detail).await?;
    ctx.state.policy.replace(Active {
        number,
        sha256: sha256.clone(),
        engine,
        entities: before.entities.clone(),
        entities_number: before.entities_number,
    });
    Ok(AxumJson(PolicyApplied {
        version: number,
        sha256,
        applied: true,
        changes,
    }))
}

#[utoipa::path(put, path = "/v1/policy/entities", tag = "policy", request_body = ApplyPolicyRequest,
    responses((status = 200, body = PolicyApplied), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn apply_entities(
    ctx: Ctx,
    Json(req): Json<ApplyPolicyRequest>,
) -> ApiResult<AxumJson<PolicyApplied>> {
    ctx.require("policy.write").await?;
    let text = req.text.as_deref().ok_or_else(|| {
        ApiError::invalid("text", "is required: the entities, as Cedar entity JSON")
    })?;
    let json: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ApiError::invalid("text", format!("is not JSON: {e}")))?;
    let before = ctx.state.policy.current();
    let entities = before
        .engine
        .entities(json)
        .map_err(|e| refused("text", e))?;
    let previous = current(ctx.store(), ENTITIES).await?;
    let now = previous.as_ref().map_or(0, |p| p.number);
    check_base(req.base_version, now)?;
    let sha256 = sha256_hex(text);
    if req.dry_run {
        return Ok(AxumJson(PolicyApplied {
            version: now + 1,
            sha256,
            applied: false,
            changes: vec![],
        }));
    }
    let detail = json!({"entities": entities.iter().count(), "comment": req.comment});
    let number = store_version(&ctx, ENTITIES, text, req.comment.clone(), previous, detail).await?;
    ctx.state.policy.replace(Active {
        number: before.number,
        sha256: before.sha256.clone(),
        engine: before.engine.clone(),
        entities: std::sync::Arc::new(entities),
        entities_number: number,
    });
    Ok(AxumJson(PolicyApplied {
        version: number,
        sha256,
        applied: true,
        changes: vec![],
    }))
}

fn decide_one(
    ctx: &Ctx,
    active: &Active,
    req: AuthorizeRequest,
    at: &str,
) -> ApiResult<AuthorizeResponse> {
    let field = |name: &str| {
        if at.is_empty() {
            name.to_string()
        } else {
            format!("{at}.{name}")
        }
    };
    let need = |v: Option<String>, name: &str| {
        v.ok_or_else(|| ApiError::invalid(field(name), "is required"))
    };
    let now = ctx.now();
    let context = complete_context(
        &req.context,
        i64::from(now.hour()),
        i64::from(now.weekday().number_from_monday()),
    )
    .map_err(|e| ApiError::invalid(field("context"), e.to_string()))?;
    let q = PolicyQuery {
        principal: need(req.principal, "principal")?,
        action: need(req.action, "action")?,
        resource: need(req.resource, "resource")?,
        context,
    };
    let d = active
        .engine
        .decide_with(&q, &active.entities, req.entities.as_ref())
        .map_err(|e| match e {
            PolicyError::Entities(m) => ApiError::invalid(field("entities"), m),
            PolicyError::Request(m) => {
                let (name, rest) = m.split_once(": ").unwrap_or(("request", m.as_str()));
                let name = if ["principal", "action", "resource", "context"].contains(&name) {
                    name
                } else {
                    "request"
                };
                ApiError::invalid(field(name), format!("is not valid here: {rest}"))
            }
            other => ApiError::internal("the decision failed", other),
        })?;
    Ok(AuthorizeResponse {
        decision: if d.allowed { "allow" } else { "deny" }.into(),
        allowed: d.allowed,
        policies: d.policies,
        errors: d.errors,
        policy_version: active.number,
    })
}

#[utoipa::path(post, path = "/v1/authorize", tag = "policy", request_body = AuthorizeRequest,
    responses((status = 200, body = AuthorizeResponse), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn authorize(
    ctx: Ctx,
    Json(req): Json<AuthorizeRequest>,
) -> ApiResult<AxumJson<AuthorizeResponse>> {
    ctx.require("authorize").await?;
    let active = ctx.state.policy.current();
    Ok(AxumJson(decide_one(&ctx, &active, req, "")?))
}

#[utoipa::path(post, path = "/v1/authorize/batch", tag = "policy", request_body = BatchAuthorizeRequest,
    responses((status = 200, body = BatchAuthorizeResponse), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn authorize_batch(
    ctx: Ctx,
    Json(req): Json<BatchAuthorizeRequest>,
) -> ApiResult<AxumJson<BatchAuthorizeResponse>> {
    ctx.require("authorize").await?;
    if req.requests.is_empty() || req.requests.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "requests",
            format!("must hold between 1 and {MAX_BATCH} questions"),
        ));
    }
    let active = ctx.state.policy.current();
    let decisions = req
        .requests
        .into_iter()
        .enumerate()
        .map(|(i, r)| decide_one(&ctx, &active, r, &format!("requests[{i}]")))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(AxumJson(BatchAuthorizeResponse { decisions }))
}
