//! The AWS IAM connector: `aws iam get-account-authorization-details` JSON (users, groups, roles,
//! managed policies with their default versions, inline policies, trust policies, instance
//! profiles, permission boundaries, tags), `aws iam list-access-keys` JSON, and the IAM credential
//! report CSV (`aws iam get-credential-report`, decoded).
//!
//! Permissions are evaluated per principal the way IAM evaluates identity policies: an explicit
//! `Deny` wins, then an `Allow` must match; `Action`/`NotAction`, `Resource`/`NotResource` and
//! `*`/`?` wildcards are honoured; a permission boundary must also allow the action. Conditions are
//! not evaluated: an `Allow` with conditions counts (reach is over- rather than under-estimated,
//! and the edge says so) and a `Deny` with conditions does not. The management-plane capabilities
//! and the known privilege-escalation techniques (after Rhino Security Labs' list, as PMapper
//! models them) are checked for every principal against every other one.

use std::collections::{BTreeMap, HashMap};

use holdfast_core::{CredentialKind, IdentityKind};
use holdfast_graph::{EdgeKind, NodeKind, NodeSpec};
use serde_json::Value;
use time::OffsetDateTime;

use crate::emit::{Emitter, placeholder, tagged};
use crate::yaml::{list, str_at, strings};
use crate::{
    DiscoverError, DiscoveredCredential, DiscoveredIdentity, Discovery, Input, Options, Severity,
    Sourced,
};

/// Case-insensitive glob (`*`, `?`) for actions; case-sensitive for resources.
fn glob(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let same = |a: u8, b: u8| {
        if case_insensitive {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Iterative wildcard match, backtracking only to the last `*`: never exponential, no
    // allocation.
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        match (p.get(pi), t.get(ti)) {
            (Some(b'?'), _) => {
                pi += 1;
                ti += 1;
            }
            (Some(b'*'), _) => {
                star = Some(pi);
                mark = ti;
                pi += 1;
            }
            (Some(&c), Some(&d)) if same(c, d) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some(s) => {
                    pi = s + 1;
                    mark += 1;
                    ti = mark;
                }
                None => return false,
            },
        }
    }
    while p.get(pi) == Some(&b'*') {
        pi += 1;
    }
    pi == p.len()
}

/// Whether a resource pattern covers every resource an action applies to in an account: `*`, or
/// an ARN whose resource part is a wildcard over names (`role/*`, `secret:*`, `key/*`, `*`).
fn broad(pattern: &str, action: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let parts: Vec<&str> = pattern.splitn(6, ':').collect();
    let (Some(service), Some(resource)) = (parts.get(2), parts.get(5)) else {
        return false;
    };
    let action_service = action.split(':').next().unwrap_or("");
    if !glob(service, action_service, true) {
        return false;
    }
    // The kinds of resource names each service's management actions take.
    let probes: &[&str] = match action_service {
        "iam" => &[
            "user/holdfast-probe",
            "role/holdfast-probe",
            "policy/holdfast-probe",
            "group/holdfast-probe",
            "oidc-provider/holdfast-probe",
            "saml-provider/holdfast-probe",
        ],
        "kms" => &["key/holdfast-probe"],
        "secretsmanager" => &["secret:holdfast-probe"],
        "ssm" => &["parameter/holdfast-probe"],
        "cloudtrail" => &["trail/holdfast-probe"],
        "guardduty" => &["detector/holdfast-probe"],
        "organizations" => &[
            "policy/o-holdfastprobe/service_control_policy/p-holdfastprobe",
            "account/o-holdfastprobe/111111111111",
            "root/o-holdfastprobe/r-holdfastprobe",
        ],
        _ => &["holdfast-probe"],
    };
    // `secret:name` has a colon inside the resource part; splitn(6) keeps it together.
    probes.iter().any(|probe| glob(resource, probe, false))
}

/// One policy statement, parsed.
#[derive(Debug, Clone)]
struct Statement {
    allow: bool,
    actions: Vec<String>,
    not_actions: Vec<String>,
    resources: Vec<String>,
    not_resources: Vec<String>,
    conditional: bool,
}

impl Statement {
    fn parse_all(doc: &Value) -> Vec<Statement> {
        let stmts: Vec<&Value> = match doc.get("Statement") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(v @ Value::Object(_)) => vec![v],
            _ => Vec::new(),
        };
        stmts
            .into_iter()
            .map(|s| Statement {
                allow: str_at(s, &["Effect"]) == Some("Allow"),
                actions: strings(s.get("Action")),
                not_actions: strings(s.get("NotAction")),
                resources: strings(s.get("Resource")),
                not_resources: strings(s.get("NotResource")),
                conditional: s
                    .get("Condition")
                    .is_some_and(|c| c.as_object().is_some_and(|m| !m.is_empty())),
            })
            .collect()
    }

    /// The action pattern that matches `action`, if the statement covers it.
    fn action<'a>(&'a self, action: &str) -> Option<&'a str> {
        if !self.not_actions.is_empty() {
            return (!self.not_actions.iter().any(|p| glob(p, action, true)))
                .then_some("NotAction");
        }
        self.actions
            .iter()
            .find(|p| glob(p, action, true))
            .map(String::as_str)
    }

    fn resource<'a>(&'a self, resource: &str) -> Option<&'a str> {
        if !self.not_resources.is_empty() {
            return (!self.not_resources.iter().any(|p| glob(p, resource, false)))
                .then_some("NotResource");
        }
        self.resources
            .iter()
            .find(|p| glob(p, resource, false))
            .map(String::as_str)
    }
}

/// A policy document and its name, as attached to a principal.
#[derive(Debug, Clone)]
struct Attached {
    key: String,
    name: String,
    statements: Vec<Statement>,
}

/// A user or a role with everything that decides what it may do.
#[derive(Debug)]
struct Principal {
    arn: String,
    name: String,
    is_role: bool,
    policies: Vec<Attached>,
    boundary: Option<Vec<Statement>>,
    /// Groups the user is in, as `(name, arn)`.
    groups: Vec<(String, String)>,
    trust_principals: Vec<TrustPrincipal>,
    has_instance_profile: bool,
    /// Under `/aws-service-role/`: AWS refuses policy and trust edits on it.
    service_linked: bool,
    views: std::cell::RefCell<HashMap<String, std::rc::Rc<View>>>,
}

#[derive(Debug, Clone)]
struct TrustPrincipal {
    kind: String,
    value: String,
    conditional: bool,
    /// A condition pins the federated token's subject (`…:sub`) to something narrower than `*`.
    subject_bound: bool,
}

/// Whether a trust statement's `Condition` pins a token's `sub` claim: some operator names a key
/// ending in `:sub` with a value other than a bare `*`.
fn binds_subject(condition: Option<&Value>) -> bool {
    let Some(Value::Object(ops)) = condition else {
        return false;
    };
    ops.values().any(|keys| {
        keys.as_object().is_some_and(|m| {
            m.iter().any(|(k, v)| {
                k.to_ascii_lowercase().ends_with(":sub")
                    && strings(Some(v))
                        .iter()
                        .any(|s| s.trim() != "*" && !s.is_empty())
            })
        })
    })
}

