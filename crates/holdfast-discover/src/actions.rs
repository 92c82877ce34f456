//! The GitHub Actions connector: workflow files (`.github/workflows/*.yml`). Each job is a CI
//! identity: the secrets it references (`${{ secrets.NAME }}`, workflow-level `env`, `secrets:
//! inherit`), what its `GITHUB_TOKEN` may do (`permissions:` at workflow and job level, `write-all`,
//! the default when absent), the triggers it runs on (`pull_request_target` and `workflow_run` run
//! with secrets on code an outsider controls), OIDC (`id-token: write`) and the cloud identities it
//! assumes with it (AWS `role-to-assume`, Google `service_account`, Azure `client-id`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use holdfast_core::{CredentialKind, IdentityKind};
use holdfast_graph::{EdgeKind, NodeKind, NodeSpec};
use regex::Regex;
use serde_json::Value;

use crate::emit::{Emitter, placeholder};
use crate::yaml::{documents, list, str_at};
use crate::{
    DiscoverError, DiscoveredCredential, DiscoveredIdentity, Discovery, Input, Options, Severity,
    Sourced,
};

fn secret_refs() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"secrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\[\s*['"]([^'"]+)['"]\s*\])"#)
            .ok()
    })
    .as_ref()
}

/// Commands that change infrastructure, including IAM, RBAC and policy, from CI.
const DEPLOY_COMMANDS: &[(&str, &str)] = &[
    ("terraform apply", "terraform apply"),
    ("terraform destroy", "terraform destroy"),
    ("tofu apply", "tofu apply"),
    ("terragrunt apply", "terragrunt apply"),
    ("pulumi up", "pulumi up"),
    ("cdk deploy", "cdk deploy"),
    ("aws cloudformation deploy", "aws cloudformation deploy"),
    ("aws iam ", "aws iam"),
    ("kubectl apply", "kubectl apply"),
    ("kubectl create", "kubectl create"),
    ("helm upgrade", "helm upgrade"),
    ("helm install", "helm install"),
    (
        "gcloud projects add-iam-policy-binding",
        "gcloud add-iam-policy-binding",
    ),
    ("az role assignment", "az role assignment"),
];
const DEPLOY_ACTIONS: &[&str] = &[
    "hashicorp/terraform-github-actions",
    "dflook/terraform-apply",
    "pulumi/actions",
    "aws-actions/aws-cloudformation-github-deploy",
    "azure/k8s-deploy",
    "azure/arm-deploy",
];
/// `GITHUB_TOKEN` scopes whose write access changes the repository or what it ships.
const WRITE_SCOPES: &[&str] = &[
    "actions",
    "checks",
    "contents",
    "deployments",
    "id-token",
    "issues",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
    "attestations",
];

/// The token permissions in force: `None` when nothing is declared (the repository default).
fn permissions(v: Option<&Value>) -> Option<BTreeMap<String, String>> {
    match v? {
        Value::String(s) if s == "write-all" => Some(
            WRITE_SCOPES
                .iter()
                .map(|k| (k.to_string(), "write".to_string()))
                .collect(),
        ),
        Value::String(s) if s == "read-all" => Some(
            WRITE_SCOPES
                .iter()
                .filter(|k| **k != "id-token")
                .map(|k| (k.to_string(), "read".to_string()))
                .collect(),
        ),
        Value::Object(m) => Some(
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect(),
        ),
        Value::Null => Some(BTreeMap::new()),
        _ => Some(BTreeMap::new()),
    }
}

