//! One planted example of every posture finding, each raised with the right OWASP and CSF ids on
//! the right subject; and a clean estate that raises none.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};

use holdfast_core::{
    Credential, CredentialKind, CredentialState, DiscoverySource, Entitlement, Exposure,
    Fingerprint, Identity, IdentityKind, Leak, LifecycleState, Owner, OwnerKind, Secret,
    SecretVersion, Severity, System, SystemKind, Tier,
};
use holdfast_graph::{EdgeKind, EdgeSpec, Graph, NodeKind, NodeSpec};
use holdfast_monitor::{ActionUse, Alert, Profile, ProfileRecord};
use holdfast_posture::{Assessment, Estate, RULES, Settings, assess};
use time::{Duration, OffsetDateTime, macros::datetime};
use uuid::Uuid;

const NOW: OffsetDateTime = datetime!(2026-11-20 12:00 UTC);

fn ago(days: i64) -> OffsetDateTime {
    NOW - Duration::days(days)
}

#[derive(Default)]
struct World {
    owners: Vec<Owner>,
    systems: Vec<System>,
    identities: Vec<Identity>,
    credentials: Vec<Credential>,
    entitlements: Vec<Entitlement>,
    leaks: Vec<Leak>,
    secrets: Vec<Secret>,
    sources: Vec<DiscoverySource>,
    profiles: Vec<ProfileRecord>,
    alerts: Vec<Alert>,
    nodes: Vec<NodeSpec>,
    edges: Vec<EdgeSpec>,
}

impl World {
    fn owner(&mut self, name: &str, active: bool) -> Uuid {
        let o = Owner {
            id: Uuid::now_v7(),
            version: 1,
            name: name.into(),
            display_name: None,
            kind: OwnerKind::Person,
            contact: format!("{name}@example.com"),
            active,
            created_at: ago(400),
            updated_at: ago(10),
        };
        let id = o.id;
        self.owners.push(o);
        id
    }

    fn system(&mut self, name: &str, env: &str) -> Uuid {
        let s = System {
            id: Uuid::now_v7(),
            version: 1,
            name: name.into(),
            kind: SystemKind::AwsAccount,
            description: None,
            environment: Some(env.into()),
            created_at: ago(400),
            updated_at: ago(400),
        };
        let id = s.id;
        self.systems.push(s);
        id
    }

    /// A well-kept identity: owned, used recently, in one system, standard tier.
    fn identity(&mut self, name: &str, owner: Uuid, system: Uuid) -> usize {
        let key = format!("test:{name}");
        self.nodes
            .push(NodeSpec::new(&key, NodeKind::Identity, name).in_system("aws:1"));
        self.identities.push(Identity {
            id: Uuid::now_v7(),
            version: 1,
            kind: IdentityKind::ServiceAccount,
            name: name.into(),
            source: "test".into(),
            external_id: Some(name.into()),
            owner_id: Some(owner),
            purpose: Some("testing".into()),
            environment: Some("production".into()),
            systems: vec![system],
            tier: Tier::Standard,
            tier_reason: None,
            state: LifecycleState::Active,
            state_reason: None,
            labels: BTreeMap::new(),
            created_at: ago(300),
            updated_at: ago(1),
            expires_at: None,
            last_used_at: Some(ago(1)),
            last_rotated_at: None,
            last_reviewed_at: None,
            graph_key: Some(key),
            provenance: BTreeMap::new(),
            attributes: BTreeMap::new(),
            missing_since: None,
            tier_override: false,
        });
        self.identities.len() - 1
    }

    /// A well-kept credential: issued 10 days ago, expires in 20, never copied.
    fn credential(&mut self, identity: usize, name: &str) -> usize {
        self.credentials.push(Credential {
            id: Uuid::now_v7(),
            version: 1,
            identity_id: self.identities[identity].id,
            kind: CredentialKind::Token,
            name: name.into(),
            external_id: None,
            fingerprint: Some(Fingerprint::of_secret(name.as_bytes())),
            state: CredentialState::Active,
            stored_in: Some(format!("vault:kv/{name}")),
            exposures: Vec::new(),
            created_at: ago(10),
            updated_at: ago(10),
            issued_at: Some(ago(10)),
            expires_at: Some(NOW + Duration::days(20)),
            last_rotated_at: None,
            last_used_at: Some(ago(1)),
        });
        self.credentials.len() - 1
    }

