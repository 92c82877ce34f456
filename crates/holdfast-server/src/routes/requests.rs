//! `/v1/requests`, `/v1/leases`, `/v1/grants`: just-in-time access. A request is decided by the
//! policy set when it is made (which also picks its approval rule), approved by enough distinct
//! eligible people, collected by the requester as a short-lived signed credential, and tracked as
//! a lease until it expires or is revoked. Every step is an audit event.

use axum::Json as AxumJson;
use axum::extract::Path;
use axum::http::StatusCode;
use holdfast_core::{
    AccessRequest, Approval, Approver, GrantKind, Identity, Lease, LeaseState, LifecycleState,
    RequestState, ValidationErrors,
};
use holdfast_policy::Target;
use holdfast_store::{Change, Filter, GrantKeyRecord, Store, Table, Value, find_all};
use holdfast_types::{
    AccessRequestPage, CreateAccessRequest, DecideRequest, IntrospectRequest, Introspection,
    IssuedGrant, Jwks, LeasePage, RenewLeaseRequest, RevokeHolderRequest, RevokedLeases,
};
use serde::Deserialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use utoipa::IntoParams;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{eq, must_get, page, parse_id, table_query};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::{Caller, Ctx};

/// How long a request waits for its approvals before it expires.
pub const DECIDE_WITHIN: Duration = Duration::hours(24);

fn target(r: &AccessRequest) -> Target {
    Target::Request {
        id: r.id.to_string(),
        requester: r.requester_name.clone(),
        elevated: r.grantee_name.clone(),
        tier: r.tier.clone(),
    }
}

fn conflict(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, message)
}

