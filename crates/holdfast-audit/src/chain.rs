//! The hash chain: how a record's hash is computed and what a stored record, head and checkpoint are.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A checkpoint is kept for good every this many records.
pub const CHECKPOINT_INTERVAL: u64 = 64;

/// The `prev_hash` of the first record.
pub const ZERO_HASH: [u8; 32] = [0; 32];

const RECORD_DOMAIN: &[u8] = b"holdfast-audit-record-v1\0";

/// SHA-256 over a domain tag, the sequence number, the previous hash and the body text.
pub fn record_hash(seq: u64, prev_hash: &[u8; 32], body: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(RECORD_DOMAIN);
    h.update(seq.to_be_bytes());
    h.update(prev_hash);
    h.update(body.as_bytes());
    h.finalize().into()
}

/// One audit record as a store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredRecord {
    pub seq: u64,
    /// Hex of the previous record's hash.
    pub prev_hash: String,
    /// Hex of this record's hash.
    pub hash: String,
    /// The record's body: the JSON of an [`crate::AuditEvent`], exactly as hashed.
    pub body: String,
}

/// Where the chain ends: the last record's sequence number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: [u8; 32],
}

impl ChainHead {
    pub const EMPTY: Self = Self {
        seq: 0,
        hash: ZERO_HASH,
    };

    /// Links `body` after this head, returning the record to store and the new head.
    pub fn append(&self, body: String) -> (StoredRecord, ChainHead) {
        let seq = self.seq + 1;
        let hash = record_hash(seq, &self.hash, &body);
        let rec = StoredRecord {
            seq,
            prev_hash: hex::encode(self.hash),
            hash: hex::encode(hash),
            body,
        };
        (rec, ChainHead { seq, hash })
    }

    /// Parses a head from its stored hex form.
    pub fn from_hex(seq: u64, hash_hex: &str) -> Option<Self> {
        parse_hash(hash_hex).map(|hash| Self { seq, hash })
    }

    /// Whether a checkpoint is due once this head is written.
    pub fn checkpoint_due(&self) -> bool {
        self.seq > 0 && self.seq.is_multiple_of(CHECKPOINT_INTERVAL)
    }
}

pub(crate) fn parse_hash(hex_str: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_str, &mut out).ok().map(|()| out)
}

/// A signature over a head: `(seq, hash)` signed by one audit key. The latest is the signed head;
/// every [`CHECKPOINT_INTERVAL`]th is also kept as a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkpoint {
    pub seq: u64,
    /// Hex of the hash of record `seq`.
    pub hash: String,
    /// Id of the signing key (hex of the first 8 bytes of SHA-256 over its public key).
    pub key_id: String,
    /// Hex of the Ed25519 signature.
    pub signature: String,
}

/// The signature over the newest record, replaced on every append.
pub type SignedHead = Checkpoint;
