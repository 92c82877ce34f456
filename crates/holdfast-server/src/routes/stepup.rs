//! `/v1/auth/step-up`: re-authentication for management-plane work. A token's holder enrols a
//! TOTP authenticator (RFC 6238: SHA-1, 6 digits, 30 s) once; afterwards a fresh code marks the
//! token as stepped up, and policy sees the minutes since in `context.step_up_minutes`. A code is
//! accepted once; ten wrong codes in a row lock step-up for the token.

use axum::Json as AxumJson;
use axum::http::StatusCode;
use holdfast_core::ApiToken;
use holdfast_store::Change;
use holdfast_types::{StepUpEnrolled, StepUpRequest, StepUpStatus};
use serde_json::json;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::Ctx;

const STEP: u64 = 30;
const DIGITS: usize = 6;
/// Wrong codes in a row before step-up locks.
pub const MAX_FAILURES: u32 = 10;
/// A token may enrol an authenticator only this soon after it was minted, so that a stolen
/// long-lived token cannot enrol one of its own.
pub const ENROL_WITHIN_MINUTES: i64 = 15;

fn sealed_path(token: &ApiToken) -> String {
    format!("sys/token-step-up/{}", token.id)
}

fn totp(secret: Vec<u8>) -> ApiResult<TOTP> {
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP, secret)
        .map_err(|e| ApiError::internal("the step-up secret is unusable", e))
}

async fn current_token(ctx: &Ctx) -> ApiResult<ApiToken> {
    let p = ctx
        .principal
        .as_ref()
        .ok_or_else(ApiError::unauthenticated)?;
    holdfast_store::get::<ApiToken>(ctx.store(), p.token.id)
        .await?
        .ok_or_else(ApiError::unauthenticated)
}

/// Counts one attempt (refusing once the token is locked) and returns the token as stored after it.
async fn reserve_attempt(ctx: &Ctx) -> ApiResult<ApiToken> {
    let mut last = None;
    for _ in 0..5 {
        let mut token = current_token(ctx).await?;
        if token.step_up_failures >= MAX_FAILURES {
            return Err(ApiError::forbidden(
                "step-up is locked for this token after too many wrong codes; mint a new token",
            ));
        }
        token.step_up_failures += 1;
        token.version += 1;
        let ev = ctx.event(
            "auth.step_up_attempt",
            Some(format!("token:{}", token.id)),
            holdfast_audit::Outcome::Success,
            json!({"name": token.name, "attempt": token.step_up_failures}),
        );
        match ctx.store().apply(vec![Change::update(&token)?], ev).await {
            Ok(_) => return Ok(token),
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or_else(
        || ApiError::conflict("too many step-up attempts at once; try again"),
        Into::into,
    ))
}

#[utoipa::path(post, path = "/v1/auth/step-up/enroll", tag = "auth",
    responses((status = 201, body = StepUpEnrolled), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn enroll(ctx: Ctx) -> ApiResult<(StatusCode, AxumJson<StepUpEnrolled>)> {
    ctx.require("auth.enroll").await?;
    let mut token = current_token(&ctx).await?;
    if token.step_up_secret.is_some() {
        return Err(ApiError::conflict(
            "this token already has an authenticator; mint a new token to enrol another",
        ));
    }
    if (ctx.now() - token.created_at).whole_minutes() >= ENROL_WITHIN_MINUTES {
        return Err(ApiError::forbidden(format!(
            "an authenticator is enrolled within {ENROL_WITHIN_MINUTES} minutes of minting a token; mint a new token and enrol it at once"
        )));
    }
    let keyring = ctx.state.vault.current_keyring(ctx.store()).await?;
    let mut secret = zeroize::Zeroizing::new(vec![0u8; 20]);
    getrandom::fill(secret.as_mut_slice())
        .map_err(|e| ApiError::internal("the OS random source failed", e))?;
    let envelope = keyring
        .encrypt(&sealed_path(&token), 1, &secret)
        .map_err(|e| ApiError::internal("sealing the step-up secret", e))?;
    let t = totp(secret.to_vec())?;
    let b32 = t.get_secret_base32();
    token.step_up_secret = Some(envelope.to_string());
    token.version += 1;
    ctx.commit(
        vec![Change::update(&token)?],
        "auth.step_up_enrolled",
        Some(format!("token:{}", token.id)),
        json!({"name": token.name}),
    )
    .await?;
    ctx.state.tokens.forget(token.id);
    let uri = format!(
        "otpauth://totp/Holdfast:{name}?secret={b32}&issuer=Holdfast&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        name = token.name
    );
    Ok((
        StatusCode::CREATED,
        AxumJson(StepUpEnrolled {
            secret: b32,
            otpauth_uri: uri,
        }),
    ))
}

#[utoipa::path(post, path = "/v1/auth/step-up", tag = "auth", request_body = StepUpRequest,
    responses((status = 200, body = StepUpStatus), (status = 403, body = holdfast_types::ErrorBody)))]
pub async fn step_up(
    ctx: Ctx,
    Json(req): Json<StepUpRequest>,
) -> ApiResult<AxumJson<StepUpStatus>> {
    ctx.require("auth.step_up").await?;
    let code = req
        .code
        .filter(|c| c.len() == DIGITS && c.chars().all(|d| d.is_ascii_digit()))
        .ok_or_else(|| ApiError::invalid("code", format!("must be the {DIGITS}-digit code")))?;
    // Every attempt is counted before the code is looked at, so parallel guesses cannot slip
    // past the lockout: the count is a version-checked update, retried on a concurrent one.
    let mut token = reserve_attempt(&ctx).await?;
    let Some(sealed) = token.step_up_secret.clone() else {
        return Err(ApiError::conflict(
            "this token has no authenticator; enrol first (POST /v1/auth/step-up/enroll)",
        ));
    };
    let keyring = ctx.state.vault.current_keyring(ctx.store()).await?;
    let envelope: holdfast_vault::Envelope = sealed
        .parse()
        .map_err(|e| ApiError::internal("the sealed step-up secret is damaged", e))?;
    let secret = keyring
        .decrypt(&sealed_path(&token), 1, &envelope)
        .map_err(|e| ApiError::internal("opening the step-up secret", e))?;
    let t = totp(secret.to_vec())?;
    let now = ctx.now();
    let current = u64::try_from(now.unix_timestamp()).unwrap_or_default() / STEP;
    // The previous, current and next step, each at most once.
    let matched = [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .filter(|step| *step > token.step_up_last_step)
        .find(|step| bool::from(t.generate(step * STEP).as_bytes().ct_eq(code.as_bytes())));
    token.version += 1;
    match matched {
        Some(step) => {
            token.step_up_last_step = step;
            token.step_up_failures = 0;
            token.stepped_up_at = Some(now);
            ctx.commit(
                vec![Change::update(&token)?],
                "auth.step_up",
                Some(format!("token:{}", token.id)),
                json!({"name": token.name}),
            )
            .await?;
            ctx.state.tokens.forget(token.id);
            Ok(AxumJson(StepUpStatus { stepped_up_at: now }))
        }
        None => {
            let ev = ctx.event(
                "auth.step_up",
                Some(format!("token:{}", token.id)),
                holdfast_audit::Outcome::Denied,
                json!({"name": token.name, "failures": token.step_up_failures}),
            );
            ctx.store().apply(vec![], ev).await?;
            Err(ApiError::forbidden(
                "the code is wrong, or was already used",
            ))
        }
    }
}
