//! The posture engine: one pass over the inventory and the graph that raises every finding and
//! scores every identity. Pure: the caller loads the records and passes the time in.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use holdfast_core::{
    Credential, CredentialKind, CredentialState, DiscoverySource, Entitlement, Identity,
    IdentityKind, Leak, LifecycleState, Owner, Secret, Severity, System, Tier,
};
use holdfast_graph::{EdgeKind, Graph, NodeKind};
use holdfast_monitor::{Alert, Detection, ProfileRecord};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::catalog::{self, CONNECTOR_KINDS};
use crate::grants::grants_of;
use crate::score::{Risk, RiskInput, risk};

/// Thresholds, with defaults a security team would start from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// A credential not rotated for this long is past its maximum age.
    pub max_credential_age_days: i64,
    /// An identity or credential unused for this long is stale.
    pub stale_days: i64,
    /// An identity run by at least this many workloads is reused.
    pub reuse_workloads: usize,
    /// Granted versus used looks at this window …
    pub usage_window_days: i64,
    /// … and only once the identity has been watched for at least this long.
    pub min_observed_days: i64,
    /// Human-style use seen by monitoring within this many days is a finding.
    pub human_use_days: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_credential_age_days: 90,
            stale_days: 90,
            reuse_workloads: 3,
            usage_window_days: 90,
            min_observed_days: 30,
            human_use_days: 30,
        }
    }
}

impl Settings {
    /// Every problem with the settings, as `(field, reason)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut days = |field: &'static str, v: i64| {
            if !(1..=3650).contains(&v) {
                out.push((field, format!("must be between 1 and 3650 days, not {v}")));
            }
        };
        days("max_credential_age_days", self.max_credential_age_days);
        days("stale_days", self.stale_days);
        days("usage_window_days", self.usage_window_days);
        days("min_observed_days", self.min_observed_days);
        days("human_use_days", self.human_use_days);
        if self.reuse_workloads < 2 {
            out.push(("reuse_workloads", "must be at least 2".into()));
        }
        out
    }
}

/// Everything the engine reads. Slices may be in any order.
#[derive(Debug, Clone, Copy)]
pub struct Estate<'a> {
    pub identities: &'a [Identity],
    pub credentials: &'a [Credential],
    pub entitlements: &'a [Entitlement],
    pub owners: &'a [Owner],
    pub systems: &'a [System],
    pub leaks: &'a [Leak],
    pub secrets: &'a [Secret],
    /// Discovery sources with the findings their connectors reported.
    pub sources: &'a [DiscoverySource],
    pub profiles: &'a [ProfileRecord],
    /// Monitoring alerts (only human-style use is read).
    pub alerts: &'a [Alert],
    pub graph: Option<&'a Graph>,
}

/// One record a finding rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    /// `identity:<id>`, `credential:<id>`, `owner:<id>`, `secret:<path>`, `leak:<id>`,
    /// `discovery:<source>`, `alert:<id>`, `graph:<key>`, `profile:<id>`.
    pub record: String,
    pub detail: String,
}

/// One thing wrong, with why and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    /// `rule|subject`: stable across runs, so a finding keeps its history.
    pub key: String,
    pub rule: String,
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub severity: Severity,
    /// The identity it is about, when it is about one.
    pub identity_id: Option<Uuid>,
    /// What it is about: `identity:<id>`, `credential:<id>`, `secret:<path>`, `leak:<id>`,
    /// `graph:<key>`.
    pub subject: String,
    /// The subject in words.
    pub subject_label: String,
    pub explanation: String,
    pub evidence: Vec<Evidence>,
    pub fix: String,
    /// OWASP NHI Top 10 (2025) items: `NHI1` … `NHI10`.
    pub owasp: Vec<String>,
    /// NIST CSF 2.0 outcomes.
    pub csf: Vec<String>,
}

/// The engine's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// Sorted by key.
    pub findings: Vec<Finding>,
    /// One per identity, in the order identities were given.
    pub risks: Vec<Risk>,
}

