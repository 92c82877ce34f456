//! Just-in-time access end to end: requests decided by policy, approvals with separation of duties,
//! grants as signed JWTs that a standard verifier accepts, and that stop working when they expire
//! or are revoked.

use std::time::Duration;

use holdfast_client::{Client, ClientError};
use holdfast_core::{IdentityKind, LeaseState, RequestState, Role};
use holdfast_types::{ApplyPolicyRequest, CreateAccessRequest, CreateTokenRequest};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::common::{Server, identity_req, owner};

fn api_err(e: ClientError) -> (u16, Option<String>, String) {
    match e {
        ClientError::Api { status, error } => (status, error.field, error.message),
        other => panic!("expected an API error, got {other:?}"),
    }
}

async fn token(
    s: &Server,
    admin: &Client,
    name: &str,
    roles: Vec<Role>,
    identity: Option<String>,
) -> Client {
    let t = admin
        .create_token(&CreateTokenRequest {
            name: Some(name.into()),
            roles,
            identity,
            groups: vec![],
            ttl_seconds: Some(3600),
        })
        .await
        .unwrap();
    s.client(Some(&t.token))
}

async fn with_approvals(admin: &Client, n: u32) {
    let text = holdfast_policy::DEFAULT_POLICIES
        .replace("@approvals(\"1\")", &format!("@approvals(\"{n}\")"));
    admin
        .apply_policy(&ApplyPolicyRequest {
            text: Some(text),
            ..Default::default()
        })
        .await
        .unwrap();
}

/// Verifies a grant the way a resource server would: against the published JWKS, EdDSA, audience,
/// issuer, expiry with no leeway.
async fn verify(
    c: &Client,
    jwt: &str,
    audience: &str,
) -> Result<serde_json::Value, jsonwebtoken::errors::Error> {
    let header = jsonwebtoken::decode_header(jwt)?;
    let jwks = c.jwks().await.unwrap();
    let key = jwks
        .keys
        .iter()
        .find(|k| k["kid"].as_str() == header.kid.as_deref())
        .expect("the signing key is published");
    let decoding = DecodingKey::from_ed_components(key["x"].as_str().unwrap())?;
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&[audience]);
    v.set_issuer(&["holdfast"]);
    v.leeway = 0;
    jsonwebtoken::decode::<serde_json::Value>(jwt, &decoding, &v).map(|d| d.claims)
}

