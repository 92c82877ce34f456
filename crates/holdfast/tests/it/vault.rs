//! The vault end to end: values never at rest in plaintext, ciphertexts bound to their place,
//! sealed after restart until enough shares, key-file setups, every read audited.

use std::path::Path;

use holdfast_types::{InitRequest, PutSecretRequest};

use crate::common::{Server, cli, receiver, stderr, stdout};

const PLAINTEXT: &str = "pl41ntext-that-must-never-be-at-rest-7f3a9c";

use crate::common::put_secret as put;

fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            hits.extend(files_containing(&p, needle));
        } else if let Ok(bytes) = std::fs::read(&p)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            hits.push(p.display().to_string());
        }
    }
    hits
}

async fn init_shamir(s: &Server, shares: u8, threshold: u8) -> (String, Vec<String>) {
    let r = s
        .client(None)
        .init_with(&InitRequest {
            shares: Some(shares),
            threshold: Some(threshold),
        })
        .await
        .unwrap();
    (r.root_token, r.unseal_shares)
}

#[tokio::test]
async fn a_plaintext_written_through_the_api_is_nowhere_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data, &[]);
    let (token, shares) = init_shamir(&s, 3, 2).await;
    assert_eq!(shares.len(), 3);
    // Through the CLI, value on standard input.
    let mut child = std::process::Command::new(crate::common::BIN)
        .args(["secret", "put", "ci/deploy/aws", "--consumer", "deploy-job"])
        .env("HOLDFAST_ADDR", &s.url)
        .env("HOLDFAST_TOKEN", &token)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        format!("{PLAINTEXT}\n").as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out).trim(), "ci/deploy/aws version 1");
    let out = cli(&s.url, Some(&token), &["secret", "get", "ci/deploy/aws"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim_end(), PLAINTEXT);
    // Every read is recorded on the secret and in the audit log — without the value.
    let c = s.client(Some(&token));
    let meta = c.secret_metadata("ci/deploy/aws").await.unwrap();
    assert!(
        meta.last_read_at.is_some() && meta.last_read_by.as_deref().unwrap().starts_with("token:")
    );
    assert!(
        meta.versions.iter().all(|v| v.ciphertext.is_empty()),
        "metadata carries no ciphertext"
    );
    let audit = serde_json::to_string(&c.audit(None, Some(100)).await.unwrap()).unwrap();
    assert!(audit.contains("secret.read") && audit.contains("secret.write"));
    assert!(!audit.contains(PLAINTEXT));
    let list = serde_json::to_string(
        &c.list::<serde_json::Value>("/secrets", vec![])
            .await
            .unwrap()
            .0,
    )
    .unwrap();
    assert!(!list.contains(PLAINTEXT) && !list.contains("hfv1:"));
    s.stop();
    assert!(
        files_containing(&data, PLAINTEXT.as_bytes()).is_empty(),
        "plaintext at rest"
    );
    assert!(
        !files_containing(&data, b"hfv1:").is_empty(),
        "the ciphertext is there"
    );
}