/// Most evidence entries one finding lists; the explanation gives the total.
const EVIDENCE_MAX: usize = 25;

const CLOUD_KEY_SECRETS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CREDENTIALS",
    "GCP_CREDENTIALS",
    "GCP_SA_KEY",
    "GCLOUD_SERVICE_KEY",
    "AZURE_CLIENT_SECRET",
    "AZURE_CREDENTIALS",
    "ARM_CLIENT_SECRET",
];

/// OAuth scopes that reach everything a tenant has (GitHub, Google, Microsoft Graph, Slack).
const BROAD_SCOPES: &[&str] = &[
    "*",
    "repo",
    "admin:org",
    "admin:repo_hook",
    "admin:enterprise",
    "delete_repo",
    "write:packages",
    "workflow",
    "https://www.googleapis.com/auth/cloud-platform",
    "https://mail.google.com/",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/admin.directory.user",
    "Directory.ReadWrite.All",
    "Application.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
    "Mail.ReadWrite",
    "Files.ReadWrite.All",
    "Sites.FullControl.All",
    "User.ReadWrite.All",
    "admin",
    "channels:history",
    "files:read",
];

struct Builder<'a> {
    out: BTreeMap<String, Finding>,
    labels: &'a HashMap<Uuid, String>,
}

impl Builder<'_> {
    /// Raises `rule` on `subject`; a second raise on the same key adds its evidence and keeps the
    /// worse severity.
    #[allow(clippy::too_many_arguments)]
    fn raise(
        &mut self,
        rule_id: &str,
        severity: Option<Severity>,
        identity: Option<Uuid>,
        subject: String,
        subject_label: Option<String>,
        explanation: String,
        evidence: Vec<Evidence>,
    ) {
        let Some(rule) = catalog::rule(rule_id) else {
            return;
        };
        let severity = severity.unwrap_or(rule.severity);
        let key = format!("{}|{subject}", rule.id);
        if let Some(f) = self.out.get_mut(&key) {
            if rank(severity) > rank(f.severity) {
                f.severity = severity;
            }
            for e in evidence {
                if f.evidence.len() < EVIDENCE_MAX && !f.evidence.contains(&e) {
                    f.evidence.push(e);
                }
            }
            if !f.explanation.contains(&explanation) {
                f.explanation.push(' ');
                f.explanation.push_str(&explanation);
            }
            return;
        }
        let subject_label = subject_label
            .or_else(|| identity.and_then(|i| self.labels.get(&i).cloned()))
            .unwrap_or_else(|| subject.clone());
        let mut evidence = evidence;
        evidence.truncate(EVIDENCE_MAX);
        self.out.insert(
            key.clone(),
            Finding {
                key,
                rule: rule.id.to_string(),
                title: rule.title.to_string(),
                severity,
                identity_id: identity,
                subject,
                subject_label,
                explanation,
                evidence,
                fix: rule.fix.to_string(),
                owasp: rule.owasp.iter().map(|s| s.to_string()).collect(),
                csf: rule.csf.iter().map(|s| s.to_string()).collect(),
            },
        );
    }
}

