//! Holdfast's policy facade over Cedar: the schema of Holdfast's entities and actions, policies
//! validated against it before they are accepted (an invalid policy is refused with Cedar's
//! diagnostics), decisions that name the policies that made them, policy diffs by `@id`, and policy
//! test suites. Pure and synchronous: the server says who asks for what; this crate decides.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entity, EntityUid, PolicySet, Request,
    RestrictedExpression, Schema, ValidationMode, Validator,
};
use serde::{Deserialize, Serialize};

pub use cedar_policy::Entities;

/// The schema, in Cedar's schema syntax.
pub const SCHEMA: &str = include_str!("../policy/holdfast.cedarschema");
/// The policy set a fresh installation starts with.
pub const DEFAULT_POLICIES: &str = include_str!("../policy/default.cedar");
/// A realistic policy set (roles, attributes, time windows, step-up, separation of duties), the
/// one the authorisation benchmark measures.
pub const REALISTIC_POLICIES: &str = include_str!("../policy/examples/realistic.cedar");

/// Why a policy set or a request was refused. Messages are Cedar's diagnostics.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("the schema does not parse: {0}")]
    Schema(String),
    #[error("the policies do not parse: {0}")]
    Parse(String),
    #[error("the policies do not validate against the schema: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("entities: {0}")]
    Entities(String),
    #[error("request: {0}")]
    Request(String),
}

/// Context keys every decision carries, and the value a key takes when a caller leaves it out.
/// Missing freshness reads as "very long ago", so a policy that asks for a recent step-up is never
/// satisfied by omission.
pub const NEVER_MINUTES: i64 = 1_000_000_000;

/// One authorisation question in Cedar's own terms (the decision point's wire form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// `Holdfast::Person::"alice"`
    pub principal: String,
    /// `identity.list`, or a fully named action `Holdfast::Action::"identity.list"`.
    pub action: String,
    /// `Holdfast::Api::"holdfast"`
    pub resource: String,
    /// `hour`, `weekday`, `source`, `token_age_minutes`, `step_up_minutes`, `tier`; missing keys
    /// take their defaults (see [`complete_context`]).
    #[serde(default)]
    pub context: serde_json::Value,
}

/// The answer, with the policies that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub allowed: bool,
    /// Ids of the policies that determined the decision (the permits that allowed it, or the
    /// forbids that denied it; empty when nothing applied and the default deny held).
    pub policies: Vec<String>,
    /// Evaluation errors (never expected from a validated policy set).
    pub errors: Vec<String>,
}

/// The facts about the moment of a decision, the `context` of every Holdfast request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub hour: i64,
    pub weekday: i64,
    pub source: String,
    pub token_age_minutes: i64,
    pub step_up_minutes: i64,
    pub tier: String,
    /// What an access request asks for: kind, audience, scopes.
    pub grant: Option<GrantFacts>,
}

/// What an access request or break-glass asks for, as policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantFacts {
    pub kind: String,
    pub audience: String,
    pub scopes: Vec<String>,
}

/// Who asks: a person or an identity, and the groups (roles) it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Person {
        name: String,
    },
    Identity {
        id: String,
        name: String,
        kind: String,
        tier: String,
        owner: String,
    },
}

/// What the action is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Holdfast itself.
    Api,
    /// A secret, by path.
    Secret(String),
    /// An access request: its id, the requester's and the grantee's names, and its tier.
    Request {
        id: String,
        requester: String,
        elevated: String,
        tier: String,
    },
}

/// A validated policy set with its schema, ready to decide.
#[derive(Debug, Clone)]
pub struct Engine {
    schema: Schema,
    policies: PolicySet,
    /// Every action the schema declares (`identity.list`, …), for early, clear refusals.
    actions: HashSet<String>,
    /// Approval rules, by the `@id` of the policy that carries them.
    rules: BTreeMap<String, ApprovalRule>,
}

