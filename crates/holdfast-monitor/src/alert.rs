//! Alerts as Holdfast stores them, and the records that keep baselines and ingested events.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::detect::{Detection, Profile, Severity};
use crate::event::Event;
use crate::parse::LineError;

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Open,
    Acknowledged,
    Closed,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Closed => "closed",
        }
    }
}

impl std::str::FromStr for AlertState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(Self::Open),
            "acknowledged" => Ok(Self::Acknowledged),
            "closed" => Ok(Self::Closed),
            other => Err(format!(
                "`{other}` is not an alert state: use open, acknowledged or closed"
            )),
        }
    }
}

/// An automatic response Holdfast took for an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResponseTaken {
    /// `suspend`, `revoke_leases`, `rotate_secrets`.
    pub action: String,
    /// What happened: `done`, `refused by policy`, or why it failed.
    pub outcome: String,
    /// The policies that decided it.
    pub policies: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
}

/// Most events an alert keeps: the first few and the most recent.
pub const ALERT_EVENTS: usize = 25;
const ALERT_FIRST: usize = 5;

/// One alert: a detection that fired for one actor, with the events behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub id: Uuid,
    pub version: i64,
    pub detection: Detection,
    pub title: String,
    pub severity: Severity,
    pub state: AlertState,
    /// Hits with the same key join this alert while it is not closed.
    pub dedup: String,
    pub identity_id: Option<Uuid>,
    /// The actor as the log named it.
    pub actor: String,
    /// The first hit's summary.
    pub summary: String,
    /// MITRE ATT&CK technique ids.
    pub mitre: Vec<String>,
    /// Hits so far.
    pub count: u64,
    /// Event times of the first and last hit.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_seen: OffsetDateTime,
    /// The events behind it: the first five and the most recent, at most [`ALERT_EVENTS`].
    pub events: Vec<Event>,
    #[serde(default)]
    pub responses: Vec<ResponseTaken>,
    /// Notification and automatic responses are owed (set in the transaction that opened or
    /// raised the alert, cleared once they ran): a crash in between is retried by the sweeper.
    #[serde(default)]
    pub respond_pending: bool,
    #[serde(default)]
    pub acknowledged_by: Option<String>,
    #[serde(default)]
    pub closed_by: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
}

impl Alert {
    /// Adds a hit's event, keeping the first few and the most recent.
    pub fn add_event(&mut self, ev: &Event) {
        self.count += 1;
        if ev.time < self.first_seen {
            self.first_seen = ev.time;
        }
        if ev.time > self.last_seen {
            self.last_seen = ev.time;
        }
        if self.events.len() >= ALERT_EVENTS {
            self.events.remove(ALERT_FIRST);
        }
        self.events.push(ev.clone());
    }
}

/// A profile as stored: one per identity (its id is the identity's), or per unknown actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileRecord {
    pub id: Uuid,
    pub version: i64,
    pub identity_id: Option<Uuid>,
    /// The actor as logs name it (the last name seen).
    pub actor: String,
    pub profile: Profile,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One ingested batch, kept whole: what was acknowledged is what was stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBatch {
    pub id: Uuid,
    pub version: i64,
    /// `cloudtrail`, `kubernetes`, `holdfast`, or `mixed`.
    pub format: String,
    pub received_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// Hex SHA-256 of the bytes as sent: the same batch sent again is recognised, not judged twice.
    #[serde(default)]
    pub digest: String,
    pub errors: Vec<LineError>,
    pub events: Vec<Event>,
}

/// What `POST /v1/events` did with a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestReport {
    /// The stored batch.
    pub batch: Uuid,
    /// Events stored and judged.
    pub accepted: usize,
    /// Lines (or records) that could not be read; `errors` lists them (the first 1,000).
    pub rejected: usize,
    pub errors: Vec<LineError>,
    /// Records read but not judged (Kubernetes stages before `ResponseComplete`).
    pub skipped: usize,
    /// Events whose actor maps to an inventory identity.
    pub mapped: usize,
    /// Distinct actors the inventory does not know.
    pub unknown_actors: Vec<String>,
    /// Alerts opened by this batch, and alerts it added events to.
    pub alerts_opened: Vec<Uuid>,
    pub alerts_updated: Vec<Uuid>,
    /// Automatic responses taken (each audited), as `<alert>: <action>: <outcome>`.
    pub responses: Vec<String>,
    /// The same bytes were ingested before (as `batch`): nothing was judged or stored again.
    #[serde(default)]
    pub duplicate: bool,
}

/// A page of alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertPage {
    pub items: Vec<Alert>,
    pub next: Option<String>,
}

/// Acknowledging or closing an alert.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AlertUpdate {
    /// Why (required to close).
    #[serde(default)]
    pub note: Option<String>,
}

/// How an identity behaves and what it uses, from ingested events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageView {
    pub identity: Uuid,
    pub name: String,
    /// Last successful use of the identity, and of each credential it presented.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub first_seen_at: Option<OffsetDateTime>,
    pub events: u64,
    pub denied: u64,
    /// Credential → last used (RFC 3339).
    pub credentials: std::collections::BTreeMap<String, String>,
    /// Networks and client families in its baseline.
    pub networks: Vec<String>,
    pub clients: Vec<String>,
    /// Whether the baseline judges novelty yet.
    pub baseline_mature: bool,
    /// Granted versus used over the window.
    pub rightsizing: crate::rightsize::Rightsizing,
}
