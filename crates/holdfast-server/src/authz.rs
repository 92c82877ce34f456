//! The policy set this node decides with: loaded from the store at start (the shipped default until
//! someone applies one), swapped on `PUT /v1/policy`, and refreshed from the store every few
//! seconds so that replicas converge on a version another replica applied.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use holdfast_policy::{Engine, Entities, PolicyError};
use holdfast_store::{Filter, PolicyVersionRecord, Query, Store, Table, Value, find};

use crate::error::{ApiError, ApiResult};

/// Kind of the policy-set versions in `policy_versions`.
pub const POLICIES: &str = "policies";
/// Kind of the entity-set versions (the decision point's entities).
pub const ENTITIES: &str = "entities";

/// One loaded version: its number (0 for the shipped default nobody has applied yet) and engine.
#[derive(Debug)]
pub struct Active {
    pub number: i64,
    pub sha256: String,
    pub engine: Engine,
    /// Entities the decision point (`/v1/authorize`) decides against.
    pub entities: Arc<Entities>,
    pub entities_number: i64,
}

#[derive(Debug)]
pub struct PolicyState {
    active: RwLock<Arc<Active>>,
    /// Decisions on Holdfast itself already made, by everything they depend on (policy text,
    /// principal, groups, action, every context fact): a decision is a pure function of those, so
    /// a hit is exact. Cleared when full.
    memo: std::sync::Mutex<std::collections::HashMap<String, holdfast_policy::Decision>>,
}

/// Most decisions remembered.
const MEMO_CAPACITY: usize = 10_000;

pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn engine_error(e: PolicyError) -> ApiError {
    ApiError::internal("the stored policy set no longer validates", e)
}

/// The current version of `kind`, if one was ever applied.
pub async fn current(store: &dyn Store, kind: &str) -> ApiResult<Option<PolicyVersionRecord>> {
    let q = Query::new(Table::PolicyVersions)
        .filter(Filter::Eq("kind", Value::text(kind)))
        .filter(Filter::Eq("current", Value::Int(Some(1))))
        .limit(2);
    Ok(find::<PolicyVersionRecord>(store, &q)
        .await?
        .into_iter()
        .next())
}

impl PolicyState {
    /// Loads the current policy set and entities from the store.
    pub async fn load(store: &dyn Store) -> ApiResult<Self> {
        let active = Self::read(store).await?;
        Ok(Self {
            active: RwLock::new(Arc::new(active)),
            memo: Default::default(),
        })
    }

    async fn read(store: &dyn Store) -> ApiResult<Active> {
        let policies = current(store, POLICIES).await?;
        let (number, sha256, engine) = match policies {
            Some(p) => (
                p.number,
                p.sha256,
                Engine::new(&p.text).map_err(engine_error)?,
            ),
            None => (
                0,
                sha256_hex(holdfast_policy::DEFAULT_POLICIES),
                Engine::default_policies().map_err(engine_error)?,
            ),
        };
        let (entities_number, entities) = match current(store, ENTITIES).await? {
            Some(e) => {
                let json: serde_json::Value = serde_json::from_str(&e.text)
                    .map_err(|err| ApiError::internal("the stored entities do not parse", err))?;
                (e.number, engine.entities(json).map_err(engine_error)?)
            }
            None => (
                0,
                engine
                    .entities(serde_json::json!([]))
                    .map_err(engine_error)?,
            ),
        };
        Ok(Active {
            number,
            sha256,
            engine,
            entities: Arc::new(entities),
            entities_number,
        })
    }

    /// A remembered decision for `key`.
    pub fn remembered(&self, key: &str) -> Option<holdfast_policy::Decision> {
        self.memo.lock().ok()?.get(key).cloned()
    }

    /// Remembers a decision.
    pub fn remember(&self, key: String, decision: &holdfast_policy::Decision) {
        if let Ok(mut m) = self.memo.lock() {
            if m.len() >= MEMO_CAPACITY {
                m.clear();
            }
            m.insert(key, decision.clone());
        }
    }

    pub fn current(&self) -> Arc<Active> {
        match self.active.read() {
            Ok(a) => a.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace(&self, next: Active) {
        match self.active.write() {
            Ok(mut a) => *a = Arc::new(next),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(next),
        }
    }

    /// Re-reads the store when another node applied a newer version.
    pub async fn refresh(&self, store: &dyn Store) -> ApiResult<()> {
        let now = self.current();
        let p = current(store, POLICIES).await?.map_or(0, |r| r.number);
        let e = current(store, ENTITIES).await?.map_or(0, |r| r.number);
        if p != now.number || e != now.entities_number {
            self.replace(Self::read(store).await?);
        }
        Ok(())
    }
}

/// Keeps this node's policy set in step with the store.
pub async fn refresher(state: crate::AppState) {
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        if let Err(e) = state.policy.refresh(state.store.as_ref()).await {
            tracing::error!(error = %e.message, "could not refresh the policy set");
        }
    }
}
