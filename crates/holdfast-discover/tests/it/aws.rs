//! AWS IAM: authorization details, access keys, credential report.

use holdfast_discover::Connector;
use holdfast_graph::{EdgeKind, NodeKind};

use crate::{finding_kinds, graph_of, is_mgmt, run, tier_chain};

const ACCOUNT_FILES: &[&str] = &[
    "aws/authorization-details.json",
    "aws/access-keys-ci-deployer.json",
    "aws/credential-report.csv",
];

fn key(name: &str) -> String {
    format!("aws:arn:aws:iam::111122223333:{name}")
}

#[test]
fn users_roles_and_groups_become_identities_with_owners_from_tags() {
    let d = run(Connector::AwsIam, ACCOUNT_FILES, None);
    assert_eq!(d.source, "aws-iam:111122223333");
    let mut names: Vec<(&str, &str)> = d
        .identities
        .iter()
        .filter(|i| i.system == "aws:111122223333")
        .map(|i| (i.source_kind.as_str(), i.name.as_str()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            ("aws-iam-role", "OrganizationAccountAccessRole"),
            ("aws-iam-role", "cfn-exec"),
            ("aws-iam-role", "deploy"),
            ("aws-iam-role", "lambda-payments-reconcile"),
            ("aws-iam-role", "readonly-audit"),
            ("aws-iam-user", "<root_account>"),
            ("aws-iam-user", "build-bot"),
            ("aws-iam-user", "ci-deployer"),
            ("aws-iam-user", "legacy-backup"),
            ("aws-iam-user", "reporting-bot"),
        ]
    );
    let ci = d
        .identities
        .iter()
        .find(|i| i.name == "ci-deployer")
        .unwrap();
    let owner = ci.owner.as_ref().unwrap();
    assert_eq!(owner.value, "platform-team");
    assert_eq!(
        owner.from,
        "aws/authorization-details.json UserDetailList[0] Tags[owner]"
    );
    assert_eq!(
        ci.purpose.as_ref().unwrap().value,
        "pushes build artefacts and starts deployments"
    );
    // `team` counts as an owner tag; no tag at all is a finding.
    let reporting = d
        .identities
        .iter()
        .find(|i| i.name == "reporting-bot")
        .unwrap();
    assert_eq!(reporting.owner.as_ref().unwrap().value, "finance-analytics");
    assert_eq!(
        finding_kinds(&d, &key("user/service/legacy-backup")),
        vec!["unowned-identity"]
    );
    assert!(finding_kinds(&d, &key("user/ci-deployer")).is_empty());
}

#[test]
fn access_keys_from_list_and_report_are_one_credential_with_age_and_use() {
    let d = run(Connector::AwsIam, ACCOUNT_FILES, None);
    let ci_keys: Vec<_> = d
        .credentials
        .iter()
        .filter(|c| c.identity.as_deref() == Some(key("user/ci-deployer").as_str()))
        .collect();
    assert_eq!(
        ci_keys.len(),
        1,
        "the listed key and report key 1 match by creation time: {ci_keys:#?}"
    );
    let k = ci_keys[0];
    assert_eq!(k.key, "aws:access-key:AKIAIOSFODNN7EXAMPLE");
    assert_eq!(
        k.last_used_at.as_ref().unwrap().value,
        "2026-11-24T21:14:00+00:00"
    );
    assert!(finding_kinds(&d, &k.key).contains(&"credential-not-rotated".to_string()));
    let legacy = d
        .credentials
        .iter()
        .find(|c| {
            c.key
                == format!(
                    "{}#access-key-1@2019-06-01T12:05:00+00:00",
                    key("user/service/legacy-backup")
                )
        })
        .unwrap();
    assert!(legacy.active);
    assert_eq!(
        finding_kinds(&d, &legacy.key),
        vec!["credential-not-rotated", "unused-credential"]
    );
    // A console password and access keys on one user: a person and a machine share it.
    assert_eq!(
        finding_kinds(&d, &key("user/reporting-bot")),
        vec!["human-and-machine-use"]
    );
    // The root account has no active key: no root-key finding.
    assert!(!d.findings.iter().any(|f| f.kind == "root-access-key"));
}