/// The statements of a principal (and its boundary) whose actions cover one action.
#[derive(Debug, Default)]
struct View {
    allows: Vec<(usize, usize, String)>,
    denies: Vec<(usize, usize)>,
    boundary_allows: Vec<usize>,
    boundary_denies: Vec<usize>,
}

/// Why a principal may do something: which policy and which patterns.
#[derive(Debug, Clone)]
struct Grant {
    policy: String,
    action_pattern: String,
    resource_pattern: String,
    conditional: bool,
}

impl Grant {
    fn describe(&self, action: &str, resource: &str) -> String {
        let mut s = format!("{} allows {action}", self.policy);
        if !self.action_pattern.eq_ignore_ascii_case(action) {
            s.push_str(&format!(" (by `{}`)", self.action_pattern));
        }
        s.push_str(&format!(" on {resource}"));
        if self.resource_pattern != resource {
            s.push_str(&format!(" (by `{}`)", self.resource_pattern));
        }
        if self.conditional {
            s.push_str(", subject to conditions");
        }
        s
    }
}

impl Principal {
    /// Identity-policy evaluation: explicit deny, then allow, then the boundary.
    /// Whether some statement allows `action` on a pattern that covers every resource of its kind
    /// in the account (`*`, `arn:aws:iam::123:role/*`, `NotResource`), unless an unconditional deny
    /// covers it everywhere or the boundary does not allow it. A grant on one named resource (one
    /// secret, `user/${aws:username}`) is not account-wide and does not count.
    fn allows_broadly(&self, action: &str) -> Option<Grant> {
        let denied_everywhere = |stmts: &[Statement]| {
            stmts.iter().any(|s| {
                !s.allow
                    && !s.conditional
                    && s.action(action).is_some()
                    && s.not_resources.is_empty()
                    && s.resources.iter().any(|r| r == "*")
            })
        };
        if self
            .policies
            .iter()
            .any(|p| denied_everywhere(&p.statements))
        {
            return None;
        }
        let grant = self.policies.iter().find_map(|p| {
            p.statements.iter().filter(|s| s.allow).find_map(|s| {
                let a = s.action(action)?;
                let r = if s.not_resources.is_empty() {
                    s.resources.iter().find(|r| broad(r, action))?.clone()
                } else {
                    format!("everything except {}", s.not_resources.join(", "))
                };
                Some(Grant {
                    policy: p.name.clone(),
                    action_pattern: a.to_string(),
                    resource_pattern: r,
                    conditional: s.conditional,
                })
            })
        })?;
        if let Some(boundary) = &self.boundary
            && (denied_everywhere(boundary)
                || !boundary
                    .iter()
                    .any(|s| s.allow && s.action(action).is_some()))
        {
            return None;
        }
        Some(grant)
    }

    /// Whether some statement allows `action` on any resource at all (creating compute: the
    /// resource is the new function or instance, whatever its name).
    fn allows_any(&self, action: &str) -> Option<Grant> {
        let grant = self.policies.iter().find_map(|p| {
            p.statements.iter().filter(|s| s.allow).find_map(|s| {
                let a = s.action(action)?;
                let r = s
                    .resources
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "*".to_string());
                Some(Grant {
                    policy: p.name.clone(),
                    action_pattern: a.to_string(),
                    resource_pattern: r,
                    conditional: s.conditional,
                })
            })
        })?;
        let denied = self.policies.iter().any(|p| {
            p.statements.iter().any(|s| {
                !s.allow
                    && !s.conditional
                    && s.action(action).is_some()
                    && s.not_resources.is_empty()
                    && s.resources.iter().any(|r| r == "*")
            })
        });
        let boundary_ok = self
            .boundary
            .as_ref()
            .is_none_or(|b| b.iter().any(|s| s.allow && s.action(action).is_some()));
        (!denied && boundary_ok).then_some(grant)
    }

    /// The statements that speak about `action`, found once per principal and action: the
    /// pairwise analysis asks the same question of thousands of resources.
    fn view(&self, action: &str) -> std::rc::Rc<View> {
        if let Some(v) = self.views.borrow().get(action) {
            return v.clone();
        }
        let mut view = View::default();
        for (pi, p) in self.policies.iter().enumerate() {
            for (si, s) in p.statements.iter().enumerate() {
                if let Some(a) = s.action(action) {
                    if s.allow {
                        view.allows.push((pi, si, a.to_string()));
                    } else if !s.conditional {
                        view.denies.push((pi, si));
                    }
                }
            }
        }
        if let Some(boundary) = &self.boundary {
            for (si, s) in boundary.iter().enumerate() {
                if s.action(action).is_some() {
                    if s.allow {
                        view.boundary_allows.push(si);
                    } else if !s.conditional {
                        view.boundary_denies.push(si);
                    }
                }
            }
        }
        let view = std::rc::Rc::new(view);
        self.views
            .borrow_mut()
            .insert(action.to_string(), view.clone());
        view
    }

    fn allows(&self, action: &str, resource: &str) -> Option<Grant> {
        self.allows_in(&self.view(action), resource)
    }

    /// [`Principal::allows`] with the action's statements already found.
    fn allows_in(&self, view: &View, resource: &str) -> Option<Grant> {
        let stmt = |pi: usize, si: usize| self.policies.get(pi).and_then(|p| p.statements.get(si));
        if view
            .denies
            .iter()
            .any(|&(pi, si)| stmt(pi, si).is_some_and(|s| s.resource(resource).is_some()))
        {
            return None;
        }
        let grant = view.allows.iter().find_map(|(pi, si, a)| {
            let s = stmt(*pi, *si)?;
            let r = s.resource(resource)?;
            Some(Grant {
                policy: self.policies.get(*pi)?.name.clone(),
                action_pattern: a.clone(),
                resource_pattern: r.to_string(),
                conditional: s.conditional,
            })
        })?;
        if let Some(boundary) = &self.boundary {
            let b = |si: usize| {
                boundary
                    .get(si)
                    .is_some_and(|s| s.resource(resource).is_some())
            };
            if view.boundary_denies.iter().any(|&si| b(si))
                || !view.boundary_allows.iter().any(|&si| b(si))
            {
                return None;
            }
        }
        Some(grant)
    }
}

