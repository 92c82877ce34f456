//! Offboarding end to end, over real HTTP, the real CLI, a real git repository and the real
//! PostgreSQL: an identity with a leaked key in a repository and a rotated PostgreSQL credential is
//! offboarded; the server is killed half-way and resumes; the receipt shows everything revoked, the
//! repository re-scanned with the copy still in it (and says so), and verifies offline — until any
//! byte of it changes. Once the copy is gone from the repository, a re-check issues a receipt that
//! says the offboarding is complete.

use std::path::Path;

use holdfast_core::{OffboardingState, StepKind, StepStatus};
use holdfast_store_postgres::testdb::{TestDb, admin_url};
use holdfast_types::{CreateCredentialRequest, CreateIdentityRequest};

use crate::common::{Server, cli, git, owner, stderr, stdout};
use crate::postgres::{connect, role_state, rotation_roles};

const LEAKED: &str = "DATABASE_URL = \"postgres://payments:Zq8vN3kR7tLw2xYp@db.acme.io/ledger\"\n";

fn repo_with(dir: &Path, content: &str) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["config", "user.email", "dev@acme.io"]);
    git(dir, &["config", "user.name", "Dev One"]);
    std::fs::write(dir.join("settings.py"), content).unwrap();
    git(dir, &["add", "."]);
    git(dir, &["commit", "-qm", "settings"]);
}

