//! `/v1/findings`, `/v1/posture` and `/v1/identities/{id}/risk`: posture's API.

use axum::Json as AxumJson;
use axum::extract::Path;
use holdfast_core::{Identity, Owner};
use holdfast_posture::{
    AcceptFinding, Acceptance, Catalog, FindingPage, FindingRecord, FindingState, PostureRun,
    PostureSummary, RecomputeReport, Risk,
};
use holdfast_store::{Change, Table, find_all, get};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{DEFAULT_LIMIT, MAX_LIMIT, eq, must_get, page, parse_id, table_query};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::Ctx;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FindingFilter {
    /// `open` (raised and not accepted), `accepted`, `resolved`; default: every state.
    pub state: Option<String>,
    pub rule: Option<String>,
    pub severity: Option<String>,
    pub identity: Option<Uuid>,
    /// An OWASP NHI Top 10 item: `NHI5` or `NHI5:2025`.
    pub owasp: Option<String>,
    /// A NIST CSF outcome: a 2.0 id (`PR.AA-05`) or a 1.1 id (`PR.AC-4`), which matches the 2.0
    /// outcomes it became.
    pub csf: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/findings", tag = "posture", params(FindingFilter),
    responses((status = 200, body = FindingPage), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn list(ctx: Ctx, Query(f): Query<FindingFilter>) -> ApiResult<AxumJson<FindingPage>> {
    ctx.require("finding.list").await?;
    if let Some(s) = &f.state {
        s.parse::<FindingState>()
            .map_err(|e| ApiError::invalid("state", e))?;
    }
    if let Some(s) = &f.severity {
        s.parse::<holdfast_core::Severity>()
            .map_err(|e| ApiError::invalid("severity", e))?;
    }
    if let Some(r) = &f.rule
        && holdfast_posture::rule(r).is_none()
    {
        return Err(ApiError::invalid(
            "rule",
            format!("`{r}` is not a posture rule; `GET /v1/posture/catalog` lists them"),
        ));
    }
    let owasp = match &f.owasp {
        Some(o) => Some(
            holdfast_posture::owasp(o)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "owasp",
                        format!("`{o}` is not an OWASP NHI Top 10 item: use NHI1 … NHI10"),
                    )
                })?
                .id,
        ),
        None => None,
    };
    let csf = match &f.csf {
        Some(c) => Some(holdfast_posture::csf_2_0(c).ok_or_else(|| {
            ApiError::invalid(
                "csf",
                format!(
                    "`{c}` is not a NIST CSF 2.0 outcome or a CSF 1.1 subcategory Holdfast maps"
                ),
            )
        })?),
        None => None,
    };
    let q = table_query(Table::Findings);
    let q = eq(q, "state", f.state);
    let q = eq(q, "rule", f.rule);
    let q = eq(q, "severity", f.severity);
    let q = eq(q, "identity_id", f.identity);
    if owasp.is_none() && csf.is_none() {
        let (items, next) = page::<FindingRecord>(&ctx, q, f.limit, f.after).await?;
        return Ok(AxumJson(FindingPage { items, next }));
    }
    // Mappings are in the document, not in indexed columns: filter the matching rows here.
    let limit = f.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let rows: Vec<FindingRecord> = find_all(ctx.store(), q.filters, 1000).await?;
    let mut items: Vec<FindingRecord> = rows
        .into_iter()
        .filter(|r| f.after.is_none_or(|a| r.id > a))
        .filter(|r| owasp.is_none_or(|o| r.owasp.iter().any(|x| x == o)))
        .filter(|r| {
            csf.as_ref()
                .is_none_or(|want| r.csf.iter().any(|x| want.contains(&x.as_str())))
        })
        .take(limit as usize + 1)
        .collect();
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|r| r.id.to_string())
    } else {
        None
    };
    Ok(AxumJson(FindingPage { items, next }))
}

