//! What an identity is granted, gathered from every place the inventory records it: entitlements,
//! the policy statements discovery read (`granted_permissions`), and actions declared on a label.

use holdfast_core::{Entitlement, Identity};
use holdfast_monitor::Grant;

/// The label on which a person declares the actions an identity needs (comma-separated), for
/// identities no connector describes.
pub const DECLARED_ACTIONS: &str = "holdfast.io/declared-actions";

/// Everything `identity` is granted; `entitlements` are its own.
pub fn grants_of<'a>(
    identity: &Identity,
    entitlements: impl IntoIterator<Item = &'a Entitlement>,
) -> Vec<Grant> {
    let mut grants: Vec<Grant> = entitlements
        .into_iter()
        .map(|e| Grant {
            resource: e.resource.clone(),
            actions: e.actions.clone(),
            granted_by: e.granted_by.clone(),
        })
        .collect();
    if let Some(serde_json::Value::Array(statements)) = identity
        .attributes
        .get(holdfast_discover::GRANTED_ATTRIBUTE)
    {
        for st in statements {
            let strings = |k: &str| -> Vec<String> {
                st.get(k)
                    .and_then(|v| v.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let mut by = st
                .get("policy")
                .and_then(|v| v.as_str())
                .unwrap_or("a policy")
                .to_string();
            if let Some(except) = st.get("except").and_then(|v| v.as_str()) {
                by.push_str(&format!(", everything except {except}"));
            }
            if st.get("conditional").and_then(|v| v.as_bool()) == Some(true) {
                by.push_str(", with conditions");
            }
            grants.push(Grant {
                resource: strings("resources").join(", "),
                actions: strings("actions"),
                granted_by: by,
            });
        }
    }
    if let Some(declared) = identity.labels.get(DECLARED_ACTIONS) {
        grants.push(Grant {
            resource: "*".into(),
            actions: declared
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            granted_by: format!("label {DECLARED_ACTIONS}"),
        });
    }
    grants
}
