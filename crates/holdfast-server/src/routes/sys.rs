//! `/v1/sys`: health (no auth), first-time initialisation (the root token, the vault's root key
//! and its shares), unseal and seal.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use holdfast_core::{ApiToken, Role, SealMode, VaultConfig};
use holdfast_store::Change;
use holdfast_types::{
    Health, InitRequest, InitResponse, KeyringRotated, RekeyStatus, SealStatusView, UnsealRequest,
};
use holdfast_vault::{Keyring, RootKey, Share};
use serde_json::json;
use uuid::Uuid;

use crate::auth::mint;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::{AppState, Ctx};
use crate::vault::{VAULT_ID, write_key_file};

async fn vault_config(state: &AppState) -> ApiResult<Option<VaultConfig>> {
    Ok(holdfast_store::get(state.store.as_ref(), VAULT_ID).await?)
}

/// Liveness, whether the server has been initialised, and whether its vault is sealed. Needs no
/// token.
#[utoipa::path(get, path = "/v1/sys/health", tag = "sys", security(()), responses((status = 200, body = Health)))]
pub async fn health(State(state): State<AppState>) -> ApiResult<AxumJson<Health>> {
    let initialized = state.store.is_initialized().await?;
    let config = vault_config(&state).await?;
    let status = state.vault.status(config.as_ref());
    Ok(AxumJson(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        backend: state.store.backend().into(),
        initialized,
        sealed: status.sealed,
        unseal_progress: status.progress,
        unseal_threshold: status.threshold,
    }))
}

/// Creates the root admin token and the vault's root key — split into shares, or written to the
/// server's key file — with the keyring it seals. Works once, on a fresh store; the token and the
/// shares are shown only here. The vault is unsealed right after.
#[utoipa::path(post, path = "/v1/sys/init", tag = "sys", security(()), request_body = InitRequest,
    responses((status = 201, body = InitResponse), (status = 409, body = holdfast_types::ErrorBody)))]
