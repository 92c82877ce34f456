//! Queries over the frozen graph: an identity's management-plane tier with the path that earns
//! it, the blast radius of one identity or secret with every path explained, and a summary of
//! every blast radius at once (in parallel).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::graph::{Graph, NodeId};
use crate::model::{EdgeKind, NodeKind};

const NONE: u32 = u32::MAX;

/// A node as queries report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeRef {
    pub key: String,
    pub kind: NodeKind,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
}

/// One step of a path: `from` controls `to` because of `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    pub from: String,
    pub kind: EdgeKind,
    pub to: String,
    pub reason: String,
}

/// A node's management-plane tier and, when it is management-plane, why: the capability it
/// reaches and the shortest chain of steps to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tier {
    pub management_plane: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<Step>,
}

/// Something the subject reaches, with how far away it is and the last step that reaches it
/// (follow `via.from` to walk the path back to the subject).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reached {
    #[serde(flatten)]
    pub node: NodeRef,
    pub depth: u32,
    pub via: Step,
}

/// A full path from the subject to one node it reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Path {
    pub to: NodeRef,
    pub steps: Vec<Step>,
}

/// What one identity or secret reaches if it is stolen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlastRadius {
    pub subject: NodeRef,
    /// 0–100: 70 and above only when the management plane is reached; see [`score`].
    pub score: u32,
    pub management_plane: bool,
    /// Systems any reached node belongs to (accounts, clusters, repositories).
    pub systems: Vec<String>,
    /// Identities it can become, nearest first (at most [`LIST_LIMIT`]; see `identities_total`).
    pub identities: Vec<Reached>,
    /// Resources, capabilities and secret locations it reaches, nearest first (at most
    /// [`LIST_LIMIT`]; see `resources_total`).
    pub resources: Vec<Reached>,
    /// How many identities it can become, listed or not.
    pub identities_total: usize,
    /// How many resources, capabilities and locations it reaches, listed or not.
    pub resources_total: usize,
    /// Management-plane capabilities reached, each with its full path.
    pub management_plane_paths: Vec<Path>,
    /// Full paths to the identities it can become (the first `max_paths`).
    pub identity_paths: Vec<Path>,
    /// How many paths were left out of `identity_paths`.
    pub paths_truncated: usize,
    /// Every node reached, all kinds, excluding the subject.
    pub reached_count: usize,
}

/// Most entries in each list of a blast radius: an administrator of a large estate reaches
/// hundreds of thousands of nodes, and the nearest ones are the ones a reader needs; the totals
/// and the score count everything.
pub const LIST_LIMIT: usize = 5000;

/// The numbers of one blast radius, without paths: what computing every blast radius produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    pub node: NodeId,
    pub score: u32,
    pub management_plane: bool,
    pub identities: u32,
    pub resources: u32,
    pub systems: u32,
    pub reached: u32,
}

/// The blast-radius score, 0–100. Reaching the management plane puts a subject at 70 or more;
/// breadth (identities it can become, systems, resources) adds on a log scale, so one more
/// resource matters a lot for a narrow identity and little for a broad one.
pub fn score(management_plane: bool, identities: u32, systems: u32, resources: u32) -> u32 {
    let log = |n: u32| f64::from(n + 1).log2();
    let breadth = 6.0 * log(identities) + 5.0 * log(systems) + 2.5 * log(resources);
    if management_plane {
        70 + (breadth / 2.0).min(30.0) as u32
    } else {
        (breadth.min(69.0)) as u32
    }
}

fn is_resource_kind(kind: NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::Resource | NodeKind::Capability | NodeKind::Location | NodeKind::System
    )
}

/// Reusable per-thread search state: a generation stamp per node instead of clearing a visited
/// set for each search.
#[derive(Debug)]
struct Search {
    stamp: Vec<u32>,
    parent: Vec<u32>,
    depth: Vec<u32>,
    system_stamp: Vec<u32>,
    generation: u32,
    queue: VecDeque<NodeId>,
}

impl Search {
    fn new(graph: &Graph) -> Search {
        Search {
            stamp: vec![0; graph.nodes.len()],
            parent: vec![NONE; graph.nodes.len()],
            depth: vec![0; graph.nodes.len()],
            system_stamp: vec![0; graph.systems.len()],
            generation: 0,
            queue: VecDeque::new(),
        }
    }

