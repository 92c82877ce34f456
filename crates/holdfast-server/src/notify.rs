//! Access-request notifications: a signed JSON POST to the webhook `[rotators.access_requests]`
//! names, for each step approvers should hear about. Best effort and off the request path: the
//! audit record is the record.

use std::time::Duration;

use holdfast_core::AccessRequest;

use crate::AppState;

/// Posts `event` about `request` in the background (no credential is ever in it).
pub fn request_event(state: &AppState, event: &str, request: &AccessRequest) {
    let Some(spec) = state.rotators.access_requests.clone() else {
        return;
    };
    let body = serde_json::json!({
        "kind": event,
        "request": request.id,
        "requester": request.requester,
        "on_behalf_of": request.on_behalf_of,
        "grantee": request.grantee,
        "tier": request.tier,
        "task": request.task,
        "reason": request.reason,
        "audience": request.audience,
        "scopes": request.scopes,
        "ttl_seconds": request.ttl_seconds,
        "state": request.state,
        "approvals": request.approvals.len(),
        "approvals_needed": request.approvals_needed,
        "approver_groups": request.approver_groups,
    });
    post(state, spec, body, "access-request webhook");
}

/// Posts `body` to `spec` in the background, signed with the key its `signing_secret` names in
/// the vault; failures are logged (as `what`), never raised: the audit record is the record.
pub fn post(
    state: &AppState,
    spec: holdfast_rotate::WebhookSpec,
    body: serde_json::Value,
    what: &'static str,
) {
    let state = state.clone();
    tokio::spawn(async move {
        let Ok(keyring) = state.vault.current_keyring(state.store.as_ref()).await else {
            tracing::warn!("{what}: the vault is sealed, nothing sent");
            return;
        };
        let Ok(key) =
            crate::rotation::read_value(&state, &keyring, &spec.signing_secret, None).await
        else {
            tracing::warn!("{what}: its signing secret cannot be read");
            return;
        };
        let timeout = Duration::from_secs(spec.timeout_seconds.unwrap_or(10));
        if let Err(e) =
            holdfast_rotate::post_signed(&spec.url, key.as_bytes(), &body, timeout).await
        {
            tracing::warn!(error = %e, "{what}");
        }
    });
}
