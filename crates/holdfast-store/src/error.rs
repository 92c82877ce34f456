//! Store errors: what went wrong, phrased for the API's error envelope. None carries a value.

use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} `{id}` does not exist")]
    NotFound { what: &'static str, id: Uuid },
    #[error(
        "{what} `{id}` was changed by someone else: it is at version {actual} and the update was based on version {expected}; fetch it again and retry"
    )]
    Stale {
        what: &'static str,
        id: Uuid,
        expected: i64,
        actual: i64,
    },
    #[error("another {what} already has this `{field}`")]
    Duplicate { what: &'static str, field: String },
    #[error("a record this one refers to does not exist or is still referred to (`{field}`)")]
    Reference { field: String },
    #[error("Holdfast is already initialised")]
    AlreadyInitialized,
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("the audit record could not be written: {0}")]
    AuditUnavailable(String),
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
}