pub async fn init(
    ctx: Ctx,
    State(state): State<AppState>,
    Json(req): Json<InitRequest>,
) -> ApiResult<(StatusCode, AxumJson<InitResponse>)> {
    let now = ctx.now();
    let key_file = state.vault.key_file.clone();
    let mode = match (&req.shares, &req.threshold, &key_file) {
        (None, None, Some(_)) => SealMode::KeyFile,
        _ => SealMode::Shamir,
    };
    let (shares, threshold) = match mode {
        SealMode::KeyFile => (1, 1),
        SealMode::Shamir => (req.shares.unwrap_or(5), req.threshold.unwrap_or(3)),
    };
    if mode == SealMode::Shamir {
        if shares < 2 {
            return Err(ApiError::invalid(
                "shares",
                "must be at least 2 (or start the server with a key file)",
            ));
        }
        if threshold < 2 || threshold > shares {
            return Err(ApiError::invalid(
                "threshold",
                format!("must be between 2 and the number of shares ({shares})"),
            ));
        }
    }
    if state.store.is_initialized().await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_initialized",
            "holdfast is already initialised",
        ));
    }
    let internal = |e: holdfast_vault::VaultError| ApiError::internal("creating the vault keys", e);
    let root = RootKey::generate().map_err(internal)?;
    let created = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let keyring = Keyring::new(&created).map_err(internal)?;
    let sealed = keyring.seal(&root).map_err(internal)?;
    let share_texts: Vec<String> = match mode {
        SealMode::Shamir => root
            .split(shares, threshold)
            .map_err(internal)?
            .iter()
            .map(|s| s.to_text().to_string())
            .collect(),
        SealMode::KeyFile => Vec::new(),
    };
    let config_nonce = sealed.nonce.clone();
    let config = VaultConfig {
        id: VAULT_ID,
        version: 1,
        mode,
        shares,
        threshold,
        keyring_nonce: sealed.nonce,
        keyring_ciphertext: sealed.ciphertext,
        created_at: now,
        updated_at: now,
        pending: None,
    };
    let id = Uuid::now_v7();
    let minted = mint(id)?;
    let token = ApiToken {
        id,
        version: 1,
        name: "root".into(),
        roles: vec![Role::Admin],
        identity: None,
        groups: vec![],
        step_up_secret: None,
        stepped_up_at: None,
        step_up_last_step: 0,
        step_up_failures: 0,
        secret_hash: minted.secret_hash,
        created_by: None,
        created_at: now,
        expires_at: None,
        revoked_at: None,
    };
    if let (SealMode::KeyFile, Some(path)) = (mode, &key_file) {
        write_key_file(path, &root).map_err(|e| ApiError::internal("writing the key file", e))?;
    }
    let detail = json!({
        "root_token_id": id,
        "audit_key_id": ctx.state.audit_key.key_id,
        "seal_mode": mode,
        "shares": shares,
        "threshold": threshold,
    });
    let committed = ctx
        .commit(
            vec![
                Change::Initialize,
                Change::insert(&token)?,
                Change::insert(&config)?,
            ],
            "sys.init",
            Some(format!("token:{id}")),
            detail,
        )
        .await;
    if let Err(e) = committed {
        // Remove the key file only if the commit surely did not land: a lost answer from the
        // database must not cost the only copy of the root key.
        if let (SealMode::KeyFile, Some(path)) = (mode, &key_file)
            && matches!(vault_config(&state).await, Ok(None))
        {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    state.vault.set_open(root, keyring, &config_nonce);
    tracing::info!(token_id = %id, seal_mode = mode.as_str(), "holdfast initialised; root token issued");
    Ok((
        StatusCode::CREATED,
        AxumJson(InitResponse {
            root_token: minted.token,
            root_token_id: id,
            audit_public_key: ctx.state.audit_key.clone(),
            seal_mode: mode,
            unseal_shares: share_texts,
            unseal_threshold: threshold,
        }),
    ))
}

/// Gives one unseal key share. Any authenticated caller may (share holders need a token of any
/// scope); every attempt is audited, the share never.
#[utoipa::path(post, path = "/v1/sys/unseal", tag = "sys", request_body = UnsealRequest,
    responses((status = 200, body = SealStatusView), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn unseal(
    ctx: Ctx,
    State(state): State<AppState>,
    Json(req): Json<UnsealRequest>,
) -> ApiResult<AxumJson<SealStatusView>> {
    ctx.require("sys.unseal").await?;
    let config = vault_config(&state).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "not_initialized",
            "holdfast is not initialised",
        )
    })?;
    let text = req
        .share
        .ok_or_else(|| ApiError::invalid("share", "is required"))?;
    let text = zeroize::Zeroizing::new(text);
    let share: Share = match text.parse() {
        Ok(s) => s,
        Err(e) => {
            let e: holdfast_vault::VaultError = e;
            let ev = ctx.event(
                "sys.unseal",
                None,
                holdfast_audit::Outcome::Denied,
                json!({"reason": "not a key share"}),
            );
            ctx.state.store.apply(vec![], ev).await?;
            return Err(ApiError::invalid("share", e.to_string()));
        }
    };
    let index = share.index();
    let result = state.vault.submit(&config, share);
    let (outcome, detail) = match &result {
        Ok(s) => (
            holdfast_audit::Outcome::Success,
            json!({"share_index": index, "sealed": s.sealed, "progress": s.progress, "threshold": s.threshold}),
        ),
        Err(e) => (
            holdfast_audit::Outcome::Denied,
            json!({"share_index": index, "reason": e.message}),
        ),
    };
    let ev = ctx.event("sys.unseal", None, outcome, detail);
    ctx.state.store.apply(vec![], ev).await?;
    let s = result?;
    if !s.sealed {
        tracing::info!("vault unsealed");
    }
    Ok(AxumJson(SealStatusView {
        sealed: s.sealed,
        progress: s.progress,
        threshold: s.threshold,
    }))
}

/// Seals this server's vault: its keys leave memory.
#[utoipa::path(post, path = "/v1/sys/seal", tag = "sys",
    responses((status = 200, body = SealStatusView), (status = 403, body = holdfast_types::ErrorBody)))]
