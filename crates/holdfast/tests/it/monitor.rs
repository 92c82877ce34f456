//! Monitoring end to end, over real HTTP and the real CLI: CloudTrail and Kubernetes audit in their
//! documented shapes map to discovered identities, detections raise alerts, policy contains a
//! critical one, people acknowledge and close, usage shows granted versus used — and a killed
//! server loses no acknowledged event, alert or baseline.

use holdfast_types::{CreateOwnerRequest, DiscoverInput, DiscoverRequest};
use serde_json::{Value, json};

use crate::common::{BIN, Server};

fn fixture(name: &str) -> String {
    format!(
        "{}/../holdfast-monitor/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn iam_export() -> Value {
    let user = |name: &str, id: &str| {
        json!({"Path": "/", "UserName": name, "UserId": id,
            "Arn": format!("arn:aws:iam::111122223333:user/{name}"), "CreateDate": "2023-01-10T09:00:00Z",
            "UserPolicyList": [], "GroupList": [], "AttachedManagedPolicies": [],
            "Tags": [{"Key": "owner", "Value": "team-a"}]})
    };
    let role = |name: &str, id: &str| {
        json!({"Path": "/", "RoleName": name, "RoleId": id,
            "Arn": format!("arn:aws:iam::111122223333:role/{name}"), "CreateDate": "2023-01-10T09:00:00Z",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]},
            "InstanceProfileList": [], "RolePolicyList": [], "AttachedManagedPolicies": [],
            "Tags": [{"Key": "owner", "Value": "team-a"}]})
    };
    let mut ci = user("ci-deployer", "AIDAQX7RZ3CIDEPLOYR1");
    ci["UserPolicyList"] = json!([{"PolicyName": "ci-deploy", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "s3:*"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["iam:CreateAccessKey", "iam:DeleteAccessKey"],
         "Resource": "arn:aws:iam::111122223333:user/ci-deployer"}]}}]);
    json!({
        "UserDetailList": [ci, user("svc-reporting", "AIDAQX7RZ3REPORTSR2")],
        "GroupDetailList": [],
        "RoleDetailList": [role("ops-admin", "AROAQX7RZ3OPSADMIN1"), role("terraform-apply", "AROAQX7RZ3TFAPPLY01"), role("app-reader", "AROAQX7RZ3APPREAD01")],
        "Policies": []
    })
}

fn keys_export() -> Value {
    json!({"AccessKeyMetadata": [
        {"UserName": "ci-deployer", "AccessKeyId": "AKIAQX7RZ3CIDEPLOY01", "Status": "Active", "CreateDate": "2023-06-01T00:00:00Z"},
        {"UserName": "svc-reporting", "AccessKeyId": "AKIAQX7RZ3REPORTS7K2", "Status": "Active", "CreateDate": "2023-06-01T00:00:00Z"}
    ]})
}

fn cli(url: &str, token: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(["--addr", url, "--json"])
        .args(args)
        .env("HOLDFAST_TOKEN", token)
        .output()
        .unwrap()
}

