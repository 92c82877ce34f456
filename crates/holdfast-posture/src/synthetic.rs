//! A generated inventory for the posture benchmark: owners (a few departed), systems in three
//! environments, identities of every kind with one or two credentials each, entitlements, vault
//! secrets and leaks, with the problems real estates have in realistic proportions. Identity `i`
//! has graph key `id:{i}`, matching `holdfast_graph::synthetic::estate`. Deterministic per seed.

use std::collections::BTreeMap;

use holdfast_core::{
    Credential, CredentialKind, CredentialState, Entitlement, Exposure, Fingerprint, Identity,
    IdentityKind, Leak, LifecycleState, Owner, OwnerKind, Secret, SecretVersion, System,
    SystemKind, Tier,
};
use holdfast_monitor::synthetic::Rng;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The generated records.
#[derive(Debug, Default)]
pub struct Inventory {
    pub owners: Vec<Owner>,
    pub systems: Vec<System>,
    pub identities: Vec<Identity>,
    pub credentials: Vec<Credential>,
    pub entitlements: Vec<Entitlement>,
    pub secrets: Vec<Secret>,
    pub leaks: Vec<Leak>,
}

/// Percent draws on the monitor's seeded generator.
trait Pct {
    /// True with probability `pct` percent.
    fn pct(&mut self, pct: u64) -> bool;
}