async fn wait_for(
    c: &holdfast_client::Client,
    id: uuid::Uuid,
    done: impl Fn(&holdfast_core::Offboarding) -> bool,
) -> holdfast_core::Offboarding {
    for _ in 0..240 {
        if let Ok(o) = c.offboarding(id).await
            && done(&o)
        {
            return o;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    panic!(
        "offboarding {id} did not get there: {:#?}",
        c.offboarding(id).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboarding_revokes_first_proves_copies_gone_survives_a_kill_and_signs_a_receipt() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await.unwrap();
    let pg = connect(&db.url).await;
    let (group, blue, green) = rotation_roles(&pg, "initial-blue-password").await;

    let dir = tempfile::tempdir().unwrap();
    let repos = dir.path().join("repos");
    let repo = repos.join("payments-api");
    repo_with(&repo, LEAKED);
    let config = dir.path().join("holdfast.toml");
    std::fs::write(
        &config,
        format!("[offboarding]\nscan_roots = [\"{}\"]\n", repos.display()),
    )
    .unwrap();
    let data = dir.path().join("data");
    let key = dir.path().join("unseal.key");
    let args = [
        "--unseal-key-file",
        key.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    let mut s = Server::start_env(&data, &args, &[("HOLDFAST_FAULT", "abort-in-offboarding")]);
    let token = s.init().await;
    let c = s.client(Some(&token));
    owner(&c, "payments-team").await;
    let identity = c
        .create_identity(&CreateIdentityRequest {
            kind: Some(holdfast_core::IdentityKind::ServiceAccount),
            name: Some("payments-api".into()),
            owner: Some("payments-team".into()),
            purpose: Some("serves the payments API".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let id = identity.id.to_string();

    // A rotated PostgreSQL credential the identity owns.
    let put = |v: String, owner: Option<uuid::Uuid>| holdfast_types::PutSecretRequest {
        value: Some(v),
        owner_identity: owner,
        ..Default::default()
    };
    c.put_secret("pg/admin", &put(db.url.clone(), None))
        .await
        .unwrap();
    c.put_secret(
        "db/payments",
        &put(
            format!(r#"{{"login":"{blue}","password":"initial-blue-password"}}"#),
            Some(identity.id),
        ),
    )
    .await
    .unwrap();
    c.start_rotation(
        "db/payments",
        &holdfast_types::StartRotationRequest {
            rotator: Some("postgres".into()),
            settings: Some(
                serde_json::json!({"admin_secret": "pg/admin", "blue_role": blue, "green_role": green}),
            ),
            grace_seconds: Some(0),
        },
    )
    .await
    .unwrap();
    for _ in 0..120 {
        if c.rotation("db/payments").await.is_ok_and(|r| r.finished) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let rotated: serde_json::Value =
        serde_json::from_str(&c.get_secret("db/payments", None).await.unwrap().value).unwrap();
    assert_eq!(rotated["login"], green.as_str());
    let green_password = rotated["password"].as_str().unwrap().to_string();
    assert_eq!(role_state(&pg, &green).await, (true, true));

    // The leaked key: a credential of the identity, found in the repository by the scanner.
    let scan = cli(
        &s.url,
        None,
        &[
            "scan",
            "--git",
            "--format",
            "json",
            "--no-progress",
            repo.to_str().unwrap(),
        ],
    );
    let found: serde_json::Value = serde_json::from_str(&stdout(&scan)).unwrap();
    let fingerprint = found["findings"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    c.create_credential(&CreateCredentialRequest {
        identity: Some(id.clone()),
        kind: Some(holdfast_core::CredentialKind::ConnectionString),
        name: Some("ledger database URL".into()),
        fingerprint: Some(fingerprint.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let reported = cli(
        &s.url,
        Some(&token),
        &[
            "scan",
            "--git",
            "--no-progress",
            "--report-to-server",
            repo.to_str().unwrap(),
        ],
    );
    assert!(
        stderr(&reported).contains("1 matched"),
        "{}",
        stderr(&reported)
    );

    // Offboard; the server dies after revoking the PostgreSQL logins, before recording it.
    let out = cli(
        &s.url,
        Some(&token),
        &[
            "identity",
            "offboard",
            &id,
            "--reason",
            "payments-api retired",
            "--no-wait",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let started: holdfast_core::Offboarding = serde_json::from_str(&stdout(&out)).unwrap();
    let kinds: Vec<StepKind> = started.steps.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        vec![
            StepKind::RevokeSecret,
            StepKind::RevokeCredential,
            StepKind::Rescan,
            StepKind::Verify,
            StepKind::Finish
        ],
        "{:#?}",
        started.steps
    );
    let status = s.child.wait().unwrap();
    assert!(
        !status.success(),
        "the fault hook should have killed the server"
    );
    assert_eq!(
        role_state(&pg, &green).await,
        (false, false),
        "revoked before the kill"
    );

    // Restarted, it resumes: the revocation is done again (idempotently) and recorded once.
    s = Server::start(&data, &args);
    let c = s.client(Some(&token));
    let o = wait_for(&c, started.id, |o| o.state == OffboardingState::Waiting).await;
    // The leaked URL's provider is not one Holdfast can reach: a person revokes it and confirms.
    let manual = o
        .steps
        .iter()
        .find(|s| s.status == StepStatus::Manual)
        .unwrap()
        .clone();
    assert_eq!(manual.kind, StepKind::RevokeCredential);
    let out = cli(
        &s.url,
        Some(&token),
        &[
            "offboarding",
            "confirm",
            &o.id.to_string(),
            "--step",
            &manual.n.to_string(),
            "--note",
            "password of payments@db.acme.io changed by the DBA (CHG-1042)",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let o = wait_for(&c, started.id, |o| o.state == OffboardingState::Finished).await;
    assert_eq!(o.outcome.as_deref(), Some("copies_remain"));

    // Each step once, in plan order, each done.
    let ns: Vec<u32> = o.steps.iter().map(|s| s.n).collect();
    assert_eq!(ns, vec![1, 2, 3, 4, 5]);
    assert!(o.steps.iter().all(|s| s.status == StepStatus::Done));
    let step = |k: StepKind| o.steps.iter().find(|s| s.kind == k).unwrap();
    assert_eq!(
        step(StepKind::RevokeSecret).outcome.as_deref(),
        Some("revoked")
    );
    assert!(
        step(StepKind::RevokeSecret)
            .evidence
            .iter()
            .any(|e| e.contains(&green))
    );
    let rescan = step(StepKind::Rescan);
    assert_eq!(rescan.outcome.as_deref(), Some("still_present"));
    assert!(
        rescan.evidence.iter().any(|e| e.contains("settings.py")),
        "{:?}",
        rescan.evidence
    );
    assert_eq!(
        step(StepKind::Verify).outcome.as_deref(),
        Some("does_not_authenticate")
    );

    // The old PostgreSQL passwords no longer log in.
    for (login, password) in [
        (&blue, "initial-blue-password"),
        (&green, green_password.as_str()),
    ] {
        let mut cfg: tokio_postgres::Config = db.url.parse().unwrap();
        cfg.user(login).password(password);
        assert!(
            cfg.connect(tokio_postgres::NoTls).await.is_err(),
            "{login} still logs in"
        );
    }
    let identity = c.identity(&id).await.unwrap();
    assert_eq!(identity.state, holdfast_core::LifecycleState::Offboarded);

    // The receipt says copies remain, verifies offline, and fails after any byte changes.
    let file = dir.path().join("receipt.json");
    let out = cli(
        &s.url,
        Some(&token),
        &[
            "offboarding",
            "receipt",
            &o.id.to_string(),
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("copies are still present"), "{text}");
    assert!(!text.contains("Zq8vN3kR7tLw2xYp") && !text.contains(&green_password));
    let public_key = c.audit_keys().await.unwrap()[0].public_key.clone();
    let ok = cli(
        &s.url,
        None,
        &[
            "receipt",
            "verify",
            file.to_str().unwrap(),
            "--public-key",
            &public_key,
        ],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stdout(&ok).starts_with("valid"), "{}", stdout(&ok));
    let bytes = text.as_bytes();
    for (i, flip) in (0..bytes.len()).flat_map(|i| [(i, 0x01u8), (i, 0x20)]) {
        // A low bit, and the case bit (hex spells the same bytes in either case).
        let mut changed = bytes.to_vec();
        changed[i] ^= flip;
        let Ok(t) = String::from_utf8(changed) else {
            continue;
        };
        assert!(
            holdfast_server::offboarding::verify_receipt(&t, std::slice::from_ref(&public_key))
                .is_err(),
            "byte {i} changed (^{flip:#x}) and the receipt still verified"
        );
    }
    let mut tampered = text.replacen("copies_remain", "complete_____", 1);
    std::fs::write(&file, &tampered).unwrap();
    let bad = cli(&s.url, None, &["receipt", "verify", file.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1), "{}", stdout(&bad));
    tampered = text.replace('\n', "\r\n");
    assert!(holdfast_server::offboarding::verify_receipt(&tampered, &[]).is_err());
    let other_key = "0".repeat(64);
    assert!(holdfast_server::offboarding::verify_receipt(&text, &[other_key]).is_err());

    // The copy is removed from the repository (history rewritten): a re-check proves it gone.
    std::fs::remove_dir_all(&repo).unwrap();
    repo_with(&repo, "DATABASE_URL = os.environ[\"DATABASE_URL\"]\n");
    let out = cli(
        &s.url,
        Some(&token),
        &["offboarding", "recheck", &o.id.to_string()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let o = wait_for(&c, started.id, |o| o.state == OffboardingState::Finished).await;
    assert_eq!(o.outcome.as_deref(), Some("complete"));
    let text = c.offboarding_receipt(o.id).await.unwrap();
    assert!(
        text.contains("every recorded copy re-scanned and gone"),
        "{text}"
    );
    let file = holdfast_server::offboarding::verify_receipt(&text, &[public_key]).unwrap();
    assert_eq!(file.receipt.steps.len(), 5);
    assert_eq!(file.receipt.outcome, "complete");

    // Nothing rotates its revoked logins back to life.
    let refused = c
        .start_rotation(
            "db/payments",
            &holdfast_types::StartRotationRequest {
                rotator: Some("postgres".into()),
                settings: Some(
                    serde_json::json!({"admin_secret": "pg/admin", "blue_role": blue, "green_role": green}),
                ),
                grace_seconds: Some(0),
            },
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("offboarded"), "{refused}");
    assert_eq!(role_state(&pg, &green).await, (false, false));
    // A complete offboarding has nothing to re-check.
    let again = cli(
        &s.url,
        Some(&token),
        &["offboarding", "recheck", &o.id.to_string()],
    );
    assert!(!again.status.success());
    // An offboarded identity never comes back.
    let again = c.offboard(&id, "again").await.unwrap_err();
    assert!(again.to_string().contains("never comes back"), "{again}");
    let audit = serde_json::to_string(&c.audit(None, Some(1000)).await.unwrap()).unwrap();
    assert!(audit.contains("offboarding.finished") && audit.contains("offboarding.confirm"));
    assert!(!audit.contains(&green_password));
    drop(s);
    pg.batch_execute(&format!(
        "DROP ROLE {green}; DROP ROLE {blue}; DROP ROLE {group};"
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn an_owner_leaving_offboards_or_reassigns_and_expiry_offboards() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let token = s.init().await;
    let c = s.client(Some(&token));
    owner(&c, "leaver").await;
    owner(&c, "stayer").await;
    let make = |name: &str, owner: &str| CreateIdentityRequest {
        kind: Some(holdfast_core::IdentityKind::Bot),
        name: Some(name.into()),
        owner: Some(owner.into()),
        purpose: Some("test".into()),
        ..Default::default()
    };
    let a = c.create_identity(&make("bot-a", "leaver")).await.unwrap();
    let b = c.create_identity(&make("bot-b", "leaver")).await.unwrap();
    c.create_credential(&CreateCredentialRequest {
        identity: Some(b.id.to_string()),
        kind: Some(holdfast_core::CredentialKind::ApiKey),
        name: Some("bot-b key".into()),
        value: Some("bot-b-secret-value-0123456789".into()),
        ..Default::default()
    })
    .await
    .unwrap();

    // Reassigned: nothing is revoked, the identities change hands.
    owner(&c, "temp").await;
    let t = c.create_identity(&make("bot-t", "temp")).await.unwrap();
    let out = cli(
        &s.url,
        Some(&token),
        &[
            "owner",
            "depart",
            "temp",
            "--reason",
            "moved team",
            "--reassign-to",
            "stayer",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: holdfast_types::DepartReport = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report.reassigned, vec![t.id]);
    assert!(report.offboardings.is_empty());
    let moved = c.identity(&t.id.to_string()).await.unwrap();
    assert_eq!(moved.state, holdfast_core::LifecycleState::Active);

    // Offboarded: each identity of the leaver is offboarded; a key Holdfast cannot reach waits
    // for a person, and the offboarding does not finish before.
    let report = c
        .depart_owner(
            "leaver",
            &holdfast_types::DepartRequest {
                reason: Some("left the company".into()),
                reassign_to: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(report.offboardings.len(), 2);
    let of = |identity: uuid::Uuid| {
        let c = c.clone();
        async move {
            c.list_offboardings(vec![("identity", Some(identity.to_string()))])
                .await
                .unwrap()
                .items[0]
                .id
        }
    };
    let oa = of(a.id).await;
    let done = wait_for(&c, oa, |o| o.state == OffboardingState::Finished).await;
    assert_eq!(done.outcome.as_deref(), Some("complete"));
    assert_eq!(done.trigger, "owner_departed");
    let ob = of(b.id).await;
    let waiting = wait_for(&c, ob, |o| o.state == OffboardingState::Waiting).await;
    assert!(waiting.receipt.is_none());
    assert_eq!(
        c.identity(&b.id.to_string()).await.unwrap().state,
        holdfast_core::LifecycleState::Offboarding
    );
    let receipt = c.offboarding_receipt(ob).await.unwrap_err();
    assert!(receipt.to_string().contains("waiting"), "{receipt}");
    assert!(!c.owner("leaver").await.unwrap().active);

    // Past its end date: the sweeper offboards it by itself.
    let mut req = make("bot-x", "stayer");
    req.expires_at = Some(time::OffsetDateTime::now_utc() + time::Duration::seconds(2));
    let x = c.create_identity(&req).await.unwrap();
    let mut found = None;
    for _ in 0..80 {
        let page = c
            .list_offboardings(vec![("identity", Some(x.id.to_string()))])
            .await
            .unwrap();
        if let Some(o) = page.items.first() {
            found = Some(o.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let o = found.expect("the expired identity was not offboarded");
    assert_eq!(o.trigger, "expired");
    assert_eq!(o.requested_by, "holdfast");
}

#[tokio::test]
async fn access_reviews_owners_answer_and_a_missed_deadline_suspends() {
    let (url, rx) = crate::common::receiver();
    let dir = tempfile::tempdir().unwrap();
    let (s, token) = crate::common::configured(
        dir.path(),
        &format!("[rotators.reviews]\nurl = \"{url}\"\nsigning_secret = \"hooks/reviews\"\n"),
    )
    .await;
    let c = s.client(Some(&token));
    crate::common::put_secret(&c, "hooks/reviews", "review-signing-key-0123456789").await;
    for (name, kind) in [
        ("alice", holdfast_core::OwnerKind::Person),
        ("team-b", holdfast_core::OwnerKind::Team),
    ] {
        c.create_owner(&holdfast_types::CreateOwnerRequest {
            name: Some(name.into()),
            display_name: None,
            kind: Some(kind),
            contact: Some(format!("{name}@example.com")),
        })
        .await
        .unwrap();
    }
    let make = |name: &str, owner: &str| CreateIdentityRequest {
        kind: Some(holdfast_core::IdentityKind::ServiceAccount),
        name: Some(name.into()),
        owner: Some(owner.into()),
        purpose: Some("test".into()),
        ..Default::default()
    };
    let a1 = c.create_identity(&make("a1", "alice")).await.unwrap();
    let a2 = c.create_identity(&make("a2", "alice")).await.unwrap();
    let b1 = c.create_identity(&make("b1", "team-b")).await.unwrap();
    let wide = c
        .create_entitlement(&holdfast_types::CreateEntitlementRequest {
            identity: Some(a2.id.to_string()),
            resource: Some("arn:aws:s3:::*".into()),
            actions: vec!["s3:*".into()],
            granted_by: Some("policy legacy".into()),
            ..Default::default()
        })
        .await
        .unwrap();

    let deadline = (time::OffsetDateTime::now_utc() + time::Duration::seconds(6))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let out = cli(
        &s.url,
        Some(&token),
        &[
            "review",
            "start",
            "--name",
            "2026-Q4",
            "--deadline",
            &deadline,
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let view: holdfast_types::CampaignView = serde_json::from_str(&stdout(&out)).unwrap();
    let campaign = view.campaign.id.to_string();
    assert_eq!(view.counts.get("pending"), Some(&3));

    let person = |name: &str, groups: Vec<String>| {
        let c = c.clone();
        let name = name.to_string();
        async move {
            c.create_token(&holdfast_types::CreateTokenRequest {
                name: Some(name),
                roles: vec![holdfast_core::Role::Reader],
                identity: None,
                groups,
                ttl_seconds: Some(3600),
            })
            .await
            .unwrap()
            .token
        }
    };
    let alice = person("alice", vec![]).await;
    let mallory = person("mallory", vec![]).await;
    // Only the owner answers.
    let out = cli(
        &s.url,
        Some(&mallory),
        &[
            "review",
            "attest",
            &campaign,
            "--identity",
            &a1.id.to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("only the owner"), "{}", stderr(&out));
    let out = cli(
        &s.url,
        Some(&alice),
        &[
            "review",
            "attest",
            &campaign,
            "--identity",
            &a1.id.to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        c.identity(&a1.id.to_string())
            .await
            .unwrap()
            .last_reviewed_at
            .is_some()
    );
    // Reduce: the entitlement named goes; a reason is required.
    let out = cli(
        &s.url,
        Some(&alice),
        &[
            "review",
            "attest",
            &campaign,
            "--identity",
            &a2.id.to_string(),
            "--decision",
            "reduced",
            "--remove-entitlement",
            &wide.id.to_string(),
        ],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("note"), "{}", stderr(&out));
    let out = cli(
        &s.url,
        Some(&alice),
        &[
            "review",
            "attest",
            &campaign,
            "--identity",
            &a2.id.to_string(),
            "--decision",
            "reduced",
            "--remove-entitlement",
            &wide.id.to_string(),
            "--note",
            "s3:* is far more than it needs",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        c.entitlement(&wide.id.to_string()).await.is_err(),
        "the entitlement was removed"
    );

    // team-b never answers: after the deadline the campaign is enforced and closed, and b1 is
    // suspended, as the default policy says.
    let mut v = c.campaign(view.campaign.id).await.unwrap();
    for _ in 0..80 {
        if v.campaign.state == holdfast_core::CampaignState::Closed {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        v = c.campaign(view.campaign.id).await.unwrap();
    }
    assert_eq!(v.campaign.state, holdfast_core::CampaignState::Closed);
    assert_eq!(
        c.identity(&b1.id.to_string()).await.unwrap().state,
        holdfast_core::LifecycleState::Suspended
    );
    assert_eq!(v.counts.get("missed_suspended"), Some(&1));
    assert_eq!(v.counts.get("attested"), Some(&1));
    assert_eq!(v.counts.get("reduced"), Some(&1));
    let audit = serde_json::to_string(&c.audit(None, Some(1000)).await.unwrap()).unwrap();
    assert!(audit.contains("review.missed") && audit.contains("suspend-on-missed-review"));

    // Owners heard about it, signed: started (one notice per owner), a reminder a day before the
    // deadline (here at once) to owners with pending identities, and missed (team-b).
    let mut kinds = Vec::new();
    while !kinds
        .iter()
        .any(|k: &String| k.starts_with("review.missed"))
        && kinds.len() < 6
    {
        let (head, body) = rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap();
        assert!(
            head.to_ascii_lowercase()
                .contains("x-holdfast-signature: sha256=")
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        kinds.push(format!(
            "{} {}",
            v["kind"].as_str().unwrap(),
            v["owner"].as_str().unwrap()
        ));
    }
    for want in [
        "review.started alice",
        "review.started team-b",
        "review.missed team-b",
    ] {
        assert!(kinds.iter().any(|k| k == want), "{want} not in {kinds:?}");
    }
    assert!(
        kinds.iter().all(|k| k != "review.missed alice"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_review_is_never_answered_by_the_identity_itself_an_agent_or_a_former_owner() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let token = s.init().await;
    let c = s.client(Some(&token));
    owner(&c, "team-b").await;
    owner(&c, "team-c").await;
    let make = |name: &str, kind: holdfast_core::IdentityKind| CreateIdentityRequest {
        kind: Some(kind),
        name: Some(name.into()),
        owner: Some("team-b".into()),
        purpose: Some("test".into()),
        ..Default::default()
    };
    let bot = c
        .create_identity(&make("bot", holdfast_core::IdentityKind::Bot))
        .await
        .unwrap();
    let agent = c
        .create_identity(&make("helper", holdfast_core::IdentityKind::AiAgent))
        .await
        .unwrap();
    let view = c
        .start_campaign(&holdfast_types::StartCampaignRequest {
            name: Some("sod".into()),
            deadline_days: Some(7),
            ..Default::default()
        })
        .await
        .unwrap();
    let mint = |identity: Option<uuid::Uuid>, name: &str, groups: &[&str]| {
        let c = c.clone();
        let req = holdfast_types::CreateTokenRequest {
            name: Some(name.into()),
            roles: vec![holdfast_core::Role::Reader],
            identity: identity.map(|i| i.to_string()),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ttl_seconds: Some(3600),
        };
        async move { c.create_token(&req).await.unwrap().token }
    };
    let answer = |t: String| {
        let s_url = s.url.clone();
        let campaign = view.campaign.id;
        let bot = bot.id;
        async move {
            holdfast_client::Client::new(&s_url, Some(t), None)
                .unwrap()
                .decide_review_item(
                    campaign,
                    &bot.to_string(),
                    &holdfast_types::DecideItemRequest {
                        decision: Some("attested".into()),
                        note: None,
                        remove_entitlements: vec![],
                    },
                )
                .await
        }
    };
    // The identity itself, even in its owner's group; an AI agent in that group.
    let itself = mint(Some(bot.id), "bot", &["team-b"]).await;
    let e = answer(itself).await.unwrap_err();
    assert!(e.to_string().contains("only the owner"), "{e}");
    let agent_token = mint(Some(agent.id), "helper", &["team-b"]).await;
    let e = answer(agent_token).await.unwrap_err();
    assert!(e.to_string().contains("only the owner"), "{e}");
    // After the identity changes hands, the former owner's team no longer answers; the new one does.
    let former = mint(None, "bea", &["team-b"]).await;
    let current = c.identity(&bot.id.to_string()).await.unwrap();
    c.update_identity(
        &bot.id.to_string(),
        &holdfast_types::UpdateIdentityRequest {
            version: Some(current.version),
            owner: Some("team-c".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let e = answer(former).await.unwrap_err();
    assert!(e.to_string().contains("team-c"), "{e}");
    let new_owner = mint(None, "cid", &["team-c"]).await;
    let item = answer(new_owner).await.unwrap();
    assert_eq!(item.decision, holdfast_core::ItemDecision::Attested);
    assert!(item.decided_by.unwrap().contains("cid"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_offboard_once_each_step_recorded_once() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await.unwrap();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Server::start(d1.path(), &["--database-url", &db.url]);
    let b = Server::start(d2.path(), &["--database-url", &db.url]);
    let token = a.init().await;
    let (ca, cb) = (a.client(Some(&token)), b.client(Some(&token)));
    owner(&ca, "team").await;
    let bot = ca
        .create_identity(&CreateIdentityRequest {
            kind: Some(holdfast_core::IdentityKind::Bot),
            name: Some("replicated-bot".into()),
            owner: Some("team".into()),
            purpose: Some("test".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    for n in 0..3 {
        ca.create_token(&holdfast_types::CreateTokenRequest {
            name: Some(format!("bot-token-{n}")),
            roles: vec![holdfast_core::Role::Reader],
            identity: Some(bot.id.to_string()),
            groups: vec![],
            ttl_seconds: Some(3600),
        })
        .await
        .unwrap();
    }
    let o = ca.offboard(&bot.id.to_string(), "retired").await.unwrap();
    assert_eq!(o.steps.len(), 4, "three tokens and the finish");
    // Both replicas' sweepers drive it; B answers for it as well as A.
    let done = wait_for(&cb, o.id, |o| o.state == OffboardingState::Finished).await;
    assert_eq!(done.outcome.as_deref(), Some("complete"));
    let audit = ca.audit(None, Some(1000)).await.unwrap().items;
    let count = |action: &str| audit.iter().filter(|r| r.event.action == action).count();
    assert_eq!(count("token.revoke"), 3, "each token revoked once");
    let mut recorded: Vec<u64> = audit
        .iter()
        .filter(|r| {
            r.event.target.as_deref() == Some(&format!("offboarding:{}", o.id))
                && matches!(
                    r.event.action.as_str(),
                    "offboarding.step" | "offboarding.finished"
                )
        })
        .filter_map(|r| r.event.detail["step"].as_u64())
        .collect();
    recorded.sort_unstable();
    assert_eq!(recorded, vec![1, 2, 3, 4], "each step recorded once");
    let receipt = cb.offboarding_receipt(o.id).await.unwrap();
    holdfast_server::offboarding::verify_receipt(&receipt, &[]).unwrap();
}
