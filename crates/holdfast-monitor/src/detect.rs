//! Per-identity baselines and the detections that judge each event against them.
//!
//! A [`Profile`] is everything Holdfast remembers about how one identity behaves: the networks,
//! client families and hours it works from, the actions it used (with the resources, for
//! right-sizing) and the credentials it presented, and short windows for bursts. [`observe`] judges
//! one event against the profile and the [`Subject`] facts from the inventory, returns what fired,
//! and then learns from the event (only from calls that succeeded, so an attacker's refused probes
//! never become normal). Baselines judge novelty only once mature: seen for
//! [`Config::learning_days`] and at least [`Config::min_events`] events. Every detection is
//! documented in `docs/DETECTIONS.md` with its logic, false-positive notes and ATT&CK ids.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::agent;
use crate::classify::{self, Category};
use crate::event::{ActorKind, Event, Outcome};

/// How bad an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

macro_rules! detections {
    ($($v:ident => $id:literal, $title:literal, [$($mitre:literal),*];)*) => {
        /// What Holdfast looks for.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum Detection { $($v,)* }

        impl Detection {
            pub const ALL: &'static [Detection] = &[$(Detection::$v,)*];
            pub fn id(self) -> &'static str { match self { $(Self::$v => $id,)* } }
            pub fn title(self) -> &'static str { match self { $(Self::$v => $title,)* } }
            /// MITRE ATT&CK technique ids.
            pub fn mitre(self) -> &'static [&'static str] { match self { $(Self::$v => &[$($mitre),*],)* } }
        }

        impl std::str::FromStr for Detection {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($id => Ok(Self::$v),)* other => Err(format!("`{other}` is not a detection")) }
            }
        }
    };
}

detections! {
    UnknownIdentity => "unknown_identity", "An actor the inventory does not know is in use", ["T1078", "T1078.004"];
    NewNetwork => "new_network", "Use from a network this identity never used", ["T1078.004", "T1550.001"];
    NewUserAgent => "new_user_agent", "Use with a client family this identity never used", ["T1078.004"];
    UnusualHour => "unusual_hour", "Activity at an hour this identity is never active", ["T1078"];
    OutsideScope => "outside_scope", "An action outside the identity's declared scope", ["T1078", "T1098"];
    InactiveIdentityUse => "inactive_identity_use", "Use of a suspended, offboarded or revoked identity or credential", ["T1078.004", "T1550.001"];
    UseAfterOwnerChange => "use_after_owner_change", "A credential issued before an ownership change is still in use", ["T1078", "T1098.001"];
    HumanStyleUse => "human_style_use", "A machine identity used the way a person would", ["T1078.004"];
    AuthFailureBurst => "auth_failure_burst", "A burst of authorisation failures", ["T1110", "T1069.003", "T1580"];
    BulkSecretAccess => "bulk_secret_access", "Many secrets read in a short time", ["T1555.006", "T1552.007"];
    BulkRotation => "bulk_rotation", "Many secrets rotated or deleted in a short time", ["T1531", "T1485"];
    MassEnrolment => "mass_enrolment", "Many identities or credentials created in a short time", ["T1136.003", "T1098.001"];
    PrivilegeChange => "privilege_change", "IAM, RBAC or Holdfast policy changed", ["T1098", "T1484", "T1098.003"];
    AccessKeyForOtherUser => "access_key_for_other_user", "An access key created for another user", ["T1098.001"];
    LoggingDisabled => "logging_disabled", "Audit logging stopped, deleted or narrowed", ["T1562.008"];
}

/// Thresholds and learning periods.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Days a profile must span before novelty (network, client, hour) is judged.
    pub learning_days: i64,
    /// Events a profile must hold before novelty is judged.
    pub min_events: u64,
    /// Authorisation failures within `failure_window_seconds` that make a burst.
    pub failure_burst: usize,
    pub failure_window_seconds: i64,
    /// Distinct secrets read within `secret_window_seconds` that make a bulk read.
    pub secret_burst: usize,
    pub secret_window_seconds: i64,
    /// Rotations or deletions within `secret_window_seconds` that make a bulk rotation.
    pub rotation_burst: usize,
    /// Identities or credentials created within `enrolment_window_seconds` that make mass enrolment.
    pub enrolment_burst: usize,
    pub enrolment_window_seconds: i64,
}

