//! The frozen graph: nodes and edges indexed by `u32`, forward and reverse adjacency in compressed
//! rows, and the management-plane tier of every node computed once by a reverse search from the
//! capability nodes.

use std::collections::HashMap;

use crate::model::{EdgeKind, EdgeSpec, NodeKind, NodeSpec};

/// Index of a node in a [`Graph`].
pub type NodeId = u32;

const NONE: u32 = u32::MAX;

/// Why a graph could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GraphError {
    #[error("edge {index} (`{kind}`) starts at `{key}`, which is not a node")]
    UnknownFrom {
        index: usize,
        kind: EdgeKind,
        key: String,
    },
    #[error("edge {index} (`{kind}`) ends at `{key}`, which is not a node")]
    UnknownTo {
        index: usize,
        kind: EdgeKind,
        key: String,
    },
    #[error("node key must not be empty (node {index})")]
    EmptyKey { index: usize },
    #[error("the graph is limited to {max} nodes and {max} edges")]
    TooLarge { max: u32 },
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub from: NodeId,
    pub to: NodeId,
    pub kind: EdgeKind,
    pub reason: u32,
}

/// Compressed adjacency: the edges leaving (or entering) node `n` are
/// `list[start[n]..start[n + 1]]`, as edge indices.
#[derive(Debug, Default)]
pub(crate) struct Adjacency {
    start: Vec<u32>,
    list: Vec<u32>,
}

impl Adjacency {
    fn build(nodes: usize, edges: &[Edge], key: impl Fn(&Edge) -> NodeId) -> Adjacency {
        let mut start = vec![0u32; nodes + 1];
        for e in edges {
            if let Some(c) = start.get_mut(key(e) as usize + 1) {
                *c += 1;
            }
        }
        for i in 1..start.len() {
            let prev = start.get(i - 1).copied().unwrap_or(0);
            if let Some(c) = start.get_mut(i) {
                *c += prev;
            }
        }
        let mut fill = start.clone();
        let mut list = vec![0u32; edges.len()];
        for (i, e) in edges.iter().enumerate() {
            if let Some(slot) = fill.get_mut(key(e) as usize)
                && let Some(cell) = list.get_mut(*slot as usize)
            {
                *cell = i as u32;
                *slot += 1;
            }
        }
        Adjacency { start, list }
    }

    pub(crate) fn of(&self, n: NodeId) -> &[u32] {
        let lo = self.start.get(n as usize).copied().unwrap_or(0) as usize;
        let hi = self.start.get(n as usize + 1).copied().unwrap_or(0) as usize;
        self.list.get(lo..hi).unwrap_or(&[])
    }
}

/// How a node reaches the management plane: the first edge on its shortest way there (`NONE` when
/// the node is a capability itself) and how many steps it takes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MgmtLink {
    pub next_edge: u32,
    pub distance: u32,
}

/// The identity graph, frozen for queries.
#[derive(Debug)]
pub struct Graph {
    pub(crate) nodes: Vec<NodeSpec>,
    pub(crate) index: HashMap<String, NodeId>,
    pub(crate) edges: Vec<Edge>,
    pub(crate) reasons: Vec<String>,
    pub(crate) out: Adjacency,
    pub(crate) inc: Adjacency,
    pub(crate) mgmt: Vec<Option<MgmtLink>>,
    /// Interned system of each node (`NONE` when it has none).
    pub(crate) system_of: Vec<u32>,
    pub(crate) systems: Vec<String>,
}

