//! Audit signing keys: Ed25519, one per server node, the public half exported for verifiers.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::chain::{ChainHead, Checkpoint};

const CHECKPOINT_DOMAIN: &[u8] = b"holdfast-audit-checkpoint-v1\0";
/// The signed head uses its own tag, so a kept checkpoint can never be replayed as a head.
const HEAD_DOMAIN: &[u8] = b"holdfast-audit-head-v1\0";
/// Offboarding receipts: their own tag, so no receipt can pass as a checkpoint or a head.
const RECEIPT_DOMAIN: &[u8] = b"holdfast-receipt-v1\0";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the audit key file is not a 32-byte Ed25519 seed in hex")]
    BadSeed,
    #[error("public key `{0}` is not 32 bytes of Ed25519 in hex")]
    BadPublicKey(String),
}

/// A public audit key as stored and exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicKeyInfo {
    pub key_id: String,
    /// Hex of the 32-byte Ed25519 public key.
    pub public_key: String,
}

/// A verifying key with its id.
#[derive(Debug, Clone)]
pub struct AuditKey {
    pub key_id: String,
    key: VerifyingKey,
}

impl AuditKey {
    pub fn from_info(info: &PublicKeyInfo) -> Result<Self, KeyError> {
        let bad = || KeyError::BadPublicKey(info.public_key.clone());
        let mut raw = [0u8; 32];
        hex::decode_to_slice(&info.public_key, &mut raw).map_err(|_| bad())?;
        let key = VerifyingKey::from_bytes(&raw).map_err(|_| bad())?;
        Ok(Self {
            key_id: key_id(&key),
            key,
        })
    }

    /// Whether `cp` is a valid signature by this key.
    pub fn verifies(&self, cp: &Checkpoint) -> bool {
        self.verifies_with(CHECKPOINT_DOMAIN, cp)
    }

    /// Whether `signature` (hex) is this key's receipt signature over `body`.
    pub fn verifies_receipt(&self, body: &[u8], signature: &str) -> bool {
        let mut sig = [0u8; 64];
        if signature.len() != 128 || hex::decode_to_slice(signature, &mut sig).is_err() {
            return false;
        }
        let mut msg = RECEIPT_DOMAIN.to_vec();
        msg.extend_from_slice(body);
        self.key.verify(&msg, &Signature::from_bytes(&sig)).is_ok()
    }

    /// Whether `head` is a valid signed-head signature by this key.
    pub fn verifies_head(&self, head: &Checkpoint) -> bool {
        self.verifies_with(HEAD_DOMAIN, head)
    }

    fn verifies_with(&self, domain: &[u8], cp: &Checkpoint) -> bool {
        let Some(hash) = crate::chain::parse_hash(&cp.hash) else {
            return false;
        };
        let mut sig = [0u8; 64];
        if hex::decode_to_slice(&cp.signature, &mut sig).is_err() {
            return false;
        }
        let msg = message(domain, cp.seq, &hash);
        self.key.verify(&msg, &Signature::from_bytes(&sig)).is_ok()
    }
}

fn key_id(key: &VerifyingKey) -> String {
    let d = Sha256::digest(key.as_bytes());
    hex::encode(d.get(..8).unwrap_or_default())
}

fn message(domain: &[u8], seq: u64, hash: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain.len() + 40);
    m.extend_from_slice(domain);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash);
    m
}

/// The private half, held by a server node. Zeroized on drop; `Debug` shows only the key id.
pub struct Signer {
    key: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer from a 32-byte seed (the caller draws it from the OS's random source).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(seed);
        let key_id = key_id(&key.verifying_key());
        Self { key, key_id }
    }

    /// Parses the hex seed kept in a key file.
    pub fn from_hex_seed(text: &str) -> Result<Self, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), seed.as_mut()).map_err(|_| KeyError::BadSeed)?;
        Ok(Self::from_seed(&seed))
    }

    /// The hex seed to write to a key file.
    pub fn to_hex_seed(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.key.to_bytes()))
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn public_info(&self) -> PublicKeyInfo {
        PublicKeyInfo {
            key_id: self.key_id.clone(),
            public_key: hex::encode(self.key.verifying_key().as_bytes()),
        }
    }

    /// Signs an offboarding receipt's bytes; the hex signature.
    pub fn sign_receipt(&self, body: &[u8]) -> String {
        let mut msg = RECEIPT_DOMAIN.to_vec();
        msg.extend_from_slice(body);
        hex::encode(self.key.sign(&msg).to_bytes())
    }

    /// Signs a head as a checkpoint (kept for good).
    pub fn sign(&self, head: &ChainHead) -> Checkpoint {
        self.sign_with(CHECKPOINT_DOMAIN, head)
    }

    /// Signs a head as the signed head (replaced on every append).
    pub fn sign_head(&self, head: &ChainHead) -> Checkpoint {
        self.sign_with(HEAD_DOMAIN, head)
    }

    fn sign_with(&self, domain: &[u8], head: &ChainHead) -> Checkpoint {
        let sig = self.key.sign(&message(domain, head.seq, &head.hash));
        Checkpoint {
            seq: head.seq,
            hash: hex::encode(head.hash),
            key_id: self.key_id.clone(),
            signature: hex::encode(sig.to_bytes()),
        }
    }
}