/// Orders severities: low < medium < high < critical.
pub fn rank(s: Severity) -> u8 {
    match s {
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

fn ev(record: impl Into<String>, detail: impl Into<String>) -> Evidence {
    Evidence {
        record: record.into(),
        detail: detail.into(),
    }
}

fn date(t: OffsetDateTime) -> String {
    t.date().to_string()
}

fn days(d: Duration) -> i64 {
    d.whole_days()
}

fn label_of(i: &Identity) -> String {
    format!("{} {} ({})", i.kind, i.name, i.source)
}

fn str_list(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(s)) => s
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn is_wildcard_action(a: &str) -> bool {
    a == "*" || a.ends_with(":*") || a == "*:*"
}

fn is_third_party(i: &Identity) -> bool {
    i.kind == IdentityKind::OauthApp
        || i.attributes.get("third_party").and_then(|v| v.as_bool()) == Some(true)
        || i.labels
            .get("holdfast.io/third-party")
            .is_some_and(|v| v == "true")
}

/// Computes every finding and every identity's risk.
pub fn assess(estate: &Estate<'_>, settings: &Settings, now: OffsetDateTime) -> Assessment {
    let max_age = Duration::days(settings.max_credential_age_days);
    let stale = Duration::days(settings.stale_days);

    let labels: HashMap<Uuid, String> = estate
        .identities
        .iter()
        .map(|i| (i.id, label_of(i)))
        .collect();
    let identity_by_id: HashMap<Uuid, &Identity> =
        estate.identities.iter().map(|i| (i.id, i)).collect();
    let identity_by_key: HashMap<&str, &Identity> = estate
        .identities
        .iter()
        .filter_map(|i| i.graph_key.as_deref().map(|k| (k, i)))
        .collect();
    let owners: HashMap<Uuid, &Owner> = estate.owners.iter().map(|o| (o.id, o)).collect();
    let systems: HashMap<Uuid, &System> = estate.systems.iter().map(|s| (s.id, s)).collect();
    let mut creds_of: HashMap<Uuid, Vec<&Credential>> = HashMap::new();
    for c in estate.credentials {
        creds_of.entry(c.identity_id).or_default().push(c);
    }
    let mut ents_of: HashMap<Uuid, Vec<&Entitlement>> = HashMap::new();
    for e in estate.entitlements {
        ents_of.entry(e.identity_id).or_default().push(e);
    }
    let profiles: HashMap<Uuid, &ProfileRecord> = estate
        .profiles
        .iter()
        .filter_map(|p| p.identity_id.map(|i| (i, p)))
        .collect();

    // From the graph: blast-radius summaries, the workloads that run as each identity, and the
    // systems that have a federation provider.
    let mut blast: HashMap<&str, (u32, bool)> = HashMap::new();
    let mut workloads: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut federated_systems: HashMap<String, String> = HashMap::new();
    let mut system_of_key: HashMap<&str, &str> = HashMap::new();
    let mut credential_holder: HashMap<String, String> = HashMap::new();
    if let Some(g) = estate.graph {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        for s in g.summarize_all(&[NodeKind::Identity], threads) {
            if let Some(n) = g.node(s.node) {
                blast.insert(n.key.as_str(), (s.score, s.management_plane));
            }
        }
        for (_, n) in g.nodes() {
            if let Some(sys) = &n.system {
                system_of_key.insert(n.key.as_str(), sys.as_str());
                if n.kind == NodeKind::Identity
                    && (n.key.starts_with("aws:federated:") || n.key.starts_with("oidc:"))
                {
                    federated_systems
                        .entry(sys.clone())
                        .or_insert_with(|| n.label.clone());
                }
            }
        }
        let kinds: HashMap<&str, NodeKind> =
            g.nodes().map(|(_, n)| (n.key.as_str(), n.kind)).collect();
        for e in g.edge_specs() {
            if e.kind == EdgeKind::RunsAs && kinds.get(e.from.as_str()) == Some(&NodeKind::Workload)
            {
                workloads
                    .entry(e.to.clone())
                    .or_default()
                    .insert(e.from.clone());
            }
            if e.kind == EdgeKind::AuthenticatesAs {
                credential_holder.insert(e.from.clone(), e.to.clone());
            }
        }
    }

    let mut b = Builder {
        out: BTreeMap::new(),
        labels: &labels,
    };

    // Credentials shared by fingerprint across identities.
    let mut by_fingerprint: HashMap<String, Vec<&Credential>> = HashMap::new();
    for c in estate
        .credentials
        .iter()
        .filter(|c| c.state == CredentialState::Active)
    {
        if let Some(fp) = &c.fingerprint {
            by_fingerprint.entry(fp.to_string()).or_default().push(c);
        }
    }
    for group in by_fingerprint.values() {
        let holders: BTreeSet<Uuid> = group.iter().map(|c| c.identity_id).collect();
        if holders.len() < 2 {
            continue;
        }
        let envs: BTreeSet<String> = holders
            .iter()
            .filter_map(|h| identity_by_id.get(h))
            .filter_map(|i| i.environment.clone())
            .collect();
        for c in group {
            let others: Vec<Evidence> = group
                .iter()
                .filter(|o| o.identity_id != c.identity_id)
                .map(|o| {
                    ev(
                        format!("credential:{}", o.id),
                        format!(
                            "same secret as credential `{}` of {}",
                            o.name,
                            labels
                                .get(&o.identity_id)
                                .map_or("an unknown identity", String::as_str)
                        ),
                    )
                })
                .collect();
            b.raise(
                "shared-credential",
                None,
                Some(c.identity_id),
                format!("identity:{}", c.identity_id),
                None,
                format!(
                    "credential `{}` has the same fingerprint as credentials of {} other identities",
                    c.name,
                    holders.len() - 1
                ),
                others.clone(),
            );
            if envs.len() > 1 {
                b.raise(
                    "credential-across-environments",
                    None,
                    Some(c.identity_id),
                    format!("identity:{}", c.identity_id),
                    None,
                    format!(
                        "one secret is held by identities in {} environments: {}",
                        envs.len(),
                        envs.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                    others,
                );
            }
        }
    }

    let mut risks = Vec::with_capacity(estate.identities.len());
    for i in estate.identities {
        let subject = format!("identity:{}", i.id);
        let me = ev(&subject, label_of(i));
        let creds = creds_of.get(&i.id).map(Vec::as_slice).unwrap_or_default();
        let active_creds: Vec<&Credential> = creds
            .iter()
            .copied()
            .filter(|c| c.state == CredentialState::Active)
            .collect();
        if i.state == LifecycleState::Offboarded {
            if !active_creds.is_empty() {
                b.raise(
                    "offboarded-credential-active",
                    None,
                    Some(i.id),
                    subject.clone(),
                    None,
                    format!(
                        "the identity was offboarded but {} of its credentials are still active",
                        active_creds.len()
                    ),
                    active_creds
                        .iter()
                        .map(|c| {
                            ev(
                                format!("credential:{}", c.id),
                                format!("`{}` is active", c.name),
                            )
                        })
                        .collect(),
                );
            }
            risks.push(Risk::offboarded(i.id));
            continue;
        }
        let management = matches!(i.tier, Tier::ManagementPlane | Tier::BreakGlass);
        let worse = |s: Severity| if management { Some(s) } else { None };

        // NHI1: ownership and lifecycle.
        match i.owner_id.map(|o| (o, owners.get(&o))) {
            None => {
                let mut evidence = vec![ev(&subject, "no owner recorded")];
                if let Some(claim) = i.labels.get("holdfast.io/owner-claim") {
                    evidence.push(ev(
                        &subject,
                        format!("its source names `{claim}`, who is not a registered owner"),
                    ));
                }
                b.raise(
                    "no-owner",
                    worse(Severity::High),
                    Some(i.id),
                    subject.clone(),
                    None,
                    format!("nobody is accountable for {}", i.name),
                    evidence,
                );
            }
            Some((oid, None)) => b.raise(
                "no-owner",
                worse(Severity::High),
                Some(i.id),
                subject.clone(),
                None,
                format!("its owner {oid} no longer exists"),
                vec![me.clone()],
            ),
            Some((_, Some(o))) if !o.active => b.raise(
                "owner-departed",
                worse(Severity::Critical),
                Some(i.id),
                subject.clone(),
                None,
                format!("its owner {} ({}) is no longer active", o.name, o.kind),
                vec![ev(
                    format!("owner:{}", o.id),
                    format!("{} is inactive", o.name),
                )],
            ),
            Some(_) => {}
        }
        if i.state == LifecycleState::Active
            && let Some(end) = i.expires_at.filter(|e| *e < now)
        {
            b.raise(
                "expired-still-active",
                None,
                Some(i.id),
                subject.clone(),
                None,
                format!(
                    "its end date {} has passed and it is still active",
                    date(end)
                ),
                vec![ev(&subject, format!("expires_at {}", date(end)))],
            );
        }
        for c in &active_creds {
            if let Some(end) = c.expires_at.filter(|e| *e < now) {
                b.raise(
                    "expired-still-active",
                    None,
                    Some(i.id),
                    subject.clone(),
                    None,
                    format!(
                        "credential `{}` expired on {} but is recorded as active",
                        c.name,
                        date(end)
                    ),
                    vec![ev(
                        format!("credential:{}", c.id),
                        format!("expires_at {}", date(end)),
                    )],
                );
            }
        }
        if i.state == LifecycleState::Active
            && let Some(last) = i.last_used_at.filter(|t| now - *t > stale)
        {
            b.raise(
                "stale-identity",
                None,
                Some(i.id),
                subject.clone(),
                None,
                format!("last used {} days ago and still active", days(now - last)),
                vec![ev(&subject, format!("last_used_at {}", date(last)))],
            );
        }
        for c in &active_creds {
            if let Some(last) = c.last_used_at.filter(|t| now - *t > stale) {
                b.raise(
                    "stale-credential",
                    None,
                    Some(i.id),
                    format!("credential:{}", c.id),
                    Some(format!("credential {} of {}", c.name, i.name)),
                    format!(
                        "credential `{}` last used {} days ago and still active",
                        c.name,
                        days(now - last)
                    ),
                    vec![ev(
                        format!("credential:{}", c.id),
                        format!("last_used_at {}", date(last)),
                    )],
                );
            }
        }

        // NHI2: copies where they should not be.
        for c in active_creds.iter().filter(|c| !c.exposures.is_empty()) {
            b.raise(
                "credential-exposed",
                None,
                Some(i.id),
                format!("credential:{}", c.id),
                Some(format!("credential {} of {}", c.name, i.name)),
                format!(
                    "active credential `{}` has {} copies outside where it is meant to live",
                    c.name,
                    c.exposures.len()
                ),
                c.exposures
                    .iter()
                    .map(|x| {
                        ev(
                            format!("credential:{}", c.id),
                            format!(
                                "{} (found by {} on {})",
                                x.location,
                                x.source,
                                date(x.found_at)
                            ),
                        )
                    })
                    .collect(),
            );
        }

        // NHI3: third parties with broad scope.
        let grants = grants_of(i, ents_of.get(&i.id).into_iter().flatten().copied());
        if is_third_party(i) {
            let scopes = str_list(i.attributes.get("scopes"));
            let mut broad: Vec<String> = scopes
                .iter()
                .filter(|s| {
                    BROAD_SCOPES.iter().any(|b| b.eq_ignore_ascii_case(s))
                        || s.ends_with(".All") && s.contains("Write")
                })
                .cloned()
                .collect();
            // Scopes recorded as an entitlement's actions count like the `scopes` attribute.
            for g in &grants {
                if g.actions.iter().any(|a| {
                    is_wildcard_action(a) || BROAD_SCOPES.iter().any(|b| b.eq_ignore_ascii_case(a))
                }) {
                    broad.push(format!(
                        "{} on {} ({})",
                        g.actions.join(", "),
                        g.resource,
                        g.granted_by
                    ));
                }
            }
            if !broad.is_empty() {
                b.raise(
                    "third-party-broad-scope",
                    None,
                    Some(i.id),
                    subject.clone(),
                    None,
                    format!(
                        "third-party identity {} holds broad access: {}",
                        i.name,
                        broad.join("; ")
                    ),
                    broad
                        .iter()
                        .map(|s| ev(&subject, format!("scope {s}")))
                        .collect(),
                );
            }
        }

        // NHI4: authentication.
        let node_system = i
            .graph_key
            .as_deref()
            .and_then(|k| system_of_key.get(k).copied());
        if let Some(fed) = node_system.and_then(|s| federated_systems.get(s)) {
            for c in active_creds
                .iter()
                .filter(|c| c.kind == CredentialKind::AccessKey)
            {
                b.raise(
                    "static-key-where-federation-exists",
                    None,
                    Some(i.id),
                    subject.clone(),
                    None,
                    format!(
                        "uses static access key `{}` although its system trusts {fed}",
                        c.name
                    ),
                    vec![ev(
                        format!("credential:{}", c.id),
                        format!("access key {}", c.external_id.as_deref().unwrap_or(&c.name)),
                    )],
                );
            }
        }
        if i.attributes
            .get("console_password")
            .and_then(|v| v.as_bool())
            == Some(true)
        {
            let mfa = i.attributes.get("mfa_active").and_then(|v| v.as_bool()) == Some(true);
            b.raise(
                "weak-authentication",
                Some(if mfa {
                    Severity::Medium
                } else {
                    Severity::High
                }),
                Some(i.id),
                subject.clone(),
                None,
                format!(
                    "{} can sign in interactively with a password{}",
                    i.name,
                    if mfa { "" } else { " and no MFA" }
                ),
                vec![ev(
                    &subject,
                    format!("console_password true, mfa_active {mfa}"),
                )],
            );
        }

        // NHI5: privilege.
        let wild: Vec<Evidence> = grants
            .iter()
            .filter(|g| g.actions.iter().any(|a| is_wildcard_action(a)))
            .map(|g| {
                ev(
                    &subject,
                    format!(
                        "{} on {} ({})",
                        g.actions.join(", "),
                        g.resource,
                        g.granted_by
                    ),
                )
            })
            .collect();
        if !wild.is_empty() {
            b.raise(
                "wildcard-grant",
                worse(Severity::Critical),
                Some(i.id),
                subject.clone(),
                None,
                format!(
                    "{} grants allow every action of a service or more",
                    wild.len()
                ),
                wild,
            );
        }
        let graph_mp = i
            .graph_key
            .as_deref()
            .and_then(|k| blast.get(k))
            .is_some_and(|(_, mp)| *mp);
        if i.state == LifecycleState::Active && i.tier == Tier::ManagementPlane {
            let mut evidence = vec![ev(
                &subject,
                format!(
                    "tier management_plane: {}",
                    i.tier_reason.as_deref().unwrap_or("no reason recorded")
                ),
            )];
            if graph_mp {
                evidence.push(ev(
                    format!("graph:{}", i.graph_key.as_deref().unwrap_or_default()),
                    "reaches a management-plane capability",
                ));
            }
            b.raise(
                "standing-management-plane-access",
                None,
                Some(i.id),
                subject.clone(),
                None,
                format!(
                    "{} holds management-plane access at all times instead of per task",
                    i.name
                ),
                evidence,
            );
        }
        if let Some(p) = profiles.get(&i.id)
            && let Some(first) = p.profile.first_seen
            && now.unix_timestamp() - first >= settings.min_observed_days * 86_400
            && !grants.is_empty()
        {
            let r = holdfast_monitor::rightsize(
                &i.name,
                &grants,
                &p.profile.actions,
                now.unix_timestamp(),
                settings.usage_window_days,
            );
            if !r.unused.is_empty() {
                b.raise(
                    "unused-permissions",
                    worse(Severity::High),
                    Some(i.id),
                    subject.clone(),
                    None,
                    format!(
                        "{} granted permissions were not used in {} days of observed activity ({} used)",
                        r.unused.len(),
                        settings.usage_window_days,
                        r.used.len()
                    ),
                    r.unused
                        .iter()
                        .map(|u| ev(format!("profile:{}", p.id), format!("{} on {} ({}) unused", u.action, u.resource, u.granted_by)))
                        .collect(),
                );
            }
        }

        // NHI6: static cloud keys in CI.
        if matches!(i.kind, IdentityKind::CiJob)
            || i.attributes.get("source_kind").and_then(|v| v.as_str())
                == Some("github-actions-job")
        {
            let secrets = str_list(i.attributes.get("secrets"));
            let cloud: Vec<&String> = secrets
                .iter()
                .filter(|s| {
                    let up = s.to_ascii_uppercase();
                    CLOUD_KEY_SECRETS
                        .iter()
                        .any(|k| up == *k || up.ends_with(&format!("_{k}")))
                })
                .collect();
            if !cloud.is_empty() {
                b.raise(
                    "static-cloud-key-in-ci",
                    None,
                    Some(i.id),
                    subject.clone(),
                    None,
                    format!(
                        "CI job {} authenticates to the cloud with stored keys: {}",
                        i.name,
                        cloud
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    cloud
                        .iter()
                        .map(|s| ev(&subject, format!("secret {s}")))
                        .collect(),
                );
            }
        }
        for c in active_creds
            .iter()
            .filter(|c| c.kind == CredentialKind::AccessKey)
        {
            let ci_copy = c
                .stored_in
                .iter()
                .chain(c.exposures.iter().map(|x| &x.location))
                .find(|l| {
                    l.starts_with("github:")
                        || l.starts_with("gha:")
                        || l.starts_with("ci:")
                        || l.contains("/actions/secrets")
                });
            if let Some(loc) = ci_copy {
                b.raise(
                    "static-cloud-key-in-ci",
                    None,
                    Some(i.id),
                    subject.clone(),
                    None,
                    format!("access key `{}` is stored in CI at {loc}", c.name),
                    vec![ev(format!("credential:{}", c.id), loc.clone())],
                );
            }
        }

        // NHI7: long-lived secrets.
        for c in &active_creds {
            if c.expires_at.is_some() {
                continue;
            }
            let born = c.issued_at.unwrap_or(c.created_at);
            let cref = format!("credential:{}", c.id);
            let label = Some(format!("credential {} of {}", c.name, i.name));
            match c
                .last_rotated_at
                .or(i.last_rotated_at.filter(|_| creds.len() == 1))
            {
                Some(r) if now - r > max_age => b.raise(
                    "secret-past-max-age",
                    None,
                    Some(i.id),
                    cref.clone(),
                    label,
                    format!(
                        "credential `{}` was last rotated {} days ago (maximum {})",
                        c.name,
                        days(now - r),
                        settings.max_credential_age_days
                    ),
                    vec![ev(&cref, format!("last_rotated_at {}", date(r)))],
                ),
                Some(_) => {}
                None if now - born > max_age => b.raise(
                    "never-rotated",
                    None,
                    Some(i.id),
                    cref.clone(),
                    label,
                    format!(
                        "credential `{}` is {} days old, never rotated and has no expiry",
                        c.name,
                        days(now - born)
                    ),
                    vec![ev(&cref, format!("issued {}", date(born)))],
                ),
                None => b.raise(
                    "no-expiry",
                    None,
                    Some(i.id),
                    cref.clone(),
                    label,
                    format!("credential `{}` never expires and is not rotated", c.name),
                    vec![ev(&cref, "expires_at none")],
                ),
            }
        }

        // NHI8: one identity across environments.
        let envs: BTreeMap<String, String> = i
            .systems
            .iter()
            .filter_map(|s| systems.get(s))
            .filter_map(|s| s.environment.clone().map(|e| (e, s.name.clone())))
            .collect();
        if envs.len() > 1 && !active_creds.is_empty() {
            b.raise(
                "credential-across-environments",
                None,
                Some(i.id),
                subject.clone(),
                None,
                format!(
                    "its credentials open systems in {} environments: {}",
                    envs.len(),
                    envs.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                envs.iter()
                    .map(|(e, s)| ev(&subject, format!("system {s} ({e})")))
                    .collect(),
            );
        }

        // NHI9: one identity, many workloads.
        if let Some(ws) = i.graph_key.as_deref().and_then(|k| workloads.get(k))
            && ws.len() >= settings.reuse_workloads
        {
            b.raise(
                "identity-reused-by-workloads",
                None,
                Some(i.id),
                subject.clone(),
                None,
                format!("{} workloads run as {}", ws.len(), i.name),
                ws.iter()
                    .map(|w| ev(format!("graph:{w}"), "runs as this identity"))
                    .collect(),
            );
        }

        // NHI10: human use, as monitoring saw it.
        let since = now - Duration::days(settings.human_use_days);
        for a in estate.alerts.iter().filter(|a| {
            a.identity_id == Some(i.id)
                && a.detection == Detection::HumanStyleUse
                && a.last_seen >= since
        }) {
            b.raise(
                "human-use",
                None,
                Some(i.id),
                subject.clone(),
                None,
                format!("monitoring saw {} used the way a person would", i.name),
                vec![ev(
                    format!("alert:{}", a.id),
                    format!(
                        "{} ({} hits, last {})",
                        a.summary,
                        a.count,
                        date(a.last_seen)
                    ),
                )],
            );
        }

        let (blast_score, _) = i
            .graph_key
            .as_deref()
            .and_then(|k| blast.get(k).copied())
            .unwrap_or((0, false));
        let oldest = active_creds
            .iter()
            .map(|c| now - c.last_rotated_at.or(c.issued_at).unwrap_or(c.created_at))
            .max();
        risks.push(risk(&RiskInput {
            identity_id: i.id,
            tier: i.tier,
            blast: blast_score,
            exposed_credentials: active_creds
                .iter()
                .filter(|c| !c.exposures.is_empty())
                .count(),
            oldest_credential_days: oldest.map(days),
            max_age_days: settings.max_credential_age_days,
        }));
    }

    // Vault secrets past their maximum age.
    for s in estate.secrets {
        let Some(max) = s.max_age_days else { continue };
        let newest = s
            .versions
            .iter()
            .filter(|v| !v.pending && v.deleted_at.is_none() && !v.destroyed)
            .map(|v| v.created_at)
            .max();
        if let Some(t) = newest.filter(|t| now - *t > Duration::days(i64::from(max))) {
            b.raise(
                "secret-past-max-age",
                None,
                s.owner_identity,
                format!("secret:{}", s.path),
                Some(format!("vault secret {}", s.path)),
                format!(
                    "its newest version is {} days old; its maximum age is {max} days",
                    days(now - t)
                ),
                vec![ev(
                    format!("secret:{}", s.path),
                    format!("version {} written {}", s.current, date(t)),
                )],
            );
        }
    }

    // Leaked secrets nobody has claimed.
    for l in estate.leaks {
        b.raise(
            "unclaimed-leak",
            None,
            None,
            format!("leak:{}", l.id),
            Some(format!("{} secret {}", l.rule, l.preview)),
            format!(
                "a {} secret was found in {} places and matches no credential in the inventory",
                l.rule,
                l.locations.len()
            ),
            l.locations
                .iter()
                .map(|x| ev(format!("leak:{}", l.id), x.location.clone()))
                .collect(),
        );
    }

    // What connectors saw in the raw inputs.
    for src in estate.sources {
        for f in &src.findings {
            let Some((_, rule)) = CONNECTOR_KINDS.iter().find(|(k, _)| *k == f.kind) else {
                continue;
            };
            // A finding about a credential belongs to the identity it authenticates as.
            let holder = credential_holder
                .get(&f.subject)
                .and_then(|k| identity_by_key.get(k.as_str()));
            let (identity, subject, label) = match (identity_by_key.get(f.subject.as_str()), holder)
            {
                (Some(i), _) => (Some(i.id), format!("identity:{}", i.id), None),
                (None, Some(i)) => (
                    Some(i.id),
                    format!("graph:{}", f.subject),
                    Some(format!("{} of {}", f.subject, i.name)),
                ),
                (None, None) => (
                    None,
                    format!("graph:{}", f.subject),
                    Some(f.subject.clone()),
                ),
            };
            b.raise(
                rule,
                Some(f.severity),
                identity,
                subject,
                label,
                f.message.clone(),
                vec![ev(format!("discovery:{}", src.source), f.from.clone())],
            );
        }
    }

    let findings: Vec<Finding> = b.out.into_values().collect();
    // Each identity's findings count towards its risk.
    let mut weights: HashMap<Uuid, u32> = HashMap::new();
    for f in &findings {
        if let Some(id) = f.identity_id {
            *weights.entry(id).or_default() += crate::score::severity_points(f.severity);
        }
    }
    for r in &mut risks {
        r.add_findings(weights.get(&r.identity_id).copied().unwrap_or(0));
    }
    Assessment { findings, risks }
}