impl Graph {
    /// Builds the graph from specs. Nodes with the same key are merged (the first non-empty label
    /// and management-plane reason win); identical edges (same ends and kind) are kept once.
    pub fn build(nodes: Vec<NodeSpec>, edges: Vec<EdgeSpec>) -> Result<Graph, GraphError> {
        let max = u32::MAX - 1;
        if nodes.len() >= max as usize || edges.len() >= max as usize {
            return Err(GraphError::TooLarge { max });
        }
        let mut index: HashMap<String, NodeId> = HashMap::with_capacity(nodes.len());
        let mut merged: Vec<NodeSpec> = Vec::with_capacity(nodes.len());
        for (i, node) in nodes.into_iter().enumerate() {
            if node.key.is_empty() {
                return Err(GraphError::EmptyKey { index: i });
            }
            match index.get(&node.key) {
                Some(&id) => {
                    if let Some(existing) = merged.get_mut(id as usize) {
                        // A placeholder (labelled with its own key) gives way to a description.
                        if existing.label.is_empty() || existing.label == existing.key {
                            existing.label = node.label;
                        }
                        if existing.system.is_none() {
                            existing.system = node.system;
                        }
                        if existing.management_plane.is_none() {
                            existing.management_plane = node.management_plane;
                        }
                    }
                }
                None => {
                    index.insert(node.key.clone(), merged.len() as NodeId);
                    merged.push(node);
                }
            }
        }

        let mut reason_ids: HashMap<String, u32> = HashMap::new();
        let mut reasons: Vec<String> = Vec::new();
        let mut seen: HashMap<(NodeId, NodeId, EdgeKind), ()> = HashMap::with_capacity(edges.len());
        let mut out_edges: Vec<Edge> = Vec::with_capacity(edges.len());
        for (i, spec) in edges.into_iter().enumerate() {
            let Some(&from) = index.get(&spec.from) else {
                return Err(GraphError::UnknownFrom {
                    index: i,
                    kind: spec.kind,
                    key: spec.from,
                });
            };
            let Some(&to) = index.get(&spec.to) else {
                return Err(GraphError::UnknownTo {
                    index: i,
                    kind: spec.kind,
                    key: spec.to,
                });
            };
            if from == to || seen.insert((from, to, spec.kind), ()).is_some() {
                continue;
            }
            let reason = match reason_ids.get(&spec.reason) {
                Some(&r) => r,
                None => {
                    let r = reasons.len() as u32;
                    reason_ids.insert(spec.reason.clone(), r);
                    reasons.push(spec.reason);
                    r
                }
            };
            out_edges.push(Edge {
                from,
                to,
                kind: spec.kind,
                reason,
            });
        }
        drop(seen);

        let n = merged.len();
        let out = Adjacency::build(n, &out_edges, |e| e.from);
        let inc = Adjacency::build(n, &out_edges, |e| e.to);

        let mut system_ids: HashMap<&str, u32> = HashMap::new();
        let mut systems: Vec<String> = Vec::new();
        let mut system_of = Vec::with_capacity(n);
        for node in &merged {
            let system = match node.kind {
                NodeKind::System => Some(node.key.as_str()),
                _ => node.system.as_deref(),
            };
            let id = match system {
                None => NONE,
                Some(s) => match system_ids.get(s) {
                    Some(&id) => id,
                    None => {
                        let id = systems.len() as u32;
                        system_ids.insert(s, id);
                        systems.push(s.to_string());
                        id
                    }
                },
            };
            system_of.push(id);
        }

        let mut graph = Graph {
            nodes: merged,
            index,
            edges: out_edges,
            reasons,
            out,
            inc,
            mgmt: Vec::new(),
            system_of,
            systems,
        };
        graph.mgmt = graph.compute_tiers();
        Ok(graph)
    }

    /// Reverse breadth-first search from every capability node: a node is management-plane when
    /// it can reach one, and the search remembers the first edge of its shortest way there.
    fn compute_tiers(&self) -> Vec<Option<MgmtLink>> {
        let mut mgmt: Vec<Option<MgmtLink>> = vec![None; self.nodes.len()];
        let mut queue: std::collections::VecDeque<NodeId> = std::collections::VecDeque::new();
        for (i, node) in self.nodes.iter().enumerate() {
            if node.management_plane.is_some()
                && let Some(slot) = mgmt.get_mut(i)
            {
                *slot = Some(MgmtLink {
                    next_edge: NONE,
                    distance: 0,
                });
                queue.push_back(i as NodeId);
            }
        }
        while let Some(n) = queue.pop_front() {
            let distance = mgmt
                .get(n as usize)
                .copied()
                .flatten()
                .map_or(0, |l| l.distance);
            for &e in self.inc.of(n) {
                let Some(edge) = self.edges.get(e as usize) else {
                    continue;
                };
                if let Some(slot) = mgmt.get_mut(edge.from as usize)
                    && slot.is_none()
                {
                    *slot = Some(MgmtLink {
                        next_edge: e,
                        distance: distance + 1,
                    });
                    queue.push_back(edge.from);
                }
            }
        }
        mgmt
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// The node with this key.
    pub fn find(&self, key: &str) -> Option<NodeId> {
        self.index.get(key).copied()
    }

    pub fn node(&self, id: NodeId) -> Option<&NodeSpec> {
        self.nodes.get(id as usize)
    }

    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &NodeSpec)> {
        self.nodes.iter().enumerate().map(|(i, n)| (i as NodeId, n))
    }

    /// Every edge, as specs (for storing or printing).
    pub fn edge_specs(&self) -> impl Iterator<Item = EdgeSpec> + '_ {
        self.edges.iter().filter_map(|e| self.edge_spec(e))
    }

    pub(crate) fn edge_spec(&self, e: &Edge) -> Option<EdgeSpec> {
        Some(EdgeSpec {
            from: self.nodes.get(e.from as usize)?.key.clone(),
            to: self.nodes.get(e.to as usize)?.key.clone(),
            kind: e.kind,
            reason: self.reasons.get(e.reason as usize)?.clone(),
        })
    }

    pub(crate) fn edge(&self, e: u32) -> Option<&Edge> {
        self.edges.get(e as usize)
    }
}
