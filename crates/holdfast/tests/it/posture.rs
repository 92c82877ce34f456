//! Posture end to end over real HTTP and the real CLI: a discovered AWS estate raises findings
//! mapped to OWASP and CSF 2.0 (a CSF 1.1 id finds what it became), the owner cannot accept its
//! own risk while someone else can, fixing the cause resolves the finding and undoing the fix
//! reopens it — each step in the finding's history and the audit log — and the server recomputes
//! on its own when the inventory changes.

use holdfast_core::Role;
use holdfast_posture::{AcceptFinding, FindingRecord, FindingState};
use holdfast_types::{
    CreateOwnerRequest, CreateTokenRequest, DiscoverInput, DiscoverRequest, UpdateIdentityRequest,
};
use serde_json::{Value, json};

use crate::common::{BIN, Server};

fn iam_export() -> Value {
    let user = |name: &str, id: &str, owner: Option<&str>| {
        json!({"Path": "/", "UserName": name, "UserId": id,
            "Arn": format!("arn:aws:iam::111122223333:user/{name}"), "CreateDate": "2023-01-10T09:00:00Z",
            "UserPolicyList": [], "GroupList": [], "AttachedManagedPolicies": [],
            "Tags": owner.map_or(json!([]), |o| json!([{"Key": "owner", "Value": o}]))})
    };
    let mut ci = user("ci-deployer", "AIDAQX7RZ3CIDEPLOYR1", Some("team-a"));
    ci["UserPolicyList"] = json!([{"PolicyName": "ci-deploy", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]}}]);
    let gha = json!({"Path": "/", "RoleName": "gha-deploy", "RoleId": "AROAQX7RZ3GHADEPLOY1",
        "Arn": "arn:aws:iam::111122223333:role/gha-deploy", "CreateDate": "2024-01-10T09:00:00Z",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}}]},
        "InstanceProfileList": [], "RolePolicyList": [], "AttachedManagedPolicies": [],
        "Tags": [{"Key": "owner", "Value": "team-a"}]});
    json!({
        "UserDetailList": [ci, user("svc-orphan", "AIDAQX7RZ3ORPHAN0001", None)],
        "GroupDetailList": [],
        "RoleDetailList": [gha],
        "Policies": []
    })
}

fn cli(url: &str, token: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(["--addr", url, "--json"])
        .args(args)
        .env("HOLDFAST_TOKEN", token)
        .output()
        .unwrap()
}

fn findings_json(out: &std::process::Output) -> Vec<FindingRecord> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = v.get("items").cloned().unwrap_or(v);
    serde_json::from_value(items).unwrap()
}

async fn token(admin: &holdfast_client::Client, name: &str, groups: &[&str]) -> String {
    admin
        .create_token(&CreateTokenRequest {
            name: Some(name.into()),
            roles: vec![Role::Approver, Role::Reader],
            identity: None,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ttl_seconds: Some(3600),
        })
        .await
        .unwrap()
        .token
}

