//! The PostgreSQL backend, for several Holdfast replicas on one database.
//!
//! Every write transaction first locks the audit head row (`SELECT … FOR UPDATE`), so writers from
//! all replicas are serialised through the audit chain: the chain never forks, version checks are
//! exact, and two writers cannot deadlock on each other's rows.

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use holdfast_audit::{
    AuditEvent, ChainHead, Checkpoint, PublicKeyInfo, SignedHead, Signer, StoredRecord,
};
use holdfast_store::schema::{MIGRATIONS, sql};
use holdfast_store::{Change, Query, Store, StoreError, Table, Value, audit_append};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row as PgRow};
use uuid::Uuid;

/// Lock id for schema migrations, so replicas starting together migrate once.
const MIGRATION_LOCK: i64 = 0x686f_6c64_6661_7374; // "holdfast"

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: Pool,
    signer: Arc<Signer>,
    database: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// Describes a driver error without echoing parameters (which could hold record contents).
fn pg_error(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => {
            StoreError::Unavailable(format!("postgres: {} ({})", db.message(), db.code().code()))
        }
        None => StoreError::Unavailable(format!("postgres: {e}")),
    }
}

fn write_error(table: Table, e: tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        let constraint = e.as_db_error().and_then(|d| d.constraint()).unwrap_or("");
        let field = match constraint.split_once("__") {
            Some((_, f)) => f.to_string(),
            None if constraint.ends_with("_pkey") => "id".to_string(),
            None => constraint.to_string(),
        };
        return StoreError::Duplicate {
            what: table.what(),
            field: table.unique_field(&field),
        };
    }
    pg_error(e)
}

fn placeholder(n: usize) -> String {
    format!("${n}")
}

type Param = Box<dyn ToSql + Sync + Send>;