#[tokio::test]
async fn a_restarted_server_stays_sealed_until_the_threshold_of_shares() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let (token, shares) = init_shamir(&s, 5, 3).await;
    let c = s.client(Some(&token));
    put(&c, "db/app", "s3cret-v1").await;
    s.stop();

    let s = Server::start(dir.path(), &[]);
    let c = s.client(Some(&token));
    let h = c.health().await.unwrap();
    assert!(h.sealed && h.unseal_threshold == 3 && h.unseal_progress == 0);
    let e = c.get_secret("db/app", None).await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert!(e.to_string().contains("sealed"), "{e}");
    // Inventory reads still work while sealed.
    assert!(c.list_identities(vec![]).await.is_ok());
    // Fewer than the threshold: still sealed; a repeated share is refused; a garbled one too.
    assert!(c.unseal(&shares[4]).await.unwrap().sealed);
    assert_eq!(c.unseal(&shares[4]).await.unwrap_err().status(), Some(422));
    let e = c.unseal("hfs1-zz").await.unwrap_err();
    assert!(
        !e.to_string().contains("zz"),
        "errors never quote a share: {e}"
    );
    let st = c.unseal(&shares[1]).await.unwrap();
    assert!(st.sealed && st.progress == 2);
    assert_eq!(
        c.get_secret("db/app", None).await.unwrap_err().status(),
        Some(503)
    );
    // The CLI takes the share on standard input only.
    let mut child = std::process::Command::new(crate::common::BIN)
        .args(["operator", "unseal"])
        .env("HOLDFAST_ADDR", &s.url)
        .env("HOLDFAST_TOKEN", &token)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        format!("{}\n", shares[0]).as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(stdout(&out).trim(), "unsealed");
    assert_eq!(
        c.get_secret("db/app", None).await.unwrap().value,
        "s3cret-v1"
    );
    // Sealing again drops the keys.
    assert!(c.seal().await.unwrap().sealed);
    assert_eq!(
        c.get_secret("db/app", None).await.unwrap_err().status(),
        Some(503)
    );
}

#[tokio::test]
async fn a_key_file_server_unseals_itself_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("unseal.key");
    let args = ["--unseal-key-file", key.to_str().unwrap()];
    let s = Server::start(&dir.path().join("data"), &args);
    let r = s.client(None).init().await.unwrap();
    assert_eq!(r.seal_mode, holdfast_core::SealMode::KeyFile);
    assert!(r.unseal_shares.is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let c = s.client(Some(&r.root_token));
    put(&c, "svc/token", "value-one").await;
    s.stop();
    let s = Server::start(&dir.path().join("data"), &args);
    let c = s.client(Some(&r.root_token));
    assert!(!c.health().await.unwrap().sealed);
    assert_eq!(
        c.get_secret("svc/token", None).await.unwrap().value,
        "value-one"
    );
}

#[tokio::test]
async fn an_altered_or_moved_ciphertext_fails_clearly_and_the_rest_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("unseal.key");
    let data = dir.path().join("data");
    let args = ["--unseal-key-file", key.to_str().unwrap()];
    let s = Server::start(&data, &args);
    let token = s.client(None).init().await.unwrap().root_token;
    let c = s.client(Some(&token));
    put(&c, "a/one", "value-a").await;
    put(&c, "b/two", "value-b").await;
    put(&c, "c/three", "value-c").await;
    s.stop();

    // Move a/one's ciphertext into b/two, and flip one character of c/three's.
    let db = rusqlite::Connection::open(data.join("holdfast.db")).unwrap();
    let doc = |path: &str| -> serde_json::Value {
        let text: String = db
            .query_row("SELECT doc FROM secrets WHERE path = ?1", [path], |r| {
                r.get(0)
            })
            .unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let save = |path: &str, v: &serde_json::Value| {
        db.execute(
            "UPDATE secrets SET doc = ?1 WHERE path = ?2",
            rusqlite::params![v.to_string(), path],
        )
        .unwrap();
    };
    let a = doc("a/one");
    let mut b = doc("b/two");
    b["versions"][0]["ciphertext"] = a["versions"][0]["ciphertext"].clone();
    save("b/two", &b);
    let mut cdoc = doc("c/three");
    let ct = cdoc["versions"][0]["ciphertext"]
        .as_str()
        .unwrap()
        .to_string();
    let last = ct.len() - 4;
    let flipped = format!(
        "{}{}{}",
        &ct[..last],
        if &ct[last..last + 1] == "A" { "B" } else { "A" },
        &ct[last + 1..]
    );
    cdoc["versions"][0]["ciphertext"] = flipped.into();
    save("c/three", &cdoc);
    drop(db);

    let s = Server::start(&data, &args);
    let c = s.client(Some(&token));
    for path in ["b/two", "c/three"] {
        let e = c.get_secret(path, None).await.unwrap_err();
        assert_eq!(e.status(), Some(500));
        let msg = e.to_string();
        assert!(
            msg.contains("failed its integrity check") && msg.contains(path),
            "{msg}"
        );
    }
    // Everything else keeps serving.
    assert_eq!(c.get_secret("a/one", None).await.unwrap().value, "value-a");
    assert!(c.health().await.is_ok());
}

