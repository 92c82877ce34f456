//! Damaged inputs: the example estate's files cut short and with bytes changed, through every
//! connector. Each run succeeds or fails with an error naming the input; none panics, and no error
//! quotes a secret value from the input.

use holdfast_discover::{Connector, Input, Options, discover};
use proptest::prelude::*;

use crate::estate_dir;

const FILES: &[(Connector, &str)] = &[
    (Connector::AwsIam, "aws/authorization-details.json"),
    (Connector::AwsIam, "aws/credential-report.csv"),
    (Connector::Kubernetes, "kubernetes/cluster-rbac.yaml"),
    (Connector::Kubernetes, "kubernetes/payments.yaml"),
    (
        Connector::GithubActions,
        "github/payments/.github/workflows/deploy.yml",
    ),
    (Connector::Terraform, "terraform/terraform.tfstate"),
    (Connector::Env, "env/.env"),
    (Connector::Env, "env/docker-compose.yml"),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn damaged_files_never_panic_or_leak(
        which in 0usize..FILES.len(),
        cut in 0.0f64..1.0,
        flips in prop::collection::vec((0.0f64..1.0, any::<u8>()), 0..6),
    ) {
        let (connector, file) = FILES[which];
        let mut bytes = std::fs::read(estate_dir().join(file)).unwrap();
        for (at, b) in flips {
            let i = ((bytes.len() as f64) * at) as usize;
            if let Some(x) = bytes.get_mut(i) {
                *x = b;
            }
        }
        bytes.truncate(((bytes.len() as f64) * cut) as usize + 1);
        let inputs = [Input { name: file.to_string(), bytes }];
        match discover(connector, &inputs, &Options::default()) {
            Ok(d) => {
                let json = serde_json::to_string(&d).unwrap();
                for secret in ["Zx3mQ9vL2pR7tY1wK8nB4", "q8Zr!tW3", "Tr0ub4dor", "demo-stripe-4eC39"] {
                    prop_assert!(!json.contains(secret));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.starts_with(file), "{}", msg);
                for secret in ["Zx3mQ9vL2pR7tY1wK8nB4", "q8Zr!tW3", "Tr0ub4dor", "demo-stripe-4eC39"] {
                    prop_assert!(!msg.contains(secret), "{}", msg);
                }
            }
        }
    }
}
