//! `/v1/events`, `/v1/alerts` and `/v1/identities/{id}/usage`: monitoring's API.

use axum::Json as AxumJson;
use axum::body::Bytes;
use axum::extract::Path;
use holdfast_core::{Entitlement, Identity};
use holdfast_monitor::{
    Alert, AlertPage, AlertState, AlertUpdate, Format, Grant, IngestReport, ProfileRecord,
    UsageView,
};
use holdfast_store::{Change, Filter, Value, find_all, get};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{eq, must_get, page, parse_id, table_query};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::Ctx;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IngestParams {
    /// `auto` (default), `cloudtrail`, `kubernetes` or `holdfast`.
    pub format: Option<String>,
    /// The discovery source to map actors in (when two clusters share service-account names).
    pub source: Option<String>,
}

#[utoipa::path(post, path = "/v1/events", tag = "monitoring", params(IngestParams),
    request_body(content = String, description = "JSON lines, or a CloudTrail `{\"Records\":[…]}` file; gzip accepted", content_type = "application/x-ndjson"),
    responses((status = 200, body = IngestReport), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn ingest(
    ctx: Ctx,
    Query(p): Query<IngestParams>,
    body: Bytes,
) -> ApiResult<AxumJson<IngestReport>> {
    ctx.require("events.ingest").await?;
    let format: Format = p
        .format
        .as_deref()
        .unwrap_or("auto")
        .parse()
        .map_err(|e: String| ApiError::invalid("format", e))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "body",
            "is empty: send JSON lines or a CloudTrail log file",
        ));
    }
    let _slot = ctx
        .state
        .monitor
        .parsing
        .acquire()
        .await
        .map_err(|e| ApiError::internal("waiting to read the batch", e))?;
    let (parsed, digest) = tokio::task::spawn_blocking(move || {
        use sha2::Digest as _;
        let digest = hex::encode(sha2::Sha256::digest(&body));
        holdfast_monitor::parse(&body, format).map(|p| (p, digest))
    })
    .await
    .map_err(|e| ApiError::internal("reading the batch", e))?
    .map_err(|e| ApiError::invalid("body", e))?;
    if parsed.events.is_empty() && parsed.skipped == 0 {
        let first = parsed
            .errors
            .first()
            .map(|e| format!(" (line {}: {})", e.line, e.reason))
            .unwrap_or_default();
        return Err(ApiError::invalid(
            "body",
            format!(
                "holds no event Holdfast can read: {} lines rejected{first}",
                parsed.rejected()
            ),
        ));
    }
    let label = match format {
        Format::Auto => {
            let mut platforms: Vec<&str> =
                parsed.events.iter().map(|e| e.platform.as_str()).collect();
            platforms.sort_unstable();
            platforms.dedup();
            match platforms.as_slice() {
                [one] => (*one).to_string(),
                _ => "mixed".to_string(),
            }
        }
        Format::Cloudtrail => "aws".into(),
        Format::Kubernetes => "kubernetes".into(),
        Format::Holdfast => "holdfast".into(),
    };
    let report =
        crate::monitoring::ingest(&ctx, parsed, &label, p.source.as_deref(), digest).await?;
    Ok(AxumJson(report))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AlertFilter {
    /// `open`, `acknowledged` or `closed`.
    pub state: Option<String>,
    pub severity: Option<String>,
    pub detection: Option<String>,
    pub identity: Option<Uuid>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/alerts", tag = "monitoring", params(AlertFilter),
    responses((status = 200, body = AlertPage)))]
pub async fn list(ctx: Ctx, Query(f): Query<AlertFilter>) -> ApiResult<AxumJson<AlertPage>> {
    ctx.require("alert.list").await?;
    if let Some(s) = &f.state {
        s.parse::<AlertState>()
            .map_err(|e| ApiError::invalid("state", e))?;
    }
    if let Some(s) = &f.severity
        && !matches!(s.as_str(), "low" | "medium" | "high" | "critical")
    {
        return Err(ApiError::invalid(
            "severity",
            format!("`{s}` is not a severity: use low, medium, high or critical"),
        ));
    }
    if let Some(d) = &f.detection {
        d.parse::<holdfast_monitor::Detection>()
            .map_err(|e| ApiError::invalid("detection", e))?;
    }
    let q = table_query(holdfast_store::Table::Alerts);
    let q = eq(q, "state", f.state);
    let q = eq(q, "severity", f.severity);
    let q = eq(q, "detection", f.detection);
    let q = eq(q, "identity_id", f.identity);
    let (items, next) = page::<Alert>(&ctx, q, f.limit, f.after).await?;
    Ok(AxumJson(AlertPage { items, next }))
}

