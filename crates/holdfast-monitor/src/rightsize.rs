//! Granted versus used: which granted permissions an identity did not use in a window, and a
//! right-sized policy built from what it did use — an IAM policy document for AWS, a Role (or a
//! ClusterRole, when it acted across namespaces) for Kubernetes — with a line diff a reviewer can
//! read.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::classify::action_matches;
use crate::detect::ActionUse;

/// One permission an identity holds: action patterns on a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grant {
    pub resource: String,
    pub actions: Vec<String>,
    pub granted_by: String,
}

/// A granted pattern nothing used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unused {
    pub action: String,
    pub resource: String,
    pub granted_by: String,
}

/// An action used in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Used {
    pub action: String,
    pub count: u64,
    /// Unix seconds.
    pub last: i64,
    /// Resources it was used on; empty with `any_resource` when there were too many to list.
    pub resources: Vec<String>,
    pub any_resource: bool,
    /// Whether some grant covers it (false: the inventory misses what allowed it).
    pub granted: bool,
}

/// The comparison and the proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rightsizing {
    pub window_days: i64,
    pub used: Vec<Used>,
    pub unused: Vec<Unused>,
    /// `aws`, `kubernetes`, or `none` when nothing was used.
    pub flavour: String,
    /// The proposed policy: an IAM policy document, or a Kubernetes Role/ClusterRole.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub proposed: serde_json::Value,
    /// `-` granted and unused, `+` proposed, ` ` kept.
    pub diff: Vec<String>,
}

/// Compares `grants` with `actions` used since `now - window_days`.
pub fn rightsize(
    name: &str,
    grants: &[Grant],
    actions: &BTreeMap<String, ActionUse>,
    now: i64,
    window_days: i64,
) -> Rightsizing {
    let since = now - window_days * 86_400;
    let used: Vec<Used> = actions
        .iter()
        .filter(|(_, u)| u.last >= since)
        .map(|(a, u)| Used {
            action: a.clone(),
            count: u.count,
            last: u.last,
            resources: u.resources.iter().cloned().collect(),
            any_resource: u.any_resource || u.resources.is_empty(),
            granted: grants
                .iter()
                .any(|g| g.actions.iter().any(|p| action_matches(p, a))),
        })
        .collect();
    let mut unused = vec![];
    let mut diff = vec![];
    for g in grants {
        for p in &g.actions {
            let hit = used.iter().any(|u| action_matches(p, &u.action));
            if hit {
                diff.push(format!("  allow {p} on {} ({})", g.resource, g.granted_by));
            } else {
                diff.push(format!("- allow {p} on {} ({})", g.resource, g.granted_by));
                unused.push(Unused {
                    action: p.clone(),
                    resource: g.resource.clone(),
                    granted_by: g.granted_by.clone(),
                });
            }
        }
    }
    let k8s = used.iter().any(|u| u.action.contains(' '));
    let aws = used
        .iter()
        .any(|u| !u.action.contains(' ') && !u.action.starts_with("holdfast:"));
    let (flavour, proposed) = if k8s && !aws {
        ("kubernetes", kubernetes_role(name, &used))
    } else if aws {
        ("aws", iam_document(&used))
    } else {
        ("none", json!(null))
    };
    for u in &used {
        let on = if u.any_resource {
            "*".to_string()
        } else {
            u.resources.join(", ")
        };
        diff.push(format!(
            "+ allow {} on {on} (used {} times)",
            u.action, u.count
        ));
    }
    Rightsizing {
        window_days,
        used,
        unused,
        flavour: flavour.into(),
        proposed,
        diff,
    }
}

