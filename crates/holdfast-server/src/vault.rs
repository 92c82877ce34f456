//! The server's seal state: sealed (no key material in memory, secret operations answer `sealed`)
//! or unsealed (the root key and the opened keyring in memory). A restarted server is sealed until
//! `threshold` shares are given, unless it was set up with a key file.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use axum::http::StatusCode;
use holdfast_core::{SealMode, VaultConfig};
use holdfast_store::Store;
use holdfast_vault::{Keyring, Progress, RootKey, SealedKeyring, Share, Unsealer};
use uuid::Uuid;

use crate::error::ApiError;

/// The id of the one vault configuration row.
pub const VAULT_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0001);

#[derive(Debug)]
struct Open {
    root: RootKey,
    keyring: Keyring,
    /// Which stored keyring this is (its nonce): another replica's rotation changes it.
    sealed_nonce: String,
}

/// Seal state and unseal progress of this node.
#[derive(Debug, Default)]
pub struct VaultState {
    open: RwLock<Option<Open>>,
    /// Bumped by every seal: key material computed before a seal (a keyring refresh, a
    /// rotation) is not put back after it.
    seal_generation: std::sync::atomic::AtomicU64,
    unsealer: Mutex<Option<Unsealer>>,
    /// Where the root key lives in single-node setups (written at init, read at start).
    pub key_file: Option<PathBuf>,
    /// A rekey in progress on this node.
    rekey: Mutex<Option<crate::routes::sys::RekeyAttempt>>,
}

/// Where unsealing stands, for health and the unseal answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealStatus {
    pub sealed: bool,
    pub progress: u8,
    pub threshold: u8,
}

pub fn sealed_error() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "sealed",
        "the vault is sealed: give unseal key shares with `holdfast operator unseal` (or start the server with its key file)",
    )
}

pub fn sealed_keyring(c: &VaultConfig) -> SealedKeyring {
    SealedKeyring {
        nonce: c.keyring_nonce.clone(),
        ciphertext: c.keyring_ciphertext.clone(),
    }
}

impl VaultState {
    pub fn new(key_file: Option<PathBuf>) -> Self {
        Self {
            key_file,
            ..Self::default()
        }
    }

    pub fn is_sealed(&self) -> bool {
        self.open.read().map_or(true, |o| o.is_none())
    }

    /// The keyring as stored now: when another replica rotated it, it is reopened with this
    /// node's root key. `sealed` when this node is.
    pub async fn current_keyring(&self, store: &dyn Store) -> Result<Keyring, ApiError> {
        let generation = self.generation();
        let (root, keyring, nonce) = {
            let guard = self
                .open
                .read()
                .map_err(|_| ApiError::internal("vault state", "lock poisoned"))?;
            let open = guard.as_ref().ok_or_else(sealed_error)?;
            (
                open.root.clone(),
                open.keyring.clone(),
                open.sealed_nonce.clone(),
            )
        };
        let config: Option<VaultConfig> = holdfast_store::get(store, VAULT_ID).await?;
        let Some(config) = config else {
            return Ok(keyring);
        };
        if config.keyring_nonce == nonce {
            return Ok(keyring);
        }
        let Ok(fresh) = Keyring::open(&sealed_keyring(&config), &root) else {
            // The stored keyring is sealed under another root key: this node's key is stale.
            self.seal();
            return Err(sealed_error());
        };
        self.replace_keyring(fresh.clone(), &config.keyring_nonce, generation);
        Ok(fresh)
    }

    /// The root key, or `sealed` (to reseal the keyring after a rotation).
    pub fn root(&self) -> Result<RootKey, ApiError> {
        self.open
            .read()
            .ok()
            .and_then(|o| o.as_ref().map(|o| o.root.clone()))
            .ok_or_else(sealed_error)
    }