fn ask(identity: &str, ttl_seconds: u32) -> CreateAccessRequest {
    CreateAccessRequest {
        task: Some("CHG-1042 deploy payments".into()),
        reason: Some("release 7.3".into()),
        kind: Some("jwt".into()),
        audience: Some("deploy-api".into()),
        scopes: vec!["deploy:payments".into()],
        identity: Some(identity.into()),
        ttl_seconds: Some(ttl_seconds),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_distinct_approvers_a_verifiable_grant_renewal_and_real_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let admin = s.client(Some(&s.init().await));
    owner(&admin, "team-a").await;
    let deployer = admin
        .create_identity(&identity_req("deployer", "team-a"))
        .await
        .unwrap();
    let mut agent_req = identity_req("triage-agent", "team-a");
    agent_req.kind = Some(IdentityKind::AiAgent);
    let agent = admin.create_identity(&agent_req).await.unwrap();
    with_approvals(&admin, 2).await;

    let alice = token(
        &s,
        &admin,
        "alice",
        vec![Role::Writer, Role::Approver],
        None,
    )
    .await;
    let bob = token(&s, &admin, "bob", vec![Role::Approver], None).await;
    let bob_again = token(&s, &admin, "bob", vec![Role::Approver], None).await;
    let carol = token(&s, &admin, "carol", vec![Role::Approver], None).await;
    let dave = token(&s, &admin, "dave", vec![Role::Reader], None).await;
    let bot = token(
        &s,
        &admin,
        "triage-agent",
        vec![Role::Approver],
        Some(agent.id.to_string()),
    )
    .await;

    // The approval rule is fixed when the request is made.
    let r = alice
        .create_access_request(&ask(&deployer.id.to_string(), 4))
        .await
        .unwrap();
    assert_eq!(r.state, RequestState::Pending);
    assert_eq!(
        (r.approvals_needed, r.approver_groups.clone()),
        (2, vec!["approver".to_string()])
    );
    assert_eq!(r.rule_policy, "anyone-may-request");
    assert_eq!(
        r.grantee,
        format!("Holdfast::Identity::{:?}", deployer.id.to_string())
    );

    // Nobody approves their own request; agents never approve; readers cannot; one person counts once.
    let (status, _, message) = api_err(
        alice
            .decide_access_request(r.id, "approve", None)
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    assert!(message.contains("no-self-approval"), "{message}");
    let (status, _, message) = api_err(
        bot.decide_access_request(r.id, "approve", None)
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    assert!(message.contains("agents-never-approve"), "{message}");
    let (status, _, _) = api_err(
        dave.decide_access_request(r.id, "approve", None)
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    let once = bob
        .decide_access_request(r.id, "approve", Some("ok".into()))
        .await
        .unwrap();
    assert_eq!(
        (once.state, once.approvals.len()),
        (RequestState::Pending, 1)
    );
    let (status, _, message) = api_err(
        bob_again
            .decide_access_request(r.id, "approve", None)
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    assert!(message.contains("distinct"), "{message}");
    // Nothing is issued before the rule is met.
    let (status, _, _) = api_err(alice.issue_grant(r.id).await.unwrap_err());
    assert_eq!(status, 409);
    let approved = carol
        .decide_access_request(r.id, "approve", None)
        .await
        .unwrap();
    assert_eq!(approved.state, RequestState::Approved);
    // Only the requester (or grantee) collects it.
    let (status, _, _) = api_err(carol.issue_grant(r.id).await.unwrap_err());
    assert_eq!(status, 403);
    let grant = alice.issue_grant(r.id).await.unwrap();
    assert_eq!(grant.lease.state, LeaseState::Active);

    // A standard verifier accepts it against the published keys.
    let claims = verify(&admin, &grant.credential, "deploy-api")
        .await
        .unwrap();
    assert_eq!(claims["sub"], r.grantee);
    assert_eq!(claims["scope"], "deploy:payments");
    assert_eq!(claims["jti"], format!("{}.0", grant.lease.id));
    assert!(
        verify(&admin, &grant.credential, "another-api")
            .await
            .is_err(),
        "audience is checked"
    );
    assert!(admin.introspect(&grant.credential).await.unwrap().active);

    // Renewal issues a new credential and retires the old one, within the rule's bound.
    let renewed = alice.renew_lease(grant.lease.id, Some(2)).await.unwrap();
    assert_eq!(renewed.lease.renewals, 1);
    let old = admin.introspect(&grant.credential).await.unwrap();
    assert!(!old.active);
    assert_eq!(old.reason.as_deref(), Some("superseded by a renewal"));
    assert!(admin.introspect(&renewed.credential).await.unwrap().active);
    let (status, _, _) = api_err(dave.renew_lease(grant.lease.id, None).await.unwrap_err());
    assert_eq!(status, 403, "only the holder or requester renews");

    // Expiry, for real: the verifier refuses it, introspection says so, the sweeper ends the lease.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let err = verify(&admin, &renewed.credential, "deploy-api")
        .await
        .unwrap_err();
    assert_eq!(
        *err.kind(),
        jsonwebtoken::errors::ErrorKind::ExpiredSignature
    );
    let gone = admin.introspect(&renewed.credential).await.unwrap();
    assert_eq!(
        (gone.active, gone.reason.as_deref()),
        (false, Some("expired"))
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let r = admin.access_request(r.id).await.unwrap();
        if r.state == RequestState::Closed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sweeper never closed the request"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Every step is in the audit log.
    let mut actions = vec![];
    let mut after = None;
    loop {
        let page = admin.audit(after, Some(1000)).await.unwrap();
        if page.items.is_empty() {
            break;
        }
        after = Some(page.items.last().unwrap().seq);
        actions.extend(page.items.into_iter().map(|x| x.event.action));
    }
    for step in [
        "request.created",
        "request.approval_recorded",
        "request.approved",
        "request.issued",
        "lease.renewed",
        "lease.expired",
    ] {
        assert!(
            actions.iter().any(|a| a == step),
            "{step} is audited: {actions:?}"
        );
    }
    assert!(
        !format!("{actions:?}").contains(&grant.credential),
        "no credential in the audit log"
    );
}

#[tokio::test]
async fn revocation_agents_and_rules_that_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let admin = s.client(Some(&s.init().await));
    owner(&admin, "team-a").await;
    let deployer = admin
        .create_identity(&identity_req("deployer", "team-a"))
        .await
        .unwrap();
    let mut agent_req = identity_req("release-agent", "team-a");
    agent_req.kind = Some(IdentityKind::AiAgent);
    let agent = admin.create_identity(&agent_req).await.unwrap();

    // A rule with zero approvals that could cover the management plane is refused on write.
    let zero = holdfast_policy::DEFAULT_POLICIES.replace("@approvals(\"1\")", "@approvals(\"0\")");
    let (status, field, message) = api_err(
        admin
            .apply_policy(&ApplyPolicyRequest {
                text: Some(zero.clone()),
                ..Default::default()
            })
            .await
            .unwrap_err(),
    );
    assert_eq!((status, field.as_deref()), (422, Some("text")));
    assert!(message.contains("zero approvals"), "{message}");
    // Limited to standard scopes it is accepted, and then applies only there.
    let standard_only = zero.replace(
        "@approvals(\"0\")",
        "@approvals(\"0\")\n@tiers(\"standard\")",
    );
    admin
        .apply_policy(&ApplyPolicyRequest {
            text: Some(standard_only),
            ..Default::default()
        })
        .await
        .unwrap();
    let alice = token(&s, &admin, "alice", vec![Role::Writer], None).await;
    let auto = alice
        .create_access_request(&ask(&deployer.id.to_string(), 600))
        .await
        .unwrap();
    assert_eq!(
        auto.state,
        RequestState::Approved,
        "no approval needed for a standard scope"
    );
    let mut mp = ask(&deployer.id.to_string(), 1800);
    mp.management_plane = true;
    let (status, field, _) = api_err(alice.create_access_request(&mp).await.unwrap_err());
    assert_eq!(
        (status, field.as_deref()),
        (422, Some("ttl_seconds")),
        "the fallback rule bounds it to 15 minutes"
    );
    mp.ttl_seconds = Some(600);
    let guarded = alice.create_access_request(&mp).await.unwrap();
    assert_eq!(guarded.state, RequestState::Pending);
    assert_eq!(
        guarded.approvals_needed, 1,
        "management-plane requests fall back to an approver"
    );

    // Revoking everything an identity holds, in one call.
    // An approval is not collected for an identity that was suspended since.
    let parked = alice
        .create_access_request(&ask(&deployer.id.to_string(), 600))
        .await
        .unwrap();
    assert_eq!(parked.state, RequestState::Approved);
    let suspend =
        |state: holdfast_core::LifecycleState, why: &str| holdfast_types::TransitionRequest {
            state: Some(state),
            reason: Some(why.into()),
            version: None,
        };
    admin
        .transition(
            &deployer.id.to_string(),
            &suspend(holdfast_core::LifecycleState::Suspended, "investigation"),
        )
        .await
        .unwrap();
    let (status, _, message) = api_err(alice.issue_grant(parked.id).await.unwrap_err());
    assert_eq!(status, 409, "{message}");
    admin
        .transition(
            &deployer.id.to_string(),
            &suspend(holdfast_core::LifecycleState::Active, "cleared"),
        )
        .await
        .unwrap();
    let g1 = alice.issue_grant(auto.id).await.unwrap();
    let second = alice
        .create_access_request(&ask(&deployer.id.to_string(), 600))
        .await
        .unwrap();
    let g2 = alice.issue_grant(second.id).await.unwrap();
    let reader = token(&s, &admin, "dave", vec![Role::Reader], None).await;
    let (status, _, _) = api_err(
        reader
            .revoke_holder(&deployer.id.to_string(), None)
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    let revoked = admin
        .revoke_holder(&deployer.id.to_string(), Some("incident 2026-118".into()))
        .await
        .unwrap();
    assert_eq!(revoked.revoked.len(), 2);
    for g in [&g1, &g2] {
        let i = admin.introspect(&g.credential).await.unwrap();
        assert_eq!(
            (i.active, i.reason.as_deref()),
            (false, Some("the lease is revoked"))
        );
    }
    let (status, _, _) = api_err(alice.renew_lease(g1.lease.id, None).await.unwrap_err());
    assert_eq!(status, 409, "a revoked lease is not renewed");
    assert_eq!(
        admin.access_request(auto.id).await.unwrap().state,
        RequestState::Closed
    );

    // AI agents: name the person they act for, ask only for themselves, and that person cannot approve.
    let bot = token(
        &s,
        &admin,
        "release-agent",
        vec![Role::Writer],
        Some(agent.id.to_string()),
    )
    .await;
    let mut a = ask(&agent.id.to_string(), 600);
    a.management_plane = true;
    let (status, field, _) = api_err(bot.create_access_request(&a).await.unwrap_err());
    assert_eq!((status, field.as_deref()), (422, Some("on_behalf_of")));
    a.on_behalf_of = Some("erin".into());
    let mut other = a.clone();
    other.identity = Some(deployer.id.to_string());
    let (status, field, _) = api_err(bot.create_access_request(&other).await.unwrap_err());
    assert_eq!((status, field.as_deref()), (422, Some("identity")));
    let r = bot.create_access_request(&a).await.unwrap();
    assert_eq!(r.on_behalf_of.as_deref(), Some("erin"));
    let erin = token(&s, &admin, "erin", vec![Role::Approver], None).await;
    let (status, _, message) = api_err(
        erin.decide_access_request(r.id, "approve", None)
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    assert!(message.contains("acts for"), "{message}");
    // The person it acts for may cancel it.
    let cancelled = erin
        .decide_access_request(r.id, "cancel", None)
        .await
        .unwrap();
    assert_eq!(cancelled.state, RequestState::Cancelled);
    let (status, _, _) = api_err(bot.issue_grant(r.id).await.unwrap_err());
    assert_eq!(status, 409);
}

#[tokio::test]
async fn the_request_and_lease_cli_walk_a_grant_from_ask_to_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let root = s.init().await;
    let admin = s.client(Some(&root));
    let mint = |name: &str, role: Role| {
        let admin = admin.clone();
        let name = name.to_string();
        async move {
            admin
                .create_token(&CreateTokenRequest {
                    name: Some(name),
                    roles: vec![role],
                    identity: None,
                    groups: vec![],
                    ttl_seconds: Some(600),
                })
                .await
                .unwrap()
                .token
        }
    };
    let alice = mint("alice", Role::Writer).await;
    let bob = mint("bob", Role::Approver).await;
    let out = crate::common::cli(
        &s.url,
        Some(&alice),
        &[
            "request",
            "create",
            "--task",
            "CHG-7",
            "--reason",
            "hotfix",
            "--audience",
            "db-admin",
            "--scope",
            "migrate",
            "--ttl",
            "10m",
            "--json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::common::stderr(&out)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = r["id"].as_str().unwrap().to_string();
    assert_eq!(r["state"], "pending");
    let out = crate::common::cli(
        &s.url,
        Some(&bob),
        &["request", "approve", &id, "--comment", "ok"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::common::stderr(&out)
    );
    let out = crate::common::cli(&s.url, Some(&alice), &["request", "issue", &id, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::common::stderr(&out)
    );
    let grant: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let file = dir.path().join("grant.jwt");
    std::fs::write(&file, grant["credential"].as_str().unwrap()).unwrap();
    let path = file.to_str().unwrap();
    let out = crate::common::cli(&s.url, Some(&bob), &["lease", "introspect", "--file", path]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::common::stdout(&out)
    );
    assert!(
        crate::common::stdout(&out).starts_with("active"),
        "{}",
        crate::common::stdout(&out)
    );
    let lease = grant["lease"]["id"].as_str().unwrap();
    let out = crate::common::cli(&s.url, Some(&root), &["lease", "revoke", lease]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::common::stderr(&out)
    );
    let out = crate::common::cli(&s.url, Some(&bob), &["lease", "introspect", "--file", path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        crate::common::stdout(&out).contains("revoked"),
        "{}",
        crate::common::stdout(&out)
    );
    let out = crate::common::cli(
        &s.url,
        Some(&root),
        &["request", "list", "--state", "closed", "--json"],
    );
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_glass_needs_a_reason_is_announced_reviewed_by_someone_else_and_rotates_after() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("unseal.key");
    let s = Server::start(
        &dir.path().join("data"),
        &["--unseal-key-file", key.to_str().unwrap()],
    );
    let admin = s.client(Some(&s.client(None).init().await.unwrap().root_token));
    owner(&admin, "team-a").await;
    let deployer = admin
        .create_identity(&identity_req("deployer", "team-a"))
        .await
        .unwrap();
    admin
        .put_secret(
            "svc/deploy-key",
            &holdfast_types::PutSecretRequest {
                value: Some("deploy-key-value-0123456789".into()),
                owner_identity: Some(deployer.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let responder = admin
        .create_token(&CreateTokenRequest {
            name: Some("oncall".into()),
            roles: vec![Role::Writer],
            identity: None,
            groups: vec!["responder".into()],
            ttl_seconds: Some(3600),
        })
        .await
        .unwrap();
    let responder = s.client(Some(&responder.token));
    let writer = token(&s, &admin, "wendy", vec![Role::Writer], None).await;
    let approver = token(&s, &admin, "bob", vec![Role::Approver], None).await;
    let mut req = ask(&deployer.id.to_string(), 900);
    req.reason = Some("prod down".into());
    let (status, field, _) = api_err(responder.breakglass(&req).await.unwrap_err());
    assert_eq!(
        (status, field.as_deref()),
        (422, Some("reason")),
        "a word is not a reason"
    );
    req.reason = Some("payments API down, deploy pipeline broken, INC-4411".into());
    let (status, _, message) = api_err(writer.breakglass(&req).await.unwrap_err());
    assert_eq!(status, 403, "{message}");
    req.ttl_seconds = Some(7200);
    let (status, field, _) = api_err(responder.breakglass(&req).await.unwrap_err());
    assert_eq!(
        (status, field.as_deref()),
        (422, Some("ttl_seconds")),
        "time-boxed"
    );
    req.ttl_seconds = Some(900);
    let mut admin_glass = req.clone();
    admin_glass.kind = Some("holdfast".into());
    admin_glass.audience = Some("holdfast".into());
    admin_glass.scopes = vec!["admin".into()];
    let (status, field, _) = api_err(responder.breakglass(&admin_glass).await.unwrap_err());
    assert_eq!(
        (status, field.as_deref()),
        (422, Some("kind")),
        "break-glass never hands out rights on Holdfast itself"
    );
    let grant = responder.breakglass(&req).await.unwrap();
    assert!(admin.introspect(&grant.credential).await.unwrap().active);
    let request = admin.access_request(grant.lease.request).await.unwrap();
    assert!(request.breakglass);
    assert_eq!(
        (request.state, request.approvals_needed),
        (RequestState::Issued, 0)
    );
    let open = admin.reviews(Some("open")).await.unwrap().items;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].to_rotate, vec!["svc/deploy-key".to_string()]);
    let tail = admin.audit(None, Some(20)).await.unwrap().items;
    assert!(tail.iter().any(|r| r.event.action == "breakglass.used"));
    // The review stays open until someone else closes it.
    let (status, _, message) = api_err(
        responder
            .close_review(open[0].id, Some("fine".into()))
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403, "{message}");
    let (status, _, _) = api_err(
        writer
            .close_review(open[0].id, Some("x".into()))
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403, "closing takes an approver");
    let (status, field, _) = api_err(approver.close_review(open[0].id, None).await.unwrap_err());
    assert_eq!((status, field.as_deref()), (422, Some("notes")));
    // When the lease ends, what it could reach is rotated (or flagged for a person).
    admin.revoke_lease(grant.lease.id).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let review = loop {
        let r = admin.reviews(None).await.unwrap().items.remove(0);
        if r.rotation_done {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rotation never scheduled"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        review.rotation,
        vec!["svc/deploy-key: needs a person (never rotated by Holdfast)".to_string()]
    );
    let closed = approver
        .close_review(
            review.id,
            Some("legitimate; key to be rotated by hand".into()),
        )
        .await
        .unwrap();
    assert_eq!(closed.state, holdfast_core::ReviewState::Closed);
    assert_eq!(
        closed.closed_by.as_deref(),
        Some("Holdfast::Person::\"bob\"")
    );
}

/// Drives a TLS handshake between two in-memory endpoints; the server's verdict on the client
/// certificate is the result.
fn handshake(
    server: std::sync::Arc<rustls::ServerConfig>,
    client: std::sync::Arc<rustls::ClientConfig>,
) -> Result<(), rustls::Error> {
    let mut s = rustls::ServerConnection::new(server).unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut c = rustls::ClientConnection::new(client, name).unwrap();
    for _ in 0..20 {
        let mut buf = Vec::new();
        c.write_tls(&mut buf).unwrap();
        if !buf.is_empty() {
            s.read_tls(&mut &buf[..]).unwrap();
            s.process_new_packets()?;
        }
        let mut buf = Vec::new();
        s.write_tls(&mut buf).unwrap();
        if !buf.is_empty() {
            c.read_tls(&mut &buf[..]).unwrap();
            c.process_new_packets()?;
        }
        if !s.is_handshaking() && !c.is_handshaking() {
            return Ok(());
        }
    }
    Err(rustls::Error::General(
        "the handshake did not finish".into(),
    ))
}

/// A relying party that trusts Holdfast's grant CA and its current CRL, checked for real by
/// rustls/webpki: the certificate works; once revoked (or expired) it does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x509_grants_carry_a_spiffe_id_and_stop_working_when_revoked_or_expired() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("unseal.key");
    let s = Server::start(
        &dir.path().join("data"),
        &["--unseal-key-file", key.to_str().unwrap()],
    );
    let admin = s.client(Some(&s.client(None).init().await.unwrap().root_token));
    owner(&admin, "team-a").await;
    let workload = admin
        .create_identity(&identity_req("billing-worker", "team-a"))
        .await
        .unwrap();
    with_approvals(&admin, 1).await;
    let alice = token(&s, &admin, "alice", vec![Role::Writer], None).await;
    let bob = token(&s, &admin, "bob", vec![Role::Approver], None).await;
    let grant = |ttl: u32| {
        let (alice, bob, id) = (alice.clone(), bob.clone(), workload.id.to_string());
        async move {
            let mut a = ask(&id, ttl);
            a.kind = Some("x509".into());
            a.audience = Some("payments-mtls".into());
            let r = alice.create_access_request(&a).await.unwrap();
            bob.decide_access_request(r.id, "approve", None)
                .await
                .unwrap();
            alice.issue_grant(r.id).await.unwrap()
        }
    };

    // A relying party: a TLS server that asks for client certificates from Holdfast's CA.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls_ca_key = rcgen::KeyPair::generate().unwrap();
    let mut tls_ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    tls_ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let tls_ca_cert = tls_ca.self_signed(&tls_ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server_cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &rcgen::Issuer::new(tls_ca, &tls_ca_key))
        .unwrap();
    let relying_party = |trust: &holdfast_types::X509Trust| {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(trust.ca_pem.as_bytes()).unwrap())
            .unwrap();
        let crl = CertificateRevocationListDer::from_pem_slice(trust.crl_pem.as_bytes()).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .with_crls(vec![crl])
        .only_check_end_entity_revocation()
        .build()
        .unwrap();
        Arc::new(
            rustls::ServerConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_client_cert_verifier(verifier)
                .with_single_cert(
                    vec![server_cert.der().clone()],
                    PrivateKeyDer::try_from(server_key.serialize_der()).unwrap(),
                )
                .unwrap(),
        )
    };
    let client = |credential: &str| {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(tls_ca_cert.der().clone()).unwrap();
        let certs: Vec<CertificateDer> = CertificateDer::pem_slice_iter(credential.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(credential.as_bytes()).unwrap();
        Arc::new(
            rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_client_auth_cert(certs, key)
                .unwrap(),
        )
    };

    let g = grant(600).await;
    assert!(g.credential.contains("BEGIN CERTIFICATE") && g.credential.contains("PRIVATE KEY"));
    // The certificate names the workload by SPIFFE ID.
    let der = CertificateDer::pem_slice_iter(g.credential.as_bytes())
        .next()
        .unwrap()
        .unwrap();
    let spiffe = format!("spiffe://holdfast/identity/{}", workload.id);
    assert!(
        der.windows(spiffe.len()).any(|w| w == spiffe.as_bytes()),
        "the URI SAN carries {spiffe}"
    );
    let trust = admin.x509_trust().await.unwrap();
    handshake(relying_party(&trust), client(&g.credential)).expect("a fresh grant is accepted");
    // Revoked: the next CRL lists it and the relying party refuses it.
    admin.revoke_lease(g.lease.id).await.unwrap();
    let trust = admin.x509_trust().await.unwrap();
    let err = handshake(relying_party(&trust), client(&g.credential)).unwrap_err();
    assert!(format!("{err:?}").contains("Revoked"), "{err:?}");
    // Expired: refused on its own dates.
    let short = grant(2).await;
    handshake(relying_party(&trust), client(&short.credential)).expect("accepted while valid");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let err = handshake(relying_party(&trust), client(&short.credential)).unwrap_err();
    assert!(format!("{err:?}").contains("Expired"), "{err:?}");
}

/// Zero standing privilege for Holdfast itself: an admin token is asked for, approved by someone
/// else, works until its lease ends, and stops when revoked or expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rights_on_holdfast_itself_are_granted_just_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let admin = s.client(Some(&s.init().await));
    let alice = token(&s, &admin, "alice", vec![Role::Reader], None).await;
    let bob = token(&s, &admin, "bob", vec![Role::Approver], None).await;
    assert!(
        alice.list_tokens(vec![]).await.is_err(),
        "no standing admin rights"
    );
    let ask_admin = |ttl: u32| CreateAccessRequest {
        task: Some("CHG-77 rotate the audit key".into()),
        reason: Some("planned change".into()),
        kind: Some("holdfast".into()),
        audience: Some("holdfast".into()),
        scopes: vec!["admin".into()],
        ttl_seconds: Some(ttl),
        ..Default::default()
    };
    let mut bad = ask_admin(600);
    bad.scopes = vec!["root".into()];
    let (status, field, _) = api_err(alice.create_access_request(&bad).await.unwrap_err());
    assert_eq!((status, field.as_deref()), (422, Some("scopes[0]")));
    let r = alice.create_access_request(&ask_admin(600)).await.unwrap();
    assert_eq!(r.tier, "management_plane");
    assert!(r.approvals_needed >= 1);
    bob.decide_access_request(r.id, "approve", None)
        .await
        .unwrap();
    let g = alice.issue_grant(r.id).await.unwrap();
    assert!(g.credential.starts_with("hf_"));
    let elevated = s.client(Some(&g.credential));
    assert!(
        elevated.list_tokens(vec![]).await.is_ok(),
        "admin while the lease lasts"
    );
    // A token minted with the granted one cannot outlive the lease.
    let child = elevated
        .create_token(&CreateTokenRequest {
            name: Some("alice-forever".into()),
            roles: vec![Role::Admin],
            identity: None,
            groups: vec![],
            ttl_seconds: Some(365 * 24 * 3600),
        })
        .await
        .unwrap();
    assert!(child.info.expires_at.unwrap() <= g.lease.expires_at);
    let child = s.client(Some(&child.token));
    assert!(child.list_tokens(vec![]).await.is_ok());
    admin.revoke_lease(g.lease.id).await.unwrap();
    let (status, _, _) = api_err(elevated.list_tokens(vec![]).await.unwrap_err());
    assert_eq!(status, 401, "revoked with the lease");
    let (status, _, _) = api_err(child.list_tokens(vec![]).await.unwrap_err());
    assert_eq!(status, 401, "and every token minted from it");

    let r = alice.create_access_request(&ask_admin(2)).await.unwrap();
    bob.decide_access_request(r.id, "approve", None)
        .await
        .unwrap();
    let g = alice.issue_grant(r.id).await.unwrap();
    let elevated = s.client(Some(&g.credential));
    assert!(elevated.list_tokens(vec![]).await.is_ok());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, _, _) = api_err(elevated.list_tokens(vec![]).await.unwrap_err());
    assert_eq!(status, 401, "expired with the lease");
}
