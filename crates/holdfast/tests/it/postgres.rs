//! Two `holdfast serve` processes on one PostgreSQL database.

use holdfast_client::ClientError;
use holdfast_store_postgres::testdb::{TestDb, admin_url};
use holdfast_types::UpdateIdentityRequest;

use crate::common::{Server, identity_req, owner};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_lose_nothing_and_refuse_stale_updates() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await.unwrap();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Server::start(d1.path(), &["--database-url", &db.url]);
    let b = Server::start(d2.path(), &["--database-url", &db.url]);
    let token = a.init().await;
    let (ca, cb) = (a.client(Some(&token)), b.client(Some(&token)));
    assert_eq!(cb.health().await.unwrap().backend, "postgres");
    owner(&ca, "team").await;

    let mut tasks = vec![];
    for (n, c) in [ca.clone(), cb.clone(), ca.clone(), cb.clone()]
        .into_iter()
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            let mut ids = vec![];
            for i in 0..40 {
                ids.push(
                    c.create_identity(&identity_req(&format!("s{n}-{i}"), "team"))
                        .await
                        .unwrap()
                        .id,
                );
            }
            ids
        }));
    }
    let mut ids = vec![];
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    assert_eq!(ids.len(), 160);
    let all_a = ca
        .list_identities(vec![("limit", Some("500".into()))])
        .await
        .unwrap()
        .items;
    let all_b = cb
        .list_identities(vec![("limit", Some("500".into()))])
        .await
        .unwrap()
        .items;
    assert_eq!(all_a.len(), 160);
    assert_eq!(all_a, all_b, "both servers see the same inventory");

    // Both servers update the same identity from version 1: one wins, the other gets 409.
    let target = ids[0].to_string();
    let upd = |p: &str| UpdateIdentityRequest {
        version: Some(1),
        purpose: Some(p.into()),
        ..Default::default()
    };
    let (ua, ub) = (upd("from a"), upd("from b"));
    let (ra, rb) = tokio::join!(
        ca.update_identity(&target, &ua),
        cb.update_identity(&target, &ub)
    );
    let (ok, err) = match (ra, rb) {
        (Ok(v), Err(e)) | (Err(e), Ok(v)) => (v, e),
        other => panic!("exactly one update must win: {other:?}"),
    };
    assert_eq!(ok.version, 2);
    match err {
        ClientError::Api { status: 409, error } => {
            assert_eq!(error.code, "stale");
            assert!(
                error.message.contains("changed by someone else"),
                "{}",
                error.message
            );
        }
        other => panic!("{other:?}"),
    }
    for c in [&ca, &cb] {
        let r = c.audit_verify(None).await.unwrap();
        assert!(r.ok, "{r:?}");
        assert_eq!(r.records_checked, 2 + 1 + 1 + 160 + 1);
    }
    assert_eq!(
        ca.audit_keys().await.unwrap().len(),
        2,
        "each node signs with its own registered key"
    );
    a.stop();
    b.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_on_one_replica_is_the_graph_of_the_other() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await.unwrap();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Server::start(d1.path(), &["--database-url", &db.url]);
    let b = Server::start(d2.path(), &["--database-url", &db.url]);
    let token = a.init().await;
    let (ca, cb) = (a.client(Some(&token)), b.client(Some(&token)));
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/estate/kubernetes");
    let inputs: Vec<holdfast_types::DiscoverInput> =
        ["payments.yaml", "cluster-rbac.yaml", "kube-system.yaml"]
            .iter()
            .map(|f| holdfast_types::DiscoverInput {
                name: Some((*f).to_string()),
                content: Some(std::fs::read_to_string(root.join(f)).unwrap()),
            })
            .collect();
    let req = holdfast_types::DiscoverRequest {
        inputs,
        system: Some("prod".into()),
    };
    let key = "k8s:prod:serviceaccount:kube-system/backup-agent";
    // B builds (and caches) its graph before anything is imported.
    assert_eq!(
        cb.blast_radius(Some(key), None, None)
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
    let first = ca.discover("kubernetes", &req).await.unwrap();
    assert_eq!(first.identities_created, 6);
    // B notices the import (its cache is keyed by the sources' versions) and answers from it.
    let br = cb.blast_radius(Some(key), None, None).await.unwrap();
    assert!(br.tier.management_plane);
    let again = cb.discover("kubernetes", &req).await.unwrap();
    assert!(!again.changed, "{again:#?}");
    assert_eq!(again.identities_unchanged, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_written_through_the_api_is_in_no_postgres_table() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await.unwrap();
    let d = tempfile::tempdir().unwrap();
    let s = Server::start(d.path(), &["--database-url", &db.url]);
    let token = s.init().await;
    let c = s.client(Some(&token));
    let plaintext = "pg-pl41ntext-never-at-rest-91c2";
    c.put_secret(
        "team/db/password",
        &holdfast_types::PutSecretRequest {
            value: Some(plaintext.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        c.get_secret("team/db/password", None).await.unwrap().value,
        plaintext
    );
    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let tables = client
        .query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .await
        .unwrap();
    assert!(tables.len() >= 10);
    let mut saw_ciphertext = false;
    for t in tables {
        let name: String = t.get(0);
        let rows = client
            .query(&format!("SELECT t::text FROM \"{name}\" t"), &[])
            .await
            .unwrap();
        for r in rows {
            let text: String = r.get(0);
            assert!(!text.contains(plaintext), "plaintext in table {name}");
            saw_ciphertext |= text.contains("hfv1:");
        }
    }
    assert!(saw_ciphertext);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_replica_unseals_on_its_own_and_follows_the_other_s_keyring_rotation() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await.unwrap();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Server::start(d1.path(), &["--database-url", &db.url]);
    let b = Server::start(d2.path(), &["--database-url", &db.url]);
    let init = a
        .client(None)
        .init_with(&holdfast_types::InitRequest {
            shares: Some(2),
            threshold: Some(2),
        })
        .await
        .unwrap();
    let (ca, cb) = (
        a.client(Some(&init.root_token)),
        b.client(Some(&init.root_token)),
    );
    let put = |v: &str| holdfast_types::PutSecretRequest {
        value: Some(v.into()),
        ..Default::default()
    };
    ca.put_secret("shared/one", &put("before-rotation"))
        .await
        .unwrap();
    // B has its own seal state.
    assert!(cb.health().await.unwrap().sealed);
    assert_eq!(
        cb.get_secret("shared/one", None)
            .await
            .unwrap_err()
            .status(),
        Some(503)
    );
    cb.unseal(&init.unseal_shares[0]).await.unwrap();
    cb.unseal(&init.unseal_shares[1]).await.unwrap();
    assert_eq!(
        cb.get_secret("shared/one", None).await.unwrap().value,
        "before-rotation"
    );
    // A rotates the keyring; B reads what A writes under the new key.
    assert_eq!(ca.rotate_keyring().await.unwrap().active_key, 2);
    ca.put_secret("shared/two", &put("after-rotation"))
        .await
        .unwrap();
    assert_eq!(
        cb.get_secret("shared/two", None).await.unwrap().value,
        "after-rotation"
    );
    assert_eq!(
        cb.get_secret("shared/one", None).await.unwrap().value,
        "before-rotation"
    );
}