/// Management-plane capabilities and the actions that confer them.
const CAPABILITIES: &[(&str, &str, &[&str])] = &[
    (
        "iam",
        "change IAM",
        &[
            "iam:CreatePolicyVersion",
            "iam:SetDefaultPolicyVersion",
            "iam:AttachUserPolicy",
            "iam:AttachGroupPolicy",
            "iam:AttachRolePolicy",
            "iam:PutUserPolicy",
            "iam:PutGroupPolicy",
            "iam:PutRolePolicy",
            "iam:CreateAccessKey",
            "iam:CreateLoginProfile",
            "iam:UpdateLoginProfile",
            "iam:UpdateAssumeRolePolicy",
            "iam:AddUserToGroup",
            "iam:CreateUser",
            "iam:CreateRole",
            "iam:CreatePolicy",
            "iam:DeleteRolePermissionsBoundary",
            "iam:DeleteUserPermissionsBoundary",
            "iam:CreateOpenIDConnectProvider",
            "iam:CreateSAMLProvider",
            "iam:UpdateSAMLProvider",
        ],
    ),
    (
        "organizations",
        "change AWS Organizations",
        &[
            "organizations:AttachPolicy",
            "organizations:DetachPolicy",
            "organizations:CreatePolicy",
            "organizations:UpdatePolicy",
            "organizations:CreateAccount",
            "organizations:InviteAccountToOrganization",
            "organizations:RemoveAccountFromOrganization",
            "organizations:LeaveOrganization",
            "organizations:MoveAccount",
            "organizations:EnableAWSServiceAccess",
            "organizations:RegisterDelegatedAdministrator",
        ],
    ),
    (
        "kms",
        "change KMS key policies",
        &[
            "kms:PutKeyPolicy",
            "kms:CreateGrant",
            "kms:ScheduleKeyDeletion",
            "kms:DisableKey",
            "kms:ReplicateKey",
        ],
    ),
    (
        "secrets",
        "read or change secrets",
        &[
            "secretsmanager:GetSecretValue",
            "secretsmanager:PutSecretValue",
            "secretsmanager:PutResourcePolicy",
            "secretsmanager:UpdateSecret",
            "ssm:GetParameter",
            "ssm:GetParameters",
            "ssm:GetParametersByPath",
        ],
    ),
    (
        "detection",
        "switch off CloudTrail or GuardDuty",
        &[
            "cloudtrail:StopLogging",
            "cloudtrail:DeleteTrail",
            "cloudtrail:UpdateTrail",
            "cloudtrail:PutEventSelectors",
            "guardduty:DeleteDetector",
            "guardduty:UpdateDetector",
            "guardduty:DisassociateFromMasterAccount",
            "guardduty:DisassociateFromAdministratorAccount",
            "guardduty:CreateIPSet",
            "guardduty:UpdateIPSet",
            "guardduty:DeleteMembers",
            "config:StopConfigurationRecorder",
            "config:DeleteConfigurationRecorder",
        ],
    ),
];

/// Actions behind the pairwise escalation techniques: a principal holding none of them is only
/// checked for role assumption.
const ESCALATION_ACTIONS: &[&str] = &[
    "iam:UpdateAssumeRolePolicy",
    "iam:PassRole",
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:PutUserPolicy",
    "iam:AttachUserPolicy",
];

/// Compute services a role can be passed to, the actions that start compute with it, and what
/// the technique is called.
const PASS_ROLE_SERVICES: &[(&str, &[&str], &str)] = &[
    (
        "lambda.amazonaws.com",
        &["lambda:CreateFunction", "lambda:InvokeFunction"],
        "pass the role to a new Lambda function and invoke it",
    ),
    (
        "ec2.amazonaws.com",
        &["ec2:RunInstances"],
        "pass the role to a new EC2 instance (instance profile)",
    ),
    (
        "ecs-tasks.amazonaws.com",
        &["ecs:RegisterTaskDefinition", "ecs:RunTask"],
        "pass the role to a new ECS task",
    ),
    (
        "cloudformation.amazonaws.com",
        &["cloudformation:CreateStack"],
        "pass the role to a CloudFormation stack",
    ),
    (
        "glue.amazonaws.com",
        &["glue:CreateDevEndpoint"],
        "pass the role to a Glue development endpoint",
    ),
    (
        "codebuild.amazonaws.com",
        &["codebuild:CreateProject", "codebuild:StartBuild"],
        "pass the role to a CodeBuild project and start a build",
    ),
    (
        "sagemaker.amazonaws.com",
        &["sagemaker:CreateNotebookInstance"],
        "pass the role to a SageMaker notebook instance",
    ),
    (
        "states.amazonaws.com",
        &["states:CreateStateMachine", "states:StartExecution"],
        "pass the role to a Step Functions state machine",
    ),
    (
        "datapipeline.amazonaws.com",
        &[
            "datapipeline:CreatePipeline",
            "datapipeline:PutPipelineDefinition",
        ],
        "pass the role to a Data Pipeline",
    ),
];

/// The partition of an ARN: `aws`, `aws-us-gov`, `aws-cn`.
fn partition(arn: &str) -> &str {
    arn.split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
}

fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

fn node_key(arn: &str) -> String {
    format!("aws:{arn}")
}

/// A policy document that may still be URL-encoded (the raw IAM API returns it that way; the CLI
/// decodes it).
fn document(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => {
            let decoded = percent_encoding::percent_decode_str(s).decode_utf8_lossy();
            serde_json::from_str(&decoded).unwrap_or(Value::Null)
        }
        Some(v) => v.clone(),
        None => Value::Null,
    }
}

fn tags_of(v: &Value) -> Vec<(String, String)> {
    list(v.get("Tags"))
        .iter()
        .filter_map(|t| {
            Some((
                str_at(t, &["Key"])?.to_string(),
                str_at(t, &["Value"]).unwrap_or("").to_string(),
            ))
        })
        .collect()
}

pub(crate) fn discover(inputs: &[Input], options: &Options) -> Result<Discovery, DiscoverError> {
    let mut details: Vec<(String, Value)> = Vec::new();
    let mut key_lists: Vec<(String, Value)> = Vec::new();
    let mut reports: Vec<(String, Vec<BTreeMap<String, String>>)> = Vec::new();
    for input in inputs {
        let text = std::str::from_utf8(&input.bytes).map_err(|_| DiscoverError::Parse {
            input: input.name.clone(),
            message: "not UTF-8 text".to_string(),
        })?;
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        if trimmed.starts_with('{') {
            let v: Value = serde_json::from_str(trimmed).map_err(|e| DiscoverError::Parse {
                input: input.name.clone(),
                message: format!("invalid JSON at line {} column {}", e.line(), e.column()),
            })?;
            if v.get("AccessKeyMetadata").is_some() {
                key_lists.push((input.name.clone(), v));
            } else if [
                "UserDetailList",
                "GroupDetailList",
                "RoleDetailList",
                "Policies",
            ]
            .iter()
            .any(|k| v.get(k).is_some())
            {
                details.push((input.name.clone(), v));
            } else {
                return Err(DiscoverError::Parse {
                    input: input.name.clone(),
                    message: "not an IAM export: expected the output of `aws iam get-account-authorization-details` (UserDetailList, RoleDetailList, …) or `aws iam list-access-keys` (AccessKeyMetadata)".to_string(),
                });
            }
        } else if trimmed.starts_with("user,arn") {
            reports.push((input.name.clone(), credential_report(&input.name, trimmed)?));
        } else {
            return Err(DiscoverError::Parse {
                input: input.name.clone(),
                message: "not an IAM export: expected authorization-details JSON, list-access-keys JSON or a credential report CSV (header `user,arn,…`)".to_string(),
            });
        }
    }

    // The account: from the principals' ARNs, else the option.
    let account = details
        .iter()
        .flat_map(|(_, v)| {
            ["UserDetailList", "RoleDetailList", "GroupDetailList"]
                .into_iter()
                .flat_map(move |k| list(v.get(k)).iter())
        })
        .filter_map(|p| str_at(p, &["Arn"]).and_then(account_of))
        .next()
        .map(str::to_string)
        .or_else(|| {
            reports
                .iter()
                .flat_map(|(_, rows)| rows.iter())
                .filter_map(|r| r.get("arn").and_then(|a| account_of(a)).map(str::to_string))
                .next()
        })
        .or_else(|| options.system.clone())
        .unwrap_or_else(|| "unknown".to_string());
    let system = format!("aws:{account}");
    let mut out = Emitter::new(format!("aws-iam:{account}"));
    out.node(NodeSpec::new(
        &system,
        NodeKind::System,
        format!("AWS account {account}"),
    ));

    let mut principals: Vec<Principal> = Vec::new();
    for (name, v) in &details {
        load_details(&mut out, &mut principals, name, v, &system, options.now);
    }
    let principals = principals;
    let user_arns: HashMap<String, String> = principals
        .iter()
        .filter(|p| !p.is_role)
        .map(|p| (p.name.clone(), p.arn.clone()))
        .collect();
    for (name, v) in &key_lists {
        load_access_keys(&mut out, name, v, &account, &user_arns, options.now);
    }
    for (name, rows) in &reports {
        load_report(&mut out, name, rows, &account, options.now);
    }
    analyse(&mut out, &principals, &account, &system);
    Ok(out.finish())
}