/// What an access request needs before it is granted, read from the annotations of a policy
/// that permits `request.create`: `@approvals("N")`, `@approvers("group,group")`,
/// `@max_ttl_minutes("M")`, `@max_ttl_minutes_management("M")`, `@tiers("standard,…")`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRule {
    /// The policy that carries the rule ("" for the built-in fallback).
    pub policy: String,
    /// Distinct approvers needed.
    pub approvals: u32,
    /// Groups the approvers must belong to (any of them).
    pub approvers: Vec<String>,
    pub max_ttl_minutes: u32,
    /// The bound when what is asked for is management-plane.
    pub max_ttl_minutes_management: u32,
    /// The scope tiers the rule may grant; `None` means every tier.
    pub tiers: Option<Vec<String>>,
}

impl ApprovalRule {
    /// The rule when no permitting policy carries one: one approver from `approver`, one hour
    /// (fifteen minutes for the management plane).
    pub fn fallback() -> Self {
        Self {
            policy: String::new(),
            approvals: 1,
            approvers: vec!["approver".into()],
            max_ttl_minutes: 60,
            max_ttl_minutes_management: 15,
            tiers: None,
        }
    }

    pub fn covers(&self, tier: &str) -> bool {
        self.tiers
            .as_ref()
            .is_none_or(|t| t.iter().any(|x| x == tier))
    }

    pub fn max_ttl(&self, tier: &str) -> u32 {
        if tier == "management_plane" {
            self.max_ttl_minutes_management.min(self.max_ttl_minutes)
        } else {
            self.max_ttl_minutes
        }
    }
}

const RULE_KEYS: [&str; 5] = [
    "approvals",
    "approvers",
    "max_ttl_minutes",
    "max_ttl_minutes_management",
    "tiers",
];

/// Reads the approval rule a policy carries, if any; `Err` names what is wrong with it.
fn rule_of(p: &cedar_policy::Policy) -> Result<Option<ApprovalRule>, String> {
    let id = p.annotation("id").unwrap_or("").to_string();
    if !RULE_KEYS.iter().any(|k| p.annotation(k).is_some()) {
        return Ok(None);
    }
    let covers_create = match p.action_constraint() {
        cedar_policy::ActionConstraint::Any => true,
        cedar_policy::ActionConstraint::Eq(a) => a.id().unescaped() == "request.create",
        cedar_policy::ActionConstraint::In(list) => {
            list.iter().any(|a| a.id().unescaped() == "request.create")
        }
    };
    if p.effect() != cedar_policy::Effect::Permit || !covers_create {
        return Err(format!(
            "@id(\"{id}\"): approval annotations belong on a policy that permits `request.create`"
        ));
    }
    let number = |key: &str, default: u32| -> Result<u32, String> {
        match p.annotation(key) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("@id(\"{id}\"): @{key}(\"{v}\") is not a whole number")),
        }
    };
    let list = |key: &str| -> Option<Vec<String>> {
        p.annotation(key).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
    };
    let fallback = ApprovalRule::fallback();
    let rule = ApprovalRule {
        policy: id.clone(),
        approvals: number("approvals", fallback.approvals)?,
        approvers: list("approvers").unwrap_or(fallback.approvers),
        max_ttl_minutes: number("max_ttl_minutes", fallback.max_ttl_minutes)?,
        max_ttl_minutes_management: number(
            "max_ttl_minutes_management",
            fallback.max_ttl_minutes_management,
        )?,
        tiers: list("tiers"),
    };
    if rule.approvals > 0 && rule.approvers.is_empty() {
        return Err(format!(
            "@id(\"{id}\"): @approvers must name at least one group when approvals are needed"
        ));
    }
    if rule.approvals == 0 && rule.covers("management_plane") {
        return Err(format!(
            "@id(\"{id}\"): a rule with zero approvals may not cover the management plane; add @tiers(\"standard\") or require approvals"
        ));
    }
    if rule.max_ttl_minutes == 0 || rule.max_ttl_minutes_management == 0 {
        return Err(format!(
            "@id(\"{id}\"): a maximum TTL must be at least one minute"
        ));
    }
    Ok(Some(rule))
}

