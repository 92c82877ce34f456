//! The formats as their documentation shapes them, and every detection: it fires on its attack and
//! stays quiet on a day of ordinary activity.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::too_many_arguments
)]

use std::collections::HashMap;
use std::io::Write as _;

use holdfast_monitor::synthetic::{self, Actor, Rng};
use holdfast_monitor::{
    ActorKind, Config, Detection, Event, Format, Outcome, Profile, Severity, Subject, observe,
    parse,
};
use serde_json::json;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn a_delivered_cloudtrail_file_reads_whole_and_gzipped() {
    let bytes = fixture("cloudtrail-delivered.json");
    let p = parse(&bytes, Format::Auto).unwrap();
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.events.len(), 12);
    let by_name = |n: &str| p.events.iter().find(|e| e.action.ends_with(n)).unwrap();
    let console = by_name("ConsoleLogin");
    assert_eq!(console.action, "signin:ConsoleLogin");
    assert_eq!(console.actor.kind, ActorKind::IamUser);
    let session = by_name("PutRolePolicy");
    assert_eq!(session.actor.kind, ActorKind::AssumedRole);
    assert_eq!(
        session.actor.principal.as_deref(),
        Some("arn:aws:iam::111122223333:role/terraform-apply")
    );
    let key = by_name("CreateAccessKey");
    assert_eq!(key.target_user.as_deref(), Some("svc-reporting"));
    assert_eq!(key.actor.user_name.as_deref(), Some("ci-deployer"));
    assert!(key.actor.credential.as_deref().unwrap().starts_with("AKIA"));
    let denied = by_name("ListSecrets");
    assert_eq!(denied.outcome, Outcome::Denied);
    assert_eq!(denied.error.as_deref(), Some("AccessDenied"));
    let service = p
        .events
        .iter()
        .find(|e| e.actor.kind == ActorKind::Service)
        .unwrap();
    assert_eq!(
        service.actor.principal.as_deref(),
        Some("lambda.amazonaws.com")
    );
    let root = p
        .events
        .iter()
        .find(|e| e.actor.kind == ActorKind::Root)
        .unwrap();
    assert_eq!(
        root.actor.principal.as_deref(),
        Some("arn:aws:iam::111122223333:root")
    );

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    let zipped = parse(&gz.finish().unwrap(), Format::Cloudtrail).unwrap();
    assert_eq!(zipped.events, p.events);
}

#[test]
fn malformed_lines_are_reported_by_number_and_the_rest_still_count() {
    let p = parse(&fixture("cloudtrail-lines.jsonl"), Format::Auto).unwrap();
    assert_eq!(p.events.len(), 5);
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].line, 4);

    let k = parse(&fixture("k8s-audit.jsonl"), Format::Kubernetes).unwrap();
    assert_eq!(k.errors.len(), 1, "{:?}", k.errors);
    assert_eq!(k.errors[0].line, 7);
    assert_eq!(k.events.len(), 10);
    let sa = &k.events[0];
    assert_eq!(sa.actor.kind, ActorKind::ServiceAccount);
    assert_eq!(
        sa.actor.principal.as_deref(),
        Some("serviceaccount/payments/api")
    );
    assert!(sa.actor.credential.as_deref().unwrap().starts_with("JTI="));
    assert_eq!(sa.action, "get core/secrets");
    assert_eq!(sa.resource.as_deref(), Some("payments/db-credentials"));
    assert!(k.events.iter().any(|e| e.outcome == Outcome::Denied
        && e.actor.principal.as_deref() == Some("serviceaccount/payments/api")));
    assert!(
        k.events
            .iter()
            .any(|e| e.action == "create rbac.authorization.k8s.io/clusterrolebindings")
    );
    assert!(
        k.events
            .iter()
            .any(|e| e.action == "create core/serviceaccounts/token")
    );

    // A document that is broken as a whole says where.
    let broken = parse(
        br#"{"Records":[{"eventTime":"2024-01-01T00:00:00Z",}]}"#,
        Format::Auto,
    )
    .unwrap();
    assert!(broken.events.is_empty());
    assert_eq!(broken.errors.len(), 1);
    // A record missing what every record has is named by its index.
    let partial = parse(
        br#"{"Records":[{"eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"},{"eventSource":"s3.amazonaws.com"}]}"#,
        Format::Auto,
    )
    .unwrap();
    assert_eq!(partial.events.len(), 1);
    assert_eq!(partial.errors[0].record, Some(1));
    assert!(partial.errors[0].reason.contains("eventTime"));
}

