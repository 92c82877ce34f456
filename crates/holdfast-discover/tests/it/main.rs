//! The connectors against the bundled example estate (`examples/estate/`, written from each
//! format's public documentation): specific identities, tiers, paths and blast radii.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod actions;
mod aws;
mod env;
mod estate;
mod kubernetes;
mod robustness;
mod terraform;

use std::path::PathBuf;

use holdfast_discover::{Connector, Discovery, Input, Options, discover};
use holdfast_graph::{Graph, NodeKind};

pub fn estate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate")
}

/// Reads the files (relative to the estate directory) and runs the connector.
pub fn run(connector: Connector, files: &[&str], system: Option<&str>) -> Discovery {
    let inputs: Vec<Input> = files
        .iter()
        .map(|f| {
            let path = estate_dir().join(f);
            Input {
                name: f.to_string(),
                bytes: std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("read {}: {e}", path.display())),
            }
        })
        .collect();
    let options = Options {
        system: system.map(str::to_string),
        now: Some(time::macros::datetime!(2026-11-25 00:00 UTC)),
    };
    discover(connector, &inputs, &options).unwrap_or_else(|e| panic!("{connector}: {e}"))
}

pub fn graph_of(discoveries: &[Discovery]) -> Graph {
    holdfast_discover::graph(discoveries).expect("graph builds")
}

/// The chain of node keys a tier's path walks, starting node first, capability last.
pub fn tier_chain(graph: &Graph, key: &str) -> Vec<String> {
    let id = graph.find(key).unwrap_or_else(|| panic!("no node {key}"));
    let tier = graph.tier(id);
    let mut chain = vec![key.to_string()];
    chain.extend(tier.path.iter().map(|s| s.to.clone()));
    chain
}

pub fn is_mgmt(graph: &Graph, key: &str) -> bool {
    graph.is_management_plane(graph.find(key).unwrap_or_else(|| panic!("no node {key}")))
}

pub fn keys_of_kind(d: &Discovery, kind: NodeKind) -> Vec<String> {
    let mut keys: Vec<String> = d
        .nodes
        .iter()
        .filter(|n| n.kind == kind)
        .map(|n| n.key.clone())
        .collect();
    keys.sort();
    keys
}

pub fn finding_kinds(d: &Discovery, subject: &str) -> Vec<String> {
    let mut kinds: Vec<String> = d
        .findings
        .iter()
        .filter(|f| f.subject == subject)
        .map(|f| f.kind.clone())
        .collect();
    kinds.sort();
    kinds
}
