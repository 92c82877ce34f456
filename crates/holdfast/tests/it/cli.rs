//! The CLI as an operator uses it: output, `--json`, exit codes, and error messages.

use serde_json::Value;

use crate::common::{Server, cli, stderr, stdout};

#[tokio::test]
async fn cli_round_trip_json_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let out = cli(&s.url, None, &["operator", "init", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let init: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let token = init["root_token"].as_str().unwrap().to_string();
    assert!(init["audit_public_key"]["public_key"].is_string());
    let t = Some(token.as_str());

    let out = cli(
        &s.url,
        t,
        &[
            "owner",
            "create",
            "--name",
            "platform",
            "--contact",
            "#platform",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = cli(
        &s.url,
        t,
        &[
            "system",
            "create",
            "--name",
            "aws-prod",
            "--kind",
            "aws_account",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = cli(
        &s.url,
        t,
        &[
            "identity",
            "create",
            "--name",
            "deployer",
            "--kind",
            "ci_job",
            "--owner",
            "platform",
            "--purpose",
            "deploys",
            "--system",
            "aws-prod",
            "--tier",
            "management_plane",
            "--tier-reason",
            "can change IAM",
            "--label",
            "repo=acme/infra",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(id["tier"], "management_plane");
    assert_eq!(id["labels"]["repo"], "acme/infra");
    let idv = id["id"].as_str().unwrap().to_string();

    let out = cli(
        &s.url,
        t,
        &["identity", "list", "--tier", "management_plane", "--json"],
    );
    let list: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let out = cli(&s.url, t, &["identity", "list"]);
    assert!(
        stdout(&out).lines().next().unwrap().starts_with("ID"),
        "human table has a header"
    );
    assert!(stdout(&out).contains("deployer"));

    // Usage / input errors → 2, naming the argument or field.
    let out = cli(
        &s.url,
        t,
        &[
            "identity",
            "create",
            "--name",
            "x",
            "--kind",
            "ci_job",
            "--purpose",
            "p",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`owner`"), "{}", stderr(&out));
    let out = cli(
        &s.url,
        t,
        &[
            "identity",
            "create",
            "--name",
            "x",
            "--kind",
            "rocket",
            "--owner",
            "platform",
            "--purpose",
            "p",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--kind"), "{}", stderr(&out));
    let out = cli(&s.url, t, &["identity", "list", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));

    // Not found, denied and stale → 1.
    let out = cli(
        &s.url,
        t,
        &["identity", "show", &uuid::Uuid::now_v7().to_string()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = cli(&s.url, None, &["identity", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let out = cli(&s.url, Some("hf_nope"), &["identity", "list", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let err: Value = serde_json::from_str(stderr(&out).trim()).unwrap();
    assert_eq!(err["error"]["code"], "unauthenticated");
    let out = cli(
        &s.url,
        t,
        &[
            "identity",
            "update",
            &idv,
            "--version",
            "7",
            "--purpose",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("version 1") && stderr(&out).contains("version 7"),
        "{}",
        stderr(&out)
    );

    let out = cli(
        &s.url,
        t,
        &["identity", "suspend", &idv, "--reason", "incident"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("suspended"));

    // Tokens: created once with the secret, then revoked and refused.
    let out = cli(
        &s.url,
        t,
        &[
            "token", "create", "--name", "ci", "--scope", "read", "--ttl", "1h", "--json",
        ],
    );
    let created: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let ci = created["token"].as_str().unwrap().to_string();
    assert_eq!(
        cli(&s.url, Some(&ci), &["identity", "list"]).status.code(),
        Some(0)
    );
    assert_eq!(
        cli(
            &s.url,
            Some(&ci),
            &["owner", "create", "--name", "n", "--contact", "c"]
        )
        .status
        .code(),
        Some(1)
    );
    let out = cli(
        &s.url,
        t,
        &["token", "revoke", created["info"]["id"].as_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        cli(&s.url, Some(&ci), &["identity", "list"]).status.code(),
        Some(1)
    );

    let out = cli(&s.url, t, &["audit", "tail", "-n", "3"]);
    assert_eq!(stdout(&out).lines().count(), 3);
    assert!(stdout(&out).contains("auth.denied"));
    let out = cli(&s.url, t, &["audit", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let rep: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(rep["ok"], true);

    let out = cli("http://127.0.0.1:9", t, &["identity", "list"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "unreachable server is a runtime error"
    );
    assert!(stderr(&out).contains("could not reach"));
}

#[test]
fn demo_loads_the_sample_estate_and_prints_what_to_try() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::common::BIN)
        .args(["demo", "--no-wait", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("demo"))
        .env("HOLDFAST_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Root token   hf_"), "{text}");
    assert!(
        text.contains(
            "Loaded 8 owners, 7 systems, 12 identities, 8 credentials and 11 entitlements"
        ),
        "{text}"
    );
    // The example estate goes through every connector: 10 IAM principals, 6 service accounts,
    // 4 workflow jobs and 3 Terraform-managed identities.
    assert!(
        text.contains("Discovered 23 more identities from 5 sources"),
        "{text}"
    );
    assert!(text.contains("11 are management-plane"), "{text}");
    // The planted access key is the one Terraform created for tf-runner: an exposure, not a leak.
    assert!(
        text.contains("1 matched credentials in the inventory (now\nexposures), 2 unknown ones recorded as leaks"),
        "{text}"
    );
    assert!(text.contains("holdfast graph blast-radius"), "{text}");
    assert!(text.contains("holdfast identity list"));
    // Posture runs over everything loaded: the example estate has problems in most OWASP items.
    let posture = text
        .lines()
        .find(|l| l.starts_with("Posture: "))
        .unwrap_or_else(|| panic!("{text}"));
    let items: usize = posture
        .split(" across ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(items >= 6, "{posture}");
    assert!(text.contains("holdfast findings summary"));
}

#[test]
fn demo_refuses_to_wipe_a_directory_it_did_not_make() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("holdfast.db"), b"precious").unwrap();
    let out = std::process::Command::new(crate::common::BIN)
        .args(["demo", "--no-wait", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("refusing to wipe"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(dir.path().join("holdfast.db")).unwrap(),
        b"precious"
    );
}

#[test]
fn a_reader_that_stops_early_ends_the_cli_quietly() {
    use std::io::{BufRead, BufReader};
    // Far more output than a pipe holds: thousands of findings.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    for i in 0..3000u64 {
        let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xDEAD_BEEF;
        let id: String = (0..16)
            .map(|_| {
                x = x.rotate_left(5).wrapping_mul(31).wrapping_add(17);
                alphabet[(x % 32) as usize] as char
            })
            .collect();
        text.push_str(&format!("aws_access_key_id = AKIA{id}\n"));
    }
    std::fs::write(dir.path().join("keys.env"), text).unwrap();
    let mut child = std::process::Command::new(crate::common::BIN)
        .args(["scan", "--no-progress"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    // The reader is gone (like `| head -1`).
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        matches!(out.status.code(), Some(0) | Some(141)),
        "{:?}",
        out.status
    );
}