#[test]
fn holdfast_audit_lines_read_as_events() {
    let line = json!({"time": "2026-11-20T10:00:00Z", "actor": "token:0192f0a0-0000-7000-8000-000000000001 (ci)",
        "action": "secret.read", "target": "secret:prod/db", "outcome": "success", "source": "10.1.2.3",
        "request_id": "r1", "detail": {}});
    let record = json!({"seq": 7, "prev_hash": "00", "hash": "11", "body": line.to_string()});
    let text = format!("{line}\n{record}\n");
    let p = parse(text.as_bytes(), Format::Holdfast).unwrap();
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.events.len(), 2);
    assert_eq!(
        p.events[0].actor.principal.as_deref(),
        Some("token:0192f0a0-0000-7000-8000-000000000001")
    );
    assert_eq!(p.events[0].action, "holdfast:secret.read");
    assert_eq!(p.events[1].id.as_deref(), Some("7"));
}

// ---------------------------------------------------------------------------------------------

const DAY: i64 = 86_400;
/// 2026-11-02T00:00:00Z, a Monday.
const START: i64 = 1_793_577_600;

struct World {
    actors: Vec<Actor>,
    profiles: HashMap<String, Profile>,
    cfg: Config,
    rng: Rng,
}

fn subject_for(a: &Actor) -> Subject {
    let mut declared: Vec<String> = a
        .actions
        .iter()
        .map(|(s, n)| format!("{}:{n}", s.trim_end_matches(".amazonaws.com")))
        .collect();
    declared.push("secretsmanager:GetSecretValue".into());
    Subject {
        identity: Some(a.name.clone()),
        tier: Some("standard".into()),
        state: Some("active".into()),
        credential_state: Some("active".into()),
        credential_issued_at: Some(START - 30 * DAY),
        declared_actions: declared,
        ..Default::default()
    }
}

impl World {
    /// Eight ordinary days of history for 40 identities.
    fn new() -> Self {
        let mut w = World {
            actors: synthetic::estate(40, 7),
            profiles: HashMap::new(),
            cfg: Config::default(),
            rng: Rng::new(11),
        };
        for d in 0..8 {
            let hits = w.day(START + d * DAY);
            if d >= 7 {
                assert!(hits.is_empty(), "history day {d} fired: {hits:?}");
            }
        }
        w
    }

    fn day(&mut self, start: i64) -> Vec<(String, Detection, String)> {
        let records = synthetic::ordinary_day(&self.actors, start, 30, &mut self.rng);
        let text: String = records.iter().map(|r| format!("{r}\n")).collect();
        let parsed = parse(text.as_bytes(), Format::Cloudtrail).unwrap();
        assert!(parsed.errors.is_empty());
        let mut out = vec![];
        for ev in &parsed.events {
            out.extend(self.judge(ev, None));
        }
        out
    }

    fn judge(&mut self, ev: &Event, subject: Option<Subject>) -> Vec<(String, Detection, String)> {
        let principal = ev.actor.principal.clone().unwrap_or_default();
        let actor = self.actors.iter().find(|a| a.arn() == principal);
        let subject = subject.unwrap_or_else(|| actor.map(subject_for).unwrap_or_default());
        let key = subject.identity.clone().unwrap_or(principal);
        let profile = self.profiles.entry(key.clone()).or_default();
        observe(profile, &subject, &key, ev, &self.cfg)
            .into_iter()
            .map(|h| {
                (
                    h.dedup,
                    h.detection,
                    h.severity.as_str().to_string() + " " + &h.summary,
                )
            })
            .collect()
    }

    fn actor(&self, i: usize) -> Actor {
        self.actors[i].clone()
    }

    fn event(
        &self,
        a: &Actor,
        t: i64,
        source: &str,
        name: &str,
        ip: &str,
        agent: &str,
        params: serde_json::Value,
        error: Option<&str>,
    ) -> Event {
        let r = synthetic::record(a, t, source, name, ip, agent, params, error, t as u64);
        let p = parse(r.to_string().as_bytes(), Format::Cloudtrail).unwrap();
        p.events.into_iter().next().unwrap()
    }

    /// `n` calls `step` seconds apart from the start of the actor's working hours, judged one by one.
    fn burst(
        &mut self,
        a: &Actor,
        n: i64,
        step: i64,
        source: &str,
        name: &str,
        params: impl Fn(i64) -> serde_json::Value,
        error: Option<&str>,
    ) -> Vec<(String, Detection, String)> {
        let mut hits = vec![];
        for i in 0..n {
            let ev = self.event(
                a,
                self.working(a) + i * step,
                source,
                name,
                &a.network,
                a.agent,
                params(i),
                error,
            );
            hits.extend(self.judge(&ev, None));
        }
        hits
    }

