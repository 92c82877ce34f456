//! `/v1/review-campaigns`: access reviews. A campaign asks each owner to attest, reduce or revoke
//! each identity they own by a deadline; reminders go to the `[rotators.reviews]` webhook; when the
//! deadline passes, what nobody answered is enforced as policy decides (`respond.suspend` for
//! `Holdfast::Detection::"review_missed"`), audited and notified.

use std::collections::BTreeMap;

use axum::Json as AxumJson;
use axum::extract::Path;
use axum::http::StatusCode;
use holdfast_core::{
    Campaign, CampaignItem, CampaignState, Entitlement, Identity, ItemDecision, LifecycleState,
    Owner,
};
use holdfast_store::{Change, Filter, Table, Value, find_all, get};
use holdfast_types::{
    CampaignItemPage, CampaignPage, CampaignView, DecideItemRequest, StartCampaignRequest,
};
use serde::Deserialize;
use serde_json::json;
use time::Duration;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{eq, must_get, page, parse_id, resolve_owner, table_query};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::{AppState, Ctx};

fn notify(state: &AppState, body: serde_json::Value) {
    if let Some(spec) = state.rotators.reviews.clone() {
        crate::notify::post(state, spec, body, "access-review webhook");
    }
}

/// One notice per owner with their pending identities.
fn notify_owners(state: &AppState, kind: &str, c: &Campaign, items: &[CampaignItem]) {
    let mut by_owner: BTreeMap<String, Vec<&CampaignItem>> = BTreeMap::new();
    for i in items {
        by_owner
            .entry(i.owner.clone().unwrap_or_else(|| "(no owner)".into()))
            .or_default()
            .push(i);
    }
    for (owner, its) in by_owner {
        notify(
            state,
            json!({
                "kind": kind,
                "campaign": c.id,
                "name": c.name,
                "deadline": c.deadline.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                "owner": owner,
                "identities": its.iter().map(|i| json!({"id": i.identity_id, "name": i.identity_name, "decision": i.decision})).collect::<Vec<_>>(),
            }),
        );
    }
}

