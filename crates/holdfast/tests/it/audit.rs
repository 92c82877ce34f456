//! `holdfast audit verify` against a log tampered with directly in the SQLite file.

use std::path::Path;

use rusqlite::Connection;

use crate::common::{Server, cli, identity_req, owner, stdout};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Verifies through the CLI on a fresh server over `data`; returns (exit code, stdout).
async fn verify(data: &Path, token: &str) -> (i32, String) {
    let s = Server::start(data, &[]);
    let out = cli(&s.url, Some(token), &["audit", "verify"]);
    s.stop();
    (out.status.code().unwrap(), stdout(&out))
}

#[tokio::test]
async fn verify_names_the_record_after_an_edit_delete_swap_or_insert() {
    let base = tempfile::tempdir().unwrap();
    let token = {
        let s = Server::start(base.path(), &[]);
        let token = s.init().await;
        let c = s.client(Some(&token));
        owner(&c, "team").await;
        for i in 0..80 {
            c.create_identity(&identity_req(&format!("svc-{i}"), "team"))
                .await
                .unwrap();
        }
        s.stop();
        token
    };
    // 1 audit key registration + 1 grant key publication + 1 init + 1 owner + 80 identities = 84
    // records, with a checkpoint at 64.
    let (code, out) = verify(base.path(), &token).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("84 records") && out.contains("1 signed checkpoints"),
        "{out}"
    );

    type Tamper = fn(&Connection);
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "edit a body",
            |db| {
                db.execute("UPDATE audit_log SET body = replace(body, 'identity.create', 'identity.delete') WHERE seq = 30", []).unwrap();
            },
            "record 30 was modified",
        ),
        (
            "delete a row",
            |db| {
                db.execute("DELETE FROM audit_log WHERE seq = 41", [])
                    .unwrap();
            },
            "record 41 was removed",
        ),
        (
            "delete the first row",
            |db| {
                db.execute("DELETE FROM audit_log WHERE seq = 1", [])
                    .unwrap();
            },
            "record 1 was removed",
        ),
        (
            "delete the newest row",
            |db| {
                db.execute("DELETE FROM audit_log WHERE seq = 83", [])
                    .unwrap();
            },
            "record 83 was removed",
        ),
        (
            "swap two rows",
            |db| {
                db.execute_batch(
                    "UPDATE audit_log SET seq = -1 WHERE seq = 10;
                 UPDATE audit_log SET seq = 10 WHERE seq = 20;
                 UPDATE audit_log SET seq = 20 WHERE seq = -1;",
                )
                .unwrap();
            },
            "record 10 was modified",
        ),
        (
            "insert a forged row at the end",
            |db| {
                let (hash, body): (String, String) = db
                    .query_row("SELECT hash, body FROM audit_log WHERE seq = 84", [], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .unwrap();
                let prev: [u8; 32] = hex::decode(&hash).unwrap().try_into().unwrap();
                let forged_hash = hex::encode(holdfast_audit::record_hash(85, &prev, &body));
                db.execute(
                    "INSERT INTO audit_log (seq, prev_hash, hash, body) VALUES (85, ?1, ?2, ?3)",
                    rusqlite::params![hash, forged_hash, body],
                )
                .unwrap();
            },
            "record 85 was inserted",
        ),
        (
            "rewrite and re-hash a row",
            |db| {
                let (prev, body): (String, String) = db
                    .query_row(
                        "SELECT prev_hash, body FROM audit_log WHERE seq = 50",
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap();
                let body = body.replace("identity.create", "identity.update");
                let p: [u8; 32] = hex::decode(&prev).unwrap().try_into().unwrap();
                let h = hex::encode(holdfast_audit::record_hash(50, &p, &body));
                db.execute(
                    "UPDATE audit_log SET body = ?1, hash = ?2 WHERE seq = 50",
                    rusqlite::params![body, h],
                )
                .unwrap();
            },
            "record 51 does not link to record 50",
        ),
    ];
    for (name, tamper, expect) in cases {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(base.path(), dir.path());
        {
            let db = Connection::open(dir.path().join("holdfast.db")).unwrap();
            tamper(&db);
        }
        let (code, out) = verify(dir.path(), &token).await;
        assert_eq!(code, 1, "{name}: {out}");
        assert!(
            out.contains(expect),
            "{name}: expected `{expect}` in: {out}"
        );
    }
}

#[tokio::test]
async fn a_refused_audit_write_refuses_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let token = s.init().await;
    let c = s.client(Some(&token));
    owner(&c, "team").await;
    // Make every audit append fail, as a full disk or a broken table would.
    {
        let db = Connection::open(dir.path().join("holdfast.db")).unwrap();
        db.execute_batch("CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit disabled'); END;").unwrap();
    }
    let err = c
        .create_identity(&identity_req("svc", "team"))
        .await
        .unwrap_err();
    match err {
        holdfast_client::ClientError::Api { status, error } => {
            assert_eq!((status, error.code.as_str()), (503, "audit_unavailable"));
        }
        other => panic!("{other:?}"),
    }
    {
        let db = Connection::open(dir.path().join("holdfast.db")).unwrap();
        db.execute_batch("DROP TRIGGER no_audit;").unwrap();
    }
    assert!(
        c.list_identities(vec![]).await.unwrap().items.is_empty(),
        "the change was not stored"
    );
    assert!(c.audit_verify(None).await.unwrap().ok);
}

#[tokio::test]
async fn pinning_the_init_key_verifies_and_a_foreign_key_fails() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let init = s.client(None).init().await.unwrap();
    let out = cli(
        &s.url,
        Some(&init.root_token),
        &[
            "audit",
            "verify",
            "--public-key",
            &init.audit_public_key.public_key,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let stranger = holdfast_audit::Signer::from_seed(&[5; 32])
        .public_info()
        .public_key;
    let out = cli(
        &s.url,
        Some(&init.root_token),
        &["audit", "verify", "--public-key", &stranger],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("not signed by a trusted audit key"),
        "{}",
        stdout(&out)
    );
}
