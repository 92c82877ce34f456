//! Holdfast's monitoring, as pure functions over bytes and records: logs in their delivered
//! formats become normalised [`Event`]s ([`parse`]); each event is judged against the actor's
//! [`Profile`] and inventory facts ([`observe`]), which fires [`Detection`]s and keeps the
//! baseline and usage facts current; [`rightsize`] compares what an identity was granted with
//! what it used. Storage, mapping actors to identities and responding live in the server.

pub mod agent;
pub mod alert;
pub mod classify;
pub mod detect;
pub mod event;
pub mod parse;
pub mod rightsize;
pub mod synthetic;

pub use alert::{
    Alert, AlertPage, AlertState, AlertUpdate, EventBatch, IngestReport, ProfileRecord,
    ResponseTaken, UsageView,
};
pub use detect::{ActionUse, Config, Detection, Hit, Profile, Severity, Subject, observe};
pub use event::{Actor, ActorKind, Event, Outcome, Platform};
pub use parse::{Format, LineError, Parsed, parse};
pub use rightsize::{Grant, Rightsizing, rightsize};
