//! Holdfast's tamper-evident audit log, as pure functions over records.
//!
//! Each record carries its sequence number, the hash of the record before it, and its own hash over
//! both and its body (the exact JSON text stored). The newest record's hash is signed with Ed25519
//! on every append (the signed head), and every [`CHECKPOINT_INTERVAL`] records a signed checkpoint
//! is kept for good. [`Verifier`] walks the chain and names the first record that was modified,
//! removed, inserted or reordered. Storage lives elsewhere; this crate only computes and checks.

mod chain;
mod event;
mod keys;
mod verify;

pub use chain::{
    CHECKPOINT_INTERVAL, ChainHead, Checkpoint, SignedHead, StoredRecord, ZERO_HASH, record_hash,
};
pub use event::{AuditEvent, Outcome};
pub use keys::{AuditKey, KeyError, PublicKeyInfo, Signer};
pub use verify::{Problem, ProblemKind, Verifier, VerifyReport};
