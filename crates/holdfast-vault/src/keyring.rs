//! The keyring and envelope encryption. Data keys encrypt secret versions; the root key encrypts
//! the keyring. Rotating the keyring adds a key that new writes use; older versions keep
//! decrypting with the key they name until a rewrap moves them.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::aead::{self, NONCE};
use crate::shamir::RootKey;
use crate::{VaultError, random};

const KEYRING_AAD: &[u8] = b"holdfast-keyring-v1";

/// One data key. The key bytes are zeroized on drop and never printed.
#[derive(Clone)]
pub struct DataKey {
    pub id: u32,
    key: Zeroizing<[u8; 32]>,
    /// When the key was made (RFC 3339, passed in).
    pub created_at: String,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey(#{}, {}, [redacted])", self.id, self.created_at)
    }
}

/// The data keys, one of them active for new writes.
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: Vec<DataKey>,
    active: u32,
}

/// The keyring as stored: encrypted under the root key. Not secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedKeyring {
    pub nonce: String,
    pub ciphertext: String,
}

/// What the keyring's plaintext holds, serialised inside the encryption.
#[derive(Serialize, Deserialize)]
struct Plain {
    active: u32,
    keys: Vec<(u32, String, String)>,
}

/// The associated data of one secret version: what it is, length-prefixed so no two different
/// (path, version, key) triples encode alike.
fn secret_aad(path: &str, version: u64, key_id: u32) -> Vec<u8> {
    let mut aad = b"holdfast-secret-v1".to_vec();
    aad.extend_from_slice(&(path.len() as u64).to_le_bytes());
    aad.extend_from_slice(path.as_bytes());
    aad.extend_from_slice(&version.to_le_bytes());
    aad.extend_from_slice(&key_id.to_le_bytes());
    aad
}

impl Keyring {
    /// A keyring with one fresh key.
    pub fn new(created_at: &str) -> Result<Self, VaultError> {
        Ok(Self {
            keys: vec![DataKey {
                id: 1,
                key: Zeroizing::new(random()?),
                created_at: created_at.to_string(),
            }],
            active: 1,
        })
    }

    /// Adds a fresh key and makes it the one new writes use; returns its id.
    pub fn rotate(&mut self, created_at: &str) -> Result<u32, VaultError> {
        let id = self.keys.iter().map(|k| k.id).max().unwrap_or(0) + 1;
        self.keys.push(DataKey {
            id,
            key: Zeroizing::new(random()?),
            created_at: created_at.to_string(),
        });
        self.active = id;
        Ok(id)
    }

    pub fn active(&self) -> u32 {
        self.active
    }

    pub fn keys(&self) -> impl Iterator<Item = &DataKey> {
        self.keys.iter()
    }

    fn key(&self, id: u32) -> Result<&DataKey, VaultError> {
        self.keys
            .iter()
            .find(|k| k.id == id)
            .ok_or(VaultError::UnknownKey(id))
    }

    /// The keyring encrypted under the root key, for storing.
    pub fn seal(&self, root: &RootKey) -> Result<SealedKeyring, VaultError> {
        let plain = Plain {
            active: self.active,
            keys: self
                .keys
                .iter()
                .map(|k| (k.id, hex::encode(k.key.as_slice()), k.created_at.clone()))
                .collect(),
        };
        let text = Zeroizing::new(
            serde_json::to_vec(&plain).map_err(|e| VaultError::KeyringMalformed(e.to_string()))?,
        );
        let mut plain = plain;
        for k in &mut plain.keys {
            zeroize::Zeroize::zeroize(&mut k.1);
        }
        let (nonce, ct) = aead::seal(root.bytes(), KEYRING_AAD, &text)?;
        Ok(SealedKeyring {
            nonce: hex::encode(nonce),
            ciphertext: STANDARD.encode(ct),
        })
    }