    /// Breadth-first from `start`; calls `visit(node)` for every node reached (not the start).
    fn run(&mut self, graph: &Graph, start: NodeId, mut visit: impl FnMut(&mut Self, NodeId)) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.system_stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        let generation = self.generation;
        self.queue.clear();
        if let Some(s) = self.stamp.get_mut(start as usize) {
            *s = generation;
        }
        if let Some(d) = self.depth.get_mut(start as usize) {
            *d = 0;
        }
        self.queue.push_back(start);
        while let Some(n) = self.queue.pop_front() {
            let depth = self.depth.get(n as usize).copied().unwrap_or(0);
            for &e in graph.out.of(n) {
                let Some(edge) = graph.edge(e) else { continue };
                let to = edge.to as usize;
                if self.stamp.get(to).copied() == Some(generation) {
                    continue;
                }
                if let Some(s) = self.stamp.get_mut(to) {
                    *s = generation;
                }
                if let Some(p) = self.parent.get_mut(to) {
                    *p = e;
                }
                if let Some(d) = self.depth.get_mut(to) {
                    *d = depth + 1;
                }
                self.queue.push_back(edge.to);
                visit(self, edge.to);
            }
        }
    }

    fn count_system(&mut self, graph: &Graph, n: NodeId) -> bool {
        let sys = graph.system_of.get(n as usize).copied().unwrap_or(NONE);
        if sys == NONE {
            return false;
        }
        match self.system_stamp.get_mut(sys as usize) {
            Some(s) if *s != self.generation => {
                *s = self.generation;
                true
            }
            _ => false,
        }
    }
}

impl Graph {
    fn node_ref(&self, n: NodeId) -> Option<NodeRef> {
        let node = self.nodes.get(n as usize)?;
        Some(NodeRef {
            key: node.key.clone(),
            kind: node.kind,
            label: node.label.clone(),
            system: node.system.clone(),
        })
    }

    fn step(&self, e: u32) -> Option<Step> {
        let edge = self.edge(e)?;
        Some(Step {
            from: self.nodes.get(edge.from as usize)?.key.clone(),
            kind: edge.kind,
            to: self.nodes.get(edge.to as usize)?.key.clone(),
            reason: self.reasons.get(edge.reason as usize)?.clone(),
        })
    }

    /// The node's management-plane tier, with the shortest path to the capability that earns it.
    pub fn tier(&self, n: NodeId) -> Tier {
        let mut path = Vec::new();
        let mut at = n;
        let mut guard = self.nodes.len();
        loop {
            let Some(Some(link)) = self.mgmt.get(at as usize) else {
                return Tier {
                    management_plane: false,
                    reason: None,
                    path: Vec::new(),
                };
            };
            if link.next_edge == NONE || guard == 0 {
                let reason = self
                    .nodes
                    .get(at as usize)
                    .and_then(|c| c.management_plane.clone());
                return Tier {
                    management_plane: true,
                    reason,
                    path,
                };
            }
            guard -= 1;
            let Some(step) = self.step(link.next_edge) else {
                break;
            };
            path.push(step);
            at = self.edge(link.next_edge).map_or(at, |e| e.to);
        }
        Tier {
            management_plane: false,
            reason: None,
            path: Vec::new(),
        }
    }

    /// Whether the node is management-plane (reaches a capability).
    pub fn is_management_plane(&self, n: NodeId) -> bool {
        matches!(self.mgmt.get(n as usize), Some(Some(_)))
    }

    fn path_to(&self, parent: &[u32], start: NodeId, n: NodeId) -> Vec<Step> {
        let mut steps = Vec::new();
        let mut at = n;
        while at != start {
            let Some(&e) = parent.get(at as usize) else {
                break;
            };
            let Some(edge) = self.edge(e) else { break };
            if let Some(step) = self.step(e) {
                steps.push(step);
            }
            at = edge.from;
            if steps.len() > self.nodes.len() {
                break;
            }
        }
        steps.reverse();
        steps
    }