    /// A time inside the actor's working hours on the day after the history.
    fn working(&self, a: &Actor) -> i64 {
        START + 9 * DAY + i64::from(a.hours.0) * 3600 + 60
    }
}

fn fired(hits: &[(String, Detection, String)], d: Detection) -> bool {
    hits.iter().any(|(_, x, _)| *x == d)
}

#[test]
fn an_ordinary_day_stays_quiet_and_every_attack_fires() {
    let mut w = World::new();
    // Day 9 is ordinary too: not one alert.
    let quiet = w.day(START + 8 * DAY);
    assert!(quiet.is_empty(), "an ordinary day fired: {quiet:?}");

    let a = w.actor(0);
    let t = w.working(&a);
    let s3 = ("s3.amazonaws.com", "GetObject");
    let params = json!({"bucketName": "app-data"});

    // New network.
    let ev = w.event(
        &a,
        t,
        s3.0,
        s3.1,
        "203.0.113.77",
        a.agent,
        params.clone(),
        None,
    );
    let hits = w.judge(&ev, None);
    assert!(fired(&hits, Detection::NewNetwork), "{hits:?}");
    assert!(!fired(&hits, Detection::NewUserAgent));

    // New client family.
    let ev = w.event(
        &a,
        t + 5,
        s3.0,
        s3.1,
        &a.network,
        "curl/8.4.0",
        params.clone(),
        None,
    );
    let hits = w.judge(&ev, None);
    assert!(fired(&hits, Detection::NewUserAgent), "{hits:?}");
    assert!(!fired(&hits, Detection::NewNetwork));

    // An hour it never works.
    let b = w.actor(2);
    let off = (i64::from(b.hours.1) + 3) % 24;
    let ev = w.event(
        &b,
        START + 8 * DAY + off * 3600 + 60,
        s3.0,
        s3.1,
        &b.network,
        b.agent,
        params.clone(),
        None,
    );
    let hits = w.judge(&ev, None);
    assert!(fired(&hits, Detection::UnusualHour), "{hits:?}");

    // Outside its declared scope.
    let c = w.actor(4);
    let ev = w.event(
        &c,
        w.working(&c),
        "iam.amazonaws.com",
        "ListUsers",
        &c.network,
        c.agent,
        json!({}),
        None,
    );
    let hits = w.judge(&ev, None);
    assert!(fired(&hits, Detection::OutsideScope), "{hits:?}");

    // A suspended identity, and a revoked credential.
    let d = w.actor(6);
    let ev = w.event(
        &d,
        w.working(&d),
        s3.0,
        s3.1,
        &d.network,
        d.agent,
        params.clone(),
        None,
    );
    let mut suspended = subject_for(&d);
    suspended.state = Some("suspended".into());
    let hits = w.judge(&ev, Some(suspended));
    assert!(
        hits.iter()
            .any(|(_, x, s)| *x == Detection::InactiveIdentityUse && s.starts_with("critical")),
        "{hits:?}"
    );
    let mut revoked = subject_for(&d);
    revoked.credential_state = Some("revoked".into());
    let hits = w.judge(&ev, Some(revoked));
    assert!(fired(&hits, Detection::InactiveIdentityUse), "{hits:?}");

    // Events from before the suspension (logs arrive late) are not use of a suspended identity.
    let mut later = subject_for(&d);
    later.state = Some("suspended".into());
    later.inactive_since = Some(ev.at() + 60);
    assert!(!fired(
        &w.judge(&ev, Some(later)),
        Detection::InactiveIdentityUse
    ));

    // A credential from before an ownership change.
    let mut handed_over = subject_for(&d);
    handed_over.owner_changed_at = Some(START + 3 * DAY);
    let hits = w.judge(&ev, Some(handed_over));
    assert!(fired(&hits, Detection::UseAfterOwnerChange), "{hits:?}");
    let mut rotated = subject_for(&d);
    rotated.owner_changed_at = Some(START + 3 * DAY);
    rotated.credential_issued_at = Some(START + 4 * DAY);
    assert!(!fired(
        &w.judge(&ev, Some(rotated)),
        Detection::UseAfterOwnerChange
    ));

    // Used like a person: the console, and the CLI on a Mac.
    let e = w.actor(8);
    let ev = w.event(
        &e,
        w.working(&e),
        "signin.amazonaws.com",
        "ConsoleLogin",
        &e.network,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15",
        json!(null),
        None,
    );
    assert!(fired(&w.judge(&ev, None), Detection::HumanStyleUse));
    let ev = w.event(
        &e,
        w.working(&e) + 9,
        s3.0,
        s3.1,
        &e.network,
        "aws-cli/2.15.0 Python/3.11.6 Darwin/23.1.0 exe/x86_64 prompt/off command/s3.cp",
        params.clone(),
        None,
    );
    assert!(fired(&w.judge(&ev, None), Detection::HumanStyleUse));

    // A burst of refusals.
    let f = w.actor(10);
    let hits = w.burst(
        &f,
        10,
        10,
        "iam.amazonaws.com",
        "ListRoles",
        |_| json!({}),
        Some("AccessDenied"),
    );
    assert_eq!(
        hits.iter()
            .filter(|(_, x, _)| *x == Detection::AuthFailureBurst)
            .count(),
        1,
        "{hits:?}"
    );

    // Twenty distinct secrets in ten minutes.
    let g = w.actor(12);
    let hits = w.burst(
        &g,
        20,
        15,
        "secretsmanager.amazonaws.com",
        "GetSecretValue",
        |i| json!({"secretId": format!("prod/other-{i}")}),
        None,
    );
    assert_eq!(
        hits.iter()
            .filter(|(_, x, _)| *x == Detection::BulkSecretAccess)
            .count(),
        1,
        "{hits:?}"
    );

    // Ten rotations.
    let h = w.actor(14);
    let hits = w.burst(
        &h,
        10,
        20,
        "secretsmanager.amazonaws.com",
        "RotateSecret",
        |i| json!({"secretId": format!("prod/s-{i}")}),
        None,
    );
    assert!(fired(&hits, Detection::BulkRotation), "{hits:?}");

    // Ten new users.
    let i_ = w.actor(16);
    let hits = w.burst(
        &i_,
        10,
        20,
        "iam.amazonaws.com",
        "CreateUser",
        |i| json!({"userName": format!("new-{i}")}),
        None,
    );
    assert!(fired(&hits, Detection::MassEnrolment), "{hits:?}");

    // IAM changed by an identity the inventory rates standard: high.
    let j = w.actor(18);
    let ev = w.event(
        &j,
        w.working(&j),
        "iam.amazonaws.com",
        "PutRolePolicy",
        &j.network,
        j.agent,
        json!({"roleName": "admin", "policyName": "x"}),
        None,
    );
    let hits = w.judge(&ev, None);
    assert!(
        hits.iter()
            .any(|(_, x, s)| *x == Detection::PrivilegeChange && s.starts_with("high")),
        "{hits:?}"
    );

    // An access key for someone else.
    let ev = w.event(
        &a,
        t + 60,
        "iam.amazonaws.com",
        "CreateAccessKey",
        &a.network,
        a.agent,
        json!({"userName": "svc-reporting"}),
        None,
    );
    assert!(fired(&w.judge(&ev, None), Detection::AccessKeyForOtherUser));
    // … and for itself: not that detection.
    let own = a.name.trim_start_matches("user/").to_string();
    let ev = w.event(
        &a,
        t + 70,
        "iam.amazonaws.com",
        "CreateAccessKey",
        &a.network,
        a.agent,
        json!({"userName": own}),
        None,
    );
    assert!(!fired(
        &w.judge(&ev, None),
        Detection::AccessKeyForOtherUser
    ));

    // CloudTrail switched off.
    let ev = w.event(
        &a,
        t + 80,
        "cloudtrail.amazonaws.com",
        "StopLogging",
        &a.network,
        a.agent,
        json!({"name": "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org"}),
        None,
    );
    let hits = w.judge(&ev, None);
    assert!(
        hits.iter()
            .any(|(_, x, s)| *x == Detection::LoggingDisabled && s.starts_with("critical")),
        "{hits:?}"
    );

    // Someone the inventory does not know.
    let stranger = Actor {
        name: "user/stranger".into(),
        ..a.clone()
    };
    let ev = w.event(
        &stranger,
        t,
        s3.0,
        "PutObject",
        "192.0.2.1",
        a.agent,
        params,
        None,
    );
    assert!(fired(
        &w.judge(&ev, Some(Subject::default())),
        Detection::UnknownIdentity
    ));
}