#[tokio::test]
async fn versions_check_and_set_and_soft_delete() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let (token, _) = init_shamir(&s, 2, 2).await;
    let c = s.client(Some(&token));
    assert_eq!(put(&c, "app/key", "one").await.version, 1);
    assert_eq!(put(&c, "app/key", "two").await.version, 2);
    let stale = c
        .put_secret(
            "app/key",
            &PutSecretRequest {
                value: Some("x".into()),
                cas: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(stale.status(), Some(409));
    assert!(stale.to_string().contains("version 2"), "{stale}");
    assert_eq!(c.get_secret("app/key", Some(1)).await.unwrap().value, "one");
    c.secret_versions("delete", "app/key", vec![2])
        .await
        .unwrap();
    assert_eq!(
        c.get_secret("app/key", None).await.unwrap_err().status(),
        Some(404)
    );
    c.secret_versions("undelete", "app/key", vec![2])
        .await
        .unwrap();
    assert_eq!(c.get_secret("app/key", None).await.unwrap().value, "two");
    c.secret_versions("destroy", "app/key", vec![1])
        .await
        .unwrap();
    assert_eq!(
        c.get_secret("app/key", Some(1)).await.unwrap_err().status(),
        Some(404)
    );
    assert_eq!(
        c.secret_versions("undelete", "app/key", vec![1])
            .await
            .unwrap_err()
            .status(),
        Some(422)
    );
    // Bad paths name the field; nothing is written.
    let e = c
        .put_secret(
            "a/b c",
            &PutSecretRequest {
                value: Some("x".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(422));
    assert!(e.to_string().contains("path"), "{e}");
    let e = c
        .put_secret("ok/path", &PutSecretRequest::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("value"), "{e}");
}

#[tokio::test]
async fn keyring_rotation_rewraps_every_version_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let (token, shares) = init_shamir(&s, 3, 2).await;
    let c = s.client(Some(&token));
    put(&c, "k/one", "first").await;
    put(&c, "k/one", "second").await;
    put(&c, "k/two", "third").await;
    let r = c.rotate_keyring().await.unwrap();
    assert_eq!((r.active_key, r.rewrapped, r.failed), (2, 3, 0));
    assert_eq!(c.get_secret("k/one", Some(1)).await.unwrap().value, "first");
    assert_eq!(c.get_secret("k/two", None).await.unwrap().value, "third");
    let out = cli(
        &s.url,
        Some(&token),
        &["operator", "rotate-keyring", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let again: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(again["active_key"], 3);
    s.stop();
    // Rotation changes data keys, not the root key: the same shares unseal after a restart.
    let s = Server::start(dir.path(), &[]);
    let c = s.client(Some(&token));
    c.unseal(&shares[2]).await.unwrap();
    assert!(!c.unseal(&shares[0]).await.unwrap().sealed);
    assert_eq!(c.get_secret("k/one", None).await.unwrap().value, "second");
    assert_eq!(c.get_secret("k/one", Some(1)).await.unwrap().value, "first");
}

#[tokio::test]
async fn a_command_rotator_declared_in_the_configuration_rotates_and_the_api_cannot_invent_one() {
    let dir = tempfile::tempdir().unwrap();
    // A stand-in for a real system: a file of "login secret-digest" lines the script maintains.
    let target = dir.path().join("target.txt");
    std::fs::write(&target, "svc-blue old-secret\n").unwrap();
    let script = dir.path().join("rotate.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nset -e\nT='{t}'\ncase \"$HOLDFAST_ROTATION_ACTION\" in\n  apply) s=$(cat); grep -v \"^$HOLDFAST_ROTATION_LOGIN \" \"$T\" > \"$T.new\" || true; echo \"$HOLDFAST_ROTATION_LOGIN $(printf '%s' \"$s\" | sha256sum | cut -c1-16)\" >> \"$T.new\"; mv \"$T.new\" \"$T\" ;;\n  revoke) grep -v \"^$HOLDFAST_ROTATION_LOGIN \" \"$T\" > \"$T.new\" || true; mv \"$T.new\" \"$T\" ;;\nesac\n",
            t = target.display()
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
    let key = dir.path().join("unseal.key");
    let s = Server::start(
        &dir.path().join("data"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--unseal-key-file",
            key.to_str().unwrap(),
        ],
    );
    let token = s.client(None).init().await.unwrap().root_token;
    let c = s.client(Some(&token));
    put(
        &c,
        "svc/cred",
        r#"{"login":"svc-blue","password":"old-secret"}"#,
    )
    .await;
    let out = cli(
        &s.url,
        Some(&token),
        &[
            "secret",
            "rotate",
            "svc/cred",
            "--rotator",
            "command",
            "--name",
            "svc",
            "--blue-login",
            "svc-blue",
            "--green-login",
            "svc-green",
            "--grace-seconds",
            "0",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut finished = false;
    for _ in 0..80 {
        if c.rotation("svc/cred").await.unwrap().finished {
            finished = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(finished, "{:?}", c.rotation("svc/cred").await.unwrap());
    let value: serde_json::Value =
        serde_json::from_str(&c.get_secret("svc/cred", None).await.unwrap().value).unwrap();
    assert_eq!(value["login"], "svc-green");
    let state = std::fs::read_to_string(&target).unwrap();
    assert!(
        state.starts_with("svc-green ") && state.lines().count() == 1,
        "{state}"
    );
    assert!(
        !state.contains(value["password"].as_str().unwrap()),
        "the script got the secret, not the file"
    );
    // A command the configuration does not declare cannot be named through the API.
    let e = c
        .start_rotation(
            "svc/other",
            &holdfast_types::StartRotationRequest {
                rotator: Some("command".into()),
                settings: Some(
                    serde_json::json!({"name": "rm-rf", "blue_login": "a", "green_login": "b"}),
                ),
                grace_seconds: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(422));
    assert!(
        e.to_string().contains("no command rotator named `rm-rf`"),
        "{e}"
    );
}

#[tokio::test]
async fn a_webhook_rotator_and_reminders_post_signed_requests() {
    let (url, rx) = receiver();
    let dir = tempfile::tempdir().unwrap();
    let (s, token) = crate::common::configured(
        dir.path(),
        &format!("[rotators.webhook.saas]\nurl = \"{url}\"\nsigning_secret = \"hooks/key\"\n\n[rotators.reminders]\nurl = \"{url}\"\nsigning_secret = \"hooks/key\"\n"),
    )
    .await;
    let c = s.client(Some(&token));
    put(&c, "hooks/key", "webhook-signing-key-0123456789").await;
    put(&c, "saas/api", r#"{"login":"key-a","password":"first"}"#).await;
    let out = cli(
        &s.url,
        Some(&token),
        &[
            "secret",
            "rotate",
            "saas/api",
            "--rotator",
            "webhook",
            "--name",
            "saas",
            "--blue-login",
            "key-a",
            "--green-login",
            "key-b",
            "--grace-seconds",
            "0",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (head, body) = rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("x-holdfast-signature: sha256="),
        "{head}"
    );
    let apply: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (apply["action"].as_str(), apply["login"].as_str()),
        (Some("apply"), Some("key-b"))
    );
    let new_secret = apply["secret"].as_str().unwrap().to_string();
    let (_, body) = rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap();
    let revoke: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (revoke["action"].as_str(), revoke["login"].as_str()),
        (Some("revoke"), Some("key-a"))
    );
    assert!(revoke.get("secret").is_none(), "revoking sends no secret");
    for _ in 0..40 {
        if c.rotation("saas/api").await.unwrap().finished {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let value: serde_json::Value =
        serde_json::from_str(&c.get_secret("saas/api", None).await.unwrap().value).unwrap();
    assert_eq!(value["password"], new_secret.as_str());
    // A secret Holdfast cannot rotate, past its max age: a reminder.
    c.put_secret(
        "manual/token",
        &PutSecretRequest {
            value: Some("by-hand".into()),
            max_age_days: Some(0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (_, body) = rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap();
    let reminder: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (reminder["kind"].as_str(), reminder["path"].as_str()),
        (Some("rotation-due"), Some("manual/token"))
    );
    assert!(!body.contains("by-hand"));
    let audit = serde_json::to_string(&c.audit(None, Some(200)).await.unwrap()).unwrap();
    assert!(audit.contains("secret.reminder"));
}

/// Runs the CLI with `input` on standard input.
fn cli_stdin(url: &str, token: &str, args: &[&str], input: &str) -> std::process::Output {
    let mut child = std::process::Command::new(crate::common::BIN)
        .args(args)
        .env("HOLDFAST_ADDR", url)
        .env("HOLDFAST_TOKEN", token)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn rekey_needs_a_quorum_of_current_shares_and_replaces_them_only_once_the_new_ones_are_proven()
 {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let (token, old) = init_shamir(&s, 3, 2).await;
    let c = s.client(Some(&token));
    put(&c, "k/v", "kept-across-rekey").await;
    // Without a quorum of current shares nothing happens.
    let out = cli_stdin(
        &s.url,
        &token,
        &["operator", "rekey", "--shares", "4", "--threshold", "3"],
        &format!("{}\n", old[0]),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("not enough current shares"),
        "{}",
        stderr(&out)
    );
    // With it: new shares, shown once.
    let out = cli_stdin(
        &s.url,
        &token,
        &[
            "operator",
            "rekey",
            "--shares",
            "4",
            "--threshold",
            "3",
            "--json",
        ],
        &format!("{}\n{}\n", old[0], old[2]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let new: Vec<String> = status["new_shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(new.len(), 4);
    // Not yet proven: after a restart the old shares still unseal.
    s.stop();
    let s = Server::start(dir.path(), &[]);
    let c = s.client(Some(&token));
    c.unseal(&old[1]).await.unwrap();
    assert!(!c.unseal(&old[2]).await.unwrap().sealed);
    // Start again (the attempt lived in the stopped server's memory), authorise, prove.
    let out = cli_stdin(
        &s.url,
        &token,
        &[
            "operator",
            "rekey",
            "--shares",
            "4",
            "--threshold",
            "3",
            "--json",
        ],
        &format!("{}\n{}\n", old[0], old[1]),
    );
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let new: Vec<String> = status["new_shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let out = cli_stdin(
        &s.url,
        &token,
        &["operator", "rekey-verify"],
        &format!("{}\n{}\n{}\n", new[0], new[1], new[3]),
    );
    assert_eq!(
        stdout(&out).trim(),
        "rekeyed: only the new shares unseal from now on",
        "{}",
        stderr(&out)
    );
    assert_eq!(
        c.get_secret("k/v", None).await.unwrap().value,
        "kept-across-rekey"
    );
    s.stop();
    let s = Server::start(dir.path(), &[]);
    let c = s.client(Some(&token));
    // The new threshold is 3: three old shares reconstruct a wrong key and are refused.
    c.unseal(&old[0]).await.unwrap();
    c.unseal(&old[1]).await.unwrap();
    assert_eq!(
        c.unseal(&old[2]).await.unwrap_err().status(),
        Some(422),
        "old shares no longer unseal"
    );
    for share in &new[1..] {
        c.unseal(share).await.unwrap();
    }
    assert!(!c.health().await.unwrap().sealed);
    assert_eq!(
        c.get_secret("k/v", None).await.unwrap().value,
        "kept-across-rekey"
    );
}
