//! The Terraform connector: state files (format version 4, as `terraform show -json` is not —
//! this reads `terraform.tfstate` itself). IAM users, groups, roles, policies, attachments and
//! instance profiles are rebuilt into the shape of an IAM authorization-details export and judged
//! by the AWS analysis, so the same tiers and escalation paths come out; access keys, Kubernetes
//! service accounts, generated passwords and keys, and every other secret sitting in state (by the
//! provider's `sensitive_attributes` and a list of known secret attributes) become credentials
//! whose only recorded copy is the state file. Values are fingerprinted and dropped on the spot.

use std::collections::{BTreeMap, HashMap};

use holdfast_core::{CredentialKind, Fingerprint, IdentityKind};
use holdfast_graph::{NodeKind, NodeSpec};
use serde_json::{Map, Value, json};

use crate::aws;
use crate::emit::{Emitter, tagged};
use crate::yaml::{list, pairs, str_at, strings};
use crate::{
    DiscoverError, DiscoveredCredential, DiscoveredIdentity, Discovery, Input, Options, Severity,
    Sourced,
};

/// Attributes that hold a secret, by resource type, with the kind of credential and severity.
const KNOWN_SECRETS: &[(&str, &str, CredentialKind, Severity)] = &[
    (
        "aws_iam_access_key",
        "secret",
        CredentialKind::AccessKey,
        Severity::Critical,
    ),
    (
        "aws_iam_access_key",
        "ses_smtp_password_v4",
        CredentialKind::Password,
        Severity::High,
    ),
    (
        "aws_iam_user_login_profile",
        "password",
        CredentialKind::Password,
        Severity::High,
    ),
    (
        "aws_db_instance",
        "password",
        CredentialKind::Password,
        Severity::High,
    ),
    (
        "aws_rds_cluster",
        "master_password",
        CredentialKind::Password,
        Severity::High,
    ),
    (
        "aws_secretsmanager_secret_version",
        "secret_string",
        CredentialKind::Other,
        Severity::High,
    ),
    (
        "aws_ssm_parameter",
        "value",
        CredentialKind::Other,
        Severity::Medium,
    ),
    (
        "random_password",
        "result",
        CredentialKind::Password,
        Severity::Medium,
    ),
    (
        "tls_private_key",
        "private_key_pem",
        CredentialKind::PrivateKey,
        Severity::High,
    ),
    (
        "tls_private_key",
        "private_key_openssh",
        CredentialKind::PrivateKey,
        Severity::High,
    ),
    (
        "google_service_account_key",
        "private_key",
        CredentialKind::PrivateKey,
        Severity::Critical,
    ),
    (
        "azuread_application_password",
        "value",
        CredentialKind::OauthClientSecret,
        Severity::Critical,
    ),
    (
        "azuread_service_principal_password",
        "value",
        CredentialKind::OauthClientSecret,
        Severity::Critical,
    ),
    (
        "github_actions_secret",
        "plaintext_value",
        CredentialKind::Other,
        Severity::High,
    ),
    (
        "kubernetes_secret",
        "data",
        CredentialKind::Other,
        Severity::High,
    ),
    (
        "kubernetes_secret_v1",
        "data",
        CredentialKind::Other,
        Severity::High,
    ),
    (
        "vault_generic_secret",
        "data_json",
        CredentialKind::Other,
        Severity::High,
    ),
    (
        "databricks_token",
        "token_value",
        CredentialKind::Token,
        Severity::High,
    ),
];

/// One resource instance: address and attributes.
#[derive(Debug)]
struct Instance<'a> {
    /// A data source (read, not managed): only its secrets count.
    data: bool,
    kind: &'a str,
    address: String,
    attrs: &'a Value,
    sensitive: Vec<Vec<String>>,
}