impl Config {
    /// Refuses settings that cannot work (a zero window, a zero threshold), naming the key.
    pub fn validate(&self) -> Result<(), String> {
        for (k, v) in [
            ("failure_window_seconds", self.failure_window_seconds),
            ("secret_window_seconds", self.secret_window_seconds),
            ("enrolment_window_seconds", self.enrolment_window_seconds),
            ("learning_days", self.learning_days.max(0) + 1),
        ] {
            if v <= 0 {
                return Err(format!("monitor.{k} must be at least 1"));
            }
        }
        for (k, v) in [
            ("failure_burst", self.failure_burst),
            ("secret_burst", self.secret_burst),
            ("rotation_burst", self.rotation_burst),
            ("enrolment_burst", self.enrolment_burst),
        ] {
            if v == 0 {
                return Err(format!("monitor.{k} must be at least 1"));
            }
        }
        if self.learning_days < 0 {
            return Err("monitor.learning_days must not be negative".into());
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            learning_days: 7,
            min_events: 20,
            failure_burst: 10,
            failure_window_seconds: 300,
            secret_burst: 20,
            secret_window_seconds: 600,
            rotation_burst: 10,
            enrolment_burst: 10,
            enrolment_window_seconds: 600,
        }
    }
}

/// How one identity used one action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionUse {
    pub count: u64,
    /// Unix seconds.
    pub first: i64,
    pub last: i64,
    /// Resources it was used on (up to [`MAX_RESOURCES`]; past that, `any_resource`).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub resources: BTreeSet<String>,
    #[serde(default)]
    pub any_resource: bool,
}

pub const MAX_RESOURCES: usize = 20;
/// A profile that already works from this many networks roams (Lambda and Fargate roles call from
/// AWS's own, ever-changing addresses): network novelty is not judged for it.
pub const ROAMING_NETWORKS: usize = 16;
const MAX_NETWORKS: usize = 512;
const MAX_AGENTS: usize = 64;
const MAX_ACTIONS: usize = 4096;
const MAX_CREDENTIALS: usize = 256;

/// What Holdfast remembers about one identity's behaviour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Profile {
    /// Unix seconds of the first and last successful event.
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub events: u64,
    /// Network → last seen.
    pub networks: BTreeMap<String, i64>,
    /// Client family → last seen.
    pub agents: BTreeMap<String, i64>,
    /// Successful events per hour of the day (UTC).
    pub hours: [u64; 24],
    /// Action → how it was used.
    pub actions: BTreeMap<String, ActionUse>,
    /// Credential → last used.
    pub credentials: BTreeMap<String, i64>,
    /// Burst windows: recent authorisation failures, secret reads (when and which), rotations
    /// and enrolments (unix seconds).
    pub failures: Vec<(i64, String)>,
    pub secret_reads: Vec<(i64, String)>,
    pub rotations: Vec<(i64, String)>,
    pub enrolments: Vec<(i64, String)>,
    /// Denied events, all time.
    pub denied: u64,
}

impl Profile {
    /// Whether novelty can be judged at `t`.
    pub fn mature(&self, t: i64, cfg: &Config) -> bool {
        self.events >= cfg.min_events
            && self
                .first_seen
                .is_some_and(|f| t - f >= cfg.learning_days * 86_400)
    }
}