/// The schema, parsed.
pub fn schema() -> Result<Schema, PolicyError> {
    Schema::from_cedarschema_str(SCHEMA)
        .map(|(s, _warnings)| s)
        .map_err(|e| PolicyError::Schema(e.to_string()))
}

/// Fills the context keys a caller left out: the hour and weekday from `now_hour`/`now_weekday`,
/// an empty source and tier, and "never" for token age and step-up.
pub fn complete_context(
    context: &serde_json::Value,
    now_hour: i64,
    now_weekday: i64,
) -> Result<serde_json::Value, PolicyError> {
    let mut map = match context {
        serde_json::Value::Null => serde_json::Map::new(),
        serde_json::Value::Object(m) => m.clone(),
        _ => {
            return Err(PolicyError::Request(
                "context: must be an object".to_string(),
            ));
        }
    };
    let defaults = [
        ("hour", serde_json::json!(now_hour)),
        ("weekday", serde_json::json!(now_weekday)),
        ("source", serde_json::json!("")),
        ("token_age_minutes", serde_json::json!(NEVER_MINUTES)),
        ("step_up_minutes", serde_json::json!(NEVER_MINUTES)),
        ("tier", serde_json::json!("")),
    ];
    for (k, v) in defaults {
        map.entry(k.to_string()).or_insert(v);
    }
    Ok(serde_json::Value::Object(map))
}

fn uid(type_name: &str, id: &str) -> Result<EntityUid, PolicyError> {
    let ty = cedar_policy::EntityTypeName::from_str(type_name)
        .map_err(|e| PolicyError::Request(format!("{type_name}: {e}")))?;
    Ok(EntityUid::from_type_name_and_id(
        ty,
        cedar_policy::EntityId::new(id),
    ))
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_string())
}

impl Engine {
    /// Parses `text` and validates it against the schema (strict mode); refuses it with Cedar's
    /// diagnostics otherwise. Every policy needs a unique `@id` so decisions can name it.
    pub fn new(text: &str) -> Result<Self, PolicyError> {
        let schema = schema()?;
        let policies = PolicySet::from_str(text).map_err(|e| PolicyError::Parse(e.to_string()))?;
        let mut problems = Vec::new();
        let mut seen = HashSet::new();
        for p in policies.policies() {
            match p.annotation("id") {
                None => problems.push(format!(
                    "policy {} has no @id(\"…\") annotation; every policy needs one so decisions can name it",
                    p.id()
                )),
                Some(id) if !seen.insert(id.to_string()) => {
                    problems.push(format!("@id(\"{id}\") is used by more than one policy"));
                }
                Some(_) => {}
            }
        }
        let mut rules = BTreeMap::new();
        for p in policies.policies() {
            match rule_of(p) {
                Ok(Some(rule)) => {
                    rules.insert(rule.policy.clone(), rule);
                }
                Ok(None) => {}
                Err(e) => problems.push(e),
            }
        }
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        problems.extend(result.validation_errors().map(|e| e.to_string()));
        if !problems.is_empty() {
            return Err(PolicyError::Invalid(problems));
        }
        let actions = schema
            .actions()
            .map(|a| a.id().unescaped().to_string())
            .collect();
        Ok(Self {
            schema,
            policies,
            actions,
            rules,
        })
    }