pub async fn seal(ctx: Ctx, State(state): State<AppState>) -> ApiResult<AxumJson<SealStatusView>> {
    ctx.require("sys.seal").await?;
    // Seal first: an unreachable store must not keep the keys in memory. The audit record
    // follows; if it cannot be written the seal still stands and the error says so.
    state.vault.seal();
    let config = vault_config(&state).await.ok().flatten();
    ctx.commit(vec![], "sys.seal", None, json!({})).await?;
    let s = state.vault.status(config.as_ref());
    tracing::warn!("vault sealed");
    Ok(AxumJson(SealStatusView {
        sealed: s.sealed,
        progress: s.progress,
        threshold: s.threshold,
    }))
}

async fn require_config(state: &AppState) -> ApiResult<VaultConfig> {
    vault_config(state).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "not_initialized",
            "holdfast is not initialised",
        )
    })
}

/// Adds a data key that new writes use, then re-encrypts every stored version under it (older
/// keys stay in the keyring, so anything not yet moved still reads).
#[utoipa::path(post, path = "/v1/sys/rotate-keyring", tag = "sys",
    responses((status = 200, body = KeyringRotated), (status = 503, body = holdfast_types::ErrorBody)))]
pub async fn rotate_keyring(
    ctx: Ctx,
    State(state): State<AppState>,
) -> ApiResult<AxumJson<KeyringRotated>> {
    ctx.require("sys.rotate_keyring").await?;
    let config = require_config(&state).await?;
    let generation = state.vault.generation();
    let root = state.vault.root()?;
    let mut keyring = state.vault.current_keyring(ctx.store()).await?;
    let now = ctx.now();
    let created = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let internal = |e: holdfast_vault::VaultError| ApiError::internal("rotating the keyring", e);
    let active = keyring.rotate(&created).map_err(internal)?;
    let sealed = keyring.seal(&root).map_err(internal)?;
    let mut next = config.clone();
    next.version += 1;
    next.keyring_nonce = sealed.nonce.clone();
    next.keyring_ciphertext = sealed.ciphertext;
    next.updated_at = now;
    ctx.commit(
        vec![Change::update(&next)?],
        "sys.rotate_keyring",
        None,
        json!({"active_key": active}),
    )
    .await?;
    state
        .vault
        .replace_keyring(keyring.clone(), &sealed.nonce, generation);
    // Rewrap: one transaction (and audit record) per secret.
    let (mut rewrapped, mut failed) = (0u64, 0u64);
    let secrets: Vec<holdfast_core::Secret> =
        holdfast_store::find_all(ctx.store(), vec![], 500).await?;
    for secret in secrets {
        let mut next = secret.clone();
        let mut moved = Vec::new();
        for v in next
            .versions
            .iter_mut()
            .filter(|v| !v.destroyed && !v.ciphertext.is_empty())
        {
            let Ok(env) = v.ciphertext.parse::<holdfast_vault::Envelope>() else {
                failed += 1;
                continue;
            };
            if env.key_id == active {
                continue;
            }
            match keyring.rewrap(&secret.path, v.version, &env) {
                Ok(new) => {
                    v.ciphertext = new.to_string();
                    moved.push(v.version);
                }
                Err(_) => failed += 1,
            }
        }
        if moved.is_empty() {
            continue;
        }
        next.version += 1;
        let n = moved.len() as u64;
        let detail = json!({"path": secret.path, "versions": moved, "key_id": active});
        match ctx
            .commit(
                vec![Change::update(&next)?],
                "secret.rewrap",
                Some(format!("secret:{}", secret.path)),
                detail,
            )
            .await
        {
            Ok(_) => rewrapped += n,
            Err(e) if e.status == StatusCode::CONFLICT => failed += n,
            Err(e) => return Err(e),
        }
    }
    tracing::info!(active_key = active, rewrapped, failed, "keyring rotated");
    Ok(AxumJson(KeyringRotated {
        active_key: active,
        rewrapped,
        failed,
    }))
}

