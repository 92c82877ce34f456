//! The Kubernetes connector: manifests (multi-document YAML or JSON) and `kubectl get … -o yaml`
//! lists. ServiceAccounts become identities; Roles and ClusterRoles (aggregation resolved) become
//! policies bound to users, groups and service accounts; service-account token Secrets become
//! credentials with their copies; workloads run as their service account when the token is mounted.
//!
//! RBAC is judged the way the API server judges it: a ClusterRole bound by a RoleBinding grants its
//! rules in that namespace only; `*` matches every verb, group and resource; `resourceNames`
//! narrows a rule. Management-plane capabilities are the escalation primitives — `escalate`,
//! `bind`, `impersonate`, writing roles and bindings, reading every secret, creating pods in
//! `kube-system`, `nodes/proxy`, approving CSRs, configuring admission webhooks — and the
//! escalation paths are edges: pod create → every service account in the namespace, secrets read
//! → the service-account tokens stored in them, `serviceaccounts/token` create, impersonation.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use holdfast_core::{CredentialKind, IdentityKind};
use holdfast_graph::{EdgeKind, NodeKind, NodeSpec};
use serde_json::Value;

use crate::emit::{Emitter, tagged};
use crate::yaml::{documents, list, pairs, str_at, strings};
use crate::{
    DiscoverError, DiscoveredCredential, DiscoveredIdentity, Discovery, Input, Options, Severity,
    Sourced,
};

/// One Kubernetes object and where it came from.
#[derive(Debug)]
struct Obj {
    from: String,
    value: Value,
}

impl Obj {
    fn kind(&self) -> &str {
        str_at(&self.value, &["kind"]).unwrap_or("")
    }
    fn name(&self) -> &str {
        str_at(&self.value, &["metadata", "name"]).unwrap_or("")
    }
    fn namespace(&self) -> &str {
        str_at(&self.value, &["metadata", "namespace"]).unwrap_or("default")
    }
    fn tags(&self) -> Vec<(String, String)> {
        let mut tags = pairs(self.value.pointer("/metadata/annotations"));
        tags.extend(pairs(self.value.pointer("/metadata/labels")));
        tags
    }
}

/// A ClusterRole: its rules, labels, aggregation selectors and where it came from.
type ClusterRole = (Vec<Rule>, Vec<(String, String)>, Vec<Value>, String);

/// One RBAC rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Rule {
    groups: Vec<String>,
    resources: Vec<String>,
    verbs: Vec<String>,
    names: Vec<String>,
}

impl Rule {
    fn parse(v: &Value) -> Option<Rule> {
        let verbs = strings(v.get("verbs"));
        let resources = strings(v.get("resources"));
        if verbs.is_empty() || resources.is_empty() {
            // Non-resource URL rules grant nothing an attacker can escalate with here.
            return None;
        }
        Some(Rule {
            groups: strings(v.get("apiGroups")),
            resources,
            verbs,
            names: strings(v.get("resourceNames")),
        })
    }

    fn verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == "*" || v == verb)
    }

    fn any_verb(&self, verbs: &[&str]) -> bool {
        verbs.iter().any(|v| self.verb(v))
    }

    fn group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == "*" || g == group)
    }

    /// Whether the rule covers `resource` (which may be `resource/subresource`).
    fn resource(&self, resource: &str) -> bool {
        self.resources.iter().any(|r| {
            r == "*"
                || r == resource
                || (r.starts_with("*/")
                    && resource
                        .split_once('/')
                        .is_some_and(|(_, sub)| r.get(2..) == Some(sub)))
        })
    }

    fn covers(&self, group: &str, resource: &str, verbs: &[&str]) -> bool {
        self.group(group) && self.resource(resource) && self.any_verb(verbs)
    }

    fn named(&self, name: &str) -> bool {
        self.names.is_empty() || self.names.iter().any(|n| n == name)
    }

    fn describe(&self) -> String {
        let groups: Vec<&str> = self
            .groups
            .iter()
            .map(|g| if g.is_empty() { "core" } else { g.as_str() })
            .collect();
        let mut s = format!(
            "verbs [{}] on [{}] in API groups [{}]",
            self.verbs.join(", "),
            self.resources.join(", "),
            groups.join(", ")
        );
        if !self.names.is_empty() {
            s.push_str(&format!(" named [{}]", self.names.join(", ")));
        }
        s
    }
}