fn bind(v: &Value) -> Param {
    match v {
        Value::Text(s) => Box::new(s.clone()),
        Value::Int(i) => Box::new(*i),
    }
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`), migrates the schema and registers the
    /// node's audit key.
    pub async fn connect(url: &str, signer: Arc<Signer>) -> Result<Self, StoreError> {
        let config = tokio_postgres::Config::from_str(url).map_err(|e| {
            StoreError::Unavailable(format!(
                "the database URL is not a PostgreSQL connection string: {e}"
            ))
        })?;
        let database = config.get_dbname().unwrap_or("postgres").to_string();
        let mgr = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(16)
            .build()
            .map_err(unavailable)?;
        let store = Self {
            pool,
            signer,
            database,
        };
        store.migrate().await?;
        store.register_key().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(pg_error)?;
        let result = async {
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)",
                )
                .await
                .map_err(pg_error)?;
            for (version, script) in MIGRATIONS {
                let tx = client.transaction().await.map_err(pg_error)?;
                let done = tx
                    .query_opt(
                        "SELECT version FROM schema_migrations WHERE version = $1",
                        &[version],
                    )
                    .await
                    .map_err(pg_error)?;
                if done.is_none() {
                    tx.batch_execute(script).await.map_err(pg_error)?;
                    tx.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)",
                        &[version],
                    )
                    .await
                    .map_err(pg_error)?;
                }
                tx.commit().await.map_err(pg_error)?;
            }
            Ok(())
        }
        .await;
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(pg_error)?;
        result
    }

    async fn register_key(&self) -> Result<(), StoreError> {
        let info = self.signer.public_info();
        let known = self
            .client()
            .await?
            .query_opt(
                "SELECT 1 FROM audit_keys WHERE key_id = $1",
                &[&info.key_id],
            )
            .await
            .map_err(pg_error)?;
        if known.is_none() {
            let (change, event) =
                holdfast_store::key_registration(&info, time::OffsetDateTime::now_utc());
            self.apply(vec![change], event).await?;
        }
        Ok(())
    }
}

async fn missing_or_stale(
    tx: &Transaction<'_>,
    table: Table,
    id: Uuid,
    expected: i64,
) -> StoreError {
    let q = format!("SELECT version FROM {} WHERE id = $1", table.name());
    match tx.query_opt(&q, &[&id.to_string()]).await {
        Ok(Some(row)) => match row.try_get::<_, i64>(0) {
            Ok(actual) => StoreError::Stale {
                what: table.what(),
                id,
                expected,
                actual,
            },
            Err(e) => pg_error(e),
        },
        Ok(None) => StoreError::NotFound {
            what: table.what(),
            id,
        },
        Err(e) => pg_error(e),
    }
}

async fn apply_change(tx: &Transaction<'_>, change: &Change, time: &str) -> Result<(), StoreError> {
    match change {
        Change::Insert(row) => {
            let mut params: Vec<Param> = vec![Box::new(row.id.to_string()), Box::new(row.version)];
            params.extend(row.values.iter().map(bind));
            params.push(Box::new(row.doc.clone()));
            let stmt = tx
                .prepare_cached(&sql::insert(row.table, placeholder))
                .await
                .map_err(pg_error)?;
            tx.execute(&stmt, &refs(&params))
                .await
                .map_err(|e| write_error(row.table, e))?;
        }
        Change::Update {
            row,
            expected_version,
        } => {
            let mut params: Vec<Param> = vec![Box::new(row.version)];
            params.extend(row.values.iter().map(bind));
            params.push(Box::new(row.doc.clone()));
            params.push(Box::new(row.id.to_string()));
            params.push(Box::new(*expected_version));
            let stmt = tx
                .prepare_cached(&sql::update(row.table, placeholder))
                .await
                .map_err(pg_error)?;
            let n = tx
                .execute(&stmt, &refs(&params))
                .await
                .map_err(|e| write_error(row.table, e))?;
            if n == 0 {
                return Err(missing_or_stale(tx, row.table, row.id, *expected_version).await);
            }
        }
        Change::Delete {
            table,
            id,
            expected_version,
        } => {
            let q = format!(
                "DELETE FROM {} WHERE id = $1 AND version = $2",
                table.name()
            );
            let n = tx
                .execute(&q, &[&id.to_string(), expected_version])
                .await
                .map_err(|e| write_error(*table, e))?;
            if n == 0 {
                return Err(missing_or_stale(tx, *table, *id, *expected_version).await);
            }
        }
        Change::RegisterAuditKey(info) => {
            tx.execute(
                "INSERT INTO audit_keys (key_id, public_key, registered_at) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING",
                &[&info.key_id, &info.public_key, &time],
            )
            .await
            .map_err(pg_error)?;
        }
        Change::Initialize => {
            let n = tx
                .execute("INSERT INTO meta (key, value) VALUES ('initialized_at', $1) ON CONFLICT (key) DO NOTHING", &[&time])
                .await
                .map_err(pg_error)?;
            if n == 0 {
                return Err(StoreError::AlreadyInitialized);
            }
        }
    }
    Ok(())
}

fn seq_of(row: &PgRow) -> Result<u64, StoreError> {
    let seq: i64 = row.try_get(0).map_err(pg_error)?;
    u64::try_from(seq).map_err(unavailable)
}

fn record_from_row(row: &PgRow) -> Result<StoredRecord, StoreError> {
    Ok(StoredRecord {
        seq: seq_of(row)?,
        prev_hash: row.try_get(1).map_err(pg_error)?,
        hash: row.try_get(2).map_err(pg_error)?,
        body: row.try_get(3).map_err(pg_error)?,
    })
}

fn checkpoint_from_row(row: &PgRow) -> Result<Checkpoint, StoreError> {
    Ok(Checkpoint {
        seq: seq_of(row)?,
        hash: row.try_get(1).map_err(pg_error)?,
        key_id: row.try_get(2).map_err(pg_error)?,
        signature: row.try_get(3).map_err(pg_error)?,
    })
}

#[async_trait]
impl Store for PostgresStore {
    async fn apply(&self, changes: Vec<Change>, event: AuditEvent) -> Result<u64, StoreError> {
        let time = event
            .time
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(unavailable)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        // Lock the chain head first: it orders every writer of every replica.
        let head_row = tx
            .query_one(
                "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
                &[],
            )
            .await
            .map_err(pg_error)?;
        let hash: String = head_row.try_get(1).map_err(pg_error)?;
        let head = ChainHead::from_hex(seq_of(&head_row)?, &hash).ok_or_else(|| {
            StoreError::Corrupt("the audit head is not a sequence number and hash".into())
        })?;
        for change in &changes {
            apply_change(&tx, change, &time).await?;
        }
        let w = audit_append(head, &event, &self.signer);
        let seq = i64::try_from(w.record.seq).map_err(unavailable)?;
        tx.execute(
            "INSERT INTO audit_log (seq, prev_hash, hash, body) VALUES ($1, $2, $3, $4)",
            &[&seq, &w.record.prev_hash, &w.record.hash, &w.record.body],
        )
        .await
        .map_err(|e| StoreError::AuditUnavailable(format!("record: {}", pg_error(e))))?;
        tx.execute(
            "UPDATE audit_head SET seq = $1, hash = $2, key_id = $3, signature = $4 WHERE id = 1",
            &[&seq, &w.head.hash, &w.head.key_id, &w.head.signature],
        )
        .await
        .map_err(|e| StoreError::AuditUnavailable(format!("head: {}", pg_error(e))))?;
        if let Some(cp) = &w.checkpoint {
            tx.execute(
                "INSERT INTO audit_checkpoints (seq, hash, key_id, signature) VALUES ($1, $2, $3, $4)",
                &[&seq, &cp.hash, &cp.key_id, &cp.signature],
            )
            .await
            .map_err(|e| StoreError::AuditUnavailable(format!("checkpoint: {}", pg_error(e))))?;
        }
        tx.commit().await.map_err(pg_error)?;
        Ok(w.record.seq)
    }

    async fn get_doc(&self, table: Table, id: Uuid) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!("SELECT doc FROM {} WHERE id = $1", table.name()))
            .await
            .map_err(pg_error)?;
        let row = client
            .query_opt(&stmt, &[&id.to_string()])
            .await
            .map_err(pg_error)?;
        row.map(|r| r.try_get(0).map_err(pg_error)).transpose()
    }

    async fn find_docs(&self, query: &Query) -> Result<Vec<String>, StoreError> {
        let (text, params) = sql::select(query, "ILIKE", placeholder);
        let params: Vec<Param> = params.iter().map(bind).collect();
        let client = self.client().await?;
        let stmt = client.prepare_cached(&text).await.map_err(pg_error)?;
        let rows = client
            .query(&stmt, &refs(&params))
            .await
            .map_err(pg_error)?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(pg_error))
            .collect()
    }

    async fn is_initialized(&self) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT 1 FROM meta WHERE key = 'initialized_at'", &[])
            .await
            .map_err(pg_error)?;
        Ok(row.is_some())
    }

    async fn audit_records(&self, after: u64, limit: u32) -> Result<Vec<StoredRecord>, StoreError> {
        let after = i64::try_from(after).map_err(unavailable)?;
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT seq, prev_hash, hash, body FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &i64::from(limit)],
            )
            .await
            .map_err(pg_error)?;
        rows.iter().map(record_from_row).collect()
    }

    async fn audit_tail(&self, limit: u32) -> Result<Vec<StoredRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT seq, prev_hash, hash, body FROM audit_log ORDER BY seq DESC LIMIT $1",
                &[&i64::from(limit)],
            )
            .await
            .map_err(pg_error)?;
        let mut out = rows
            .iter()
            .map(record_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        out.reverse();
        Ok(out)
    }

    async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT seq, hash, key_id, signature FROM audit_checkpoints ORDER BY seq",
                &[],
            )
            .await
            .map_err(pg_error)?;
        rows.iter().map(checkpoint_from_row).collect()
    }

    async fn audit_head(&self) -> Result<Option<SignedHead>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT seq, hash, key_id, signature FROM audit_head WHERE id = 1 AND seq > 0",
                &[],
            )
            .await
            .map_err(pg_error)?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }

    async fn audit_keys(&self) -> Result<Vec<PublicKeyInfo>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT key_id, public_key FROM audit_keys ORDER BY registered_at, key_id",
                &[],
            )
            .await
            .map_err(pg_error)?;
        rows.iter()
            .map(|r| {
                Ok(PublicKeyInfo {
                    key_id: r.try_get(0).map_err(pg_error)?,
                    public_key: r.try_get(1).map_err(pg_error)?,
                })
            })
            .collect()
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}

/// Test support: a fresh database per test on the server named by `HOLDFAST_TEST_DATABASE_URL`,
/// dropped when the guard goes.
pub mod testdb {
    use std::str::FromStr;

    /// The environment variable naming the PostgreSQL server the tests use.
    pub const URL_VAR: &str = "HOLDFAST_TEST_DATABASE_URL";
    /// When set, a missing [`URL_VAR`] fails the tests instead of skipping them (CI sets it).
    pub const REQUIRE_VAR: &str = "HOLDFAST_REQUIRE_POSTGRES";

    /// A database that exists until this guard is dropped.
    #[derive(Debug)]
    pub struct TestDb {
        admin_url: String,
        pub name: String,
        pub url: String,
    }

    /// The admin URL, or `None` (with a line on stderr) when the PostgreSQL suite is off.
    ///
    /// # Panics
    /// When the suite is required but no URL is set.
    #[allow(clippy::panic)]
    pub fn admin_url() -> Option<String> {
        match std::env::var(URL_VAR) {
            Ok(u) if !u.is_empty() => Some(u),
            _ if std::env::var_os(REQUIRE_VAR).is_some() => {
                panic!("{REQUIRE_VAR} is set but {URL_VAR} is not: the PostgreSQL suite cannot run")
            }
            _ => {
                eprintln!("PostgreSQL suite off: set {URL_VAR}=postgres://… to run it");
                None
            }
        }
    }

    impl TestDb {
        /// Creates a uniquely named database.
        pub async fn create(admin_url: &str) -> Result<Self, String> {
            let name = format!("holdfast_test_{}", uuid::Uuid::now_v7().simple());
            let (client, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .map_err(|e| e.to_string())?;
            let mut cfg = tokio_postgres::Config::from_str(admin_url).map_err(|e| e.to_string())?;
            cfg.dbname(&name);
            let url = config_to_url(&cfg, &name);
            Ok(Self {
                admin_url: admin_url.to_string(),
                name,
                url,
            })
        }
    }

    fn config_to_url(cfg: &tokio_postgres::Config, db: &str) -> String {
        let user = cfg.get_user().unwrap_or("postgres");
        let host = match cfg.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".to_string(),
        };
        let port = cfg.get_ports().first().copied().unwrap_or(5432);
        let pass = cfg
            .get_password()
            .map(|p| format!(":{}", String::from_utf8_lossy(p)))
            .unwrap_or_default();
        format!("postgres://{user}{pass}@{host}:{port}/{db}")
    }

    impl Drop for TestDb {
        fn drop(&mut self) {
            let admin = self.admin_url.clone();
            let name = self.name.clone();
            // Dropping needs async I/O; do it on a thread with its own runtime so any caller can drop.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    if let Ok((client, conn)) =
                        tokio_postgres::connect(&admin, tokio_postgres::NoTls).await
                    {
                        tokio::spawn(conn);
                        let _ = client
                            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}
