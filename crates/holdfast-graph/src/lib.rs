//! Holdfast's identity graph: who can become whom and reach what.
//!
//! Connectors (`holdfast-discover`) emit [`NodeSpec`]s and [`EdgeSpec`]s; [`Graph::build`] freezes
//! them into compact adjacency arrays; queries answer the two questions a security team asks first —
//! is this identity management-plane, and how far does it reach if it is stolen — with every step
//! of every path explained. Pure and synchronous: no I/O, no clock.

mod graph;
mod model;
mod radius;
pub mod synthetic;

pub use graph::{Graph, GraphError, NodeId};
pub use model::{EdgeKind, EdgeSpec, NodeKind, NodeSpec};
pub use radius::{BlastRadius, LIST_LIMIT, NodeRef, Path, Reached, Step, Summary, Tier, score};
