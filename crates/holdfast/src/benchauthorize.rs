//! `holdfast bench authorize`: the decision point under load. A generated entity set (groups,
//! people, identities of every kind and tier, secrets, access requests) and the realistic policy
//! set (roles, attributes, time windows, step-up, separation of duties) are loaded into a fresh
//! server; the same questions are then asked in process (Cedar through Holdfast's engine, the
//! reference) and over HTTP at 1, 8 and 64 concurrent clients. Prints figures; asserts nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use holdfast_client::Client;
use holdfast_policy::{Engine, Query, REALISTIC_POLICIES, complete_context};
use holdfast_types::{ApplyPolicyRequest, AuthorizeRequest};
use serde_json::{Value, json};

use crate::benchsecrets::{drive, ms, percentile};
use crate::serve::{Settings, start};

/// A small deterministic generator (xorshift64*), so every run asks the same questions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<T: Clone + Default>(&mut self, items: &[T]) -> T {
        items
            .get(self.below(items.len()))
            .cloned()
            .unwrap_or_default()
    }
}

const ROLES: [&str; 5] = ["admin", "reader", "writer", "auditor", "approver"];
const KINDS: [&str; 5] = ["ci_job", "workload", "ai_agent", "service_account", "bot"];
const TIERS: [&str; 3] = ["standard", "sensitive", "management_plane"];

fn uid(ty: &str, id: &str) -> Value {
    json!({"type": format!("Holdfast::{ty}"), "id": id})
}

/// About `n` entities: 20 groups, then people, identities, secrets and access requests in the
/// proportions 20 : 60 : 19 : 1.
fn entities(
    n: usize,
    rng: &mut Rng,
) -> (Value, Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let mut out = Vec::with_capacity(n);
    let mut groups: Vec<String> = ROLES.iter().map(|r| (*r).to_string()).collect();
    groups.extend((0..15).map(|t| format!("team-{t}")));
    groups.push("secret-readers".into());
    for g in &groups {
        out.push(json!({"uid": uid("Group", g), "attrs": {}, "parents": []}));
    }
    let rest = n.saturating_sub(groups.len());
    let (people_n, ids_n, secrets_n) = (rest * 20 / 100, rest * 60 / 100, rest * 19 / 100);
    let requests_n = rest.saturating_sub(people_n + ids_n + secrets_n);
    let member = |rng: &mut Rng, groups: &[String]| {
        let mut p = vec![uid(
            "Group",
            &groups
                .get(1 + rng.below(groups.len() - 1))
                .cloned()
                .unwrap_or_default(),
        )];
        if rng.below(10) == 0 {
            p.push(uid("Group", &rng.pick(groups)));
        }
        p
    };
    let mut people = Vec::new();
    for i in 0..people_n {
        let name = format!("person-{i}");
        out.push(json!({"uid": uid("Person", &name), "attrs": {"name": name}, "parents": member(rng, &groups)}));
        people.push(name);
    }
    let mut identities = Vec::new();
    for i in 0..ids_n {
        let id = format!("identity-{i}");
        out.push(json!({"uid": uid("Identity", &id), "attrs": {
            "name": id, "kind": rng.pick(&KINDS), "tier": rng.pick(&TIERS),
            "owner": format!("team-{}", rng.below(15))}, "parents": member(rng, &groups)}));
        identities.push(id);
    }
    let mut secrets = Vec::new();
    for i in 0..secrets_n {
        let prefix = rng.pick(&["ci", "team", "prod"]);
        let path = format!("{prefix}/app-{}/secret-{i}", i % 97);
        out.push(json!({"uid": uid("Secret", &path), "attrs": {"path": path}, "parents": []}));
        secrets.push(path);
    }
    let mut requests = Vec::new();
    for i in 0..requests_n {
        let id = format!("request-{i}");
        out.push(json!({"uid": uid("AccessRequest", &id), "attrs": {
            "requester": people.get(rng.below(people.len())).cloned().unwrap_or_default(),
            "elevated": identities.get(rng.below(identities.len())).cloned().unwrap_or_default(),
            "tier": rng.pick(&TIERS)}, "parents": []}));
        requests.push(id);
    }
    (Value::Array(out), people, identities, secrets, requests)
}

const API_ACTIONS: [&str; 8] = [
    "identity.list",
    "identity.create",
    "identity.update",
    "audit.read",
    "token.create",
    "policy.write",
    "request.create",
    "discovery.import",
];
const SECRET_ACTIONS: [&str; 3] = ["secret.read", "secret.write", "secret.metadata"];

fn questions(
    count: usize,
    rng: &mut Rng,
    people: &[String],
    identities: &[String],
    secrets: &[String],
    requests: &[String],
) -> Vec<AuthorizeRequest> {
    (0..count)
        .map(|_| {
            let principal = if rng.below(3) == 0 {
                format!("Holdfast::Person::{:?}", rng.pick(people))
            } else {
                format!("Holdfast::Identity::{:?}", rng.pick(identities))
            };
            let (action, resource) = match rng.below(10) {
                0..=3 => (
                    rng.pick(&SECRET_ACTIONS).to_string(),
                    format!("Holdfast::Secret::{:?}", rng.pick(secrets)),
                ),
                4 => (
                    "request.approve".to_string(),
                    format!("Holdfast::AccessRequest::{:?}", rng.pick(requests)),
                ),
                _ => (
                    rng.pick(&API_ACTIONS).to_string(),
                    "Holdfast::Api::\"holdfast\"".to_string(),
                ),
            };
            AuthorizeRequest {
                principal: Some(principal),
                action: Some(action),
                resource: Some(resource),
                context: json!({
                    "hour": rng.below(24), "weekday": 1 + rng.below(7),
                    "source": format!("10.0.{}.{}", rng.below(256), rng.below(256)),
                    "token_age_minutes": rng.below(60 * 24 * 60),
                    "step_up_minutes": rng.below(60),
                    "tier": rng.pick(&TIERS),
                }),
                entities: None,
            }
        })
        .collect()
}