fn triggers(on: Option<&Value>) -> Vec<String> {
    match on {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The repository a workflow path belongs to: `<dir>` in `<dir>/.github/workflows/x.yml`.
fn repo_from_path(path: &str) -> Option<String> {
    let norm = path.replace('\\', "/");
    let (before, _) = norm.split_once(".github/workflows/")?;
    let dir = before.trim_end_matches('/').rsplit('/').next()?;
    (!dir.is_empty() && dir != ".").then(|| dir.to_string())
}

pub(crate) fn discover(inputs: &[Input], options: &Options) -> Result<Discovery, DiscoverError> {
    let repo = options
        .system
        .clone()
        .or_else(|| inputs.iter().find_map(|i| repo_from_path(&i.name)))
        .unwrap_or_else(|| "repository".to_string());
    let system = format!("github:{repo}");
    let mut out = Emitter::new(format!("github-actions:{repo}"));
    out.node(NodeSpec::new(
        &system,
        NodeKind::System,
        format!("GitHub repository {repo}"),
    ));
    let store = format!("github:{repo}:actions-secrets");
    out.node(
        NodeSpec::new(
            &store,
            NodeKind::Location,
            format!("Actions secrets of {repo}"),
        )
        .in_system(&system),
    );

    for input in inputs {
        let docs = documents(input)?;
        let Some(doc) = docs.first() else {
            out.skipped(format!("{}: empty", input.name));
            continue;
        };
        let Some(Value::Object(jobs)) = doc.get("jobs") else {
            return Err(DiscoverError::Field {
                input: input.name.clone(),
                field: "jobs".into(),
                message: "a workflow needs a `jobs` mapping".into(),
            });
        };
        let file = input
            .name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&input.name)
            .to_string();
        let workflow_name = str_at(doc, &["name"]).unwrap_or(&file).to_string();
        let on = triggers(doc.get("on").or_else(|| doc.get("true")));
        let untrusted: Vec<&str> = on
            .iter()
            .map(String::as_str)
            .filter(|t| *t == "pull_request_target" || *t == "workflow_run")
            .collect();
        let workflow_perms = permissions(doc.get("permissions"));
        let workflow_env_secrets = referenced(doc.get("env"));

        for (job_id, job) in jobs {
            let from = format!("{}#jobs.{job_id}", input.name);
            let key = format!("gha:{repo}:{file}:{job_id}");
            let perms = permissions(job.get("permissions")).or_else(|| workflow_perms.clone());
            let mut secrets: BTreeSet<String> = referenced(Some(job));
            secrets.extend(workflow_env_secrets.iter().cloned());
            let inherits = job.get("secrets").and_then(Value::as_str) == Some("inherit")
                || secrets.remove("*");
            let environment = match job.get("environment") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(v) => str_at(v, &["name"]).map(str::to_string),
                None => None,
            };
            let token_writes: Vec<String> = match &perms {
                Some(p) => p
                    .iter()
                    .filter(|(_, v)| *v == "write")
                    .map(|(k, _)| k.clone())
                    .collect(),
                None => vec!["(repository default)".to_string()],
            };
            let oidc = perms
                .as_ref()
                .is_some_and(|p| p.get("id-token").map(String::as_str) == Some("write"));

            let mut attributes = BTreeMap::new();
            attributes.insert(
                "workflow".into(),
                Sourced::new(Value::String(workflow_name.clone()), input.name.clone()),
            );
            attributes.insert(
                "triggers".into(),
                Sourced::new(Value::from(on.clone()), format!("{}#on", input.name)),
            );
            attributes.insert(
                "secrets".into(),
                Sourced::new(
                    Value::from(secrets.iter().cloned().collect::<Vec<_>>()),
                    from.clone(),
                ),
            );
            attributes.insert(
                "token_permissions".into(),
                Sourced::new(
                    perms
                        .as_ref()
                        .map_or(Value::String("repository default".into()), |p| {
                            serde_json::to_value(p).unwrap_or(Value::Null)
                        }),
                    format!("{from}.permissions"),
                ),
            );
            if inherits {
                attributes.insert(
                    "secrets_inherit".into(),
                    Sourced::new(Value::Bool(true), format!("{from}.secrets")),
                );
            }
            out.identity(
                DiscoveredIdentity {
                    key: key.clone(),
                    external_id: format!("{file}:{job_id}"),
                    name: format!("{workflow_name} / {job_id}"),
                    kind: IdentityKind::CiJob,
                    source_kind: "github-actions-job".to_string(),
                    system: system.clone(),
                    owner: None,
                    purpose: str_at(job, &["name"])
                        .map(|n| Sourced::new(n.to_string(), format!("{from}.name"))),
                    environment: environment
                        .clone()
                        .map(|e| Sourced::new(e, format!("{from}.environment"))),
                    created_at: None,
                    last_used_at: None,
                    attributes,
                },
                NodeSpec::new(
                    &key,
                    NodeKind::Identity,
                    format!("job {job_id} of workflow {workflow_name}"),
                )
                .in_system(&system),
            );

            // Secrets it holds.
            for name in &secrets {
                if name == "GITHUB_TOKEN" {
                    continue;
                }
                let ckey = format!("github:{repo}:secret:{name}");
                out.credential(
                    DiscoveredCredential {
                        key: ckey.clone(),
                        external_id: format!("secret/{name}"),
                        name: name.clone(),
                        kind: kind_of_secret(name),
                        identity: None,
                        fingerprint: None,
                        active: true,
                        created_at: None,
                        last_used_at: None,
                        locations: Vec::new(),
                        from: from.clone(),
                    },
                    NodeSpec::new(
                        &ckey,
                        NodeKind::Credential,
                        format!("Actions secret {name}"),
                    )
                    .in_system(&system),
                    "",
                );
                out.copy_at(
                    &store,
                    &ckey,
                    format!("stored as an Actions secret of {repo}"),
                );
                out.edge(
                    &key,
                    EdgeKind::CanRead,
                    &ckey,
                    format!("job {job_id} references secrets.{name}"),
                );
            }
            if !token_writes.is_empty() {
                out.edge(
                    &key,
                    EdgeKind::CanDeployTo,
                    &system,
                    format!("its GITHUB_TOKEN can write: {}", token_writes.join(", ")),
                );
            }

            // Cloud identities assumed through OIDC or keys.
            let steps = list(job.get("steps"));
            let mut cloud = false;
            for (i, step) in steps.iter().enumerate() {
                let uses = str_at(step, &["uses"]).unwrap_or("").to_ascii_lowercase();
                let with = step.get("with");
                if uses.starts_with("aws-actions/configure-aws-credentials") {
                    cloud = true;
                    if let Some(role) = with
                        .and_then(|w| str_at(w, &["role-to-assume"]))
                        .filter(|r| r.starts_with("arn:"))
                    {
                        let rkey = format!("aws:{role}");
                        if !out.has_node(&rkey) {
                            out.node(
                                placeholder(&rkey, NodeKind::Identity).in_system(
                                    role.split(':').nth(4).map_or_else(
                                        || "aws:unknown".into(),
                                        |a| format!("aws:{a}"),
                                    ),
                                ),
                            );
                        }
                        let how = if oidc {
                            "with its OIDC token (id-token: write)"
                        } else if with.and_then(|w| w.get("aws-access-key-id")).is_some() {
                            "with static access keys"
                        } else {
                            "(id-token: write is not granted, so OIDC will fail)"
                        };
                        out.edge(
                            &key,
                            EdgeKind::CanAssume,
                            &rkey,
                            format!("step {i} assumes {role} {how}"),
                        );
                    }
                } else if uses.starts_with("google-github-actions/auth") {
                    cloud = true;
                    if let Some(sa) = with.and_then(|w| str_at(w, &["service_account"])) {
                        let skey = format!("gcp:serviceaccount:{sa}");
                        out.node(
                            NodeSpec::new(
                                &skey,
                                NodeKind::Identity,
                                format!("Google service account {sa}"),
                            )
                            .in_system(
                                sa.split('@').nth(1).map_or_else(
                                    || "gcp:unknown".into(),
                                    |d| {
                                        format!(
                                            "gcp:{}",
                                            d.trim_end_matches(".iam.gserviceaccount.com")
                                        )
                                    },
                                ),
                            ),
                        );
                        out.edge(
                            &key,
                            EdgeKind::CanAssume,
                            &skey,
                            format!(
                                "step {i} authenticates as {sa}{}",
                                if oidc {
                                    " through workload identity federation"
                                } else {
                                    ""
                                }
                            ),
                        );
                    }
                } else if uses.starts_with("azure/login") {
                    cloud = true;
                    if let Some(client) = with.and_then(|w| str_at(w, &["client-id"])) {
                        let akey = format!("azure:application:{client}");
                        out.node(
                            NodeSpec::new(
                                &akey,
                                NodeKind::Identity,
                                format!("Azure application {client}"),
                            )
                            .in_system("azure"),
                        );
                        out.edge(
                            &key,
                            EdgeKind::CanAssume,
                            &akey,
                            format!("step {i} signs in to Azure as application {client}"),
                        );
                    }
                }
            }
            if secrets.iter().any(|s| {
                s.starts_with("AWS_")
                    || s.contains("GOOGLE")
                    || s.contains("AZURE")
                    || s.contains("KUBECONFIG")
                    || s.contains("GCP")
            }) {
                cloud = true;
            }

            // Infrastructure deploys with cloud credentials: the CI job administers what they reach.
            let job_text = job.to_string().to_ascii_lowercase();
            let deploy = DEPLOY_COMMANDS
                .iter()
                .find(|(needle, _)| job_text.contains(needle))
                .map(|(_, name)| *name)
                .or_else(|| {
                    steps.iter().find_map(|s| {
                        let uses = str_at(s, &["uses"]).unwrap_or("").to_ascii_lowercase();
                        DEPLOY_ACTIONS
                            .iter()
                            .find(|a| uses.starts_with(**a))
                            .copied()
                    })
                });
            if let Some(tool) = deploy
                && (cloud || !secrets.is_empty())
            {
                let cap = format!("github:{repo}:capability:infrastructure-deploy");
                out.node(
                    NodeSpec::new(&cap, NodeKind::Capability, format!("deploy infrastructure from {repo}"))
                        .in_system(&system)
                        .management_plane(format!("CI in {repo} applies infrastructure code ({tool}) with cloud credentials: whoever changes that code or the job can change IAM, RBAC and policy")),
                );
                out.edge(
                    &key,
                    EdgeKind::HasAccessTo,
                    &cap,
                    format!("job {job_id} runs `{tool}` with credentials"),
                );
            }

            // Findings.
            let sees_secrets = !secrets.iter().all(|s| s == "GITHUB_TOKEN")
                || inherits
                || token_writes.iter().any(|w| w != "id-token")
                || oidc;
            if !untrusted.is_empty() && sees_secrets {
                let checks_out_head = job_text.contains("github.event.pull_request.head")
                    || job_text.contains("github.head_ref")
                    || job_text.contains("github.event.workflow_run.head");
                let (severity, extra) = if checks_out_head {
                    (
                        Severity::Critical,
                        " and checks out the untrusted head: any pull request can run code with them",
                    )
                } else {
                    (Severity::High, "")
                };
                out.finding(
                    "untrusted-trigger-with-secrets",
                    severity,
                    &key,
                    format!(
                        "job {job_id} runs on {} with secrets or a writable token{extra}",
                        untrusted.join(" and ")
                    ),
                    from.clone(),
                );
            }
            if perms.is_none() {
                out.finding("default-token-permissions", Severity::Low, &key, format!("job {job_id} declares no `permissions:`; its GITHUB_TOKEN gets the repository default, which may be read-write"), from.clone());
            }
            if inherits {
                out.finding("secrets-inherited", Severity::Medium, &key, format!("job {job_id} passes every repository secret to a reusable workflow (`secrets: inherit`)"), format!("{from}.secrets"));
            }
        }
    }
    Ok(out.finish())
}