pub(crate) fn discover(inputs: &[Input], options: &Options) -> Result<Discovery, DiscoverError> {
    let mut out: Option<Emitter> = None;
    for input in inputs {
        let text = std::str::from_utf8(&input.bytes).map_err(|_| DiscoverError::Parse {
            input: input.name.clone(),
            message: "not UTF-8 text".into(),
        })?;
        let state: Value = serde_json::from_str(text).map_err(|e| DiscoverError::Parse {
            input: input.name.clone(),
            message: format!(
                "not a Terraform state file: invalid JSON at line {} column {}",
                e.line(),
                e.column()
            ),
        })?;
        match state.get("version").and_then(Value::as_u64) {
            Some(4) => {}
            Some(v) => {
                return Err(DiscoverError::Field {
                    input: input.name.clone(),
                    field: "version".into(),
                    message: format!(
                        "state format version {v} is not supported; expected 4 (Terraform 0.12 and later)"
                    ),
                });
            }
            None => {
                return Err(DiscoverError::Field {
                    input: input.name.clone(),
                    field: "version".into(),
                    message: "missing: not a Terraform state file".into(),
                });
            }
        }
        let file = input.name.rsplit(['/', '\\']).next().unwrap_or(&input.name);
        let lineage = str_at(&state, &["lineage"]).unwrap_or(file).to_string();
        let emitter = out.get_or_insert_with(|| Emitter::new(format!("terraform:{lineage}")));
        ingest(emitter, input, &state, &lineage, options);
    }
    Ok(out.map(Emitter::finish).unwrap_or_default())
}

fn instances(state: &Value) -> Vec<Instance<'_>> {
    let mut result = Vec::new();
    for r in list(state.get("resources")) {
        // Data sources are read, not managed, but what they read sits in state too
        // (`data.aws_secretsmanager_secret_version`, `data.aws_ssm_parameter`).
        let data = match str_at(r, &["mode"]) {
            Some("managed") => false,
            Some("data") => true,
            _ => continue,
        };
        let kind = str_at(r, &["type"]).unwrap_or("");
        let name = str_at(r, &["name"]).unwrap_or("");
        let module = str_at(r, &["module"])
            .map(|m| format!("{m}."))
            .unwrap_or_default();
        for inst in list(r.get("instances")) {
            let index = match inst.get("index_key") {
                Some(Value::String(s)) => format!("[\"{s}\"]"),
                Some(Value::Number(n)) => format!("[{n}]"),
                _ => String::new(),
            };
            let sensitive = list(inst.get("sensitive_attributes"))
                .iter()
                .map(|path| match path {
                    // A path is a list of steps: {"type": "get_attr" | "index", "value": …}.
                    Value::Array(steps) => steps
                        .iter()
                        .map(|s| match s.get("value") {
                            Some(Value::String(v)) => v.clone(),
                            Some(v) => v.to_string(),
                            None => String::new(),
                        })
                        .collect(),
                    _ => Vec::new(),
                })
                .collect();
            if let Some(attrs) = inst.get("attributes") {
                result.push(Instance {
                    data,
                    kind,
                    address: format!(
                        "{module}{}{kind}.{name}{index}",
                        if data { "data." } else { "" }
                    ),
                    attrs,
                    sensitive,
                });
            }
        }
    }
    result
}