/// The `i`-th question, cycling.
fn question(asked: &[AuthorizeRequest], i: usize) -> AuthorizeRequest {
    asked
        .get(i % asked.len().max(1))
        .cloned()
        .unwrap_or_default()
}

pub async fn run(count: usize, entity_count: usize) -> anyhow::Result<()> {
    let count = count.max(1);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (entity_json, people, identities, secrets, requests) =
        entities(entity_count.max(100), &mut rng);
    let n_entities = entity_json.as_array().map_or(0, Vec::len);
    let asked = questions(4096, &mut rng, &people, &identities, &secrets, &requests);

    // In process: Holdfast's engine straight on Cedar, the same questions, one thread.
    let engine = Engine::new(REALISTIC_POLICIES)?;
    let policies = engine.policies().policies().count();
    let store = engine.entities(entity_json.clone())?;
    let mut local = Vec::with_capacity(count);
    let mut allowed = 0usize;
    let started = Instant::now();
    for i in 0..count {
        let q = question(&asked, i);
        let t = Instant::now();
        let query = Query {
            principal: q.principal.clone().unwrap_or_default(),
            action: q.action.clone().unwrap_or_default(),
            resource: q.resource.clone().unwrap_or_default(),
            context: complete_context(&q.context, 12, 3)?,
        };
        let d = engine.decide(&query, &store)?;
        local.push(t.elapsed());
        allowed += usize::from(d.allowed);
    }
    let local_wall = started.elapsed();
    local.sort();
    eprintln!(
        "bench authorize: {n_entities} entities, {policies} policies, {count} decisions per level; {:.0}% of them allow",
        allowed as f64 * 100.0 / count as f64
    );

    // Over HTTP: a fresh server with the same policies and entities.
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let settings = Settings::scratch(dir.path())?;
    let running = start(&settings).await?;
    let anon = Client::new(&running.url, None, None)?;
    let init = anon.init().await.context("initialising the bench server")?;
    let client = anon.with_token(Some(init.root_token));
    client
        .apply_policy_entities(&ApplyPolicyRequest {
            text: Some(entity_json.to_string()),
            ..Default::default()
        })
        .await?;
    client
        .apply_policy(&ApplyPolicyRequest {
            text: Some(REALISTIC_POLICIES.to_string()),
            ..Default::default()
        })
        .await?;
    let asked = Arc::new(asked);
    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    println!("entities                 {n_entities}");
    println!("policies                 {policies} (the realistic example set)");
    println!(
        "in-process Cedar         {:.0}/s on one thread; p50 {:.3} ms, p99 {:.3} ms",
        rate(local.len(), local_wall),
        ms(percentile(&local, 0.5)),
        ms(percentile(&local, 0.99))
    );
    for concurrency in [1usize, 8, 64] {
        let (c, q) = (client.clone(), asked.clone());
        // Warm the connection pool so the first connects are not measured.
        drive(concurrency * 4, concurrency, {
            let (c, q) = (c.clone(), q.clone());
            move |i| {
                let (c, q) = (c.clone(), q.clone());
                async move {
                    c.authorize(&question(&q, i)).await?;
                    Ok(())
                }
            }
        })
        .await?;
        let (wall, lat) = drive(count, concurrency, move |i| {
            let (c, q) = (c.clone(), q.clone());
            async move {
                c.authorize(&question(&q, i)).await?;
                Ok(())
            }
        })
        .await?;
        println!(
            "HTTP, {concurrency:>2} clients         {:.0}/s; p50 {:.3} ms, p99 {:.3} ms; p50 {:.1}× in-process",
            rate(lat.len(), wall),
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99)),
            percentile(&lat, 0.5).as_secs_f64() / percentile(&local, 0.5).as_secs_f64().max(1e-9)
        );
    }
    // The batch form: 100 questions per call, 8 clients.
    let per_call = 100usize;
    let calls = (count / per_call).max(1);
    let (c, q) = (client.clone(), asked.clone());
    let (wall, lat) = drive(calls, 8, move |i| {
        let (c, q) = (c.clone(), q.clone());
        async move {
            let requests = (0..per_call)
                .map(|k| question(&q, i * per_call + k))
                .collect();
            c.authorize_batch(&holdfast_types::BatchAuthorizeRequest { requests })
                .await?;
            Ok(())
        }
    })
    .await?;
    println!(
        "HTTP batch of {per_call}, 8 clients {:.0} decisions/s; p50 {:.3} ms, p99 {:.3} ms per call",
        rate(lat.len() * per_call, wall),
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );
    running.stop().await
}