#[test]
fn tiers_follow_assume_role_and_pass_role_chains_and_use_only_default_policy_versions() {
    let d = run(Connector::AwsIam, ACCOUNT_FILES, None);
    let g = graph_of(&[d]);
    // cfn-exec holds AdministratorAccess: management-plane directly.
    assert_eq!(tier_chain(&g, &key("role/cfn-exec")).len(), 2);
    // deploy may pass cfn-exec to CloudFormation; ci-deployer may assume deploy. DeployPolicy's
    // old v1 (iam:*) is not the default version and must not count.
    assert_eq!(
        tier_chain(&g, &key("user/ci-deployer")),
        vec![
            key("user/ci-deployer"),
            key("role/deploy"),
            key("role/cfn-exec"),
            "aws:111122223333:capability:iam".to_string()
        ]
    );
    let ci = g.find(&key("user/ci-deployer")).unwrap();
    let tier = g.tier(ci);
    assert_eq!(tier.path[0].kind, EdgeKind::CanAssume);
    assert_eq!(tier.path[1].kind, EdgeKind::CanRunAs);
    assert!(
        tier.path[1].reason.contains("CloudFormation"),
        "{}",
        tier.path[1].reason
    );
    assert_eq!(
        tier.reason.as_deref(),
        Some("can change IAM in AWS account 111122223333")
    );
    // build-bot, through its group, may pass lambda-* roles to a new function and so act as the
    // reconcile role — which reads only the payments secrets: reach, but not the management
    // plane (a grant on named secrets is not "read or change secrets" account-wide).
    assert!(!is_mgmt(&g, &key("user/build-bot")));
    assert!(!is_mgmt(&g, &key("role/lambda-payments-reconcile")));
    let bb = g
        .blast_radius(g.find(&key("user/build-bot")).unwrap(), 10)
        .unwrap();
    assert!(
        bb.identities
            .iter()
            .any(|r| r.node.key == key("role/lambda-payments-reconcile"))
    );
    assert!(
        bb.resources
            .iter()
            .any(|r| r.node.key.ends_with("secret:prod/payments/*")),
        "{:?}",
        bb.resources
    );
    // legacy-backup may create access keys for every user: IAM write, directly.
    assert_eq!(
        tier_chain(&g, &key("user/service/legacy-backup")),
        vec![
            key("user/service/legacy-backup"),
            "aws:111122223333:capability:iam".to_string()
        ]
    );
    // Read-only identities stay standard, IAM read included.
    assert!(!is_mgmt(&g, &key("role/readonly-audit")));
    assert!(!is_mgmt(&g, &key("user/reporting-bot")));
    // The other account that may assume the admin role reaches the management plane.
    assert!(is_mgmt(&g, "aws:arn:aws:iam::999988887777:root"));
}

#[test]
fn escalation_techniques_become_edges_with_their_reason() {
    let d = run(Connector::AwsIam, ACCOUNT_FILES, None);
    let edge = |from: &str, to: &str| {
        d.edges
            .iter()
            .find(|e| e.from == from && e.to == to)
            .cloned()
    };
    let e = edge(&key("user/service/legacy-backup"), &key("user/ci-deployer")).unwrap();
    assert_eq!(e.kind, EdgeKind::CanCreateCredentialFor);
    assert!(e.reason.contains("iam:CreateAccessKey"), "{}", e.reason);
    let e = edge(
        &key("user/build-bot"),
        &key("role/lambda-payments-reconcile"),
    )
    .unwrap();
    assert_eq!(e.kind, EdgeKind::CanRunAs);
    assert!(
        e.reason.contains("Lambda") && e.reason.contains("via group developers"),
        "{}",
        e.reason
    );
    // build-bot may not pass roles outside lambda-*.
    assert!(edge(&key("user/build-bot"), &key("role/cfn-exec")).is_none());
    // GitHub's OIDC provider may assume deploy, with the repository condition noted.
    let oidc = edge(
        "aws:federated:arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
        &key("role/deploy"),
    )
    .unwrap();
    assert!(oidc.reason.contains("with conditions"));
    // The cross-account trust is a finding on the role.
    assert_eq!(
        finding_kinds(&d, &key("role/OrganizationAccountAccessRole")),
        vec!["cross-account-trust", "unowned-identity", "unused-identity"]
    );
}

