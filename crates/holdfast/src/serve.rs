//! `holdfast serve`: layered settings (flags, then `HOLDFAST_*`, then a TOML file), the node's audit
//! signing key, the chosen store backend, and the server's lifetime.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use holdfast_audit::Signer;
use holdfast_server::{AppState, ListenOptions, SystemClock};
use holdfast_store::Store;
use serde::Deserialize;
use tokio::sync::oneshot;

use crate::cli::ServeArgs;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8200";
const KEY_FILE: &str = "audit-signing.key";
const GRANT_KEY_FILE: &str = "grant-signing.key";
const DB_FILE: &str = "holdfast.db";

/// The TOML configuration file. Unknown keys are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data: Option<PathBuf>,
    listen: Option<SocketAddr>,
    database_url: Option<String>,
    /// A file holding the database URL, so a password stays out of the config.
    database_url_file: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    insecure_http: Option<bool>,
    unseal_key_file: Option<PathBuf>,
    /// `[rotators.command.<name>]`, `[rotators.webhook.<name>]`, `[rotators.reminders]`: declared
    /// here, not through the API, because they run on (or call out from) the server.
    #[serde(default)]
    rotators: holdfast_server::RotatorConfig,
    /// `[monitor]`: learning period and burst thresholds of the detections.
    #[serde(default)]
    monitor: holdfast_monitor::Config,
    /// `[posture]`: recompute interval, acceptance limit, finding thresholds.
    #[serde(default)]
    posture: holdfast_server::posture::PostureConfig,
    /// `[offboarding]`: directories the server may re-scan, offboarding on expiry.
    #[serde(default)]
    offboarding: holdfast_server::offboarding::OffboardingConfig,
}

/// Final settings for one server.
#[derive(Clone)]
pub struct Settings {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub database_url: Option<String>,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub insecure_http: bool,
    /// Single-node setups: the root key's file (written by init, read at start).
    pub unseal_key_file: Option<PathBuf>,
    /// Rotators and reminder delivery from the configuration file.
    pub rotators: holdfast_server::RotatorConfig,
    /// Detection thresholds from the configuration file.
    pub monitor: holdfast_monitor::Config,
    /// Posture settings from the configuration file.
    pub posture: holdfast_server::posture::PostureConfig,
    /// Offboarding settings from the configuration file.
    pub offboarding: holdfast_server::offboarding::OffboardingConfig,
}

impl Settings {
    /// A throwaway server on loopback (a free port) with a fresh store in `data`: the benchmarks'.
    pub fn scratch(data: &std::path::Path) -> anyhow::Result<Self> {
        Ok(Settings {
            data: data.to_path_buf(),
            listen: "127.0.0.1:0".parse()?,
            database_url: None,
            tls: None,
            insecure_http: false,
            unseal_key_file: None,
            rotators: Default::default(),
            monitor: Default::default(),
            posture: Default::default(),
            offboarding: Default::default(),
        })
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("data", &self.data)
            .field("listen", &self.listen)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "[redacted]"),
            )
            .field("tls", &self.tls)
            .field("insecure_http", &self.insecure_http)
            .field("unseal_key_file", &self.unseal_key_file)
            .finish()
    }
}

/// Merges flags/environment (already merged by clap) over the config file over defaults.
pub fn settings(args: ServeArgs) -> anyhow::Result<Settings> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the config file `{}`", path.display()))?;
            toml::from_str::<FileConfig>(&text)
                .with_context(|| format!("the config file `{}` is invalid", path.display()))?
        }
        None => FileConfig::default(),
    };
    let database_url = match (args.database_url, file.database_url, file.database_url_file) {
        (Some(u), _, _) | (None, Some(u), _) => Some(u),
        (None, None, Some(p)) => Some(
            std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read `database_url_file` `{}`", p.display()))?
                .trim()
                .to_string(),
        ),
        (None, None, None) => None,
    };
    if let Some(u) = &database_url
        && !(u.starts_with("postgres://") || u.starts_with("postgresql://"))
    {
        bail!("`--database-url` must start with postgres:// or postgresql://");
    }
    let tls = match (
        args.tls_cert.or(file.tls_cert),
        args.tls_key.or(file.tls_key),
    ) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => bail!("`--tls-cert` and `--tls-key` go together: give both or neither"),
    };
    let default_listen: SocketAddr = DEFAULT_LISTEN.parse().context("default listen address")?;
    Ok(Settings {
        data: args
            .data
            .or(file.data)
            .unwrap_or_else(|| PathBuf::from("holdfast-data")),
        listen: args.listen.or(file.listen).unwrap_or(default_listen),
        database_url,
        tls,
        insecure_http: args.insecure_http.or(file.insecure_http).unwrap_or(false),
        unseal_key_file: args.unseal_key_file.or(file.unseal_key_file),
        rotators: file.rotators,
        monitor: {
            file.monitor.validate().map_err(anyhow::Error::msg)?;
            file.monitor
        },
        posture: {
            file.posture.validate().map_err(anyhow::Error::msg)?;
            file.posture
        },
        offboarding: file.offboarding,
    })
}

/// Loads this node's audit signing key from the data directory, creating it (mode 0600) if absent.
pub fn load_signer(data: &Path) -> anyhow::Result<Signer> {
    create_private_dir(data)?;
    let path = data.join(KEY_FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        return Signer::from_hex_seed(&text)
            .with_context(|| format!("`{}` is damaged", path.display()));
    }
    let seed = fresh_seed()?;
    let signer = Signer::from_seed(&seed);
    write_private(&path, signer.to_hex_seed().as_bytes())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(signer)
}

