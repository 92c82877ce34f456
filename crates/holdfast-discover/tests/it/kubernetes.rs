//! Kubernetes: manifests and `kubectl get -o yaml` lists.

use holdfast_discover::Connector;
use holdfast_graph::{EdgeKind, NodeKind};

use crate::{finding_kinds, graph_of, is_mgmt, keys_of_kind, run, tier_chain};

const FILES: &[&str] = &[
    "kubernetes/payments.yaml",
    "kubernetes/cluster-rbac.yaml",
    "kubernetes/kube-system.yaml",
];

fn sa(ns_name: &str) -> String {
    format!("k8s:prod:serviceaccount:{ns_name}")
}

#[test]
fn service_accounts_are_identities_with_owners_from_annotations_and_labels() {
    let d = run(Connector::Kubernetes, FILES, Some("prod"));
    assert_eq!(d.source, "kubernetes:prod");
    let mut names: Vec<&str> = d.identities.iter().map(|i| i.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "kube-system/backup-agent",
            "monitoring/prometheus",
            "ops/support-tool",
            "payments/ci-deployer",
            "payments/default",
            "payments/payments-api"
        ]
    );
    let api = d
        .identities
        .iter()
        .find(|i| i.name == "payments/payments-api")
        .unwrap();
    assert_eq!(api.owner.as_ref().unwrap().value, "payments-team");
    assert_eq!(
        api.owner.as_ref().unwrap().from,
        "kubernetes/payments.yaml#2 metadata[holdfast.io/owner]"
    );
    assert_eq!(
        api.purpose.as_ref().unwrap().value,
        "serves the payments API"
    );
    let ci = d
        .identities
        .iter()
        .find(|i| i.name == "payments/ci-deployer")
        .unwrap();
    assert_eq!(ci.owner.as_ref().unwrap().value, "platform-team");
    assert_eq!(
        finding_kinds(&d, &sa("kube-system/backup-agent")),
        vec!["unowned-identity"]
    );
}

#[test]
fn tiers_name_the_rbac_escalation_primitive() {
    let d = run(Connector::Kubernetes, FILES, Some("prod"));
    let g = graph_of(&[d]);
    // rolebindings create + clusterroles bind, cluster-wide.
    let ci = g.tier(g.find(&sa("payments/ci-deployer")).unwrap());
    assert!(ci.management_plane);
    assert_eq!(ci.path.len(), 2, "{:#?}", ci.path);
    assert!(
        ci.path[1].to.starts_with("k8s:prod:capability:rbac-"),
        "{}",
        ci.path[1].to
    );
    // get/list/watch secrets cluster-wide.
    assert_eq!(
        tier_chain(&g, &sa("kube-system/backup-agent"))
            .last()
            .unwrap(),
        "k8s:prod:capability:read-all-secrets"
    );
    // nodes/proxy comes from a ClusterRole aggregated into `monitoring`.
    assert_eq!(
        tier_chain(&g, &sa("monitoring/prometheus")).last().unwrap(),
        "k8s:prod:capability:nodes-proxy"
    );
    assert_eq!(
        tier_chain(&g, &sa("ops/support-tool")).last().unwrap(),
        "k8s:prod:capability:impersonate"
    );
    // The payments API can only view its namespace.
    assert!(!is_mgmt(&g, &sa("payments/payments-api")));
}

#[test]
fn pod_create_reaches_every_service_account_in_the_namespace() {
    let d = run(Connector::Kubernetes, FILES, Some("prod"));
    let policy = "k8s:prod:clusterrole:edit@payments";
    let targets: Vec<&str> = d
        .edges
        .iter()
        .filter(|e| e.from == policy && e.kind == EdgeKind::CanRunAs)
        .map(|e| e.to.as_str())
        .collect();
    assert!(
        targets.contains(&sa("payments/payments-api").as_str()),
        "{targets:?}"
    );
    assert!(
        !targets.iter().any(|t| t.contains("kube-system")),
        "a namespaced binding stays in its namespace: {targets:?}"
    );
    let g = graph_of(&[d]);
    let br = g
        .blast_radius(g.find(&sa("payments/ci-deployer")).unwrap(), 50)
        .unwrap();
    let path = br
        .identity_paths
        .iter()
        .find(|p| p.to.key == sa("payments/payments-api"))
        .unwrap();
    assert_eq!(
        path.steps.iter().map(|s| s.kind).collect::<Vec<_>>(),
        vec![EdgeKind::HasPolicy, EdgeKind::CanRunAs]
    );
    assert!(
        path.steps[0]
            .reason
            .contains("RoleBinding payments/ci-deployer-edit"),
        "{}",
        path.steps[0].reason
    );
    // Through `edit` it may read the namespace's Secrets.
    assert!(
        br.resources
            .iter()
            .any(|r| r.node.key == "k8s:prod:secret:payments/payments-db")
    );
}

#[test]
fn service_account_token_secrets_are_credentials_reachable_by_secret_readers() {
    let d = run(Connector::Kubernetes, FILES, Some("prod"));
    let token = d
        .credentials
        .iter()
        .find(|c| c.key == "k8s:prod:token:kube-system/backup-agent-token")
        .unwrap();
    assert_eq!(
        token.identity.as_deref(),
        Some(sa("kube-system/backup-agent").as_str())
    );
    assert_eq!(
        token.locations,
        vec!["k8s:prod:secret:kube-system/backup-agent-token".to_string()]
    );
    assert_eq!(
        finding_kinds(&d, &token.key),
        vec!["long-lived-service-account-token"]
    );
    // Reading every secret reaches the token, and through it the account.
    let g = graph_of(&[d]);
    let br = g
        .blast_radius(g.find(&sa("kube-system/backup-agent")).unwrap(), 50)
        .unwrap();
    assert!(
        br.resources
            .iter()
            .any(|r| r.node.key == "k8s:prod:secret:kube-system/backup-agent-token")
    );
}

