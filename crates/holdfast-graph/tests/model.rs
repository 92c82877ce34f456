//! The graph against a simple model: on random graphs, blast radius reaches exactly what a naive
//! depth-first search over the edge list reaches, a node is management-plane exactly when it can
//! reach a capability, every tier path is a real path ending at one, every reported path is made of
//! real edges, and the summary agrees with the full blast radius.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeSet, HashSet};

use holdfast_graph::{EdgeKind, EdgeSpec, Graph, NodeKind, NodeSpec};
use proptest::prelude::*;

const KINDS: [NodeKind; 5] = [
    NodeKind::Identity,
    NodeKind::Credential,
    NodeKind::Policy,
    NodeKind::Resource,
    NodeKind::Capability,
];
const EDGE_KINDS: [EdgeKind; 4] = [
    EdgeKind::CanAssume,
    EdgeKind::HasPolicy,
    EdgeKind::HasAccessTo,
    EdgeKind::AuthenticatesAs,
];

fn build(
    kinds: &[usize],
    edges: &[(usize, usize, usize)],
) -> (Graph, Vec<NodeSpec>, Vec<EdgeSpec>) {
    let nodes: Vec<NodeSpec> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let kind = KINDS[k % KINDS.len()];
            let n = NodeSpec::new(format!("n{i}"), kind, format!("node {i}"))
                .in_system(format!("sys{}", i % 3));
            if kind == NodeKind::Capability {
                n.management_plane("test capability")
            } else {
                n
            }
        })
        .collect();
    let specs: Vec<EdgeSpec> = edges
        .iter()
        .map(|(a, b, k)| {
            EdgeSpec::new(
                format!("n{}", a % kinds.len()),
                EDGE_KINDS[k % EDGE_KINDS.len()],
                format!("n{}", b % kinds.len()),
                format!("r{a}-{b}"),
            )
        })
        .collect();
    (
        Graph::build(nodes.clone(), specs.clone()).unwrap(),
        nodes,
        specs,
    )
}

fn naive_reach(start: &str, edges: &[EdgeSpec]) -> BTreeSet<String> {
    let mut seen: HashSet<String> = HashSet::from([start.to_string()]);
    let mut stack = vec![start.to_string()];
    while let Some(n) = stack.pop() {
        for e in edges.iter().filter(|e| e.from == n) {
            if seen.insert(e.to.clone()) {
                stack.push(e.to.clone());
            }
        }
    }
    seen.remove(start);
    seen.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn blast_radius_and_tiers_match_a_naive_model(
        kinds in prop::collection::vec(0usize..5, 1..40),
        edges in prop::collection::vec((0usize..40, 0usize..40, 0usize..4), 0..120),
    ) {
        let (g, nodes, specs) = build(&kinds, &edges);
        let edge_set: HashSet<(String, String)> = specs.iter().map(|e| (e.from.clone(), e.to.clone())).collect();
        for n in &nodes {
            let id = g.find(&n.key).unwrap();
            let br = g.blast_radius(id, usize::MAX).unwrap();
            let expected = naive_reach(&n.key, &specs);
            let mut got: BTreeSet<String> = br.identities.iter().chain(br.resources.iter()).map(|r| r.node.key.clone()).collect();
            // Policies and credentials are reached but listed in neither; count them via reached_count.
            prop_assert_eq!(br.reached_count, expected.len());
            got.retain(|k| expected.contains(k));
            let listed = expected.iter().filter(|k| {
                let kind = nodes.iter().find(|x| &x.key == *k).unwrap().kind;
                matches!(kind, NodeKind::Identity | NodeKind::Resource | NodeKind::Capability)
            }).count();
            prop_assert_eq!(got.len(), listed);
            // Management plane: reaches a capability (or is one).
            let reaches_cap = n.kind == NodeKind::Capability || expected.iter().any(|k| nodes.iter().any(|x| &x.key == k && x.kind == NodeKind::Capability));
            prop_assert_eq!(br.management_plane, reaches_cap);
            let tier = g.tier(id);
            prop_assert_eq!(tier.management_plane, reaches_cap);
            if reaches_cap {
                let end = tier.path.last().map_or(n.key.clone(), |s| s.to.clone());
                prop_assert_eq!(nodes.iter().find(|x| x.key == end).unwrap().kind, NodeKind::Capability);
                let mut at = n.key.clone();
                for s in &tier.path {
                    prop_assert_eq!(&s.from, &at);
                    prop_assert!(edge_set.contains(&(s.from.clone(), s.to.clone())));
                    at = s.to.clone();
                }
            }
            for p in br.identity_paths.iter().chain(br.management_plane_paths.iter()) {
                let mut at = n.key.clone();
                for s in &p.steps {
                    prop_assert_eq!(&s.from, &at);
                    prop_assert!(edge_set.contains(&(s.from.clone(), s.to.clone())));
                    at = s.to.clone();
                }
                prop_assert_eq!(&at, &p.to.key);
            }
            let summary = g.summarize(id);
            prop_assert_eq!(summary.reached as usize, br.reached_count);
            prop_assert_eq!(summary.identities as usize, br.identities.len());
            prop_assert_eq!(summary.identities as usize, br.identities_total);
            prop_assert_eq!(summary.resources as usize, br.resources.len());
            prop_assert_eq!(summary.resources as usize, br.resources_total);
            prop_assert_eq!(summary.systems as usize, br.systems.len());
            prop_assert_eq!(summary.score, br.score);
        }
        let all = g.summarize_all(&KINDS, 3);
        prop_assert_eq!(all.len(), nodes.len());
        for s in all {
            prop_assert_eq!(s, g.summarize(s.node));
        }
    }
}

#[test]
fn edges_to_unknown_nodes_are_refused_naming_the_key() {
    let err = Graph::build(
        vec![NodeSpec::new("a", NodeKind::Identity, "a")],
        vec![EdgeSpec::new("a", EdgeKind::CanAssume, "b", "trust")],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "edge 0 (`can-assume`) ends at `b`, which is not a node"
    );
}

#[test]
fn the_score_puts_every_management_plane_subject_above_every_other() {
    let top_standard = holdfast_graph::score(false, 100_000, 1_000, 1_000_000);
    let least_mgmt = holdfast_graph::score(true, 0, 0, 0);
    assert!(top_standard < least_mgmt, "{top_standard} vs {least_mgmt}");
    assert_eq!(least_mgmt, 70);
    assert!(holdfast_graph::score(true, 100_000, 1_000, 1_000_000) <= 100);
}

#[test]
fn large_reach_is_listed_nearest_first_up_to_the_limit_and_counted_in_full() {
    let n = holdfast_graph::LIST_LIMIT + 1000;
    let mut nodes = vec![NodeSpec::new("admin", NodeKind::Identity, "admin")];
    let mut edges = Vec::new();
    for i in 0..n {
        nodes.push(NodeSpec::new(format!("u{i}"), NodeKind::Identity, "user"));
        edges.push(EdgeSpec::new(
            "admin",
            EdgeKind::CanCreateCredentialFor,
            format!("u{i}"),
            "iam:CreateAccessKey on *",
        ));
    }
    let g = Graph::build(nodes, edges).unwrap();
    let br = g.blast_radius(g.find("admin").unwrap(), 10).unwrap();
    assert_eq!(br.identities.len(), holdfast_graph::LIST_LIMIT);
    assert_eq!(br.identities_total, n);
    assert_eq!(br.identity_paths.len(), 10);
    assert_eq!(br.paths_truncated, n - 10);
    assert_eq!(br.score, g.summarize(g.find("admin").unwrap()).score);
}
