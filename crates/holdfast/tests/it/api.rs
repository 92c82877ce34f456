//! The HTTP API as a client sees it.

use holdfast_audit::Outcome;
use holdfast_client::ClientError;
use holdfast_core::{LifecycleState, Role};
use holdfast_types::{CreateTokenRequest, TransitionRequest, UpdateIdentityRequest};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Server, identity_req, owner};

fn api_err(e: ClientError) -> (u16, String, Option<String>) {
    match e {
        ClientError::Api { status, error } => (status, error.code, error.field),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn identity_without_owner_or_purpose_is_refused_naming_the_field_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let token = s.init().await;
    let c = s.client(Some(&token));
    owner(&c, "team-a").await;
    let http = reqwest::Client::new();
    let before = c.audit(None, Some(1000)).await.unwrap().items.len();

    let cases = [
        (
            json!({"kind": "service_account", "name": "a", "purpose": "p"}),
            "owner",
        ),
        (
            json!({"kind": "service_account", "name": "a", "owner": "team-a"}),
            "purpose",
        ),
        (
            json!({"kind": "service_account", "name": "a", "owner": "team-a", "purpose": "  "}),
            "purpose",
        ),
        (
            json!({"kind": "service_account", "name": "a", "owner": "", "purpose": "p"}),
            "owner",
        ),
        (
            json!({"kind": "service_account", "name": "a", "owner": "ghost", "purpose": "p"}),
            "owner",
        ),
        (
            json!({"name": "a", "owner": "team-a", "purpose": "p"}),
            "kind",
        ),
        (
            json!({"kind": "spaceship", "name": "a", "owner": "team-a", "purpose": "p"}),
            "kind",
        ),
        (
            json!({"kind": "bot", "name": "a", "owner": "team-a", "purpose": "p", "colour": "red"}),
            "colour",
        ),
        (
            json!({"kind": "bot", "name": "a", "owner": "team-a", "purpose": "p", "tier": "management_plane"}),
            "tier_reason",
        ),
    ];
    for (body, field) in cases {
        let resp = http
            .post(format!("{}/v1/identities", s.url))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap();
        assert_eq!(status, 422, "{body} → {v}");
        assert_eq!(v["error"]["field"], field, "{body} → {v}");
        assert_eq!(v["error"]["code"], "invalid");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{field}`")),
            "{v}"
        );
    }
    let resp = http
        .post(format!("{}/v1/identities", s.url))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);

    assert!(
        c.list_identities(vec![]).await.unwrap().items.is_empty(),
        "nothing was stored"
    );
    assert_eq!(
        c.audit(None, Some(1000)).await.unwrap().items.len(),
        before,
        "refused input is not an audited change"
    );
}

/// Every `/v1` route but health answers 401 to no token, a wrong token and a revoked token, and each
/// refusal is in the audit log.
#[tokio::test]
async fn every_route_refuses_missing_wrong_and_revoked_tokens_and_audits_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let root = s.init().await;
    let c = s.client(Some(&root));
    let spec = c.openapi().await.unwrap();
    let created = c
        .create_token(&CreateTokenRequest {
            name: Some("short-lived".into()),
            roles: vec![Role::Admin],
            identity: None,
            groups: vec![],
            ttl_seconds: Some(600),
        })
        .await
        .unwrap();
    c.revoke_token(created.info.id).await.unwrap();
    let revoked = created.token;
    // A well-formed token for an id that does not exist, and a garbled one.
    let forged = format!("hf_{}_{}", uuid::Uuid::now_v7().simple(), "ab".repeat(32));
    let mut wrong_root = root.clone();
    wrong_root.pop();
    wrong_root.push(if root.ends_with('0') { '1' } else { '0' });

    let mut routes = vec![];
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if path == "/v1/sys/health" {
                continue;
            }
            let concrete = path
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
            routes.push((method.to_uppercase(), concrete));
        }
    }
    routes.push(("GET".into(), "/v1/no-such-route".into()));
    assert!(
        routes.len() >= 25,
        "the OpenAPI document lists the routes: {}",
        routes.len()
    );

    let before = c.audit(None, Some(1)).await.unwrap().items[0].seq;
    let http = reqwest::Client::new();
    let mut sent = 0;
    for (method, path) in &routes {
        for auth in [
            None,
            Some("Bearer nonsense"),
            Some(&*format!("Bearer {forged}")),
            Some(&*format!("Bearer {wrong_root}")),
            Some(&*format!("Bearer {revoked}")),
            Some(&*format!("Basic {root}")),
        ] {
            let mut req = http.request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", s.url),
            );
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            if method != "GET" && method != "DELETE" {
                req = req.json(&json!({}));
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 401, "{method} {path} with {auth:?}");
            let v: Value = resp.json().await.unwrap();
            assert_eq!(v["error"]["code"], "unauthenticated");
            sent += 1;
        }
    }
    let mut denied = vec![];
    let mut after = before;
    loop {
        let page = c.audit(Some(after), Some(1000)).await.unwrap();
        if page.items.is_empty() {
            break;
        }
        after = page.items.last().unwrap().seq;
        denied.extend(
            page.items
                .into_iter()
                .filter(|r| r.event.action == "auth.denied"),
        );
    }
    assert_eq!(denied.len(), sent, "every refusal is audited");
    assert!(
        denied
            .iter()
            .all(|r| r.event.outcome == Outcome::Denied && r.event.actor == "anonymous")
    );
    let body = serde_json::to_string(&denied.iter().map(|r| &r.event).collect::<Vec<_>>()).unwrap();
    assert!(
        !body.contains(&root[10..]) && !body.contains(&revoked[10..]),
        "no token material in audit records"
    );
    assert!(c.audit_verify(None).await.unwrap().ok);
}

#[tokio::test]
async fn roles_limit_tokens_through_the_policy_set_and_refusals_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let root = s.init().await;
    let admin = s.client(Some(&root));
    owner(&admin, "team-a").await;
    let reader = admin
        .create_token(&CreateTokenRequest {
            name: Some("reader".into()),
            roles: vec![Role::Reader],
            identity: None,
            groups: vec![],
            ttl_seconds: None,
        })
        .await
        .unwrap();
    let r = s.client(Some(&reader.token));
    assert!(r.list_identities(vec![]).await.is_ok());
    let (status, code, _) = api_err(
        r.create_identity(&identity_req("x", "team-a"))
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (403, "forbidden"));
    let (status, _, _) = api_err(r.list_tokens(vec![]).await.unwrap_err());
    assert_eq!(status, 403);
    let tail = admin.audit(None, Some(2)).await.unwrap().items;
    assert_eq!(
        tail.iter()
            .map(|r| r.event.action.as_str())
            .collect::<Vec<_>>(),
        ["identity.create", "token.list"]
    );
    assert!(
        tail.iter()
            .all(|r| r.event.outcome == Outcome::Denied && r.event.actor.contains("(reader)"))
    );
    assert!(
        tail.iter()
            .all(|r| r.event.detail["reason"] == "policy" && r.event.detail["policy_version"] == 0),
        "a refusal records the policy version that decided it"
    );
    let listed = admin.list_tokens(vec![]).await.unwrap();
    let as_json = serde_json::to_string(&listed).unwrap();
    assert!(
        !as_json.contains(&reader.token[36..]),
        "token listings never show secrets"
    );
}

#[tokio::test]
async fn updates_need_the_current_version_and_lifecycle_rules_hold() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let c = s.client(Some(&s.init().await));
    owner(&c, "team-a").await;
    owner(&c, "team-b").await;
    let id = c
        .create_identity(&identity_req("worker", "team-a"))
        .await
        .unwrap();
    let sid = id.id.to_string();

    let upd = |v: i64, purpose: &str| UpdateIdentityRequest {
        version: Some(v),
        purpose: Some(purpose.into()),
        ..Default::default()
    };
    let v2 = c.update_identity(&sid, &upd(1, "first")).await.unwrap();
    assert_eq!(v2.version, 2);
    let (status, code, field) =
        api_err(c.update_identity(&sid, &upd(1, "stale")).await.unwrap_err());
    assert_eq!(
        (status, code.as_str(), field.as_deref()),
        (409, "stale", Some("version"))
    );
    assert_eq!(
        c.identity(&sid).await.unwrap().purpose.as_deref(),
        Some("first")
    );
    let (status, _, field) = api_err(
        c.update_identity(&sid, &UpdateIdentityRequest::default())
            .await
            .unwrap_err(),
    );
    assert_eq!((status, field.as_deref()), (422, Some("version")));

    let moved = c
        .update_identity(
            &sid,
            &UpdateIdentityRequest {
                version: Some(2),
                owner: Some("team-b".into()),
                reviewed: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(moved.last_reviewed_at.is_some());
    let tr = |to: LifecycleState, reason: Option<&str>| TransitionRequest {
        state: Some(to),
        reason: reason.map(Into::into),
        version: None,
    };
    let (status, _, field) = api_err(
        c.transition(&sid, &tr(LifecycleState::Suspended, None))
            .await
            .unwrap_err(),
    );
    assert_eq!((status, field.as_deref()), (422, Some("reason")));
    assert_eq!(
        c.transition(&sid, &tr(LifecycleState::Suspended, Some("incident 42")))
            .await
            .unwrap()
            .state,
        LifecycleState::Suspended
    );
    assert_eq!(
        c.transition(&sid, &tr(LifecycleState::Active, None))
            .await
            .unwrap()
            .state,
        LifecycleState::Active
    );
    // Offboarding is not a bare state change: it revokes first and issues a receipt.
    for to in [LifecycleState::Offboarding, LifecycleState::Offboarded] {
        let (status, code, _) = api_err(
            c.transition(&sid, &tr(to, Some("service retired")))
                .await
                .unwrap_err(),
        );
        assert_eq!((status, code.as_str()), (409, "use_offboard"), "{to}");
    }
    let o = c.offboard(&sid, "service retired").await.unwrap();
    let mut done = c.identity(&sid).await.unwrap();
    for _ in 0..80 {
        done = c.identity(&sid).await.unwrap();
        if done.state == LifecycleState::Offboarded {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(
        done.state,
        LifecycleState::Offboarded,
        "{:#?}",
        c.offboarding(o.id).await
    );
    for to in [LifecycleState::Active, LifecycleState::Suspended] {
        let (status, code, _) =
            api_err(c.transition(&sid, &tr(to, Some("try"))).await.unwrap_err());
        assert_eq!((status, code.as_str()), (409, "invalid_transition"), "{to}");
    }
    let (status, code, _) = api_err(
        c.update_identity(&sid, &upd(done.version, "revive"))
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (409, "offboarded"));
    let actions: Vec<String> = c
        .audit(None, Some(6))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.event.action)
        .collect();
    assert!(
        actions.contains(&"offboarding.finished".to_string()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn lists_filter_and_paginate_and_credentials_keep_only_fingerprints() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let c = s.client(Some(&s.init().await));
    owner(&c, "team-a").await;
    owner(&c, "team-b").await;
    let mut made = vec![];
    for i in 0..23 {
        let mut r = identity_req(
            &format!("svc-{i:02}"),
            if i % 2 == 0 { "team-a" } else { "team-b" },
        );
        r.environment = Some(if i < 5 { "prod" } else { "dev" }.into());
        made.push(c.create_identity(&r).await.unwrap().id);
    }
    let mut seen = vec![];
    let mut after = None;
    loop {
        let p = c
            .list_identities(vec![("limit", Some("10".into())), ("after", after.clone())])
            .await
            .unwrap();
        seen.extend(p.items.iter().map(|i| i.id));
        match p.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, made);
    assert_eq!(
        c.list_identities(vec![("owner", Some("team-b".into()))])
            .await
            .unwrap()
            .items
            .len(),
        11
    );
    assert_eq!(
        c.list_identities(vec![
            ("environment", Some("prod".into())),
            ("owner", Some("team-a".into()))
        ])
        .await
        .unwrap()
        .items
        .len(),
        3
    );
    let (status, _, field) = api_err(
        c.list_identities(vec![("state", Some("zombie".into()))])
            .await
            .unwrap_err(),
    );
    assert_eq!((status, field.as_deref()), (422, Some("state")));
    let (status, _, field) = api_err(
        c.list_identities(vec![("limit", Some("0".into()))])
            .await
            .unwrap_err(),
    );
    assert_eq!((status, field.as_deref()), (422, Some("limit")));

    let secret = "s3cr3t-value-that-must-never-come-back";
    let cred = c
        .create_credential(&holdfast_types::CreateCredentialRequest {
            identity: Some(made[0].to_string()),
            kind: Some(holdfast_core::CredentialKind::Password),
            name: Some("db password".into()),
            value: Some(secret.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let fp = holdfast_core::Fingerprint::of_secret(secret.as_bytes()).to_string();
    assert_eq!(cred.fingerprint.as_deref(), Some(fp.as_str()));
    let found = c
        .list_credentials(vec![("fingerprint", Some(fp.clone()))])
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    let x = c
        .add_exposure(
            &cred.id.to_string(),
            &holdfast_types::AddExposureRequest {
                location: Some("git:acme/app@abc:.env:3".into()),
                source: Some("scanner".into()),
                detail: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(x.exposures.len(), 1);
    let audit = serde_json::to_string(&c.audit(None, Some(1000)).await.unwrap()).unwrap();
    assert!(
        !audit.contains(secret),
        "the secret is not in the audit log"
    );
    let db = std::fs::read(dir.path().join("holdfast.db")).unwrap();
    let wal = std::fs::read(dir.path().join("holdfast.db-wal")).unwrap_or_default();
    let needle = secret.as_bytes();
    assert!(
        !db.windows(needle.len()).any(|w| w == needle)
            && !wal.windows(needle.len()).any(|w| w == needle),
        "the secret is not stored"
    );
}

#[tokio::test]
async fn health_is_open_init_works_once_and_openapi_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let anon = s.client(None);
    let h = anon.health().await.unwrap();
    assert_eq!(
        (h.status.as_str(), h.backend.as_str(), h.initialized),
        ("ok", "sqlite", false)
    );
    let init = anon.init().await.unwrap();
    assert!(init.root_token.starts_with("hf_"));
    assert_eq!(init.audit_public_key.public_key.len(), 64);
    assert!(anon.health().await.unwrap().initialized);
    let (status, _, _) = api_err(anon.init().await.unwrap_err());
    assert_eq!(
        status, 401,
        "after init the init route needs a token like the rest"
    );
    let root = s.client(Some(&init.root_token));
    let (status, code, _) = api_err(root.init().await.unwrap_err());
    assert_eq!((status, code.as_str()), (409, "already_initialized"));
    let spec = root.openapi().await.unwrap();
    assert_eq!(
        spec["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true)
    );
    for p in [
        "/v1/identities",
        "/v1/identities/{id}/transition",
        "/v1/audit/verify",
        "/v1/tokens",
    ] {
        assert!(spec["paths"].get(p).is_some(), "{p} documented");
    }
    assert!(spec["components"]["schemas"].get("ErrorBody").is_some());
}

#[tokio::test]
async fn edge_errors_use_the_envelope_and_values_are_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let token = s.init().await;
    // No connection reuse: the server closes the connection after refusing an oversized body, and a
    // pooled connection would race that close.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    // Method not allowed, body too large, unknown route: all in the one envelope, all with a request id.
    let cases = [
        (
            http.put(format!("{}/v1/identities", s.url))
                .bearer_auth(&token),
            405,
            "method_not_allowed",
        ),
        (
            http.post(format!("{}/v1/owners", s.url))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(vec![b' '; 1024 * 1024 + 100]),
            413,
            "too_large",
        ),
        (http.get(format!("{}/nowhere", s.url)), 404, "not_found"),
    ];
    for (req, status, code) in cases {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status);
        assert!(resp.headers().contains_key("x-request-id"));
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["code"], code, "{v}");
    }
    // A secret sent with the wrong type is not repeated in the error.
    let c = s.client(Some(&token));
    owner(&c, "team").await;
    let id = c
        .create_identity(&identity_req("svc", "team"))
        .await
        .unwrap();
    let body =
        json!({"identity": id.id, "kind": "password", "name": "db", "value": 98765432123456789u64});
    let resp = http
        .post(format!("{}/v1/credentials", s.url))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let text = resp.text().await.unwrap();
    assert!(!text.contains("98765432123456789"), "{text}");
    assert!(text.contains("\"field\":\"value\""), "{text}");
}