    /// Decrypts a stored keyring with the root key.
    pub fn open(sealed: &SealedKeyring, root: &RootKey) -> Result<Self, VaultError> {
        let nonce: [u8; NONCE] = hex::decode(&sealed.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| VaultError::KeyringMalformed("bad nonce".into()))?;
        let ct = STANDARD
            .decode(&sealed.ciphertext)
            .map_err(|_| VaultError::KeyringMalformed("bad ciphertext encoding".into()))?;
        let text = Zeroizing::new(
            aead::open(root.bytes(), &nonce, KEYRING_AAD, &ct)
                .ok_or(VaultError::KeyringUndecryptable)?,
        );
        let mut plain: Plain = serde_json::from_slice(&text)
            .map_err(|_| VaultError::KeyringMalformed("bad contents".into()))?;
        let mut keys = Vec::with_capacity(plain.keys.len());
        for (id, hexkey, created_at) in &mut plain.keys {
            let bytes = Zeroizing::new(
                hex::decode(hexkey.as_str())
                    .map_err(|_| VaultError::KeyringMalformed("bad key".into()))?,
            );
            zeroize::Zeroize::zeroize(hexkey);
            let key: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| VaultError::KeyringMalformed("bad key length".into()))?;
            keys.push(DataKey {
                id: *id,
                key: Zeroizing::new(key),
                created_at: created_at.clone(),
            });
        }
        if !keys.iter().any(|k| k.id == plain.active) {
            return Err(VaultError::KeyringMalformed("no active key".into()));
        }
        Ok(Self {
            keys,
            active: plain.active,
        })
    }

    /// Encrypts one version of the secret at `path` with the active key.
    pub fn encrypt(
        &self,
        path: &str,
        version: u64,
        plaintext: &[u8],
    ) -> Result<Envelope, VaultError> {
        let key = self.key(self.active)?;
        let (nonce, ciphertext) =
            aead::seal(&key.key, &secret_aad(path, version, key.id), plaintext)?;
        Ok(Envelope {
            key_id: key.id,
            nonce,
            ciphertext,
        })
    }

    /// Decrypts one version of the secret at `path`; fails if the envelope was altered or
    /// belongs to another path or version.
    pub fn decrypt(
        &self,
        path: &str,
        version: u64,
        envelope: &Envelope,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let key = self.key(envelope.key_id)?;
        aead::open(
            &key.key,
            &envelope.nonce,
            &secret_aad(path, version, envelope.key_id),
            &envelope.ciphertext,
        )
        .map(Zeroizing::new)
        .ok_or_else(|| VaultError::Tampered {
            path: path.chars().take(200).collect(),
            version,
        })
    }

    /// Re-encrypts a version under the active key (after a keyring rotation).
    pub fn rewrap(
        &self,
        path: &str,
        version: u64,
        envelope: &Envelope,
    ) -> Result<Envelope, VaultError> {
        if envelope.key_id == self.active {
            return Ok(envelope.clone());
        }
        let plain = self.decrypt(path, version, envelope)?;
        self.encrypt(path, version, &plain)
    }
}

/// One encrypted secret version: the data key that encrypted it, the nonce and the ciphertext
/// with its tag. Stored as text: `hfv1:<key id>:<nonce hex>:<ciphertext base64>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub key_id: u32,
    nonce: [u8; NONCE],
    ciphertext: Vec<u8>,
}

impl fmt::Display for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "hfv1:{}:{}:{}",
            self.key_id,
            hex::encode(self.nonce),
            STANDARD.encode(&self.ciphertext)
        )
    }
}

impl FromStr for Envelope {
    type Err = VaultError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || VaultError::BadEnvelope(s.chars().take(12).collect::<String>() + "…");
        let mut parts = s.splitn(4, ':');
        if parts.next() != Some("hfv1") {
            return Err(bad());
        }
        let key_id: u32 = parts.next().and_then(|k| k.parse().ok()).ok_or_else(bad)?;
        let nonce: [u8; NONCE] = parts
            .next()
            .and_then(|n| hex::decode(n).ok())
            .and_then(|n| n.try_into().ok())
            .ok_or_else(bad)?;
        let ciphertext = parts
            .next()
            .and_then(|c| STANDARD.decode(c).ok())
            .ok_or_else(bad)?;
        Ok(Self {
            key_id,
            nonce,
            ciphertext,
        })
    }
}