/// Loads an authorization-details-shaped document (the Terraform connector builds one from state)
/// and runs the analysis over it.
pub(crate) fn ingest(
    out: &mut Emitter,
    input: &str,
    details: &Value,
    account: &str,
    now: Option<OffsetDateTime>,
) {
    let system = format!("aws:{account}");
    out.node(NodeSpec::new(
        &system,
        NodeKind::System,
        format!("AWS account {account}"),
    ));
    let mut principals = Vec::new();
    load_details(out, &mut principals, input, details, &system, now);
    analyse(out, &principals, account, &system);
}

pub(crate) fn account_of_arn(arn: &str) -> Option<&str> {
    account_of(arn)
}

fn load_details(
    out: &mut Emitter,
    principals: &mut Vec<Principal>,
    input: &str,
    v: &Value,
    system: &str,
    now: Option<OffsetDateTime>,
) {
    // Managed policies: the default version's document.
    let mut managed: HashMap<String, Attached> = HashMap::new();
    for (i, p) in list(v.get("Policies")).iter().enumerate() {
        let Some(arn) = str_at(p, &["Arn"]) else {
            continue;
        };
        let name = str_at(p, &["PolicyName"]).unwrap_or(arn);
        let default = str_at(p, &["DefaultVersionId"]);
        let doc = list(p.get("PolicyVersionList"))
            .iter()
            .find(|ver| {
                ver.get("IsDefaultVersion") == Some(&Value::Bool(true))
                    || (default.is_some() && str_at(ver, &["VersionId"]) == default)
            })
            .map(|ver| document(ver.get("Document")))
            .unwrap_or(Value::Null);
        if doc.is_null() {
            out.skipped(format!(
                "{input} Policies[{i}]: managed policy {name} has no default version document"
            ));
        }
        let key = node_key(arn);
        out.node(
            NodeSpec::new(&key, NodeKind::Policy, format!("managed policy {name}")).in_system(
                account_of(arn).map_or_else(
                    || system.to_string(),
                    |a| {
                        if a == "aws" {
                            system.to_string()
                        } else {
                            format!("aws:{a}")
                        }
                    },
                ),
            ),
        );
        managed.insert(
            arn.to_string(),
            Attached {
                key,
                name: format!("managed policy {name}"),
                statements: Statement::parse_all(&doc),
            },
        );
    }
    let attached = |out: &mut Emitter,
                    holder: &Value,
                    owner_arn: &str,
                    inline_field: &str|
     -> Vec<Attached> {
        let mut result = Vec::new();
        for p in list(holder.get(inline_field)) {
            let pname = str_at(p, &["PolicyName"]).unwrap_or("inline");
            let key = format!("aws:{owner_arn}#inline:{pname}");
            out.node(
                NodeSpec::new(&key, NodeKind::Policy, format!("inline policy {pname}"))
                    .in_system(system),
            );
            result.push(Attached {
                key,
                name: format!("inline policy {pname}"),
                statements: Statement::parse_all(&document(p.get("PolicyDocument"))),
            });
        }
        for p in list(holder.get("AttachedManagedPolicies")) {
            let Some(parn) = str_at(p, &["PolicyArn"]) else {
                continue;
            };
            match managed.get(parn) {
                Some(a) => result.push(a.clone()),
                None => {
                    let pname = str_at(p, &["PolicyName"]).unwrap_or(parn);
                    let key = node_key(parn);
                    out.node(placeholder(&key, NodeKind::Policy));
                    out.skipped(format!("{input}: {owner_arn} has managed policy {pname} attached, but the export does not contain its document"));
                    result.push(Attached {
                        key,
                        name: format!("managed policy {pname}"),
                        statements: Vec::new(),
                    });
                }
            }
        }
        result
    };

    let mut groups: HashMap<String, (String, Vec<Attached>)> = HashMap::new();
    for g in list(v.get("GroupDetailList")) {
        let (Some(arn), Some(name)) = (str_at(g, &["Arn"]), str_at(g, &["GroupName"])) else {
            continue;
        };
        let key = node_key(arn);
        out.node(
            NodeSpec::new(&key, NodeKind::Group, format!("IAM group {name}")).in_system(system),
        );
        let pols = attached(out, g, arn, "GroupPolicyList");
        for p in &pols {
            out.edge(
                &key,
                EdgeKind::HasPolicy,
                &p.key,
                format!("{} is attached to group {name}", p.name),
            );
        }
        groups.insert(name.to_string(), (key, pols));
    }

    for (kind_field, is_role) in [("UserDetailList", false), ("RoleDetailList", true)] {
        for (i, p) in list(v.get(kind_field)).iter().enumerate() {
            let (Some(arn), Some(name)) = (
                str_at(p, &["Arn"]),
                str_at(p, &[if is_role { "RoleName" } else { "UserName" }]),
            ) else {
                out.skipped(format!("{input} {kind_field}[{i}]: no Arn or name"));
                continue;
            };
            let from = format!("{input} {kind_field}[{i}]");
            let key = node_key(arn);
            let tags = tags_of(p);
            let (owner, purpose, environment) = tagged(&tags, &format!("{from} Tags"));
            let purpose = purpose.or_else(|| {
                str_at(p, &["Description"])
                    .filter(|d| !d.is_empty())
                    .map(|d| Sourced::new(d.to_string(), format!("{from} Description")))
            });
            let mut attributes = BTreeMap::new();
            if let Some(path) = str_at(p, &["Path"]) {
                attributes.insert(
                    "path".to_string(),
                    Sourced::new(Value::String(path.to_string()), format!("{from} Path")),
                );
                if path.starts_with("/aws-service-role/") {
                    attributes.insert(
                        "service_linked".to_string(),
                        Sourced::new(Value::Bool(true), format!("{from} Path")),
                    );
                }
            }
            let last_used = p
                .pointer("/RoleLastUsed/LastUsedDate")
                .and_then(Value::as_str)
                .map(|d| Sourced::new(d.to_string(), format!("{from} RoleLastUsed.LastUsedDate")));
            let source_kind = if is_role {
                "aws-iam-role"
            } else {
                "aws-iam-user"
            };
            out.identity(
                DiscoveredIdentity {
                    key: key.clone(),
                    external_id: arn.to_string(),
                    name: name.to_string(),
                    kind: if is_role {
                        IdentityKind::Workload
                    } else {
                        IdentityKind::ServiceAccount
                    },
                    source_kind: source_kind.to_string(),
                    system: system.to_string(),
                    owner,
                    purpose,
                    environment,
                    created_at: str_at(p, &["CreateDate"])
                        .map(|d| Sourced::new(d.to_string(), format!("{from} CreateDate"))),
                    last_used_at: last_used.clone(),
                    attributes,
                },
                NodeSpec::new(
                    &key,
                    NodeKind::Identity,
                    format!("IAM {} {name}", if is_role { "role" } else { "user" }),
                )
                .in_system(system),
            );
            if is_role && last_used.is_none() {
                unused_role(out, &key, name, str_at(p, &["CreateDate"]), now, &from);
            }
            let mut pols = attached(
                out,
                p,
                arn,
                if is_role {
                    "RolePolicyList"
                } else {
                    "UserPolicyList"
                },
            );
            for a in &pols {
                out.edge(
                    &key,
                    EdgeKind::HasPolicy,
                    &a.key,
                    format!("{} is attached to {name}", a.name),
                );
            }
            let mut member_of = Vec::new();
            for g in &strings(p.get("GroupList")) {
                if let Some((gkey, gpols)) = groups.get(g) {
                    member_of.push((g.clone(), gkey.trim_start_matches("aws:").to_string()));
                    out.edge(
                        &key,
                        EdgeKind::MemberOf,
                        gkey,
                        format!("{name} is a member of group {g}"),
                    );
                    pols.extend(gpols.iter().map(|a| Attached {
                        name: format!("{} (via group {g})", a.name),
                        ..a.clone()
                    }));
                }
            }
            // What it is granted, statement by statement, for granted-versus-used.
            let granted: Vec<Value> = pols
                .iter()
                .flat_map(|a| {
                    a.statements.iter().filter(|s| s.allow).map(|s| {
                        let (actions, except) = if s.not_actions.is_empty() {
                            (s.actions.clone(), None)
                        } else {
                            (vec!["*".to_string()], Some(s.not_actions.join(", ")))
                        };
                        let resources = if s.not_resources.is_empty() {
                            s.resources.clone()
                        } else {
                            vec!["*".to_string()]
                        };
                        serde_json::json!({
                            "policy": a.name,
                            "actions": actions,
                            "except": except,
                            "resources": resources,
                            "conditional": s.conditional,
                        })
                    })
                })
                .take(crate::GRANTED_MAX)
                .collect();
            if let Some(identity) = out.identity_mut(&key) {
                identity.attributes.insert(
                    crate::GRANTED_ATTRIBUTE.to_string(),
                    Sourced::new(
                        Value::Array(granted),
                        format!("{from} (identity, group and managed policies)"),
                    ),
                );
            }
            // A boundary whose document the export lacks is unknown, not "allows nothing": it is
            // left out (reach over- rather than under-estimated) and said so.
            let boundary = match p
                .pointer("/PermissionsBoundary/PermissionsBoundaryArn")
                .and_then(Value::as_str)
            {
                None => None,
                Some(b) => match managed.get(b) {
                    Some(a) => Some(a.statements.clone()),
                    None => {
                        out.skipped(format!("{from}: permission boundary {b} is not in the export; evaluated without it"));
                        None
                    }
                },
            };
            let trust_doc = document(p.get("AssumeRolePolicyDocument"));
            let mut trust_principals = Vec::new();
            if let Some(Value::Array(stmts)) = trust_doc
                .get("Statement")
                .map(|s| {
                    if s.is_object() {
                        Value::Array(vec![s.clone()])
                    } else {
                        s.clone()
                    }
                })
                .as_ref()
            {
                for s in stmts
                    .iter()
                    .filter(|s| str_at(s, &["Effect"]) == Some("Allow"))
                {
                    let conditional = s.get("Condition").is_some();
                    let subject_bound = binds_subject(s.get("Condition"));
                    match s.get("Principal") {
                        Some(Value::String(star)) => trust_principals.push(TrustPrincipal {
                            kind: "AWS".into(),
                            value: star.clone(),
                            conditional,
                            subject_bound,
                        }),
                        Some(Value::Object(m)) => {
                            for (kind, vals) in m {
                                for value in strings(Some(vals)) {
                                    trust_principals.push(TrustPrincipal {
                                        kind: kind.clone(),
                                        value,
                                        conditional,
                                        subject_bound,
                                    });
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            principals.push(Principal {
                arn: arn.to_string(),
                name: name.to_string(),
                is_role,
                policies: pols,
                boundary,
                groups: member_of,
                trust_principals,
                has_instance_profile: !list(p.get("InstanceProfileList")).is_empty(),
                service_linked: str_at(p, &["Path"])
                    .is_some_and(|x| x.starts_with("/aws-service-role/")),
                views: Default::default(),
            });
        }
    }
}

fn unused_role(
    out: &mut Emitter,
    key: &str,
    name: &str,
    created: Option<&str>,
    now: Option<OffsetDateTime>,
    from: &str,
) {
    let (Some(now), Some(created)) = (now, created.and_then(parse_time)) else {
        return;
    };
    if (now - created).whole_days() >= 90 {
        out.finding(
            "unused-identity",
            Severity::Low,
            key,
            format!(
                "role {name} was created {}, more than 90 days ago, and has no recorded use",
                created.date()
            ),
            from,
        );
    }
}

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

fn load_access_keys(
    out: &mut Emitter,
    input: &str,
    v: &Value,
    account: &str,
    users: &HashMap<String, String>,
    now: Option<OffsetDateTime>,
) {
    for (i, k) in list(v.get("AccessKeyMetadata")).iter().enumerate() {
        let (Some(user), Some(id)) = (str_at(k, &["UserName"]), str_at(k, &["AccessKeyId"])) else {
            out.skipped(format!(
                "{input} AccessKeyMetadata[{i}]: no UserName or AccessKeyId"
            ));
            continue;
        };
        let from = format!("{input} AccessKeyMetadata[{i}]");
        let arn = users
            .get(user)
            .cloned()
            .unwrap_or_else(|| format!("arn:aws:iam::{account}:user/{user}"));
        let ikey = node_key(&arn);
        if !out.has_node(&ikey) {
            user_from_reference(out, &ikey, &arn, user, account, &from);
        }
        let active = str_at(k, &["Status"]) != Some("Inactive");
        let created = str_at(k, &["CreateDate"]);
        let key = format!("aws:access-key:{id}");
        out.credential(
            DiscoveredCredential {
                key: key.clone(),
                external_id: id.to_string(),
                name: format!("access key {id} of {user}"),
                kind: CredentialKind::AccessKey,
                identity: Some(ikey),
                fingerprint: None,
                active,
                created_at: created
                    .map(|c| Sourced::new(c.to_string(), format!("{from} CreateDate"))),
                last_used_at: None,
                locations: Vec::new(),
                from: from.clone(),
            },
            NodeSpec::new(&key, NodeKind::Credential, format!("access key {id}"))
                .in_system(format!("aws:{account}")),
            &format!("access key of IAM user {user}"),
        );
        key_age(
            out,
            &key,
            &format!("access key {id} of {user}"),
            active,
            created,
            now,
            &from,
        );
    }
}

fn user_from_reference(
    out: &mut Emitter,
    key: &str,
    arn: &str,
    user: &str,
    account: &str,
    from: &str,
) {
    out.identity(
        DiscoveredIdentity {
            key: key.to_string(),
            external_id: arn.to_string(),
            name: user.to_string(),
            kind: IdentityKind::ServiceAccount,
            source_kind: "aws-iam-user".to_string(),
            system: format!("aws:{account}"),
            owner: None,
            purpose: None,
            environment: None,
            created_at: None,
            last_used_at: None,
            attributes: BTreeMap::from([(
                "seen_in".to_string(),
                Sourced::new(
                    Value::String("access keys or credential report only".into()),
                    from.to_string(),
                ),
            )]),
        },
        NodeSpec::new(key, NodeKind::Identity, format!("IAM user {user}"))
            .in_system(format!("aws:{account}")),
    );
}

fn key_age(
    out: &mut Emitter,
    key: &str,
    what: &str,
    active: bool,
    created: Option<&str>,
    now: Option<OffsetDateTime>,
    from: &str,
) {
    let (Some(now), Some(created)) = (now, created.and_then(parse_time)) else {
        return;
    };
    // Messages carry the date, not a day count, so the same export gives the same findings.
    if active && (now - created).whole_days() > 90 {
        out.finding(
            "credential-not-rotated",
            Severity::Medium,
            key,
            format!(
                "{what} is active and was created {}, more than 90 days ago (rotate at least every 90 days)",
                created.date()
            ),
            from,
        );
    }
}

fn credential_report(
    input: &str,
    text: &str,
) -> Result<Vec<BTreeMap<String, String>>, DiscoverError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| DiscoverError::Parse {
            input: input.to_string(),
            message: format!("credential report header: {}", csv_error(&e)),
        })?
        .clone();
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| DiscoverError::Parse {
            input: input.to_string(),
            message: format!("credential report row {}: {}", i + 2, csv_error(&e)),
        })?;
        rows.push(
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect(),
        );
    }
    Ok(rows)
}

fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not UTF-8".to_string(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields, found {len}"),
        _ => "malformed CSV".to_string(),
    }
}