/// What the inventory says about the actor of an event.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    /// The inventory identity, when the actor maps to one.
    pub identity: Option<String>,
    /// The actor is a person (a person's Holdfast token); people are not judged as machines.
    pub person: bool,
    /// `standard`, `management_plane`, `break_glass`.
    pub tier: Option<String>,
    /// Lifecycle state: `active`, `suspended`, `offboarding`, `offboarded`.
    pub state: Option<String>,
    /// The presented credential's state: `active`, `revoked`, `expired`.
    pub credential_state: Option<String>,
    /// Since when the identity has been in its (inactive) state, and the credential in its
    /// (revoked, expired) state, as far as the inventory knows (unix seconds): events from before
    /// are not judged as use of an inactive identity (logs arrive late).
    pub inactive_since: Option<i64>,
    pub credential_inactive_since: Option<i64>,
    /// When the presented credential was issued (unix seconds).
    pub credential_issued_at: Option<i64>,
    /// When the identity's owner last changed (unix seconds).
    pub owner_changed_at: Option<i64>,
    /// Action patterns the identity is declared to use (`s3:Get*`, `get core/secrets`); empty
    /// when nothing is declared.
    pub declared_actions: Vec<String>,
}

impl Subject {
    fn management_plane(&self) -> bool {
        self.tier.as_deref() == Some("management_plane")
    }
}

/// One detection that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub detection: Detection,
    pub severity: Severity,
    /// Alerts with the same key are one alert while it is open.
    pub dedup: String,
    pub summary: String,
}

/// Most entries a burst window keeps.
const MAX_WINDOW: usize = 512;

/// Records an event at `t` in a burst window (with `key` when only distinct keys count, such as
/// secrets read) and says whether some span shorter than `w` seconds that includes `t` now holds
/// `n` of them; if so, that span's entries are consumed. A late event counts where it belongs in
/// time; entries more than six windows behind the newest are dropped.
fn burst(v: &mut Vec<(i64, String)>, t: i64, key: Option<&str>, w: i64, n: usize) -> bool {
    let newest = v.iter().map(|e| e.0).max().unwrap_or(t).max(t);
    let keep = w.saturating_mul(6);
    v.retain(|e| e.0 > newest - keep);
    if t <= newest - keep {
        return false;
    }
    let distinct = key.is_some();
    v.push((t, key.unwrap_or_default().to_string()));
    v.sort_by_key(|e| e.0);
    if v.len() > MAX_WINDOW {
        let extra = v.len() - MAX_WINDOW;
        v.drain(..extra);
    }
    let near: Vec<&(i64, String)> = v.iter().filter(|e| (e.0 - t).abs() < w).collect();
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let (mut i, mut total) = (0usize, 0usize);
    let mut found: Option<(i64, i64)> = None;
    for j in 0..near.len() {
        let Some(right) = near.get(j) else { break };
        *counts.entry(right.1.as_str()).or_default() += 1;
        total += 1;
        while let Some(left) = near.get(i)
            && right.0 - left.0 >= w
        {
            if let Some(c) = counts.get_mut(left.1.as_str()) {
                *c -= 1;
                if *c == 0 {
                    counts.remove(left.1.as_str());
                }
            }
            total -= 1;
            i += 1;
        }
        let have = if distinct { counts.len() } else { total };
        if let Some(left) = near.get(i)
            && have >= n
            && left.0 <= t
            && t <= right.0
        {
            found = Some((left.0, right.0));
            break;
        }
    }
    match found {
        Some((a, b)) => {
            v.retain(|e| e.0 < a || e.0 > b);
            true
        }
        None => false,
    }
}

