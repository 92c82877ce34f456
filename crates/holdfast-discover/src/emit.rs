//! The accumulator connectors write into: nodes and edges kept once each, identities and
//! credentials merged by key, and the findings every connector shares (unowned identities).

use std::collections::{HashMap, HashSet};

use holdfast_graph::{EdgeKind, EdgeSpec, NodeKind, NodeSpec};

use crate::{DiscoveredCredential, DiscoveredIdentity, Discovery, Finding, Severity, Sourced};

/// Collects one connector run's output, dropping repeats.
#[derive(Debug, Default)]
pub struct Emitter {
    out: Discovery,
    nodes: HashMap<String, usize>,
    edges: HashSet<(String, String, EdgeKind)>,
    identities: HashMap<String, usize>,
    credentials: HashMap<String, usize>,
}

impl Emitter {
    pub fn new(source: impl Into<String>) -> Self {
        Emitter {
            out: Discovery {
                source: source.into(),
                ..Discovery::default()
            },
            ..Emitter::default()
        }
    }

    pub fn has_node(&self, key: &str) -> bool {
        self.nodes.contains_key(key)
    }

    /// Adds a node; a second node with the same key fills in what the first left empty.
    pub fn node(&mut self, node: NodeSpec) -> String {
        let key = node.key.clone();
        match self.nodes.get(&key) {
            Some(&i) => {
                if let Some(existing) = self.out.nodes.get_mut(i) {
                    if existing.system.is_none() {
                        existing.system = node.system;
                    }
                    if existing.management_plane.is_none() {
                        existing.management_plane = node.management_plane;
                    }
                    // A placeholder made from a reference gives way to the real thing.
                    if existing.label.is_empty() || existing.label == existing.key {
                        existing.label = node.label;
                    }
                }
            }
            None => {
                self.nodes.insert(key.clone(), self.out.nodes.len());
                self.out.nodes.push(node);
            }
        }
        key
    }

    /// Adds an edge between two nodes already added (both ends must exist).
    pub fn edge(&mut self, from: &str, kind: EdgeKind, to: &str, reason: impl Into<String>) {
        if from == to || !self.nodes.contains_key(from) || !self.nodes.contains_key(to) {
            return;
        }
        if self.edges.insert((from.to_string(), to.to_string(), kind)) {
            self.out
                .edges
                .push(EdgeSpec::new(from, kind, to, reason.into()));
        }
    }

    /// Adds an identity (and its node); a repeat merges the fields the first one lacked.
    pub fn identity(&mut self, identity: DiscoveredIdentity, node: NodeSpec) {
        self.node(node);
        match self.identities.get(&identity.key) {
            Some(&i) => {
                if let Some(existing) = self.out.identities.get_mut(i) {
                    merge_opt(&mut existing.owner, identity.owner);
                    merge_opt(&mut existing.purpose, identity.purpose);
                    merge_opt(&mut existing.environment, identity.environment);
                    merge_opt(&mut existing.created_at, identity.created_at);
                    merge_opt(&mut existing.last_used_at, identity.last_used_at);
                    for (k, v) in identity.attributes {
                        existing.attributes.entry(k).or_insert(v);
                    }
                }
            }
            None => {
                self.identities
                    .insert(identity.key.clone(), self.out.identities.len());
                self.out.identities.push(identity);
            }
        }
    }

    pub fn identity_mut(&mut self, key: &str) -> Option<&mut DiscoveredIdentity> {
        let i = *self.identities.get(key)?;
        self.out.identities.get_mut(i)
    }

    /// Adds a credential (and its node, and its edge to its identity when that is known).
    pub fn credential(&mut self, credential: DiscoveredCredential, node: NodeSpec, reason: &str) {
        let key = self.node(node);
        if let Some(identity) = credential.identity.clone() {
            self.edge(&key, EdgeKind::AuthenticatesAs, &identity, reason);
        }
        match self.credentials.get(&credential.key) {
            Some(&i) => {
                if let Some(existing) = self.out.credentials.get_mut(i) {
                    merge_opt(&mut existing.created_at, credential.created_at);
                    merge_opt(&mut existing.last_used_at, credential.last_used_at);
                    merge_opt(&mut existing.fingerprint, credential.fingerprint);
                    merge_opt(&mut existing.identity, credential.identity);
                    existing.active = existing.active && credential.active;
                    for l in credential.locations {
                        if !existing.locations.contains(&l) {
                            existing.locations.push(l);
                        }
                    }
                }
            }
            None => {
                self.credentials
                    .insert(credential.key.clone(), self.out.credentials.len());
                self.out.credentials.push(credential);
            }
        }
    }

    pub fn credentials(&self) -> &[DiscoveredCredential] {
        &self.out.credentials
    }