#[utoipa::path(get, path = "/v1/findings/{id}", tag = "posture", params(("id" = Uuid, Path)),
    responses((status = 200, body = FindingRecord), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn show(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<FindingRecord>> {
    ctx.require("finding.show").await?;
    let id = parse_id("finding", &raw)?;
    Ok(AxumJson(must_get::<FindingRecord>(&ctx, id).await?))
}

#[utoipa::path(post, path = "/v1/findings/{id}/accept", tag = "posture", params(("id" = Uuid, Path)),
    request_body = AcceptFinding,
    responses((status = 200, body = FindingRecord), (status = 403, body = holdfast_types::ErrorBody),
        (status = 409, body = holdfast_types::ErrorBody), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn accept(
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<AcceptFinding>,
) -> ApiResult<AxumJson<FindingRecord>> {
    ctx.require("finding.accept").await?;
    let id = parse_id("finding", &raw)?;
    let reason = req.reason.as_deref().unwrap_or_default().trim().to_string();
    if reason.chars().count() < 10 || reason.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "reason",
            "must say why the risk is accepted, in 10 to 2000 characters",
        ));
    }
    let Some(raw_expiry) = req.expires_at.as_deref().map(str::trim) else {
        return Err(ApiError::invalid(
            "expires_at",
            "is required: an accepted risk is accepted until a date",
        ));
    };
    let expires_at = OffsetDateTime::parse(raw_expiry, &Rfc3339).map_err(|_| {
        ApiError::invalid(
            "expires_at",
            format!("`{raw_expiry}` is not an RFC 3339 time such as 2027-01-31T00:00:00Z"),
        )
    })?;
    let now = ctx.now();
    let max = ctx.state.posture.config.max_acceptance_days;
    if expires_at <= now {
        return Err(ApiError::invalid("expires_at", "must be in the future"));
    }
    if expires_at - now > time::Duration::days(max) {
        return Err(ApiError::invalid(
            "expires_at",
            format!("must be at most {max} days ahead (posture.max_acceptance_days)"),
        ));
    }
    let mut finding = must_get::<FindingRecord>(&ctx, id).await?;
    if finding.state != FindingState::Open {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "not_open",
            format!("finding `{id}` is {}, not open", finding.state.as_str()),
        ));
    }
    // Separation of duties: whoever is accountable for the identity cannot accept its risk.
    let caller = ctx.caller().await?;
    if caller.kind == "ai_agent" {
        return Err(ApiError::forbidden("an AI agent cannot accept a risk"));
    }
    if let Some(identity_id) = finding.identity_id {
        let identity = get::<Identity>(ctx.store(), identity_id).await?.ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "identity_gone",
                format!(
                    "the identity this finding is about (`{identity_id}`) no longer exists; recompute first"
                ),
            )
        })?;
        super::require_for_identity(&ctx, "finding.accept", identity_id).await?;
        if caller.principal == format!("Holdfast::Identity::{:?}", identity_id.to_string()) {
            return Err(ApiError::forbidden(
                "an identity cannot accept a risk about itself",
            ));
        }
        if let Some(owner) = match identity.owner_id {
            Some(o) => get::<Owner>(ctx.store(), o).await?,
            None => None,
        } {
            let accountable = if caller.kind == "person" {
                caller.name.clone()
            } else {
                caller.owner.clone().unwrap_or_default()
            };
            if accountable == owner.name || caller.groups.contains(&owner.name) {
                return Err(ApiError::forbidden(format!(
                    "{} owns {}: the owner cannot accept its own risk; ask someone else to approve",
                    owner.name, identity.name
                )));
            }
        }
    }
    let who = caller.principal.clone();
    finding.state = FindingState::Accepted;
    finding.acceptance = Some(Acceptance {
        reason: reason.clone(),
        approved_by: who.clone(),
        accepted_at: now,
        expires_at,
    });
    finding.push(now, "accepted", &who, Some(reason.clone()));
    finding.version += 1;
    finding.updated_at = now;
    ctx.commit(
        vec![Change::update(&finding)?],
        "finding.accept",
        Some(format!("finding:{id}")),
        json!({"rule": finding.rule, "subject": finding.subject, "reason": reason,
               "expires_at": expires_at.format(&Rfc3339).unwrap_or_default()}),
    )
    .await?;
    Ok(AxumJson(finding))
}

#[utoipa::path(post, path = "/v1/findings/recompute", tag = "posture",
    responses((status = 200, body = RecomputeReport)))]
pub async fn recompute(ctx: Ctx) -> ApiResult<AxumJson<RecomputeReport>> {
    let p = ctx.require("posture.recompute").await?;
    let by = p.actor();
    crate::posture::recompute(&ctx.state, Some(&by))
        .await?
        .map(AxumJson)
        .ok_or_else(|| ApiError::internal("recomputing posture", "no run was recorded"))
}

#[utoipa::path(get, path = "/v1/posture", tag = "posture",
    responses((status = 200, body = PostureSummary)))]
pub async fn summary(ctx: Ctx) -> ApiResult<AxumJson<PostureSummary>> {
    ctx.require("finding.list").await?;
    let mut days: Vec<PostureRun> = find_all(ctx.store(), vec![], 500).await?;
    days.sort_by_key(|r| r.at);
    Ok(AxumJson(PostureSummary {
        latest: days.last().cloned(),
        days,
    }))
}

#[utoipa::path(get, path = "/v1/posture/catalog", tag = "posture",
    responses((status = 200, body = Catalog)))]
pub async fn catalog(ctx: Ctx) -> ApiResult<AxumJson<Catalog>> {
    ctx.require("finding.list").await?;
    Ok(AxumJson(Catalog::new()))
}

#[utoipa::path(get, path = "/v1/identities/{id}/risk", tag = "posture", params(("id" = Uuid, Path)),
    responses((status = 200, body = Risk), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn risk(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<Risk>> {
    ctx.require("finding.show").await?;
    let id = parse_id("identity", &raw)?;
    let identity = must_get::<Identity>(&ctx, id).await?;
    Ok(AxumJson(
        crate::posture::risk_of(&ctx.state, &identity).await?,
    ))
}