/// Judges `ev` against `profile` and `subject`, then learns from it. `key` names the profile in
/// dedup keys (an identity id, or the actor for unknown ones).
pub fn observe(
    profile: &mut Profile,
    subject: &Subject,
    key: &str,
    ev: &Event,
    cfg: &Config,
) -> Vec<Hit> {
    let mut hits = Vec::new();
    if matches!(
        ev.actor.kind,
        ActorKind::Service | ActorKind::SystemComponent | ActorKind::External
    ) {
        return hits;
    }
    let t = ev.at();
    let success = ev.outcome == Outcome::Success;
    let mature = profile.mature(t, cfg);
    let mp = subject.management_plane();
    let machine = subject.identity.is_some() && !subject.person;
    let category = classify::categorize(ev);
    let who = &ev.actor.display;
    let mut hit = |d: Detection, sev: Severity, discriminator: &str, summary: String| {
        hits.push(Hit {
            detection: d,
            severity: sev,
            dedup: format!("{}:{key}:{discriminator}", d.id()),
            summary,
        });
    };

    // Who is this?
    if subject.identity.is_none() && !subject.person && ev.actor.kind != ActorKind::Root {
        let sev = if success && !ev.read_only {
            Severity::High
        } else {
            Severity::Medium
        };
        hit(
            Detection::UnknownIdentity,
            sev,
            "",
            format!("`{who}` is not in the inventory and called {}", ev.action),
        );
    }
    if let Some(state) = subject
        .state
        .as_deref()
        .filter(|s| matches!(*s, "suspended" | "offboarding" | "offboarded"))
        && subject.inactive_since.is_none_or(|since| t >= since)
    {
        hit(
            Detection::InactiveIdentityUse,
            if success {
                Severity::Critical
            } else {
                Severity::High
            },
            "identity",
            format!(
                "`{who}` is {state} but called {} ({})",
                ev.action,
                outcome_word(ev.outcome)
            ),
        );
    }
    if let Some(state) = subject
        .credential_state
        .as_deref()
        .filter(|s| matches!(*s, "revoked" | "expired"))
        && subject
            .credential_inactive_since
            .is_none_or(|since| t >= since)
    {
        let cred = ev.actor.credential.as_deref().unwrap_or("?");
        hit(
            Detection::InactiveIdentityUse,
            if success {
                Severity::Critical
            } else {
                Severity::High
            },
            cred,
            format!(
                "credential `{cred}` is {state} but was presented for {} ({})",
                ev.action,
                outcome_word(ev.outcome)
            ),
        );
    }
    if let (Some(changed), Some(issued)) = (subject.owner_changed_at, subject.credential_issued_at)
        && success
        && t > changed
        && issued < changed
    {
        let cred = ev.actor.credential.as_deref().unwrap_or("?");
        hit(
            Detection::UseAfterOwnerChange,
            if mp { Severity::High } else { Severity::Medium },
            cred,
            format!(
                "credential `{cred}` of `{who}` was issued before its owner changed and is still in use ({})",
                ev.action
            ),
        );
    }

    // Used like a person?
    let family = ev.user_agent.as_deref().and_then(agent::family);
    if machine
        && success
        && (category == Some(Category::ConsoleLogin)
            || ev.user_agent.as_deref().is_some_and(agent::looks_human))
    {
        let how = if category == Some(Category::ConsoleLogin) {
            "signed in to the console".to_string()
        } else {
            format!(
                "called {} from a person's tool ({})",
                ev.action,
                ev.user_agent.as_deref().unwrap_or_default()
            )
        };
        hit(
            Detection::HumanStyleUse,
            Severity::High,
            family.as_deref().unwrap_or("console"),
            format!("machine identity `{who}` {how}"),
        );
    }

    // Novelty against the baseline.
    let network = ev
        .source_ip
        .as_deref()
        .filter(|s| !agent::is_service_host(s))
        .and_then(agent::network);
    if mature && success && machine {
        if let Some(net) = &network
            && profile.networks.len() < ROAMING_NETWORKS
            && !profile.networks.contains_key(net)
        {
            hit(
                Detection::NewNetwork,
                if mp { Severity::High } else { Severity::Medium },
                net,
                format!(
                    "`{who}` called {} from {} ({net}), a network it never used",
                    ev.action,
                    ev.source_ip.as_deref().unwrap_or_default()
                ),
            );
        }
        if let Some(f) = &family
            && !profile.agents.contains_key(f)
        {
            hit(
                Detection::NewUserAgent,
                if mp { Severity::High } else { Severity::Medium },
                f,
                format!(
                    "`{who}` called {} with `{f}`, a client it never used",
                    ev.action
                ),
            );
        }
        let hour = usize::from(ev.time.hour());
        let active_hours = profile.hours.iter().filter(|&&n| n > 0).count();
        if profile.hours.get(hour).copied() == Some(0) && active_hours <= 16 {
            hit(
                Detection::UnusualHour,
                if mp { Severity::Medium } else { Severity::Low },
                &ev.time.date().to_string(),
                format!(
                    "`{who}` was active at {hour:02}:00 UTC, an hour it never works ({active_hours} active hours in its baseline)"
                ),
            );
        }
    }
    if success
        && machine
        && !subject.declared_actions.is_empty()
        && !subject
            .declared_actions
            .iter()
            .any(|p| classify::action_matches(p, &ev.action))
    {
        hit(
            Detection::OutsideScope,
            if mp { Severity::High } else { Severity::Medium },
            &ev.action,
            format!(
                "`{who}` used {}, which its declared scope does not cover",
                ev.action
            ),
        );
    }

    // Bursts.
    if ev.outcome == Outcome::Denied {
        profile.denied += 1;
        let w = cfg.failure_window_seconds;
        if burst(&mut profile.failures, t, None, w, cfg.failure_burst) {
            hit(
                Detection::AuthFailureBurst,
                if mp { Severity::High } else { Severity::Medium },
                "",
                format!(
                    "`{who}` was refused {} times within {} minutes (last: {})",
                    cfg.failure_burst,
                    w / 60,
                    ev.action
                ),
            );
        }
    }
    let w = cfg.secret_window_seconds;
    if success && category == Some(Category::SecretRead) {
        let which = ev.resource.as_deref().unwrap_or_default();
        if burst(
            &mut profile.secret_reads,
            t,
            Some(which),
            w,
            cfg.secret_burst,
        ) {
            hit(
                Detection::BulkSecretAccess,
                Severity::High,
                "",
                format!(
                    "`{who}` read {} distinct secrets within {} minutes",
                    cfg.secret_burst,
                    w / 60
                ),
            );
        }
    }
    if success
        && category == Some(Category::SecretList)
        && mature
        && !profile.actions.contains_key(&ev.action)
    {
        hit(
            Detection::BulkSecretAccess,
            Severity::High,
            &ev.action,
            format!(
                "`{who}` listed secrets ({} {}), which it never did before",
                ev.action,
                ev.resource.as_deref().unwrap_or("*")
            ),
        );
    }
    if success
        && category == Some(Category::Rotation)
        && burst(&mut profile.rotations, t, None, w, cfg.rotation_burst)
    {
        hit(
            Detection::BulkRotation,
            if mp { Severity::High } else { Severity::Medium },
            "",
            format!(
                "`{who}` rotated or deleted {} secrets or keys within {} minutes",
                cfg.rotation_burst,
                w / 60
            ),
        );
    }
    if success && category == Some(Category::Enrolment) {
        let w = cfg.enrolment_window_seconds;
        if burst(&mut profile.enrolments, t, None, w, cfg.enrolment_burst) {
            hit(
                Detection::MassEnrolment,
                Severity::High,
                "",
                format!(
                    "`{who}` created {} identities or credentials within {} minutes (last: {})",
                    cfg.enrolment_burst,
                    w / 60,
                    ev.action
                ),
            );
        }
    }

    // The management plane.
    if success && category == Some(Category::PrivilegeChange) && subject.identity.is_some() {
        let (sev, why) = if mp || subject.person {
            (Severity::Medium, "a management-plane change")
        } else {
            (
                Severity::High,
                "a management-plane change by an identity the inventory does not rate management-plane",
            )
        };
        hit(
            Detection::PrivilegeChange,
            sev,
            &ev.time.date().to_string(),
            format!(
                "`{who}` made {why}: {} on {}",
                ev.action,
                ev.resource.as_deref().unwrap_or("*")
            ),
        );
    }
    if success
        && ev.action == "iam:CreateAccessKey"
        && let Some(target) = ev.target_user.as_deref()
        && ev.actor.user_name.as_deref() != Some(target)
    {
        hit(
            Detection::AccessKeyForOtherUser,
            Severity::High,
            target,
            format!("`{who}` created an access key for the user `{target}`"),
        );
    }
    if let Some(Category::LoggingOff { stop }) = category
        && ev.outcome != Outcome::Failure
    {
        let sev = match (success, stop) {
            (true, true) => Severity::Critical,
            (true, false) => Severity::High,
            (false, _) => Severity::Medium,
        };
        hit(
            Detection::LoggingDisabled,
            sev,
            ev.resource.as_deref().unwrap_or("*"),
            format!(
                "`{who}` called {} on {} ({})",
                ev.action,
                ev.resource.as_deref().unwrap_or("*"),
                outcome_word(ev.outcome)
            ),
        );
    }

    // A management-plane identity misbehaving matters more.
    if mp {
        for h in &mut hits {
            if matches!(
                h.detection,
                Detection::AuthFailureBurst
                    | Detection::MassEnrolment
                    | Detection::BulkSecretAccess
            ) {
                h.severity = h.severity.max(Severity::High);
            }
        }
    }

    learn(profile, ev, network, family, success);
    hits
}

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Success => "it succeeded",
        Outcome::Denied => "it was refused",
        Outcome::Failure => "it failed",
    }
}

