//! The behaviour every store backend must show, run by each backend's tests against a fresh store.
//!
//! Each case panics with a message on failure (this module is test support), so the backend's test
//! names which case broke.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::sync::Arc;

use holdfast_audit::{AuditEvent, Outcome};
use holdfast_core::{Identity, IdentityKind, LifecycleState, Owner, OwnerKind, Tier};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    Change, Filter, Query, Store, StoreError, Table, Value, find, get, get_by, verify_audit,
};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

pub fn event(action: &str) -> AuditEvent {
    AuditEvent {
        time: now(),
        actor: "conformance".into(),
        action: action.into(),
        target: None,
        outcome: Outcome::Success,
        source: None,
        request_id: None,
        detail: json!({}),
    }
}

pub fn owner(name: &str) -> Owner {
    Owner {
        id: Uuid::now_v7(),
        version: 1,
        name: name.into(),
        display_name: None,
        kind: OwnerKind::Team,
        contact: format!("{name}@example.com"),
        active: true,
        created_at: now(),
        updated_at: now(),
    }
}

pub fn identity(name: &str, owner: &Owner) -> Identity {
    Identity {
        id: Uuid::now_v7(),
        version: 1,
        kind: IdentityKind::ServiceAccount,
        name: name.into(),
        source: "manual".into(),
        external_id: None,
        owner_id: Some(owner.id),
        purpose: Some("conformance".into()),
        environment: Some("prod".into()),
        systems: vec![],
        tier: Tier::Standard,
        tier_reason: None,
        state: LifecycleState::Active,
        state_reason: None,
        labels: BTreeMap::new(),
        created_at: now(),
        updated_at: now(),
        expires_at: None,
        last_used_at: None,
        last_rotated_at: None,
        last_reviewed_at: None,
        graph_key: None,
        provenance: Default::default(),
        attributes: Default::default(),
        missing_since: None,
        tier_override: false,
    }
}

async fn audit_len(store: &dyn Store) -> u64 {
    store
        .audit_head()
        .await
        .unwrap()
        .map(|h| h.seq)
        .unwrap_or(0)
}

/// Inserted records read back equal; lookups by column and pages in id order work.
pub async fn insert_get_find(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let o = owner("platform");
    s.apply(vec![Change::insert(&o).unwrap()], event("owner.create"))
        .await
        .unwrap();
    assert_eq!(get::<Owner>(s, o.id).await.unwrap(), Some(o.clone()));
    assert_eq!(
        get_by::<Owner>(s, "name", "platform").await.unwrap(),
        Some(o.clone())
    );
    assert_eq!(get::<Owner>(s, Uuid::now_v7()).await.unwrap(), None);

    let mut ids = vec![];
    for i in 0..25 {
        let mut id = identity(&format!("svc-{i:02}"), &o);
        if i % 5 == 0 {
            id.environment = Some("dev".into());
        }
        if i == 7 {
            id.systems = vec![Uuid::from_u128(42), Uuid::from_u128(43)];
        }
        ids.push(id.id);
        s.apply(vec![Change::insert(&id).unwrap()], event("identity.create"))
            .await
            .unwrap();
    }
    let mut seen = vec![];
    let mut after = None;
    loop {
        let page: Vec<Identity> = find(s, &Query::new(Table::Identities).limit(10).after(after))
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|i| i.id);
        seen.extend(page.into_iter().map(|i| i.id));
    }
    assert_eq!(seen, ids, "pages walk every identity once, in id order");

    let dev: Vec<Identity> = find(
        s,
        &Query::new(Table::Identities).filter(Filter::Eq("environment", Value::text("dev"))),
    )
    .await
    .unwrap();
    assert_eq!(dev.len(), 5);
    let sys: Vec<Identity> = find(
        s,
        &Query::new(Table::Identities)
            .filter(Filter::Contains("systems", Uuid::from_u128(43).to_string())),
    )
    .await
    .unwrap();
    assert_eq!(
        sys.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        ["svc-07"]
    );
    let like: Vec<Identity> = find(
        s,
        &Query::new(Table::Identities).filter(Filter::Like("name", "VC-1".into())),
    )
    .await
    .unwrap();
    assert_eq!(like.len(), 10, "case-insensitive substring match on svc-1x");
}

