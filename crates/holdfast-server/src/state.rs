//! Shared server state and the per-request context every handler works through.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use holdfast_audit::{AuditEvent, Outcome, PublicKeyInfo};
use holdfast_core::{ApiToken, Identity};
use holdfast_policy::{Facts, Subject, Target};
use holdfast_store::{Change, Store};
use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::error::{ApiError, ApiResult};

/// Where time comes from; tests may pin it.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock, to whole microseconds.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(now.nanosecond() / 1000 * 1000)
            .unwrap_or(now)
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// This node's audit public key, returned by init.
    pub audit_key: PublicKeyInfo,
    /// The identity graph as last built from the store.
    pub graph: Arc<crate::discovery::GraphCache>,
    /// This node's seal state.
    pub vault: Arc<crate::vault::VaultState>,
    /// Rotators and notifications the configuration declares (the API can only name them).
    pub rotators: Arc<RotatorConfig>,
    /// The policy set every action is decided by.
    pub policy: Arc<crate::authz::PolicyState>,
    /// Token records recently read, for a short time (see `auth::TOKEN_CACHE_TTL`).
    pub tokens: Arc<crate::auth::TokenCache>,
    /// This node's key for signing grants.
    pub grants: Arc<crate::grants::GrantSigner>,
    /// Monitoring settings and the one-batch-at-a-time lock.
    pub monitor: Arc<crate::monitoring::MonitorState>,
    /// Posture settings and when findings were last recomputed.
    pub posture: Arc<crate::posture::PostureState>,
    /// Offboarding settings and its driver.
    pub offboard: Arc<crate::offboarding::OffboardState>,
    /// This node's audit signing key, which also signs offboarding receipts.
    pub signer: Arc<holdfast_audit::Signer>,
}

/// `[rotators.*]` and `[notify]` of the server's configuration.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotatorConfig {
    #[serde(default)]
    pub command: std::collections::BTreeMap<String, holdfast_rotate::CommandSpec>,
    #[serde(default)]
    pub webhook: std::collections::BTreeMap<String, holdfast_rotate::WebhookSpec>,
    /// Where reminders go (secrets due for rotation that Holdfast cannot rotate itself).
    #[serde(default)]
    pub reminders: Option<holdfast_rotate::WebhookSpec>,
    /// Where access-request notifications go (created, approved, denied).
    #[serde(default)]
    pub access_requests: Option<holdfast_rotate::WebhookSpec>,
    /// Where new alerts are posted.
    #[serde(default)]
    pub alerts: Option<holdfast_rotate::WebhookSpec>,
    /// Where access-review notices go (started, reminder, missed).
    #[serde(default)]
    pub reviews: Option<holdfast_rotate::WebhookSpec>,
    /// PostgreSQL databases grants may create logins on (`[rotators.postgres_grants.<name>]`).
    #[serde(default)]
    pub postgres_grants: std::collections::BTreeMap<String, holdfast_rotate::PostgresGrantSpec>,
}

/// Who is calling: the token that authenticated the request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token: ApiToken,
}

impl Principal {
    pub fn actor(&self) -> String {
        format!("token:{} ({})", self.token.id, self.token.name)
    }
}

/// The caller as policy sees it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: Subject,
    /// `Holdfast::Person::"alice"`, `Holdfast::Identity::"<id>"`.
    pub principal: String,
    pub name: String,
    /// `person`, or the identity's kind.
    pub kind: String,
    /// The owner's name, for an identity.
    pub owner: Option<String>,
    /// Roles and named groups.
    pub groups: Vec<String>,
    pub token_created_at: OffsetDateTime,
    pub stepped_up_at: Option<OffsetDateTime>,
}

/// Facts about the request that audit records carry.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub source: Option<String>,
}

/// The request id of work Holdfast does on its own.
pub const SYSTEM_REQUEST_ID: &str = "holdfast";

/// Everything a handler needs: state, the caller, the request's metadata.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub state: AppState,
    pub principal: Option<Principal>,
    pub meta: RequestMeta,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Ctx {
            state: state.clone(),
            principal: parts.extensions.get::<Principal>().cloned(),
            meta: request_meta(parts),
        })
    }
}

pub fn request_meta(parts: &Parts) -> RequestMeta {
    let request_id = parts
        .extensions
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let source = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    RequestMeta { request_id, source }
}