/// A credential-report date: an RFC 3339 time, or `N/A`, `not_supported`, `no_information`.
fn report_time(v: Option<&String>) -> Option<&str> {
    v.map(String::as_str).filter(|s| parse_time(s).is_some())
}

fn load_report(
    out: &mut Emitter,
    input: &str,
    rows: &[BTreeMap<String, String>],
    account: &str,
    now: Option<OffsetDateTime>,
) {
    for (i, row) in rows.iter().enumerate() {
        let from = format!("{input} row {}", i + 2);
        let (Some(user), Some(arn)) = (row.get("user"), row.get("arn")) else {
            continue;
        };
        let ikey = node_key(arn);
        let root = user == "<root_account>";
        if !out.has_node(&ikey) {
            user_from_reference(out, &ikey, arn, user, account, &from);
        }
        let mut last_used: Option<&str> = report_time(row.get("password_last_used"));
        let console = row.get("password_enabled").map(String::as_str) == Some("true");
        if let Some(identity) = out.identity_mut(&ikey) {
            identity.attributes.insert(
                "console_password".into(),
                Sourced::new(Value::Bool(console), format!("{from} password_enabled")),
            );
            identity.attributes.insert(
                "mfa_active".into(),
                Sourced::new(
                    Value::Bool(row.get("mfa_active").map(String::as_str) == Some("true")),
                    format!("{from} mfa_active"),
                ),
            );
            if identity.created_at.is_none() {
                identity.created_at = report_time(row.get("user_creation_time"))
                    .map(|t| Sourced::new(t.to_string(), format!("{from} user_creation_time")));
            }
        }
        let mut any_key = false;
        for n in ["1", "2"] {
            let active = row
                .get(&format!("access_key_{n}_active"))
                .map(String::as_str)
                == Some("true");
            let rotated = report_time(row.get(&format!("access_key_{n}_last_rotated")));
            let used = report_time(row.get(&format!("access_key_{n}_last_used_date")));
            if !active && rotated.is_none() {
                continue;
            }
            any_key |= active;
            if let Some(u) = used
                && last_used.is_none_or(|l| u > l)
            {
                last_used = Some(u);
            }
            // The same key as `list-access-keys` reported, when its creation time matches.
            let listed = out
                .credentials()
                .iter()
                .find(|c| {
                    c.identity.as_deref() == Some(ikey.as_str())
                        && c.key.starts_with("aws:access-key:")
                        && c.created_at.as_ref().and_then(|t| parse_time(&t.value))
                            == rotated.and_then(parse_time)
                })
                .map(|c| (c.key.clone(), c.external_id.clone()));
            // Without the key id, a key is its slot and its creation time: a rotated key is a new
            // credential, not the old one overwritten.
            let slot = format!("{arn}#access-key-{n}@{}", rotated.unwrap_or("unknown"));
            let (key, external_id) =
                listed.unwrap_or_else(|| (format!("aws:{slot}"), slot.clone()));
            out.credential(
                DiscoveredCredential {
                    key: key.clone(),
                    external_id,
                    name: format!("access key {n} of {user}"),
                    kind: CredentialKind::AccessKey,
                    identity: Some(ikey.clone()),
                    fingerprint: None,
                    active,
                    created_at: rotated.map(|t| {
                        Sourced::new(t.to_string(), format!("{from} access_key_{n}_last_rotated"))
                    }),
                    last_used_at: used.map(|t| {
                        Sourced::new(
                            t.to_string(),
                            format!("{from} access_key_{n}_last_used_date"),
                        )
                    }),
                    locations: Vec::new(),
                    from: from.clone(),
                },
                NodeSpec::new(
                    &key,
                    NodeKind::Credential,
                    format!("access key {n} of {user}"),
                )
                .in_system(format!("aws:{account}")),
                &format!("access key {n} of {user}"),
            );
            key_age(
                out,
                &key,
                &format!("access key {n} of {user}"),
                active,
                rotated,
                now,
                &from,
            );
            if active && used.is_none() {
                out.finding(
                    "unused-credential",
                    Severity::Low,
                    &key,
                    format!("access key {n} of {user} is active and has never been used"),
                    from.clone(),
                );
            }
            if root && active {
                out.finding(
                    "root-access-key",
                    Severity::Critical,
                    &key,
                    "the root user has an active access key".to_string(),
                    from.clone(),
                );
            }
        }
        if console && any_key && !root {
            out.finding("human-and-machine-use", Severity::Medium, &ikey, format!("IAM user {user} has both a console password and active access keys: a person and a machine share one identity"), from.clone());
        }
        if let (Some(l), Some(identity)) = (last_used, out.identity_mut(&ikey))
            && identity.last_used_at.is_none()
        {
            identity.last_used_at = Some(Sourced::new(l.to_string(), from.clone()));
        }
    }
}