/// Unique clashes are reported with the field, and nothing of the failed transaction remains.
pub async fn duplicates_change_nothing(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let o = owner("sec");
    s.apply(vec![Change::insert(&o).unwrap()], event("owner.create"))
        .await
        .unwrap();
    let before = audit_len(s).await;

    let other = owner("sec");
    let err = s
        .apply(vec![Change::insert(&other).unwrap()], event("owner.create"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Duplicate { field, .. } if field == "name"),
        "{err:?}"
    );

    let mut a = identity("a", &o);
    a.source = "kubernetes".into();
    a.external_id = Some("prod/a".into());
    let mut b = identity("b", &o);
    b.source = "kubernetes".into();
    b.external_id = Some("prod/a".into());
    let fresh = identity("fresh", &o);
    let err = s
        .apply(
            vec![
                Change::insert(&fresh).unwrap(),
                Change::insert(&a).unwrap(),
                Change::insert(&b).unwrap(),
            ],
            event("import"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Duplicate { field, .. } if field == "external_id"),
        "{err:?}"
    );
    assert_eq!(
        get::<Identity>(s, fresh.id).await.unwrap(),
        None,
        "the whole transaction rolled back"
    );
    assert_eq!(get::<Identity>(s, a.id).await.unwrap(), None);
    assert_eq!(
        audit_len(s).await,
        before,
        "no audit record for a change that did not happen"
    );

    // At most one alert per dedup key is not closed; closed ones may pile up.
    let first = alert("new_network:x:net");
    s.apply(
        vec![Change::insert(&first).unwrap()],
        event("events.ingest"),
    )
    .await
    .unwrap();
    let err = s
        .apply(
            vec![Change::insert(&alert("new_network:x:net")).unwrap()],
            event("events.ingest"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Duplicate { field, .. } if field == "dedup"),
        "{err:?}"
    );
    let mut closed = first.clone();
    closed.state = holdfast_monitor::AlertState::Closed;
    closed.version += 1;
    s.apply(vec![Change::update(&closed).unwrap()], event("alert.close"))
        .await
        .unwrap();
    s.apply(
        vec![Change::insert(&alert("new_network:x:net")).unwrap()],
        event("events.ingest"),
    )
    .await
    .unwrap();
}

fn alert(dedup: &str) -> holdfast_monitor::Alert {
    let now = time::OffsetDateTime::now_utc();
    holdfast_monitor::Alert {
        id: Uuid::now_v7(),
        version: 1,
        detection: holdfast_monitor::Detection::NewNetwork,
        title: "t".into(),
        severity: holdfast_monitor::Severity::Medium,
        state: holdfast_monitor::AlertState::Open,
        dedup: dedup.into(),
        identity_id: None,
        actor: "a".into(),
        summary: "s".into(),
        mitre: vec![],
        count: 1,
        first_seen: now,
        last_seen: now,
        events: vec![],
        responses: vec![],
        respond_pending: false,
        acknowledged_by: None,
        closed_by: None,
        note: None,
        created_at: now,
        updated_at: now,
    }
}

