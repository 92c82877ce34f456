//! `/v1/tokens`: Holdfast's own API tokens (management-plane actions in the policy set).

use axum::Json as AxumJson;
use axum::extract::Path;
use axum::http::StatusCode;
use holdfast_core::{ApiToken, ValidationErrors};
use holdfast_store::{Change, Table};
use holdfast_types::{CreateTokenRequest, CreatedToken, TokenPage, TokenView};
use serde::Deserialize;
use serde_json::json;
use time::Duration;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{must_get, page, parse_id, table_query};
use crate::auth::mint;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::Ctx;

const DEFAULT_TTL: u64 = 30 * 24 * 3600;
const MAX_TTL: u64 = 365 * 24 * 3600;

#[utoipa::path(post, path = "/v1/tokens", tag = "tokens", request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedToken), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn create(
    ctx: Ctx,
    Json(req): Json<CreateTokenRequest>,
) -> ApiResult<(StatusCode, AxumJson<CreatedToken>)> {
    let creator_token = ctx.require("token.create").await?.token.clone();
    let creator = creator_token.id;
    let mut errs = ValidationErrors::default();
    match req.name.as_deref() {
        None => errs.push("name", "is required: say who or what the token is for"),
        Some(n) => holdfast_core::validate::check_handle(&mut errs, "name", n),
    }
    if req.roles.is_empty() {
        errs.push(
            "roles",
            "must list at least one of reader, writer, auditor, approver, admin",
        );
    }
    let identity = match req.identity.as_deref() {
        None => None,
        Some(raw) => match Uuid::try_parse(raw) {
            Err(_) => {
                errs.push("identity", "must be an identity id (a UUID)");
                None
            }
            Ok(id) => {
                match holdfast_store::get::<holdfast_core::Identity>(ctx.store(), id).await? {
                    None => {
                        errs.push(
                            "identity",
                            format!("names identity `{id}`, which does not exist"),
                        );
                        None
                    }
                    Some(i) if i.state != holdfast_core::LifecycleState::Active => {
                        errs.push(
                            "identity",
                            format!("identity `{id}` is {}, not active", i.state.as_str()),
                        );
                        None
                    }
                    Some(i) => Some(i.id),
                }
            }
        },
    };
    let mut groups = req.groups;
    groups.sort();
    groups.dedup();
    for (i, g) in groups.iter().enumerate() {
        holdfast_core::validate::check_handle(&mut errs, &format!("groups[{i}]"), g);
    }
    let ttl = req.ttl_seconds.unwrap_or(DEFAULT_TTL);
    if ttl == 0 || ttl > MAX_TTL {
        errs.push(
            "ttl_seconds",
            format!("must be between 1 and {MAX_TTL} (one year)"),
        );
    }
    errs.into_result()?;
    let id = Uuid::now_v7();
    let minted = mint(id)?;
    let now = ctx.now();
    let mut roles = req.roles;
    roles.sort();
    roles.dedup();
    let token = ApiToken {
        id,
        version: 1,
        name: req.name.unwrap_or_default(),
        roles,
        identity,
        groups,
        step_up_secret: None,
        stepped_up_at: None,
        step_up_last_step: 0,
        step_up_failures: 0,
        secret_hash: minted.secret_hash,
        created_by: Some(creator),
        created_at: now,
        // A token never outlives the token that made it: a just-in-time admin token cannot
        // leave a long-lived one behind.
        expires_at: Some({
            let wanted = now + Duration::seconds(i64::try_from(ttl).unwrap_or(i64::MAX));
            creator_token.expires_at.map_or(wanted, |c| wanted.min(c))
        }),
        revoked_at: None,
    };
    let detail = json!({"name": token.name, "roles": token.roles, "identity": token.identity, "groups": token.groups, "expires_at": token.expires_at.map(|t| t.unix_timestamp())});
    ctx.commit(
        vec![Change::insert(&token)?],
        "token.create",
        Some(format!("token:{id}")),
        detail,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        AxumJson(CreatedToken {
            token: minted.token,
            info: token.into(),
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TokenFilter {
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/tokens", tag = "tokens", params(TokenFilter), responses((status = 200, body = TokenPage)))]
pub async fn list(ctx: Ctx, Query(f): Query<TokenFilter>) -> ApiResult<AxumJson<TokenPage>> {
    ctx.require("token.list").await?;
    let (items, next) =
        page::<ApiToken>(&ctx, table_query(Table::Tokens), f.limit, f.after).await?;
    Ok(AxumJson(TokenPage {
        items: items.into_iter().map(Into::into).collect(),
        next,
    }))
}

#[utoipa::path(post, path = "/v1/tokens/{id}/revoke", tag = "tokens", params(("id" = Uuid, Path)),
    responses((status = 200, body = TokenView), (status = 404, body = holdfast_types::ErrorBody)))]
pub async fn revoke(ctx: Ctx, Path(raw): Path<String>) -> ApiResult<AxumJson<TokenView>> {
    ctx.require("token.revoke").await?;
    let current: ApiToken = must_get(&ctx, parse_id("token", &raw)?).await?;
    if current.revoked_at.is_some() {
        return Err(ApiError::conflict(format!(
            "token `{}` is already revoked",
            current.id
        )));
    }
    let mut next = current.clone();
    next.revoked_at = Some(ctx.now());
    next.version += 1;
    let detail = json!({"name": next.name});
    ctx.commit(
        vec![Change::update(&next)?],
        "token.revoke",
        Some(format!("token:{}", next.id)),
        detail,
    )
    .await?;
    ctx.state.tokens.forget(next.id);
    Ok(AxumJson(next.into()))
}
