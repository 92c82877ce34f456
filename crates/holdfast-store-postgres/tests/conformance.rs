//! The store conformance suite on a real PostgreSQL (`HOLDFAST_TEST_DATABASE_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use holdfast_audit::Signer;
use holdfast_store::Store;
use holdfast_store_postgres::PostgresStore;
use holdfast_store_postgres::testdb::{TestDb, admin_url};

fn signer(n: u8) -> Arc<Signer> {
    Arc::new(Signer::from_seed(&[n; 32]))
}

async fn fresh() -> Option<(Arc<dyn Store>, TestDb)> {
    let admin = admin_url()?;
    let db = TestDb::create(&admin).await.unwrap();
    let store = PostgresStore::connect(&db.url, signer(1)).await.unwrap();
    Some((Arc::new(store), db))
}

async fn second(db: &TestDb) -> Arc<dyn Store> {
    Arc::new(PostgresStore::connect(&db.url, signer(2)).await.unwrap())
}

mod conformance {
    use super::*;

    holdfast_store::conformance_tests!(fresh(), second);
}