#[test]
fn blast_radius_lists_identities_it_can_become_and_explains_each_path() {
    let d = run(Connector::AwsIam, ACCOUNT_FILES, None);
    let g = graph_of(&[d]);
    let ci = g.find(&key("user/ci-deployer")).unwrap();
    let br = g.blast_radius(ci, 100).unwrap();
    assert!(br.management_plane);
    assert!(br.score >= 70, "score {}", br.score);
    let became: Vec<&str> = br.identities.iter().map(|r| r.node.key.as_str()).collect();
    for k in [key("role/deploy"), key("role/cfn-exec")] {
        assert!(became.contains(&k.as_str()), "{k} missing from {became:?}");
    }
    let path = br
        .identity_paths
        .iter()
        .find(|p| p.to.key == key("role/cfn-exec"))
        .unwrap();
    assert_eq!(path.steps.len(), 2);
    assert_eq!(path.steps[0].from, key("user/ci-deployer"));
    assert_eq!(path.steps[1].to, key("role/cfn-exec"));
    assert!(
        br.management_plane_paths
            .iter()
            .any(|p| p.to.key == "aws:111122223333:capability:organizations")
    );
    // reporting-bot reaches its S3/Athena resources and no one else.
    let rb = g.find(&key("user/reporting-bot")).unwrap();
    let br = g.blast_radius(rb, 100).unwrap();
    assert!(!br.management_plane);
    assert!(br.score < 70);
    assert!(br.identities.is_empty(), "{:?}", br.identities);
    assert!(
        br.resources
            .iter()
            .any(|r| r.node.kind == NodeKind::Resource
                && r.node.key == "aws:111122223333:resource:*")
    );
}

#[test]
fn url_encoded_policy_documents_are_decoded() {
    let d = run(Connector::AwsIam, &["aws/authorization-details.json"], None);
    let inline = d
        .edges
        .iter()
        .find(|e| e.from == format!("{}#inline:read-reports", key("user/reporting-bot")))
        .unwrap();
    assert!(inline.reason.contains("athena:*"), "{}", inline.reason);
}

#[test]
fn input_that_is_not_an_iam_export_is_refused_naming_the_file() {
    let inputs = [holdfast_discover::Input {
        name: "notes.json".into(),
        bytes: br#"{"hello": "world"}"#.to_vec(),
    }];
    let err =
        holdfast_discover::discover(Connector::AwsIam, &inputs, &Default::default()).unwrap_err();
    assert!(
        err.to_string().starts_with("notes.json: not an IAM export"),
        "{err}"
    );
    let inputs = [holdfast_discover::Input {
        name: "broken.json".into(),
        bytes: b"{\"UserDetailList\": [".to_vec(),
    }];
    let err =
        holdfast_discover::discover(Connector::AwsIam, &inputs, &Default::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("broken.json: invalid JSON at line 1"),
        "{err}"
    );
}

#[test]
fn oidc_trust_without_a_subject_condition_is_a_finding() {
    let role = |name: &str, condition: serde_json::Value| {
        serde_json::json!({
            "RoleName": name, "RoleId": format!("AROA{}", name.len()), "Path": "/",
            "Arn": format!("arn:aws:iam::111122223333:role/{name}"),
            "CreateDate": "2025-01-01T00:00:00Z",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition
            }]},
            "RolePolicyList": [], "AttachedManagedPolicies": [], "Tags": [{"Key": "owner", "Value": "platform"}]
        })
    };
    let doc = serde_json::json!({
        "UserDetailList": [], "GroupDetailList": [], "Policies": [],
        "RoleDetailList": [
            role("aud-only", serde_json::json!({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}})),
            role("any-repo", serde_json::json!({"StringLike": {"token.actions.githubusercontent.com:sub": "*"}})),
            role("pinned", serde_json::json!({
                "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/payments:ref:refs/heads/main"}
            })),
        ]
    });
    let inputs = [holdfast_discover::Input {
        name: "gha-roles.json".into(),
        bytes: serde_json::to_vec(&doc).unwrap(),
    }];
    let d = holdfast_discover::discover(Connector::AwsIam, &inputs, &Default::default()).unwrap();
    let kinds = |r: &str| finding_kinds(&d, &key(&format!("role/{r}")));
    assert_eq!(kinds("aud-only"), vec!["oidc-trust-without-subject"]);
    assert_eq!(kinds("any-repo"), vec!["oidc-trust-without-subject"]);
    assert!(kinds("pinned").is_empty(), "{:?}", kinds("pinned"));
    let f = d
        .findings
        .iter()
        .find(|f| f.subject == key("role/aud-only"))
        .unwrap();
    assert!(
        f.message.contains("token.actions.githubusercontent.com"),
        "{}",
        f.message
    );
}
