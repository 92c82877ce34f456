//! Holdfast's vault core, pure and synchronous: the root key and its Shamir shares, the keyring the
//! root key encrypts, envelope encryption of secret versions bound to their path and version, and
//! the unseal state machine that collects shares.
//!
//! Key hierarchy, as Vault and OpenBao do it: a **root key** (never stored; reconstructed from
//! `threshold` of `shares` Shamir shares, or read from a key file in single-node setups) encrypts
//! the **keyring** (data keys, one active; older ones kept to decrypt older versions); a data key
//! encrypts each secret version. Every ciphertext is XChaCha20-Poly1305 with a random 192-bit
//! nonce, and its associated data names what it is (`path`, `version`, key id), so a row copied to
//! another path or version does not decrypt. Key material is zeroized when dropped.

mod aead;
mod keyring;
pub mod rotation;
mod seal;
mod shamir;

pub use keyring::{DataKey, Envelope, Keyring, SealedKeyring};
pub use seal::{Progress, Unsealer};
pub use shamir::{RootKey, Share};

/// Why a vault operation failed. Messages never contain key material or plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("need 1 ≤ threshold ≤ shares ≤ 255 (threshold {threshold}, shares {shares})")]
    BadShareParameters { threshold: u8, shares: u8 },
    #[error("a threshold of 1 means any single share is the root key; use a key file instead")]
    ThresholdOfOne,
    #[error("that is not a Holdfast key share: shares look like `hfs1-` and 66 hex digits")]
    BadShare,
    #[error("share {0} was already given")]
    DuplicateShare(u8),
    #[error("the shares given do not reconstruct the root key (a wrong or mistyped share)")]
    WrongShares,
    #[error("the key file does not hold a Holdfast root key (64 hex digits)")]
    BadKeyFile,
    #[error("the keyring cannot be decrypted with this root key")]
    KeyringUndecryptable,
    #[error("the keyring is malformed: {0}")]
    KeyringMalformed(String),
    #[error("`{0}` is not a Holdfast ciphertext (`hfv1:…`)")]
    BadEnvelope(String),
    #[error("data key {0} is not in the keyring")]
    UnknownKey(u32),
    #[error(
        "the ciphertext of `{path}` version {version} does not decrypt: it was altered, or it belongs to another path or version"
    )]
    Tampered { path: String, version: u64 },
    #[error("the operating system's random source failed")]
    Random,
}

/// Random bytes from the operating system.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], VaultError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|_| VaultError::Random)?;
    Ok(out)
}