impl Pct for Rng {
    fn pct(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

fn id(rng: &mut Rng) -> Uuid {
    Uuid::from_u64_pair(rng.next_u64(), rng.next_u64())
}

/// Generates an inventory of `identities` identities as of `now`.
pub fn inventory(identities: usize, seed: u64, now: OffsetDateTime) -> Inventory {
    let mut rng = Rng::new(seed);
    let mut inv = Inventory::default();
    let day = |d: u64| now - Duration::days(i64::try_from(d).unwrap_or(0));
    for o in 0..(identities / 50).max(2) {
        inv.owners.push(Owner {
            id: id(&mut rng),
            version: 1,
            name: format!("team-{o}"),
            display_name: None,
            kind: OwnerKind::Team,
            contact: format!("team-{o}@example.com"),
            active: !rng.pct(3),
            created_at: day(900),
            updated_at: day(30),
        });
    }
    let envs = ["production", "staging", "development"];
    for s in 0..(identities / 500).max(3) {
        inv.systems.push(System {
            id: id(&mut rng),
            version: 1,
            name: format!("system-{s}"),
            kind: SystemKind::AwsAccount,
            description: None,
            environment: envs.get(s % envs.len()).map(|e| e.to_string()),
            created_at: day(900),
            updated_at: day(900),
        });
    }
    let kinds = IdentityKind::ALL;
    let shared_secret = Fingerprint::of_secret(b"shared between a few identities");
    for i in 0..identities {
        let iid = id(&mut rng);
        let kind = kinds
            .get(rng.below(kinds.len() as u64) as usize)
            .copied()
            .unwrap_or(IdentityKind::ServiceAccount);
        let owner = if rng.pct(8) {
            None
        } else {
            inv.owners
                .get(rng.below(inv.owners.len() as u64) as usize)
                .map(|o| o.id)
        };
        let mut systems = Vec::new();
        if let Some(s) = inv
            .systems
            .get(rng.below(inv.systems.len() as u64) as usize)
        {
            systems.push(s.id);
        }
        if rng.pct(3)
            && let Some(s) = inv
                .systems
                .get(rng.below(inv.systems.len() as u64) as usize)
            && !systems.contains(&s.id)
        {
            systems.push(s.id);
        }
        let mut attributes = BTreeMap::new();
        if kind == IdentityKind::CiJob {
            let secrets = if rng.pct(30) {
                vec!["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
            } else {
                vec!["NPM_TOKEN"]
            };
            attributes.insert("secrets".to_string(), serde_json::json!(secrets));
        }
        if kind == IdentityKind::OauthApp {
            let scopes = if rng.pct(40) {
                "repo read:org"
            } else {
                "read:user"
            };
            attributes.insert("scopes".to_string(), serde_json::json!(scopes));
        }
        if kind == IdentityKind::ServiceAccount && rng.pct(5) {
            attributes.insert("console_password".to_string(), serde_json::json!(true));
            attributes.insert("mfa_active".to_string(), serde_json::json!(false));
        }
        let tier = if rng.pct(4) {
            Tier::ManagementPlane
        } else {
            Tier::Standard
        };
        let state = if rng.pct(2) {
            LifecycleState::Offboarded
        } else if rng.pct(2) {
            LifecycleState::Suspended
        } else {
            LifecycleState::Active
        };
        let created = day(30 + rng.below(900));
        inv.identities.push(Identity {
            id: iid,
            version: 1,
            kind,
            name: format!("nhi-{i}"),
            source: "synthetic".into(),
            external_id: Some(format!("synthetic/{i}")),
            owner_id: owner,
            purpose: Some("benchmark".into()),
            environment: envs.get(i % envs.len()).map(|e| e.to_string()),
            systems,
            tier,
            tier_reason: (tier != Tier::Standard).then(|| "reaches change IAM".to_string()),
            state,
            state_reason: None,
            labels: BTreeMap::new(),
            created_at: created,
            updated_at: created,
            expires_at: rng.pct(2).then(|| day(rng.below(60) + 1)),
            last_used_at: Some(day(rng.below(200))),
            last_rotated_at: None,
            last_reviewed_at: None,
            graph_key: Some(format!("id:{i}")),
            provenance: BTreeMap::new(),
            attributes,
            missing_since: None,
            tier_override: false,
        });
        for c in 0..(1 + rng.below(2)) {
            let issued = day(rng.below(400));
            let exposures = if rng.pct(2) {
                vec![Exposure {
                    location: format!("git:example.com/repo-{}@HEAD:config/app.env:3", i % 97),
                    source: "scanner".into(),
                    found_at: day(3),
                    detail: None,
                }]
            } else {
                Vec::new()
            };
            let fingerprint = if rng.pct(1) {
                shared_secret.clone()
            } else {
                Fingerprint::of_secret(format!("secret-{i}-{c}").as_bytes())
            };
            inv.credentials.push(Credential {
                id: id(&mut rng),
                version: 1,
                identity_id: iid,
                kind: if rng.pct(50) {
                    CredentialKind::AccessKey
                } else {
                    CredentialKind::Token
                },
                name: format!("key {c} of nhi-{i}"),
                external_id: None,
                fingerprint: Some(fingerprint),
                state: if state == LifecycleState::Offboarded && rng.pct(70) {
                    CredentialState::Revoked
                } else {
                    CredentialState::Active
                },
                stored_in: None,
                exposures,
                created_at: issued,
                updated_at: issued,
                issued_at: Some(issued),
                expires_at: rng.pct(40).then(|| issued + Duration::days(90)),
                last_rotated_at: rng.pct(30).then(|| day(rng.below(200))),
                last_used_at: Some(day(rng.below(120))),
            });
        }
        for _ in 0..(1 + rng.below(3)) {
            let wildcard = rng.pct(5);
            inv.entitlements.push(Entitlement {
                id: id(&mut rng),
                version: 1,
                identity_id: iid,
                system_id: None,
                resource: if wildcard {
                    "*".into()
                } else {
                    format!("arn:aws:s3:::bucket-{}/*", i % 300)
                },
                actions: if wildcard {
                    vec!["*".into()]
                } else {
                    vec!["s3:GetObject".into(), "s3:PutObject".into()]
                },
                granted_by: format!("policy p-{}", i % 40),
                created_at: created,
                updated_at: created,
            });
        }
    }
    for s in 0..(identities / 20) {
        let written = day(rng.below(200));
        inv.secrets.push(Secret {
            id: id(&mut rng),
            version: 1,
            path: format!("apps/app-{s}/db"),
            current: 1,
            versions: vec![SecretVersion {
                version: 1,
                ciphertext: String::new(),
                created_at: written,
                created_by: "bench".into(),
                deleted_at: None,
                destroyed: false,
                pending: false,
            }],
            owner_identity: inv.identities.get(s * 7).map(|i| i.id),
            consumers: Vec::new(),
            max_age_days: Some(90),
            created_at: written,
            updated_at: written,
            last_read_at: None,
            last_read_by: None,
        });
    }
    for l in 0..(identities / 200) {
        inv.leaks.push(Leak {
            id: id(&mut rng),
            version: 1,
            fingerprint: Fingerprint::of_secret(format!("leak-{l}").as_bytes()),
            rule: "generic-password".into(),
            preview: "hunt…(20)".into(),
            locations: vec![Exposure {
                location: format!("git:example.com/repo-{}@HEAD:src/main.py:10", l % 50),
                source: "scanner".into(),
                found_at: day(1),
                detail: None,
            }],
            first_seen: day(1),
            last_seen: day(1),
        });
    }
    inv
}