#[tokio::test]
async fn events_map_to_identities_raise_alerts_contain_and_survive_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let root = s.init().await;
    let admin = s.client(Some(&root));
    admin
        .create_owner(&CreateOwnerRequest {
            name: Some("team-a".into()),
            display_name: None,
            kind: None,
            contact: Some("team-a@example.com".into()),
        })
        .await
        .unwrap();
    let report = admin
        .discover(
            "aws-iam",
            &DiscoverRequest {
                inputs: vec![
                    DiscoverInput {
                        name: Some("iam.json".into()),
                        content: Some(iam_export().to_string()),
                    },
                    DiscoverInput {
                        name: Some("keys.json".into()),
                        content: Some(keys_export().to_string()),
                    },
                ],
                system: None,
            },
        )
        .await
        .unwrap();
    assert!(report.identities_created >= 5, "{report:#?}");
    let identities = admin.list_identities(vec![]).await.unwrap().items;
    let id_of = |name: &str| identities.iter().find(|i| i.name == name).unwrap().id;

    // The delivered CloudTrail file, through the real CLI.
    let out = cli(
        &s.url,
        &root,
        &["events", "ingest", &fixture("cloudtrail-delivered.json")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["accepted"], 12, "{r}");
    assert_eq!(r["rejected"], 0);
    assert!(r["mapped"].as_u64().unwrap() >= 6, "{r}");
    assert!(
        r["unknown_actors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "arn:aws:iam::111122223333:user/maria.ops"),
        "{r}"
    );
    let responses: Vec<String> = serde_json::from_value(r["responses"].clone()).unwrap();
    assert!(
        responses.iter().any(|x| x.ends_with("suspend: done")),
        "{responses:?}"
    );

    let alerts = admin.list_alerts(vec![]).await.unwrap().items;
    let find = |d: &str| {
        alerts
            .iter()
            .filter(|a| a.detection.id() == d)
            .collect::<Vec<_>>()
    };
    let off = find("logging_disabled");
    assert_eq!(off.len(), 1, "{alerts:#?}");
    assert_eq!(off[0].severity.as_str(), "critical");
    assert_eq!(off[0].identity_id, Some(id_of("ops-admin")));
    assert!(off[0].mitre.contains(&"T1562.008".to_string()));
    assert!(
        !off[0].respond_pending,
        "the responses ran and the debt is cleared"
    );
    assert!(
        off[0]
            .responses
            .iter()
            .any(|x| x.action == "suspend" && x.outcome == "done")
    );
    let key = find("access_key_for_other_user");
    assert_eq!(key.len(), 1);
    assert_eq!(key[0].identity_id, Some(id_of("ci-deployer")));
    assert!(
        !find("human_style_use").is_empty(),
        "aws-cli on a Mac: {alerts:#?}"
    );
    // Not in the export: a person's IAM user, an instance role, another account. The root user
    // and AWS services acting on their own are never "unknown".
    let mut unknown: Vec<&str> = find("unknown_identity")
        .iter()
        .map(|a| a.actor.as_str())
        .collect();
    unknown.sort_unstable();
    assert_eq!(
        unknown,
        [
            "arn:aws:iam::111122223333:user/maria.ops",
            "arn:aws:iam::444455556666:root",
            "arn:aws:sts::111122223333:assumed-role/batch-node/i-0a1b2c3d4e5f60718",
        ]
    );
    assert!(!find("privilege_change").is_empty());
    // Containment happened, and was audited.
    let ops = admin
        .identity(&id_of("ops-admin").to_string())
        .await
        .unwrap();
    assert_eq!(ops.state.as_str(), "suspended");
    let audit = admin.audit(None, Some(1000)).await.unwrap().items;
    assert!(audit.iter().any(|r| r.event.action == "events.ingest"));
    assert!(audit.iter().any(|r| r.event.action == "identity.transition"
        && r.event.detail["alert"] == json!(off[0].id.to_string())));

    // A log shipper: a reader in the group `ingest` sends events; a plain reader cannot.
    let mint = |groups: Vec<String>| holdfast_types::CreateTokenRequest {
        name: Some("shipper".into()),
        roles: vec![holdfast_core::Role::Reader],
        identity: None,
        groups,
        ttl_seconds: Some(600),
    };
    let shipper = admin
        .create_token(&mint(vec!["ingest".into()]))
        .await
        .unwrap()
        .token;
    let reader = admin.create_token(&mint(vec![])).await.unwrap().token;
    let lines = std::fs::read(fixture("cloudtrail-lines.jsonl")).unwrap();
    let e = s
        .client(Some(&reader))
        .ingest_events(lines.clone(), None, None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403));
    let r = s
        .client(Some(&shipper))
        .ingest_events(lines, None, None)
        .await
        .unwrap();
    assert_eq!(r.accepted, 5);

    // JSON lines with a broken line: the good ones count, the bad one is named.
    let body = std::fs::read(fixture("cloudtrail-lines.jsonl")).unwrap();
    let r = admin.ingest_events(body, None, None).await.unwrap();
    assert_eq!(r.accepted, 5);
    assert_eq!(r.rejected, 1);
    assert_eq!(r.errors[0].line, 4);
    let k8s = std::fs::read(fixture("k8s-audit.jsonl")).unwrap();
    let r = admin
        .ingest_events(k8s, Some("kubernetes"), None)
        .await
        .unwrap();
    assert_eq!((r.accepted, r.rejected), (10, 1));
    assert_eq!(r.errors[0].line, 7);
    // Nothing readable at all is refused and changes nothing.
    let before = admin.audit(None, Some(1000)).await.unwrap().items.len();
    let e = admin
        .ingest_events(b"not json\n".to_vec(), None, None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(422));
    let e = admin
        .ingest_events(b"x".to_vec(), Some("syslog"), None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("format"), "{e}");
    assert_eq!(
        admin.audit(None, Some(1000)).await.unwrap().items.len(),
        before
    );

    // A large batch (CloudTrail files and SIEM exports run to megabytes).
    let actors = holdfast_monitor::synthetic::estate(20, 3);
    let mut rng = holdfast_monitor::synthetic::Rng::new(5);
    let big: String =
        holdfast_monitor::synthetic::ordinary_day(&actors, 1_793_577_600, 250, &mut rng)
            .iter()
            .map(|r| format!("{r}\n"))
            .collect();
    assert!(big.len() > 4 * 1024 * 1024, "{}", big.len());
    let r = admin
        .ingest_events(big.into_bytes(), Some("cloudtrail"), None)
        .await
        .unwrap();
    assert_eq!((r.accepted, r.rejected), (5000, 0));

    // People acknowledge and close; closing needs a note.
    let ack = admin
        .update_alert(key[0].id, "ack", Some("looking".into()))
        .await
        .unwrap();
    assert_eq!(ack.state.as_str(), "acknowledged");
    let e = admin
        .update_alert(off[0].id, "close", None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(422));
    let out = cli(
        &s.url,
        &root,
        &[
            "alerts",
            "close",
            &off[0].id.to_string(),
            "--note",
            "trail restarted; ops-admin key rotated",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let closed = admin.alert(off[0].id).await.unwrap();
    assert_eq!(closed.state.as_str(), "closed");
    assert!(closed.closed_by.is_some());

    // Usage: what ci-deployer used, with its key, against what it is granted.
    let ci = id_of("ci-deployer");
    let u = admin.usage(ci, Some(3650)).await.unwrap();
    assert!(u.events >= 3, "{u:#?}");
    assert!(u.credentials.contains_key("AKIAQX7RZ3CIDEPLOY01"));
    let created = u
        .rightsizing
        .used
        .iter()
        .find(|x| x.action == "iam:CreateAccessKey")
        .unwrap();
    assert!(created.granted, "the discovered inline policy covers it");
    assert!(
        u.rightsizing
            .unused
            .iter()
            .any(|x| x.action == "s3:*" && x.granted_by.contains("ci-deploy")),
        "{:#?}",
        u.rightsizing
    );
    assert_eq!(u.rightsizing.flavour, "aws");
    let profile_events = u.events;

    // Killed: nothing acknowledged is lost.
    let alert_count = admin.list_alerts(vec![]).await.unwrap().items.len();
    s.kill9();
    let s = Server::start(dir.path(), &[]);
    let admin = s.client(Some(&root));
    let alerts = admin.list_alerts(vec![]).await.unwrap().items;
    assert_eq!(alerts.len(), alert_count);
    assert_eq!(
        admin.alert(key[0].id).await.unwrap().state.as_str(),
        "acknowledged"
    );
    assert_eq!(
        admin.usage(ci, Some(3650)).await.unwrap().events,
        profile_events
    );
    // The same bytes again (a retry whose answer was lost): recognised, nothing judged twice.
    let delivered = std::fs::read(fixture("cloudtrail-delivered.json")).unwrap();
    let again = admin
        .ingest_events(delivered.clone(), None, None)
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.accepted, 12);
    assert_eq!(admin.alert(key[0].id).await.unwrap().count, 1);
    assert_eq!(
        admin.usage(ci, Some(3650)).await.unwrap().events,
        profile_events
    );
    // The same records as JSON lines are a new batch: open alerts gain events, the closed one
    // opens anew.
    let doc: Value = serde_json::from_slice(&delivered).unwrap();
    let lines: String = doc["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{r}\n"))
        .collect();
    let r = admin
        .ingest_events(lines.into_bytes(), None, None)
        .await
        .unwrap();
    assert!(!r.duplicate);
    assert!(r.alerts_updated.contains(&key[0].id), "{r:#?}");
    assert!(!r.alerts_opened.contains(&key[0].id));
    assert_eq!(admin.alert(key[0].id).await.unwrap().count, 2);
    let reopened: Vec<_> = admin
        .list_alerts(vec![("detection", Some("logging_disabled".into()))])
        .await
        .unwrap()
        .items;
    assert_eq!(reopened.len(), 2);
    assert!(admin.usage(ci, Some(3650)).await.unwrap().events > profile_events);
}