/// The management-plane capability node `what` of an account (added once), e.g. `iam` —
/// "change IAM in account 123…".
fn capability(out: &mut Emitter, account: &str, system: &str, what: &str, label: &str) -> String {
    out.node(
        NodeSpec::new(
            format!("aws:{account}:capability:{what}"),
            NodeKind::Capability,
            format!("{label} in account {account}"),
        )
        .in_system(system)
        .management_plane(format!("can {label} in AWS account {account}")),
    )
}

/// Per principal: management-plane capabilities and escalation edges to other principals.
fn analyse(out: &mut Emitter, principals: &[Principal], account: &str, system: &str) {
    // Resource access, per policy (holder-independent).
    let mut seen_policy: std::collections::HashSet<String> = std::collections::HashSet::new();
    for p in principals {
        for a in &p.policies {
            if !seen_policy.insert(a.key.clone()) {
                continue;
            }
            for s in a.statements.iter().filter(|s| s.allow) {
                let actions = if s.not_actions.is_empty() {
                    s.actions.join(", ")
                } else {
                    format!("everything except {}", s.not_actions.join(", "))
                };
                let resources = if s.not_resources.is_empty() {
                    s.resources.clone()
                } else {
                    vec!["*".to_string()]
                };
                for r in resources {
                    let rkey = format!("aws:{account}:resource:{r}");
                    let label = if r == "*" {
                        format!("every resource in account {account}")
                    } else {
                        r.clone()
                    };
                    let rsys =
                        account_of(&r).map_or_else(|| system.to_string(), |a| format!("aws:{a}"));
                    out.node(NodeSpec::new(&rkey, NodeKind::Resource, label).in_system(rsys));
                    out.edge(
                        &a.key,
                        EdgeKind::HasAccessTo,
                        &rkey,
                        format!(
                            "allows {actions} on {r}{}",
                            if s.conditional {
                                " (with conditions)"
                            } else {
                                ""
                            }
                        ),
                    );
                }
            }
        }
    }

    let mut group_arns: Vec<String> = principals
        .iter()
        .flat_map(|p| p.groups.iter().map(|(_, arn)| arn.clone()))
        .collect();
    group_arns.sort();
    group_arns.dedup();
    let keys: Vec<String> = principals.iter().map(|p| node_key(&p.arn)).collect();
    for p in principals {
        let from = node_key(&p.arn);
        // Management-plane capabilities.
        for (cap, label, actions) in CAPABILITIES {
            if let Some((action, grant)) = actions
                .iter()
                .find_map(|a| p.allows_broadly(a).map(|g| (*a, g)))
            {
                let key = capability(out, account, system, cap, label);
                let on = grant.resource_pattern.clone();
                out.edge(
                    &from,
                    EdgeKind::HasAccessTo,
                    &key,
                    grant.describe(action, &on),
                );
            }
        }
        // Self-escalation: rewriting its own permissions is as good as being an administrator.
        if let Some(reason) = self_escalation(p, &group_arns) {
            let key = capability(out, account, system, "iam", "change IAM");
            out.edge(&from, EdgeKind::CanModifyPolicyOf, &key, reason);
        }
        // Only principals holding some escalation action at all are checked against every other
        // principal: the pairwise pass stays linear for the many that hold none.
        let escalates = ESCALATION_ACTIONS.iter().any(|a| p.allows_any(a).is_some());
        let mut rewrites_and_becomes: Option<String> = None;
        let assume_view = p.view("sts:AssumeRole");
        for (q, to) in principals.iter().zip(&keys).filter(|(q, _)| q.arn != p.arn) {
            let to = to.as_str();
            if q.is_role {
                let assume = can_assume(p, &assume_view, q, account);
                if let Some(reason) = &assume {
                    out.edge(&from, EdgeKind::CanAssume, to, reason.clone());
                }
                if !escalates {
                    continue;
                }
                // AWS refuses policy and trust changes on service-linked roles.
                let editable = !q.service_linked;
                if assume.is_none()
                    && editable
                    && let Some(g) = p.allows("iam:UpdateAssumeRolePolicy", &q.arn)
                    && let Some(g2) = p.allows("sts:AssumeRole", &q.arn)
                {
                    out.edge(
                        &from,
                        EdgeKind::CanModifyPolicyOf,
                        to,
                        format!(
                            "rewrite the role's trust policy, then assume it: {}; {}",
                            g.describe("iam:UpdateAssumeRolePolicy", &q.arn),
                            g2.describe("sts:AssumeRole", &q.arn)
                        ),
                    );
                }
                if let Some(reason) = pass_role(p, q) {
                    out.edge(&from, EdgeKind::CanRunAs, to, reason);
                }
                if editable {
                    for action in ["iam:PutRolePolicy", "iam:AttachRolePolicy"] {
                        if let Some(g) = p.allows(action, &q.arn) {
                            let why = g.describe(action, &q.arn);
                            if assume.is_some() && rewrites_and_becomes.is_none() {
                                rewrites_and_becomes = Some(format!(
                                    "can rewrite the permissions of role {} and assume it: {why}",
                                    q.name
                                ));
                            }
                            out.edge(&from, EdgeKind::CanModifyPolicyOf, to, why);
                            break;
                        }
                    }
                }
            } else {
                if !escalates {
                    continue;
                }
                let mut becomes = false;
                for action in [
                    "iam:CreateAccessKey",
                    "iam:CreateLoginProfile",
                    "iam:UpdateLoginProfile",
                ] {
                    if let Some(g) = p.allows(action, &q.arn) {
                        becomes = true;
                        out.edge(
                            &from,
                            EdgeKind::CanCreateCredentialFor,
                            to,
                            g.describe(action, &q.arn),
                        );
                        break;
                    }
                }
                for action in ["iam:PutUserPolicy", "iam:AttachUserPolicy"] {
                    if let Some(g) = p.allows(action, &q.arn) {
                        let why = g.describe(action, &q.arn);
                        if becomes && rewrites_and_becomes.is_none() {
                            rewrites_and_becomes = Some(format!(
                                "can rewrite the permissions of user {} and mint its credentials: {why}",
                                q.name
                            ));
                        }
                        out.edge(&from, EdgeKind::CanModifyPolicyOf, to, why);
                        break;
                    }
                }
            }
        }
        // Rewriting the permissions of someone it can become is as good as rewriting its own.
        if let Some(reason) = rewrites_and_becomes {
            let key = capability(out, account, system, "iam", "change IAM");
            out.edge(&from, EdgeKind::CanModifyPolicyOf, &key, reason);
        }
    }
    // Federated and service principals in trust policies that the inputs do not describe.
    for q in principals.iter().filter(|q| q.is_role) {
        let to = node_key(&q.arn);
        for t in &q.trust_principals {
            if t.kind == "Federated" {
                let key = format!("aws:federated:{}", t.value);
                out.node(
                    NodeSpec::new(
                        &key,
                        NodeKind::Identity,
                        format!("federated identities of {}", t.value),
                    )
                    .in_system(system),
                );
                out.edge(
                    &key,
                    EdgeKind::CanAssume,
                    &to,
                    format!(
                        "trust policy of {} allows sts:AssumeRoleWithWebIdentity/SAML for {}{}",
                        q.name,
                        t.value,
                        if t.conditional {
                            " (with conditions)"
                        } else {
                            " with no conditions: anyone the provider vouches for"
                        }
                    ),
                );
                // An OIDC provider (GitHub Actions, GitLab, EKS, …) signs tokens for every
                // repository, project or pod it serves: without a `sub` condition any of them
                // can assume the role.
                if t.value.contains(":oidc-provider/") && !t.subject_bound {
                    out.finding(
                        "oidc-trust-without-subject",
                        if t.conditional {
                            Severity::High
                        } else {
                            Severity::Critical
                        },
                        &to,
                        format!(
                            "role {}'s trust policy accepts tokens from {} without a condition on the token's subject (`sub`): any workload the provider issues tokens to can assume it",
                            q.name,
                            t.value.rsplit(":oidc-provider/").next().unwrap_or(&t.value),
                        ),
                        q.arn.clone(),
                    );
                }
            } else if t.kind == "AWS"
                && (t.value.starts_with("AROA") || t.value.starts_with("AIDA"))
            {
                // IAM shows a deleted principal's unique id in the trust policy: it can no longer
                // assume anything, but the stale entry is worth cleaning up.
                out.finding(
                    "stale-trust-principal",
                    Severity::Low,
                    &to,
                    format!(
                        "role {}'s trust policy names a deleted principal ({})",
                        q.name, t.value
                    ),
                    q.arn.clone(),
                );
            } else if t.kind == "AWS" && t.value != "*" {
                let arn = if t.value.chars().all(|c| c.is_ascii_digit()) {
                    format!("arn:{}:iam::{}:root", partition(&q.arn), t.value)
                } else {
                    t.value.clone()
                };
                if account_of(&arn) != Some(account) {
                    let key = node_key(&arn);
                    out.node(
                        NodeSpec::new(
                            &key,
                            NodeKind::Identity,
                            format!("external principal {arn}"),
                        )
                        .in_system(
                            account_of(&arn)
                                .map_or_else(|| "aws:external".to_string(), |a| format!("aws:{a}")),
                        ),
                    );
                    out.edge(
                        &key,
                        EdgeKind::CanAssume,
                        &to,
                        format!(
                            "trust policy of {} trusts {arn} in another account{}",
                            q.name,
                            if t.conditional {
                                " (with conditions)"
                            } else {
                                ""
                            }
                        ),
                    );
                    out.finding(
                        "cross-account-trust",
                        if t.conditional {
                            Severity::Low
                        } else {
                            Severity::Medium
                        },
                        &to,
                        format!(
                            "role {} can be assumed from outside the account by {arn}",
                            q.name
                        ),
                        q.arn.clone(),
                    );
                }
            } else if t.kind == "AWS" && t.value == "*" {
                out.finding(
                    "public-trust",
                    if t.conditional {
                        Severity::High
                    } else {
                        Severity::Critical
                    },
                    &to,
                    format!(
                        "role {}'s trust policy allows any AWS principal (`*`){}",
                        q.name,
                        if t.conditional {
                            " subject to conditions"
                        } else {
                            ""
                        }
                    ),
                    q.arn.clone(),
                );
            }
        }
    }
}

