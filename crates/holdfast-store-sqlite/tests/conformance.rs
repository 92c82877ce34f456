//! The store conformance suite on the embedded SQLite backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use holdfast_audit::Signer;
use holdfast_store::Store;
use holdfast_store_sqlite::SqliteStore;

fn signer(n: u8) -> Arc<Signer> {
    Arc::new(Signer::from_seed(&[n; 32]))
}

async fn fresh() -> Option<(Arc<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("holdfast.db"), signer(1)).unwrap();
    Some((Arc::new(store), dir))
}

async fn second(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(&dir.path().join("holdfast.db"), signer(2)).unwrap())
}

mod conformance {
    use super::*;

    holdfast_store::conformance_tests!(fresh(), second);
}