    fn entitlement(&mut self, identity: usize, resource: &str, actions: &[&str]) {
        self.entitlements.push(Entitlement {
            id: Uuid::now_v7(),
            version: 1,
            identity_id: self.identities[identity].id,
            system_id: None,
            resource: resource.into(),
            actions: actions.iter().map(|s| s.to_string()).collect(),
            granted_by: "policy test".into(),
            created_at: ago(100),
            updated_at: ago(100),
        });
    }

    /// Monitoring watched the identity for 60 days and saw it use `actions`.
    fn profile(&mut self, identity: usize, actions: &[&str]) {
        let mut profile = Profile {
            first_seen: Some(ago(60).unix_timestamp()),
            last_seen: Some(ago(1).unix_timestamp()),
            events: 500,
            ..Profile::default()
        };
        for a in actions {
            profile.actions.insert(
                a.to_string(),
                ActionUse {
                    count: 10,
                    first: ago(50).unix_timestamp(),
                    last: ago(2).unix_timestamp(),
                    resources: BTreeSet::new(),
                    any_resource: true,
                },
            );
        }
        self.profiles.push(ProfileRecord {
            id: self.identities[identity].id,
            version: 1,
            identity_id: Some(self.identities[identity].id),
            actor: self.identities[identity].name.clone(),
            profile,
            updated_at: ago(1),
        });
    }

    fn connector(&mut self, kind: &str, subject: &str) {
        if self.sources.is_empty() {
            self.sources.push(DiscoverySource {
                id: Uuid::now_v7(),
                version: 1,
                source: "aws-iam:1".into(),
                connector: "aws-iam".into(),
                digest: String::new(),
                identities: 0,
                credentials: 0,
                nodes: 0,
                edges: 0,
                findings: Vec::new(),
                skipped: Vec::new(),
                first_imported_at: ago(5),
                changed_at: ago(5),
            });
        }
        self.sources[0].findings.push(holdfast_core::Finding {
            kind: kind.into(),
            severity: Severity::High,
            subject: subject.into(),
            message: format!("{kind} on {subject}"),
            from: "iam.json".into(),
        });
    }

    fn key(&self, identity: usize) -> String {
        self.identities[identity].graph_key.clone().unwrap()
    }

    fn assess(&self) -> Assessment {
        let graph = Graph::build(self.nodes.clone(), self.edges.clone()).unwrap();
        let estate = Estate {
            identities: &self.identities,
            credentials: &self.credentials,
            entitlements: &self.entitlements,
            owners: &self.owners,
            systems: &self.systems,
            leaks: &self.leaks,
            secrets: &self.secrets,
            sources: &self.sources,
            profiles: &self.profiles,
            alerts: &self.alerts,
            graph: Some(&graph),
        };
        assess(&estate, &Settings::default(), NOW)
    }
}

/// A clean estate: every identity owned, scoped, used, with short-lived credentials it alone holds.
fn clean() -> (World, Uuid, Uuid) {
    let mut w = World::default();
    let alice = w.owner("alice", true);
    let prod = w.system("payments-prod", "production");
    for n in 0..5 {
        let i = w.identity(&format!("clean-{n}"), alice, prod);
        w.credential(i, &format!("clean-token-{n}"));
        w.entitlement(i, "arn:aws:s3:::payments/*", &["s3:GetObject"]);
        w.profile(i, &["s3:GetObject"]);
        // One workload each.
        let wl = format!("workload:clean-{n}");
        w.nodes.push(NodeSpec::new(&wl, NodeKind::Workload, &wl));
        w.edges
            .push(EdgeSpec::new(&wl, EdgeKind::RunsAs, w.key(i), "runs as"));
    }
    w.secrets.push(Secret {
        id: Uuid::now_v7(),
        version: 1,
        path: "apps/payments/db".into(),
        current: 1,
        versions: vec![SecretVersion {
            version: 1,
            ciphertext: String::new(),
            created_at: ago(10),
            created_by: "alice".into(),
            deleted_at: None,
            destroyed: false,
            pending: false,
        }],
        owner_identity: Some(w.identities[0].id),
        consumers: vec![],
        max_age_days: Some(30),
        created_at: ago(10),
        updated_at: ago(10),
        last_read_at: None,
        last_read_by: None,
    });
    (w, alice, prod)
}