    /// The blast radius of one node: what it reaches, whom it can become, whether it reaches the
    /// management plane, a score, and the paths (full paths to capabilities; full paths to the
    /// first `max_paths` identities; a `via` step for everything else).
    pub fn blast_radius(&self, start: NodeId, max_paths: usize) -> Option<BlastRadius> {
        let subject = self.node_ref(start)?;
        let mut search = Search::new(self);
        let mut order: Vec<NodeId> = Vec::new();
        let mut systems: Vec<u32> = Vec::new();
        search.run(self, start, |s, n| {
            order.push(n);
            if s.count_system(self, n)
                && let Some(&sys) = self.system_of.get(n as usize)
            {
                systems.push(sys);
            }
        });
        // The subject's own system counts too.
        let own = self.system_of.get(start as usize).copied().unwrap_or(NONE);
        if own != NONE && !systems.contains(&own) {
            systems.push(own);
        }

        let mut identities = Vec::new();
        let mut resources = Vec::new();
        let (mut identities_total, mut resources_total) = (0usize, 0usize);
        let mut management_plane_paths = Vec::new();
        let mut identity_paths = Vec::new();
        let mut paths_truncated = 0;
        for &n in &order {
            let Some(node) = self.nodes.get(n as usize) else {
                continue;
            };
            let Some(&e) = search.parent.get(n as usize) else {
                continue;
            };
            let (Some(node_ref), Some(via)) = (self.node_ref(n), self.step(e)) else {
                continue;
            };
            let depth = search.depth.get(n as usize).copied().unwrap_or(0);
            if node.management_plane.is_some() {
                management_plane_paths.push(Path {
                    to: node_ref.clone(),
                    steps: self.path_to(&search.parent, start, n),
                });
            }
            match node.kind {
                NodeKind::Identity => {
                    identities_total += 1;
                    if identities.len() >= LIST_LIMIT {
                        paths_truncated += 1;
                        continue;
                    }
                    if identity_paths.len() < max_paths {
                        identity_paths.push(Path {
                            to: node_ref.clone(),
                            steps: self.path_to(&search.parent, start, n),
                        });
                    } else {
                        paths_truncated += 1;
                    }
                    identities.push(Reached {
                        node: node_ref,
                        depth,
                        via,
                    });
                }
                kind if is_resource_kind(kind) => {
                    resources_total += 1;
                    if resources.len() < LIST_LIMIT {
                        resources.push(Reached {
                            node: node_ref,
                            depth,
                            via,
                        });
                    }
                }
                _ => {}
            }
        }
        let management_plane = self.is_management_plane(start);
        let mut system_names: Vec<String> = systems
            .iter()
            .filter_map(|&s| self.systems.get(s as usize).cloned())
            .collect();
        system_names.sort();
        Some(BlastRadius {
            score: score(
                management_plane,
                identities_total as u32,
                system_names.len() as u32,
                resources_total as u32,
            ),
            subject,
            management_plane,
            systems: system_names,
            identities,
            resources,
            identities_total,
            resources_total,
            management_plane_paths,
            identity_paths,
            paths_truncated,
            reached_count: order.len(),
        })
    }

    /// The summary of every blast radius for the nodes `kinds` selects, computed on `threads`
    /// threads. The result is in node order.
    pub fn summarize_all(&self, kinds: &[NodeKind], threads: usize) -> Vec<Summary> {
        let subjects: Vec<NodeId> = self
            .nodes()
            .filter(|(_, n)| kinds.contains(&n.kind))
            .map(|(id, _)| id)
            .collect();
        let threads = threads.max(1);
        let chunk = subjects.len().div_ceil(threads).max(1);
        let mut out: Vec<Summary> = Vec::with_capacity(subjects.len());
        std::thread::scope(|scope| {
            let handles: Vec<_> = subjects
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let mut search = Search::new(self);
                        part.iter()
                            .map(|&n| self.summarize_with(&mut search, n))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                match h.join() {
                    Ok(part) => out.extend(part),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        });
        out
    }

    /// The summary of one node's blast radius.
    pub fn summarize(&self, n: NodeId) -> Summary {
        let mut search = Search::new(self);
        self.summarize_with(&mut search, n)
    }

    fn summarize_with(&self, search: &mut Search, start: NodeId) -> Summary {
        let (mut identities, mut resources, mut systems, mut reached) = (0u32, 0u32, 0u32, 0u32);
        search.run(self, start, |s, n| {
            reached += 1;
            match self.nodes.get(n as usize).map(|x| x.kind) {
                Some(NodeKind::Identity) => identities += 1,
                Some(kind) if is_resource_kind(kind) => resources += 1,
                _ => {}
            }
            if s.count_system(self, n) {
                systems += 1;
            }
        });
        let own = self.system_of.get(start as usize).copied().unwrap_or(NONE);
        if own != NONE && search.system_stamp.get(own as usize) != Some(&search.generation) {
            systems += 1;
        }
        let management_plane = self.is_management_plane(start);
        Summary {
            node: start,
            score: score(management_plane, identities, systems, resources),
            management_plane,
            identities,
            resources,
            systems,
            reached,
        }
    }
}
