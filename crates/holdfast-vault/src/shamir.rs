//! The root key and its Shamir shares (GF(256), from `vsss-rs`). A share is handed to a person as
//! `hfs1-<hex>`: the share's index byte then one byte per root-key byte.

use std::fmt;
use std::str::FromStr;

use rand::SeedableRng;
use zeroize::{Zeroize, Zeroizing};

use crate::{VaultError, random};

/// The root key: 32 random bytes, zeroized on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct RootKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey([redacted])")
    }
}

impl RootKey {
    pub fn generate() -> Result<Self, VaultError> {
        Ok(Self(Zeroizing::new(random()?)))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Splits the key into `shares` shares, any `threshold` of which reconstruct it.
    pub fn split(&self, shares: u8, threshold: u8) -> Result<Vec<Share>, VaultError> {
        if threshold == 0 || shares == 0 || threshold > shares {
            return Err(VaultError::BadShareParameters { threshold, shares });
        }
        if threshold == 1 {
            return Err(VaultError::ThresholdOfOne);
        }
        let mut seed: [u8; 32] = random()?;
        let mut rng = rand::rngs::StdRng::from_seed(seed);
        seed.zeroize();
        let raw = vsss_rs::Gf256::split_bytes(
            usize::from(threshold),
            usize::from(shares),
            self.0.as_slice(),
            &mut rng,
        )
        .map_err(|_| VaultError::BadShareParameters { threshold, shares })?;
        Ok(raw.into_iter().map(|s| Share(Zeroizing::new(s))).collect())
    }

    /// Reconstructs a key from shares. With fewer than the threshold the result is a wrong key,
    /// not an error — Shamir cannot tell; [`crate::Unsealer`] checks it against the keyring.
    pub fn combine(shares: &[Share]) -> Result<Self, VaultError> {
        let mut raw: Vec<Vec<u8>> = shares.iter().map(|s| s.0.to_vec()).collect();
        let combined = vsss_rs::Gf256::combine_bytes(&raw);
        for r in &mut raw {
            r.zeroize();
        }
        let mut bytes = Zeroizing::new(combined.map_err(|_| VaultError::WrongShares)?);
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::WrongShares)?;
        bytes.zeroize();
        Ok(Self(Zeroizing::new(key)))
    }

    /// The key as a key file holds it: 64 hex digits.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_slice()))
    }

    pub fn from_hex(text: &str) -> Result<Self, VaultError> {
        let mut bytes =
            Zeroizing::new(hex::decode(text.trim()).map_err(|_| VaultError::BadKeyFile)?);
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::BadKeyFile)?;
        bytes.zeroize();
        Ok(Self(Zeroizing::new(key)))
    }
}

/// One Shamir share of the root key. `Display` gives the text handed to its holder; `Debug`
/// shows only its index.
#[derive(Clone, PartialEq, Eq)]
pub struct Share(Zeroizing<Vec<u8>>);

impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Share(#{}, [redacted])", self.index())
    }
}

impl Share {
    /// The share's index (1–255), which two copies of one share have in common.
    pub fn index(&self) -> u8 {
        self.0.first().copied().unwrap_or(0)
    }

    /// The text to hand to the share's holder: `hfs1-` and hex.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("hfs1-{}", hex::encode(self.0.as_slice())))
    }
}

impl FromStr for Share {
    type Err = VaultError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The error never quotes the input: it may be most of a real share.
        let bad = || VaultError::BadShare;
        let body = s.trim().strip_prefix("hfs1-").ok_or_else(bad)?;
        let bytes = Zeroizing::new(hex::decode(body).map_err(|_| bad())?);
        if bytes.len() != 33 || bytes.first().copied().unwrap_or(0) == 0 {
            return Err(bad());
        }
        Ok(Self(bytes))
    }
}
