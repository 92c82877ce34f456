//! Two `holdfast serve` processes on one PostgreSQL database.

use holdfast_client::ClientError;
use holdfast_store_postgres::testdb::{TestDb, admin_url};
use holdfast_types::UpdateIdentityRequest;

use crate::common::{Server, cli, identity_req, owner, stderr};

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
        // 2 audit keys + 2 grant keys + init + owner + 160 identities + the winning update.
        assert_eq!(r.records_checked, 2 + 2 + 1 + 1 + 160 + 1);
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
    let client = connect(&db.url).await;
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

/// A group role and two login roles in it, as the PostgreSQL rotator expects: blue can log in with
/// `password`, green cannot yet. Roles are cluster-wide, so the names are unique per test; each
/// test drops them at its end.
/// A client on `url`, its connection driven in the background.
pub(crate) async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

pub(crate) async fn rotation_roles(
    pg: &tokio_postgres::Client,
    password: &str,
) -> (String, String, String) {
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let tag = &tag[tag.len() - 10..];
    let (group, blue, green) = (
        format!("hf_app_{tag}"),
        format!("hf_blue_{tag}"),
        format!("hf_green_{tag}"),
    );
    pg.batch_execute(&format!(
        "CREATE ROLE {group} NOLOGIN; CREATE ROLE {blue} LOGIN PASSWORD '{password}' IN ROLE {group}; CREATE ROLE {green} NOLOGIN IN ROLE {group};"
    ))
    .await
    .unwrap();
    (group, blue, green)
}