    /// The default policy set.
    pub fn default_policies() -> Result<Self, PolicyError> {
        Self::new(DEFAULT_POLICIES)
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    /// The approval rule for a request of `tier` that `decision` permitted: the strictest rule
    /// among the permitting policies that cover the tier (most approvals, then shortest TTL), or
    /// the fallback when none does.
    pub fn approval_rule(&self, decision: &Decision, tier: &str) -> ApprovalRule {
        decision
            .policies
            .iter()
            .filter_map(|id| self.rules.get(id))
            .filter(|r| r.covers(tier))
            .max_by(|a, b| {
                a.approvals
                    .cmp(&b.approvals)
                    .then(b.max_ttl(tier).cmp(&a.max_ttl(tier)))
            })
            .cloned()
            .unwrap_or_else(ApprovalRule::fallback)
    }

    /// Whether the schema declares `action` (`identity.list`).
    pub fn knows_action(&self, action: &str) -> bool {
        self.actions.contains(action)
    }

    /// Entities from Cedar's JSON form, checked against the schema.
    pub fn entities(&self, json: serde_json::Value) -> Result<Entities, PolicyError> {
        Entities::from_json_value(json, Some(&self.schema))
            .map_err(|e| PolicyError::Entities(e.to_string()))
    }

    /// The Cedar request for a query, checked against the schema.
    pub fn request(&self, q: &Query) -> Result<Request, PolicyError> {
        let parse = |s: &str, what: &str| {
            EntityUid::from_str(s).map_err(|e| PolicyError::Request(format!("{what}: {e}")))
        };
        let principal = parse(&q.principal, "principal")?;
        let action = if q.action.contains("::") {
            parse(&q.action, "action")?
        } else {
            if !self.knows_action(&q.action) {
                return Err(PolicyError::Request(format!(
                    "action: `{}` is not an action the schema declares",
                    q.action
                )));
            }
            uid("Holdfast::Action", &q.action)?
        };
        let resource = parse(&q.resource, "resource")?;
        let context = self.context(&q.context, &action)?;
        Request::new(principal, action, resource, context, Some(&self.schema))
            .map_err(|e| PolicyError::Request(e.to_string()))
    }

    /// A context from JSON. Flat objects of strings, integers and booleans (every context
    /// Holdfast's schema declares) are built directly, which is several times cheaper than Cedar's
    /// JSON parser; anything else goes through it. Either way `Request::new` checks the result
    /// against the schema.
    fn context(
        &self,
        json: &serde_json::Value,
        action: &EntityUid,
    ) -> Result<Context, PolicyError> {
        let err = |e: String| PolicyError::Request(format!("context: {e}"));
        if let serde_json::Value::Object(map) = json {
            let mut pairs = Vec::with_capacity(map.len());
            for (k, v) in map {
                let value = match v {
                    serde_json::Value::String(s) => RestrictedExpression::new_string(s.clone()),
                    serde_json::Value::Bool(b) => RestrictedExpression::new_bool(*b),
                    serde_json::Value::Number(n) if n.as_i64().is_some() => {
                        RestrictedExpression::new_long(n.as_i64().unwrap_or_default())
                    }
                    _ => {
                        pairs.clear();
                        break;
                    }
                };
                pairs.push((k.clone(), value));
            }
            if pairs.len() == map.len() {
                return Context::from_pairs(pairs).map_err(|e| err(e.to_string()));
            }
        }
        Context::from_json_value(json.clone(), Some((&self.schema, action)))
            .map_err(|e| err(e.to_string()))
    }

    /// Decides a query against `entities`.
    pub fn decide(&self, q: &Query, entities: &Entities) -> Result<Decision, PolicyError> {
        let request = self.request(q)?;
        Ok(self.run(&request, entities))
    }

    /// Decides a query against `base` plus the entities the query brings along (Cedar JSON); the
    /// ones brought along may not redefine stored ones.
    pub fn decide_with(
        &self,
        q: &Query,
        base: &Entities,
        extra: Option<&serde_json::Value>,
    ) -> Result<Decision, PolicyError> {
        match extra {
            None => self.decide(q, base),
            Some(json) => {
                let all = base
                    .clone()
                    .add_entities_from_json_value(json.clone(), Some(&self.schema))
                    .map_err(|e| PolicyError::Entities(e.to_string()))?;
                self.decide(q, &all)
            }
        }
    }

    fn run(&self, request: &Request, entities: &Entities) -> Decision {
        let response = Authorizer::new().is_authorized(request, &self.policies, entities);
        let mut policies: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| {
                self.policies
                    .policy(id)
                    .and_then(|p| p.annotation("id").map(str::to_string))
                    .unwrap_or_else(|| id.to_string())
            })
            .collect();
        policies.sort();
        Decision {
            allowed: response.decision() == CedarDecision::Allow,
            policies,
            errors: response
                .diagnostics()
                .errors()
                .map(|e| e.to_string())
                .collect(),
        }
    }

