//! Terraform state (format version 4).

use holdfast_discover::{Connector, Severity};
use holdfast_graph::EdgeKind;

use crate::{finding_kinds, graph_of, run, tier_chain};

#[test]
fn iam_in_state_is_judged_like_an_iam_export() {
    let d = run(Connector::Terraform, &["terraform/terraform.tfstate"], None);
    assert_eq!(d.source, "terraform:3f6c2a8e-5b1d-4c7e-9a0f-1e2d3c4b5a69");
    let runner = "aws:arn:aws:iam::111122223333:user/tf-runner";
    let batch = "aws:arn:aws:iam::111122223333:role/batch-runner";
    let owner = d
        .identities
        .iter()
        .find(|i| i.key == runner)
        .unwrap()
        .owner
        .clone()
        .unwrap();
    assert_eq!(owner.value, "platform-team");
    // The runner may put policies on batch-* roles: IAM write, and the role trusts it by name.
    let g = graph_of(std::slice::from_ref(&d));
    assert_eq!(
        tier_chain(&g, runner).last().unwrap(),
        "aws:111122223333:capability:iam"
    );
    let kinds: Vec<EdgeKind> = d
        .edges
        .iter()
        .filter(|e| e.from == runner && e.to == batch)
        .map(|e| e.kind)
        .collect();
    assert!(
        kinds.contains(&EdgeKind::CanAssume) && kinds.contains(&EdgeKind::CanModifyPolicyOf),
        "{kinds:?}"
    );
    // The Kubernetes service account assumes the role through its IRSA annotation.
    assert!(d.edges.iter().any(
        |e| e.from == "k8s:default:serviceaccount:batch/batch-runner"
            && e.to == batch
            && e.kind == EdgeKind::CanAssume
    ));
}

#[test]
fn secrets_in_state_are_fingerprinted_credentials_with_the_state_as_their_copy() {
    let d = run(Connector::Terraform, &["terraform/terraform.tfstate"], None);
    let key = d
        .credentials
        .iter()
        .find(|c| c.key == "aws:access-key:AKIA4TFRUNNER7Q2ZK3M")
        .unwrap();
    assert_eq!(
        key.identity.as_deref(),
        Some("aws:arn:aws:iam::111122223333:user/tf-runner")
    );
    assert_eq!(
        key.fingerprint.as_deref(),
        Some(
            holdfast_core::Fingerprint::of_secret(b"Zx3mQ9vL2pR7tY1wK8nB4cH6jD0fG5sA2eU7iO9q")
                .to_string()
                .as_str()
        )
    );
    assert_eq!(
        key.locations,
        vec!["tf:state:3f6c2a8e-5b1d-4c7e-9a0f-1e2d3c4b5a69".to_string()]
    );
    let f = d.findings.iter().find(|f| f.subject == key.key).unwrap();
    assert_eq!(
        (f.kind.as_str(), f.severity),
        ("secret-in-state", Severity::Critical)
    );
    // random_password.result and the sensitive output hold the same value: one credential.
    let fp = holdfast_core::Fingerprint::of_secret(b"q8Zr!tW3#mLp9vXy").to_string();
    let same: Vec<_> = d
        .credentials
        .iter()
        .filter(|c| c.fingerprint.as_deref() == Some(fp.as_str()))
        .collect();
    assert_eq!(same.len(), 1);
    // One finding per secret, however many places in the state hold it.
    assert_eq!(finding_kinds(&d, &same[0].key), vec!["secret-in-state"]);
    // The bcrypt hash is not a secret; the value never appears in the output.
    let json = serde_json::to_string(&d).unwrap();
    for secret in ["Zx3mQ9vL2pR7tY1wK8nB4", "q8Zr!tW3", "BExampleSmtpPassword"] {
        assert!(!json.contains(secret), "{secret} leaked into the discovery");
    }
    assert!(!d.credentials.iter().any(|c| c.name.contains("bcrypt")));
}

#[test]
fn other_state_versions_are_refused_naming_the_field() {
    let inputs = [holdfast_discover::Input {
        name: "old.tfstate".into(),
        bytes: br#"{"version": 3, "modules": []}"#.to_vec(),
    }];
    let err = holdfast_discover::discover(Connector::Terraform, &inputs, &Default::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "old.tfstate: version: state format version 3 is not supported; expected 4 (Terraform 0.12 and later)"
    );
}
