//! Holdfast's storage contract.
//!
//! Every state change goes through [`Store::apply`]: a list of [`Change`]s and the one
//! [`AuditEvent`] that records them, written in one transaction. If the audit record cannot be
//! written, nothing is (fail closed). Records are kept as JSON documents with a few indexed columns
//! (see [`Table`]); each backend turns [`Change`]s and [`Query`]s into its own SQL. The
//! [`conformance`] suite holds every backend to the same behaviour.

pub mod conformance;
mod error;
mod record;
pub mod schema;

use async_trait::async_trait;
use holdfast_audit::{
    AuditEvent, ChainHead, Checkpoint, PublicKeyInfo, SignedHead, Signer, StoredRecord,
};
use uuid::Uuid;

pub use error::StoreError;
pub use record::{
    Change, Filter, GrantKeyRecord, GraphEdgeRecord, GraphNodeRecord, PolicyVersionRecord, Query,
    Record, Row, Table, Value, find, find_all, get, get_by, of_identity,
};

/// A storage backend. Implementations are cheap to share (`Arc<dyn Store>`) and safe to use from
/// several tasks and several processes at once.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Applies `changes` and appends `event` to the audit log in one transaction: all of it is
    /// committed, or none. Returns the audit record's sequence number.
    async fn apply(&self, changes: Vec<Change>, event: AuditEvent) -> Result<u64, StoreError>;

    /// One record's JSON document.
    async fn get_doc(&self, table: Table, id: Uuid) -> Result<Option<String>, StoreError>;

    /// JSON documents matching a query, in id order.
    async fn find_docs(&self, query: &Query) -> Result<Vec<String>, StoreError>;

    /// Whether `holdfast operator init` has run.
    async fn is_initialized(&self) -> Result<bool, StoreError>;

    /// Up to `limit` audit records with `seq > after`, ascending.
    async fn audit_records(&self, after: u64, limit: u32) -> Result<Vec<StoredRecord>, StoreError>;

    /// Up to `limit` newest audit records, ascending.
    async fn audit_tail(&self, limit: u32) -> Result<Vec<StoredRecord>, StoreError>;

    /// Every checkpoint kept, ascending.
    async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError>;

    /// The signature over the newest record, if any record exists.
    async fn audit_head(&self) -> Result<Option<SignedHead>, StoreError>;

    /// Public halves of every key that has signed the log.
    async fn audit_keys(&self) -> Result<Vec<PublicKeyInfo>, StoreError>;

    /// Which backend this is, for health output: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
}

/// The audit event that records a node's signing key joining the log.
pub fn key_registration(info: &PublicKeyInfo, time: time::OffsetDateTime) -> (Change, AuditEvent) {
    let event = AuditEvent {
        time,
        actor: "system".into(),
        action: "audit.key_register".into(),
        target: Some(format!("audit_key:{}", info.key_id)),
        outcome: holdfast_audit::Outcome::Success,
        source: None,
        request_id: None,
        detail: serde_json::json!({"key_id": info.key_id, "public_key": info.public_key}),
    };
    (Change::RegisterAuditKey(info.clone()), event)
}

/// What one audit append writes: the record, the new signed head and, when due, a checkpoint.
#[derive(Debug)]
pub struct AuditWrite {
    pub record: StoredRecord,
    pub head: SignedHead,
    pub checkpoint: Option<Checkpoint>,
}

/// Links `event` after `head` and signs the result. Backends call this inside their transaction,
/// after locking the head, so the chain has one writer at a time.
pub fn audit_append(head: ChainHead, event: &AuditEvent, signer: &Signer) -> AuditWrite {
    let (record, next) = head.append(event.to_body());
    let checkpoint = next.checkpoint_due().then(|| signer.sign(&next));
    AuditWrite {
        record,
        head: signer.sign_head(&next),
        checkpoint,
    }
}

/// Verifies the whole audit log, page by page, while writers may be appending. `trusted` pins the
/// public keys to trust; without it the keys registered in the store are trusted (which catches
/// everything but an attacker who also holds a node's private key).
///
/// Checkpoints are read first and the signed head next, so both describe records that already
/// exist; records are then checked up to the head. Records found past the head are either
/// concurrent appends (the head has moved on: they are checked too) or forged (it has not).
pub async fn verify_audit(
    store: &dyn Store,
    trusted: Option<Vec<PublicKeyInfo>>,
) -> Result<holdfast_audit::VerifyReport, StoreError> {
    let infos = match trusted {
        Some(t) => t,
        None => store.audit_keys().await?,
    };
    let keys = infos
        .iter()
        .map(holdfast_audit::AuditKey::from_info)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let initialized = store.is_initialized().await?;
    let mut verifier = holdfast_audit::Verifier::new(keys, store.audit_checkpoints().await?);
    let mut head = store.audit_head().await?;
    let mut after = 0;
    let mut ok = true;
    loop {
        let limit = head.as_ref().map_or(0, |h| h.seq);
        // Walk up to the head we hold.
        while ok && after < limit {
            let page = store.audit_records(after, 1000).await?;
            let Some(last) = page.last() else { break };
            for rec in page.iter().filter(|r| r.seq <= limit) {
                after = rec.seq;
                if !verifier.push(rec) {
                    ok = false;
                    break;
                }
            }
            if last.seq >= limit {
                break;
            }
        }
        if !ok {
            break;
        }
        let beyond = store.audit_records(limit, 1000).await?;
        if beyond.is_empty() {
            break;
        }
        let newer = store.audit_head().await?;
        if newer.as_ref().map_or(0, |h| h.seq) > limit {
            head = newer;
            continue;
        }
        // Records past a head that did not move were not appended by Holdfast.
        for rec in &beyond {
            if !verifier.push(rec) {
                break;
            }
        }
        break;
    }
    let mut report = verifier.finish(head.as_ref());
    if report.ok && initialized && report.records_checked == 0 {
        report.ok = false;
        report.problem = Some(holdfast_audit::Problem {
            kind: holdfast_audit::ProblemKind::Removed,
            seq: 1,
            message: "record 1 was removed: Holdfast is initialised but its audit log is empty"
                .into(),
        });
    }
    Ok(report)
}