    /// Decides whether `subject` (a member of `groups`) may perform `action` on `target`, the way
    /// Holdfast authorises its own API.
    pub fn authorize(
        &self,
        subject: &Subject,
        groups: &[String],
        action: &str,
        target: &Target,
        facts: &Facts,
    ) -> Result<Decision, PolicyError> {
        if !self.knows_action(action) {
            return Err(PolicyError::Request(format!(
                "action: `{action}` is not an action the schema declares"
            )));
        }
        let parents: HashSet<EntityUid> = groups
            .iter()
            .map(|g| uid("Holdfast::Group", g))
            .collect::<Result<_, _>>()?;
        let mut entities: Vec<Entity> = parents
            .iter()
            .map(|g| Entity::new_no_attrs(g.clone(), HashSet::new()))
            .collect();
        let (principal, attrs) = match subject {
            Subject::Person { name } => (
                uid("Holdfast::Person", name)?,
                HashMap::from([("name".to_string(), string(name))]),
            ),
            Subject::Identity {
                id,
                name,
                kind,
                tier,
                owner,
            } => (
                uid("Holdfast::Identity", id)?,
                HashMap::from([
                    ("name".to_string(), string(name)),
                    ("kind".to_string(), string(kind)),
                    ("tier".to_string(), string(tier)),
                    ("owner".to_string(), string(owner)),
                ]),
            ),
        };
        entities.push(
            Entity::new(principal.clone(), attrs, parents)
                .map_err(|e| PolicyError::Entities(e.to_string()))?,
        );
        let resource = match target {
            Target::Api => {
                let r = uid("Holdfast::Api", "holdfast")?;
                entities.push(Entity::new_no_attrs(r.clone(), HashSet::new()));
                r
            }
            Target::Secret(path) => {
                let r = uid("Holdfast::Secret", path)?;
                entities.push(
                    Entity::new(
                        r.clone(),
                        HashMap::from([("path".to_string(), string(path))]),
                        HashSet::new(),
                    )
                    .map_err(|e| PolicyError::Entities(e.to_string()))?,
                );
                r
            }
            Target::Request {
                id,
                requester,
                elevated,
                tier,
            } => {
                let r = uid("Holdfast::AccessRequest", id)?;
                entities.push(
                    Entity::new(
                        r.clone(),
                        HashMap::from([
                            ("requester".to_string(), string(requester)),
                            ("elevated".to_string(), string(elevated)),
                            ("tier".to_string(), string(tier)),
                        ]),
                        HashSet::new(),
                    )
                    .map_err(|e| PolicyError::Entities(e.to_string()))?,
                );
                r
            }
        };
        let entities = Entities::from_entities(entities, Some(&self.schema))
            .map_err(|e| PolicyError::Entities(e.to_string()))?;
        let action = uid("Holdfast::Action", action)?;
        let mut pairs = vec![
            (
                "hour".to_string(),
                RestrictedExpression::new_long(facts.hour),
            ),
            (
                "weekday".to_string(),
                RestrictedExpression::new_long(facts.weekday),
            ),
            ("source".to_string(), string(&facts.source)),
            (
                "token_age_minutes".to_string(),
                RestrictedExpression::new_long(facts.token_age_minutes),
            ),
            (
                "step_up_minutes".to_string(),
                RestrictedExpression::new_long(facts.step_up_minutes),
            ),
            ("tier".to_string(), string(&facts.tier)),
        ];
        if let Some(g) = &facts.grant {
            pairs.push(("grant_kind".to_string(), string(&g.kind)));
            pairs.push(("audience".to_string(), string(&g.audience)));
            pairs.push((
                "scopes".to_string(),
                RestrictedExpression::new_set(g.scopes.iter().map(|s| string(s))),
            ));
        }
        let context = Context::from_pairs(pairs)
            .map_err(|e| PolicyError::Request(format!("context: {e}")))?;
        let request = Request::new(principal, action, resource, context, Some(&self.schema))
            .map_err(|e| PolicyError::Request(e.to_string()))?;
        Ok(self.run(&request, &entities))
    }

