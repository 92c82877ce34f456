//! The embedded SQLite backend: one file in the data directory, WAL journal, `synchronous=FULL` so
//! an acknowledged write survives a killed process, one writer connection and a few readers.
//!
//! rusqlite is synchronous; every call runs on tokio's blocking pool.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use holdfast_audit::{
    AuditEvent, ChainHead, Checkpoint, PublicKeyInfo, SignedHead, Signer, StoredRecord,
};
use holdfast_store::schema::{MIGRATIONS, sql};
use holdfast_store::{Change, Query, Store, StoreError, Table, Value, audit_append};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

const READERS: usize = 4;

/// The SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    readers: Vec<Arc<Mutex<Connection>>>,
    next_reader: AtomicUsize,
    signer: Arc<Signer>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and brings its schema up to date.
    pub fn open(path: &Path, signer: Arc<Signer>) -> Result<Self, StoreError> {
        let mut writer = Connection::open(path).map_err(unavailable)?;
        writer
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(unavailable)?;
        configure(&writer).map_err(unavailable)?;
        migrate(&mut writer)?;
        let info = signer.public_info();
        let known: Option<i64> = writer
            .query_row(
                "SELECT 1 FROM audit_keys WHERE key_id = ?1",
                [&info.key_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(unavailable)?;
        if known.is_none() {
            let (change, event) =
                holdfast_store::key_registration(&info, time::OffsetDateTime::now_utc());
            apply_blocking(&mut writer, &[change], &event, &signer)?;
        }
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(unavailable)?;
            configure(&r).map_err(unavailable)?;
            readers.push(Arc::new(Mutex::new(r)));
        }
        Ok(Self {
            path: path.to_path_buf(),
            writer: Arc::new(Mutex::new(writer)),
            readers,
            next_reader: AtomicUsize::new(0),
            signer,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let n = self.next_reader.fetch_add(1, Ordering::Relaxed) % READERS;
        let conn = self
            .readers
            .get(n)
            .cloned()
            .ok_or_else(|| unavailable("no reader"))?;
        tokio::task::spawn_blocking(move || {
            let guard = conn
                .lock()
                .map_err(|_| unavailable("a reader connection was poisoned"))?;
            f(&guard)
        })
        .await
        .map_err(unavailable)?
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
        .map_err(unavailable)?;
    for (version, script) in MIGRATIONS {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        let done: Option<i64> = tx
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .optional()
            .map_err(unavailable)?;
        if done.is_none() {
            tx.execute_batch(script).map_err(unavailable)?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES (?1)",
                [version],
            )
            .map_err(unavailable)?;
        }
        tx.commit().map_err(unavailable)?;
    }
    Ok(())
}

fn bind(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Text(Some(s)) => rusqlite::types::Value::Text(s.clone()),
        Value::Int(Some(i)) => rusqlite::types::Value::Integer(*i),
        Value::Text(None) | Value::Int(None) => rusqlite::types::Value::Null,
    }
}

fn placeholder(n: usize) -> String {
    format!("?{n}")
}

/// Maps a constraint failure to the store's error, naming the column at fault.
fn write_error(table: Table, e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(err, Some(msg)) = &e
        && err.code == ErrorCode::ConstraintViolation
    {
        if let Some(cols) = msg.strip_prefix("UNIQUE constraint failed: ") {
            let last = cols.rsplit(", ").next().unwrap_or(cols);
            let col = last.rsplit('.').next().unwrap_or(last);
            return StoreError::Duplicate {
                what: table.what(),
                field: table.unique_field(col),
            };
        }
        return StoreError::Reference { field: msg.clone() };
    }
    unavailable(e)
}

fn current_version(
    tx: &rusqlite::Transaction<'_>,
    table: Table,
    id: Uuid,
) -> Result<Option<i64>, StoreError> {
    tx.query_row(
        &format!("SELECT version FROM {} WHERE id = ?1", table.name()),
        [id.to_string()],
        |r| r.get(0),
    )
    .optional()
    .map_err(unavailable)
}

fn apply_change(
    tx: &rusqlite::Transaction<'_>,
    change: &Change,
    time: &str,
) -> Result<(), StoreError> {
    match change {
        Change::Insert(row) => {
            let mut vals = vec![
                rusqlite::types::Value::Text(row.id.to_string()),
                rusqlite::types::Value::Integer(row.version),
            ];
            vals.extend(row.values.iter().map(bind));
            vals.push(rusqlite::types::Value::Text(row.doc.clone()));
            let mut stmt = tx
                .prepare_cached(&sql::insert(row.table, placeholder))
                .map_err(unavailable)?;
            stmt.execute(rusqlite::params_from_iter(vals))
                .map_err(|e| write_error(row.table, e))?;
        }
        Change::Update {
            row,
            expected_version,
        } => {
            let mut vals = vec![rusqlite::types::Value::Integer(row.version)];
            vals.extend(row.values.iter().map(bind));
            vals.push(rusqlite::types::Value::Text(row.doc.clone()));
            vals.push(rusqlite::types::Value::Text(row.id.to_string()));
            vals.push(rusqlite::types::Value::Integer(*expected_version));
            let mut stmt = tx
                .prepare_cached(&sql::update(row.table, placeholder))
                .map_err(unavailable)?;
            let n = stmt
                .execute(rusqlite::params_from_iter(vals))
                .map_err(|e| write_error(row.table, e))?;
            if n == 0 {
                return Err(missing_or_stale(tx, row.table, row.id, *expected_version));
            }
        }
        Change::Delete {
            table,
            id,
            expected_version,
        } => {
            let n = tx
                .execute(
                    &format!(
                        "DELETE FROM {} WHERE id = ?1 AND version = ?2",
                        table.name()
                    ),
                    params![id.to_string(), expected_version],
                )
                .map_err(|e| write_error(*table, e))?;
            if n == 0 {
                return Err(missing_or_stale(tx, *table, *id, *expected_version));
            }
        }
        Change::RegisterAuditKey(info) => {
            tx.execute(
                "INSERT INTO audit_keys (key_id, public_key, registered_at) VALUES (?1, ?2, ?3) ON CONFLICT (key_id) DO NOTHING",
                params![info.key_id, info.public_key, time],
            )
            .map_err(unavailable)?;
        }
        Change::Initialize => {
            let n = tx
                .execute("INSERT INTO meta (key, value) VALUES ('initialized_at', ?1) ON CONFLICT (key) DO NOTHING", [time])
                .map_err(unavailable)?;
            if n == 0 {
                return Err(StoreError::AlreadyInitialized);
            }
        }
    }
    Ok(())
}

fn missing_or_stale(
    tx: &rusqlite::Transaction<'_>,
    table: Table,
    id: Uuid,
    expected: i64,
) -> StoreError {
    match current_version(tx, table, id) {
        Ok(Some(actual)) => StoreError::Stale {
            what: table.what(),
            id,
            expected,
            actual,
        },
        Ok(None) => StoreError::NotFound {
            what: table.what(),
            id,
        },
        Err(e) => e,
    }
}

fn apply_blocking(
    conn: &mut Connection,
    changes: &[Change],
    event: &AuditEvent,
    signer: &Signer,
) -> Result<u64, StoreError> {
    let time = event
        .time
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(unavailable)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    for change in changes {
        apply_change(&tx, change, &time)?;
    }
    let (seq, hash): (i64, String) = tx
        .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(unavailable)?;
    let head = u64::try_from(seq)
        .ok()
        .and_then(|s| ChainHead::from_hex(s, &hash))
        .ok_or_else(|| {
            StoreError::Corrupt("the audit head is not a sequence number and hash".into())
        })?;
    let w = audit_append(head, event, signer);
    let seq = i64::try_from(w.record.seq).map_err(unavailable)?;
    tx.prepare_cached("INSERT INTO audit_log (seq, prev_hash, hash, body) VALUES (?1, ?2, ?3, ?4)")
        .and_then(|mut s| {
            s.execute(params![
                seq,
                w.record.prev_hash,
                w.record.hash,
                w.record.body
            ])
        })
        .map_err(|e| StoreError::AuditUnavailable(e.to_string()))?;
    tx.prepare_cached(
        "UPDATE audit_head SET seq = ?1, hash = ?2, key_id = ?3, signature = ?4 WHERE id = 1",
    )
    .and_then(|mut s| s.execute(params![seq, w.head.hash, w.head.key_id, w.head.signature]))
    .map_err(|e| StoreError::AuditUnavailable(format!("head: {e}")))?;
    if let Some(cp) = &w.checkpoint {
        tx.execute(
            "INSERT INTO audit_checkpoints (seq, hash, key_id, signature) VALUES (?1, ?2, ?3, ?4)",
            params![seq, cp.hash, cp.key_id, cp.signature],
        )
        .map_err(|e| StoreError::AuditUnavailable(format!("checkpoint: {e}")))?;
    }
    tx.commit().map_err(unavailable)?;
    Ok(w.record.seq)
}

fn record_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRecord> {
    let seq: i64 = r.get(0)?;
    Ok(StoredRecord {
        seq: u64::try_from(seq).unwrap_or(0),
        prev_hash: r.get(1)?,
        hash: r.get(2)?,
        body: r.get(3)?,
    })
}

fn checkpoint_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Checkpoint> {
    let seq: i64 = r.get(0)?;
    Ok(Checkpoint {
        seq: u64::try_from(seq).unwrap_or(0),
        hash: r.get(1)?,
        key_id: r.get(2)?,
        signature: r.get(3)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn apply(&self, changes: Vec<Change>, event: AuditEvent) -> Result<u64, StoreError> {
        let writer = self.writer.clone();
        let signer = self.signer.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = writer
                .lock()
                .map_err(|_| unavailable("the writer connection was poisoned"))?;
            apply_blocking(&mut conn, &changes, &event, &signer)
        })
        .await
        .map_err(unavailable)?
    }

    async fn get_doc(&self, table: Table, id: Uuid) -> Result<Option<String>, StoreError> {
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT doc FROM {} WHERE id = ?1", table.name()))
                .and_then(|mut s| s.query_row([id.to_string()], |r| r.get(0)).optional())
                .map_err(unavailable)
        })
        .await
    }

    async fn find_docs(&self, query: &Query) -> Result<Vec<String>, StoreError> {
        let (text, params) = sql::select(query, "LIKE", placeholder);
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&text).map_err(unavailable)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params.iter().map(bind)), |r| {
                    r.get::<_, String>(0)
                })
                .map_err(unavailable)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
        })
        .await
    }

    async fn is_initialized(&self) -> Result<bool, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT 1 FROM meta WHERE key = 'initialized_at'",
                [],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(unavailable)
        })
        .await
    }

    async fn audit_records(&self, after: u64, limit: u32) -> Result<Vec<StoredRecord>, StoreError> {
        let after = i64::try_from(after).map_err(unavailable)?;
        self.read(move |c| {
            let mut s = c
                .prepare_cached("SELECT seq, prev_hash, hash, body FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                .map_err(unavailable)?;
            let rows = s.query_map(params![after, limit], record_from_row).map_err(unavailable)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
        })
        .await
    }

    async fn audit_tail(&self, limit: u32) -> Result<Vec<StoredRecord>, StoreError> {
        self.read(move |c| {
            let mut s = c
                .prepare_cached(
                    "SELECT seq, prev_hash, hash, body FROM audit_log ORDER BY seq DESC LIMIT ?1",
                )
                .map_err(unavailable)?;
            let rows = s.query_map([limit], record_from_row).map_err(unavailable)?;
            let mut out = rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)?;
            out.reverse();
            Ok(out)
        })
        .await
    }

    async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        self.read(|c| {
            let mut s = c
                .prepare("SELECT seq, hash, key_id, signature FROM audit_checkpoints ORDER BY seq")
                .map_err(unavailable)?;
            let rows = s.query_map([], checkpoint_from_row).map_err(unavailable)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
        })
        .await
    }

    async fn audit_head(&self) -> Result<Option<SignedHead>, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT seq, hash, key_id, signature FROM audit_head WHERE id = 1 AND seq > 0",
                [],
                checkpoint_from_row,
            )
            .optional()
            .map_err(unavailable)
        })
        .await
    }

    async fn audit_keys(&self) -> Result<Vec<PublicKeyInfo>, StoreError> {
        self.read(|c| {
            let mut s = c
                .prepare("SELECT key_id, public_key FROM audit_keys ORDER BY registered_at, key_id")
                .map_err(unavailable)?;
            let rows = s
                .query_map([], |r| {
                    Ok(PublicKeyInfo {
                        key_id: r.get(0)?,
                        public_key: r.get(1)?,
                    })
                })
                .map_err(unavailable)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
        })
        .await
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}