#[test]
fn a_management_plane_identity_raises_severity() {
    let mut w = World::new();
    let a = w.actor(0);
    let ev = w.event(
        &a,
        w.working(&a),
        "s3.amazonaws.com",
        "GetObject",
        "203.0.113.9",
        a.agent,
        json!({}),
        None,
    );
    let mut s = subject_for(&a);
    s.tier = Some("management_plane".into());
    let hits = w.judge(&ev, Some(s));
    assert!(
        hits.iter()
            .any(|(_, x, sev)| *x == Detection::NewNetwork && sev.starts_with("high")),
        "{hits:?}"
    );
}

#[test]
fn kubernetes_attacks_fire_from_the_documented_shapes() {
    let k = parse(&fixture("k8s-audit.jsonl"), Format::Kubernetes).unwrap();
    let cfg = Config::default();
    let mut profile = Profile::default();
    let subject = Subject {
        identity: Some("sa".into()),
        tier: Some("standard".into()),
        state: Some("active".into()),
        ..Default::default()
    };
    // A mature baseline of ordinary secret gets from the pod network.
    let get = k.events[0].clone();
    for d in 0..10 {
        let mut ev = get.clone();
        ev.time += time::Duration::days(d - 20);
        assert!(observe(&mut profile, &subject, "sa", &ev, &cfg).is_empty());
        for _ in 0..3 {
            assert!(observe(&mut profile, &subject, "sa", &ev, &cfg).is_empty());
        }
    }
    // The same call again: quiet.
    assert!(observe(&mut profile, &subject, "sa", &get, &cfg).is_empty());
    // Listing every secret, which it never did: bulk secret access.
    let mut list = get.clone();
    list.action = "list core/secrets".into();
    list.resource = Some("*".into());
    let hits = observe(&mut profile, &subject, "sa", &list, &cfg);
    assert!(
        hits.iter()
            .any(|h| h.detection == Detection::BulkSecretAccess),
        "{hits:?}"
    );
    // A binding created by a standard identity.
    let bind = k
        .events
        .iter()
        .find(|e| e.action.contains("clusterrolebindings"))
        .unwrap()
        .clone();
    let hits = observe(&mut profile, &subject, "sa", &bind, &cfg);
    assert!(
        hits.iter()
            .any(|h| h.detection == Detection::PrivilegeChange && h.severity == Severity::High)
    );
    // kubectl from a Mac as the service account.
    let mut laptop = get.clone();
    laptop.user_agent = Some("kubectl/v1.29.0 (darwin/arm64) kubernetes/3f7a50f".into());
    let hits = observe(&mut profile, &subject, "sa", &laptop, &cfg);
    assert!(hits.iter().any(|h| h.detection == Detection::HumanStyleUse));
}