#[tokio::test]
async fn new_alerts_are_posted_signed_to_the_alert_webhook() {
    let (url, rx) = crate::common::receiver();
    let dir = tempfile::tempdir().unwrap();
    let (s, root) = crate::common::configured(
        dir.path(),
        &format!("[rotators.alerts]\nurl = \"{url}\"\nsigning_secret = \"hooks/alerts\"\n"),
    )
    .await;
    let admin = s.client(Some(&root));
    crate::common::put_secret(&admin, "hooks/alerts", "alert-signing-key-0123456789").await;
    let r = admin
        .ingest_events(
            std::fs::read(fixture("cloudtrail-delivered.json")).unwrap(),
            None,
            None,
        )
        .await
        .unwrap();
    assert!(!r.alerts_opened.is_empty());
    let mut seen = vec![];
    for _ in 0..r.alerts_opened.len() {
        let (head, body) = rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap();
        assert!(
            head.to_ascii_lowercase()
                .contains("x-holdfast-signature: sha256="),
            "{head}"
        );
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["kind"], "alert.opened");
        assert!(!body.contains("alert-signing-key"));
        seen.push(v["alert"].as_str().unwrap().to_string());
    }
    seen.sort();
    let mut want: Vec<String> = r.alerts_opened.iter().map(|a| a.to_string()).collect();
    want.sort();
    assert_eq!(seen, want);
    // Delivered: nothing left owed.
    let alerts = admin.list_alerts(vec![]).await.unwrap().items;
    for _ in 0..40 {
        let owed = admin
            .list_alerts(vec![])
            .await
            .unwrap()
            .items
            .iter()
            .filter(|a| a.respond_pending)
            .count();
        if owed == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(alerts.len() >= r.alerts_opened.len());
    assert!(
        admin
            .list_alerts(vec![])
            .await
            .unwrap()
            .items
            .iter()
            .all(|a| !a.respond_pending)
    );
}