/// Updates carry the version they were based on; a stale one is refused and names both versions.
pub async fn optimistic_concurrency(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let o = owner("ops");
    let id = identity("worker", &o);
    s.apply(
        vec![Change::insert(&o).unwrap(), Change::insert(&id).unwrap()],
        event("create"),
    )
    .await
    .unwrap();

    let mut v2 = id.clone();
    v2.version = 2;
    v2.purpose = Some("first writer".into());
    s.apply(vec![Change::update(&v2).unwrap()], event("update"))
        .await
        .unwrap();

    let mut stale = id.clone();
    stale.version = 2;
    stale.purpose = Some("second writer".into());
    let err = s
        .apply(vec![Change::update(&stale).unwrap()], event("update"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Stale {
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        get::<Identity>(s, id.id)
            .await
            .unwrap()
            .unwrap()
            .purpose
            .as_deref(),
        Some("first writer")
    );

    let mut ghost = identity("ghost", &o);
    ghost.version = 2;
    let err = s
        .apply(vec![Change::update(&ghost).unwrap()], event("update"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                what: "identity",
                ..
            }
        ),
        "{err:?}"
    );

    let err = s
        .apply(vec![Change::delete(&id)], event("delete"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Stale {
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "{err:?}"
    );
    s.apply(vec![Change::delete(&v2)], event("delete"))
        .await
        .unwrap();
    assert_eq!(get::<Identity>(s, id.id).await.unwrap(), None);
}

/// Initialisation happens once.
pub async fn initialize_once(store: Arc<dyn Store>) {
    let s = store.as_ref();
    assert!(!s.is_initialized().await.unwrap());
    s.apply(vec![Change::Initialize], event("sys.init"))
        .await
        .unwrap();
    assert!(s.is_initialized().await.unwrap());
    let err = s
        .apply(vec![Change::Initialize], event("sys.init"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyInitialized), "{err:?}");
}

/// Every apply appends exactly one chained, signed record; the log verifies, checkpoints appear.
pub async fn audit_chain(store: Arc<dyn Store>) {
    let s = store.as_ref();
    // Opening the store registered its signing key: that is record 1.
    let first = s.audit_records(0, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        first[0].body.contains("audit.key_register"),
        "{}",
        first[0].body
    );
    let report = verify_audit(s, None).await.unwrap();
    assert!(report.ok && report.records_checked == 1, "{report:?}");
    for i in 1..130 {
        let seq = s
            .apply(vec![], event(&format!("auth.denied.{i}")))
            .await
            .unwrap();
        assert_eq!(seq, i + 1);
    }
    let recs = s.audit_records(0, 1000).await.unwrap();
    assert_eq!(
        recs.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=130).collect::<Vec<_>>()
    );
    assert_eq!(s.audit_records(128, 10).await.unwrap().len(), 2);
    let tail = s.audit_tail(3).await.unwrap();
    assert_eq!(
        tail.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [128, 129, 130]
    );
    assert_eq!(
        s.audit_checkpoints()
            .await
            .unwrap()
            .iter()
            .map(|c| c.seq)
            .collect::<Vec<_>>(),
        [64, 128]
    );
    let report = verify_audit(s, None).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(
        (report.records_checked, report.checkpoints_verified),
        (130, 2)
    );
    assert!(
        !s.audit_keys().await.unwrap().is_empty(),
        "the signing key is registered"
    );
    // Pinning a key that never signed fails verification.
    let stranger = holdfast_audit::Signer::from_seed(&[0xee; 32]).public_info();
    let report = verify_audit(s, Some(vec![stranger])).await.unwrap();
    assert_eq!(
        report.problem.map(|p| (p.kind, p.seq)),
        Some((holdfast_audit::ProblemKind::BadSignature, 64))
    );
}

/// Two handles on one database (two server processes) write at once: nothing lost, chain intact,
/// and of two updates based on the same version exactly one wins.
pub async fn concurrent_writers(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let o = owner("shared");
    a.apply(vec![Change::insert(&o).unwrap()], event("owner.create"))
        .await
        .unwrap();
    let mut tasks = vec![];
    for (n, store) in [a.clone(), b.clone()].into_iter().enumerate() {
        for t in 0..4 {
            let store = store.clone();
            let o = o.clone();
            tasks.push(tokio::spawn(async move {
                let mut ids = vec![];
                for i in 0..25 {
                    let id = identity(&format!("w{n}-{t}-{i}"), &o);
                    store
                        .apply(vec![Change::insert(&id).unwrap()], event("identity.create"))
                        .await
                        .unwrap();
                    ids.push(id.id);
                }
                ids
            }));
        }
    }
    let mut written = vec![];
    for t in tasks {
        written.extend(t.await.unwrap());
    }
    for id in &written {
        assert!(
            get::<Identity>(b.as_ref(), *id).await.unwrap().is_some(),
            "write {id} was lost"
        );
    }
    assert_eq!(written.len(), 200);

    let target = identity("contended", &o);
    a.apply(
        vec![Change::insert(&target).unwrap()],
        event("identity.create"),
    )
    .await
    .unwrap();
    let mut racers = vec![];
    for (n, store) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        let mut next = target.clone();
        next.version = 2;
        next.purpose = Some(format!("writer {n}"));
        racers.push(tokio::spawn(async move {
            store
                .apply(
                    vec![Change::update(&next).unwrap()],
                    event("identity.update"),
                )
                .await
        }));
    }
    let mut wins = 0;
    for r in racers {
        match r.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::Stale {
                expected: 1,
                actual: 2,
                ..
            }) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(wins, 1, "exactly one of the racing updates wins");
    let report = verify_audit(a.as_ref(), None).await.unwrap();
    assert!(report.ok, "{report:?}");
    // two key registrations (one per handle), the owner, 200 identities, the contended one, its update
    assert_eq!(report.records_checked, 2 + 1 + 200 + 1 + 1);
    assert_eq!(a.audit_keys().await.unwrap().len(), 2);
}

/// Generates one test per conformance case for a backend. `$make` is an async expression that
/// yields a fresh, empty `Arc<dyn Store>`; `$make2` yields a second handle on the same database.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr, $second:expr) => {
        $crate::conformance_tests!(@cases $make; insert_get_find, duplicates_change_nothing,
            optimistic_concurrency, initialize_once, audit_chain);

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn concurrent_writers() {
            let Some((a, g)) = $make.await else { return };
            let b = $second(&g).await;
            $crate::conformance::concurrent_writers(a, b).await;
        }
    };
    (@cases $make:expr; $($case:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((s, _g)) = $make.await else { return };
                $crate::conformance::$case(s).await;
            }
        )+
    };
}