    /// The policies by `@id`, each in Cedar's text form.
    pub fn by_id(&self) -> BTreeMap<String, String> {
        self.policies
            .policies()
            .map(|p| (p.annotation("id").unwrap_or("").to_string(), p.to_string()))
            .collect()
    }
}

/// How one policy changed between two policy sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChange {
    pub id: String,
    /// `added`, `removed` or `changed`.
    pub change: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// What changes, policy by policy (matched by `@id`), when `before` is replaced by `after`.
/// Comments and layout are not changes; a policy's meaning is.
pub fn diff(before: &Engine, after: &Engine) -> Vec<PolicyChange> {
    let (a, b) = (before.by_id(), after.by_id());
    let mut out = Vec::new();
    for (id, text) in &a {
        match b.get(id) {
            None => out.push(PolicyChange {
                id: id.clone(),
                change: "removed".into(),
                before: Some(text.clone()),
                after: None,
            }),
            Some(t) if t != text => out.push(PolicyChange {
                id: id.clone(),
                change: "changed".into(),
                before: Some(text.clone()),
                after: Some(t.clone()),
            }),
            Some(_) => {}
        }
    }
    for (id, text) in &b {
        if !a.contains_key(id) {
            out.push(PolicyChange {
                id: id.clone(),
                change: "added".into(),
                before: None,
                after: Some(text.clone()),
            });
        }
    }
    out
}

/// A policy test suite: entities and the decisions expected of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Entities in Cedar's JSON form.
    #[serde(default)]
    pub entities: serde_json::Value,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    #[serde(flatten)]
    pub query: Query,
    /// `allow` or `deny`.
    pub expect: Expect,
    /// When given, the policies that must have decided it (by `@id`, any order).
    #[serde(default)]
    pub decided_by: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    Allow,
    Deny,
}

/// One case's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseResult {
    pub name: String,
    pub passed: bool,
    pub decision: Option<Decision>,
    /// Why it failed (a wrong decision, or a request the schema refuses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Runs a suite against the policy set. The context of each case is completed with defaults
/// (hour 12 on a Wednesday unless the case says otherwise).
pub fn run_suite(engine: &Engine, suite: &Suite) -> Result<Vec<CaseResult>, PolicyError> {
    let entities = if suite.entities.is_null() {
        Entities::from_entities([], Some(engine.schema()))
            .map_err(|e| PolicyError::Entities(e.to_string()))?
    } else {
        engine.entities(suite.entities.clone())?
    };
    Ok(suite
        .cases
        .iter()
        .map(|case| {
            let mut q = case.query.clone();
            let outcome = complete_context(&q.context, 12, 3).and_then(|c| {
                q.context = c;
                engine.decide(&q, &entities)
            });
            match outcome {
                Err(e) => CaseResult {
                    name: case.name.clone(),
                    passed: false,
                    decision: None,
                    problem: Some(e.to_string()),
                },
                Ok(d) => {
                    let mut problem = None;
                    if d.allowed != (case.expect == Expect::Allow) {
                        problem = Some(format!(
                            "expected {}, got {}",
                            if case.expect == Expect::Allow {
                                "allow"
                            } else {
                                "deny"
                            },
                            if d.allowed { "allow" } else { "deny" }
                        ));
                    } else if let Some(want) = &case.decided_by {
                        let mut want = want.clone();
                        want.sort();
                        if want != d.policies {
                            problem = Some(format!(
                                "decided by [{}], expected [{}]",
                                d.policies.join(", "),
                                want.join(", ")
                            ));
                        }
                    }
                    if !d.errors.is_empty() && problem.is_none() {
                        problem = Some(format!("evaluation errors: {}", d.errors.join("; ")));
                    }
                    CaseResult {
                        name: case.name.clone(),
                        passed: problem.is_none(),
                        decision: Some(d),
                        problem,
                    }
                }
            }
        })
        .collect())
}
