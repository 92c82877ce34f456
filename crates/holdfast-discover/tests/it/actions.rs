//! GitHub Actions workflows.

use holdfast_discover::{Connector, Severity};
use holdfast_graph::EdgeKind;

use crate::{finding_kinds, run};

const FILES: &[&str] = &[
    "github/payments/.github/workflows/deploy.yml",
    "github/payments/.github/workflows/pr-checks.yml",
    "github/payments/.github/workflows/release.yml",
];

fn job(file: &str, job: &str) -> String {
    format!("gha:acme/payments:{file}:{job}")
}

#[test]
fn every_job_is_a_ci_identity_with_its_secrets_and_token_permissions() {
    let d = run(Connector::GithubActions, FILES, Some("acme/payments"));
    assert_eq!(d.source, "github-actions:acme/payments");
    let mut jobs: Vec<&str> = d
        .identities
        .iter()
        .map(|i| i.external_id.as_str())
        .collect();
    jobs.sort();
    assert_eq!(
        jobs,
        vec![
            "deploy.yml:infrastructure",
            "pr-checks.yml:test",
            "release.yml:docker",
            "release.yml:publish"
        ]
    );
    let infra = d
        .identities
        .iter()
        .find(|i| i.key == job("deploy.yml", "infrastructure"))
        .unwrap();
    assert_eq!(
        infra.attributes["secrets"].value,
        serde_json::json!(["SLACK_WEBHOOK_URL"])
    );
    assert_eq!(
        infra.attributes["token_permissions"].value,
        serde_json::json!({"contents": "read", "id-token": "write"})
    );
    assert_eq!(infra.environment.as_ref().unwrap().value, "production");
    // The bracket form of a secret reference counts too.
    let docker = d
        .identities
        .iter()
        .find(|i| i.key == job("release.yml", "docker"))
        .unwrap();
    assert_eq!(
        docker.attributes["secrets"].value,
        serde_json::json!(["REGISTRY_PASSWORD"])
    );
    let reads: Vec<&str> = d
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::CanRead && e.from == job("pr-checks.yml", "test"))
        .map(|e| e.to.as_str())
        .collect();
    assert_eq!(reads, vec!["github:acme/payments:secret:NPM_TOKEN"]);
}

#[test]
fn oidc_jobs_assume_the_cloud_role_they_name() {
    let d = run(Connector::GithubActions, FILES, Some("acme/payments"));
    let e = d
        .edges
        .iter()
        .find(|e| e.from == job("deploy.yml", "infrastructure") && e.kind == EdgeKind::CanAssume)
        .unwrap();
    assert_eq!(e.to, "aws:arn:aws:iam::111122223333:role/deploy");
    assert!(e.reason.contains("OIDC"), "{}", e.reason);
}

#[test]
fn untrusted_triggers_with_secrets_and_head_checkout_are_critical() {
    let d = run(Connector::GithubActions, FILES, Some("acme/payments"));
    let f = d
        .findings
        .iter()
        .find(|f| f.kind == "untrusted-trigger-with-secrets")
        .unwrap();
    assert_eq!(f.subject, job("pr-checks.yml", "test"));
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        finding_kinds(&d, &job("release.yml", "publish")),
        vec![
            "default-token-permissions",
            "secrets-inherited",
            "unowned-identity"
        ]
    );
    // A job that declares its permissions gets no default-permissions finding.
    assert!(
        !finding_kinds(&d, &job("deploy.yml", "infrastructure"))
            .contains(&"default-token-permissions".to_string())
    );
}

#[test]
fn infrastructure_deploys_with_credentials_are_management_plane() {
    let d = run(Connector::GithubActions, FILES, Some("acme/payments"));
    let g = crate::graph_of(&[d]);
    let t = g.tier(g.find(&job("deploy.yml", "infrastructure")).unwrap());
    assert!(t.management_plane);
    assert!(t.reason.unwrap().contains("terraform apply"));
    assert!(!crate::is_mgmt(&g, &job("pr-checks.yml", "test")));
}

#[test]
fn the_repository_defaults_to_the_directory_above_dot_github() {
    let d = run(
        Connector::GithubActions,
        &["github/payments/.github/workflows/deploy.yml"],
        None,
    );
    assert_eq!(d.source, "github-actions:payments");
}

#[test]
fn secret_references_count_only_inside_expressions_in_any_form() {
    let wf = br#"
on: workflow_dispatch
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "docs mention secrets.NOT_A_REFERENCE here"
      - run: deploy --key "${{ secrets["deploy_key"] }}" --token ${{secrets.Api_Token}}
      - run: echo '${{ toJSON(secrets) }}' > all.json
"#;
    let inputs = [holdfast_discover::Input {
        name: "r/.github/workflows/b.yml".into(),
        bytes: wf.to_vec(),
    }];
    let d = holdfast_discover::discover(Connector::GithubActions, &inputs, &Default::default())
        .unwrap();
    let job = &d.identities[0];
    assert_eq!(
        job.attributes["secrets"].value,
        serde_json::json!(["API_TOKEN", "DEPLOY_KEY"])
    );
    assert!(
        job.attributes.contains_key("secrets_inherit"),
        "toJSON(secrets) hands over every secret"
    );
}
