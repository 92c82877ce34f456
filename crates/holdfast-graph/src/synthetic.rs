//! A generated estate for the graph benchmark: systems, identities, credentials and their copies,
//! groups, policies, resources, role assumption and a few management-plane capabilities, shaped
//! like real estates (principals assume a handful of roles; roles rarely chain) so that reach is
//! realistic rather than "everything reaches everything". Deterministic for a given seed.

use crate::model::{EdgeKind, EdgeSpec, NodeKind, NodeSpec};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub identities: usize,
    pub edges: usize,
    pub seed: u64,
}

/// A small, fast, deterministic generator (xorshift64*); statistical quality is irrelevant here.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Generates the estate. Edge count lands within a few percent of `shape.edges`.
pub fn estate(shape: Shape) -> (Vec<NodeSpec>, Vec<EdgeSpec>) {
    let mut rng = Rng(shape.seed | 1);
    let ids = shape.identities.max(10);
    let systems = (ids / 500).max(2);
    let roles = ids / 5;
    let principals = ids - roles;
    let groups = (ids / 50).max(1);
    let policies = (ids / 25).max(1);
    let resources_per_system = 50;
    let mut nodes = Vec::with_capacity(ids * 4);
    let mut edges = Vec::with_capacity(shape.edges + ids);

    let sys = |i: usize| format!("sys:{i}");
    for s in 0..systems {
        nodes.push(NodeSpec::new(
            sys(s),
            NodeKind::System,
            format!("system {s}"),
        ));
        for r in 0..resources_per_system {
            nodes.push(
                NodeSpec::new(
                    format!("res:{s}:{r}"),
                    NodeKind::Resource,
                    format!("resource {r}"),
                )
                .in_system(sys(s)),
            );
        }
        nodes.push(
            NodeSpec::new(format!("cap:{s}"), NodeKind::Capability, "change IAM")
                .in_system(sys(s))
                .management_plane(format!("can change access control in system {s}")),
        );
    }
    for p in 0..policies {
        let s = p % systems;
        nodes.push(
            NodeSpec::new(format!("pol:{p}"), NodeKind::Policy, format!("policy {p}"))
                .in_system(sys(s)),
        );
        let grants = 15 + rng.below(20);
        for _ in 0..grants {
            let r = rng.below(resources_per_system);
            edges.push(EdgeSpec::new(
                format!("pol:{p}"),
                EdgeKind::HasAccessTo,
                format!("res:{s}:{r}"),
                "policy allows read and write",
            ));
        }
        // One policy in two hundred administers its system.
        if p % 200 == 7 {
            edges.push(EdgeSpec::new(
                format!("pol:{p}"),
                EdgeKind::HasAccessTo,
                format!("cap:{s}"),
                "policy allows iam:*",
            ));
        }
    }
    for g in 0..groups {
        nodes.push(
            NodeSpec::new(format!("grp:{g}"), NodeKind::Group, format!("group {g}"))
                .in_system(sys(g % systems)),
        );
        for _ in 0..3 {
            edges.push(EdgeSpec::new(
                format!("grp:{g}"),
                EdgeKind::HasPolicy,
                format!("pol:{}", rng.below(policies)),
                "group policy",
            ));
        }
    }
    let mut credentials = 0usize;
    for i in 0..ids {
        let s = rng.below(systems);
        let key = format!("id:{i}");
        nodes.push(
            NodeSpec::new(&key, NodeKind::Identity, format!("identity {i}")).in_system(sys(s)),
        );
        for _ in 0..2 {
            edges.push(EdgeSpec::new(
                &key,
                EdgeKind::HasPolicy,
                format!("pol:{}", rng.below(policies)),
                "attached policy",
            ));
        }
        if i < principals {
            edges.push(EdgeSpec::new(
                &key,
                EdgeKind::MemberOf,
                format!("grp:{}", rng.below(groups)),
                "group membership",
            ));
            for _ in 0..2 {
                let role = principals + rng.below(roles.max(1));
                edges.push(EdgeSpec::new(
                    &key,
                    EdgeKind::CanAssume,
                    format!("id:{role}"),
                    "trust policy allows sts:AssumeRole",
                ));
            }
            for _ in 0..(1 + rng.below(2)) {
                let c = format!("cred:{credentials}");
                credentials += 1;
                nodes.push(NodeSpec::new(&c, NodeKind::Credential, "access key").in_system(sys(s)));
                edges.push(EdgeSpec::new(
                    &c,
                    EdgeKind::AuthenticatesAs,
                    &key,
                    "access key of the identity",
                ));
                let loc = format!("loc:{}", credentials % (ids / 2).max(1));
                if credentials <= ids / 2 {
                    nodes.push(NodeSpec::new(&loc, NodeKind::Location, "file").in_system(sys(s)));
                }
                edges.push(EdgeSpec::new(
                    &loc,
                    EdgeKind::HoldsCopyOf,
                    &c,
                    "secret found in file",
                ));
            }
            // Most identities can read where their own secret sits; a few (CI runners, backup
            // agents) can read someone else's.
            let loc = if rng.below(50) == 0 {
                rng.below((ids / 2).max(1))
            } else {
                credentials % (ids / 2).max(1)
            };
            edges.push(EdgeSpec::new(
                &key,
                EdgeKind::CanRead,
                format!("loc:{loc}"),
                "can read the file",
            ));
        } else if rng.below(100) == 0 {
            // Roles rarely chain.
            let role = principals + rng.below(roles.max(1));
            edges.push(EdgeSpec::new(
                &key,
                EdgeKind::CanAssume,
                format!("id:{role}"),
                "role chaining",
            ));
        }
    }
    // Top up (or trim) to the requested edge count with further role assumptions.
    while edges.len() < shape.edges {
        let from = rng.below(principals.max(1));
        let role = principals + rng.below(roles.max(1));
        edges.push(EdgeSpec::new(
            format!("id:{from}"),
            EdgeKind::CanAssume,
            format!("id:{role}"),
            "trust policy allows sts:AssumeRole",
        ));
    }
    (nodes, edges)
}
