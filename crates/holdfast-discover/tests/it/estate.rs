//! The whole example estate at once: paths that cross sources.

use holdfast_discover::Connector;
use holdfast_graph::EdgeKind;

use crate::{graph_of, run};

#[test]
fn a_workflow_reaches_the_aws_management_plane_through_oidc_and_pass_role() {
    let aws = run(Connector::AwsIam, &["aws/authorization-details.json"], None);
    let gha = run(
        Connector::GithubActions,
        &["github/payments/.github/workflows/deploy.yml"],
        Some("acme/payments"),
    );
    let g = graph_of(&[aws, gha]);
    let job = g
        .find("gha:acme/payments:deploy.yml:infrastructure")
        .unwrap();
    let br = g.blast_radius(job, 100).unwrap();
    // The placeholder from the workflow and the role from the export are one node.
    assert_eq!(
        g.node(g.find("aws:arn:aws:iam::111122223333:role/deploy").unwrap())
            .unwrap()
            .label,
        "IAM role deploy"
    );
    let to_admin = br
        .identity_paths
        .iter()
        .find(|p| p.to.key == "aws:arn:aws:iam::111122223333:role/cfn-exec")
        .unwrap();
    assert_eq!(
        to_admin.steps.iter().map(|s| s.kind).collect::<Vec<_>>(),
        vec![EdgeKind::CanAssume, EdgeKind::CanRunAs]
    );
    assert!(
        br.systems.contains(&"aws:111122223333".to_string())
            && br.systems.contains(&"github:acme/payments".to_string()),
        "{:?}",
        br.systems
    );
    assert!(
        br.management_plane_paths
            .iter()
            .any(|p| p.to.key == "aws:111122223333:capability:iam")
    );
}
