//! Bearer-token authentication for every `/v1` route but health (and init before initialisation).
//!
//! A token reads `hf_<token id>_<secret>`. Only SHA-256 of the secret is stored; the comparison is
//! constant-time. Every refusal is appended to the audit log.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use holdfast_audit::Outcome;
use holdfast_core::ApiToken;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::{AppState, Ctx, Principal, request_meta};

const PREFIX: &str = "hf_";

/// How long a node trusts a token record it read from the store. Revoking on this node forgets it
/// at once; another node's revocation takes effect here within this time.
pub const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);
const TOKEN_CACHE_MAX: usize = 10_000;

/// Token records recently read from the store, so that a busy client does not cost a store read
/// per request. The secret is still checked against the hash on every request.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: std::sync::Mutex<std::collections::HashMap<Uuid, (ApiToken, std::time::Instant)>>,
}

impl TokenCache {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<Uuid, (ApiToken, std::time::Instant)>>
    {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn get(&self, id: Uuid) -> Option<ApiToken> {
        let entries = self.lock();
        entries
            .get(&id)
            .filter(|(_, at)| at.elapsed() < TOKEN_CACHE_TTL)
            .map(|(t, _)| t.clone())
    }

    pub fn put(&self, token: ApiToken) {
        let mut entries = self.lock();
        if entries.len() >= TOKEN_CACHE_MAX {
            entries.retain(|_, (_, at)| at.elapsed() < TOKEN_CACHE_TTL);
            if entries.len() >= TOKEN_CACHE_MAX {
                entries.clear();
            }
        }
        entries.insert(token.id, (token, std::time::Instant::now()));
    }

    /// Forgets a token (it was revoked or changed on this node).
    pub fn forget(&self, id: Uuid) {
        self.lock().remove(&id);
    }
}

/// A freshly minted token: the string to hand out once, and the hash to keep.
#[derive(Debug)]
pub struct Minted {
    pub token: String,
    pub secret_hash: String,
}

/// Mints a token string for `id` from 32 bytes of OS randomness.
pub fn mint(id: Uuid) -> Result<Minted, ApiError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|e| ApiError::internal("the OS random source failed", e))?;
    let secret_hex = hex::encode(secret);
    let secret_hash = hex::encode(Sha256::digest(secret_hex.as_bytes()));
    Ok(Minted {
        token: format!("{PREFIX}{}_{secret_hex}", id.simple()),
        secret_hash,
    })
}

/// Splits a presented token into its id and secret, if it has the right shape.
fn parse(presented: &str) -> Option<(Uuid, &str)> {
    let rest = presented.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if secret.len() != 64 {
        return None;
    }
    Some((Uuid::try_parse(id).ok()?, secret))
}

fn hash_matches(token: &ApiToken, secret: &str) -> bool {
    let presented = hex::encode(Sha256::digest(secret.as_bytes()));
    presented
        .as_bytes()
        .ct_eq(token.secret_hash.as_bytes())
        .into()
}

/// Why a request was not authenticated; recorded in the audit log, never the token itself.
fn refusal(header: Option<&str>) -> &'static str {
    match header {
        None => "no Authorization header",
        Some(h) if !h.starts_with("Bearer ") => "the Authorization header is not a bearer token",
        Some(_) => "unknown, revoked, expired or malformed token",
    }
}

pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    // Nested under /v1, so the router sees the path without that prefix.
    let path = req.uri().path().to_string();
    let open = path == "/sys/health"
        || (path == "/sys/init" && matches!(state.store.is_initialized().await, Ok(false)));
    if open {
        next.run(req).await
    } else {
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match lookup(&state, header.as_deref()).await {
            Ok(Some(token)) => {
                req.extensions_mut().insert(Principal { token });
                next.run(req).await
            }
            Ok(None) => {
                let (parts, _) = req.into_parts();
                let ctx = Ctx {
                    state: state.clone(),
                    principal: None,
                    meta: request_meta(&parts),
                };
                let detail = serde_json::json!({
                    "method": parts.method.as_str(),
                    "path": format!("/v1{path}"),
                    "reason": refusal(header.as_deref()),
                });
                let ev = ctx.event("auth.denied", None, Outcome::Denied, detail);
                if let Err(e) = state.store.apply(vec![], ev).await {
                    tracing::error!(error = %e, "could not audit a refused request");
                }
                ApiError::unauthenticated().into_response()
            }
            Err(e) => e.into_response(),
        }
    }
}

async fn lookup(state: &AppState, header: Option<&str>) -> Result<Option<ApiToken>, ApiError> {
    let Some(presented) = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return Ok(None);
    };
    let Some((id, secret)) = parse(presented) else {
        return Ok(None);
    };
    let token = match state.tokens.get(id) {
        Some(t) => t,
        None => {
            let Some(t) = holdfast_store::get::<ApiToken>(state.store.as_ref(), id).await? else {
                return Ok(None);
            };
            state.tokens.put(t.clone());
            t
        }
    };
    if hash_matches(&token, secret) && token.is_live(state.clock.now()) {
        Ok(Some(token))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_and_match_only_their_hash() {
        let id = Uuid::now_v7();
        let m = mint(id).unwrap();
        let (pid, secret) = parse(&m.token).unwrap();
        assert_eq!(pid, id);
        let tok = ApiToken {
            id,
            version: 1,
            name: "t".into(),
            roles: vec![],
            identity: None,
            groups: vec![],
            step_up_secret: None,
            stepped_up_at: None,
            step_up_last_step: 0,
            step_up_failures: 0,
            secret_hash: m.secret_hash.clone(),
            created_by: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            expires_at: None,
            revoked_at: None,
        };
        assert!(hash_matches(&tok, secret));
        let other = mint(id).unwrap();
        assert!(!hash_matches(&tok, parse(&other.token).unwrap().1));
        for bad in [
            "",
            "hf_",
            "hf_nothex_00",
            &m.token[..m.token.len() - 1],
            &m.token.replace("hf_", "xx_"),
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
