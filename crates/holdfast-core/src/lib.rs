//! Holdfast's domain: non-human identities, their credentials, entitlements, owners and systems,
//! and the rules that keep them consistent (required fields, lifecycle transitions, fingerprints).
//!
//! Everything here is synchronous and deterministic: time and ids are passed in by the caller, so
//! expiry and ordering are testable without clocks or randomness. Nothing here knows HTTP or SQL.

pub mod access;
pub mod campaign;
pub mod error;
pub mod fingerprint;
pub mod lifecycle;
pub mod model;
pub mod offboard;
pub mod token;
pub mod validate;

pub use access::{
    AccessRequest, Approval, ApprovalError, Approver, GrantKind, Lease, LeaseState, RequestState,
    Review, ReviewState,
};
pub use campaign::{Campaign, CampaignItem, CampaignState, ItemDecision};
pub use error::{FieldError, ValidationErrors};
pub use fingerprint::Fingerprint;
pub use lifecycle::{LifecycleState, TransitionError};
pub use model::*;
pub use offboard::{
    Offboarding, OffboardingState, Receipt, ReceiptFile, ReceiptIdentity, ReceiptSignature,
    ReceiptStep, Step, StepKind, StepStatus,
};
pub use token::{ApiToken, Role};
