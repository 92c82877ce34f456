//! Findings as the store keeps them: one record per key for good, with its history (opened,
//! resolved, reopened, accepted, acceptance expired), and the reconciliation of a fresh assessment
//! against what is stored.

use std::collections::{BTreeMap, HashMap};

use holdfast_core::Severity;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::engine::{Evidence, Finding};
use crate::score::Risk;

/// Where a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FindingState {
    /// Raised by the latest assessment and not accepted.
    Open,
    /// Raised, but accepted as a risk until the acceptance expires.
    Accepted,
    /// No longer raised.
    Resolved,
}

impl FindingState {
    pub const ALL: [Self; 3] = [Self::Open, Self::Accepted, Self::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Accepted => "accepted",
            Self::Resolved => "resolved",
        }
    }
}

impl std::str::FromStr for FindingState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!("unknown finding state `{s}`; expected open, accepted or resolved")
            })
    }
}

/// One step of a finding's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FindingEvent {
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
    /// `opened`, `resolved`, `reopened`, `accepted`, `acceptance_expired`, `severity_changed`.
    pub event: String,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A risk acceptance: who approved it (never the owner), why, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Acceptance {
    pub reason: String,
    pub approved_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub accepted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
}

/// A finding as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FindingRecord {
    pub id: Uuid,
    pub version: i64,
    pub key: String,
    pub rule: String,
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub severity: Severity,
    pub state: FindingState,
    pub identity_id: Option<Uuid>,
    pub subject: String,
    pub subject_label: String,
    pub explanation: String,
    pub evidence: Vec<Evidence>,
    pub fix: String,
    pub owasp: Vec<String>,
    pub csf: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub resolved_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<Acceptance>,
    /// Newest last; at most [`HISTORY_MAX`] steps (the audit log keeps them all).
    pub history: Vec<FindingEvent>,
}

/// Most history steps a record keeps.
pub const HISTORY_MAX: usize = 50;

impl FindingRecord {
    pub fn push(&mut self, at: OffsetDateTime, event: &str, by: &str, note: Option<String>) {
        self.history.push(FindingEvent {
            at,
            event: event.to_string(),
            by: by.to_string(),
            note,
        });
        if self.history.len() > HISTORY_MAX {
            let cut = self.history.len() - HISTORY_MAX;
            self.history.drain(..cut);
        }
    }

    fn from_finding(f: Finding, now: OffsetDateTime, by: &str) -> Self {
        let mut r = FindingRecord {
            id: Uuid::now_v7(),
            version: 1,
            key: f.key,
            rule: f.rule,
            title: f.title,
            severity: f.severity,
            state: FindingState::Open,
            identity_id: f.identity_id,
            subject: f.subject,
            subject_label: f.subject_label,
            explanation: f.explanation,
            evidence: f.evidence,
            fix: f.fix,
            owasp: f.owasp,
            csf: f.csf,
            first_seen: now,
            updated_at: now,
            resolved_at: None,
            acceptance: None,
            history: Vec::new(),
        };
        r.push(now, "opened", by, None);
        r
    }

    /// Whether the fresh finding says something the record does not.
    fn differs(&self, f: &Finding) -> bool {
        self.severity != f.severity
            || self.explanation != f.explanation
            || self.evidence != f.evidence
            || self.subject_label != f.subject_label
            || self.identity_id != f.identity_id
            || self.owasp != f.owasp
            || self.csf != f.csf
            || self.title != f.title
            || self.fix != f.fix
    }
}

/// What reconciling a fresh assessment with the stored findings changes.
#[derive(Debug, Default)]
pub struct Reconciled {
    /// New records.
    pub inserts: Vec<FindingRecord>,
    /// Changed records, carrying their next version.
    pub updates: Vec<FindingRecord>,
    pub opened: u64,
    pub reopened: u64,
    pub resolved: u64,
    pub acceptances_expired: u64,
    /// Records still accepted after this run.
    pub accepted: u64,
}

