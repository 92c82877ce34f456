//! `/v1/sys`: health (no auth) and first-time initialisation.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use holdfast_core::{ApiToken, Scope};
use holdfast_store::Change;
use holdfast_types::{Health, InitResponse};
use serde_json::json;
use uuid::Uuid;

use crate::auth::mint;
use crate::error::ApiResult;
use crate::state::{AppState, Ctx};

/// Liveness and whether the server has been initialised. Needs no token.
#[utoipa::path(get, path = "/v1/sys/health", tag = "sys", security(()), responses((status = 200, body = Health)))]
pub async fn health(State(state): State<AppState>) -> ApiResult<AxumJson<Health>> {
    let initialized = state.store.is_initialized().await?;
    Ok(AxumJson(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        backend: state.store.backend().into(),
        initialized,
    }))
}

/// Creates the root admin token. Works once, on a fresh store; the token is shown only here.
#[utoipa::path(post, path = "/v1/sys/init", tag = "sys", security(()),
    responses((status = 201, body = InitResponse), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn init(ctx: Ctx) -> ApiResult<(StatusCode, AxumJson<InitResponse>)> {
    let id = Uuid::now_v7();
    let minted = mint(id)?;
    let token = ApiToken {
        id,
        version: 1,
        name: "root".into(),
        scopes: vec![Scope::Admin],
        secret_hash: minted.secret_hash,
        created_by: None,
        created_at: ctx.now(),
        expires_at: None,
        revoked_at: None,
    };
    let detail = json!({"root_token_id": id, "audit_key_id": ctx.state.audit_key.key_id});
    ctx.commit(
        vec![Change::Initialize, Change::insert(&token)?],
        "sys.init",
        Some(format!("token:{id}")),
        detail,
    )
    .await?;
    tracing::info!(token_id = %id, "holdfast initialised; root token issued");
    Ok((
        StatusCode::CREATED,
        AxumJson(InitResponse {
            root_token: minted.token,
            root_token_id: id,
            audit_public_key: ctx.state.audit_key.clone(),
        }),
    ))
}