/// The id given to each request, echoed in `x-request-id` and in audit records.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl Ctx {
    pub fn now(&self) -> OffsetDateTime {
        self.state.clock.now()
    }

    pub fn store(&self) -> &dyn Store {
        self.state.store.as_ref()
    }

    fn actor(&self) -> String {
        match &self.principal {
            Some(p) => p.actor(),
            None if self.meta.request_id == SYSTEM_REQUEST_ID => "holdfast".to_string(),
            None => "anonymous".to_string(),
        }
    }

    /// A context for work Holdfast does on its own (the sweeper): audited as `holdfast`.
    pub fn system(state: &AppState) -> Self {
        Ctx {
            state: state.clone(),
            principal: None,
            meta: RequestMeta {
                request_id: SYSTEM_REQUEST_ID.to_string(),
                source: None,
            },
        }
    }

    /// An audit event for this request.
    pub fn event(
        &self,
        action: &str,
        target: Option<String>,
        outcome: Outcome,
        detail: Json,
    ) -> AuditEvent {
        AuditEvent {
            time: self.now(),
            actor: self.actor(),
            action: action.to_string(),
            target,
            outcome,
            source: self.meta.source.clone(),
            request_id: Some(self.meta.request_id.clone()),
            detail,
        }
    }

    /// Refuses (and audits the refusal) unless the policy set permits the caller `action` on
    /// Holdfast itself.
    pub async fn require(&self, action: &str) -> ApiResult<&Principal> {
        self.require_on(action, Target::Api, "").await
    }

    /// Refuses (and audits the refusal) unless the policy set permits the caller `action` on
    /// `target`; `tier` is the tier of the identity the action concerns ("" for none).
    pub async fn require_on(
        &self,
        action: &str,
        target: Target,
        tier: &str,
    ) -> ApiResult<&Principal> {
        let Some(p) = &self.principal else {
            return Err(ApiError::unauthenticated());
        };
        let caller = self.caller().await?;
        let (decision, version) = self.decide(&caller, action, &target, tier)?;
        if decision.allowed {
            return Ok(p);
        }
        self.refused(action, &target, &decision, version).await
    }

    /// Decides `action` on `target` for `caller` with the current policy set; the decision and
    /// the policy version.
    pub fn decide(
        &self,
        caller: &Caller,
        action: &str,
        target: &Target,
        tier: &str,
    ) -> ApiResult<(holdfast_policy::Decision, i64)> {
        let active = self.state.policy.current();
        let facts = self.facts(caller, tier);
        // Decisions on Holdfast itself repeat (a client asking the decision point many times a
        // second): remembered by everything they depend on, so a hit is the same answer.
        let key = matches!(target, Target::Api).then(|| {
            format!(
                "{}|{action}|{:?}|{:?}|{}|{}|{}|{}|{}|{}",
                active.sha256,
                caller.subject,
                caller.groups,
                facts.hour,
                facts.weekday,
                facts.source,
                facts.token_age_minutes,
                facts.step_up_minutes,
                facts.tier
            )
        });
        if let Some(k) = &key
            && let Some(d) = self.state.policy.remembered(k)
        {
            return Ok((d, active.number));
        }
        let decision = active
            .engine
            .authorize(&caller.subject, &caller.groups, action, target, &facts)
            .map_err(|e| ApiError::internal("the policy decision failed", e))?;
        if let Some(k) = key {
            self.state.policy.remember(k, &decision);
        }
        Ok((decision, active.number))
    }

    /// Audits a refusal and answers 403 naming the policies.
    pub async fn refused<T>(
        &self,
        action: &str,
        target: &Target,
        decision: &holdfast_policy::Decision,
        version: i64,
    ) -> ApiResult<T> {
        let resource = match target {
            Target::Api => None,
            Target::Secret(path) => Some(format!("secret:{path}")),
            Target::Request { id, .. } => Some(format!("request:{id}")),
        };
        let detail = serde_json::json!({
            "reason": "policy",
            "policy_version": version,
            "decided_by": decision.policies,
        });
        let ev = self.event(action, resource, Outcome::Denied, detail);
        if let Err(e) = self.state.store.apply(vec![], ev).await {
            tracing::error!(error = %e, "could not audit a refused request");
        }
        let why = if decision.policies.is_empty() {
            "no policy permits it".to_string()
        } else {
            format!("forbidden by {}", decision.policies.join(", "))
        };
        Err(ApiError::forbidden(format!(
            "the policy set (version {version}) does not allow `{action}` for this token: {why}"
        )))
    }

    /// Who the caller is, for policy: the identity its token authenticates as, or a person by
    /// the token's name; with its roles and groups.
    pub async fn caller(&self) -> ApiResult<Caller> {
        let Some(p) = &self.principal else {
            return Err(ApiError::unauthenticated());
        };
        let subject = self.subject(p).await?;
        let mut groups: Vec<String> = p
            .token
            .roles
            .iter()
            .map(|r| r.as_str().to_string())
            .collect();
        groups.extend(p.token.groups.iter().cloned());
        let (principal, name, kind, owner) = match &subject {
            Subject::Person { name } => (
                format!("Holdfast::Person::{name:?}"),
                name.clone(),
                "person".to_string(),
                None,
            ),
            Subject::Identity {
                id,
                name,
                kind,
                owner,
                ..
            } => (
                format!("Holdfast::Identity::{id:?}"),
                name.clone(),
                kind.clone(),
                (!owner.is_empty()).then(|| owner.clone()),
            ),
        };
        Ok(Caller {
            subject,
            principal,
            name,
            kind,
            owner,
            groups,
            token_created_at: p.token.created_at,
            stepped_up_at: p.token.stepped_up_at,
        })
    }

    /// The principal a token stands for: the identity it authenticates as, or a person by name.
    async fn subject(&self, p: &Principal) -> ApiResult<Subject> {
        let Some(id) = p.token.identity else {
            return Ok(Subject::Person {
                name: p.token.name.clone(),
            });
        };
        let identity = holdfast_store::get::<Identity>(self.store(), id)
            .await?
            .ok_or_else(|| {
                ApiError::forbidden(format!(
                    "this token authenticates as identity `{id}`, which no longer exists"
                ))
            })?;
        if identity.state != holdfast_core::LifecycleState::Active {
            return Err(ApiError::forbidden(format!(
                "this token authenticates as identity `{id}`, which is {}",
                identity.state.as_str()
            )));
        }
        let owner = match identity.owner_id {
            Some(o) => holdfast_store::get::<holdfast_core::Owner>(self.store(), o)
                .await?
                .map_or_else(String::new, |o| o.name),
            None => String::new(),
        };
        Ok(Subject::Identity {
            id: id.to_string(),
            name: identity.name,
            kind: identity.kind.as_str().to_string(),
            tier: identity.tier.as_str().to_string(),
            owner,
        })
    }

    fn facts(&self, caller: &Caller, tier: &str) -> Facts {
        let now = self.now();
        let age = (now - caller.token_created_at).whole_minutes().max(0);
        Facts {
            hour: i64::from(now.hour()),
            weekday: i64::from(now.weekday().number_from_monday()),
            source: self.meta.source.clone().unwrap_or_default(),
            token_age_minutes: age,
            // Minutes since the holder last proved a TOTP code (`POST /v1/auth/step-up`); "never"
            // until then.
            step_up_minutes: caller
                .stepped_up_at
                .map_or(holdfast_policy::NEVER_MINUTES, |t| {
                    (now - t).whole_minutes().max(0)
                }),
            tier: tier.to_string(),
            grant: None,
        }
    }

    /// [`Ctx::decide`] for an access request or break-glass, with what it asks for in the context.
    pub fn decide_grant(
        &self,
        caller: &Caller,
        action: &str,
        tier: &str,
        grant: holdfast_policy::GrantFacts,
    ) -> ApiResult<(holdfast_policy::Decision, i64)> {
        let active = self.state.policy.current();
        let mut facts = self.facts(caller, tier);
        facts.grant = Some(grant);
        let decision = active
            .engine
            .authorize(
                &caller.subject,
                &caller.groups,
                action,
                &Target::Api,
                &facts,
            )
            .map_err(|e| ApiError::internal("the policy decision failed", e))?;
        Ok((decision, active.number))
    }

    /// Commits `changes` with their audit record, in one transaction.
    pub async fn commit(
        &self,
        changes: Vec<Change>,
        action: &str,
        target: Option<String>,
        detail: Json,
    ) -> ApiResult<u64> {
        let ev = self.event(action, target, Outcome::Success, detail);
        Ok(self.state.store.apply(changes, ev).await?)
    }
}