fn learn(
    profile: &mut Profile,
    ev: &Event,
    network: Option<String>,
    family: Option<String>,
    success: bool,
) {
    if !success {
        return;
    }
    let t = ev.at();
    profile.events += 1;
    profile.first_seen = Some(profile.first_seen.map_or(t, |f| f.min(t)));
    profile.last_seen = Some(profile.last_seen.map_or(t, |l| l.max(t)));
    if let Some(h) = profile.hours.get_mut(usize::from(ev.time.hour())) {
        *h += 1;
    }
    if let Some(net) = network {
        bump(&mut profile.networks, net, t, MAX_NETWORKS);
    }
    if let Some(f) = family {
        bump(&mut profile.agents, f, t, MAX_AGENTS);
    }
    if let Some(c) = &ev.actor.credential {
        bump(&mut profile.credentials, c.clone(), t, MAX_CREDENTIALS);
    }
    if profile.actions.len() < MAX_ACTIONS || profile.actions.contains_key(&ev.action) {
        let u = profile
            .actions
            .entry(ev.action.clone())
            .or_insert(ActionUse {
                first: t,
                last: t,
                ..Default::default()
            });
        u.count += 1;
        u.first = u.first.min(t);
        u.last = u.last.max(t);
        let clipped = ev.resource.as_deref().map(|r| {
            let mut end = r.len().min(256);
            while !r.is_char_boundary(end) {
                end -= 1;
            }
            r.get(..end).unwrap_or_default().to_string()
        });
        if let Some(r) = &clipped
            && !u.any_resource
            && !u.resources.contains(r)
        {
            if u.resources.len() < MAX_RESOURCES {
                u.resources.insert(r.clone());
            } else {
                u.resources.clear();
                u.any_resource = true;
            }
        }
    }
}