    pub fn credential_mut(&mut self, key: &str) -> Option<&mut DiscoveredCredential> {
        let i = *self.credentials.get(key)?;
        self.out.credentials.get_mut(i)
    }

    /// Records that a copy of `credential` sits at `location` (both nodes must exist).
    pub fn copy_at(&mut self, location: &str, credential: &str, reason: impl Into<String>) {
        self.edge(location, EdgeKind::HoldsCopyOf, credential, reason);
        if let Some(c) = self.credential_mut(credential)
            && !c.locations.iter().any(|l| l == location)
        {
            c.locations.push(location.to_string());
        }
    }

    pub fn finding(
        &mut self,
        kind: &str,
        severity: Severity,
        subject: &str,
        message: impl Into<String>,
        from: impl Into<String>,
    ) {
        // One finding of a kind per subject (two inputs can describe the same key).
        if self
            .out
            .findings
            .iter()
            .any(|f| f.kind == kind && f.subject == subject)
        {
            return;
        }
        self.out.findings.push(Finding {
            kind: kind.to_string(),
            severity,
            subject: subject.to_string(),
            message: message.into(),
            from: from.into(),
        });
    }

    pub fn skipped(&mut self, what: impl Into<String>) {
        self.out.skipped.push(what.into());
    }

    pub fn identities(&self) -> &[DiscoveredIdentity] {
        &self.out.identities
    }

    pub fn nodes(&self) -> &[NodeSpec] {
        &self.out.nodes
    }

    pub fn finish(self) -> Discovery {
        self.out
    }
}

fn merge_opt<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

/// Tag, label and annotation keys that name an owner, most specific first.
const OWNER_KEYS: &[&str] = &[
    "holdfast.io/owner",
    "holdfast:owner",
    "owner",
    "Owner",
    "OWNER",
    "team",
    "Team",
    "owner-team",
    "app.kubernetes.io/owner",
    "contact",
    "Contact",
];

/// Tag, label and annotation keys that say what an identity is for.
pub(crate) const PURPOSE_KEYS: &[&str] = &[
    "holdfast.io/purpose",
    "holdfast:purpose",
    "purpose",
    "Purpose",
    "description",
    "Description",
    "kubernetes.io/description",
];

/// Tag keys that name an environment.
pub(crate) const ENVIRONMENT_KEYS: &[&str] = &[
    "holdfast.io/environment",
    "environment",
    "Environment",
    "env",
    "Env",
    "stage",
];

/// The first of `keys` present with a non-empty value in `tags`, as `(key, value)`.
pub(crate) fn pick<'a>(tags: &'a [(String, String)], keys: &[&str]) -> Option<(&'a str, &'a str)> {
    keys.iter().find_map(|want| {
        tags.iter()
            .find(|(k, v)| k == want && !v.trim().is_empty())
            .map(|(k, v)| (k.as_str(), v.trim()))
    })
}

/// The owner named by tags, labels or annotations, as `(key, value)`.
pub fn owner_from_tags(tags: &[(String, String)]) -> Option<(&str, &str)> {
    pick(tags, OWNER_KEYS)
}

/// Owner, purpose and environment, each with its provenance.
pub(crate) type Tagged = (
    Option<Sourced<String>>,
    Option<Sourced<String>>,
    Option<Sourced<String>>,
);

/// Owner, purpose and environment from tags, each with its provenance under `base`.
pub(crate) fn tagged(tags: &[(String, String)], base: &str) -> Tagged {
    let one = |keys: &[&str]| {
        pick(tags, keys).map(|(k, v)| Sourced::new(v.to_string(), format!("{base}[{k}]")))
    };
    (one(OWNER_KEYS), one(PURPOSE_KEYS), one(ENVIRONMENT_KEYS))
}

/// Every identity without an owner is a finding: unknown ownership is not a default.
pub(crate) fn unowned_findings(discovery: &mut Discovery) {
    let unowned: Vec<Finding> = discovery
        .identities
        .iter()
        .filter(|i| i.owner.is_none())
        .map(|i| Finding {
            kind: "unowned-identity".to_string(),
            severity: Severity::Medium,
            subject: i.key.clone(),
            message: format!(
                "{} `{}` has no owner: no owner tag, label or annotation",
                i.source_kind, i.name
            ),
            from: i.external_id.clone(),
        })
        .collect();
    discovery.findings.extend(unowned);
}

/// Makes a node for a reference to something the inputs do not describe (a principal in another
/// account, a user named only in a binding), labelled with its key.
pub(crate) fn placeholder(key: &str, kind: NodeKind) -> NodeSpec {
    NodeSpec::new(key, kind, key)
}