/// Does `q`'s trust policy let `p` assume it, and may `p` call `sts:AssumeRole` on it?
fn can_assume(p: &Principal, view: &View, q: &Principal, account: &str) -> Option<String> {
    // `arn:<partition>:iam::<account>:root`, checked without building the string: this runs for
    // every pair of principals.
    let is_root = |v: &str| {
        v.starts_with("arn:")
            && v.ends_with(":root")
            && account_of(v) == Some(account)
            && v.split(':').nth(2) == Some("iam")
    };
    let trusted = q.trust_principals.iter().find(|t| {
        t.kind == "AWS"
            && (t.value == p.arn || t.value == account || t.value == "*" || is_root(&t.value))
    })?;
    // An explicit deny in the principal's own policies still wins.
    let denied = view.denies.iter().any(|&(pi, si)| {
        p.policies
            .get(pi)
            .and_then(|a| a.statements.get(si))
            .is_some_and(|s| s.resource(&q.arn).is_some())
    });
    if denied {
        return None;
    }
    if trusted.value == p.arn || trusted.value == "*" {
        // The trust policy names the principal itself (or everyone): in the same account that is
        // enough without an identity-policy grant.
        return Some(format!(
            "trust policy of role {} names {} directly{}",
            q.name,
            p.name,
            if trusted.conditional {
                " (with conditions)"
            } else {
                ""
            }
        ));
    }
    let g = p.allows_in(view, &q.arn)?;
    Some(format!(
        "trust policy of role {} trusts the account{}, and {}",
        q.name,
        if trusted.conditional {
            " (with conditions)"
        } else {
            ""
        },
        g.describe("sts:AssumeRole", &q.arn)
    ))
}

