//! XChaCha20-Poly1305 with random 192-bit nonces: no nonce bookkeeping and no key-rotation
//! pressure from nonce reuse (unlike AES-GCM's 96-bit random nonces).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::{VaultError, random};

pub(crate) const NONCE: usize = 24;

/// Encrypts `plaintext` under `key`, binding `aad`. Returns `(nonce, ciphertext-with-tag)`.
pub(crate) fn seal(
    key: &[u8; 32],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<([u8; NONCE], Vec<u8>), VaultError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce: [u8; NONCE] = random()?;
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| VaultError::Random)?;
    Ok((nonce, ct))
}

/// Decrypts, or `None` when the key, nonce, associated data or ciphertext do not belong together.
pub(crate) fn open(key: &[u8; 32], nonce: &[u8; NONCE], aad: &[u8], ct: &[u8]) -> Option<Vec<u8>> {
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
        .ok()
}