    /// The current seal generation, to pass to [`VaultState::replace_keyring`].
    pub fn generation(&self) -> u64 {
        self.seal_generation
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Opens the vault (after init or unsealing).
    pub fn set_open(&self, root: RootKey, keyring: Keyring, sealed_nonce: &str) {
        if let Ok(mut o) = self.open.write() {
            *o = Some(Open {
                root,
                keyring,
                sealed_nonce: sealed_nonce.to_string(),
            });
        }
    }

    /// Swaps in a newer keyring, unless the vault was sealed since `generation` was read.
    pub fn replace_keyring(&self, keyring: Keyring, sealed_nonce: &str, generation: u64) {
        if let Ok(mut o) = self.open.write()
            && self.generation() == generation
            && let Some(open) = o.as_mut()
        {
            open.keyring = keyring;
            open.sealed_nonce = sealed_nonce.to_string();
        }
    }

    pub fn set_rekey(&self, attempt: Option<crate::routes::sys::RekeyAttempt>) {
        if let Ok(mut r) = self.rekey.lock() {
            *r = attempt;
        }
    }

    /// Runs `f` on the rekey attempt under its lock.
    pub fn with_rekey<T>(
        &self,
        f: impl FnOnce(&mut Option<crate::routes::sys::RekeyAttempt>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut guard = self
            .rekey
            .lock()
            .map_err(|_| ApiError::internal("rekey", "lock poisoned"))?;
        f(&mut guard)
    }

    /// After a rekey: the new root key (and the keyring it opened), unless the vault was sealed
    /// since `generation` was read.
    pub fn replace_root(
        &self,
        root: RootKey,
        keyring: Keyring,
        sealed_nonce: &str,
        generation: u64,
    ) {
        if let Ok(mut o) = self.open.write()
            && self.generation() == generation
            && o.is_some()
        {
            *o = Some(Open {
                root,
                keyring,
                sealed_nonce: sealed_nonce.to_string(),
            });
        }
    }

    /// Drops the key material from memory.
    pub fn seal(&self) {
        // Same lock order as unsealing: the unsealer, then the keys.
        let mut u = self.unsealer.lock().ok();
        if let Some(u) = u.as_mut() {
            **u = None;
        }
        if let Ok(mut o) = self.open.write() {
            self.seal_generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            *o = None;
        }
    }

    pub fn status(&self, config: Option<&VaultConfig>) -> SealStatus {
        let threshold = config.map_or(0, |c| c.threshold);
        let progress = self
            .unsealer
            .lock()
            .ok()
            .and_then(|u| u.as_ref().map(|u| u.progress().0))
            .unwrap_or(0);
        SealStatus {
            sealed: config.is_some() && self.is_sealed(),
            progress,
            threshold,
        }
    }

    /// Takes one share. At the threshold the key is checked against the keyring.
    pub fn submit(&self, config: &VaultConfig, share: Share) -> Result<SealStatus, ApiError> {
        if !self.is_sealed() {
            return Ok(SealStatus {
                sealed: false,
                progress: 0,
                threshold: config.threshold,
            });
        }
        if config.mode != SealMode::Shamir {
            return Err(ApiError::invalid(
                "share",
                "this vault is unsealed by its key file, not by shares",
            ));
        }
        let mut guard = self
            .unsealer
            .lock()
            .map_err(|_| ApiError::internal("unseal", "lock poisoned"))?;
        // A threshold changed elsewhere since the first share: start over with the new one.
        if guard
            .as_ref()
            .is_some_and(|u| u.progress().1 != config.threshold)
        {
            *guard = None;
        }
        let unsealer = guard.get_or_insert_with(|| Unsealer::new(config.threshold));
        match unsealer.submit(share, &sealed_keyring(config)) {
            Ok(Progress::NeedMore { have, threshold }) => Ok(SealStatus {
                sealed: true,
                progress: have,
                threshold,
            }),
            Ok(Progress::Unsealed { root, keyring }) => {
                // Opened while the unsealer lock is held, so a seal cannot slip in between.
                *guard = None;
                self.set_open(root, keyring, &config.keyring_nonce);
                Ok(SealStatus {
                    sealed: false,
                    progress: 0,
                    threshold: config.threshold,
                })
            }
            Err(e) => Err(ApiError::invalid("share", e.to_string())),
        }
    }

    /// At start: with a key file and a configured vault, unseal from the file.
    pub async fn unseal_from_key_file(&self, store: &dyn Store) -> Result<bool, String> {
        let Some(path) = &self.key_file else {
            return Ok(false);
        };
        let config: Option<VaultConfig> = holdfast_store::get(store, VAULT_ID)
            .await
            .map_err(|e| e.to_string())?;
        let Some(config) = config else {
            return Ok(false);
        };
        if !path.exists() {
            return Ok(false);
        }
        let root = read_key_file(path)?;
        let keyring = Keyring::open(&sealed_keyring(&config), &root).map_err(|e| {
            format!(
                "the key file `{}` does not open this vault: {e}",
                path.display()
            )
        })?;
        self.set_open(root, keyring, &config.keyring_nonce);
        Ok(true)
    }
}

pub fn read_key_file(path: &Path) -> Result<RootKey, String> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the key file `{}`: {e}", path.display()))?,
    );
    RootKey::from_hex(&text).map_err(|e| format!("`{}`: {e}", path.display()))
}

/// Writes a new key file, readable by its owner only; refuses to overwrite one. Written to a
/// temporary file, synced, then linked into place (so a crash never leaves a partial key file
/// under the real name), and the directory synced.
pub fn write_key_file(path: &Path, root: &RootKey) -> Result<(), String> {
    use std::io::Write;
    if path.exists() {
        return Err(format!("the key file `{}` already exists", path.display()));
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("unseal.key"),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let written = opts
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(root.to_hex().as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    written.map_err(|e| format!("cannot write the key file `{}`: {e}", path.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