fn fresh_seed() -> anyhow::Result<zeroize::Zeroizing<[u8; 32]>> {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut())
        .map_err(|e| anyhow::anyhow!("the OS random source failed: {e}"))?;
    Ok(seed)
}

/// This node's grant-signing key (`grant-signing.key`, hex seed, 0600), made on first start.
pub fn load_grant_signer(data: &Path) -> anyhow::Result<holdfast_server::grants::GrantSigner> {
    create_private_dir(data)?;
    let path = data.join(GRANT_KEY_FILE);
    if path.exists() {
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read `{}`", path.display()))?,
        );
        let bytes = zeroize::Zeroizing::new(
            hex::decode(text.trim()).with_context(|| format!("`{}` is damaged", path.display()))?,
        );
        let seed: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| anyhow::anyhow!("`{}` is damaged", path.display()))?;
        return Ok(holdfast_server::grants::GrantSigner::from_seed(&seed));
    }
    let seed = fresh_seed()?;
    write_private(
        &path,
        zeroize::Zeroizing::new(hex::encode(seed.as_ref())).as_bytes(),
    )
    .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(holdfast_server::grants::GrantSigner::from_seed(&seed))
}

/// Creates the data directory readable by its owner only (0700 on Unix).
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
        .with_context(|| format!("cannot create the data directory `{}`", dir.display()))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Opens the configured store.
pub async fn open_store(
    settings: &Settings,
    signer: Arc<Signer>,
) -> anyhow::Result<Arc<dyn Store>> {
    match &settings.database_url {
        Some(url) => Ok(Arc::new(
            holdfast_store_postgres::PostgresStore::connect(url, signer)
                .await
                .context("cannot open the PostgreSQL store")?,
        )),
        None => {
            let path = settings.data.join(DB_FILE);
            let store = tokio::task::spawn_blocking(move || {
                holdfast_store_sqlite::SqliteStore::open(&path, signer)
            })
            .await?
            .context("cannot open the embedded store")?;
            Ok(Arc::new(store))
        }
    }
}

/// A server running in this process.
#[derive(Debug)]
pub struct Running {
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), holdfast_server::ServeError>>,
}

impl Running {
    /// Stops accepting, drains in-flight requests, and waits.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await?.map_err(Into::into)
    }
}

/// Opens the store, binds, and starts serving in the background.
pub async fn start(settings: &Settings) -> anyhow::Result<Running> {
    let opts = ListenOptions {
        addr: settings.listen,
        tls: settings.tls.clone(),
        insecure_http: settings.insecure_http,
    };
    holdfast_server::check_listen(&opts)?;
    // Load TLS material before binding, so a bad certificate fails the start, not the first request.
    let tls = match &settings.tls {
        Some((cert, key)) => Some(holdfast_server::load_tls(cert, key).await?),
        None => None,
    };
    let signer = Arc::new(load_signer(&settings.data)?);
    let audit_key = signer.public_info();
    let store = open_store(settings, signer.clone()).await?;
    let listener = holdfast_server::bind(&opts)?;
    let addr = listener.local_addr()?;
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let vault = Arc::new(holdfast_server::vault::VaultState::new(
        settings.unseal_key_file.clone(),
    ));
    if vault
        .unseal_from_key_file(store.as_ref())
        .await
        .map_err(|e| anyhow::anyhow!(e))?
    {
        tracing::info!("vault unsealed from its key file");
    }
    let node = audit_key.key_id.clone();
    let policy = Arc::new(
        holdfast_server::authz::PolicyState::load(store.as_ref())
            .await
            .map_err(|e| anyhow::anyhow!("loading the policy set: {}", e.message))?,
    );
    let state = AppState {
        store,
        clock: Arc::new(SystemClock),
        audit_key,
        graph: Default::default(),
        vault,
        rotators: Arc::new(settings.rotators.clone()),
        policy,
        tokens: Default::default(),
        grants: Arc::new(load_grant_signer(&settings.data)?),
        monitor: Arc::new(holdfast_server::monitoring::MonitorState::new(
            settings.monitor.clone(),
        )),
        posture: Arc::new(holdfast_server::posture::PostureState::new(
            settings.posture.clone(),
        )),
        offboard: Arc::new(holdfast_server::offboarding::OffboardState::new(
            settings.offboarding.clone(),
        )),
        signer: signer.clone(),
    };
    holdfast_server::routes::requests::publish_grant_key(&state)
        .await
        .map_err(|e| anyhow::anyhow!("publishing the grant-signing key: {}", e.message))?;
    // The rotation worker lives as long as the process; on shutdown it simply stops mid-wait, and
    // whatever step it was in is repeated by the next start (steps are idempotent).
    tokio::spawn(holdfast_server::rotation::worker(state.clone(), node));
    tokio::spawn(holdfast_server::authz::refresher(state.clone()));
    tokio::spawn(holdfast_server::routes::requests::sweeper(state.clone()));
    let app = holdfast_server::router(state);
    let (tx, rx) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = rx.await;
    };
    let task = tokio::spawn(holdfast_server::serve(listener, app, tls, shutdown));
    Ok(Running {
        url: format!("{scheme}://{addr}"),
        stop: Some(tx),
        task,
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// `holdfast serve`.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let settings = settings(args)?;
    let running = start(&settings).await?;
    let backend = if settings.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    tracing::info!(url = %running.url, backend, data = %settings.data.display(), "holdfast is serving");
    // One line on stdout that scripts and tests can wait for.
    println!("holdfast listening on {}", running.url);
    shutdown_signal().await;
    tracing::info!("shutting down: draining in-flight requests");
    running.stop().await
}