#[test]
fn a_clean_estate_raises_no_finding() {
    let (w, _, _) = clean();
    let a = w.assess();
    assert!(
        a.findings.is_empty(),
        "unexpected findings: {:#?}",
        a.findings
    );
    assert_eq!(a.risks.len(), 5);
    for r in &a.risks {
        assert_eq!(r.score, r.parts.iter().map(|p| p.points).sum::<u32>());
        assert_eq!(
            r.parts
                .iter()
                .find(|p| p.name == "findings")
                .unwrap()
                .points,
            0
        );
    }
}

/// Plants one example of every rule; returns (rule, subject the finding must name).
fn planted() -> (World, Vec<(&'static str, String)>) {
    let (mut w, alice, prod) = clean();
    let mut want: Vec<(&'static str, String)> = Vec::new();
    let subject = |w: &World, i: usize| format!("identity:{}", w.identities[i].id);

    let i = w.identity("unowned", alice, prod);
    w.identities[i].owner_id = None;
    want.push(("no-owner", subject(&w, i)));

    let bob = w.owner("bob", false);
    let i = w.identity("bobs-bot", bob, prod);
    want.push(("owner-departed", subject(&w, i)));

    let i = w.identity("past-end-date", alice, prod);
    w.identities[i].expires_at = Some(ago(3));
    want.push(("expired-still-active", subject(&w, i)));

    let i = w.identity("offboarded", alice, prod);
    w.identities[i].state = LifecycleState::Offboarded;
    w.credential(i, "forgotten-key");
    want.push(("offboarded-credential-active", subject(&w, i)));

    let i = w.identity("dormant", alice, prod);
    w.identities[i].last_used_at = Some(ago(200));
    want.push(("stale-identity", subject(&w, i)));

    let i = w.identity("has-dormant-key", alice, prod);
    let c = w.credential(i, "dormant-key");
    w.credentials[c].last_used_at = Some(ago(150));
    want.push((
        "stale-credential",
        format!("credential:{}", w.credentials[c].id),
    ));

    let i = w.identity("stale-trust-role", alice, prod);
    w.connector("stale-trust-principal", &w.key(i));
    want.push(("stale-trust", subject(&w, i)));

    let i = w.identity("leaky", alice, prod);
    let c = w.credential(i, "leaked-key");
    w.credentials[c].exposures.push(Exposure {
        location: "git:example.com/api@3f2a:config/prod.env:12".into(),
        source: "scanner".into(),
        found_at: ago(2),
        detail: None,
    });
    want.push((
        "credential-exposed",
        format!("credential:{}", w.credentials[c].id),
    ));

    let leak = Leak {
        id: Uuid::now_v7(),
        version: 1,
        fingerprint: Fingerprint::of_secret(b"somebody's password"),
        rule: "generic-password".into(),
        preview: "some…(19)".into(),
        locations: vec![Exposure {
            location: "git:example.com/web@1a2b:settings.py:4".into(),
            source: "scanner".into(),
            found_at: ago(1),
            detail: None,
        }],
        first_seen: ago(1),
        last_seen: ago(1),
    };
    want.push(("unclaimed-leak", format!("leak:{}", leak.id)));
    w.leaks.push(leak);

    let i = w.identity("tf-state-holder", alice, prod);
    w.connector("secret-in-state", &w.key(i));
    want.push(("secret-in-plaintext", subject(&w, i)));

    let i = w.identity("slack-integration", alice, prod);
    w.identities[i].kind = IdentityKind::OauthApp;
    w.identities[i]
        .attributes
        .insert("scopes".into(), serde_json::json!(["repo", "read:user"]));
    want.push(("third-party-broad-scope", subject(&w, i)));

    // The same, with the scopes granted as an entitlement (how a person records an OAuth app).
    let i = w.identity("github-app", alice, prod);
    w.identities[i].kind = IdentityKind::OauthApp;
    w.entitlement(i, "github:acme", &["admin:org", "read:user"]);
    want.push(("third-party-broad-scope", subject(&w, i)));

    let i = w.identity("vendor-role", alice, prod);
    w.connector("cross-account-trust", &w.key(i));
    want.push(("external-trust", subject(&w, i)));

    w.nodes.push(
        NodeSpec::new(
            "aws:federated:token.actions.githubusercontent.com",
            NodeKind::Identity,
            "GitHub OIDC",
        )
        .in_system("aws:1"),
    );
    let i = w.identity("static-keyed", alice, prod);
    let c = w.credential(i, "AKIA-static");
    w.credentials[c].kind = CredentialKind::AccessKey;
    want.push(("static-key-where-federation-exists", subject(&w, i)));

    let i = w.identity("console-user", alice, prod);
    w.identities[i]
        .attributes
        .insert("console_password".into(), serde_json::json!(true));
    w.identities[i]
        .attributes
        .insert("mfa_active".into(), serde_json::json!(false));
    want.push(("weak-authentication", subject(&w, i)));

    let a = w.identity("sharer-a", alice, prod);
    let b = w.identity("sharer-b", alice, prod);
    let ca = w.credential(a, "shared-secret");
    let cb = w.credential(b, "shared-secret-copy");
    w.credentials[cb].fingerprint = w.credentials[ca].fingerprint.clone();
    want.push(("shared-credential", subject(&w, a)));
    want.push(("shared-credential", subject(&w, b)));

    let i = w.identity("root", alice, prod);
    let cred_key = "aws:access-key:AKIAROOT".to_string();
    w.nodes
        .push(NodeSpec::new(&cred_key, NodeKind::Credential, "root key"));
    w.edges.push(EdgeSpec::new(
        &cred_key,
        EdgeKind::AuthenticatesAs,
        w.key(i),
        "key of root",
    ));
    w.connector("root-access-key", &cred_key);
    want.push(("root-access-key", format!("graph:{cred_key}")));

    let i = w.identity("overgranted", alice, prod);
    w.entitlement(
        i,
        "arn:aws:s3:::payments/*",
        &["s3:GetObject", "s3:DeleteObject"],
    );
    w.profile(i, &["s3:GetObject"]);
    want.push(("unused-permissions", subject(&w, i)));

    let i = w.identity("admin", alice, prod);
    w.entitlement(i, "*", &["*"]);
    want.push(("wildcard-grant", subject(&w, i)));

    let i = w.identity("iam-admin", alice, prod);
    w.identities[i].tier = Tier::ManagementPlane;
    w.identities[i].tier_reason = Some("can change IAM".into());
    want.push(("standing-management-plane-access", subject(&w, i)));

    let i = w.identity("ci-default-token", alice, prod);
    w.connector("default-token-permissions", &w.key(i));
    want.push(("ci-token-default-permissions", subject(&w, i)));

    let i = w.identity("deploy-job", alice, prod);
    w.identities[i].kind = IdentityKind::CiJob;
    w.identities[i].attributes.insert(
        "secrets".into(),
        serde_json::json!(["PROD_AWS_SECRET_ACCESS_KEY", "NPM_TOKEN"]),
    );
    want.push(("static-cloud-key-in-ci", subject(&w, i)));

    let i = w.identity("gha-deployer-role", alice, prod);
    w.connector("oidc-trust-without-subject", &w.key(i));
    want.push(("oidc-trust-without-subject", subject(&w, i)));

    let i = w.identity("open-role", alice, prod);
    w.connector("public-trust", &w.key(i));
    want.push(("public-trust", subject(&w, i)));

    let i = w.identity("pr-target-job", alice, prod);
    w.connector("untrusted-trigger-with-secrets", &w.key(i));
    want.push(("ci-secrets-exposed-to-untrusted-code", subject(&w, i)));

    let mut old = w.secrets[0].clone();
    old.id = Uuid::now_v7();
    old.path = "apps/legacy/db".into();
    old.owner_identity = None;
    old.versions[0].created_at = ago(400);
    want.push(("secret-past-max-age", "secret:apps/legacy/db".into()));
    w.secrets.push(old);

    let i = w.identity("ancient-key-holder", alice, prod);
    let c = w.credential(i, "ancient-key");
    w.credentials[c].issued_at = Some(ago(400));
    w.credentials[c].expires_at = None;
    want.push((
        "never-rotated",
        format!("credential:{}", w.credentials[c].id),
    ));

    let i = w.identity("forever-token-holder", alice, prod);
    let c = w.credential(i, "forever-token");
    w.credentials[c].expires_at = None;
    want.push(("no-expiry", format!("credential:{}", w.credentials[c].id)));

    let i = w.identity("k8s-sa", alice, prod);
    let token = "k8s:prod:secret:default/sa-token".to_string();
    w.nodes
        .push(NodeSpec::new(&token, NodeKind::Credential, "legacy token"));
    w.edges.push(EdgeSpec::new(
        &token,
        EdgeKind::AuthenticatesAs,
        w.key(i),
        "token of",
    ));
    w.connector("long-lived-service-account-token", &token);
    want.push(("long-lived-token", format!("graph:{token}")));

    let dev = w.system("payments-dev", "development");
    let i = w.identity("everywhere", alice, prod);
    w.identities[i].systems.push(dev);
    w.credential(i, "everywhere-token");
    want.push(("credential-across-environments", subject(&w, i)));

    let i = w.identity("default-sa", alice, prod);
    for n in 0..3 {
        let wl = format!("workload:shared-{n}");
        w.nodes.push(NodeSpec::new(&wl, NodeKind::Workload, &wl));
        w.edges
            .push(EdgeSpec::new(&wl, EdgeKind::RunsAs, w.key(i), "runs as"));
    }
    want.push(("identity-reused-by-workloads", subject(&w, i)));

    let i = w.identity("humanly-used", alice, prod);
    let alert: Alert = serde_json::from_value(serde_json::json!({
        "id": Uuid::now_v7(), "version": 1, "detection": "human_style_use",
        "title": "used like a person", "severity": "high", "state": "open",
        "dedup": "x", "identity_id": w.identities[i].id, "actor": "humanly-used",
        "summary": "console sign-in from a browser", "mitre": [], "count": 1,
        "first_seen": "2026-11-18T10:00:00Z", "last_seen": "2026-11-18T10:00:00Z",
        "events": [], "created_at": "2026-11-18T10:00:00Z", "updated_at": "2026-11-18T10:00:00Z"
    }))
    .unwrap();
    w.alerts.push(alert);
    want.push(("human-use", subject(&w, i)));

    (w, want)
}

#[test]
fn every_rule_has_a_planted_example_raised_with_its_ids() {
    let (w, want) = planted();
    let a = w.assess();
    // Every rule in the catalogue is planted.
    let planted_rules: BTreeSet<&str> = want.iter().map(|(r, _)| *r).collect();
    for r in RULES {
        assert!(
            planted_rules.contains(r.id),
            "rule {} has no planted example",
            r.id
        );
    }
    for (rule, subject) in &want {
        let f = a
            .findings
            .iter()
            .find(|f| f.rule == *rule && f.subject == *subject)
            .unwrap_or_else(|| {
                let got: Vec<_> = a.findings.iter().map(|f| (&f.rule, &f.subject)).collect();
                panic!("{rule} on {subject} not raised; raised: {got:#?}")
            });
        let r = holdfast_posture::rule(rule).unwrap();
        assert_eq!(
            f.owasp,
            r.owasp.iter().map(|s| s.to_string()).collect::<Vec<_>>()
        );
        assert_eq!(
            f.csf,
            r.csf.iter().map(|s| s.to_string()).collect::<Vec<_>>()
        );
        assert!(
            !f.owasp.is_empty() && !f.csf.is_empty(),
            "{rule} maps to nothing"
        );
        assert!(!f.evidence.is_empty(), "{rule} has no evidence");
        assert!(!f.explanation.is_empty() && !f.fix.is_empty());
        for id in &f.owasp {
            assert!(
                holdfast_posture::owasp(id).is_some(),
                "{rule}: unknown OWASP id {id}"
            );
        }
        for id in &f.csf {
            assert!(
                holdfast_posture::CSF_OUTCOMES.iter().any(|o| o.id == id),
                "{rule}: CSF outcome {id} is not in the catalogue"
            );
        }
    }
    // The clean identities among them stay clean.
    for n in 0..5 {
        let id = w
            .identities
            .iter()
            .find(|i| i.name == format!("clean-{n}"))
            .unwrap()
            .id;
        let on: Vec<_> = a
            .findings
            .iter()
            .filter(|f| f.identity_id == Some(id))
            .collect();
        assert!(on.is_empty(), "clean-{n} raised {on:#?}");
    }
    // Every finding is one the plan expected: nothing raised by accident.
    for f in &a.findings {
        assert!(
            want.iter().any(|(r, s)| f.rule == *r && f.subject == *s),
            "unplanned finding {} on {} ({})",
            f.rule,
            f.subject,
            f.explanation
        );
    }
}

#[test]
fn risk_parts_add_up_and_order_identities_sensibly() {
    let (w, _) = planted();
    let a = w.assess();
    let by_name = |n: &str| {
        let id = w.identities.iter().find(|i| i.name == n).unwrap().id;
        a.risks
            .iter()
            .find(|r| r.identity_id == id)
            .unwrap()
            .clone()
    };
    for r in &a.risks {
        let sum: u32 = r.parts.iter().map(|p| p.points).sum();
        assert_eq!(r.score, sum.min(100));
        for p in &r.parts {
            assert!(p.points <= p.max, "{} over its max", p.name);
        }
    }
    let admin = by_name("iam-admin");
    let leaky = by_name("leaky");
    let clean = by_name("clean-0");
    assert!(admin.score > clean.score);
    assert!(leaky.score > clean.score);
    assert_eq!(
        leaky
            .parts
            .iter()
            .find(|p| p.name == "exposure")
            .unwrap()
            .points,
        20
    );
    assert_eq!(
        admin
            .parts
            .iter()
            .find(|p| p.name == "tier")
            .unwrap()
            .points,
        25
    );
}

#[test]
fn csf_1_1_ids_translate_to_2_0_outcomes() {
    assert_eq!(holdfast_posture::csf_2_0("PR.AC-4"), Some(vec!["PR.AA-05"]));
    assert_eq!(
        holdfast_posture::csf_2_0("pr.aa-05"),
        Some(vec!["PR.AA-05"])
    );
    assert_eq!(holdfast_posture::csf_2_0("PR.PT-1"), Some(vec!["PR.PS-04"]));
    assert_eq!(holdfast_posture::csf_2_0("XX.YY-1"), None);
    assert_eq!(
        holdfast_posture::owasp("NHI5:2025").unwrap().title,
        "Overprivileged NHI"
    );
    // Every 2.0 outcome a 1.1 id maps to that a rule also uses is in the catalogue.
    for r in RULES {
        for c in r.csf {
            assert!(holdfast_posture::csf_2_0(c).is_some(), "{}: {c}", r.id);
        }
    }
    assert_eq!(holdfast_posture::OWASP_NHI.len(), 10);
}

#[test]
fn grants_follow_the_discovery_attribute_name() {
    assert_eq!(holdfast_discover::GRANTED_ATTRIBUTE, "granted_permissions");
}

#[test]
fn reconcile_keeps_history_and_expires_acceptances() {
    use holdfast_posture::{Acceptance, FindingState, reconcile};
    let (w, _) = planted();
    let fresh = w.assess().findings;
    let n = fresh.len() as u64;
    // First run: everything opens.
    let first = reconcile(vec![], fresh.clone(), NOW, "holdfast");
    assert_eq!(first.opened, n);
    assert!(first.updates.is_empty());
    // The same assessment again changes nothing.
    let again = reconcile(first.inserts.clone(), fresh.clone(), NOW, "holdfast");
    assert!(again.inserts.is_empty() && again.updates.is_empty());
    // One finding fixed: resolved; raised again: reopened (same record, next versions).
    let gone = fresh[0].key.clone();
    let without: Vec<_> = fresh.iter().filter(|f| f.key != gone).cloned().collect();
    let resolved = reconcile(first.inserts.clone(), without, NOW, "holdfast");
    assert_eq!((resolved.resolved, resolved.updates.len()), (1, 1));
    let r = &resolved.updates[0];
    assert_eq!((r.state, r.version), (FindingState::Resolved, 2));
    let mut stored: Vec<_> = first
        .inserts
        .iter()
        .filter(|x| x.key != gone)
        .cloned()
        .collect();
    stored.push(r.clone());
    let back = reconcile(stored, fresh.clone(), NOW + Duration::days(1), "holdfast");
    assert_eq!(back.reopened, 1);
    let steps: Vec<_> = back.updates[0]
        .history
        .iter()
        .map(|h| h.event.as_str())
        .collect();
    assert_eq!(steps, ["opened", "resolved", "reopened"]);
    // An accepted finding stays accepted until its acceptance expires, then opens again.
    let mut accepted = first.inserts.clone();
    accepted[0].state = FindingState::Accepted;
    accepted[0].acceptance = Some(Acceptance {
        reason: "migration planned".into(),
        approved_by: "Holdfast::Person::\"dave\"".into(),
        accepted_at: NOW,
        expires_at: NOW + Duration::days(10),
    });
    let before = reconcile(
        accepted.clone(),
        fresh.clone(),
        NOW + Duration::days(9),
        "holdfast",
    );
    assert!(before.updates.is_empty());
    // A worse severity than the one accepted needs a new decision.
    let mut worse = fresh.clone();
    let k = worse.iter().position(|f| f.key == accepted[0].key).unwrap();
    worse[k].severity = Severity::Critical;
    if accepted[0].severity != Severity::Critical {
        let r = reconcile(accepted.clone(), worse, NOW + Duration::days(1), "holdfast");
        let f = r.updates.iter().find(|u| u.key == accepted[0].key).unwrap();
        assert_eq!(f.state, FindingState::Open);
        assert!(
            f.history.iter().any(|h| h.event == "acceptance_revoked"),
            "{:?}",
            f.history
        );
        assert!(f.acceptance.is_none());
    }
    let after = reconcile(accepted, fresh, NOW + Duration::days(11), "holdfast");
    assert_eq!(after.acceptances_expired, 1);
    assert_eq!(after.updates[0].state, FindingState::Open);
    assert!(after.updates[0].acceptance.is_none());
}

#[test]
fn every_rule_is_documented_with_its_mappings() {
    let doc = std::fs::read_to_string(format!(
        "{}/../../docs/POSTURE.md",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    for r in RULES {
        let heading = format!("### `{}`", r.id);
        let section = doc
            .split(&heading)
            .nth(1)
            .unwrap_or_else(|| panic!("{} is not documented", r.id));
        let section = section.split("\n### ").next().unwrap();
        for id in r.owasp.iter().chain(r.csf) {
            assert!(
                section.contains(id),
                "{}: {id} missing from its section",
                r.id
            );
        }
    }
    for (old, new) in holdfast_posture::CSF_1_1_TO_2_0 {
        assert!(doc.contains(old), "crosswalk row for {old} missing");
        for n in *new {
            assert!(doc.contains(n), "{old} → {n} missing");
        }
    }
}