/// Compares `fresh` (one assessment) with `stored` (every record) as of `now`. A record whose key
/// the assessment no longer raises is resolved; a resolved one raised again is reopened; an
/// accepted one past its expiry is open again. Records nothing changed are left alone.
pub fn reconcile(
    stored: Vec<FindingRecord>,
    fresh: Vec<Finding>,
    now: OffsetDateTime,
    by: &str,
) -> Reconciled {
    let mut out = Reconciled::default();
    let mut fresh: HashMap<String, Finding> =
        fresh.into_iter().map(|f| (f.key.clone(), f)).collect();
    for mut r in stored {
        let mut dirty = false;
        match fresh.remove(&r.key) {
            Some(f) => {
                if r.state == FindingState::Resolved {
                    dirty = true;
                    r.state = FindingState::Open;
                    r.resolved_at = None;
                    r.push(now, "reopened", by, None);
                    out.reopened += 1;
                }
                if r.state == FindingState::Accepted
                    && r.acceptance.as_ref().is_none_or(|a| a.expires_at <= now)
                {
                    dirty = true;
                    r.state = FindingState::Open;
                    r.push(
                        now,
                        "acceptance_expired",
                        by,
                        r.acceptance.as_ref().map(|a| {
                            format!(
                                "accepted by {} until {}",
                                a.approved_by,
                                a.expires_at.date()
                            )
                        }),
                    );
                    r.acceptance = None;
                    out.acceptances_expired += 1;
                }
                // An acceptance covers the risk as it was judged: a worse severity or another
                // identity (whose owner may be the one who accepted it) needs a new decision.
                if r.state == FindingState::Accepted
                    && (crate::engine::rank(f.severity) > crate::engine::rank(r.severity)
                        || f.identity_id != r.identity_id)
                {
                    dirty = true;
                    r.state = FindingState::Open;
                    r.push(
                        now,
                        "acceptance_revoked",
                        by,
                        Some("the finding changed since it was accepted".into()),
                    );
                    r.acceptance = None;
                    out.acceptances_expired += 1;
                }
                if r.differs(&f) {
                    dirty = true;
                    if r.severity != f.severity {
                        r.push(
                            now,
                            "severity_changed",
                            by,
                            Some(format!("{} → {}", r.severity, f.severity)),
                        );
                    }
                    r.severity = f.severity;
                    r.explanation = f.explanation;
                    r.evidence = f.evidence;
                    r.subject_label = f.subject_label;
                    r.identity_id = f.identity_id;
                    r.owasp = f.owasp;
                    r.csf = f.csf;
                    r.title = f.title;
                    r.fix = f.fix;
                }
            }
            None => {
                if r.state != FindingState::Resolved {
                    dirty = true;
                    r.state = FindingState::Resolved;
                    r.resolved_at = Some(now);
                    r.acceptance = None;
                    r.push(now, "resolved", by, None);
                    out.resolved += 1;
                }
            }
        }
        if r.state == FindingState::Accepted {
            out.accepted += 1;
        }
        if dirty {
            r.version += 1;
            r.updated_at = now;
            out.updates.push(r);
        }
    }
    let mut rest: Vec<Finding> = fresh.into_values().collect();
    rest.sort_by(|a, b| a.key.cmp(&b.key));
    for f in rest {
        out.inserts.push(FindingRecord::from_finding(f, now, by));
        out.opened += 1;
    }
    out
}

/// One assessment as recorded: when, what it found, what changed; the report draws trends from
/// the sequence of runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostureRun {
    pub id: Uuid,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
    pub duration_ms: u64,
    pub identities: u64,
    /// Findings raised (open or accepted) after the run.
    pub raised: u64,
    pub accepted: u64,
    pub opened: u64,
    pub reopened: u64,
    pub resolved: u64,
    pub acceptances_expired: u64,
    /// Raised findings per OWASP item, per severity, per rule.
    pub by_owasp: BTreeMap<String, u64>,
    pub by_severity: BTreeMap<String, u64>,
    pub by_rule: BTreeMap<String, u64>,
    /// The riskiest identities, highest first.
    pub top_risks: Vec<Risk>,
}