fn iam_document(used: &[Used]) -> serde_json::Value {
    // One statement per distinct resource set.
    let mut by_resources: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for u in used
        .iter()
        .filter(|u| !u.action.contains(' ') && !u.action.starts_with("holdfast:"))
    {
        // Console sign-in is not an IAM action; it needs a login profile, not a policy.
        if u.action.starts_with("signin:") {
            continue;
        }
        let resources = if u.any_resource {
            vec!["*".to_string()]
        } else {
            u.resources
                .iter()
                .filter(|r| r.starts_with("arn:"))
                .cloned()
                .collect::<Vec<_>>()
        };
        let resources = if resources.is_empty() {
            vec!["*".to_string()]
        } else {
            resources
        };
        by_resources
            .entry(resources)
            .or_default()
            .push(u.action.clone());
    }
    let statements: Vec<_> = by_resources
        .into_iter()
        .enumerate()
        .map(|(i, (resources, actions))| {
            let resource = if resources.len() == 1 {
                json!(resources.first())
            } else {
                json!(resources)
            };
            json!({"Sid": format!("Used{}", i + 1), "Effect": "Allow", "Action": actions, "Resource": resource})
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Verbs, resource names, and whether any name was used.
type Rule = (BTreeSet<String>, BTreeSet<String>, bool);

fn kubernetes_role(name: &str, used: &[Used]) -> serde_json::Value {
    // verb group/resource[/sub] → rules keyed by (group, resource, names).
    let mut rules: BTreeMap<(String, String), Rule> = BTreeMap::new();
    let mut namespaces = BTreeSet::new();
    for u in used {
        let Some((verb, what)) = u.action.split_once(' ') else {
            continue;
        };
        let Some((group, resource)) = what.split_once('/') else {
            continue;
        };
        let group = if group == "core" { "" } else { group };
        let entry = rules
            .entry((group.to_string(), resource.to_string()))
            .or_default();
        entry.0.insert(verb.to_string());
        if u.any_resource {
            entry.2 = true;
        }
        for r in &u.resources {
            let (ns, n) = r.split_once('/').unwrap_or(("", r));
            if !ns.is_empty() {
                namespaces.insert(ns.to_string());
            }
            if n == "*" || n.is_empty() {
                entry.2 = true;
            } else {
                entry.1.insert(n.to_string());
            }
        }
    }
    let rules: Vec<_> = rules
        .into_iter()
        .map(|((group, resource), (verbs, names, any))| {
            let mut rule = json!({"apiGroups": [group], "resources": [resource], "verbs": verbs});
            // resourceNames cannot restrict list, watch or create.
            let restrictable = !verbs
                .iter()
                .any(|v| matches!(v.as_str(), "list" | "watch" | "create" | "deletecollection"));
            if !any
                && !names.is_empty()
                && restrictable
                && let Some(obj) = rule.as_object_mut()
            {
                obj.insert("resourceNames".into(), json!(names));
            }
            rule
        })
        .collect();
    let role_name = format!("{}-rightsized", name.rsplit('/').next().unwrap_or(name));
    if namespaces.len() == 1 {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": role_name, "namespace": namespaces.first()}, "rules": rules})
    } else {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": role_name}, "rules": rules})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uses(items: &[(&str, &[&str])]) -> BTreeMap<String, ActionUse> {
        items
            .iter()
            .map(|(a, rs)| {
                (
                    a.to_string(),
                    ActionUse {
                        count: 3,
                        first: 100,
                        last: 1_000_000,
                        resources: rs.iter().map(|r| r.to_string()).collect(),
                        any_resource: false,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn aws_unused_grants_and_a_document_of_what_was_used() {
        let grants = vec![Grant {
            resource: "*".into(),
            actions: vec!["s3:*".into(), "iam:*".into()],
            granted_by: "policy PowerUser".into(),
        }];
        let used = uses(&[("s3:GetObject", &["arn:aws:s3:::bucket/key"])]);
        let r = rightsize("app", &grants, &used, 1_000_000, 90);
        assert_eq!(r.flavour, "aws");
        assert_eq!(r.unused.len(), 1);
        assert_eq!(r.unused[0].action, "iam:*");
        assert_eq!(
            r.proposed["Statement"][0]["Action"],
            json!(["s3:GetObject"])
        );
        assert_eq!(
            r.proposed["Statement"][0]["Resource"],
            json!("arn:aws:s3:::bucket/key")
        );
        assert!(r.diff.iter().any(|l| l.starts_with("- allow iam:*")));
        assert!(r.used[0].granted);
    }

    #[test]
    fn kubernetes_role_in_one_namespace() {
        let used = uses(&[
            ("get core/secrets", &["payments/db"]),
            ("list core/configmaps", &["payments/*"]),
        ]);
        let r = rightsize("serviceaccount/payments/api", &[], &used, 1_000_000, 90);
        assert_eq!(r.flavour, "kubernetes");
        assert_eq!(r.proposed["kind"], "Role");
        assert_eq!(r.proposed["metadata"]["namespace"], "payments");
        let rules = r.proposed["rules"].as_array().unwrap();
        let secrets = rules
            .iter()
            .find(|x| x["resources"][0] == "secrets")
            .unwrap();
        assert_eq!(secrets["resourceNames"], json!(["db"]));
        assert!(!r.used[0].granted);
    }

    #[test]
    fn old_use_falls_outside_the_window() {
        let used = uses(&[("s3:GetObject", &[])]);
        let r = rightsize("app", &[], &used, 1_000_000 + 200 * 86_400, 90);
        assert!(r.used.is_empty());
        assert_eq!(r.flavour, "none");
    }
}