fn ingest(out: &mut Emitter, input: &Input, state: &Value, lineage: &str, options: &Options) {
    let all = instances(state);
    // Identities and policies come from managed resources; secrets from both.
    let insts: Vec<&Instance> = all.iter().filter(|i| !i.data).collect();
    let location = format!("tf:state:{lineage}");
    out.node(NodeSpec::new(
        &location,
        NodeKind::Location,
        format!("Terraform state {}", input.name),
    ));

    // IAM, rebuilt as an authorization-details export.
    let mut users: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut roles: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut groups: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut policies: Vec<Value> = Vec::new();
    let tag_list = |v: Option<&Value>| -> Value {
        Value::Array(
            pairs(v)
                .into_iter()
                .map(|(k, v)| json!({"Key": k, "Value": v}))
                .collect(),
        )
    };
    for i in &insts {
        let a = i.attrs;
        let name = str_at(a, &["name"]).unwrap_or("").to_string();
        match i.kind {
            "aws_iam_user" => {
                users.insert(name.clone(), json!({"UserName": name, "Arn": a.get("arn"), "Path": a.get("path"), "Tags": tag_list(a.get("tags")), "UserPolicyList": [], "AttachedManagedPolicies": [], "GroupList": []}).as_object().cloned().unwrap_or_default());
            }
            "aws_iam_role" => {
                // Policies declared on the role itself (`inline_policy` blocks and
                // `managed_policy_arns`) count like separate attachment resources.
                let inline: Vec<Value> = list(a.get("inline_policy"))
                    .iter()
                    .filter(|p| str_at(p, &["policy"]).is_some_and(|d| !d.is_empty()))
                    .map(|p| json!({"PolicyName": str_at(p, &["name"]).unwrap_or("inline"), "PolicyDocument": p.get("policy")}))
                    .collect();
                let managed: Vec<Value> = strings(a.get("managed_policy_arns"))
                    .into_iter()
                    .map(|arn| json!({"PolicyArn": arn}))
                    .collect();
                roles.insert(name.clone(), json!({"RoleName": name, "Arn": a.get("arn"), "Path": a.get("path"), "Description": a.get("description"), "CreateDate": a.get("create_date"), "AssumeRolePolicyDocument": a.get("assume_role_policy"), "Tags": tag_list(a.get("tags")), "RolePolicyList": inline, "AttachedManagedPolicies": managed, "InstanceProfileList": []}).as_object().cloned().unwrap_or_default());
            }
            "aws_iam_group" => {
                groups.insert(name.clone(), json!({"GroupName": name, "Arn": a.get("arn"), "GroupPolicyList": [], "AttachedManagedPolicies": []}).as_object().cloned().unwrap_or_default());
            }
            "aws_iam_policy" => policies.push(json!({"PolicyName": name, "Arn": a.get("arn"), "DefaultVersionId": "v1", "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": true, "Document": a.get("policy")}]})),
            _ => {}
        }
    }
    let push =
        |map: &mut BTreeMap<String, Map<String, Value>>, owner: &str, field: &str, v: Value| {
            if let Some(Value::Array(items)) = map.get_mut(owner).and_then(|o| o.get_mut(field)) {
                items.push(v);
            }
        };
    for i in &insts {
        let a = i.attrs;
        let s = |k: &str| str_at(a, &[k]).unwrap_or("").to_string();
        match i.kind {
            "aws_iam_role_policy" => push(
                &mut roles,
                &s("role"),
                "RolePolicyList",
                json!({"PolicyName": s("name"), "PolicyDocument": a.get("policy")}),
            ),
            "aws_iam_user_policy" => push(
                &mut users,
                &s("user"),
                "UserPolicyList",
                json!({"PolicyName": s("name"), "PolicyDocument": a.get("policy")}),
            ),
            "aws_iam_group_policy" => push(
                &mut groups,
                &s("group"),
                "GroupPolicyList",
                json!({"PolicyName": s("name"), "PolicyDocument": a.get("policy")}),
            ),
            "aws_iam_role_policy_attachment" => push(
                &mut roles,
                &s("role"),
                "AttachedManagedPolicies",
                json!({"PolicyArn": s("policy_arn")}),
            ),
            "aws_iam_user_policy_attachment" => push(
                &mut users,
                &s("user"),
                "AttachedManagedPolicies",
                json!({"PolicyArn": s("policy_arn")}),
            ),
            "aws_iam_group_policy_attachment" => push(
                &mut groups,
                &s("group"),
                "AttachedManagedPolicies",
                json!({"PolicyArn": s("policy_arn")}),
            ),
            "aws_iam_policy_attachment" => {
                for u in strings(a.get("users")) {
                    push(
                        &mut users,
                        &u,
                        "AttachedManagedPolicies",
                        json!({"PolicyArn": s("policy_arn")}),
                    );
                }
                for r in strings(a.get("roles")) {
                    push(
                        &mut roles,
                        &r,
                        "AttachedManagedPolicies",
                        json!({"PolicyArn": s("policy_arn")}),
                    );
                }
                for g in strings(a.get("groups")) {
                    push(
                        &mut groups,
                        &g,
                        "AttachedManagedPolicies",
                        json!({"PolicyArn": s("policy_arn")}),
                    );
                }
            }
            "aws_iam_user_group_membership" => {
                for g in strings(a.get("groups")) {
                    push(&mut users, &s("user"), "GroupList", Value::String(g));
                }
            }
            "aws_iam_group_membership" => {
                for u in strings(a.get("users")) {
                    push(&mut users, &u, "GroupList", Value::String(s("group")));
                }
            }
            "aws_iam_instance_profile" => push(
                &mut roles,
                &s("role"),
                "InstanceProfileList",
                json!({"InstanceProfileName": s("name")}),
            ),
            _ => {}
        }
    }
    let user_arns: HashMap<String, String> = users
        .iter()
        .filter_map(|(n, u)| Some((n.clone(), u.get("Arn")?.as_str()?.to_string())))
        .collect();
    let account = users
        .values()
        .chain(roles.values())
        .chain(groups.values())
        .find_map(|p| {
            p.get("Arn")
                .and_then(Value::as_str)
                .and_then(aws::account_of_arn)
                .map(str::to_string)
        });
    if !(users.is_empty() && roles.is_empty() && groups.is_empty() && policies.is_empty()) {
        let details = json!({
            "UserDetailList": users.into_values().map(Value::Object).collect::<Vec<_>>(),
            "RoleDetailList": roles.into_values().map(Value::Object).collect::<Vec<_>>(),
            "GroupDetailList": groups.into_values().map(Value::Object).collect::<Vec<_>>(),
            "Policies": policies,
        });
        aws::ingest(
            out,
            &input.name,
            &details,
            account.as_deref().unwrap_or("unknown"),
            options.now,
        );
    }
    let account = account.unwrap_or_else(|| "unknown".to_string());

    // Kubernetes service accounts.
    for i in insts.iter().filter(|i| {
        i.kind == "kubernetes_service_account" || i.kind == "kubernetes_service_account_v1"
    }) {
        let Some(meta) = list(i.attrs.get("metadata")).first() else {
            continue;
        };
        let name = str_at(meta, &["name"]).unwrap_or("");
        let ns = str_at(meta, &["namespace"]).unwrap_or("default");
        let mut tags = pairs(meta.get("annotations"));
        tags.extend(pairs(meta.get("labels")));
        let from = format!("{} {}", input.name, i.address);
        let (owner, purpose, environment) = tagged(&tags, &format!("{from} metadata"));
        let key = format!("k8s:default:serviceaccount:{ns}/{name}");
        out.identity(
            DiscoveredIdentity {
                key: key.clone(),
                external_id: format!("serviceaccount/{ns}/{name}"),
                name: format!("{ns}/{name}"),
                kind: IdentityKind::ServiceAccount,
                source_kind: "kubernetes-service-account".into(),
                system: "k8s:default".into(),
                owner,
                purpose,
                environment: environment.or_else(|| {
                    Some(Sourced::new(
                        ns.to_string(),
                        format!("{from} metadata.namespace"),
                    ))
                }),
                created_at: None,
                last_used_at: None,
                attributes: BTreeMap::from([(
                    "managed_by".to_string(),
                    Sourced::new(
                        Value::String(format!("terraform {}", i.address)),
                        from.clone(),
                    ),
                )]),
            },
            NodeSpec::new(
                &key,
                NodeKind::Identity,
                format!("service account {ns}/{name}"),
            )
            .in_system("k8s:default"),
        );
        crate::kubernetes::irsa(out, &key, &tags, &from);
    }

    // Secrets in state, managed resources and data sources alike.
    for i in &all {
        let from = format!("{} {}", input.name, i.address);
        let mut found: Vec<(String, String, CredentialKind, Severity)> = Vec::new();
        for (kind, attr, ckind, sev) in KNOWN_SECRETS {
            if *kind != i.kind {
                continue;
            }
            if i.kind == "aws_ssm_parameter" && str_at(i.attrs, &["type"]) != Some("SecureString") {
                continue;
            }
            for (path, value) in values_at(i.attrs, attr) {
                found.push((path, value, *ckind, *sev));
            }
        }
        for path in &i.sensitive {
            if path.iter().any(|step| step.contains("hash")) {
                continue; // a hash of a secret is not the secret
            }
            for (p, value) in values_at_path(i.attrs, path) {
                if found.iter().any(|(q, ..)| {
                    *q == p || p.starts_with(&format!("{q}.")) || p.starts_with(&format!("{q}["))
                }) {
                    continue;
                }
                found.push((p, value, CredentialKind::Other, Severity::High));
            }
        }
        for (path, value, kind, severity) in found {
            if value.is_empty() {
                continue;
            }
            let fingerprint = Fingerprint::of_secret(value.as_bytes()).to_string();
            drop(value);
            let mut external_id = format!("{}.{path}", i.address);
            let (key, identity, name) = if i.kind == "aws_iam_access_key" && path == "secret" {
                let id = str_at(i.attrs, &["id"]).unwrap_or("");
                let user = str_at(i.attrs, &["user"]).unwrap_or("");
                let arn = user_arns
                    .get(user)
                    .cloned()
                    .unwrap_or_else(|| format!("arn:aws:iam::{account}:user/{user}"));
                external_id = id.to_string();
                (
                    format!("aws:access-key:{id}"),
                    Some(format!("aws:{arn}")).filter(|k| out.has_node(k)),
                    format!("access key {id} of {user}"),
                )
            } else {
                // Keyed by fingerprint: the same value elsewhere (an output, an env file) is the same
                // credential with another copy.
                (
                    format!("secret:{fingerprint}"),
                    None,
                    format!("{}.{path}", i.address),
                )
            };
            let active = str_at(i.attrs, &["status"]) != Some("Inactive");
            out.credential(
                DiscoveredCredential {
                    key: key.clone(),
                    external_id,
                    name: name.clone(),
                    kind,
                    identity,
                    fingerprint: Some(fingerprint),
                    active,
                    created_at: str_at(i.attrs, &["create_date"])
                        .map(|d| Sourced::new(d.to_string(), format!("{from}.create_date"))),
                    last_used_at: None,
                    locations: Vec::new(),
                    from: from.clone(),
                },
                NodeSpec::new(&key, NodeKind::Credential, name.clone()),
                &format!("{name}, created by Terraform"),
            );
            out.copy_at(
                &location,
                &key,
                format!("{} stores {path} in plain text", input.name),
            );
            out.finding("secret-in-state", severity, &key, format!("Terraform state holds {name} ({path}) in plain text; anyone who can read the state has it"), from.clone());
        }
    }

    // Sensitive outputs.
    if let Some(Value::Object(outputs)) = state.get("outputs") {
        for (name, o) in outputs {
            if o.get("sensitive") != Some(&Value::Bool(true)) {
                continue;
            }
            let Some(value) = o
                .get("value")
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
            else {
                continue;
            };
            let fingerprint = Fingerprint::of_secret(value.as_bytes()).to_string();
            let key = format!("secret:{fingerprint}");
            out.credential(
                DiscoveredCredential {
                    key: key.clone(),
                    external_id: format!("output.{name}"),
                    name: format!("output {name}"),
                    kind: CredentialKind::Other,
                    identity: None,
                    fingerprint: Some(fingerprint),
                    active: true,
                    created_at: None,
                    last_used_at: None,
                    locations: Vec::new(),
                    from: format!("{}#outputs.{name}", input.name),
                },
                NodeSpec::new(
                    &key,
                    NodeKind::Credential,
                    format!("Terraform output {name}"),
                ),
                "",
            );
            out.copy_at(
                &location,
                &key,
                format!("{} stores sensitive output {name}", input.name),
            );
            out.finding(
                "secret-in-state",
                Severity::Medium,
                &key,
                format!("Terraform state holds the sensitive output {name} in plain text"),
                format!("{}#outputs.{name}", input.name),
            );
        }
    }
}

