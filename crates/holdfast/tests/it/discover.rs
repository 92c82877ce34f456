//! Discovery end to end: the CLI reads the example estate, imports it over HTTP into a real
//! server, and the inventory, tiers, blast radii and audit log show it.

use std::path::{Path, PathBuf};

use holdfast_core::Tier;
use holdfast_types::{BlastRadiusView, IdentityView, ImportReport};
use serde_json::Value;

use crate::common::{Server, cli, owner, stderr, stdout};

fn estate() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate")
}

fn import(s: &Server, token: &str, args: &[&str]) -> ImportReport {
    let mut all = vec!["discover"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = cli(&s.url, Some(token), &all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

async fn identities_of(s: &Server, token: &str, source: &str) -> Vec<IdentityView> {
    let c = s.client(Some(token));
    let (items, _) = c
        .list::<IdentityView>(
            "/identities",
            vec![
                ("source", Some(source.to_string())),
                ("limit", Some("500".into())),
            ],
        )
        .await
        .unwrap();
    items
}

#[tokio::test]
async fn reimporting_changes_nothing_and_a_changed_export_changes_exactly_the_diff() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data"), &[]);
    let token = s.init().await;
    let c = s.client(Some(&token));
    owner(&c, "platform-team").await;
    owner(&c, "payments-team").await;

    let iam = estate().join("aws/authorization-details.json");
    let iam_s = iam.to_str().unwrap();
    let first = import(&s, &token, &["aws-iam", iam_s]);
    assert!(first.changed);
    assert_eq!(first.identities_created, 9, "{first:#?}");
    assert!(first.edges_added > 0 && first.nodes_added > 0);
    let before = identities_of(&s, &token, "aws-iam:111122223333").await;
    assert_eq!(before.len(), 9);
    let audit_before = c.audit(None, Some(500)).await.unwrap().items.len();

    // The same export again: nothing changes but the audit record of the import.
    let again = import(&s, &token, &["aws-iam", iam_s]);
    assert!(!again.changed, "{again:#?}");
    assert_eq!(
        (
            again.identities_created,
            again.identities_updated,
            again.identities_missing
        ),
        (0, 0, 0)
    );
    assert_eq!(again.identities_unchanged, 9);
    assert_eq!(
        (
            again.nodes_added,
            again.nodes_removed,
            again.edges_added,
            again.edges_removed
        ),
        (0, 0, 0, 0)
    );
    let after = identities_of(&s, &token, "aws-iam:111122223333").await;
    assert_eq!(before, after, "re-import must not touch a record");
    let audit = c.audit(None, Some(500)).await.unwrap().items;
    assert_eq!(audit.len(), audit_before + 1);
    assert_eq!(audit.last().unwrap().event.action, "discovery.import");

    // A changed export: one user gone, one role's owner tag changed, one new role.
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&iam).unwrap()).unwrap();
    let users = doc["UserDetailList"].as_array_mut().unwrap();
    users.retain(|u| u["UserName"] != "reporting-bot");
    let roles = doc["RoleDetailList"].as_array_mut().unwrap();
    for r in roles.iter_mut() {
        if r["RoleName"] == "readonly-audit" {
            r["Tags"] = serde_json::json!([{"Key": "owner", "Value": "payments-team"}]);
        }
    }
    let mut new_role = roles[0].clone();
    new_role["RoleName"] = "batch-reader".into();
    new_role["Arn"] = "arn:aws:iam::111122223333:role/batch-reader".into();
    new_role["RolePolicyList"] = serde_json::json!([]);
    roles.push(new_role);
    let changed_path = dir.path().join("iam-changed.json");
    std::fs::write(&changed_path, serde_json::to_vec(&doc).unwrap()).unwrap();
    let diff = import(&s, &token, &["aws-iam", changed_path.to_str().unwrap()]);
    assert!(diff.changed);
    assert_eq!(
        (
            diff.identities_created,
            diff.identities_updated,
            diff.identities_missing
        ),
        (1, 1, 1),
        "{diff:#?}"
    );
    assert_eq!(diff.identities_unchanged, 7);
    let now = identities_of(&s, &token, "aws-iam:111122223333").await;
    assert_eq!(now.len(), 10, "the vanished user is kept, not deleted");
    let gone = now.iter().find(|i| i.name == "reporting-bot").unwrap();
    assert!(gone.missing_since.is_some());
    let audited = now.iter().find(|i| i.name == "readonly-audit").unwrap();
    assert_eq!(
        audited.provenance["owner"],
        format!("{} RoleDetailList[3] Tags[owner]", changed_path.display())
    );
    let untouched = now.iter().find(|i| i.name == "cfn-exec").unwrap();
    let was = before.iter().find(|i| i.name == "cfn-exec").unwrap();
    assert_eq!(untouched.version, was.version);
}