/// A rekey in progress on this node.
#[derive(Debug)]
pub enum RekeyAttempt {
    /// Collecting the current shares that authorise it.
    Authorize {
        unsealer: holdfast_vault::Unsealer,
        shares: u8,
        threshold: u8,
    },
    /// The new shares were handed out; collecting them back to prove them.
    Verify { unsealer: holdfast_vault::Unsealer },
}

fn rekey_status(
    phase: &str,
    progress: u8,
    threshold: u8,
    new_shares: Vec<String>,
) -> AxumJson<RekeyStatus> {
    AxumJson(RekeyStatus {
        phase: phase.into(),
        progress,
        threshold,
        new_shares,
    })
}

/// Starts a rekey: a new root key and new shares. Nothing changes until a quorum of the current
/// shares authorises it (`/v1/sys/rekey/authorize`) and the new shares are proven
/// (`/v1/sys/rekey/verify`); the current shares keep working until then. Starting again abandons
/// an attempt.
#[utoipa::path(post, path = "/v1/sys/rekey", tag = "sys", request_body = InitRequest,
    responses((status = 200, body = RekeyStatus), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn rekey_start(
    ctx: Ctx,
    State(state): State<AppState>,
    Json(req): Json<InitRequest>,
) -> ApiResult<AxumJson<RekeyStatus>> {
    ctx.require("sys.rekey").await?;
    let config = require_config(&state).await?;
    if config.mode != SealMode::Shamir {
        return Err(ApiError::invalid(
            "shares",
            "this vault unseals from a key file; rekeying it is not supported",
        ));
    }
    state.vault.current_keyring(ctx.store()).await?;
    let shares = req.shares.unwrap_or(config.shares);
    let threshold = req.threshold.unwrap_or(config.threshold);
    if shares < 2 {
        return Err(ApiError::invalid("shares", "must be at least 2"));
    }
    if threshold < 2 || threshold > shares {
        return Err(ApiError::invalid(
            "threshold",
            format!("must be between 2 and the number of shares ({shares})"),
        ));
    }
    ctx.commit(
        vec![],
        "sys.rekey",
        None,
        json!({"phase": "start", "shares": shares, "threshold": threshold}),
    )
    .await?;
    state.vault.set_rekey(Some(RekeyAttempt::Authorize {
        unsealer: holdfast_vault::Unsealer::new(config.threshold),
        shares,
        threshold,
    }));
    Ok(rekey_status("authorize", 0, config.threshold, Vec::new()))
}

/// One current share authorising the rekey. At the threshold the new root key is made, the keyring
/// sealed under it is stored as pending, and the new shares are returned — only in this answer.
#[utoipa::path(post, path = "/v1/sys/rekey/authorize", tag = "sys", request_body = UnsealRequest,
    responses((status = 200, body = RekeyStatus), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn rekey_authorize(
    ctx: Ctx,
    State(state): State<AppState>,
    Json(req): Json<UnsealRequest>,
) -> ApiResult<AxumJson<RekeyStatus>> {
    ctx.require("sys.rekey").await?;
    let config = require_config(&state).await?;
    let text = zeroize::Zeroizing::new(
        req.share
            .ok_or_else(|| ApiError::invalid("share", "is required"))?,
    );
    let share: Share = text
        .parse()
        .map_err(|e: holdfast_vault::VaultError| ApiError::invalid("share", e.to_string()))?;
    let keyring = state.vault.current_keyring(ctx.store()).await?;
    let outcome = state.vault.with_rekey(|attempt| match attempt {
        Some(RekeyAttempt::Authorize {
            unsealer,
            shares,
            threshold,
        }) => {
            let (s, t) = (*shares, *threshold);
            match unsealer.submit(share, &crate::vault::sealed_keyring(&config)) {
                Ok(holdfast_vault::Progress::NeedMore { have, threshold }) => {
                    Ok(Err((have, threshold)))
                }
                Ok(holdfast_vault::Progress::Unsealed { .. }) => Ok(Ok((s, t))),
                Err(e) => Err(ApiError::invalid("share", e.to_string())),
            }
        }
        _ => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "no rekey is waiting for authorisation: start one with `operator rekey`",
        )),
    })?;
    let (shares, threshold) = match outcome {
        Err((have, need)) => return Ok(rekey_status("authorize", have, need, Vec::new())),
        Ok(x) => x,
    };
    let internal = |e: holdfast_vault::VaultError| ApiError::internal("rekeying the vault", e);
    let root = RootKey::generate().map_err(internal)?;
    let sealed = keyring.seal(&root).map_err(internal)?;
    let texts: Vec<String> = root
        .split(shares, threshold)
        .map_err(internal)?
        .iter()
        .map(|s| s.to_text().to_string())
        .collect();
    let mut next = config.clone();
    next.version += 1;
    next.pending = Some(holdfast_core::PendingRekey {
        shares,
        threshold,
        keyring_nonce: sealed.nonce,
        keyring_ciphertext: sealed.ciphertext,
    });
    next.updated_at = ctx.now();
    ctx.commit(
        vec![Change::update(&next)?],
        "sys.rekey",
        None,
        json!({"phase": "pending", "shares": shares, "threshold": threshold}),
    )
    .await?;
    state.vault.set_rekey(Some(RekeyAttempt::Verify {
        unsealer: holdfast_vault::Unsealer::new(threshold),
    }));
    Ok(rekey_status("verify", 0, threshold, texts))
}