/// Publishes this node's grant-signing public key (once per key).
pub async fn publish_grant_key(state: &AppState) -> ApiResult<()> {
    let kid = state.grants.kid().to_string();
    if holdfast_store::get_by::<GrantKeyRecord>(state.store.as_ref(), "kid", &kid)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let now = state.clock.now();
    let rec = GrantKeyRecord {
        id: Uuid::now_v7(),
        version: 1,
        kid: kid.clone(),
        x: state.grants.x(),
        sealed_key: None,
        created_at: now,
    };
    let ev = holdfast_audit::AuditEvent {
        time: now,
        actor: "holdfast".into(),
        action: "grant.key_published".into(),
        target: Some(format!("grant-key:{kid}")),
        outcome: holdfast_audit::Outcome::Success,
        source: None,
        request_id: None,
        detail: json!({"kid": kid}),
    };
    match state.store.apply(vec![Change::insert(&rec)?], ev).await {
        Ok(_) | Err(holdfast_store::StoreError::Duplicate { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn grant_keys(store: &dyn Store) -> ApiResult<Vec<(String, String)>> {
    let keys: Vec<GrantKeyRecord> = find_all(store, vec![], 200).await?;
    Ok(keys
        .into_iter()
        .filter(|k| k.kid != crate::x509::CA_KID)
        .map(|k| (k.kid, k.x))
        .collect())
}

#[utoipa::path(post, path = "/v1/requests", tag = "access", request_body = CreateAccessRequest,
    responses((status = 201, body = AccessRequest), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn create(
    ctx: Ctx,
    Json(req): Json<CreateAccessRequest>,
) -> ApiResult<(StatusCode, AxumJson<AccessRequest>)> {
    let (request, version) = draft(&ctx, &req, false).await?;
    let detail = json!({
        "grantee": request.grantee, "on_behalf_of": request.on_behalf_of, "tier": request.tier,
        "audience": request.audience, "scopes": request.scopes, "ttl_seconds": request.ttl_seconds,
        "approvals_needed": request.approvals_needed, "approver_groups": request.approver_groups,
        "rule": request.rule_policy, "policy_version": version, "task": request.task,
    });
    ctx.commit(
        vec![Change::insert(&request)?],
        "request.created",
        Some(format!("request:{}", request.id)),
        detail,
    )
    .await?;
    crate::notify::request_event(&ctx.state, "request.created", &request);
    Ok((StatusCode::CREATED, AxumJson(request)))
}

/// The longest a break-glass grant lasts.
pub const BREAKGLASS_MAX_SECONDS: u32 = 3600;
/// The shortest reason a break-glass accepts: a sentence, not a word.
pub const BREAKGLASS_MIN_REASON: usize = 20;

/// Validates a request and decides it with policy (`request.create`, or `breakglass`); the
/// request as it would be stored, and the policy version that decided it.
async fn draft(
    ctx: &Ctx,
    req: &CreateAccessRequest,
    breakglass: bool,
) -> ApiResult<(AccessRequest, i64)> {
    let caller = ctx.caller().await?;
    let mut errs = ValidationErrors::default();
    let text = |errs: &mut ValidationErrors, field: &str, v: &Option<String>, why: &str| match v
        .as_deref()
        .map(str::trim)
    {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => {
            errs.push(field, why);
            String::new()
        }
    };
    let task = text(
        &mut errs,
        "task",
        &req.task,
        "is required: say what the access is for",
    );
    let reason = text(
        &mut errs,
        "reason",
        &req.reason,
        "is required: say why it is needed",
    );
    let audience = text(
        &mut errs,
        "audience",
        &req.audience,
        "is required: the system that will accept the grant",
    );
    let kind = match req.kind.as_deref() {
        None | Some("jwt") => GrantKind::Jwt,
        Some("x509") => GrantKind::X509,
        Some("holdfast") => {
            if audience != "holdfast" && !audience.is_empty() {
                errs.push("audience", "must be `holdfast` for a Holdfast token");
            }
            for (i, s) in req.scopes.iter().enumerate() {
                if s.parse::<holdfast_core::Role>().is_err() {
                    errs.push(
                        format!("scopes[{i}]"),
                        format!("`{s}` is not a role; expected reader, writer, auditor, approver or admin"),
                    );
                }
            }
            GrantKind::Holdfast
        }
        Some("postgres") => {
            match ctx.state.rotators.postgres_grants.get(&audience) {
                None if !audience.is_empty() => errs.push(
                    "audience",
                    format!("`{audience}` is not a PostgreSQL target the server's configuration declares"),
                ),
                None => {}
                Some(spec) => {
                    for (i, s) in req.scopes.iter().enumerate() {
                        if !spec.grantable_roles.contains(s) {
                            errs.push(
                                format!("scopes[{i}]"),
                                format!("`{s}` is not a role `{audience}` may grant (grantable: {})", spec.grantable_roles.join(", ")),
                            );
                        }
                    }
                }
            }
            GrantKind::Postgres
        }
        Some(other) => {
            errs.push(
                "kind",
                format!(
                    "`{other}` is not a grant kind Holdfast issues; expected jwt, x509, postgres or holdfast"
                ),
            );
            GrantKind::Jwt
        }
    };
    if req.scopes.is_empty()
        || req
            .scopes
            .iter()
            .any(|s| s.trim().is_empty() || s.contains(' '))
    {
        errs.push(
            "scopes",
            "must list at least one scope, each a single word (no spaces)",
        );
    }
    // An AI agent names the person it acts for, and asks only for itself.
    let on_behalf_of = req.on_behalf_of.clone().filter(|s| !s.trim().is_empty());
    if caller.kind == "ai_agent" && on_behalf_of.is_none() {
        errs.push(
            "on_behalf_of",
            "is required for an AI agent: name the person it acts for",
        );
    }
    let mut grantee = (
        caller.principal.clone(),
        caller.name.clone(),
        caller.owner.clone(),
    );
    let mut tier = match &caller.subject {
        holdfast_policy::Subject::Identity { tier, .. } => tier.clone(),
        holdfast_policy::Subject::Person { .. } => "standard".to_string(),
    };
    if let Some(raw) = req.identity.as_deref() {
        match Uuid::try_parse(raw) {
            Err(_) => errs.push("identity", "must be an identity id (a UUID)"),
            Ok(id) => match holdfast_store::get::<Identity>(ctx.store(), id).await? {
                None => errs.push(
                    "identity",
                    format!("names identity `{id}`, which does not exist"),
                ),
                Some(i) if i.state != LifecycleState::Active => errs.push(
                    "identity",
                    format!("identity `{id}` is {}, not active", i.state.as_str()),
                ),
                Some(i) => {
                    let principal = format!("Holdfast::Identity::{:?}", i.id.to_string());
                    if caller.kind == "ai_agent" && principal != caller.principal {
                        errs.push(
                            "identity",
                            "an AI agent may ask only for its own access, never another identity's",
                        );
                    }
                    let owner = match i.owner_id {
                        Some(o) => holdfast_store::get::<holdfast_core::Owner>(ctx.store(), o)
                            .await?
                            .map(|o| o.name),
                        None => None,
                    };
                    tier = i.tier.as_str().to_string();
                    grantee = (principal, i.name, owner);
                }
            },
        }
    }
    // Rights on Holdfast itself are the management plane, whatever the role.
    if req.management_plane || kind == GrantKind::Holdfast {
        tier = "management_plane".into();
    }
    // A database's declared tier is a floor for requests for it.
    if kind == GrantKind::Postgres
        && let Some(spec) = ctx.state.rotators.postgres_grants.get(&audience)
    {
        let floor = spec.tier.as_deref().unwrap_or("sensitive");
        if tier_rank(floor) > tier_rank(&tier) {
            tier = floor.to_string();
        }
    }
    // Policy decides whether this caller may ask, and which approval rule applies; it sees what is
    // asked for (kind, audience, scopes).
    let action = if breakglass {
        "breakglass"
    } else {
        "request.create"
    };
    let grant = holdfast_policy::GrantFacts {
        kind: kind_name(kind).to_string(),
        audience: audience.clone(),
        scopes: req.scopes.clone(),
    };
    let (decision, version) = ctx.decide_grant(&caller, action, &tier, grant)?;
    if !decision.allowed {
        return ctx.refused(action, &Target::Api, &decision, version).await;
    }
    let rule = if breakglass {
        if reason.chars().count() < BREAKGLASS_MIN_REASON {
            errs.push(
                "reason",
                format!("must say why the glass is broken, in at least {BREAKGLASS_MIN_REASON} characters"),
            );
        }
        holdfast_policy::ApprovalRule {
            policy: "breakglass".into(),
            approvals: 0,
            approvers: vec![],
            max_ttl_minutes: BREAKGLASS_MAX_SECONDS / 60,
            max_ttl_minutes_management: BREAKGLASS_MAX_SECONDS / 60,
            tiers: None,
        }
    } else {
        ctx.state
            .policy
            .current()
            .engine
            .approval_rule(&decision, &tier)
    };
    let max_ttl = rule.max_ttl(&tier).saturating_mul(60);
    let ttl = req.ttl_seconds.unwrap_or(max_ttl.min(3600));
    if ttl == 0 || ttl > max_ttl {
        errs.push(
            "ttl_seconds",
            format!(
                "must be between 1 and {max_ttl} ({} minutes) for a {tier} grant under the approval rule",
                max_ttl / 60
            ),
        );
    }
    errs.into_result()?;
    let now = ctx.now();
    let mut request = AccessRequest {
        id: Uuid::now_v7(),
        version: 1,
        requester: caller.principal.clone(),
        requester_name: caller.name.clone(),
        requester_kind: caller.kind.clone(),
        on_behalf_of,
        requester_owner: if caller.kind == "person" {
            None
        } else {
            caller.owner.clone()
        },
        grantee: grantee.0,
        grantee_name: grantee.1,
        grantee_owner: grantee.2,
        task,
        reason,
        kind,
        audience,
        scopes: req.scopes.iter().map(|s| s.trim().to_string()).collect(),
        tier: tier.clone(),
        ttl_seconds: ttl,
        max_ttl_seconds: max_ttl,
        approvals_needed: rule.approvals,
        approver_groups: rule.approvers.clone(),
        rule_policy: rule.policy.clone(),
        approvals: vec![],
        denial: None,
        state: RequestState::Pending,
        created_at: now,
        decide_by: now + DECIDE_WITHIN,
        lease: None,
        breakglass: false,
    };
    if request.approvals_needed == 0 {
        request.state = RequestState::Approved;
    }
    Ok((request, version))
}

#[utoipa::path(post, path = "/v1/breakglass", tag = "access", request_body = CreateAccessRequest,
    responses((status = 201, body = IssuedGrant), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn breakglass(
    ctx: Ctx,
    Json(req): Json<CreateAccessRequest>,
) -> ApiResult<(StatusCode, AxumJson<IssuedGrant>)> {
    if req.kind.as_deref() == Some("holdfast") {
        return Err(ApiError::invalid(
            "kind",
            "break-glass never grants rights on Holdfast itself; ask for a `holdfast` grant and have it approved",
        ));
    }
    let (mut request, version) = draft(&ctx, &req, true).await?;
    request.breakglass = true;
    let now = ctx.now();
    let issued_by = ctx.principal.as_ref().map(|p| p.token.id);
    let (lease, credential, extra) = mint_grant(&ctx.state, &request, issued_by, now).await?;
    request.state = RequestState::Issued;
    request.lease = Some(lease.id);
    // What the grant could reach: the vault secrets the elevated identity owns.
    let to_rotate: Vec<String> = match request.grantee.strip_prefix("Holdfast::Identity::") {
        Some(quoted) => {
            let id = quoted.trim_matches('"').to_string();
            let owned: Vec<holdfast_core::Secret> = find_all(
                ctx.store(),
                vec![Filter::Eq("owner_identity", Value::text(id))],
                500,
            )
            .await?;
            owned.into_iter().map(|s| s.path).collect()
        }
        None => vec![],
    };
    let review = holdfast_core::Review {
        id: Uuid::now_v7(),
        version: 1,
        request: request.id,
        lease: lease.id,
        used_by: request.requester.clone(),
        reason: request.reason.clone(),
        state: holdfast_core::ReviewState::Open,
        opened_at: now,
        to_rotate,
        rotation: vec![],
        rotation_done: false,
        closed_at: None,
        closed_by: None,
        notes: None,
    };
    let detail = json!({
        "grantee": request.grantee, "tier": request.tier, "audience": request.audience,
        "scopes": request.scopes, "ttl_seconds": request.ttl_seconds, "reason": request.reason,
        "task": request.task, "lease": lease.id, "review": review.id, "to_rotate": review.to_rotate,
        "policy_version": version,
    });
    let mut changes = vec![
        Change::insert(&request)?,
        Change::insert(&lease)?,
        Change::insert(&review)?,
    ];
    changes.extend(extra);
    let out = commit_grant(
        &ctx,
        changes,
        "breakglass.used",
        &request,
        lease,
        credential,
        detail,
    )
    .await?;
    crate::notify::request_event(&ctx.state, "breakglass.used", &request);
    Ok(out)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReviewFilter {
    /// open, closed
    pub state: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/reviews", tag = "access", params(ReviewFilter),
    responses((status = 200, body = holdfast_types::ReviewPage)))]
pub async fn reviews(
    ctx: Ctx,
    Query(f): Query<ReviewFilter>,
) -> ApiResult<AxumJson<holdfast_types::ReviewPage>> {
    ctx.require("review.read").await?;
    let q = eq(table_query(Table::Reviews), "state", f.state);
    let (items, next) = page::<holdfast_core::Review>(&ctx, q, f.limit, f.after).await?;
    Ok(AxumJson(holdfast_types::ReviewPage { items, next }))
}

#[utoipa::path(post, path = "/v1/reviews/{id}/close", tag = "access", params(("id" = Uuid, Path)),
    request_body = holdfast_types::CloseReviewRequest,
    responses((status = 200, body = holdfast_core::Review), (status = 403, body = holdfast_types::ErrorBody),
        (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn close_review(
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<holdfast_types::CloseReviewRequest>,
) -> ApiResult<AxumJson<holdfast_core::Review>> {
    ctx.require("review.close").await?;
    let caller = ctx.caller().await?;
    let mut review: holdfast_core::Review = must_get(&ctx, parse_id("review", &raw)?).await?;
    let notes = req
        .notes
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("notes", "is required: record what the review found"))?;
    // Independent of the break-glass: not the one who broke it, not the grantee, nobody
    // accountable for either, never an agent.
    let request: AccessRequest = must_get(&ctx, review.request).await?;
    if let Err(e) = request.check_independent(&approver_of(&caller)) {
        let ev = ctx.event(
            "review.close",
            Some(format!("review:{}", review.id)),
            holdfast_audit::Outcome::Denied,
            json!({"reason": "separation of duties", "why": e.to_string()}),
        );
        ctx.store().apply(vec![], ev).await?;
        return Err(ApiError::forbidden(format!(
            "someone independent of the break-glass must close its review: {e}"
        )));
    }
    if review.state != holdfast_core::ReviewState::Open {
        return Err(conflict("closed", "the review is already closed".into()));
    }
    review.state = holdfast_core::ReviewState::Closed;
    review.closed_at = Some(ctx.now());
    review.closed_by = Some(caller.principal.clone());
    review.notes = Some(notes);
    review.version += 1;
    ctx.commit(
        vec![Change::update(&review)?],
        "review.closed",
        Some(format!("review:{}", review.id)),
        json!({"by": caller.principal, "request": review.request}),
    )
    .await?;
    Ok(AxumJson(review))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RequestFilter {
    /// pending, approved, denied, cancelled, expired, issued, closed
    pub state: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/requests", tag = "access", params(RequestFilter),
    responses((status = 200, body = AccessRequestPage)))]
pub async fn list(
    ctx: Ctx,
    Query(f): Query<RequestFilter>,
) -> ApiResult<AxumJson<AccessRequestPage>> {
    ctx.require("request.read").await?;
    let q = eq(table_query(Table::Requests), "state", f.state);
    let (items, next) = page::<AccessRequest>(&ctx, q, f.limit, f.after).await?;
    Ok(AxumJson(AccessRequestPage { items, next }))
}

#[utoipa::path(get, path = "/v1/requests/{id}", tag = "access", params(("id" = Uuid, Path)),
    responses((status = 200, body = AccessRequest), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn show(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<AccessRequest>> {
    ctx.require("request.read").await?;
    Ok(AxumJson(must_get(&ctx, parse_id("request", &raw)?).await?))
}

async fn load_request(ctx: &Ctx, raw: &str) -> ApiResult<AccessRequest> {
    must_get(ctx, parse_id("request", raw)?).await
}

#[utoipa::path(post, path = "/v1/requests/{id}/approve", tag = "access", params(("id" = Uuid, Path)),
    request_body = DecideRequest,
    responses((status = 200, body = AccessRequest), (status = 403, body = holdfast_types::ErrorBody),
        (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn approve(
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<DecideRequest>,
) -> ApiResult<AxumJson<AccessRequest>> {
    let (caller, mut request) = decided_request(&ctx, &raw, "request.approve").await?;
    let approver = approver_of(&caller);
    if let Err(e) = request.approve(&approver, ctx.now(), req.comment.clone()) {
        let detail = json!({"reason": "separation of duties", "why": e.to_string()});
        let ev = ctx.event(
            "request.approve",
            Some(format!("request:{}", request.id)),
            holdfast_audit::Outcome::Denied,
            detail,
        );
        ctx.store().apply(vec![], ev).await?;
        return Err(match e {
            holdfast_core::ApprovalError::NotPending(_) => conflict("not_pending", e.to_string()),
            other => ApiError::forbidden(other.to_string()),
        });
    }
    request.version += 1;
    let action = if request.state == RequestState::Approved {
        "request.approved"
    } else {
        "request.approval_recorded"
    };
    let detail = json!({
        "by": caller.principal, "approvals": request.approvals.len(),
        "approvals_needed": request.approvals_needed, "comment": req.comment,
    });
    ctx.commit(
        vec![Change::update(&request)?],
        action,
        Some(format!("request:{}", request.id)),
        detail,
    )
    .await?;
    crate::notify::request_event(&ctx.state, action, &request);
    Ok(AxumJson(request))
}

fn tier_rank(tier: &str) -> u8 {
    match tier {
        "management_plane" => 2,
        "sensitive" => 1,
        _ => 0,
    }
}

fn kind_name(kind: GrantKind) -> &'static str {
    match kind {
        GrantKind::Jwt => "jwt",
        GrantKind::Postgres => "postgres",
        GrantKind::X509 => "x509",
        GrantKind::Holdfast => "holdfast",
    }
}

/// The caller and the request, once the policy set allows `action` on that request.
async fn decided_request(ctx: &Ctx, raw: &str, action: &str) -> ApiResult<(Caller, AccessRequest)> {
    ctx.require("request.read").await?;
    let caller = ctx.caller().await?;
    let request = load_request(ctx, raw).await?;
    let t = target(&request);
    let (decision, version) = ctx.decide(&caller, action, &t, &request.tier)?;
    if !decision.allowed {
        return ctx.refused(action, &t, &decision, version).await;
    }
    Ok((caller, request))
}

fn approver_of(caller: &Caller) -> Approver<'_> {
    Approver {
        principal: &caller.principal,
        name: &caller.name,
        kind: &caller.kind,
        owner: caller.owner.as_deref(),
        groups: &caller.groups,
    }
}

#[utoipa::path(post, path = "/v1/requests/{id}/deny", tag = "access", params(("id" = Uuid, Path)),
    request_body = DecideRequest,
    responses((status = 200, body = AccessRequest), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn deny(
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<DecideRequest>,
) -> ApiResult<AxumJson<AccessRequest>> {
    let (caller, mut request) = decided_request(&ctx, &raw, "request.deny").await?;
    if request.state != RequestState::Pending && request.state != RequestState::Approved {
        return Err(conflict(
            "not_pending",
            format!("the request is {}, not pending", request.state.as_str()),
        ));
    }
    request.state = RequestState::Denied;
    request.denial = Some(Approval {
        by: caller.principal.clone(),
        accountable: approver_of(&caller).accountable(),
        at: ctx.now(),
        comment: req.comment.clone(),
    });
    request.version += 1;
    ctx.commit(
        vec![Change::update(&request)?],
        "request.denied",
        Some(format!("request:{}", request.id)),
        json!({"by": caller.principal, "comment": req.comment}),
    )
    .await?;
    crate::notify::request_event(&ctx.state, "request.denied", &request);
    Ok(AxumJson(request))
}

/// The requester (or, for an agent, the person it acts for) acting on their own request.
fn is_own(caller: &Caller, r: &AccessRequest) -> bool {
    caller.principal == r.requester
        || (caller.kind == "person" && r.on_behalf_of.as_deref() == Some(caller.name.as_str()))
}

#[utoipa::path(post, path = "/v1/requests/{id}/cancel", tag = "access", params(("id" = Uuid, Path)),
    responses((status = 200, body = AccessRequest), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn cancel(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<AccessRequest>> {
    ctx.require("request.cancel").await?;
    let caller = ctx.caller().await?;
    let mut request = load_request(&ctx, &raw).await?;
    if !is_own(&caller, &request) {
        return Err(ApiError::forbidden(
            "only the requester can cancel a request",
        ));
    }
    if !matches!(
        request.state,
        RequestState::Pending | RequestState::Approved
    ) {
        return Err(conflict(
            "not_pending",
            format!(
                "the request is {}; only a pending or approved one can be cancelled",
                request.state.as_str()
            ),
        ));
    }
    request.state = RequestState::Cancelled;
    request.version += 1;
    ctx.commit(
        vec![Change::update(&request)?],
        "request.cancelled",
        Some(format!("request:{}", request.id)),
        json!({"by": caller.principal}),
    )
    .await?;
    Ok(AxumJson(request))
}

/// The SPIFFE ID of a grantee principal: `spiffe://holdfast/identity/<id>` or
/// `spiffe://holdfast/person/<name>`.
pub fn spiffe_id(principal: &str) -> String {
    let (kind, rest) = match principal.strip_prefix("Holdfast::Identity::") {
        Some(r) => ("identity", r),
        None => (
            "person",
            principal
                .strip_prefix("Holdfast::Person::")
                .unwrap_or(principal),
        ),
    };
    // Percent-encoded, so distinct names never share an ID.
    let name: String = rest
        .trim_matches('"')
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("spiffe://holdfast/{kind}/{name}")
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn target_error(name: &str, e: &holdfast_rotate::RotateError) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "target_failed",
        format!("PostgreSQL target `{name}`: {e}"),
    )
}

/// The admin connection to a configured PostgreSQL target, read from the vault.
async fn postgres_target(
    state: &AppState,
    name: &str,
) -> ApiResult<holdfast_rotate::PostgresGrants> {
    let spec = state.rotators.postgres_grants.get(name).ok_or_else(|| {
        ApiError::internal(
            "a PostgreSQL grant target vanished from the configuration",
            name,
        )
    })?;
    let keyring = state.vault.current_keyring(state.store.as_ref()).await?;
    let url = crate::rotation::read_value(state, &keyring, &spec.admin_secret, None)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "target_failed",
                format!("PostgreSQL target `{name}`: its admin secret cannot be read: {e}"),
            )
        })?;
    Ok(holdfast_rotate::PostgresGrants::new(url))
}

/// Ends whatever a lease created at its target (a PostgreSQL login); idempotent.
async fn end_at_target(state: &AppState, lease: &Lease) -> ApiResult<()> {
    if let (GrantKind::Postgres, Some(login)) = (lease.kind, &lease.login) {
        let request: Option<AccessRequest> =
            holdfast_store::get(state.store.as_ref(), lease.request).await?;
        let audience = request.map_or_else(|| lease.audience.clone(), |r| r.audience);
        postgres_target(state, &audience)
            .await?
            .drop_login(login)
            .await
            .map_err(|e| target_error(&audience, &e))?;
    }
    Ok(())
}

fn claims(lease: &Lease, request: &AccessRequest, now: OffsetDateTime) -> serde_json::Value {
    json!({
        "iss": "holdfast",
        "sub": lease.holder,
        "aud": lease.audience,
        "scope": lease.scopes.join(" "),
        "iat": now.unix_timestamp(),
        "nbf": now.unix_timestamp(),
        "exp": lease.expires_at.unix_timestamp(),
        "jti": lease.credential_id(),
        "holdfast": {"request": request.id, "task": request.task, "tier": request.tier},
    })
}

#[utoipa::path(post, path = "/v1/requests/{id}/issue", tag = "access", params(("id" = Uuid, Path)),
    responses((status = 201, body = IssuedGrant), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn issue(
    ctx: Ctx,
    Path(raw): Path<String>,
) -> ApiResult<(StatusCode, AxumJson<IssuedGrant>)> {
    ctx.require("request.issue").await?;
    let caller = ctx.caller().await?;
    let mut request = load_request(&ctx, &raw).await?;
    if caller.principal != request.requester && caller.principal != request.grantee {
        return Err(ApiError::forbidden(
            "only the requester or the grantee can collect a grant",
        ));
    }
    if request.state != RequestState::Approved {
        return Err(conflict(
            "not_approved",
            format!("the request is {}, not approved", request.state.as_str()),
        ));
    }
    // Things may have changed since the approval: the deadline, the grantee, the policy.
    if request.decide_by <= ctx.now() {
        return Err(conflict(
            "expired",
            "the request was not collected in time; ask again".to_string(),
        ));
    }
    if let Some(id) = request
        .grantee
        .strip_prefix("Holdfast::Identity::")
        .and_then(|q| Uuid::try_parse(q.trim_matches('"')).ok())
    {
        let active = holdfast_store::get::<Identity>(ctx.store(), id)
            .await?
            .is_some_and(|i| i.state == LifecycleState::Active);
        if !active {
            return Err(conflict(
                "grantee_inactive",
                format!("identity `{id}` is no longer active; nothing is issued"),
            ));
        }
    }
    let grant = holdfast_policy::GrantFacts {
        kind: kind_name(request.kind).to_string(),
        audience: request.audience.clone(),
        scopes: request.scopes.clone(),
    };
    let (decision, version) = ctx.decide_grant(&caller, "request.create", &request.tier, grant)?;
    if !decision.allowed {
        return ctx
            .refused("request.create", &Target::Api, &decision, version)
            .await;
    }
    let issued_by = ctx.principal.as_ref().map(|p| p.token.id);
    let (lease, credential, extra) = mint_grant(&ctx.state, &request, issued_by, ctx.now()).await?;
    request.state = RequestState::Issued;
    request.lease = Some(lease.id);
    request.version += 1;
    let detail = json!({"lease": lease.id, "jti": lease.credential_id(), "login": lease.login,
        "expires_at": lease.expires_at.unix_timestamp(), "kid": ctx.state.grants.kid()});
    let mut changes = vec![Change::update(&request)?, Change::insert(&lease)?];
    changes.extend(extra);
    commit_grant(
        &ctx,
        changes,
        "request.issued",
        &request,
        lease,
        credential,
        detail,
    )
    .await
}

/// Creates the lease for `request` and its credential (and, for PostgreSQL, the login at the
/// target; for a Holdfast token, the token record to store with the lease); nothing is recorded
/// yet.
async fn mint_grant(
    state: &AppState,
    request: &AccessRequest,
    issued_by: Option<Uuid>,
    now: OffsetDateTime,
) -> ApiResult<(Lease, Zeroizing<String>, Vec<Change>)> {
    let mut extra = Vec::new();
    let mut lease = Lease {
        id: Uuid::now_v7(),
        version: 1,
        request: request.id,
        kind: request.kind,
        holder: request.grantee.clone(),
        holder_name: request.grantee_name.clone(),
        audience: request.audience.clone(),
        scopes: request.scopes.clone(),
        login: None,
        renewals: 0,
        state: LeaseState::Active,
        issued_at: now,
        expires_at: now + Duration::seconds(i64::from(request.ttl_seconds)),
        max_expires_at: now + Duration::seconds(i64::from(request.max_ttl_seconds)),
        ended_at: None,
        ended_by: None,
    };
    let credential = match request.kind {
        GrantKind::Jwt => Zeroizing::new(state.grants.jwt(&claims(&lease, request, now))),
        GrantKind::Postgres => {
            let login = format!("hf_{}", lease.id.simple());
            let password = holdfast_rotate::generate_secret()
                .map_err(|e| ApiError::internal("the OS random source failed", e))?;
            postgres_target(state, &request.audience)
                .await?
                .create(
                    &login,
                    &password,
                    &request.scopes,
                    &rfc3339(lease.expires_at),
                    &format!("holdfast request {}", request.id),
                )
                .await
                .map_err(|e| target_error(&request.audience, &e))?;
            lease.login = Some(login);
            password
        }
        GrantKind::X509 => {
            let issued = crate::x509::load(state).await?.issue(
                lease.id,
                0,
                &request.grantee_name,
                &spiffe_id(&request.grantee),
                &request.audience,
                &request.scopes,
                now,
                lease.expires_at,
            )?;
            lease.login = Some(hex::encode(crate::x509::serial_of(lease.id, 0)));
            Zeroizing::new(format!("{}{}", issued.cert_pem, issued.key_pem.as_str()))
        }
        GrantKind::Holdfast => {
            let id = Uuid::now_v7();
            let minted = crate::auth::mint(id)?;
            let mut roles: Vec<holdfast_core::Role> = request
                .scopes
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect();
            roles.sort();
            roles.dedup();
            let identity = request
                .grantee
                .strip_prefix("Holdfast::Identity::")
                .and_then(|q| Uuid::try_parse(q.trim_matches('"')).ok());
            let token = holdfast_core::ApiToken {
                id,
                version: 1,
                name: request.grantee_name.clone(),
                roles,
                identity,
                groups: vec![],
                step_up_secret: None,
                stepped_up_at: None,
                step_up_last_step: 0,
                step_up_failures: 0,
                secret_hash: minted.secret_hash,
                created_by: issued_by,
                created_at: now,
                expires_at: Some(lease.expires_at),
                revoked_at: None,
            };
            extra.push(Change::insert(&token)?);
            lease.login = Some(id.to_string());
            Zeroizing::new(minted.token)
        }
    };
    Ok((lease, credential, extra))
}

/// Records a grant with its audit record; if that fails, nothing may remain at the target.
async fn commit_grant(
    ctx: &Ctx,
    changes: Vec<Change>,
    action: &str,
    request: &AccessRequest,
    lease: Lease,
    credential: Zeroizing<String>,
    detail: serde_json::Value,
) -> ApiResult<(StatusCode, AxumJson<IssuedGrant>)> {
    let committed = ctx
        .commit(
            changes,
            action,
            Some(format!("request:{}", request.id)),
            detail,
        )
        .await;
    if let Err(e) = committed {
        if let Some(login) = &lease.login
            && let Ok(target) = postgres_target(&ctx.state, &request.audience).await
            && let Err(drop) = target.drop_login(login).await
        {
            tracing::error!(login, error = %drop, "a login created for a grant that was not recorded could not be dropped; drop it by hand");
        }
        return Err(e);
    }
    let login = lease.login.clone();
    Ok((
        StatusCode::CREATED,
        AxumJson(IssuedGrant {
            lease,
            credential: credential.to_string(),
            login,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LeaseFilter {
    /// active, expired, revoked
    pub state: Option<String>,
    /// The holder as a policy principal.
    pub holder: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/leases", tag = "access", params(LeaseFilter),
    responses((status = 200, body = LeasePage)))]
pub async fn leases(ctx: Ctx, Query(f): Query<LeaseFilter>) -> ApiResult<AxumJson<LeasePage>> {
    ctx.require("lease.read").await?;
    let q = eq(
        eq(table_query(Table::Leases), "state", f.state),
        "holder",
        f.holder,
    );
    let (items, next) = page::<Lease>(&ctx, q, f.limit, f.after).await?;
    Ok(AxumJson(LeasePage { items, next }))
}

#[utoipa::path(post, path = "/v1/leases/{id}/renew", tag = "access", params(("id" = Uuid, Path)),
    request_body = RenewLeaseRequest,
    responses((status = 200, body = IssuedGrant), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn renew(
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<RenewLeaseRequest>,
) -> ApiResult<AxumJson<IssuedGrant>> {
    ctx.require("lease.renew").await?;
    let caller = ctx.caller().await?;
    let mut lease: Lease = must_get(&ctx, parse_id("lease", &raw)?).await?;
    let request: AccessRequest = must_get(&ctx, lease.request).await?;
    if caller.principal != request.requester && caller.principal != lease.holder {
        return Err(ApiError::forbidden(
            "only the holder or the requester can renew a lease",
        ));
    }
    let now = ctx.now();
    if !lease.is_live(now) {
        return Err(conflict(
            "not_active",
            format!(
                "the lease is {}; an ended lease cannot be renewed",
                if lease.state == LeaseState::Active {
                    "past its expiry"
                } else {
                    lease.state.as_str()
                }
            ),
        ));
    }
    let ttl = req.ttl_seconds.unwrap_or(request.ttl_seconds);
    if ttl == 0 {
        return Err(ApiError::invalid("ttl_seconds", "must be at least 1"));
    }
    let wanted = now + Duration::seconds(i64::from(ttl));
    if lease.expires_at >= lease.max_expires_at {
        return Err(conflict(
            "at_maximum",
            "the lease is at its maximum lifetime; ask for access again".to_string(),
        ));
    }
    lease.expires_at = wanted.min(lease.max_expires_at);
    lease.renewals += 1;
    lease.version += 1;
    let credential = match (lease.kind, &lease.login) {
        (GrantKind::Postgres, Some(login)) => {
            postgres_target(&ctx.state, &request.audience)
                .await?
                .extend(login, &rfc3339(lease.expires_at))
                .await
                .map_err(|e| target_error(&request.audience, &e))?;
            String::new()
        }
        (GrantKind::X509, _) => {
            let issued = crate::x509::load(&ctx.state).await?.issue(
                lease.id,
                lease.renewals,
                &lease.holder_name,
                &spiffe_id(&lease.holder),
                &lease.audience,
                &lease.scopes,
                now,
                lease.expires_at,
            )?;
            lease.login = Some(hex::encode(crate::x509::serial_of(
                lease.id,
                lease.renewals,
            )));
            format!("{}{}", issued.cert_pem, issued.key_pem.as_str())
        }
        (GrantKind::Holdfast, _) => String::new(),
        (GrantKind::Jwt, _) | (GrantKind::Postgres, None) => {
            ctx.state.grants.jwt(&claims(&lease, &request, now))
        }
    };
    let mut changes = vec![Change::update(&lease)?];
    // A granted Holdfast token lives exactly as long as its lease.
    let token = granted_token(ctx.store(), &lease).await?;
    if let Some(mut t) = token.clone() {
        t.expires_at = Some(lease.expires_at);
        t.version += 1;
        changes.push(Change::update(&t)?);
    }
    ctx.commit(
        changes,
        "lease.renewed",
        Some(format!("lease:{}", lease.id)),
        json!({"by": caller.principal, "jti": lease.credential_id(), "expires_at": lease.expires_at.unix_timestamp()}),
    )
    .await?;
    if let Some(t) = token {
        ctx.state.tokens.forget(t.id);
    }
    let login = lease.login.clone();
    Ok(AxumJson(IssuedGrant {
        lease,
        credential,
        login,
    }))
}

/// The Holdfast token a lease granted, if it is that kind.
async fn granted_token(
    store: &dyn Store,
    lease: &Lease,
) -> ApiResult<Option<holdfast_core::ApiToken>> {
    match (
        lease.kind,
        lease.login.as_deref().and_then(|l| Uuid::try_parse(l).ok()),
    ) {
        (GrantKind::Holdfast, Some(id)) => Ok(holdfast_store::get(store, id).await?),
        _ => Ok(None),
    }
}

/// Ends `lease` (and closes its request) with an audit record.
pub(crate) async fn end_lease(
    ctx: &Ctx,
    mut lease: Lease,
    by: &str,
    reason: Option<&str>,
) -> ApiResult<Lease> {
    // The target first: a lease is recorded as ended only once its credential is gone.
    end_at_target(&ctx.state, &lease).await?;
    let now = ctx.now();
    lease.state = LeaseState::Revoked;
    lease.ended_at = Some(now);
    lease.ended_by = Some(by.to_string());
    lease.version += 1;
    let mut changes = vec![Change::update(&lease)?];
    if let Some(mut r) = holdfast_store::get::<AccessRequest>(ctx.store(), lease.request).await?
        && r.state == RequestState::Issued
    {
        r.state = RequestState::Closed;
        r.version += 1;
        changes.push(Change::update(&r)?);
    }
    // The granted token, and every token minted from it (and from those), end with the lease.
    let token = granted_token(ctx.store(), &lease).await?;
    let mut ended_tokens = Vec::new();
    if let Some(t) = &token {
        let all: Vec<holdfast_core::ApiToken> = find_all(ctx.store(), vec![], 500).await?;
        let mut frontier = vec![t.id];
        let mut family = vec![t.clone()];
        while let Some(parent) = frontier.pop() {
            for child in all.iter().filter(|c| c.created_by == Some(parent)) {
                frontier.push(child.id);
                family.push(child.clone());
            }
        }
        for mut f in family.into_iter().filter(|f| f.revoked_at.is_none()) {
            f.revoked_at = Some(now);
            f.version += 1;
            ended_tokens.push(f.id);
            changes.push(Change::update(&f)?);
        }
    }
    ctx.commit(
        changes,
        "lease.revoked",
        Some(format!("lease:{}", lease.id)),
        json!({"by": by, "holder": lease.holder, "reason": reason, "request": lease.request}),
    )
    .await?;
    for id in ended_tokens {
        ctx.state.tokens.forget(id);
    }
    Ok(lease)
}

#[utoipa::path(post, path = "/v1/leases/{id}/revoke", tag = "access", params(("id" = Uuid, Path)),
    responses((status = 200, body = Lease), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn revoke(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<Lease>> {
    let caller = ctx.caller().await?;
    let id = parse_id("lease", &raw)?;
    let Some(lease) = holdfast_store::get::<Lease>(ctx.store(), id).await? else {
        // Whether a lease exists is for those who may revoke leases.
        ctx.require("lease.revoke").await?;
        return Err(ApiError::not_found(format!("lease `{id}` does not exist")));
    };
    // The holder may give its own lease back; anyone else needs the right to revoke.
    if caller.principal == lease.holder {
        ctx.require("lease.release").await?;
    } else {
        ctx.require("lease.revoke").await?;
    }
    if lease.state != LeaseState::Active {
        return Err(conflict(
            "not_active",
            format!("the lease is already {}", lease.state.as_str()),
        ));
    }
    Ok(AxumJson(
        end_lease(&ctx, lease, &caller.principal, None).await?,
    ))
}

#[utoipa::path(post, path = "/v1/leases/revoke-holder", tag = "access", request_body = RevokeHolderRequest,
    responses((status = 200, body = RevokedLeases), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn revoke_holder(
    ctx: Ctx,
    Json(req): Json<RevokeHolderRequest>,
) -> ApiResult<AxumJson<RevokedLeases>> {
    ctx.require("lease.revoke").await?;
    let caller = ctx.caller().await?;
    let holder = match req.holder.as_deref().map(str::trim) {
        None | Some("") => return Err(ApiError::invalid("holder", "is required")),
        Some(h) => match Uuid::try_parse(h) {
            Ok(id) => format!("Holdfast::Identity::{:?}", id.to_string()),
            Err(_)
                if (h.starts_with("Holdfast::Identity::\"")
                    || h.starts_with("Holdfast::Person::\""))
                    && h.ends_with('"') =>
            {
                h.to_string()
            }
            Err(_) => {
                return Err(ApiError::invalid(
                    "holder",
                    "must be an identity id or a principal like Holdfast::Person::\"alice\"",
                ));
            }
        },
    };
    let active: Vec<Lease> = find_all(
        ctx.store(),
        vec![
            Filter::Eq("holder", Value::text(&holder)),
            Filter::Eq("state", Value::text("active")),
        ],
        500,
    )
    .await?;
    // Keep going past a lease that cannot be ended now (its target unreachable): in an incident
    // every other one must still go. The ones left are reported.
    let mut revoked = vec![];
    let mut failed = vec![];
    for lease in active {
        let id = lease.id;
        match end_lease(&ctx, lease, &caller.principal, req.reason.as_deref()).await {
            Ok(l) => revoked.push(l.id),
            Err(e) => failed.push(format!("{id}: {}", e.message)),
        }
    }
    Ok(AxumJson(RevokedLeases { revoked, failed }))
}

#[utoipa::path(get, path = "/v1/grants/jwks", tag = "access", responses((status = 200, body = Jwks)))]
pub async fn jwks(ctx: Ctx) -> ApiResult<AxumJson<Jwks>> {
    ctx.require("grant.keys").await?;
    let keys = grant_keys(ctx.store())
        .await?
        .into_iter()
        .map(|(kid, x)| json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": x}))
        .collect();
    Ok(AxumJson(Jwks { keys }))
}

#[utoipa::path(get, path = "/v1/grants/x509", tag = "access", responses((status = 200, body = holdfast_types::X509Trust)))]
pub async fn x509_trust(ctx: Ctx) -> ApiResult<AxumJson<holdfast_types::X509Trust>> {
    ctx.require("grant.keys").await?;
    let ca = crate::x509::load(&ctx.state).await?;
    let leases: Vec<Lease> = find_all(ctx.store(), vec![], 500).await?;
    let mut revoked = Vec::new();
    for l in leases.iter().filter(|l| l.kind == GrantKind::X509) {
        let at = l.ended_at.unwrap_or(l.issued_at);
        // Renewed-away certificates are superseded; a revoked lease revokes all of its own.
        let last = if l.state == LeaseState::Revoked {
            l.renewals + 1
        } else {
            l.renewals
        };
        for r in 0..last {
            revoked.push((l.id, r, at));
        }
    }
    let crl_pem = ca.crl(&revoked, ctx.now())?;
    Ok(AxumJson(holdfast_types::X509Trust {
        ca_pem: ca.cert_pem,
        crl_pem,
    }))
}

#[utoipa::path(post, path = "/v1/grants/introspect", tag = "access", request_body = IntrospectRequest,
    responses((status = 200, body = Introspection)))]
pub async fn introspect(
    ctx: Ctx,
    Json(req): Json<IntrospectRequest>,
) -> ApiResult<AxumJson<Introspection>> {
    ctx.require("grant.introspect").await?;
    let token = req
        .token
        .ok_or_else(|| ApiError::invalid("token", "is required"))?;
    let inactive = |reason: &str| Introspection {
        active: false,
        reason: Some(reason.to_string()),
        ..Default::default()
    };
    let keys = grant_keys(ctx.store()).await?;
    let claims = match crate::grants::verify(&token, &keys) {
        Ok(c) => c,
        Err(e) => return Ok(AxumJson(inactive(&e.to_string()))),
    };
    let jti = claims
        .get("jti")
        .unwrap_or(&serde_json::Value::Null)
        .as_str()
        .unwrap_or_default()
        .to_string();
    let exp = claims
        .get("exp")
        .unwrap_or(&serde_json::Value::Null)
        .as_i64();
    let mut out = Introspection {
        active: false,
        sub: claims
            .get("sub")
            .unwrap_or(&serde_json::Value::Null)
            .as_str()
            .map(str::to_string),
        aud: claims
            .get("aud")
            .unwrap_or(&serde_json::Value::Null)
            .as_str()
            .map(str::to_string),
        scope: claims
            .get("scope")
            .unwrap_or(&serde_json::Value::Null)
            .as_str()
            .map(str::to_string),
        exp,
        jti: Some(jti.clone()),
        reason: None,
    };
    let lease_id = jti.split('.').next().and_then(|s| Uuid::try_parse(s).ok());
    let lease = match lease_id {
        Some(id) => holdfast_store::get::<Lease>(ctx.store(), id).await?,
        None => None,
    };
    let now = ctx.now();
    out.reason = match lease {
        None => Some("no such lease".into()),
        Some(l) if l.state != LeaseState::Active => {
            Some(format!("the lease is {}", l.state.as_str()))
        }
        Some(l) if l.credential_id() != jti => Some("superseded by a renewal".into()),
        Some(_) if exp.is_none_or(|e| e <= now.unix_timestamp()) => Some("expired".into()),
        Some(l) if l.expires_at <= now => Some("expired".into()),
        Some(_) => None,
    };
    out.active = out.reason.is_none();
    Ok(AxumJson(out))
}

/// Expires pending requests past their deadline and leases past their expiry, each with an audit
/// record. Runs at start (leases that expired while the server was down) and then periodically.
pub async fn sweep(state: &AppState) -> ApiResult<usize> {
    let now = state.clock.now();
    let store = state.store.as_ref();
    let mut n = 0;
    // Unanswered requests, and approved ones nobody collected, expire at the deadline.
    let mut waiting: Vec<AccessRequest> = find_all(
        store,
        vec![Filter::Eq("state", Value::text("pending"))],
        500,
    )
    .await?;
    waiting.extend(
        find_all::<AccessRequest>(
            store,
            vec![Filter::Eq("state", Value::text("approved"))],
            500,
        )
        .await?,
    );
    for mut r in waiting.into_iter().filter(|r| r.decide_by <= now) {
        r.state = RequestState::Expired;
        r.version += 1;
        let ev = system_event(
            now,
            "request.expired",
            format!("request:{}", r.id),
            json!({"decide_by": r.decide_by.unix_timestamp()}),
        );
        if store.apply(vec![Change::update(&r)?], ev).await.is_ok() {
            n += 1;
        }
    }
    let active: Vec<Lease> =
        find_all(store, vec![Filter::Eq("state", Value::text("active"))], 500).await?;
    for mut l in active.into_iter().filter(|l| l.expires_at <= now) {
        if let Err(e) = end_at_target(state, &l).await {
            tracing::warn!(lease = %l.id, error = %e.message, "an expired lease's login could not be dropped yet; retrying");
            continue;
        }
        l.state = LeaseState::Expired;
        l.ended_at = Some(now);
        l.version += 1;
        let mut changes = vec![Change::update(&l)?];
        if let Some(mut r) = holdfast_store::get::<AccessRequest>(store, l.request).await?
            && r.state == RequestState::Issued
        {
            r.state = RequestState::Closed;
            r.version += 1;
            changes.push(Change::update(&r)?);
        }
        let ev = system_event(
            now,
            "lease.expired",
            format!("lease:{}", l.id),
            json!({"holder": l.holder, "request": l.request, "expires_at": l.expires_at.unix_timestamp()}),
        );
        // Another replica may have swept it first; its version check makes this one a no-op.
        if store.apply(changes, ev).await.is_ok() {
            n += 1;
        }
    }
    n += rotate_after_breakglass(state, now).await?;
    n += reconcile_postgres_logins(state, now).await?;
    n += crate::monitoring::retry_owed(state).await?;
    // Each of these stands alone: one failing (or losing a race to another replica) must not
    // keep the others from running.
    // Offboardings run on their own: a long re-scan of a repository's history must not hold up
    // lease expiry (the driver takes one pass at a time; a pass still running is left alone).
    let driver = state.clone();
    tokio::spawn(async move {
        if let Err(e) = crate::offboarding::drive(&driver, None).await {
            tracing::warn!(error = %e.message, "driving offboardings: will try again");
        }
    });
    for (what, r) in [
        (
            "offboarding expired identities",
            crate::offboarding::offboard_expired(state).await,
        ),
        (
            "enforcing access reviews",
            crate::routes::campaigns::sweep(state).await,
        ),
    ] {
        match r {
            Ok(k) => n += k,
            Err(e) => tracing::warn!(error = %e.message, "{what}: will try again"),
        }
    }
    match crate::posture::maybe_recompute(state).await {
        Ok(true) => n += 1,
        Ok(false) => {}
        // Another replica writing the same findings wins; this one tries again next time.
        Err(e) => tracing::debug!(error = %e.message, "posture recompute did not land"),
    }
    Ok(n)
}

fn system_event(
    now: OffsetDateTime,
    action: &str,
    target: String,
    detail: serde_json::Value,
) -> holdfast_audit::AuditEvent {
    holdfast_audit::AuditEvent {
        time: now,
        actor: "holdfast".into(),
        action: action.into(),
        target: Some(target),
        outcome: holdfast_audit::Outcome::Success,
        source: None,
        request_id: None,
        detail,
    }
}

/// Starts the rotations a break-glass review owes once its lease has ended: every secret the
/// elevated identity owns, each with the rotator it was last rotated with (or marked as needing a
/// person). Runs from the sweeper.
async fn rotate_after_breakglass(state: &AppState, now: OffsetDateTime) -> ApiResult<usize> {
    let store = state.store.as_ref();
    let reviews: Vec<holdfast_core::Review> = find_all(store, vec![], 500).await?;
    let mut n = 0;
    for mut review in reviews.into_iter().filter(|r| !r.rotation_done) {
        let lease: Option<Lease> = holdfast_store::get(store, review.lease).await?;
        if lease.is_some_and(|l| l.state == LeaseState::Active) {
            continue;
        }
        let mut outcome = Vec::new();
        for path in &review.to_rotate {
            // Settled on an earlier sweep (started, or left to a person): not again.
            if let Some(prev) = review
                .rotation
                .iter()
                .find(|o| o.starts_with(&format!("{path}: ")) && !o.contains(": failed"))
            {
                outcome.push(prev.clone());
                continue;
            }
            let Some(last) = super::rotations::last_rotation(store, path).await? else {
                outcome.push(format!(
                    "{path}: needs a person (never rotated by Holdfast)"
                ));
                continue;
            };
            let planned = super::rotations::plan_rotation(
                state,
                path,
                &last.rotator,
                last.config.clone(),
                0,
                "holdfast (break-glass review)",
                now,
            )
            .await;
            match planned {
                Ok((changes, job, _)) => {
                    let ev = system_event(
                        now,
                        "secret.rotate",
                        format!("secret:{path}"),
                        json!({"path": path, "rotator": last.rotator, "new_version": job.new_version, "breakglass_review": review.id}),
                    );
                    match store.apply(changes, ev).await {
                        Ok(_) => outcome.push(format!("{path}: started")),
                        Err(e) => outcome.push(format!("{path}: failed: {e}")),
                    }
                }
                Err(e) => outcome.push(format!("{path}: failed: {}", e.message)),
            }
        }
        // Failures (a sealed vault, an unreachable target) are tried again on a later sweep.
        let all_settled = outcome.iter().all(|o| !o.contains(": failed"));
        if !all_settled && review.rotation == outcome {
            continue;
        }
        review.rotation = outcome;
        review.rotation_done = all_settled;
        review.version += 1;
        let ev = system_event(
            now,
            "review.rotation_started",
            format!("review:{}", review.id),
            json!({"rotation": review.rotation}),
        );
        if store
            .apply(vec![Change::update(&review)?], ev)
            .await
            .is_ok()
        {
            n += 1;
        }
    }
    Ok(n)
}

/// When each `hf_…` login without a live lease was first seen, per node; a login is dropped only
/// once it has been seen without a lease for [`ORPHAN_GRACE`] (a grant being issued right now
/// creates its login a moment before its lease is recorded).
/// When the last check ran, and when each orphan was first seen.
type OrphanWatch = (
    Option<std::time::Instant>,
    std::collections::HashMap<String, std::time::Instant>,
);
static ORPHANS: std::sync::OnceLock<std::sync::Mutex<OrphanWatch>> = std::sync::OnceLock::new();
const ORPHAN_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// Drops PostgreSQL logins Holdfast created that no live lease accounts for (a grant whose commit
/// failed and whose clean-up failed too). At most once a minute.
async fn reconcile_postgres_logins(state: &AppState, now: OffsetDateTime) -> ApiResult<usize> {
    let cell = ORPHANS.get_or_init(Default::default);
    {
        let mut guard = cell
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.0.is_some_and(|t| t.elapsed() < ORPHAN_GRACE) {
            return Ok(0);
        }
        guard.0 = Some(std::time::Instant::now());
    }
    let mut dropped = 0;
    for name in state.rotators.postgres_grants.keys() {
        let Ok(target) = postgres_target(state, name).await else {
            continue;
        };
        let Ok(logins) = target.logins().await else {
            continue;
        };
        for (login, note) in logins {
            let lease_id = login
                .strip_prefix("hf_")
                .and_then(|hex| Uuid::try_parse(hex).ok());
            // Ours only when its comment names a request this installation holds: another
            // installation issuing logins on the same database is left alone.
            let request_id = note
                .as_deref()
                .and_then(|n| n.strip_prefix("holdfast request "))
                .and_then(|id| Uuid::try_parse(id).ok());
            let ours = match request_id {
                Some(id) => holdfast_store::get::<AccessRequest>(state.store.as_ref(), id)
                    .await?
                    .is_some(),
                None => false,
            };
            let live = match lease_id {
                Some(id) if ours => holdfast_store::get::<Lease>(state.store.as_ref(), id)
                    .await?
                    .is_some_and(|l| l.state == LeaseState::Active),
                _ => true, // not one of ours
            };
            let due = {
                let mut guard = cell
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if live {
                    guard.1.remove(&login);
                    false
                } else {
                    let first = *guard
                        .1
                        .entry(login.clone())
                        .or_insert_with(std::time::Instant::now);
                    first.elapsed() >= ORPHAN_GRACE
                }
            };
            if due && target.drop_login(&login).await.is_ok() {
                let ev = system_event(
                    now,
                    "grant.orphan_dropped",
                    format!("postgres:{name}:{login}"),
                    json!({"target": name, "login": login}),
                );
                state.store.apply(vec![], ev).await?;
                cell.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .1
                    .remove(&login);
                dropped += 1;
            }
        }
    }
    Ok(dropped)
}

/// Sweeps at start and every few seconds.
pub async fn sweeper(state: AppState) {
    loop {
        if let Err(e) = sweep(&state).await {
            tracing::error!(error = %e.message, "could not expire requests and leases");
        }
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
}
