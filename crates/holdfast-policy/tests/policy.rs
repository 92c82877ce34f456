//! The default policy set decides as documented; invalid policies never get in; the wrapper agrees
//! with Cedar evaluated directly, and validated policies never error at evaluation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cedar_policy::Authorizer;
use holdfast_policy::{
    Engine, Facts, PolicyError, Query, REALISTIC_POLICIES, Subject, Suite, Target, diff, run_suite,
};
use proptest::prelude::*;
use serde_json::json;

fn group(id: &str) -> serde_json::Value {
    json!({"type": "Holdfast::Group", "id": id})
}

fn entities_json() -> serde_json::Value {
    json!([
        {"uid": group("admin"), "attrs": {}, "parents": []},
        {"uid": group("reader"), "attrs": {}, "parents": []},
        {"uid": group("writer"), "attrs": {}, "parents": []},
        {"uid": group("approver"), "attrs": {}, "parents": []},
        {"uid": group("secret-readers"), "attrs": {}, "parents": []},
        {"uid": {"type": "Holdfast::Person", "id": "alice"}, "attrs": {"name": "alice"}, "parents": [group("admin")]},
        {"uid": {"type": "Holdfast::Person", "id": "bob"}, "attrs": {"name": "bob"}, "parents": [group("approver"), group("reader")]},
        {"uid": {"type": "Holdfast::Person", "id": "carol"}, "attrs": {"name": "carol"}, "parents": [group("reader")]},
        {"uid": {"type": "Holdfast::Identity", "id": "agent-7"}, "attrs": {"name": "agent-7", "kind": "ai_agent", "tier": "standard", "owner": "platform"}, "parents": [group("approver"), group("writer")]},
        {"uid": {"type": "Holdfast::Identity", "id": "deployer"}, "attrs": {"name": "deployer", "kind": "ci_job", "tier": "management_plane", "owner": "platform"}, "parents": [group("secret-readers")]},
        {"uid": {"type": "Holdfast::Api", "id": "holdfast"}, "attrs": {}, "parents": []},
        {"uid": {"type": "Holdfast::Secret", "id": "ci/deploy"}, "attrs": {"path": "ci/deploy"}, "parents": []},
        {"uid": {"type": "Holdfast::Secret", "id": "team/db"}, "attrs": {"path": "team/db"}, "parents": []},
        {"uid": {"type": "Holdfast::AccessRequest", "id": "r1"}, "attrs": {"requester": "bob", "elevated": "deployer", "tier": "management_plane"}, "parents": []},
        {"uid": {"type": "Holdfast::AccessRequest", "id": "r2"}, "attrs": {"requester": "carol", "elevated": "deployer", "tier": "management_plane"}, "parents": []},
    ])
}

fn q(principal: &str, action: &str, resource: &str) -> Query {
    Query {
        principal: principal.into(),
        action: action.into(),
        resource: resource.into(),
        context: json!({"hour": 10, "weekday": 3, "source": "10.0.0.5", "token_age_minutes": 30,
            "step_up_minutes": 5, "tier": ""}),
    }
}

const ALICE: &str = r#"Holdfast::Person::"alice""#;
const BOB: &str = r#"Holdfast::Person::"bob""#;
const CAROL: &str = r#"Holdfast::Person::"carol""#;
const AGENT: &str = r#"Holdfast::Identity::"agent-7""#;
const DEPLOYER: &str = r#"Holdfast::Identity::"deployer""#;
const API: &str = r#"Holdfast::Api::"holdfast""#;