fn pass_role(p: &Principal, q: &Principal) -> Option<String> {
    let pass = p.allows("iam:PassRole", &q.arn)?;
    for (service, actions, technique) in PASS_ROLE_SERVICES {
        if !q
            .trust_principals
            .iter()
            .any(|t| t.kind == "Service" && t.value == *service)
        {
            continue;
        }
        if *service == "ec2.amazonaws.com" && !q.has_instance_profile {
            continue;
        }
        let grants: Option<Vec<String>> = actions
            .iter()
            .map(|a| {
                p.allows_any(a).map(|g| {
                    let on = g.resource_pattern.clone();
                    g.describe(a, &on)
                })
            })
            .collect();
        if let Some(grants) = grants {
            return Some(format!(
                "{technique}: {}; {}",
                pass.describe("iam:PassRole", &q.arn),
                grants.join("; ")
            ));
        }
    }
    None
}

/// The techniques by which a principal rewrites its own permissions.
fn self_escalation(p: &Principal, groups: &[String]) -> Option<String> {
    let own: Vec<(&str, &str)> = if p.is_role {
        vec![
            ("iam:PutRolePolicy", "put an inline policy on itself"),
            ("iam:AttachRolePolicy", "attach a managed policy to itself"),
        ]
    } else {
        vec![
            ("iam:PutUserPolicy", "put an inline policy on itself"),
            ("iam:AttachUserPolicy", "attach a managed policy to itself"),
            ("iam:AddUserToGroup", "add itself to a group"),
        ]
    };
    for (action, technique) in own {
        if action == "iam:AddUserToGroup" {
            // Any group will do: the attacker picks the most powerful one.
            if let Some(g) = p.allows_broadly(action) {
                let on = g.resource_pattern.clone();
                return Some(format!("can {technique}: {}", g.describe(action, &on)));
            }
            for garn in groups {
                if let Some(g) = p.allows(action, garn) {
                    return Some(format!("can {technique}: {}", g.describe(action, garn)));
                }
            }
            continue;
        }
        if let Some(g) = p.allows(action, &p.arn) {
            return Some(format!("can {technique}: {}", g.describe(action, &p.arn)));
        }
    }
    for a in p
        .policies
        .iter()
        .filter(|a| a.key.starts_with("aws:arn:") && !a.key.contains("#inline:"))
    {
        let arn = a.key.trim_start_matches("aws:");
        if arn.contains(":iam::aws:policy/") {
            continue; // AWS-managed policies cannot be versioned by customers
        }
        for (action, technique) in [
            (
                "iam:CreatePolicyVersion",
                "publish a new default version of",
            ),
            (
                "iam:SetDefaultPolicyVersion",
                "switch the default version of",
            ),
        ] {
            if let Some(g) = p.allows(action, arn) {
                return Some(format!(
                    "can {technique} {}, which applies to itself: {}",
                    a.name,
                    g.describe(action, arn)
                ));
            }
        }
    }
    if !p.is_role {
        for (group, garn) in &p.groups {
            for action in ["iam:PutGroupPolicy", "iam:AttachGroupPolicy"] {
                if let Some(g) = p.allows(action, garn) {
                    return Some(format!(
                        "can change the policies of its own group {group}: {}",
                        g.describe(action, garn)
                    ));
                }
            }
        }
    }
    None
}
