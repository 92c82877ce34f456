//! Unsealing: shares arrive one at a time (from different people); at the threshold the root key
//! is reconstructed and proven by decrypting the keyring. A wrong share is found out then, and the
//! collected shares are dropped so the next attempt starts clean.

use crate::VaultError;
use crate::keyring::{Keyring, SealedKeyring};
use crate::shamir::{RootKey, Share};

/// Where unsealing stands after a share.
#[derive(Debug)]
pub enum Progress {
    /// More shares are needed.
    NeedMore { have: u8, threshold: u8 },
    /// The root key is back and the keyring open.
    Unsealed { root: RootKey, keyring: Keyring },
}

/// Collects shares towards the threshold.
#[derive(Debug)]
pub struct Unsealer {
    threshold: u8,
    shares: Vec<Share>,
}

impl Unsealer {
    pub fn new(threshold: u8) -> Self {
        Self {
            threshold,
            shares: Vec::new(),
        }
    }

    /// `(shares given so far, threshold)`.
    pub fn progress(&self) -> (u8, u8) {
        (self.shares.len() as u8, self.threshold)
    }

    /// Forgets the shares given so far.
    pub fn reset(&mut self) {
        self.shares.clear();
    }

    /// Adds one share. A share whose index was already given is refused and changes nothing.
    pub fn submit(&mut self, share: Share, sealed: &SealedKeyring) -> Result<Progress, VaultError> {
        if self.shares.iter().any(|s| s.index() == share.index()) {
            return Err(VaultError::DuplicateShare(share.index()));
        }
        self.shares.push(share);
        let have = self.shares.len() as u8;
        if have < self.threshold {
            return Ok(Progress::NeedMore {
                have,
                threshold: self.threshold,
            });
        }
        let attempt = RootKey::combine(&self.shares).and_then(|root| {
            let keyring = Keyring::open(sealed, &root).map_err(|e| match e {
                VaultError::KeyringUndecryptable => VaultError::WrongShares,
                other => other,
            })?;
            Ok((root, keyring))
        });
        self.shares.clear();
        let (root, keyring) = attempt?;
        Ok(Progress::Unsealed { root, keyring })
    }
}