#[utoipa::path(post, path = "/v1/review-campaigns", tag = "reviews", request_body = StartCampaignRequest,
    responses((status = 201, body = CampaignView), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn start(
    ctx: Ctx,
    Json(req): Json<StartCampaignRequest>,
) -> ApiResult<(StatusCode, AxumJson<CampaignView>)> {
    let p = ctx.require("review.start").await?;
    let by = p.actor();
    let name = req.name.unwrap_or_default().trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "name",
            "is required (at most 200 characters)",
        ));
    }
    let now = ctx.now();
    let deadline = match (&req.deadline, req.deadline_days) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "deadline",
                "give either deadline or deadline_days, not both",
            ));
        }
        (Some(raw), None) => {
            let t = time::OffsetDateTime::parse(
                raw.trim(),
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|_| {
                ApiError::invalid("deadline", format!("`{raw}` is not an RFC 3339 time"))
            })?;
            if t <= now || t - now > Duration::days(365) {
                return Err(ApiError::invalid(
                    "deadline",
                    "must be in the future and at most 365 days ahead",
                ));
            }
            t
        }
        (None, days) => {
            let days = days.unwrap_or(14);
            if !(1..=365).contains(&days) {
                return Err(ApiError::invalid(
                    "deadline_days",
                    "must be between 1 and 365",
                ));
            }
            now + Duration::days(i64::from(days))
        }
    };
    let owner_filter: Option<Owner> = match req.owner.as_deref() {
        Some(o) => Some(resolve_owner(&ctx, "owner", o).await?),
        None => None,
    };
    let owners: BTreeMap<Uuid, Owner> = find_all::<Owner>(ctx.store(), vec![], 1000)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let mut filters = vec![];
    if let Some(o) = &owner_filter {
        filters.push(Filter::Eq("owner_id", Value::text(o.id.to_string())));
    }
    if let Some(t) = req.tier {
        filters.push(Filter::Eq("tier", Value::text(t.as_str())));
    }
    let identities: Vec<Identity> = find_all::<Identity>(ctx.store(), filters, 1000)
        .await?
        .into_iter()
        .filter(|i| matches!(i.state, LifecycleState::Active | LifecycleState::Suspended))
        .collect();
    if identities.is_empty() {
        let field = if owner_filter.is_some() {
            "owner"
        } else {
            "tier"
        };
        return Err(ApiError::invalid(
            field,
            "no active identity matches the campaign's scope",
        ));
    }
    let entitlements: Vec<Entitlement> = find_all(ctx.store(), vec![], 1000).await?;
    let campaign = Campaign {
        id: Uuid::now_v7(),
        version: 1,
        name: name.clone(),
        started_by: by.clone(),
        started_at: now,
        deadline,
        owner: owner_filter.map(|o| o.name),
        tier: req.tier.map(|t| t.as_str().to_string()),
        state: CampaignState::Open,
        items: identities.len() as u64,
        reminded: false,
        closed_at: None,
    };
    let items: Vec<CampaignItem> = identities
        .iter()
        .map(|i| CampaignItem {
            id: Uuid::now_v7(),
            version: 1,
            campaign: campaign.id,
            identity_id: i.id,
            identity_name: i.name.clone(),
            tier: i.tier.as_str().to_string(),
            owner: i
                .owner_id
                .and_then(|o| owners.get(&o))
                .map(|o| o.name.clone()),
            entitlements: entitlements
                .iter()
                .filter(|e| e.identity_id == i.id)
                .map(|e| format!("{}: {} on {}", e.id, e.actions.join(", "), e.resource))
                .collect(),
            decision: ItemDecision::Pending,
            decided_by: None,
            decided_at: None,
            note: None,
        })
        .collect();
    let mut changes = vec![Change::insert(&campaign)?];
    for i in &items {
        changes.push(Change::insert(i)?);
    }
    ctx.commit(
        changes,
        "review.start",
        Some(format!("review_campaign:{}", campaign.id)),
        json!({"name": name, "items": items.len(), "deadline": deadline.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
               "owner": campaign.owner, "tier": campaign.tier}),
    )
    .await?;
    notify_owners(&ctx.state, "review.started", &campaign, &items);
    let view = view_of(&ctx, campaign).await?;
    Ok((StatusCode::CREATED, AxumJson(view)))
}

async fn view_of(ctx: &Ctx, campaign: Campaign) -> ApiResult<CampaignView> {
    let items: Vec<CampaignItem> = find_all(
        ctx.store(),
        vec![Filter::Eq("campaign", Value::text(campaign.id.to_string()))],
        1000,
    )
    .await?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for i in &items {
        *counts.entry(i.decision.as_str().to_string()).or_default() += 1;
    }
    Ok(CampaignView { campaign, counts })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CampaignFilter {
    /// `open` or `closed`.
    pub state: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/review-campaigns", tag = "reviews", params(CampaignFilter),
    responses((status = 200, body = CampaignPage)))]
pub async fn list(ctx: Ctx, Query(f): Query<CampaignFilter>) -> ApiResult<AxumJson<CampaignPage>> {
    ctx.require("review.read").await?;
    if let Some(s) = &f.state
        && !matches!(s.as_str(), "open" | "closed")
    {
        return Err(ApiError::invalid(
            "state",
            format!("`{s}` is not open or closed"),
        ));
    }
    let q = eq(table_query(Table::Campaigns), "state", f.state);
    let (items, next) = page::<Campaign>(&ctx, q, f.limit, f.after).await?;
    Ok(AxumJson(CampaignPage { items, next }))
}

