//! Policy as code: every route decided by the Cedar policy set for every built-in role; versions
//! validated on write; the decision point for other systems.

use std::collections::BTreeMap;

use holdfast_audit::Outcome;
use holdfast_client::ClientError;
use holdfast_core::Role;
use holdfast_types::{
    ApplyPolicyRequest, AuthorizeRequest, BatchAuthorizeRequest, CreateTokenRequest,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{BIN, Server, cli, identity_req, owner, stderr, stdout};

fn api_err(e: ClientError) -> (u16, String, Option<String>, String) {
    match e {
        ClientError::Api { status, error } => (status, error.code, error.field, error.message),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Who the default policy set lets through, by class of action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// No token needed (health; init before initialisation).
    Open,
    Read,
    Write,
    SecretValues,
    Audit,
    Approval,
    Management,
}

impl Class {
    fn allows(self, role: Role) -> bool {
        match self {
            Class::Open | Class::Read => true,
            Class::Write | Class::SecretValues => matches!(role, Role::Writer | Role::Admin),
            Class::Audit => matches!(role, Role::Auditor | Role::Admin),
            Class::Approval => matches!(role, Role::Approver | Role::Admin),
            Class::Management => role == Role::Admin,
        }
    }
}

/// The expected decision for every route. A route missing here fails the test.
fn expectations() -> BTreeMap<(&'static str, &'static str), Class> {
    use Class::*;
    BTreeMap::from([
        (("GET", "/v1/sys/health"), Open),
        (("POST", "/v1/sys/init"), Open),
        (("POST", "/v1/sys/unseal"), Read),
        (("POST", "/v1/sys/seal"), Management),
        (("POST", "/v1/sys/rotate-keyring"), Management),
        (("POST", "/v1/sys/rekey"), Management),
        (("POST", "/v1/sys/rekey/authorize"), Management),
        (("POST", "/v1/sys/rekey/verify"), Management),
        (("GET", "/v1/openapi.json"), Read),
        (("GET", "/v1/owners"), Read),
        (("POST", "/v1/owners"), Write),
        (("GET", "/v1/owners/{owner}"), Read),
        (("PATCH", "/v1/owners/{owner}"), Write),
        (("GET", "/v1/systems"), Read),
        (("POST", "/v1/systems"), Write),
        (("GET", "/v1/systems/{system}"), Read),
        (("GET", "/v1/identities"), Read),
        (("POST", "/v1/identities"), Write),
        (("GET", "/v1/identities/{id}"), Read),
        (("PATCH", "/v1/identities/{id}"), Write),
        (("POST", "/v1/identities/{id}/transition"), Write),
        (("GET", "/v1/credentials"), Read),
        (("POST", "/v1/credentials"), Write),
        (("GET", "/v1/credentials/{id}"), Read),
        (("PATCH", "/v1/credentials/{id}"), Write),
        (("POST", "/v1/credentials/{id}/exposures"), Write),
        (("GET", "/v1/entitlements"), Read),
        (("POST", "/v1/entitlements"), Write),
        (("GET", "/v1/entitlements/{id}"), Read),
        (("DELETE", "/v1/entitlements/{id}"), Write),
        (("POST", "/v1/scan/reports"), Write),
        (("GET", "/v1/leaks"), Read),
        (("GET", "/v1/leaks/{id}"), Read),
        (("GET", "/v1/tokens"), Management),
        (("POST", "/v1/tokens"), Management),
        (("POST", "/v1/tokens/{id}/revoke"), Management),
        (("GET", "/v1/audit"), Audit),
        (("GET", "/v1/audit/verify"), Audit),
        (("GET", "/v1/audit/keys"), Audit),
        (("GET", "/v1/audit/checkpoints"), Audit),
        (("GET", "/v1/discover/sources"), Read),
        (("POST", "/v1/discover/{connector}"), Write),
        (("GET", "/v1/graph/blast-radius"), Read),
        (("GET", "/v1/secrets"), Read),
        (("GET", "/v1/secrets/{path}"), SecretValues),
        (("PUT", "/v1/secrets/{path}"), Write),
        (("GET", "/v1/secret-metadata/{path}"), Read),
        (("POST", "/v1/secret-rotations/{path}"), Write),
        (("GET", "/v1/secret-rotations/{path}"), Read),
        (("POST", "/v1/secret-rotation-acks/{path}"), Write),
        (("POST", "/v1/secret-rotations-emergency"), Write),
        (("POST", "/v1/secret-versions/delete/{path}"), Write),
        (("POST", "/v1/secret-versions/undelete/{path}"), Write),
        (("POST", "/v1/secret-versions/destroy/{path}"), Management),
        (("GET", "/v1/policy"), Read),
        (("PUT", "/v1/policy"), Management),
        (("GET", "/v1/policy/history"), Read),
        (("GET", "/v1/policy/versions/{version}"), Read),
        (("PUT", "/v1/policy/entities"), Management),
        (("POST", "/v1/authorize"), Read),
        (("POST", "/v1/authorize/batch"), Read),
        (("POST", "/v1/requests"), Read),
        (("GET", "/v1/requests"), Read),
        (("GET", "/v1/requests/{id}"), Read),
        (("POST", "/v1/requests/{id}/approve"), Approval),
        (("POST", "/v1/requests/{id}/deny"), Approval),
        (("POST", "/v1/requests/{id}/cancel"), Read),
        (("POST", "/v1/requests/{id}/issue"), Read),
        (("GET", "/v1/leases"), Read),
        (("POST", "/v1/leases/revoke-holder"), Management),
        (("POST", "/v1/leases/{id}/renew"), Read),
        (("POST", "/v1/leases/{id}/revoke"), Management),
        (("GET", "/v1/grants/jwks"), Read),
        (("POST", "/v1/grants/introspect"), Read),
        (("GET", "/v1/grants/x509"), Read),
        (("POST", "/v1/breakglass"), Management),
        (("POST", "/v1/auth/step-up/enroll"), Read),
        (("POST", "/v1/auth/step-up"), Read),
        (("GET", "/v1/reviews"), Read),
        (("POST", "/v1/reviews/{id}/close"), Approval),
        (("POST", "/v1/events"), Write),
        (("GET", "/v1/alerts"), Read),
        (("GET", "/v1/alerts/{id}"), Read),
        (("POST", "/v1/alerts/{id}/ack"), Write),
        (("POST", "/v1/alerts/{id}/close"), Write),
        (("GET", "/v1/identities/{id}/usage"), Read),
        (("GET", "/v1/identities/{id}/risk"), Read),
        (("GET", "/v1/findings"), Read),
        (("GET", "/v1/findings/{id}"), Read),
        (("POST", "/v1/findings/{id}/accept"), Approval),
        (("POST", "/v1/findings/recompute"), Write),
        (("GET", "/v1/posture"), Read),
        (("GET", "/v1/posture/catalog"), Read),
        (("POST", "/v1/identities/{id}/offboard"), Write),
        (("GET", "/v1/offboardings"), Read),
        (("GET", "/v1/offboardings/{id}"), Read),
        (("GET", "/v1/offboardings/{id}/receipt"), Read),
        (("POST", "/v1/offboardings/{id}/recheck"), Write),
        (("POST", "/v1/offboardings/{id}/steps/{n}/confirm"), Write),
        (("POST", "/v1/owners/{name}/depart"), Write),
        (("GET", "/v1/report"), Audit),
        (("GET", "/v1/review-campaigns"), Read),
        (("POST", "/v1/review-campaigns"), Write),
        (("GET", "/v1/review-campaigns/{id}"), Read),
        (("GET", "/v1/review-campaigns/{id}/items"), Read),
        (("POST", "/v1/review-campaigns/{id}/items/{identity}"), Read),
    ])
}

async fn token(admin: &holdfast_client::Client, name: &str, role: Role) -> String {
    admin
        .create_token(&CreateTokenRequest {
            name: Some(name.into()),
            roles: vec![role],
            identity: None,
            groups: vec![],
            ttl_seconds: Some(3600),
        })
        .await
        .unwrap()
        .token
}

/// Every route of the OpenAPI document, for every built-in role: each cell is an allow or a deny,
/// and a route the table does not know fails the suite.
#[tokio::test]
async fn authorization_matrix_every_route_every_role() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let root = s.init().await;
    let admin = s.client(Some(&root));
    let spec = admin.openapi().await.unwrap();
    let table = expectations();
    let mut routes: Vec<(String, String)> = vec![("GET".into(), "/v1/openapi.json".into())];
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.push((method.to_uppercase(), path.clone()));
        }
    }
    let unknown: Vec<_> = routes
        .iter()
        .filter(|(m, p)| !table.contains_key(&(m.as_str(), p.as_str())))
        .collect();
    assert!(
        unknown.is_empty(),
        "routes without an expected policy decision: {unknown:?}"
    );
    assert_eq!(
        routes.len(),
        table.len(),
        "the table names only real routes"
    );

    // Admin last: its allowed calls (seal, rekey) must not change what the others see.
    let mut roles = vec![];
    for role in [
        Role::Reader,
        Role::Writer,
        Role::Auditor,
        Role::Approver,
        Role::Admin,
    ] {
        roles.push((role, token(&admin, role.as_str(), role).await));
    }
    // A real request, so approval routes reach their policy decision.
    let request = admin
        .create_access_request(&holdfast_types::CreateAccessRequest {
            task: Some("matrix".into()),
            reason: Some("matrix".into()),
            audience: Some("deploy".into()),
            scopes: vec!["deploy".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let mut cells = 0;
    let mut denials = 0;
    for (role, tok) in &roles {
        for (method, path) in &routes {
            let class = table[&(method.as_str(), path.as_str())];
            if class == Class::Open {
                continue;
            }
            let concrete = path
                .replace("/requests/{id}", &format!("/requests/{}", request.id))
                .replace("{path}", "matrix/probe")
                .replace("{connector}", "kubernetes")
                .replace("{version}", "0")
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        uuid::Uuid::now_v7().to_string()
                    } else {
                        seg.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let mut req = http
                .request(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    format!("{}{concrete}", s.url),
                )
                .bearer_auth(tok);
            if method != "GET" && method != "DELETE" {
                req = req.json(&json!({}));
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let policy_denied = status == 403
                && body["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("policy set");
            let want = class.allows(*role);
            assert_ne!(status, 401, "{role:?} {method} {path}");
            if want {
                assert!(
                    !policy_denied,
                    "{role:?} should be allowed {method} {path}: {body}"
                );
            } else {
                assert!(
                    policy_denied,
                    "{role:?} should be denied {method} {path}, got {status}: {body}"
                );
                denials += 1;
            }
            cells += 1;
        }
    }
    assert!(cells >= 5 * 55, "{cells} cells");
    // Every denial is in the audit log, with the policy version that decided it.
    let mut denied = 0;
    let mut after = None;
    loop {
        let page = admin.audit(after, Some(1000)).await.unwrap();
        if page.items.is_empty() {
            break;
        }
        after = Some(page.items.last().unwrap().seq);
        denied += page
            .items
            .iter()
            .filter(|r| r.event.outcome == Outcome::Denied && r.event.detail["reason"] == "policy")
            .count();
    }
    assert_eq!(denied, denials, "every policy denial is audited");
}

#[tokio::test]
async fn policy_versions_are_validated_on_write_kept_and_decide_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let root = s.init().await;
    let admin = s.client(Some(&root));
    owner(&admin, "team-a").await;
    let reader = s.client(Some(&token(&admin, "carol", Role::Reader).await));
    assert!(reader.list_identities(vec![]).await.is_ok());
    let shipped = admin.policy(None).await.unwrap();
    assert_eq!(shipped.version, 0);
    let default_text = shipped.text.unwrap();

    // An invalid policy is refused with Cedar's diagnostics and nothing is stored.
    let bad = ApplyPolicyRequest {
        text: Some(format!(
            "{default_text}\n@id(\"typo\") permit(principal, action == Holdfast::Action::\"identity.list\", resource) when {{ principal.nickname == \"x\" }};"
        )),
        ..Default::default()
    };
    let (status, code, field, message) = api_err(admin.apply_policy(&bad).await.unwrap_err());
    assert_eq!(
        (status, code.as_str(), field.as_deref()),
        (422, "invalid", Some("text"))
    );
    assert!(message.contains("nickname"), "{message}");
    assert_eq!(admin.policy_history().await.unwrap().items.len(), 1);

    // Readers lose the inventory: a dry run shows the change, applying it decides at once.
    let narrower = default_text.replace(
        "action in Holdfast::Action::\"read\",",
        "action == Holdfast::Action::\"policy.read\",",
    );
    assert_ne!(narrower, default_text);
    let mut req = ApplyPolicyRequest {
        text: Some(narrower.clone()),
        comment: Some("readers see only the policy".into()),
        base_version: Some(0),
        dry_run: true,
    };
    let dry = admin.apply_policy(&req).await.unwrap();
    assert!(!dry.applied);
    assert_eq!(
        dry.changes
            .iter()
            .map(|c| (c.id.as_str(), c.change.as_str()))
            .collect::<Vec<_>>(),
        vec![("readers-read", "changed")]
    );
    assert!(
        reader.list_identities(vec![]).await.is_ok(),
        "a dry run changes nothing"
    );
    req.dry_run = false;
    let applied = admin.apply_policy(&req).await.unwrap();
    assert_eq!((applied.applied, applied.version), (true, 1));
    let (status, _, _, message) = api_err(reader.list_identities(vec![]).await.unwrap_err());
    assert_eq!(status, 403);
    assert!(message.contains("version 1"), "{message}");
    assert!(reader.policy(None).await.is_ok());

    // A change based on an old version is refused.
    req.text = Some(default_text.clone());
    let (status, _, field, _) = api_err(admin.apply_policy(&req).await.unwrap_err());
    assert_eq!((status, field.as_deref()), (409, Some("base_version")));

    // History keeps every version; the text of each is readable; the apply is audited.
    let history = admin.policy_history().await.unwrap().items;
    assert_eq!(
        history
            .iter()
            .map(|v| (v.version, v.current))
            .collect::<Vec<_>>(),
        vec![(0, false), (1, true)]
    );
    assert_eq!(admin.policy(Some(1)).await.unwrap().text.unwrap(), narrower);
    let last = admin.audit(None, Some(50)).await.unwrap().items;
    let apply = last
        .iter()
        .find(|r| r.event.action == "policy.apply")
        .expect("policy.apply audited");
    assert_eq!(apply.event.detail["version"], 1);
    assert_eq!(apply.event.detail["changes"][0]["id"], "readers-read");

    // The version survives a restart.
    drop(s);
    let s = Server::start(dir.path(), &[]);
    let reader = s.client(Some(reader_token_from(&s, &root).await.as_str()));
    let (status, _, _, _) = api_err(reader.list_identities(vec![]).await.unwrap_err());
    assert_eq!(status, 403, "the applied version is loaded at start");
}

async fn reader_token_from(s: &Server, root: &str) -> String {
    token(&s.client(Some(root)), "dave", Role::Reader).await
}

#[tokio::test]
async fn tokens_for_identities_are_decided_as_those_identities() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let root = s.init().await;
    let admin = s.client(Some(&root));
    owner(&admin, "team-a").await;
    let mut req = identity_req("release-agent", "team-a");
    req.kind = Some(holdfast_core::IdentityKind::AiAgent);
    let agent = admin.create_identity(&req).await.unwrap();
    let agent_token = admin
        .create_token(&CreateTokenRequest {
            name: Some("release-agent".into()),
            roles: vec![Role::Writer],
            identity: Some(agent.id.to_string()),
            groups: vec![],
            ttl_seconds: Some(600),
        })
        .await
        .unwrap();
    assert_eq!(agent_token.info.identity, Some(agent.id));
    let a = s.client(Some(&agent_token.token));
    assert!(
        a.create_identity(&identity_req("made-by-agent", "team-a"))
            .await
            .is_ok()
    );
    // A policy that forbids AI agents from writing takes effect for this token.
    let current = admin.policy(None).await.unwrap().text.unwrap();
    admin
        .apply_policy(&ApplyPolicyRequest {
            text: Some(format!(
                "{current}\n@id(\"agents-read-only\")\nforbid (principal is Holdfast::Identity, action in Holdfast::Action::\"write\", resource)\nwhen {{ principal.kind == \"ai_agent\" }};\n"
            )),
            ..Default::default()
        })
        .await
        .unwrap();
    let (status, _, _, message) = api_err(
        a.create_identity(&identity_req("again", "team-a"))
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    assert!(message.contains("agents-read-only"), "{message}");
    // A suspended identity's token stops working.
    admin
        .transition(
            &agent.id.to_string(),
            &holdfast_types::TransitionRequest {
                state: Some(holdfast_core::LifecycleState::Suspended),
                reason: Some("incident".into()),
                version: None,
            },
        )
        .await
        .unwrap();
    let (status, _, _, message) = api_err(a.list_identities(vec![]).await.unwrap_err());
    assert_eq!(status, 403);
    assert!(message.contains("suspended"), "{message}");
    // A token cannot be minted for an identity that does not exist.
    let (status, _, field, _) = api_err(
        admin
            .create_token(&CreateTokenRequest {
                name: Some("ghost".into()),
                roles: vec![Role::Reader],
                identity: Some(uuid::Uuid::now_v7().to_string()),
                groups: vec![],
                ttl_seconds: None,
            })
            .await
            .unwrap_err(),
    );
    assert_eq!((status, field.as_deref()), (422, Some("identity")));
}

#[tokio::test]
async fn the_decision_point_decides_with_stored_and_supplied_entities() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let root = s.init().await;
    let admin = s.client(Some(&root));
    let entities = json!([
        {"uid": {"type": "Holdfast::Group", "id": "writer"}, "attrs": {}, "parents": []},
        {"uid": {"type": "Holdfast::Identity", "id": "deployer"},
         "attrs": {"name": "deployer", "kind": "ci_job", "tier": "standard", "owner": "platform"},
         "parents": [{"type": "Holdfast::Group", "id": "writer"}]},
        {"uid": {"type": "Holdfast::Secret", "id": "ci/deploy"}, "attrs": {"path": "ci/deploy"}, "parents": []},
    ]);
    admin
        .apply_policy_entities(&ApplyPolicyRequest {
            text: Some(entities.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    let ask = |principal: &str, action: &str, resource: &str| AuthorizeRequest {
        principal: Some(principal.into()),
        action: Some(action.into()),
        resource: Some(resource.into()),
        ..Default::default()
    };
    let d = admin
        .authorize(&ask(
            r#"Holdfast::Identity::"deployer""#,
            "secret.read",
            r#"Holdfast::Secret::"ci/deploy""#,
        ))
        .await
        .unwrap();
    assert_eq!(
        (d.allowed, d.policies.clone()),
        (true, vec!["writers-write".to_string()])
    );
    let d = admin
        .authorize(&ask(
            r#"Holdfast::Identity::"deployer""#,
            "token.create",
            r#"Holdfast::Api::"holdfast""#,
        ))
        .await
        .unwrap();
    assert!(!d.allowed && d.policies.is_empty());
    // Entities brought with the question.
    let mut q = ask(
        r#"Holdfast::Person::"erin""#,
        "identity.list",
        r#"Holdfast::Api::"holdfast""#,
    );
    q.entities = Some(json!([
        {"uid": {"type": "Holdfast::Group", "id": "reader"}, "attrs": {}, "parents": []},
        {"uid": {"type": "Holdfast::Person", "id": "erin"}, "attrs": {"name": "erin"},
         "parents": [{"type": "Holdfast::Group", "id": "reader"}]},
    ]));
    assert!(admin.authorize(&q).await.unwrap().allowed);
    // Bad questions name the field.
    let (status, _, field, _) = api_err(
        admin
            .authorize(&ask(
                r#"Holdfast::Person::"erin""#,
                "fly",
                r#"Holdfast::Api::"holdfast""#,
            ))
            .await
            .unwrap_err(),
    );
    assert_eq!((status, field.as_deref()), (422, Some("action")));
    let mut missing = ask("", "identity.list", "");
    missing.principal = None;
    let (status, _, field, _) = api_err(admin.authorize(&missing).await.unwrap_err());
    assert_eq!((status, field.as_deref()), (422, Some("principal")));
    // The batch form answers in order and names the failing question.
    let batch = admin
        .authorize_batch(&BatchAuthorizeRequest {
            requests: vec![
                ask(
                    r#"Holdfast::Identity::"deployer""#,
                    "identity.create",
                    r#"Holdfast::Api::"holdfast""#,
                ),
                ask(
                    r#"Holdfast::Identity::"deployer""#,
                    "audit.read",
                    r#"Holdfast::Api::"holdfast""#,
                ),
            ],
        })
        .await
        .unwrap();
    assert_eq!(
        batch
            .decisions
            .iter()
            .map(|d| d.allowed)
            .collect::<Vec<_>>(),
        vec![true, false]
    );
    let (status, _, field, _) = api_err(
        admin
            .authorize_batch(&BatchAuthorizeRequest {
                requests: vec![ask("", "identity.list", r#"Holdfast::Api::"holdfast""#)],
            })
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, field.as_deref()),
        (422, Some("requests[0].principal"))
    );
}

#[tokio::test]
async fn the_policy_cli_validates_tests_applies_and_asks() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let root = s.init().await;
    let bad = dir.path().join("bad.cedar");
    std::fs::write(
        &bad,
        "@id(\"x\") permit(principal, action == Holdfast::Action::\"fly\", resource);",
    )
    .unwrap();
    // Offline: no server or token needed.
    let out = std::process::Command::new(BIN)
        .args(["policy", "validate"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("fly"), "{}", stderr(&out));
    let good = dir.path().join("good.cedar");
    std::fs::write(&good, holdfast_policy::DEFAULT_POLICIES).unwrap();
    let out = std::process::Command::new(BIN)
        .args(["policy", "validate"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let suite = dir.path().join("suite.json");
    std::fs::write(
        &suite,
        json!({
            "entities": [
                {"uid": {"type": "Holdfast::Group", "id": "reader"}, "attrs": {}, "parents": []},
                {"uid": {"type": "Holdfast::Person", "id": "carol"}, "attrs": {"name": "carol"},
                 "parents": [{"type": "Holdfast::Group", "id": "reader"}]}
            ],
            "cases": [
                {"name": "carol reads", "principal": "Holdfast::Person::\"carol\"", "action": "identity.list",
                 "resource": "Holdfast::Api::\"holdfast\"", "expect": "allow"},
                {"name": "carol mints tokens", "principal": "Holdfast::Person::\"carol\"", "action": "token.create",
                 "resource": "Holdfast::Api::\"holdfast\"", "expect": "allow"}
            ]
        })
        .to_string(),
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["policy", "test"])
        .arg(&good)
        .arg("--suite")
        .arg(&suite)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("FAIL carol mints tokens"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("1 passed, 1 failed"),
        "{}",
        stdout(&out)
    );

    // Through the server: apply, history, diff between versions, a decision with its exit code.
    let changed = dir.path().join("changed.cedar");
    std::fs::write(
        &changed,
        holdfast_policy::DEFAULT_POLICIES
            .replace("@id(\"anyone-may-request\")", "@id(\"all-may-request\")"),
    )
    .unwrap();
    let path = changed.to_str().unwrap();
    let out = cli(
        &s.url,
        Some(&root),
        &["policy", "apply", path, "--comment", "rename"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("applied as version 1"),
        "{}",
        stdout(&out)
    );
    let out = cli(
        &s.url,
        Some(&root),
        &["policy", "diff", "--from", "0", "--to", "1", "--json"],
    );
    let changes: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let ids: Vec<(String, String)> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().into(),
                c["change"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        vec![
            ("anyone-may-request".into(), "removed".into()),
            ("all-may-request".into(), "added".into())
        ]
    );
    let out = cli(&s.url, Some(&root), &["policy", "history"]);
    assert!(stdout(&out).contains("rename"), "{}", stdout(&out));
    let ask = |action: &str| {
        cli(
            &s.url,
            Some(&root),
            &[
                "authorize",
                "--principal",
                "Holdfast::Person::\"zed\"",
                "--action",
                action,
                "--resource",
                "Holdfast::Api::\"holdfast\"",
            ],
        )
    };
    let yes = ask("request.create");
    assert_eq!(yes.status.code(), Some(0), "{}", stderr(&yes));
    assert!(
        stdout(&yes).starts_with("allow (all-may-request"),
        "{}",
        stdout(&yes)
    );
    assert_eq!(ask("identity.list").status.code(), Some(1));
}

/// Step-up for real: with a policy that asks for it, management-plane actions are refused until
/// the holder proves a fresh TOTP code; a code is accepted once; wrong codes are audited.
#[tokio::test]
async fn management_plane_actions_wait_for_a_fresh_totp_step_up() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("unseal.key");
    let s = Server::start(
        &dir.path().join("data"),
        &["--unseal-key-file", key.to_str().unwrap()],
    );
    let root = s.client(None).init().await.unwrap().root_token;
    let admin = s.client(Some(&root));
    let text = format!(
        "{}\n@id(\"management-needs-step-up\")\nforbid (principal, action in Holdfast::Action::\"management\", resource)\nunless {{ context.step_up_minutes <= 15 }};\n",
        holdfast_policy::DEFAULT_POLICIES
    );
    admin
        .apply_policy(&ApplyPolicyRequest {
            text: Some(text),
            ..Default::default()
        })
        .await
        .unwrap();
    let (status, _, _, message) = api_err(token_err(&admin).await);
    assert_eq!(status, 403);
    assert!(message.contains("management-needs-step-up"), "{message}");
    // Inventory work is not management-plane and goes on.
    assert!(admin.list_identities(vec![]).await.is_ok());

    let enrolled = admin.step_up_enroll().await.unwrap();
    assert!(
        enrolled
            .otpauth_uri
            .starts_with("otpauth://totp/Holdfast:root?secret=")
    );
    let (status, _, _, _) = api_err(admin.step_up_enroll().await.unwrap_err());
    assert_eq!(status, 409, "one authenticator per token");
    let secret = totp_rs::Secret::Encoded(enrolled.secret.clone())
        .to_bytes()
        .unwrap();
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = totp.generate(now);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, _, _, _) = api_err(admin.step_up(wrong).await.unwrap_err());
    assert_eq!(status, 403);
    let (status, _, field, _) = api_err(admin.step_up("12ab").await.unwrap_err());
    assert_eq!((status, field.as_deref()), (422, Some("code")));
    admin.step_up(&code).await.unwrap();
    let (status, _, _, _) = api_err(admin.step_up(&code).await.unwrap_err());
    assert_eq!(status, 403, "a code is accepted once");
    // Stepped up: the management plane opens (within the policy's 15 minutes).
    assert!(token_err_or_ok(&admin).await);
    let tail = admin.audit(None, Some(30)).await.unwrap().items;
    assert!(
        tail.iter()
            .any(|r| r.event.action == "auth.step_up" && r.event.outcome == Outcome::Success)
    );
    assert!(
        tail.iter()
            .any(|r| r.event.action == "auth.step_up" && r.event.outcome == Outcome::Denied)
    );
    assert!(
        !serde_json::to_string(&tail)
            .unwrap()
            .contains(&enrolled.secret),
        "the authenticator secret is never in the audit log"
    );
}

async fn token_err(admin: &holdfast_client::Client) -> ClientError {
    admin
        .create_token(&CreateTokenRequest {
            name: Some("ci".into()),
            roles: vec![Role::Reader],
            identity: None,
            groups: vec![],
            ttl_seconds: Some(600),
        })
        .await
        .unwrap_err()
}

async fn token_err_or_ok(admin: &holdfast_client::Client) -> bool {
    admin
        .create_token(&CreateTokenRequest {
            name: Some("ci".into()),
            roles: vec![Role::Reader],
            identity: None,
            groups: vec![],
            ttl_seconds: Some(600),
        })
        .await
        .is_ok()
}