#[test]
fn the_default_policy_set_decides_as_documented() {
    let engine = Engine::default_policies().unwrap();
    let e = engine.entities(entities_json()).unwrap();
    let decide = |query: Query| engine.decide(&query, &e).unwrap();
    let all = decide(q(ALICE, "policy.write", API));
    assert!(all.allowed);
    assert_eq!(all.policies, vec!["admins-all".to_string()]);
    // Readers read, nothing else: not secret values, not the audit log, not the management plane.
    assert!(decide(q(CAROL, "identity.list", API)).allowed);
    for action in ["identity.create", "audit.read", "token.create", "sys.seal"] {
        let denied = decide(q(CAROL, action, API));
        assert!(!denied.allowed, "{action}");
        assert!(denied.policies.is_empty(), "default deny names no policy");
    }
    assert!(!decide(q(CAROL, "secret.read", r#"Holdfast::Secret::"ci/deploy""#)).allowed);
    // Writers write and read secret values.
    assert!(decide(q(AGENT, "identity.create", API)).allowed);
    assert!(decide(q(AGENT, "secret.read", r#"Holdfast::Secret::"ci/deploy""#)).allowed);
    // Separation of duties: bob approves carol's request but not his own; an agent never approves.
    assert!(
        decide(q(
            BOB,
            "request.approve",
            r#"Holdfast::AccessRequest::"r2""#
        ))
        .allowed
    );
    let own = decide(q(
        BOB,
        "request.approve",
        r#"Holdfast::AccessRequest::"r1""#,
    ));
    assert!(!own.allowed);
    assert_eq!(own.policies, vec!["no-self-approval".to_string()]);
    let agent = decide(q(
        AGENT,
        "request.approve",
        r#"Holdfast::AccessRequest::"r2""#,
    ));
    assert!(!agent.allowed);
    assert_eq!(agent.policies, vec!["agents-never-approve".to_string()]);
    // Anyone may ask.
    assert!(decide(q(DEPLOYER, "request.create", API)).allowed);
}

#[test]
fn the_realistic_set_applies_time_windows_step_up_and_attributes() {
    let engine = Engine::new(REALISTIC_POLICIES).unwrap();
    let e = engine.entities(entities_json()).unwrap();
    let decide = |query: Query| engine.decide(&query, &e).unwrap();
    assert!(decide(q(ALICE, "token.create", API)).allowed);
    let mut night = q(ALICE, "token.create", API);
    night.context["hour"] = json!(23);
    let d = decide(night);
    assert!(!d.allowed);
    assert_eq!(d.policies, vec!["management-in-working-hours".to_string()]);
    let mut stale = q(ALICE, "token.create", API);
    stale.context["step_up_minutes"] = json!(16);
    assert_eq!(
        decide(stale).policies,
        vec!["management-needs-step-up".to_string()]
    );
    let ci = r#"Holdfast::Secret::"ci/deploy""#;
    let team = r#"Holdfast::Secret::"team/db""#;
    let d = decide(q(DEPLOYER, "secret.read", ci));
    assert_eq!(d.policies, vec!["ci-reads-ci-secrets".to_string()]);
    let mut late = q(DEPLOYER, "secret.read", ci);
    late.context["hour"] = json!(23);
    assert!(
        !decide(late).allowed,
        "CI reads CI secrets in working hours only"
    );
    assert!(decide(q(DEPLOYER, "secret.read", team)).allowed);
    assert!(!decide(q(CAROL, "secret.read", ci)).allowed);
    // Writers do not touch management-plane identities; admins do.
    let mut mp = q(AGENT, "identity.update", API);
    mp.context["tier"] = json!("management_plane");
    assert_eq!(
        decide(mp).policies,
        vec!["management-plane-identities-need-admin".to_string()]
    );
    let mut mp = q(ALICE, "identity.update", API);
    mp.context["tier"] = json!("management_plane");
    assert!(decide(mp).allowed);
}

#[test]
fn an_invalid_policy_is_refused_with_cedars_diagnostics() {
    let err = Engine::new(r#"@id("x") permit(principal, action == Holdfast::Action::"identity.list", resource) when { principal.nickname == "x" };"#).unwrap_err();
    match err {
        PolicyError::Invalid(diags) => {
            assert!(diags.iter().any(|d| d.contains("nickname")), "{diags:?}")
        }
        other => panic!("{other}"),
    }
    assert!(matches!(
        Engine::new("permit(principal, action, resource"),
        Err(PolicyError::Parse(_))
    ));
    assert!(matches!(
        Engine::new(r#"@id("x") permit(principal, action == Holdfast::Action::"fly", resource);"#),
        Err(PolicyError::Invalid(_))
    ));
    // Every policy is named, once.
    let unnamed = Engine::new("permit(principal, action, resource);").unwrap_err();
    assert!(unnamed.to_string().contains("@id"), "{unnamed}");
    let twice = Engine::new(
        r#"@id("a") permit(principal, action, resource); @id("a") forbid(principal, action, resource);"#,
    )
    .unwrap_err();
    assert!(twice.to_string().contains("more than one"), "{twice}");
    // A request the schema does not allow is refused before evaluation.
    let engine = Engine::default_policies().unwrap();
    let e = engine.entities(entities_json()).unwrap();
    let bad = engine.decide(&q(ALICE, "request.approve", API), &e);
    assert!(matches!(bad, Err(PolicyError::Request(_))), "{bad:?}");
    let mut wrong_type = q(ALICE, "identity.list", API);
    wrong_type.context["hour"] = json!("ten");
    let err = engine.decide(&wrong_type, &e).unwrap_err();
    assert!(matches!(err, PolicyError::Request(_)), "{err:?}");
    let mut missing = q(ALICE, "identity.list", API);
    missing.context.as_object_mut().unwrap().remove("tier");
    assert!(
        engine.decide(&missing, &e).is_err(),
        "every context key is required"
    );
    let unknown = engine.decide(&q(ALICE, "fly", API), &e).unwrap_err();
    assert!(unknown.to_string().contains("`fly`"), "{unknown}");
}

#[test]
fn diff_matches_policies_by_id_and_ignores_layout() {
    let a = Engine::new(r#"@id("one") permit(principal, action, resource); @id("two") forbid(principal, action, resource) when { context.hour > 20 };"#).unwrap();
    let b = Engine::new("// comment\n@id(\"two\")\nforbid (principal, action, resource)\nwhen { context.hour > 21 };\n@id(\"three\") permit(principal, action == Holdfast::Action::\"identity.list\", resource);").unwrap();
    let changes = diff(&a, &b);
    let summary: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| (c.id.as_str(), c.change.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![("one", "removed"), ("two", "changed"), ("three", "added")]
    );
    assert!(diff(&a, &a).is_empty());
}

#[test]
fn a_suite_reports_each_case_and_catches_a_wrong_expectation() {
    let engine = Engine::default_policies().unwrap();
    let suite: Suite = serde_json::from_value(json!({
        "entities": entities_json(),
        "cases": [
            {"name": "carol reads", "principal": CAROL, "action": "identity.list", "resource": API, "expect": "allow", "decided_by": ["readers-read"]},
            {"name": "carol writes", "principal": CAROL, "action": "identity.create", "resource": API, "expect": "allow"},
            {"name": "bad action", "principal": CAROL, "action": "fly", "resource": API, "expect": "deny"},
        ]
    }))
    .unwrap();
    let results = run_suite(&engine, &suite).unwrap();
    assert_eq!(
        results.iter().map(|r| r.passed).collect::<Vec<_>>(),
        vec![true, false, false]
    );
    assert!(
        results[1]
            .problem
            .as_deref()
            .unwrap()
            .contains("expected allow, got deny")
    );
}

const PRINCIPALS: &[&str] = &[ALICE, BOB, CAROL, AGENT, DEPLOYER];
const ACTIONS: &[(&str, &str)] = &[
    ("identity.list", API),
    ("identity.create", API),
    ("audit.read", API),
    ("secret.read", r#"Holdfast::Secret::"ci/deploy""#),
    ("secret.read", r#"Holdfast::Secret::"team/db""#),
    ("secret.write", r#"Holdfast::Secret::"ci/deploy""#),
    ("request.create", API),
    ("request.approve", r#"Holdfast::AccessRequest::"r1""#),
    ("request.approve", r#"Holdfast::AccessRequest::"r2""#),
    ("policy.write", API),
    ("token.create", API),
    ("breakglass", API),
];

fn person_or_identity(p: &str) -> (Subject, Vec<String>) {
    let all = entities_json();
    let id = p.split('"').nth(1).unwrap();
    let e = all
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["uid"]["id"] == id)
        .unwrap();
    let groups = e["parents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect();
    let attr = |k: &str| e["attrs"][k].as_str().unwrap().to_string();
    let subject = if p.starts_with("Holdfast::Person") {
        Subject::Person { name: attr("name") }
    } else {
        Subject::Identity {
            id: id.to_string(),
            name: attr("name"),
            kind: attr("kind"),
            tier: attr("tier"),
            owner: attr("owner"),
        }
    };
    (subject, groups)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn the_wrapper_agrees_with_cedar_and_validated_policies_never_error(
        realistic in any::<bool>(),
        p in 0..PRINCIPALS.len(),
        a in 0..ACTIONS.len(),
        step_up in 0i64..120,
        token_age in 0i64..100_000,
        hour in 0i64..24,
        weekday in 1i64..=7,
        tier in prop::sample::select(vec!["", "standard", "management_plane"]),
    ) {
        let engine = if realistic {
            Engine::new(REALISTIC_POLICIES).unwrap()
        } else {
            Engine::default_policies().unwrap()
        };
        let e = engine.entities(entities_json()).unwrap();
        let (action, resource) = ACTIONS[a];
        let mut query = q(PRINCIPALS[p], action, resource);
        query.context = json!({"hour": hour, "weekday": weekday, "source": "10.0.0.5",
            "token_age_minutes": token_age, "step_up_minutes": step_up, "tier": tier});
        let ours = engine.decide(&query, &e).unwrap();
        let direct = Authorizer::new().is_authorized(&engine.request(&query).unwrap(), engine.policies(), &e);
        prop_assert_eq!(ours.allowed, direct.decision() == cedar_policy::Decision::Allow);
        prop_assert!(ours.errors.is_empty(), "{:?}", ours.errors);
        prop_assert_eq!(direct.diagnostics().errors().count(), 0);
        // The typed path the server uses decides the same as the JSON path, for Api and Secret targets.
        if !resource.contains("AccessRequest") {
            let (subject, groups) = person_or_identity(PRINCIPALS[p]);
            let target = match resource.split('"').nth(1).unwrap() {
                "holdfast" => Target::Api,
                path => Target::Secret(path.to_string()),
            };
            let facts = Facts { hour, weekday, source: "10.0.0.5".into(), token_age_minutes: token_age,
                step_up_minutes: step_up, tier: tier.to_string(), grant: None };
            let typed = engine.authorize(&subject, &groups, action, &target, &facts).unwrap();
            prop_assert_eq!(typed, ours);
        }
    }
}