/// Secret names referenced anywhere under `v` (`${{ secrets.NAME }}`, `secrets['NAME']`).
fn referenced(v: Option<&Value>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if let Some(v) = v {
        collect_refs(v, &mut names);
    }
    names
}

/// Secret references inside `${{ … }}` expressions of every string under `v`. Names are
/// case-insensitive on GitHub, so they are upper-cased; `toJSON(secrets)` hands over all of them
/// and is recorded as `*`.
fn collect_refs(v: &Value, names: &mut BTreeSet<String>) {
    match v {
        Value::String(text) => {
            let Some(re) = secret_refs() else { return };
            let mut rest = text.as_str();
            while let Some(start) = rest.find("${{") {
                let after = rest.get(start + 3..).unwrap_or("");
                let end = after.find("}}").unwrap_or(after.len());
                let expr = after.get(..end).unwrap_or("");
                for c in re.captures_iter(expr) {
                    if let Some(m) = c.get(1).or_else(|| c.get(2)) {
                        names.insert(m.as_str().to_ascii_uppercase());
                    }
                }
                let compact: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
                if compact.to_ascii_lowercase().contains("tojson(secrets)") {
                    names.insert("*".to_string());
                }
                rest = after.get(end..).unwrap_or("");
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, names)),
        Value::Object(map) => map.values().for_each(|i| collect_refs(i, names)),
        _ => {}
    }
}

fn kind_of_secret(name: &str) -> CredentialKind {
    let n = name.to_ascii_uppercase();
    if n.contains("ACCESS_KEY") {
        CredentialKind::AccessKey
    } else if n.contains("PASSWORD") || n.contains("PASSWD") {
        CredentialKind::Password
    } else if n.contains("PRIVATE_KEY") || n.contains("SSH_KEY") {
        CredentialKind::PrivateKey
    } else if n.contains("TOKEN") || n.contains("PAT") {
        CredentialKind::Token
    } else if n.contains("API_KEY") || n.contains("APIKEY") {
        CredentialKind::ApiKey
    } else {
        CredentialKind::Other
    }
}