#[utoipa::path(get, path = "/v1/alerts/{id}", tag = "monitoring", params(("id" = Uuid, Path)),
    responses((status = 200, body = Alert), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn show(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<Alert>> {
    ctx.require("alert.show").await?;
    let id = parse_id("alert", &raw)?;
    Ok(AxumJson(must_get::<Alert>(&ctx, id).await?))
}

async fn set_state(ctx: &Ctx, raw: &str, to: AlertState, note: Option<String>) -> ApiResult<Alert> {
    ctx.require("alert.update").await?;
    let id = parse_id("alert", raw)?;
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if let Some(n) = &note
        && n.chars().count() > 2000
    {
        return Err(ApiError::invalid("note", "must be at most 2000 characters"));
    }
    if to == AlertState::Closed && note.is_none() {
        return Err(ApiError::invalid(
            "note",
            "is required to close an alert: say what was found and done",
        ));
    }
    let mut alert = must_get::<Alert>(ctx, id).await?;
    let from = alert.state;
    match (from, to) {
        (AlertState::Closed, _) => {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "closed",
                format!("alert `{id}` is closed; a new hit opens a new alert"),
            ));
        }
        (AlertState::Acknowledged, AlertState::Acknowledged) => {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "acknowledged",
                format!("alert `{id}` is already acknowledged"),
            ));
        }
        _ => {}
    }
    let who = ctx
        .principal
        .as_ref()
        .map(|p| p.actor())
        .unwrap_or_default();
    alert.state = to;
    match to {
        AlertState::Acknowledged => alert.acknowledged_by = Some(who.clone()),
        AlertState::Closed => alert.closed_by = Some(who.clone()),
        AlertState::Open => {}
    }
    if note.is_some() {
        alert.note.clone_from(&note);
    }
    alert.version += 1;
    alert.updated_at = ctx.now();
    let action = if to == AlertState::Closed {
        "alert.close"
    } else {
        "alert.acknowledge"
    };
    ctx.commit(
        vec![Change::update(&alert)?],
        action,
        Some(format!("alert:{id}")),
        json!({"from": from.as_str(), "to": to.as_str(), "note": note, "detection": alert.detection.id()}),
    )
    .await?;
    Ok(alert)
}

#[utoipa::path(post, path = "/v1/alerts/{id}/ack", tag = "monitoring", params(("id" = Uuid, Path)),
    request_body = AlertUpdate,
    responses((status = 200, body = Alert), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn acknowledge(
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<AlertUpdate>,
) -> ApiResult<AxumJson<Alert>> {
    Ok(AxumJson(
        set_state(&ctx, &raw, AlertState::Acknowledged, req.note).await?,
    ))
}

#[utoipa::path(post, path = "/v1/alerts/{id}/close", tag = "monitoring", params(("id" = Uuid, Path)),
    request_body = AlertUpdate,
    responses((status = 200, body = Alert), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn close(
    ctx: Ctx,
    Path(raw): Path<String>,
    Json(req): Json<AlertUpdate>,
) -> ApiResult<AxumJson<Alert>> {
    Ok(AxumJson(
        set_state(&ctx, &raw, AlertState::Closed, req.note).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageParams {
    /// Days of use that count (default 90, at most 3650).
    pub window_days: Option<i64>,
}

fn at(t: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(t).ok()
}

#[utoipa::path(get, path = "/v1/identities/{id}/usage", tag = "monitoring", params(("id" = Uuid, Path), UsageParams),
    responses((status = 200, body = UsageView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn usage(
    ctx: Ctx,
    Path(raw): Path<String>,
    Query(p): Query<UsageParams>,
) -> ApiResult<AxumJson<UsageView>> {
    ctx.require("usage.show").await?;
    let window = p.window_days.unwrap_or(90);
    if !(1..=3650).contains(&window) {
        return Err(ApiError::invalid(
            "window_days",
            "must be between 1 and 3650",
        ));
    }
    let id = parse_id("identity", &raw)?;
    let identity = must_get::<Identity>(&ctx, id).await?;
    let profile = get::<ProfileRecord>(ctx.store(), id)
        .await?
        .map(|r| r.profile)
        .unwrap_or_default();
    let entitlements: Vec<Entitlement> = find_all(
        ctx.store(),
        vec![Filter::Eq("identity_id", Value::text(id.to_string()))],
        500,
    )
    .await?;
    let grants: Vec<Grant> = holdfast_posture::grants_of(&identity, &entitlements);
    let now = ctx.now().unix_timestamp();
    let name = identity
        .external_id
        .clone()
        .unwrap_or(identity.name.clone());
    let rightsizing = holdfast_monitor::rightsize(&name, &grants, &profile.actions, now, window);
    let credentials = profile
        .credentials
        .iter()
        .filter_map(|(c, t)| {
            at(*t)
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .map(|s| (c.clone(), s))
        })
        .collect();
    Ok(AxumJson(UsageView {
        identity: id,
        name: identity.name,
        last_used_at: profile.last_seen.and_then(at),
        first_seen_at: profile.first_seen.and_then(at),
        events: profile.events,
        denied: profile.denied,
        credentials,
        networks: profile.networks.keys().cloned().collect(),
        clients: profile.agents.keys().cloned().collect(),
        baseline_mature: profile.mature(now, &ctx.state.monitor.config),
        rightsizing,
    }))
}