#[test]
fn refused_probes_never_become_the_baseline() {
    let mut w = World::new();
    let a = w.actor(0);
    let t = w.working(&a);
    for i in 0..3 {
        let ev = w.event(
            &a,
            t + i,
            "s3.amazonaws.com",
            "GetObject",
            "203.0.113.99",
            a.agent,
            json!({}),
            Some("AccessDenied"),
        );
        w.judge(&ev, None);
    }
    let ev = w.event(
        &a,
        t + 10,
        "s3.amazonaws.com",
        "GetObject",
        "203.0.113.99",
        a.agent,
        json!({}),
        None,
    );
    assert!(fired(&w.judge(&ev, None), Detection::NewNetwork));
}

#[test]
fn a_roaming_identity_is_not_judged_on_networks() {
    let mut w = World::new();
    let a = w.actor(0);
    let t = w.working(&a);
    // Sixteen networks in its baseline, as a Lambda role gathers.
    for i in 0..16 {
        let ev = w.event(
            &a,
            t - 3600 + i,
            "s3.amazonaws.com",
            "GetObject",
            &format!("52.{i}.1.1"),
            a.agent,
            json!({}),
            None,
        );
        w.judge(&ev, None);
    }
    let ev = w.event(
        &a,
        t + 10,
        "s3.amazonaws.com",
        "GetObject",
        "3.3.3.3",
        a.agent,
        json!({}),
        None,
    );
    assert!(!fired(&w.judge(&ev, None), Detection::NewNetwork));
}

#[test]
fn every_detection_is_documented() {
    let doc = std::fs::read_to_string(format!(
        "{}/../../docs/DETECTIONS.md",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    for d in Detection::ALL {
        let heading = format!("## `{}`", d.id());
        let section = doc
            .split(&heading)
            .nth(1)
            .unwrap_or_else(|| panic!("{} is not documented", d.id()));
        let section = section.split("\n## ").next().unwrap();
        assert!(section.contains("**Logic**"), "{}: no logic", d.id());
        assert!(
            section.contains("**False positives**"),
            "{}: no false-positive notes",
            d.id()
        );
        for m in d.mitre() {
            assert!(section.contains(m), "{}: ATT&CK {m} missing", d.id());
        }
    }
}