/// One of the new shares, proving it. At the new threshold the new key replaces the current one;
/// from then on only the new shares unseal.
#[utoipa::path(post, path = "/v1/sys/rekey/verify", tag = "sys", request_body = UnsealRequest,
    responses((status = 200, body = RekeyStatus), (status = 422, body = holdfast_types::ErrorBody)))]
pub async fn rekey_verify(
    ctx: Ctx,
    State(state): State<AppState>,
    Json(req): Json<UnsealRequest>,
) -> ApiResult<AxumJson<RekeyStatus>> {
    ctx.require("sys.rekey").await?;
    let config = require_config(&state).await?;
    let pending = config.pending.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "no rekey is waiting for verification",
        )
    })?;
    let text = zeroize::Zeroizing::new(
        req.share
            .ok_or_else(|| ApiError::invalid("share", "is required"))?,
    );
    let share: Share = text
        .parse()
        .map_err(|e: holdfast_vault::VaultError| ApiError::invalid("share", e.to_string()))?;
    let sealed = holdfast_vault::SealedKeyring {
        nonce: pending.keyring_nonce.clone(),
        ciphertext: pending.keyring_ciphertext.clone(),
    };
    let outcome = state.vault.with_rekey(|attempt| match attempt {
        Some(RekeyAttempt::Verify { unsealer }) => match unsealer.submit(share, &sealed) {
            Ok(holdfast_vault::Progress::NeedMore { have, threshold }) => {
                Ok(Err((have, threshold)))
            }
            Ok(holdfast_vault::Progress::Unsealed { root, keyring }) => Ok(Ok((root, keyring))),
            Err(e) => Err(ApiError::invalid("share", e.to_string())),
        },
        _ => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "this server is not verifying a rekey",
        )),
    })?;
    let (root, keyring) = match outcome {
        Err((have, need)) => return Ok(rekey_status("verify", have, need, Vec::new())),
        Ok(x) => x,
    };
    let generation = state.vault.generation();
    let mut next = config.clone();
    next.version += 1;
    next.shares = pending.shares;
    next.threshold = pending.threshold;
    next.keyring_nonce = pending.keyring_nonce.clone();
    next.keyring_ciphertext = pending.keyring_ciphertext.clone();
    next.pending = None;
    next.updated_at = ctx.now();
    ctx.commit(
        vec![Change::update(&next)?],
        "sys.rekey",
        None,
        json!({"phase": "done", "shares": pending.shares, "threshold": pending.threshold}),
    )
    .await?;
    state.vault.set_rekey(None);
    state
        .vault
        .replace_root(root, keyring, &pending.keyring_nonce, generation);
    tracing::warn!("vault rekeyed: the old shares no longer unseal it");
    Ok(rekey_status(
        "done",
        pending.threshold,
        pending.threshold,
        Vec::new(),
    ))
}
