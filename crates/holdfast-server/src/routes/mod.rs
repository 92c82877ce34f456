//! The `/v1` routes, one module per resource, and helpers they share.

pub mod audit;
pub mod campaigns;
pub mod credentials;
pub mod entitlements;
pub mod events;
pub mod findings;
pub mod graph;
pub mod identities;
pub mod leaks;
pub mod offboardings;
pub mod owners;
pub mod policy;
pub mod report;
pub mod requests;
pub mod rotations;
pub mod secrets;
pub mod stepup;
pub mod sys;
pub mod systems;
pub mod tokens;

use holdfast_core::{Owner, System};
use holdfast_store::{Filter, Query, Record, Table, Value, find, get, get_by};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::state::Ctx;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// Fetches one page: asks for one more than the limit to know whether a next page exists.
pub async fn page<R: Record>(
    ctx: &Ctx,
    mut q: Query,
    limit: Option<u32>,
    after: Option<Uuid>,
) -> ApiResult<(Vec<R>, Option<String>)> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    q.after = after;
    q.limit = limit + 1;
    let mut items: Vec<R> = find(ctx.store(), &q).await?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|r| r.id().to_string())
    } else {
        None
    };
    Ok((items, next))
}

/// Decides `action` a second time with the tier of the identity it concerns, so policy can guard
/// management-plane identities (an identity that no longer exists adds nothing).
pub async fn require_for_identity(ctx: &Ctx, action: &str, identity: Uuid) -> ApiResult<()> {
    if let Some(i) = get::<holdfast_core::Identity>(ctx.store(), identity).await? {
        ctx.require_on(action, holdfast_policy::Target::Api, i.tier.as_str())
            .await?;
    }
    Ok(())
}

/// A record by id, or 404 naming what was looked for.
pub async fn must_get<R: Record>(ctx: &Ctx, id: Uuid) -> ApiResult<R> {
    get::<R>(ctx.store(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{} `{id}` does not exist", R::TABLE.what())))
}

/// Parses a path id, naming it on failure.
pub fn parse_id(what: &str, raw: &str) -> ApiResult<Uuid> {
    Uuid::try_parse(raw)
        .map_err(|_| ApiError::not_found(format!("{what} `{raw}` does not exist: ids are UUIDs")))
}

/// A record named by id or by its unique `name`, or 422 on `field`.
async fn by_id_or_name<R: Record>(ctx: &Ctx, field: &str, raw: &str) -> ApiResult<R> {
    let found = match Uuid::try_parse(raw) {
        Ok(id) => get::<R>(ctx.store(), id).await?,
        Err(_) => get_by::<R>(ctx.store(), "name", raw).await?,
    };
    found.ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("names {} `{raw}`, which does not exist", R::TABLE.what()),
        )
    })
}

pub async fn resolve_owner(ctx: &Ctx, field: &str, raw: &str) -> ApiResult<Owner> {
    by_id_or_name::<Owner>(ctx, field, raw).await
}

pub async fn resolve_system(ctx: &Ctx, field: &str, raw: &str) -> ApiResult<System> {
    by_id_or_name::<System>(ctx, field, raw).await
}

pub async fn resolve_systems(ctx: &Ctx, raws: &[String]) -> ApiResult<Vec<Uuid>> {
    let mut out = Vec::with_capacity(raws.len());
    for (n, raw) in raws.iter().enumerate() {
        out.push(resolve_system(ctx, &format!("systems[{n}]"), raw).await?.id);
    }
    Ok(out)
}

/// An equality filter on a text column when the value is given.
pub fn eq<T: ToString>(q: Query, column: &'static str, v: Option<T>) -> Query {
    match v {
        Some(v) => q.filter(Filter::Eq(column, Value::text(v.to_string()))),
        None => q,
    }
}

pub fn like(q: Query, column: &'static str, v: Option<String>) -> Query {
    match v {
        Some(v) if !v.is_empty() => q.filter(Filter::Like(column, v)),
        _ => q,
    }
}

pub fn table_query(t: Table) -> Query {
    Query::new(t)
}

/// Requires the optimistic-concurrency version on updates.
pub fn need_version(v: Option<i64>) -> ApiResult<i64> {
    match v {
        Some(v) if v >= 1 => Ok(v),
        Some(_) => Err(ApiError::invalid("version", "must be 1 or more")),
        None => Err(ApiError::invalid(
            "version",
            "is required: send the version you read, so a concurrent change is not overwritten",
        )),
    }
}

/// 409 when the update was based on an older version than the one stored.
pub fn check_version(what: &str, id: Uuid, stored: i64, sent: i64) -> ApiResult<()> {
    if stored == sent {
        return Ok(());
    }
    let mut e = ApiError::new(
        axum::http::StatusCode::CONFLICT,
        "stale",
        format!(
            "{what} `{id}` was changed by someone else: it is at version {stored} and the update was based on version {sent}; fetch it again and retry"
        ),
    );
    e.field = Some("version".into());
    Err(e)
}

/// A lookup by id or name that found nothing is a 404 on a path; other errors stay as they are.
pub fn missing_as_404(e: ApiError, what: &str, raw: &str) -> ApiError {
    if e.status == axum::http::StatusCode::UNPROCESSABLE_ENTITY {
        ApiError::not_found(format!("{what} `{raw}` does not exist"))
    } else {
        e
    }
}