/// String values at a sensitive path (`kube_config[0].client_key`): the value itself, or each
/// string entry of a map or list there. Steps are attribute names or list indexes.
fn values_at_path(attrs: &Value, path: &[String]) -> Vec<(String, String)> {
    let mut at = attrs;
    let mut name = String::new();
    for step in path {
        let next = match at {
            Value::Object(m) => {
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(step);
                m.get(step)
            }
            Value::Array(a) => {
                name.push_str(&format!("[{step}]"));
                step.parse::<usize>().ok().and_then(|i| a.get(i))
            }
            _ => None,
        };
        match next {
            Some(v) => at = v,
            None => return Vec::new(),
        }
    }
    match at {
        Value::String(s) => vec![(name, s.clone())],
        Value::Object(m) => m
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (format!("{name}.{k}"), s.to_string())))
            .collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_str().map(|s| (format!("{name}[{i}]"), s.to_string())))
            .collect(),
        _ => Vec::new(),
    }
}

/// String values under `attr`: the attribute itself, or each entry of a map or list under it.
fn values_at(attrs: &Value, attr: &str) -> Vec<(String, String)> {
    match attrs.get(attr) {
        Some(Value::String(s)) => vec![(attr.to_string(), s.clone())],
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (format!("{attr}.{k}"), s.to_string())))
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_str().map(|s| (format!("{attr}[{i}]"), s.to_string())))
            .collect(),
        _ => Vec::new(),
    }
}