#[utoipa::path(get, path = "/v1/review-campaigns/{id}", tag = "reviews", params(("id" = Uuid, Path)),
    responses((status = 200, body = CampaignView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn show(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<CampaignView>> {
    ctx.require("review.read").await?;
    let id = parse_id("review campaign", &raw)?;
    let c = must_get::<Campaign>(&ctx, id).await?;
    Ok(AxumJson(view_of(&ctx, c).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ItemFilter {
    pub owner: Option<String>,
    /// `pending`, `attested`, `reduced`, `revoked`, `missed`, `missed_suspended`.
    pub decision: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/review-campaigns/{id}/items", tag = "reviews", params(("id" = Uuid, Path), ItemFilter),
    responses((status = 200, body = CampaignItemPage)))]
pub async fn items(
    ctx: Ctx,
    Path(raw): Path<String>,
    Query(f): Query<ItemFilter>,
) -> ApiResult<AxumJson<CampaignItemPage>> {
    ctx.require("review.read").await?;
    let id = parse_id("review campaign", &raw)?;
    if let Some(d) = &f.decision {
        d.parse::<ItemDecision>()
            .map_err(|e| ApiError::invalid("decision", e))?;
    }
    let q = table_query(Table::CampaignItems)
        .filter(Filter::Eq("campaign", Value::text(id.to_string())));
    let q = eq(q, "owner", f.owner);
    let q = eq(q, "decision", f.decision);
    let (items, next) = page::<CampaignItem>(&ctx, q, f.limit, f.after).await?;
    Ok(AxumJson(CampaignItemPage { items, next }))
}

#[utoipa::path(post, path = "/v1/review-campaigns/{id}/items/{identity}", tag = "reviews",
    params(("id" = Uuid, Path), ("identity" = Uuid, Path)), request_body = DecideItemRequest,
    responses((status = 200, body = CampaignItem), (status = 403, body = holdfast_types::ErrorBody),
        (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn decide(
    ctx: Ctx,
    Path((raw, raw_identity)): Path<(String, String)>,
    Json(req): Json<DecideItemRequest>,
) -> ApiResult<AxumJson<CampaignItem>> {
    ctx.require("review.attest").await?;
    let id = parse_id("review campaign", &raw)?;
    let identity_id = parse_id("identity", &raw_identity)?;
    let decision: ItemDecision = req
        .decision
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e| ApiError::invalid("decision", e))?;
    if !matches!(
        decision,
        ItemDecision::Attested | ItemDecision::Reduced | ItemDecision::Revoked
    ) {
        return Err(ApiError::invalid(
            "decision",
            "must be attested, reduced or revoked",
        ));
    }
    let note = req
        .note
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(ApiError::invalid("note", "must be at most 2000 characters"));
    }
    if decision != ItemDecision::Attested && note.is_none() {
        return Err(ApiError::invalid(
            "note",
            "is required to reduce or revoke: say why",
        ));
    }
    if decision == ItemDecision::Reduced && req.remove_entitlements.is_empty() {
        return Err(ApiError::invalid(
            "remove_entitlements",
            "names the entitlements to remove when reducing",
        ));
    }
    if decision != ItemDecision::Reduced && !req.remove_entitlements.is_empty() {
        return Err(ApiError::invalid(
            "remove_entitlements",
            "only goes with the decision `reduced`",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (n, e) in req.remove_entitlements.iter().enumerate() {
        if !seen.insert(e.trim()) {
            return Err(ApiError::invalid(
                format!("remove_entitlements[{n}]"),
                format!("`{e}` is named twice"),
            ));
        }
    }
    let campaign = must_get::<Campaign>(&ctx, id).await?;
    let now = ctx.now();
    if campaign.state != CampaignState::Open || now > campaign.deadline {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "closed",
            format!("campaign `{id}` is closed or past its deadline"),
        ));
    }
    let mut item = find_all::<CampaignItem>(
        ctx.store(),
        vec![
            Filter::Eq("campaign", Value::text(id.to_string())),
            Filter::Eq("identity_id", Value::text(identity_id.to_string())),
        ],
        1,
    )
    .await?
    .into_iter()
    .next()
    .ok_or_else(|| {
        ApiError::not_found(format!(
            "identity `{identity_id}` is not under review in `{id}`"
        ))
    })?;
    if item.decision != ItemDecision::Pending {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "decided",
            format!(
                "identity `{identity_id}` was already {}",
                item.decision.as_str()
            ),
        ));
    }
    // Only the identity's current, active owner answers for it — a person named as owner or a
    // member of the team — never the identity itself or an AI agent.
    let identity = must_get::<Identity>(&ctx, identity_id).await?;
    super::require_for_identity(&ctx, "review.attest", identity_id).await?;
    let caller = ctx.caller().await?;
    let owner = match identity.owner_id {
        Some(o) => get::<Owner>(ctx.store(), o).await?.filter(|o| o.active),
        None => None,
    };
    let owner_name = owner.as_ref().map(|o| o.name.clone()).unwrap_or_default();
    let is_self = caller.principal == format!("Holdfast::Identity::{:?}", identity_id.to_string());
    let is_owner = !owner_name.is_empty()
        && caller.kind != "ai_agent"
        && !is_self
        && ((caller.kind == "person" && caller.name == owner_name)
            || caller.groups.contains(&owner_name));
    if !is_owner {
        return Err(ApiError::forbidden(format!(
            "only the owner ({}) answers for {}",
            if owner_name.is_empty() {
                "none active"
            } else {
                &owner_name
            },
            item.identity_name
        )));
    }
    if decision == ItemDecision::Revoked {
        // Checked before anything is recorded: the answer and the offboarding go together.
        if matches!(
            identity.state,
            LifecycleState::Offboarding | LifecycleState::Offboarded
        ) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "offboarding",
                format!(
                    "identity `{identity_id}` is already {}",
                    identity.state.as_str()
                ),
            ));
        }
    }
    let mut changes = Vec::new();
    let mut removed = Vec::new();
    if decision == ItemDecision::Reduced {
        for (n, raw_e) in req.remove_entitlements.iter().enumerate() {
            let eid = Uuid::try_parse(raw_e).map_err(|_| {
                ApiError::invalid(
                    format!("remove_entitlements[{n}]"),
                    "is not an entitlement id",
                )
            })?;
            let e: Entitlement = get::<Entitlement>(ctx.store(), eid)
                .await?
                .filter(|e| e.identity_id == identity_id)
                .ok_or_else(|| {
                    ApiError::invalid(
                        format!("remove_entitlements[{n}]"),
                        format!("`{eid}` is not an entitlement of {}", identity.name),
                    )
                })?;
            removed.push(format!(
                "{}: {} on {}",
                e.id,
                e.actions.join(", "),
                e.resource
            ));
            changes.push(Change::delete(&e));
        }
    }
    if decision != ItemDecision::Revoked {
        let mut next = identity.clone();
        next.last_reviewed_at = Some(now);
        next.version += 1;
        next.updated_at = now;
        changes.push(Change::update(&next)?);
    }
    item.decision = decision;
    item.decided_by = Some(caller.principal.clone());
    item.decided_at = Some(now);
    item.note.clone_from(&note);
    item.version += 1;
    changes.push(Change::update(&item)?);
    ctx.commit(
        changes,
        "review.decide",
        Some(format!("review_campaign:{id}")),
        json!({"identity": identity_id, "decision": decision.as_str(), "note": note, "removed": removed}),
    )
    .await?;
    if decision == ItemDecision::Revoked {
        let o = crate::offboarding::start(
            &ctx,
            identity,
            format!(
                "revoked in access review `{}`: {}",
                campaign.name,
                note.unwrap_or_default()
            ),
            "review_revoked",
            &caller.principal,
        )
        .await?;
        let state = ctx.state.clone();
        tokio::spawn(async move {
            let _ = crate::offboarding::drive(&state, Some(o.id)).await;
        });
    }
    close_if_done(&ctx, id).await?;
    Ok(AxumJson(item))
}

/// Closes a campaign whose items are all answered.
async fn close_if_done(ctx: &Ctx, id: Uuid) -> ApiResult<()> {
    let pending = find_all::<CampaignItem>(
        ctx.store(),
        vec![
            Filter::Eq("campaign", Value::text(id.to_string())),
            Filter::Eq("decision", Value::text("pending")),
        ],
        1,
    )
    .await?;
    if pending.is_empty()
        && let Some(mut c) = get::<Campaign>(ctx.store(), id).await?
        && c.state == CampaignState::Open
    {
        c.state = CampaignState::Closed;
        c.closed_at = Some(ctx.now());
        c.version += 1;
        ctx.commit(
            vec![Change::update(&c)?],
            "review.closed",
            Some(format!("review_campaign:{id}")),
            json!({"name": c.name, "why": "every identity answered"}),
        )
        .await?;
    }
    Ok(())
}

/// The sweeper's part: a reminder a day before the deadline, and, once it passed, enforcement of
/// every unanswered item — suspension where policy permits it — audited and notified.
pub async fn sweep(state: &AppState) -> ApiResult<usize> {
    let ctx = Ctx::system(state);
    let now = ctx.now();
    let open: Vec<Campaign> = find_all(
        ctx.store(),
        vec![Filter::Eq("state", Value::text("open"))],
        100,
    )
    .await?;
    let mut n = 0;
    for mut c in open {
        let pending: Vec<CampaignItem> = find_all(
            ctx.store(),
            vec![
                Filter::Eq("campaign", Value::text(c.id.to_string())),
                Filter::Eq("decision", Value::text("pending")),
            ],
            1000,
        )
        .await?;
        if now < c.deadline {
            if !c.reminded && c.deadline - now <= Duration::days(1) {
                c.reminded = true;
                c.version += 1;
                ctx.commit(
                    vec![Change::update(&c)?],
                    "review.reminded",
                    Some(format!("review_campaign:{}", c.id)),
                    json!({"pending": pending.len()}),
                )
                .await?;
                notify_owners(state, "review.reminder", &c, &pending);
                n += 1;
            }
            continue;
        }
        let mut missed = Vec::new();
        for mut item in pending {
            let identity: Option<Identity> = get(ctx.store(), item.identity_id).await?;
            let mut outcome = ItemDecision::Missed;
            let mut changes = Vec::new();
            let mut policies = Vec::new();
            if let Some(i) = identity.filter(|i| i.state == LifecycleState::Active) {
                let (allowed, by) = crate::monitoring::response_allowed(
                    &ctx,
                    "review_missed",
                    "high",
                    &i,
                    "suspend",
                )
                .map_err(|e| ApiError::internal("deciding on a missed review", e))?;
                policies = by;
                if allowed {
                    let mut next = i.clone();
                    next.state = LifecycleState::Suspended;
                    next.state_reason = Some(format!("missed access review `{}`", c.name));
                    next.version += 1;
                    next.updated_at = now;
                    changes.push(Change::update(&next)?);
                    outcome = ItemDecision::MissedSuspended;
                }
            }
            item.decision = outcome;
            item.decided_by = Some("holdfast".into());
            item.decided_at = Some(now);
            item.version += 1;
            changes.push(Change::update(&item)?);
            ctx.commit(
                changes,
                "review.missed",
                Some(format!("identity:{}", item.identity_id)),
                json!({"campaign": c.id, "outcome": outcome.as_str(), "policies": policies}),
            )
            .await?;
            missed.push(item);
            n += 1;
        }
        c.state = CampaignState::Closed;
        c.closed_at = Some(now);
        c.version += 1;
        ctx.commit(
            vec![Change::update(&c)?],
            "review.closed",
            Some(format!("review_campaign:{}", c.id)),
            json!({"name": c.name, "why": "deadline passed", "missed": missed.len()}),
        )
        .await?;
        if !missed.is_empty() {
            notify_owners(state, "review.missed", &c, &missed);
        }
    }
    Ok(n)
}