const RBAC: &str = "rbac.authorization.k8s.io";
const WRITE: &[&str] = &["create", "update", "patch"];
const READ: &[&str] = &["get", "list", "watch"];
const WORKLOAD_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "ReplicationController",
];
/// Controllers that create pods on a caller's behalf: creating one is creating a pod.
const POD_CREATORS: &[(&str, &str)] = &[
    ("", "pods"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("", "replicationcontrollers"),
];
const SYSTEM_NAMESPACES: &[&str] = &["kube-system"];

/// Built-in ClusterRoles, used when the inputs bind one without defining it (a manifest
/// repository rarely contains them; a `kubectl get clusterroles` export does and wins).
fn builtin_cluster_role(name: &str) -> Option<Vec<Rule>> {
    let r = |groups: &[&str], resources: &[&str], verbs: &[&str]| Rule {
        groups: groups.iter().map(|s| s.to_string()).collect(),
        resources: resources.iter().map(|s| s.to_string()).collect(),
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        names: Vec::new(),
    };
    let all = &[
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    let workloads = &[
        "pods",
        "pods/exec",
        "pods/attach",
        "pods/portforward",
        "deployments",
        "statefulsets",
        "daemonsets",
        "replicasets",
        "jobs",
        "cronjobs",
        "replicationcontrollers",
        "services",
        "configmaps",
        "secrets",
        "persistentvolumeclaims",
        "serviceaccounts",
    ];
    match name {
        "cluster-admin" => Some(vec![r(&["*"], &["*"], &["*"])]),
        "admin" => Some(vec![
            r(&["", "apps", "batch"], workloads, all),
            r(&[""], &["serviceaccounts"], &["impersonate"]),
            r(&[RBAC], &["roles", "rolebindings"], all),
        ]),
        "edit" => Some(vec![
            r(&["", "apps", "batch"], workloads, all),
            r(&[""], &["serviceaccounts"], &["impersonate"]),
        ]),
        "view" => Some(vec![r(
            &["", "apps", "batch"],
            &[
                "pods",
                "deployments",
                "statefulsets",
                "daemonsets",
                "replicasets",
                "jobs",
                "cronjobs",
                "services",
                "configmaps",
                "persistentvolumeclaims",
                "serviceaccounts",
            ],
            READ,
        )]),
        _ => None,
    }
}

/// Does this label selector (`matchLabels` + `matchExpressions`) select these labels?
fn selects(selector: &Value, labels: &[(String, String)]) -> bool {
    let get = |k: &str| {
        labels
            .iter()
            .find(|(lk, _)| lk == k)
            .map(|(_, v)| v.as_str())
    };
    if let Some(Value::Object(m)) = selector.get("matchLabels") {
        for (k, v) in m {
            if get(k) != v.as_str() {
                return false;
            }
        }
    }
    for expr in list(selector.get("matchExpressions")) {
        let key = str_at(expr, &["key"]).unwrap_or("");
        let values = strings(expr.get("values"));
        let ok = match str_at(expr, &["operator"]).unwrap_or("") {
            "In" => get(key).is_some_and(|v| values.iter().any(|x| x == v)),
            "NotIn" => get(key).is_none_or(|v| !values.iter().any(|x| x == v)),
            "Exists" => get(key).is_some(),
            "DoesNotExist" => get(key).is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    // An empty selector (`{}`) selects everything, as label selectors do.
    true
}

struct Keys<'a> {
    cluster: &'a str,
}

impl Keys<'_> {
    fn system(&self) -> String {
        format!("k8s:{}", self.cluster)
    }
    fn sa(&self, ns: &str, name: &str) -> String {
        format!("k8s:{}:serviceaccount:{ns}/{name}", self.cluster)
    }
    fn user(&self, name: &str) -> String {
        format!("k8s:{}:user:{name}", self.cluster)
    }
    fn group(&self, name: &str) -> String {
        format!("k8s:{}:group:{name}", self.cluster)
    }
    fn role(&self, ns: &str, name: &str) -> String {
        format!("k8s:{}:role:{ns}/{name}", self.cluster)
    }
    fn cluster_role(&self, name: &str, scope: Option<&str>) -> String {
        match scope {
            None => format!("k8s:{}:clusterrole:{name}", self.cluster),
            Some(ns) => format!("k8s:{}:clusterrole:{name}@{ns}", self.cluster),
        }
    }
    fn resource(&self, scope: Option<&str>, group: &str, resource: &str) -> String {
        let g = if group.is_empty() { "core" } else { group };
        format!(
            "k8s:{}:resource:{}:{g}/{resource}",
            self.cluster,
            scope.unwrap_or("*")
        )
    }
    fn capability(&self, what: &str, scope: Option<&str>) -> String {
        match scope {
            None => format!("k8s:{}:capability:{what}", self.cluster),
            Some(ns) => format!("k8s:{}:capability:{what}@{ns}", self.cluster),
        }
    }
    fn secret(&self, ns: &str, name: &str) -> String {
        format!("k8s:{}:secret:{ns}/{name}", self.cluster)
    }
    fn token(&self, ns: &str, name: &str) -> String {
        format!("k8s:{}:token:{ns}/{name}", self.cluster)
    }
    fn workload(&self, ns: &str, kind: &str, name: &str) -> String {
        format!(
            "k8s:{}:workload:{ns}/{}/{name}",
            self.cluster,
            kind.to_ascii_lowercase()
        )
    }
}

pub(crate) fn discover(inputs: &[Input], options: &Options) -> Result<Discovery, DiscoverError> {
    let cluster = options
        .system
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let keys = Keys { cluster: &cluster };
    let system = keys.system();
    let mut out = Emitter::new(format!("kubernetes:{cluster}"));
    out.node(NodeSpec::new(
        &system,
        NodeKind::System,
        format!("Kubernetes cluster {cluster}"),
    ));

    // 1. Every object, lists flattened.
    let mut objects: Vec<Obj> = Vec::new();
    for input in inputs {
        for (d, doc) in documents(input)?.into_iter().enumerate() {
            let base = format!("{}#{}", input.name, d + 1);
            collect(&mut objects, doc, base, &mut out);
        }
    }

    // 2. Service accounts.
    let mut sas_by_ns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut sa_automount: HashMap<String, bool> = HashMap::new();
    for obj in objects.iter().filter(|o| o.kind() == "ServiceAccount") {
        let (ns, name) = (obj.namespace(), obj.name());
        if name.is_empty() {
            out.skipped(format!(
                "{}: ServiceAccount without metadata.name",
                obj.from
            ));
            continue;
        }
        let key = keys.sa(ns, name);
        add_sa(&mut out, &keys, ns, name, Some(obj));
        sas_by_ns
            .entry(ns.to_string())
            .or_default()
            .push(key.clone());
        if let Some(Value::Bool(b)) = obj.value.get("automountServiceAccountToken") {
            sa_automount.insert(key, *b);
        }
    }

    // 3. Secrets: every Secret is a location; service-account token Secrets hold a credential.
    let mut secrets_by_ns: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for obj in objects.iter().filter(|o| o.kind() == "Secret") {
        let (ns, name) = (obj.namespace(), obj.name());
        let loc = keys.secret(ns, name);
        out.node(
            NodeSpec::new(&loc, NodeKind::Location, format!("Secret {ns}/{name}"))
                .in_system(&system),
        );
        secrets_by_ns
            .entry(ns.to_string())
            .or_default()
            .push((name.to_string(), loc.clone()));
        if str_at(&obj.value, &["type"]) == Some("kubernetes.io/service-account-token") {
            let Some(sa_name) = str_at(
                &obj.value,
                &[
                    "metadata",
                    "annotations",
                    "kubernetes.io/service-account.name",
                ],
            ) else {
                out.skipped(format!(
                    "{}: service-account token Secret {ns}/{name} names no service account",
                    obj.from
                ));
                continue;
            };
            let sa = referenced_sa(&mut out, &keys, &mut sas_by_ns, ns, sa_name);
            let token = keys.token(ns, name);
            out.credential(
                DiscoveredCredential {
                    key: token.clone(),
                    external_id: format!("secret/{ns}/{name}"),
                    name: format!("{ns}/{name}"),
                    kind: CredentialKind::Token,
                    identity: Some(sa.clone()),
                    fingerprint: None,
                    active: true,
                    created_at: str_at(&obj.value, &["metadata", "creationTimestamp"]).map(|t| {
                        Sourced::new(
                            t.to_string(),
                            format!("{} metadata.creationTimestamp", obj.from),
                        )
                    }),
                    last_used_at: None,
                    locations: Vec::new(),
                    from: obj.from.clone(),
                },
                NodeSpec::new(
                    &token,
                    NodeKind::Credential,
                    format!("service-account token {ns}/{name}"),
                )
                .in_system(&system),
                &format!("long-lived token of service account {ns}/{sa_name}"),
            );
            out.copy_at(&loc, &token, format!("Secret {ns}/{name} stores the token"));
            out.finding(
                "long-lived-service-account-token",
                Severity::Medium,
                &token,
                format!("Secret {ns}/{name} holds a non-expiring token for service account {ns}/{sa_name}; prefer projected, short-lived tokens"),
                obj.from.clone(),
            );
        }
    }

    // 4. Workloads run as their service account.
    for obj in objects
        .iter()
        .filter(|o| WORKLOAD_KINDS.contains(&o.kind()))
    {
        workload(
            &mut out,
            &keys,
            obj,
            &sa_automount,
            &secrets_by_ns,
            &mut sas_by_ns,
        );
    }

    // 5. Roles and ClusterRoles, aggregation resolved.
    let mut roles: HashMap<String, (Vec<Rule>, String)> = HashMap::new();
    let mut cluster_roles: BTreeMap<String, ClusterRole> = BTreeMap::new();
    for obj in &objects {
        let rules: Vec<Rule> = list(obj.value.get("rules"))
            .iter()
            .filter_map(Rule::parse)
            .collect();
        match obj.kind() {
            "Role" => {
                roles.insert(
                    format!("{}/{}", obj.namespace(), obj.name()),
                    (rules, obj.from.clone()),
                );
            }
            "ClusterRole" => {
                let selectors =
                    list(obj.value.pointer("/aggregationRule/clusterRoleSelectors")).to_vec();
                let labels = pairs(obj.value.pointer("/metadata/labels"));
                cluster_roles.insert(
                    obj.name().to_string(),
                    (rules, labels, selectors, obj.from.clone()),
                );
            }
            _ => {}
        }
    }
    aggregate(&mut cluster_roles);

    // 6. Bindings: first every service account they name (so pod-create and impersonation
    // edges reach them), then the grants.
    for obj in objects
        .iter()
        .filter(|o| o.kind() == "RoleBinding" || o.kind() == "ClusterRoleBinding")
    {
        for subject in list(obj.value.get("subjects")) {
            let name = str_at(subject, &["name"]).unwrap_or("");
            if str_at(subject, &["kind"]) == Some("ServiceAccount") && !name.is_empty() {
                let sns = str_at(subject, &["namespace"]).unwrap_or(obj.namespace());
                referenced_sa(&mut out, &keys, &mut sas_by_ns, sns, name);
            }
        }
    }
    let mut groups_seen: BTreeSet<String> = BTreeSet::new();
    // What each service account is granted, rule by rule, for granted-versus-used.
    let mut granted: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for obj in objects
        .iter()
        .filter(|o| o.kind() == "RoleBinding" || o.kind() == "ClusterRoleBinding")
    {
        let cluster_wide = obj.kind() == "ClusterRoleBinding";
        let ns = obj.namespace();
        let scope = (!cluster_wide).then_some(ns);
        let ref_kind = str_at(&obj.value, &["roleRef", "kind"]).unwrap_or("");
        let ref_name = str_at(&obj.value, &["roleRef", "name"]).unwrap_or("");
        let binding = format!(
            "{} {}{}",
            obj.kind(),
            if cluster_wide {
                String::new()
            } else {
                format!("{ns}/")
            },
            obj.name()
        );
        let (policy, rules, label) = match ref_kind {
            "Role" if !cluster_wide => {
                let key = keys.role(ns, ref_name);
                let rules = roles
                    .get(&format!("{ns}/{ref_name}"))
                    .map(|(r, _)| r.clone());
                (key, rules, format!("Role {ns}/{ref_name}"))
            }
            "ClusterRole" => {
                let key = keys.cluster_role(ref_name, scope);
                let rules = cluster_roles
                    .get(ref_name)
                    .map(|(r, ..)| r.clone())
                    .or_else(|| builtin_cluster_role(ref_name));
                let label = match scope {
                    None => format!("ClusterRole {ref_name}"),
                    Some(ns) => format!("ClusterRole {ref_name} in namespace {ns}"),
                };
                (key, rules, label)
            }
            _ => {
                out.skipped(format!("{}: {binding} has an invalid roleRef", obj.from));
                continue;
            }
        };
        let Some(rules) = rules else {
            out.skipped(format!("{}: {binding} refers to {label}, which the inputs do not define; its permissions are unknown", obj.from));
            continue;
        };
        if !out.has_node(&policy) {
            out.node(NodeSpec::new(&policy, NodeKind::Policy, &label).in_system(&system));
            grant(
                &mut out,
                &keys,
                &policy,
                &rules,
                scope,
                &sas_by_ns,
                &secrets_by_ns,
            );
        }
        for subject in list(obj.value.get("subjects")) {
            let name = str_at(subject, &["name"]).unwrap_or("");
            if name.is_empty() {
                continue;
            }
            let holder = match str_at(subject, &["kind"]).unwrap_or("") {
                "ServiceAccount" => {
                    let sns = str_at(subject, &["namespace"]).unwrap_or(ns);
                    referenced_sa(&mut out, &keys, &mut sas_by_ns, sns, name)
                }
                "User" if name.starts_with("system:serviceaccount:") => {
                    // A service account named as a user: `system:serviceaccount:<ns>:<name>`.
                    let rest = name.trim_start_matches("system:serviceaccount:");
                    let Some((sns, sname)) = rest.split_once(':') else {
                        continue;
                    };
                    referenced_sa(&mut out, &keys, &mut sas_by_ns, sns, sname)
                }
                "User" => {
                    let key = keys.user(name);
                    out.node(
                        NodeSpec::new(&key, NodeKind::Identity, format!("user {name}"))
                            .in_system(&system),
                    );
                    key
                }
                "Group" => {
                    let key = keys.group(name);
                    out.node(
                        NodeSpec::new(&key, NodeKind::Group, format!("group {name}"))
                            .in_system(&system),
                    );
                    groups_seen.insert(name.to_string());
                    key
                }
                _ => continue,
            };
            if str_at(subject, &["kind"]) == Some("ServiceAccount")
                || name.starts_with("system:serviceaccount:")
            {
                let list = granted.entry(holder.clone()).or_default();
                for rule in &rules {
                    if list.len() >= crate::GRANTED_MAX {
                        break;
                    }
                    list.push(rule_statement(rule, &label, scope));
                }
            }
            out.edge(
                &holder,
                EdgeKind::HasPolicy,
                &policy,
                format!("{binding} binds {label}"),
            );
        }
    }
    for (holder, statements) in granted {
        if let Some(identity) = out.identity_mut(&holder) {
            identity.attributes.insert(
                crate::GRANTED_ATTRIBUTE.to_string(),
                Sourced::new(
                    Value::Array(statements),
                    "RoleBindings and ClusterRoleBindings",
                ),
            );
        }
    }

    // 7. Group membership the API server implies.
    for group in &groups_seen {
        let gkey = keys.group(group);
        if group == "system:masters" {
            let cap = keys.capability("system-masters", None);
            out.node(
                NodeSpec::new(&cap, NodeKind::Capability, "bypass RBAC (system:masters)")
                    .in_system(&system)
                    .management_plane(
                        "members of system:masters bypass RBAC authorisation entirely",
                    ),
            );
            out.edge(
                &gkey,
                EdgeKind::HasAccessTo,
                &cap,
                "the API server grants system:masters every permission",
            );
        }
        let members: Vec<String> = match group.as_str() {
            "system:serviceaccounts" | "system:authenticated" => {
                sas_by_ns.values().flatten().cloned().collect()
            }
            g => match g.strip_prefix("system:serviceaccounts:") {
                Some(ns) => sas_by_ns.get(ns).cloned().unwrap_or_default(),
                None => Vec::new(),
            },
        };
        for sa in members {
            out.edge(
                &sa,
                EdgeKind::MemberOf,
                &gkey,
                format!("every service account is in group {group}"),
            );
        }
    }

    Ok(out.finish())
}

/// One RBAC rule as granted-versus-used reads it: actions `<verb> <group>/<resource>` (the core
/// group as `core`, `*` kept), resources `<namespace>/<name>` (`*` for any).
fn rule_statement(rule: &Rule, label: &str, scope: Option<&str>) -> Value {
    let mut actions = Vec::new();
    for verb in &rule.verbs {
        for group in &rule.groups {
            let group = if group.is_empty() { "core" } else { group };
            for resource in &rule.resources {
                actions.push(format!("{verb} {group}/{resource}"));
            }
        }
    }
    let ns = scope.unwrap_or("*");
    let resources: Vec<String> = if rule.names.is_empty() {
        vec![format!("{ns}/*")]
    } else {
        rule.names.iter().map(|n| format!("{ns}/{n}")).collect()
    };
    serde_json::json!({"policy": label, "actions": actions, "resources": resources})
}

/// Flattens `List` objects (`kubectl get … -o yaml`) into their items.
fn collect(objects: &mut Vec<Obj>, value: Value, from: String, out: &mut Emitter) {
    let kind = str_at(&value, &["kind"]).unwrap_or("").to_string();
    if kind == "List" || (kind.ends_with("List") && value.get("items").is_some()) {
        let item_kind = kind
            .strip_suffix("List")
            .filter(|k| !k.is_empty())
            .map(str::to_string);
        if let Some(Value::Array(items)) = value.get("items") {
            for (i, mut item) in items.iter().cloned().enumerate() {
                // `kubectl get serviceaccounts -o json` items carry their kind; typed lists
                // fetched through the API may not.
                if item.get("kind").is_none()
                    && let (Some(k), Some(obj)) = (&item_kind, item.as_object_mut())
                {
                    obj.insert("kind".into(), Value::String(k.clone()));
                }
                collect(objects, item, format!("{from} items[{i}]"), out);
            }
        }
        return;
    }
    if kind.is_empty() {
        out.skipped(format!("{from}: not a Kubernetes object (no kind)"));
        return;
    }
    objects.push(Obj { from, value });
}

/// The key of a service account a binding, workload or token names, added (with no manifest, so
/// unowned) when the inputs do not define it.
fn referenced_sa(
    out: &mut Emitter,
    keys: &Keys,
    sas_by_ns: &mut BTreeMap<String, Vec<String>>,
    ns: &str,
    name: &str,
) -> String {
    let key = keys.sa(ns, name);
    if !out.has_node(&key) {
        add_sa(out, keys, ns, name, None);
        sas_by_ns
            .entry(ns.to_string())
            .or_default()
            .push(key.clone());
    }
    key
}

fn add_sa(out: &mut Emitter, keys: &Keys, ns: &str, name: &str, obj: Option<&Obj>) {
    let key = keys.sa(ns, name);
    let (mut owner, mut purpose, mut environment, mut created_at) = (None, None, None, None);
    let mut attributes = BTreeMap::new();
    let from = obj.map_or_else(
        || "referenced by a binding, workload or token".to_string(),
        |o| o.from.clone(),
    );
    if let Some(obj) = obj {
        let (o, p, e) = tagged(&obj.tags(), &format!("{} metadata", obj.from));
        owner = o;
        purpose = p;
        environment = e;
        created_at = str_at(&obj.value, &["metadata", "creationTimestamp"]).map(|t| {
            Sourced::new(
                t.to_string(),
                format!("{} metadata.creationTimestamp", obj.from),
            )
        });
        irsa(out, &key, &obj.tags(), &obj.from);
        if let Some(b) = obj.value.get("automountServiceAccountToken") {
            attributes.insert(
                "automount_token".to_string(),
                Sourced::new(
                    b.clone(),
                    format!("{} automountServiceAccountToken", obj.from),
                ),
            );
        }
    }
    attributes.insert(
        "namespace".to_string(),
        Sourced::new(Value::String(ns.to_string()), from.clone()),
    );
    if environment.is_none() {
        environment = Some(Sourced::new(ns.to_string(), format!("{from} (namespace)")));
    }
    out.identity(
        DiscoveredIdentity {
            key: key.clone(),
            external_id: format!("serviceaccount/{ns}/{name}"),
            name: format!("{ns}/{name}"),
            kind: IdentityKind::ServiceAccount,
            source_kind: "kubernetes-service-account".to_string(),
            system: keys.system(),
            owner,
            purpose,
            environment,
            created_at,
            last_used_at: None,
            attributes,
        },
        NodeSpec::new(
            &key,
            NodeKind::Identity,
            format!("service account {ns}/{name}"),
        )
        .in_system(keys.system()),
    );
}

/// EKS IAM roles for service accounts: the `eks.amazonaws.com/role-arn` annotation lets the
/// service account's projected token assume the role.
pub(crate) fn irsa(out: &mut Emitter, sa: &str, tags: &[(String, String)], from: &str) {
    if let Some((_, role)) = tags
        .iter()
        .find(|(k, v)| k == "eks.amazonaws.com/role-arn" && v.starts_with("arn:"))
    {
        let rkey = format!("aws:{role}");
        if !out.has_node(&rkey) {
            let account = role.split(':').nth(4).unwrap_or("unknown");
            out.node(
                crate::emit::placeholder(&rkey, NodeKind::Identity)
                    .in_system(format!("aws:{account}")),
            );
        }
        out.edge(sa, EdgeKind::CanAssume, &rkey, format!("annotation eks.amazonaws.com/role-arn ({from}) lets it assume {role} (IAM roles for service accounts)"));
    }
}

fn pod_spec(obj: &Obj) -> Option<&Value> {
    match obj.kind() {
        "Pod" => obj.value.get("spec"),
        "CronJob" => obj.value.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => obj.value.pointer("/spec/template/spec"),
    }
}

fn workload(
    out: &mut Emitter,
    keys: &Keys,
    obj: &Obj,
    sa_automount: &HashMap<String, bool>,
    secrets_by_ns: &BTreeMap<String, Vec<(String, String)>>,
    sas_by_ns: &mut BTreeMap<String, Vec<String>>,
) {
    let Some(spec) = pod_spec(obj) else {
        out.skipped(format!(
            "{}: {} without a pod template",
            obj.from,
            obj.kind()
        ));
        return;
    };
    let (ns, name, kind) = (obj.namespace(), obj.name(), obj.kind());
    let sa_name = str_at(spec, &["serviceAccountName"])
        .or_else(|| str_at(spec, &["serviceAccount"]))
        .unwrap_or("default");
    let sa = referenced_sa(out, keys, sas_by_ns, ns, sa_name);
    let key = keys.workload(ns, kind, name);
    out.node(
        NodeSpec::new(&key, NodeKind::Workload, format!("{kind} {ns}/{name}"))
            .in_system(keys.system()),
    );
    // The pod's setting wins over the service account's; both default to mounting the token.
    let automount = match spec.get("automountServiceAccountToken") {
        Some(Value::Bool(b)) => *b,
        _ => sa_automount.get(&sa).copied().unwrap_or(true),
    };
    if automount {
        out.edge(
            &key,
            EdgeKind::RunsAs,
            &sa,
            format!(
                "{kind} {ns}/{name} runs as service account {ns}/{sa_name} with its token mounted"
            ),
        );
    } else if let Some(i) = out.identity_mut(&sa) {
        i.attributes
            .entry("workloads_without_token".to_string())
            .or_insert_with(|| Sourced::new(Value::Bool(true), obj.from.clone()));
    }
    // Secrets the workload reads (env, envFrom, volumes): it holds whatever they hold.
    let mut used: BTreeSet<String> = BTreeSet::new();
    let containers = list(spec.get("containers"))
        .iter()
        .chain(list(spec.get("initContainers")));
    for c in containers {
        for env in list(c.get("env")) {
            if let Some(s) = str_at(env, &["valueFrom", "secretKeyRef", "name"]) {
                used.insert(s.to_string());
            }
        }
        for env in list(c.get("envFrom")) {
            if let Some(s) = str_at(env, &["secretRef", "name"]) {
                used.insert(s.to_string());
            }
        }
    }
    for vol in list(spec.get("volumes")) {
        if let Some(s) = str_at(vol, &["secret", "secretName"]) {
            used.insert(s.to_string());
        }
        for src in list(vol.pointer("/projected/sources")) {
            if let Some(s) = str_at(src, &["secret", "name"]) {
                used.insert(s.to_string());
            }
        }
    }
    for s in used {
        let loc = keys.secret(ns, &s);
        let known = secrets_by_ns
            .get(ns)
            .is_some_and(|v| v.iter().any(|(n, _)| n == &s));
        if !known {
            out.node(
                NodeSpec::new(&loc, NodeKind::Location, format!("Secret {ns}/{s}"))
                    .in_system(keys.system()),
            );
        }
        out.edge(
            &key,
            EdgeKind::CanRead,
            &loc,
            format!("{kind} {ns}/{name} mounts Secret {ns}/{s}"),
        );
    }
}

/// Resolves `aggregationRule`: an aggregated ClusterRole holds the rules of every ClusterRole its
/// selectors match (repeated until nothing changes, since aggregates can be aggregated).
fn aggregate(roles: &mut BTreeMap<String, ClusterRole>) {
    for _ in 0..8 {
        let mut changed = false;
        let snapshot: BTreeMap<String, ClusterRole> = roles.clone();
        for (name, (rules, _, selectors, _)) in roles.iter_mut() {
            if selectors.is_empty() {
                continue;
            }
            let mut have: BTreeSet<Rule> = rules.iter().cloned().collect();
            for (other, (other_rules, labels, ..)) in &snapshot {
                if other == name || !selectors.iter().any(|s| selects(s, labels)) {
                    continue;
                }
                for r in other_rules {
                    if have.insert(r.clone()) {
                        rules.push(r.clone());
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// The edges one policy (a role in a scope) grants: resource access, capabilities, and the
/// escalation edges to the identities its rules let the holder become.
fn grant(
    out: &mut Emitter,
    keys: &Keys,
    policy: &str,
    rules: &[Rule],
    scope: Option<&str>,
    sas_by_ns: &BTreeMap<String, Vec<String>>,
    secrets_by_ns: &BTreeMap<String, Vec<(String, String)>>,
) {
    let system = keys.system();
    let where_ = scope.map_or_else(
        || "cluster-wide".to_string(),
        |ns| format!("in namespace {ns}"),
    );
    let in_scope_sas: Vec<String> = match scope {
        None => sas_by_ns.values().flatten().cloned().collect(),
        Some(ns) => sas_by_ns.get(ns).cloned().unwrap_or_default(),
    };
    let cap = |out: &mut Emitter, what: &str, label: String, why: String, rule: &Rule| {
        let key = keys.capability(what, scope);
        out.node(
            NodeSpec::new(&key, NodeKind::Capability, &label)
                .in_system(&system)
                .management_plane(&why),
        );
        out.edge(
            policy,
            EdgeKind::HasAccessTo,
            &key,
            format!("{} {where_}", rule.describe()),
        );
    };
    for rule in rules {
        // Plain resource access, one node per (scope, group, resource).
        for group in if rule.groups.is_empty() {
            vec![String::new()]
        } else {
            rule.groups.clone()
        } {
            for resource in &rule.resources {
                let key = keys.resource(scope, &group, resource);
                let g = if group.is_empty() {
                    "core".to_string()
                } else {
                    group.clone()
                };
                out.node(
                    NodeSpec::new(&key, NodeKind::Resource, format!("{g}/{resource} {where_}"))
                        .in_system(&system),
                );
                out.edge(
                    policy,
                    EdgeKind::HasAccessTo,
                    &key,
                    format!("{} {where_}", rule.describe()),
                );
            }
        }
        if rule.groups.iter().any(|g| g == "*")
            && rule.resources.iter().any(|r| r == "*")
            && rule.verbs.iter().any(|v| v == "*")
        {
            cap(
                out,
                "all",
                format!("every verb on every resource {where_}"),
                format!("every verb on every resource {where_} (cluster-admin)"),
                rule,
            );
        }
        if rule.covers(RBAC, "roles", &["escalate"])
            || rule.covers(RBAC, "clusterroles", &["escalate"])
        {
            cap(
                out,
                "rbac-escalate",
                format!("escalate RBAC roles {where_}"),
                format!("`escalate` lets it grant permissions it does not hold {where_}"),
                rule,
            );
        }
        if rule.covers(RBAC, "roles", &["bind"]) || rule.covers(RBAC, "clusterroles", &["bind"]) {
            cap(
                out,
                "rbac-bind",
                format!("bind any role {where_}"),
                format!("`bind` lets it bind roles with permissions it does not hold {where_}"),
                rule,
            );
        }
        if [
            "roles",
            "clusterroles",
            "rolebindings",
            "clusterrolebindings",
        ]
        .iter()
        .any(|r| rule.covers(RBAC, r, WRITE))
        {
            cap(
                out,
                "rbac-write",
                format!("create or change roles and bindings {where_}"),
                format!("can create or change RBAC roles and bindings {where_}"),
                rule,
            );
        }
        // Impersonating users or groups (cluster-scoped: any of them, `system:masters` included)
        // or every service account in the cluster is management-plane; impersonating the service
        // accounts of one namespace is an escalation to those accounts (edges below).
        let people = ["users", "groups", "uids", "userextras/*"].iter().any(|r| {
            rule.covers("", r, &["impersonate"])
                || rule.covers("authentication.k8s.io", r, &["impersonate"])
        });
        if people || (scope.is_none() && rule.covers("", "serviceaccounts", &["impersonate"])) {
            cap(
                out,
                "impersonate",
                format!("impersonate {where_}"),
                format!(
                    "`impersonate` lets it act as other users, groups or service accounts {where_}"
                ),
                rule,
            );
        }
        if rule.covers("", "serviceaccounts", &["impersonate"]) {
            for sa in &in_scope_sas {
                if rule.named(sa.rsplit('/').next().unwrap_or("")) {
                    out.edge(
                        policy,
                        EdgeKind::CanImpersonate,
                        sa,
                        format!(
                            "may impersonate service accounts {where_}: {}",
                            rule.describe()
                        ),
                    );
                }
            }
        }
        if rule.covers("", "secrets", READ) {
            if scope.is_none() && rule.names.is_empty() {
                cap(
                    out,
                    "read-all-secrets",
                    "read every secret in the cluster".to_string(),
                    "can read every Secret in every namespace, including service-account tokens"
                        .to_string(),
                    rule,
                );
            }
            let secrets: Vec<&(String, String)> = match scope {
                None => secrets_by_ns.values().flatten().collect(),
                Some(ns) => secrets_by_ns
                    .get(ns)
                    .map(|v| v.iter().collect())
                    .unwrap_or_default(),
            };
            for (name, loc) in secrets {
                if rule.named(name) {
                    out.edge(
                        policy,
                        EdgeKind::CanRead,
                        loc,
                        format!("may read Secrets {where_}: {}", rule.describe()),
                    );
                }
            }
        }
        // `create` cannot be narrowed by resourceNames: a rule that tries grants no create. Changing
        // an existing controller's pod template (or adding an ephemeral container) runs code as
        // the account too.
        let pod_create = (rule.names.is_empty()
            && POD_CREATORS
                .iter()
                .any(|(g, r)| rule.covers(g, r, &["create"])))
            || POD_CREATORS
                .iter()
                .filter(|(_, r)| *r != "pods")
                .any(|(g, r)| rule.covers(g, r, &["update", "patch"]))
            || rule.covers("", "pods/ephemeralcontainers", &["update", "patch"]);
        let exec = rule.covers("", "pods/exec", &["create", "get"])
            || rule.covers("", "pods/attach", &["create", "get"]);
        if pod_create || exec {
            let how = if pod_create {
                "create pods (directly or through a controller)"
            } else {
                "exec into pods"
            };
            if scope.is_none_or(|ns| SYSTEM_NAMESPACES.contains(&ns)) {
                cap(
                    out,
                    "system-pods",
                    format!("{how} in kube-system"),
                    format!(
                        "can {how} in kube-system, whose service accounts and nodes run the control plane"
                    ),
                    rule,
                );
            }
            for sa in &in_scope_sas {
                out.edge(
                    policy,
                    EdgeKind::CanRunAs,
                    sa,
                    format!(
                        "can {how} {where_}, running as any service account there: {}",
                        rule.describe()
                    ),
                );
            }
        }
        if rule.covers("", "serviceaccounts/token", &["create"]) {
            for sa in &in_scope_sas {
                if rule.named(sa.rsplit('/').next().unwrap_or("")) {
                    out.edge(
                        policy,
                        EdgeKind::CanCreateCredentialFor,
                        sa,
                        format!(
                            "can mint tokens for service accounts {where_}: {}",
                            rule.describe()
                        ),
                    );
                }
            }
        }
        if rule.covers("", "nodes/proxy", &["get", "create", "*"]) {
            cap(out, "nodes-proxy", "reach kubelets through nodes/proxy".to_string(), "`nodes/proxy` reaches the kubelet API: exec in any pod on the node, bypassing admission and audit".to_string(), rule);
        }
        if rule.covers(
            "certificates.k8s.io",
            "certificatesigningrequests/approval",
            &["update", "patch"],
        ) || rule.covers("certificates.k8s.io", "signers", &["approve"])
        {
            cap(
                out,
                "csr-approve",
                "approve certificate signing requests".to_string(),
                "can approve CSRs: mint client certificates for any user or node".to_string(),
                rule,
            );
        }
        if [
            "validatingwebhookconfigurations",
            "mutatingwebhookconfigurations",
            "validatingadmissionpolicies",
            "validatingadmissionpolicybindings",
        ]
        .iter()
        .any(|r| rule.covers("admissionregistration.k8s.io", r, WRITE))
        {
            cap(out, "admission-webhooks", "configure admission control".to_string(), "can configure admission webhooks or policies: intercept or rewrite every object written to the cluster".to_string(), rule);
        }
    }
}