#[tokio::test]
async fn tiers_land_on_identities_and_blast_radius_crosses_sources() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let token = s.init().await;
    let c = s.client(Some(&token));
    owner(&c, "platform-team").await;
    let root = estate();
    let aws = root.join("aws");
    let gha = root.join("github/payments");
    import(&s, &token, &["aws-iam", aws.to_str().unwrap()]);
    let report = import(
        &s,
        &token,
        &[
            "github-actions",
            gha.to_str().unwrap(),
            "--system",
            "acme/payments",
        ],
    );
    assert_eq!(report.source, "github-actions:acme/payments");

    let ids = identities_of(&s, &token, "aws-iam:111122223333").await;
    let ci = ids.iter().find(|i| i.name == "ci-deployer").unwrap();
    assert_eq!(ci.tier, Tier::ManagementPlane);
    assert!(!ci.tier_override);
    let reason = ci.tier_reason.as_deref().unwrap();
    assert!(
        reason.starts_with("can change IAM in AWS account 111122223333"),
        "{reason}"
    );
    assert!(
        reason.contains("role/deploy") && reason.contains("role/cfn-exec"),
        "{reason}"
    );
    assert!(
        ci.owner_id.is_some(),
        "the owner tag names a registered owner"
    );
    let reporting = ids.iter().find(|i| i.name == "reporting-bot").unwrap();
    assert_eq!(reporting.tier, Tier::Standard);
    assert_eq!(
        reporting.labels["holdfast.io/owner-claim"],
        "finance-analytics"
    );
    assert!(reporting.owner_id.is_none());

    // Blast radius by identity id, over HTTP through the CLI.
    let out = cli(
        &s.url,
        Some(&token),
        &["graph", "blast-radius", &ci.id.to_string(), "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let br: BlastRadiusView = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(br.radius.management_plane && br.tier.management_plane);
    assert!(
        br.radius
            .identities
            .iter()
            .any(|r| r.node.key == "aws:arn:aws:iam::111122223333:role/cfn-exec")
    );

    // And by node key for a workflow job: its OIDC role leads into the AWS management plane.
    let out = cli(
        &s.url,
        Some(&token),
        &[
            "graph",
            "blast-radius",
            "gha:acme/payments:deploy.yml:infrastructure",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("MANAGEMENT PLANE"), "{text}");
    assert!(
        text.contains("—can-assume→ aws:arn:aws:iam::111122223333:role/deploy"),
        "{text}"
    );

    // Unknown node: 404, exit 1; neither or both selectors: 422 naming the field.
    let out = cli(
        &s.url,
        Some(&token),
        &[
            "graph",
            "blast-radius",
            "aws:arn:aws:iam::111122223333:role/nope",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let e = c.blast_radius(None, None, None).await.unwrap_err();
    assert_eq!(e.status(), Some(422));
}

#[tokio::test]
async fn a_tier_set_by_a_person_survives_reimport_and_secrets_never_reach_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let token = s.init().await;
    let c = s.client(Some(&token));
    let tf = estate().join("terraform/terraform.tfstate");
    let report = import(&s, &token, &["terraform", tf.to_str().unwrap()]);
    assert!(report.findings.iter().any(|f| f.kind == "secret-in-state"));
    let source = report.source.clone();
    let ids = identities_of(&s, &token, &source).await;
    let runner = ids.iter().find(|i| i.name == "tf-runner").unwrap();
    assert_eq!(runner.tier, Tier::ManagementPlane);
    // The runner's access key became a credential with its copy in state.
    let creds = c
        .list_credentials(vec![("identity", Some(runner.id.to_string()))])
        .await
        .unwrap();
    let key = creds
        .items
        .iter()
        .find(|k| k.external_id.as_deref() == Some("AKIA4TFRUNNER7Q2ZK3M"))
        .unwrap();
    assert!(key.fingerprint.is_some());
    assert!(
        key.exposures
            .iter()
            .any(|e| e.location.starts_with("tf:state:"))
    );

    // A leaked secret's fingerprint (what the scanner reports) leads to the identity it opens.
    let fp = holdfast_core::Fingerprint::of_secret(b"Zx3mQ9vL2pR7tY1wK8nB4cH6jD0fG5sA2eU7iO9q")
        .to_string();
    let out = cli(
        &s.url,
        Some(&token),
        &["graph", "blast-radius", &fp, "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let br: BlastRadiusView = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        br.radius.subject.key,
        "aws:arn:aws:iam::111122223333:user/tf-runner"
    );
    assert!(br.radius.management_plane);
    // The state's sensitive output is a copy discovery found itself: its own node.
    let out_fp = holdfast_core::Fingerprint::of_secret(b"q8Zr!tW3#mLp9vXy").to_string();
    let br = c.blast_radius(Some(&out_fp), None, None).await.unwrap();
    assert_eq!(br.radius.subject.key, format!("secret:{out_fp}"));
    let e = c
        .blast_radius(Some("sha256:nothex"), None, None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(422));

    // A person overrides the tier, with a reason.
    let patch = holdfast_types::UpdateIdentityRequest {
        version: Some(runner.version),
        tier: Some(Tier::Standard),
        tier_reason: Some(Some("reviewed: the batch-* roles are sandboxes".into())),
        ..Default::default()
    };
    let patched = c
        .update_identity(&runner.id.to_string(), &patch)
        .await
        .unwrap();
    assert!(patched.tier_override);
    let again = import(&s, &token, &["terraform", tf.to_str().unwrap()]);
    assert!(!again.changed, "{again:#?}");
    let runner = c.identity(&runner.id.to_string()).await.unwrap();
    assert_eq!(runner.tier, Tier::Standard);

    // No secret value from the state anywhere in what the API returns or the audit log holds.
    let mut seen = serde_json::to_string(&c.sources().await.unwrap()).unwrap();
    seen.push_str(&serde_json::to_string(&c.audit(None, Some(500)).await.unwrap()).unwrap());
    seen.push_str(&serde_json::to_string(&c.list_credentials(vec![]).await.unwrap()).unwrap());
    for secret in ["Zx3mQ9vL2pR7tY1wK8nB4", "q8Zr!tW3", "BExampleSmtpPassword"] {
        assert!(!seen.contains(secret), "{secret} leaked");
    }
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let token = s.init().await;
    let c = s.client(Some(&token));
    let req = |content: &str| holdfast_types::DiscoverRequest {
        inputs: vec![holdfast_types::DiscoverInput {
            name: Some("bad.yaml".into()),
            content: Some(content.into()),
        }],
        system: None,
    };
    let e = c
        .discover("kubernetes", &req("kind: [unclosed"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(422));
    let msg = e.to_string();
    assert!(msg.contains("bad.yaml") && msg.contains("inputs"), "{msg}");
    let e = c.discover("ldap", &req("x: 1")).await.unwrap_err();
    assert_eq!(e.status(), Some(422));
    assert!(e.to_string().contains("connector"), "{e}");
    let e = c
        .discover("kubernetes", &holdfast_types::DiscoverRequest::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("inputs"), "{e}");
    assert!(c.sources().await.unwrap().items.is_empty());
    let (ids, _) = c.list::<IdentityView>("/identities", vec![]).await.unwrap();
    assert!(ids.is_empty());
}

#[test]
fn dry_run_needs_no_server_and_offline_blast_radius_reads_files() {
    let root = estate();
    let out = std::process::Command::new(crate::common::BIN)
        .args(["discover", "kubernetes"])
        .arg(root.join("kubernetes"))
        .args(["--system", "prod", "--dry-run"])
        .env_remove("HOLDFAST_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("MANAGEMENT-PLANE kubernetes-service-account   kube-system/backup-agent"),
        "{text}"
    );
    let aws = format!("aws-iam={}", root.join("aws").display());
    let out = std::process::Command::new(crate::common::BIN)
        .args([
            "graph",
            "blast-radius",
            "aws:arn:aws:iam::111122223333:user/ci-deployer",
            "--from",
            &aws,
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let br: BlastRadiusView = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(br.tier.management_plane);
    assert_eq!(
        br.tier.path.last().unwrap().to,
        "aws:111122223333:capability:iam"
    );
    let _ = Path::new(".");
}
