//! `holdfast scan` as a CI job runs it: exit codes, JSON, SARIF, baselines and suppressions.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{BIN, git, stderr, stdout};

fn scan(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("scan")
        .args(args)
        .arg(dir)
        .arg("--no-progress")
        .output()
        .unwrap()
}

fn github_token() -> String {
    // A classic token whose CRC32 checksum holds, built the way GitHub builds them.
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let body = "Rk4mT9qW2zLx7Vb3Nc8Hd5Fs1Jg6Pa";
    let mut n = crc32(body.as_bytes());
    let mut tail = [b'0'; 6];
    for slot in tail.iter_mut().rev() {
        *slot = B62[(n % 62) as usize];
        n /= 62;
    }
    format!("ghp_{body}{}", String::from_utf8_lossy(&tail))
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn tree() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tok = github_token();
    std::fs::create_dir_all(d.join("app")).unwrap();
    std::fs::write(
        d.join(".env"),
        format!("GITHUB_TOKEN={tok}\nDB_PASSWORD=Vx9#qL2m!Rt7\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("app/settings.py"),
        "DB_PASSWORD = os.environ['DB_PASSWORD']\nAPI_KEY = '<your-api-key>'\n",
    )
    .unwrap();
    std::fs::write(
        d.join("app/allowed.py"),
        format!("TOKEN = '{tok}'  # holdfast:allow\n"),
    )
    .unwrap();
    (dir, tok)
}

#[test]
fn finds_secrets_exits_1_and_never_prints_them_unless_asked() {
    let (dir, tok) = tree();
    let out = scan(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(".env:1:14  github-classic-pat") || text.contains(".env:1:14  github-"),
        "{text}"
    );
    assert!(text.contains("generic-password"), "{text}");
    assert!(
        !text.contains(&tok) && !text.contains("Vx9#qL2m!Rt7"),
        "secrets are redacted: {text}"
    );
    assert!(
        !text.contains("allowed.py"),
        "inline holdfast:allow suppresses"
    );
    assert!(
        !text.contains("settings.py"),
        "variable references and placeholders are not findings"
    );

    let out = scan(dir.path(), &["--show-secrets"]);
    assert!(stdout(&out).contains(&tok));

    let clean = tempfile::tempdir().unwrap();
    std::fs::write(
        clean.path().join("main.rs"),
        "fn main() { let token = get_token(); }\n",
    )
    .unwrap();
    let out = scan(clean.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = Command::new(BIN)
        .args(["scan", "/no/such/path"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_and_sarif_outputs_are_machine_clean() {
    let (dir, tok) = tree();
    let out = scan(dir.path(), &["--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is only JSON");
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{v}");
    for f in findings {
        assert!(f["fingerprint"].as_str().unwrap().starts_with("sha256:"));
        assert!(f["id"].as_str().unwrap().len() == 32);
        assert!(f.get("secret").is_none());
    }
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&tok));

    let out = scan(dir.path(), &["--format", "sarif"]);
    let s: Value = serde_json::from_slice(&out.stdout).expect("stdout is only SARIF");
    assert_eq!(s["version"], "2.1.0");
    let run = &s["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "holdfast");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
        assert!(r["partialFingerprints"]["holdfastFindingId/v1"].is_string());
    }
}

#[test]
fn baselines_and_config_suppress_known_findings() {
    let (dir, _) = tree();
    let base = dir.path().join("baseline.json");
    let out = Command::new(BIN)
        .args(["scan", "--no-progress", "--write-baseline"])
        .arg(&base)
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = Command::new(BIN)
        .args(["scan", "--no-progress", "--baseline"])
        .arg(&base)
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "everything is in the baseline: {}",
        stdout(&out)
    );
    // A new secret is still reported.
    std::fs::write(dir.path().join("app/new.yml"), "password: Qm4!zT8#wR2p\n").unwrap();
    let out = Command::new(BIN)
        .args(["scan", "--no-progress", "--baseline"])
        .arg(&base)
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("new.yml"));

    std::fs::write(
        dir.path().join(".holdfast-scan.toml"),
        "[allow]\npaths = [\"app/**\", \".env\"]\n",
    )
    .unwrap();
    let out = scan(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    std::fs::write(
        dir.path().join(".holdfast-scan.toml"),
        "[allow]\nunknown = 1\n",
    )
    .unwrap();
    let out = scan(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown"), "{}", stderr(&out));
}

#[test]
fn rules_check_passes_on_the_bundled_pack() {
    let out = Command::new(BIN)
        .args(["scan", "rules", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains(", 0 problems"), "{text}");
}

#[test]
fn git_history_names_the_commit_that_introduced_a_removed_secret() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"]);
    git(d, &["config", "user.email", "dev@acme.io"]);
    git(d, &["config", "user.name", "Dev One"]);
    std::fs::write(
        d.join("config.py"),
        "DB_URL = \"postgres://app:Qw7rT2xZ9mPk4@db.acme.io/app\"\n",
    )
    .unwrap();
    git(d, &["add", "."]);
    git(d, &["commit", "-qm", "add config"]);
    std::fs::write(d.join("config.py"), "DB_URL = os.environ[\"DB_URL\"]\n").unwrap();
    git(d, &["commit", "-qam", "use env"]);
    let introduced = String::from_utf8(
        Command::new("git")
            .args(["rev-list", "--max-parents=0", "HEAD"])
            .current_dir(d)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();

    let out = scan(d, &["--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the working tree is clean: {}",
        stdout(&out)
    );
    let out = scan(d, &["--git", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "postgres-url-password");
    assert_eq!(f["path"], "config.py");
    assert_eq!(f["git"]["commit"], introduced.trim());
    assert_eq!(f["git"]["author"], "Dev One <dev@acme.io>");
    assert_eq!(v["stats"]["commits"], 2);
}

/// 10,000 commits through `git fast-import`: every distinct blob is read exactly once.
#[test]
fn git_history_of_ten_thousand_commits_reads_each_blob_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"]);
    let mut stream = String::new();
    let commits = 10_000;
    for i in 0..commits {
        let content = format!("# module {}\nVERSION = {i}\n", i % 50);
        let secret = if i == 6_000 {
            "API_TOKEN = \"Zt8kQ2mW9xLr4Vb7Nc3Hd6Fs\"\n"
        } else {
            ""
        };
        let body = format!("{content}{secret}");
        let msg = format!("c{i}");
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter Dev <dev@acme.io> {} +0000\ndata {}\n{msg}\n",
            1_700_000_000 + i,
            msg.len()
        ));
        stream.push_str(&format!(
            "M 100644 inline src/m{}.py\ndata {}\n{body}\n",
            i % 50,
            body.len()
        ));
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(d)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stream.as_bytes())
            .unwrap();
    }
    assert!(child.wait().unwrap().success());
    let out = scan(d, &["--git", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stats"]["commits"], commits);
    assert_eq!(
        v["stats"]["files"], commits,
        "one distinct blob per commit, each read once"
    );
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{v}");
    assert_eq!(findings[0]["path"], "src/m0.py");
    let msg = Command::new("git")
        .args([
            "log",
            "-1",
            "--format=%s",
            findings[0]["git"]["commit"].as_str().unwrap(),
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&msg.stdout).trim(), "c6000");
}

#[tokio::test]
async fn findings_reported_to_the_server_become_exposures_or_leaks_without_values() {
    let data = tempfile::tempdir().unwrap();
    let s = crate::common::Server::start(data.path(), &[]);
    let token = s.init().await;
    let c = s.client(Some(&token));
    crate::common::owner(&c, "team").await;
    let id = c
        .create_identity(&crate::common::identity_req("billing", "team"))
        .await
        .unwrap();
    let known = "Kq7#vR2m!Zt9xP4w";
    let cred = c
        .create_credential(&holdfast_types::CreateCredentialRequest {
            identity: Some(id.id.to_string()),
            kind: Some(holdfast_core::CredentialKind::Password),
            name: Some("billing db".into()),
            value: Some(known.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let repo = tempfile::tempdir().unwrap();
    let unknown = "Ht5!wQ8z#Lm3Vx7r";
    std::fs::write(
        repo.path().join("billing.env"),
        format!("DB_PASSWORD={known}\nSMTP_PASSWORD={unknown}\n"),
    )
    .unwrap();
    let report = || {
        scan(
            repo.path(),
            &["--report-to-server", "--addr", &s.url, "--token", &token],
        )
    };
    let out = report();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 matched known credentials, 1 unknown (leaks), 2 new locations"),
        "{}",
        stderr(&out)
    );

    let cred = c.credential(&cred.id.to_string()).await.unwrap();
    assert_eq!(cred.exposures.len(), 1);
    assert!(
        cred.exposures[0].location.starts_with("file://")
            && cred.exposures[0].location.ends_with("billing.env:1"),
        "{:?}",
        cred.exposures
    );
    assert_eq!(cred.exposures[0].source, "scanner");
    let leaks = c.list_leaks(vec![]).await.unwrap().items;
    assert_eq!(leaks.len(), 1);
    assert_eq!(
        leaks[0].fingerprint,
        holdfast_core::Fingerprint::of_secret(unknown.as_bytes()).to_string()
    );
    assert!(leaks[0].locations[0].location.ends_with("billing.env:2"));

    // Reporting again adds no duplicate locations.
    let out = report();
    assert!(stderr(&out).contains("0 new locations"), "{}", stderr(&out));

    // The server holds fingerprints and previews, never the values.
    for f in ["holdfast.db", "holdfast.db-wal"] {
        let bytes = std::fs::read(data.path().join(f)).unwrap_or_default();
        for secret in [known, unknown] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} stored in {f}"
            );
        }
    }
    assert!(c.audit_verify(None).await.unwrap().ok);
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let (dir, _) = tree();
    let schema: Value =
        serde_json::from_str(include_str!("../data/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::draft4::new(&schema).unwrap();
    for extra in [&[][..], &["--rule", "generic-password"][..]] {
        let mut args = vec!["--format", "sarif"];
        args.extend_from_slice(extra);
        let out = scan(dir.path(), &args);
        let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&sarif)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty());
    }
    // An empty scan is valid SARIF too.
    let empty = tempfile::tempdir().unwrap();
    let out = scan(empty.path(), &["--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(validator.is_valid(&sarif));
    // A broken log is rejected, so the check can fail.
    let mut broken = sarif.clone();
    broken["version"] = Value::String("2.0.0".into());
    assert!(!validator.is_valid(&broken));
}