#[test]
fn workloads_run_as_their_service_account_unless_the_token_is_not_mounted() {
    let d = run(Connector::Kubernetes, FILES, Some("prod"));
    let runs_as: Vec<(&str, &str)> = d
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::RunsAs)
        .map(|e| (e.from.as_str(), e.to.as_str()))
        .collect();
    assert!(runs_as.contains(&(
        "k8s:prod:workload:payments/deployment/payments-api",
        sa("payments/payments-api").as_str()
    )));
    assert!(runs_as.contains(&(
        "k8s:prod:workload:kube-system/daemonset/backup-agent",
        sa("kube-system/backup-agent").as_str()
    )));
    assert!(
        !runs_as.iter().any(|(w, _)| w.contains("nightly-report")),
        "automountServiceAccountToken: false"
    );
    assert!(
        keys_of_kind(&d, NodeKind::Workload)
            .contains(&"k8s:prod:workload:payments/cronjob/nightly-report".to_string())
    );
}

#[test]
fn kubectl_json_lists_and_role_bindings_to_namespaced_roles() {
    let json = br#"{"apiVersion":"v1","kind":"List","items":[
      {"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"builder","namespace":"ci"}},
      {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"token-minter","namespace":"ci"},
       "rules":[{"apiGroups":[""],"resources":["serviceaccounts/token"],"verbs":["create"],"resourceNames":["deployer"]}]},
      {"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"deployer","namespace":"ci"}},
      {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"builder-mints","namespace":"ci"},
       "subjects":[{"kind":"ServiceAccount","name":"builder"}],
       "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"token-minter"}}]}"#;
    let inputs = [holdfast_discover::Input {
        name: "ci.json".into(),
        bytes: json.to_vec(),
    }];
    let d =
        holdfast_discover::discover(Connector::Kubernetes, &inputs, &Default::default()).unwrap();
    let mint: Vec<&str> = d
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::CanCreateCredentialFor)
        .map(|e| e.to.as_str())
        .collect();
    // resourceNames narrows the rule to one account.
    assert_eq!(mint, vec!["k8s:default:serviceaccount:ci/deployer"]);
}

#[test]
fn malformed_yaml_is_refused_naming_file_and_position_without_quoting_it() {
    let inputs = [holdfast_discover::Input {
        name: "bad.yaml".into(),
        bytes: b"kind: ServiceAccount\nmetadata: {name: [unclosed, password: hunter2\n".to_vec(),
    }];
    let err = holdfast_discover::discover(Connector::Kubernetes, &inputs, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("bad.yaml: document 1: invalid YAML at line"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn yaml_alias_bombs_fail_instead_of_expanding() {
    // Each level doubles: 2^40 nodes from a few hundred bytes.
    let mut y = String::from("a0: &a0 [x, x]\n");
    for i in 1..40 {
        y.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}]\n", p = i - 1));
    }
    y.push_str("kind: ServiceAccount\nmetadata: {name: bomb}\n");
    let inputs = [holdfast_discover::Input {
        name: "bomb.yaml".into(),
        bytes: y.into_bytes(),
    }];
    let err = holdfast_discover::discover(Connector::Kubernetes, &inputs, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("bomb.yaml: document 1:"), "{err}");
    // The parser's own alias limit or Holdfast's node budget stops it, whichever comes first.
    assert!(
        err.contains("too many nodes") || err.contains("invalid YAML"),
        "{err}"
    );
    // Ordinary anchors still work.
    let y = b"kind: ServiceAccount\nmetadata: &m {name: shared, namespace: ci, annotations: {owner: ci-team}}\n---\nkind: ServiceAccount\nmetadata: {name: other, namespace: ci, annotations: {owner: ci-team}}\n";
    let inputs = [holdfast_discover::Input {
        name: "ok.yaml".into(),
        bytes: y.to_vec(),
    }];
    let d =
        holdfast_discover::discover(Connector::Kubernetes, &inputs, &Default::default()).unwrap();
    assert_eq!(d.identities.len(), 2);
}

#[test]
fn bound_rules_are_recorded_as_granted_permissions() {
    let d = run(Connector::Kubernetes, FILES, Some("prod"));
    let ci = d
        .identities
        .iter()
        .find(|i| i.name == "payments/ci-deployer")
        .unwrap();
    let granted = ci.attributes[holdfast_discover::GRANTED_ATTRIBUTE]
        .value
        .as_array()
        .unwrap();
    let from = |label: &str| {
        granted
            .iter()
            .filter(|s| s["policy"] == label)
            .collect::<Vec<_>>()
    };
    // The built-in `edit` ClusterRole, bound in namespace payments only …
    let edit = from("ClusterRole edit in namespace payments");
    assert!(!edit.is_empty(), "{granted:#?}");
    assert!(edit.iter().any(|s| {
        s["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "create apps/deployments")
    }));
    assert!(
        edit.iter()
            .all(|s| s["resources"] == serde_json::json!(["payments/*"]))
    );
    // … and a ClusterRole bound cluster-wide.
    let rbac = from("ClusterRole rbac-manager");
    assert!(!rbac.is_empty(), "{granted:#?}");
    assert!(rbac.iter().all(|s| {
        s["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.as_str().unwrap().starts_with("*/"))
    }));
}