/// Records `t` for `k`, keeping at most `cap` entries (the least recently seen goes).
fn bump(map: &mut BTreeMap<String, i64>, k: String, t: i64, cap: usize) {
    if let Some(v) = map.get_mut(&k) {
        *v = (*v).max(t);
        return;
    }
    if map.len() >= cap
        && let Some(oldest) = map.iter().min_by_key(|(_, v)| **v).map(|(k, _)| k.clone())
    {
        map.remove(&oldest);
    }
    map.insert(k, t);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_count_within_one_window_even_out_of_order() {
        let mut v = vec![];
        // One every 60 s: never three inside 100 s.
        for t in [0, 60, 120, 180, 240, 300] {
            assert!(!burst(&mut v, t, None, 100, 3), "{t}");
        }
        // A late event at 30 s puts three inside 100 s.
        assert!(burst(&mut v, 30, None, 100, 3));
        // Only distinct keys count when keys are given.
        let mut d = vec![];
        for _ in 0..5 {
            assert!(!burst(&mut d, 10, Some("same"), 100, 2));
        }
        assert!(burst(&mut d, 11, Some("other"), 100, 2));
        // Far behind the newest: dropped, not counted.
        let mut late = vec![(10_000, String::new())];
        assert!(!burst(&mut late, 10, None, 100, 1));
    }
}