#[tokio::test]
async fn findings_map_accept_resolve_reopen_and_recompute_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("holdfast.toml");
    std::fs::write(&config, "[posture]\ninterval_seconds = 1\n").unwrap();
    let s = Server::start(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let root = s.init().await;
    let admin = s.client(Some(&root));
    admin
        .create_owner(&CreateOwnerRequest {
            name: Some("team-a".into()),
            display_name: None,
            kind: Some(holdfast_core::OwnerKind::Team),
            contact: Some("team-a@example.com".into()),
        })
        .await
        .unwrap();
    admin
        .discover(
            "aws-iam",
            &DiscoverRequest {
                inputs: vec![DiscoverInput {
                    name: Some("iam.json".into()),
                    content: Some(iam_export().to_string()),
                }],
                system: None,
            },
        )
        .await
        .unwrap();
    let identities = admin.list_identities(vec![]).await.unwrap().items;
    let id_of = |name: &str| identities.iter().find(|i| i.name == name).unwrap().id;

    // An explicit recompute, through the CLI.
    let out = cli(&s.url, &root, &["findings", "recompute"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(run["opened"].as_u64().unwrap() >= 3, "{run}");

    let all = findings_json(&cli(&s.url, &root, &["findings", "list", "--all"]));
    let find = |rule: &str, identity: uuid::Uuid| {
        all.iter()
            .find(|f| f.rule == rule && f.identity_id == Some(identity))
            .unwrap_or_else(|| {
                panic!(
                    "{rule} on {identity} missing: {:?}",
                    all.iter()
                        .map(|f| (&f.rule, &f.subject_label))
                        .collect::<Vec<_>>()
                )
            })
            .clone()
    };
    let orphan = find("no-owner", id_of("svc-orphan"));
    assert_eq!(orphan.owasp, vec!["NHI1"]);
    assert!(orphan.csf.contains(&"PR.AA-01".to_string()));
    let wildcard = find("wildcard-grant", id_of("ci-deployer"));
    assert_eq!(wildcard.owasp, vec!["NHI5"]);
    assert!(
        wildcard.evidence.iter().any(|e| e.detail.contains("s3:*")),
        "{:?}",
        wildcard.evidence
    );
    let oidc = find("oidc-trust-without-subject", id_of("gha-deploy"));
    assert_eq!(oidc.owasp, vec!["NHI6"]);
    assert!(
        oidc.evidence
            .iter()
            .any(|e| e.record.starts_with("discovery:aws-iam"))
    );

    // Filters by mapping: a CSF 1.1 id finds the CSF 2.0 outcome it became.
    let nhi6 = findings_json(&cli(
        &s.url,
        &root,
        &["findings", "list", "--owasp", "NHI6:2025"],
    ));
    assert!(nhi6.iter().all(|f| f.owasp.contains(&"NHI6".to_string())) && !nhi6.is_empty());
    let pr_ac_4 = findings_json(&cli(
        &s.url,
        &root,
        &["findings", "list", "--csf", "PR.AC-4"],
    ));
    assert!(pr_ac_4.iter().any(|f| f.id == wildcard.id));
    assert!(
        pr_ac_4
            .iter()
            .all(|f| f.csf.contains(&"PR.AA-05".to_string()))
    );
    let bad = cli(&s.url, &root, &["findings", "list", "--owasp", "NHI11"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("owasp"));

    // The owner cannot accept its own risk; someone else can, with a reason and an expiry.
    let owner_token = token(&admin, "carol", &["team-a"]).await;
    let refused = s
        .client(Some(&owner_token))
        .accept_finding(
            wildcard.id,
            &AcceptFinding {
                reason: Some("the bucket list is public data anyway".into()),
                expires_at: Some(
                    (time::OffsetDateTime::now_utc() + time::Duration::days(30))
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap(),
                ),
            },
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("owner"), "{refused}");
    let other = token(&admin, "dave", &[]).await;
    let no_expiry = cli(
        &s.url,
        &other,
        &[
            "findings",
            "accept",
            &wildcard.id.to_string(),
            "--reason",
            "too short",
            "--expires",
            "30d",
        ],
    );
    assert!(!no_expiry.status.success());
    assert!(String::from_utf8_lossy(&no_expiry.stderr).contains("reason"));
    let accepted = cli(
        &s.url,
        &other,
        &[
            "findings",
            "accept",
            &wildcard.id.to_string(),
            "--reason",
            "deploy role needs every bucket until the migration in Q1",
            "--expires",
            "30d",
        ],
    );
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    let f = admin.finding(wildcard.id).await.unwrap();
    assert_eq!(f.state, FindingState::Accepted);
    let acceptance = f.acceptance.unwrap();
    assert!(acceptance.approved_by.contains("dave"));
    // Accepted stays accepted across recomputes while it is still raised.
    admin.recompute_findings().await.unwrap();
    assert_eq!(
        admin.finding(wildcard.id).await.unwrap().state,
        FindingState::Accepted
    );

    // Fixing the cause resolves the finding — the server notices on its own (the sweeper sees
    // the audit log move) — and undoing the fix reopens it.
    let orphan_identity = admin
        .identity(&id_of("svc-orphan").to_string())
        .await
        .unwrap();
    let owned = admin
        .update_identity(
            &orphan_identity.id.to_string(),
            &UpdateIdentityRequest {
                version: Some(orphan_identity.version),
                owner: Some("team-a".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut state = FindingState::Open;
    for _ in 0..100 {
        state = admin.finding(orphan.id).await.unwrap().state;
        if state == FindingState::Resolved {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        state,
        FindingState::Resolved,
        "the sweeper did not recompute"
    );
    let team_b = admin
        .create_owner(&CreateOwnerRequest {
            name: Some("team-b".into()),
            display_name: None,
            kind: Some(holdfast_core::OwnerKind::Team),
            contact: Some("team-b@example.com".into()),
        })
        .await
        .unwrap();
    // The new owner leaves: a different finding opens (owner-departed) rather than the old one.
    admin
        .update_identity(
            &owned.id.to_string(),
            &UpdateIdentityRequest {
                version: Some(owned.version),
                owner: Some(team_b.name.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    admin
        .update_owner(
            &team_b.name,
            &holdfast_types::UpdateOwnerRequest {
                version: Some(team_b.version),
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    admin.recompute_findings().await.unwrap();
    let departed = admin
        .list_findings(vec![("identity", Some(owned.id.to_string()))])
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|f| f.rule == "owner-departed")
        .expect("owner-departed raised");
    assert_eq!(departed.state, FindingState::Open);
    assert_eq!(departed.owasp, vec!["NHI1"]);

    // A third-party label makes ci-deployer's wildcard grant a third party's broad scope; taking
    // the label off resolves it, putting it back reopens the same finding.
    let ci = id_of("ci-deployer").to_string();
    let label = |on: bool| {
        let mut m = std::collections::BTreeMap::new();
        if on {
            m.insert("holdfast.io/third-party".to_string(), "true".to_string());
        }
        m
    };
    for on in [true, false, true] {
        let current = admin.identity(&ci).await.unwrap();
        admin
            .update_identity(
                &ci,
                &UpdateIdentityRequest {
                    version: Some(current.version),
                    labels: Some(label(on)),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        admin.recompute_findings().await.unwrap();
    }
    let third = admin
        .list_findings(vec![("rule", Some("third-party-broad-scope".into()))])
        .await
        .unwrap()
        .items;
    assert_eq!(third.len(), 1, "{third:#?}");
    assert_eq!(third[0].state, FindingState::Open);
    assert_eq!(third[0].owasp, vec!["NHI3"]);
    let steps: Vec<&str> = third[0].history.iter().map(|h| h.event.as_str()).collect();
    assert_eq!(steps, vec!["opened", "resolved", "reopened"]);

    // Every step is in the audit log.
    let audit = cli(&s.url, &root, &["audit", "tail", "-n", "500"]);
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let text = String::from_utf8_lossy(&audit.stdout);
    assert!(text.contains("posture.recompute"), "{text}");
    assert!(text.contains("finding.accept"));

    // The risk score shows its parts.
    let risk = admin.identity_risk(id_of("ci-deployer")).await.unwrap();
    assert_eq!(
        risk.score,
        risk.parts.iter().map(|p| p.points).sum::<u32>().min(100)
    );
    assert!(
        risk.parts
            .iter()
            .any(|p| p.name == "findings" && p.points > 0)
    );
    let summary = admin.posture().await.unwrap();
    let latest = summary.latest.unwrap();
    assert!(latest.by_owasp.get("NHI5").copied().unwrap_or(0) >= 1);
    assert_eq!(summary.days.len(), 1);
}