/// `(can log in, has a password)` of a PostgreSQL role.
pub(crate) async fn role_state(pg: &tokio_postgres::Client, role: &str) -> (bool, bool) {
    let row = pg
        .query_one(
            "SELECT rolcanlogin, rolpassword IS NOT NULL FROM pg_authid WHERE rolname = $1",
            &[&role],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_killed_midway_leaves_a_valid_credential_and_resumes_after_restart() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await.unwrap();
    let pg = connect(&db.url).await;
    let (group, blue, green) = rotation_roles(&pg, "initial-blue-password").await;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = dir.path().join("unseal.key");
    let args = ["--unseal-key-file", key.to_str().unwrap()];
    let mut a = Server::start_env(&data, &args, &[("HOLDFAST_FAULT", "abort-after-apply")]);
    let token = a.client(None).init().await.unwrap().root_token;
    let c = a.client(Some(&token));
    let put = |v: String| holdfast_types::PutSecretRequest {
        value: Some(v),
        ..Default::default()
    };
    c.put_secret("pg/admin", &put(db.url.clone()))
        .await
        .unwrap();
    c.put_secret(
        "db/app",
        &put(format!(
            r#"{{"login":"{blue}","password":"initial-blue-password"}}"#
        )),
    )
    .await
    .unwrap();
    let out = cli(
        &a.url,
        Some(&token),
        &[
            "secret",
            "rotate",
            "db/app",
            "--admin-secret",
            "pg/admin",
            "--blue-role",
            &blue,
            "--green-role",
            &green,
            "--grace-seconds",
            "0",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The worker makes green valid, then the process dies before recording it.
    let mut exited = false;
    for _ in 0..120 {
        if a.child.try_wait().unwrap().is_some() {
            exited = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(exited, "the fault hook did not fire");
    assert_eq!(
        role_state(&pg, &blue).await,
        (true, true),
        "the old credential still works"
    );
    assert_eq!(
        role_state(&pg, &green).await,
        (true, true),
        "the new one was applied"
    );

    // Restarted without the fault: the rotation resumes and finishes; at every moment the version
    // consumers are served names a role that can log in.
    let b = Server::start(&data, &args);
    let c = b.client(Some(&token));
    let mut finished = false;
    for _ in 0..120 {
        let current = c.get_secret("db/app", None).await.unwrap();
        let value: serde_json::Value = serde_json::from_str(&current.value).unwrap();
        let login = value["login"].as_str().unwrap().to_string();
        assert!(
            role_state(&pg, &login).await.0,
            "consumers were served {login}, which cannot log in"
        );
        let r = c.rotation("db/app").await.unwrap();
        assert!(r.last_error.is_none(), "{:?}", r.last_error);
        if r.finished {
            finished = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(finished, "the rotation did not finish after the restart");
    let current = c.get_secret("db/app", None).await.unwrap();
    assert_eq!(current.version, 2);
    let value: serde_json::Value = serde_json::from_str(&current.value).unwrap();
    assert_eq!(value["login"], green.as_str());
    assert_ne!(value["password"], "initial-blue-password");
    assert_eq!(role_state(&pg, &green).await, (true, true));
    assert_eq!(
        role_state(&pg, &blue).await,
        (false, false),
        "the old credential is revoked"
    );
    // The new password never reached the audit log.
    let audit = serde_json::to_string(&c.audit(None, Some(1000)).await.unwrap()).unwrap();
    assert!(!audit.contains(value["password"].as_str().unwrap()));
    drop(b);
    pg.batch_execute(&format!(
        "DROP ROLE {green}; DROP ROLE {blue}; DROP ROLE {group};"
    ))
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_past_their_max_age_and_leaked_ones_are_rotated_again_the_same_way() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await.unwrap();
    let pg = connect(&db.url).await;
    let (group, blue, green) = rotation_roles(&pg, "first-password").await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("unseal.key");
    let s = Server::start(
        &dir.path().join("data"),
        &["--unseal-key-file", key.to_str().unwrap()],
    );
    let token = s.client(None).init().await.unwrap().root_token;
    let c = s.client(Some(&token));
    let put = |v: String| holdfast_types::PutSecretRequest {
        value: Some(v),
        ..Default::default()
    };
    c.put_secret("pg/admin", &put(db.url.clone()))
        .await
        .unwrap();
    c.put_secret(
        "db/app",
        &put(format!(
            r#"{{"login":"{blue}","password":"first-password"}}"#
        )),
    )
    .await
    .unwrap();
    let wait_finished = |c: holdfast_client::Client| async move {
        for _ in 0..120 {
            if let Ok(r) = c.rotation("db/app").await
                && r.finished
            {
                return r;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        panic!("rotation did not finish");
    };
    let req = holdfast_types::StartRotationRequest {
        rotator: Some("postgres".into()),
        settings: Some(
            serde_json::json!({"admin_secret": "pg/admin", "blue_role": blue, "green_role": green}),
        ),
        grace_seconds: Some(3600),
    };
    c.start_rotation("db/app", &req).await.unwrap();
    // A long grace period: the old role stays valid until consumers acknowledge.
    for _ in 0..120 {
        if c.get_secret("db/app", None).await.unwrap().version == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(
        role_state(&pg, &blue).await,
        (true, true),
        "still valid during the grace period"
    );
    c.acknowledge_rotation("db/app").await.unwrap();
    let first = wait_finished(c.clone()).await;
    assert_eq!(role_state(&pg, &blue).await, (false, false));
    assert_eq!(first.new_version, 2);

    // An emergency (the current value leaked): rotated again, now, the same way.
    let current = c.get_secret("db/app", None).await.unwrap();
    let fp = holdfast_core::Fingerprint::of_secret(current.value.as_bytes()).to_string();
    let report = c
        .emergency_rotation(&holdfast_types::EmergencyRotationRequest {
            identity: None,
            fingerprint: Some(fp),
        })
        .await
        .unwrap();
    assert_eq!(report.started, vec!["db/app".to_string()]);
    for _ in 0..120 {
        let r = c.rotation("db/app").await.unwrap();
        if r.finished && r.new_version == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let v3: serde_json::Value =
        serde_json::from_str(&c.get_secret("db/app", None).await.unwrap().value).unwrap();
    assert_eq!(v3["login"], blue.as_str(), "back to blue");
    assert_eq!(role_state(&pg, &green).await, (false, false));
    assert_eq!(role_state(&pg, &blue).await, (true, true));
    // A secret never rotated by Holdfast needs a person.
    let other_fp = holdfast_core::Fingerprint::of_secret(db.url.as_bytes()).to_string();
    let report = c
        .emergency_rotation(&holdfast_types::EmergencyRotationRequest {
            identity: None,
            fingerprint: Some(other_fp),
        })
        .await
        .unwrap();
    assert_eq!(report.needs_a_person, vec!["pg/admin".to_string()]);

    // A max age of zero days: the scheduler rotates it again by itself, the way it was last
    // rotated (and, with zero days, keeps doing so — the server is stopped after).
    let now_value = c.get_secret("db/app", None).await.unwrap().value;
    let put_version = c
        .put_secret(
            "db/app",
            &holdfast_types::PutSecretRequest {
                value: Some(now_value),
                max_age_days: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .version;
    let mut rotated_by_schedule = false;
    for _ in 0..120 {
        let meta = c.secret_metadata("db/app").await.unwrap();
        let newest = meta
            .versions
            .iter()
            .find(|v| v.version == meta.current)
            .unwrap();
        if meta.current > put_version && newest.created_by.starts_with("node:") {
            rotated_by_schedule = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(rotated_by_schedule, "the max-age scheduler did not rotate");
    let value: serde_json::Value =
        serde_json::from_str(&c.get_secret("db/app", None).await.unwrap().value).unwrap();
    let login = value["login"].as_str().unwrap().to_string();
    assert!(
        role_state(&pg, &login).await.0,
        "consumers are served a role that can log in"
    );
    drop(s);
    pg.batch_execute(&format!(
        "DROP ROLE {green}; DROP ROLE {blue}; DROP ROLE {group};"
    ))
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_replicas_each_rotation_step_runs_exactly_once() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The target: a log of every call the rotator makes.
    let log = dir.path().join("calls.log");
    let script = dir.path().join("rotate.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$HOLDFAST_ROTATION_ACTION $HOLDFAST_ROTATION_LOGIN\" >> '{}'\n",
            log.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let config = dir.path().join("holdfast.toml");
    std::fs::write(
        &config,
        format!(
            "[rotators.command.svc]\ncommand = [\"{}\"]\n",
            script.display()
        ),
    )
    .unwrap();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cfg = config.to_str().unwrap();
    let a = Server::start(d1.path(), &["--database-url", &db.url, "--config", cfg]);
    let b = Server::start(d2.path(), &["--database-url", &db.url, "--config", cfg]);
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
    cb.unseal(&init.unseal_shares[0]).await.unwrap();
    cb.unseal(&init.unseal_shares[1]).await.unwrap();
    let req = |n: usize| holdfast_types::StartRotationRequest {
        rotator: Some("command".into()),
        settings: Some(
            serde_json::json!({"name": "svc", "blue_login": format!("a{n}"), "green_login": format!("b{n}")}),
        ),
        grace_seconds: Some(0),
    };
    for n in 0..5 {
        ca.start_rotation(&format!("svc/s{n}"), &req(n))
            .await
            .unwrap();
    }
    // Both replicas' workers race for every step.
    let mut all_done = false;
    for _ in 0..160 {
        let mut done = 0;
        for n in 0..5 {
            if cb.rotation(&format!("svc/s{n}")).await.unwrap().finished {
                done += 1;
            }
        }
        if done == 5 {
            all_done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(all_done, "rotations did not finish");
    let calls = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<&str> = calls.lines().collect();
    lines.sort();
    let mut expected: Vec<String> = (0..5)
        .flat_map(|n| [format!("apply a{n}"), format!("revoke b{n}")])
        .collect();
    expected.sort();
    if lines != expected {
        let audit = ca.audit(None, Some(1000)).await.unwrap();
        let steps: Vec<String> = audit
            .items
            .iter()
            .filter(|r| r.event.action.starts_with("rotation"))
            .map(|r| {
                format!(
                    "{} {} {} {}",
                    r.event.actor,
                    r.event.action,
                    r.event.target.clone().unwrap_or_default(),
                    r.event.detail
                )
            })
            .collect();
        panic!("each step must run once, on one replica: {lines:?}\n{steps:#?}");
    }
}

/// A policy set applied on one replica decides on the other within its refresh interval, and a
/// token revoked on one replica stops working on the other within the token cache's lifetime.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn policy_and_revocation_reach_the_other_replica() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await.unwrap();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Server::start(d1.path(), &["--database-url", &db.url]);
    let b = Server::start(d2.path(), &["--database-url", &db.url]);
    let root = a.init().await;
    let ca = a.client(Some(&root));
    let reader = ca
        .create_token(&holdfast_types::CreateTokenRequest {
            name: Some("carol".into()),
            roles: vec![holdfast_core::Role::Reader],
            identity: None,
            groups: vec![],
            ttl_seconds: Some(600),
        })
        .await
        .unwrap();
    let rb = b.client(Some(&reader.token));
    assert!(rb.list_identities(vec![]).await.is_ok());
    let text = holdfast_policy::DEFAULT_POLICIES.replace(
        "action in Holdfast::Action::\"read\",",
        "action == Holdfast::Action::\"policy.read\",",
    );
    ca.apply_policy(&holdfast_types::ApplyPolicyRequest {
        text: Some(text),
        ..Default::default()
    })
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        match rb.list_identities(vec![]).await {
            Err(ClientError::Api { status: 403, .. }) => break,
            Ok(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            other => panic!("replica b never took up version 1: {other:?}"),
        }
    }
    assert!(rb.policy(None).await.is_ok());
    ca.revoke_token(reader.info.id).await.unwrap();
    tokio::time::sleep(
        holdfast_server::auth::TOKEN_CACHE_TTL + std::time::Duration::from_millis(200),
    )
    .await;
    match rb.policy(None).await {
        Err(ClientError::Api { status: 401, .. }) => {}
        other => panic!("the revoked token still works on replica b: {other:?}"),
    }
}

async fn connect_as(
    url: &str,
    login: &str,
    password: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut cfg: tokio_postgres::Config = url.parse().unwrap();
    cfg.user(login).password(password);
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

async fn role_exists(pg: &tokio_postgres::Client, role: &str) -> bool {
    pg.query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&role])
        .await
        .unwrap()
        .is_some()
}

/// A PostgreSQL grant is a login with exactly the granted role's privileges; revoking it ends its
/// sessions and drops it; at expiry the sweeper drops it; a lease that expired while the server was
/// down is dropped when it starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_grants_have_exactly_their_privileges_and_stop_working_when_revoked_or_expired() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await.unwrap();
    let pg = connect(&db.url).await;
    let group = format!("app_read_{}", uuid::Uuid::now_v7().simple());
    pg.batch_execute(&format!(
        "CREATE TABLE reports (id int); INSERT INTO reports VALUES (1), (2);
         DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{group}') THEN CREATE ROLE {group} NOLOGIN; END IF; END $$;
         GRANT SELECT ON reports TO {group};"
    ))
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("unseal.key");
    let config = dir.path().join("holdfast.toml");
    std::fs::write(
        &config,
        format!("[rotators.postgres_grants.analytics]\nadmin_secret = \"pg/admin\"\ngrantable_roles = [\"{group}\"]\n"),
    )
    .unwrap();
    let data = dir.path().join("data");
    let args = [
        "--unseal-key-file",
        key.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    let s = Server::start(&data, &args);
    let root = s.client(None).init().await.unwrap().root_token;
    let c = s.client(Some(&root));
    c.put_secret(
        "pg/admin",
        &holdfast_types::PutSecretRequest {
            value: Some(db.url.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let bob = c
        .create_token(&holdfast_types::CreateTokenRequest {
            name: Some("bob".into()),
            roles: vec![holdfast_core::Role::Approver],
            identity: None,
            groups: vec![],
            ttl_seconds: Some(3600),
        })
        .await
        .unwrap();
    let bob = s.client(Some(&bob.token));
    let grant = |ttl: u32, scope: String| {
        let (c, bob) = (c.clone(), bob.clone());
        async move {
            let r = c
                .create_access_request(&holdfast_types::CreateAccessRequest {
                    task: Some("INC-9 read reports".into()),
                    reason: Some("incident".into()),
                    kind: Some("postgres".into()),
                    audience: Some("analytics".into()),
                    scopes: vec![scope],
                    ttl_seconds: Some(ttl),
                    ..Default::default()
                })
                .await
                .unwrap();
            bob.decide_access_request(r.id, "approve", None)
                .await
                .unwrap();
            c.issue_grant(r.id).await.unwrap()
        }
    };
    // Only declared roles can be asked for.
    let refused = c
        .create_access_request(&holdfast_types::CreateAccessRequest {
            task: Some("t".into()),
            reason: Some("r".into()),
            kind: Some("postgres".into()),
            audience: Some("analytics".into()),
            scopes: vec!["postgres".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ClientError::Api { status: 422, .. }),
        "{refused:?}"
    );

    // Exactly the granted privileges.
    let g = grant(600, group.clone()).await;
    let login = g.login.clone().unwrap();
    let session = connect_as(&db.url, &login, &g.credential).await.unwrap();
    let rows = session.query("SELECT id FROM reports", &[]).await.unwrap();
    assert_eq!(rows.len(), 2);
    let err = session
        .batch_execute("INSERT INTO reports VALUES (3)")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("permission denied") || err.as_db_error().is_some(),
        "{err}"
    );
    // Revoked: the open session ends and the login is gone.
    c.revoke_lease(g.lease.id).await.unwrap();
    assert!(
        session.query("SELECT 1", &[]).await.is_err(),
        "the session was terminated"
    );
    assert!(!role_exists(&pg, &login).await);
    assert!(connect_as(&db.url, &login, &g.credential).await.is_err());

    // Expired: the sweeper drops it.
    let g = grant(2, group.clone()).await;
    let login = g.login.clone().unwrap();
    assert!(connect_as(&db.url, &login, &g.credential).await.is_ok());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while role_exists(&pg, &login).await {
        assert!(
            std::time::Instant::now() < deadline,
            "the expired login was never dropped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(connect_as(&db.url, &login, &g.credential).await.is_err());

    // Expired while the server was down: dropped when it starts.
    let g = grant(2, group.clone()).await;
    let login = g.login.clone().unwrap();
    s.kill9();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(
        role_exists(&pg, &login).await,
        "nothing dropped it while the server was down"
    );
    let s = Server::start(&data, &args);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while role_exists(&pg, &login).await {
        assert!(
            std::time::Instant::now() < deadline,
            "not cleaned up at start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let leases = s
        .client(Some(&root))
        .list::<holdfast_core::Lease>("/leases", vec![])
        .await
        .unwrap()
        .0;
    assert!(
        leases
            .iter()
            .all(|l| l.state != holdfast_core::LeaseState::Active),
        "{leases:?}"
    );
    pg.batch_execute(&format!("DROP OWNED BY {group}; DROP ROLE {group}"))
        .await
        .unwrap();
}
