//! `.env` and Compose files.

use holdfast_core::{CredentialKind, Fingerprint};
use holdfast_discover::Connector;
use holdfast_graph::EdgeKind;

use crate::run;

#[test]
fn which_service_holds_which_credential() {
    let d = run(
        Connector::Env,
        &["env/.env", "env/docker-compose.yml"],
        Some("payments"),
    );
    let mut names: Vec<(&str, CredentialKind)> = d
        .credentials
        .iter()
        .map(|c| (c.name.as_str(), c.kind))
        .collect();
    names.sort_by_key(|n| n.0);
    assert_eq!(
        names,
        vec![
            ("DATABASE_URL", CredentialKind::ConnectionString),
            ("JWT_SIGNING_KEY", CredentialKind::Other),
            ("REDIS_URL", CredentialKind::ConnectionString),
            ("STRIPE_API_KEY", CredentialKind::ApiKey),
        ],
        "APP_ENV, LOG_LEVEL, QUEUE_NAME and the ${{SMTP_PASSWORD_FROM_VAULT}} reference are not credentials"
    );
    // The Stripe key sits in both files: one credential, two copies.
    let stripe_fp =
        Fingerprint::of_secret(b"demo-stripe-4eC39HqLyjWDarjtT1zdp7dcEXAMPLE").to_string();
    let stripe = d
        .credentials
        .iter()
        .find(|c| c.fingerprint.as_deref() == Some(stripe_fp.as_str()))
        .unwrap();
    assert_eq!(
        stripe.locations,
        vec![
            "file:env/.env".to_string(),
            "file:env/docker-compose.yml".to_string()
        ]
    );
    let holders = |cred: &str| {
        let mut h: Vec<&str> = d
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::CanRead && e.to == cred)
            .map(|e| e.from.as_str())
            .collect();
        h.sort();
        h
    };
    assert_eq!(
        holders(&stripe.key),
        vec![
            "compose:env/docker-compose.yml:api",
            "compose:env/docker-compose.yml:worker"
        ]
    );
    let db = d
        .credentials
        .iter()
        .find(|c| c.name == "DATABASE_URL")
        .unwrap();
    assert_eq!(holders(&db.key), vec!["compose:env/docker-compose.yml:api"]);
    let json = serde_json::to_string(&d).unwrap();
    assert!(
        !json.contains("Tr0ub4dor") && !json.contains("w0rker-r3dis"),
        "values never leave the connector"
    );
}
