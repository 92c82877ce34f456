//! The one error envelope: every failure becomes `{"error":{"code","message","field"}}` here, at the
//! HTTP edge. Internal details are logged once here and never sent to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use holdfast_core::ValidationErrors;
use holdfast_store::StoreError;
use holdfast_types::{ErrorBody, ErrorDetail};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// 422 naming the field at fault.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = format!("`{field}` {}", message.into());
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid",
            message,
            field: Some(field),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "a valid API token is required: send `Authorization: Bearer <token>`",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred; the server log has the details",
        )
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        match e.first() {
            Some(f) => {
                let mut err = Self::invalid(f.field.clone(), f.message.clone());
                let rest: Vec<String> = e.errors.iter().skip(1).map(ToString::to_string).collect();
                if !rest.is_empty() {
                    err.message = format!("{}; also {}", err.message, rest.join("; "));
                }
                err
            }
            None => Self::bad_request("the request is invalid"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::NotFound { .. } => Self::not_found(e.to_string()),
            StoreError::Stale { .. } => {
                let mut err = Self::new(StatusCode::CONFLICT, "stale", e.to_string());
                err.field = Some("version".into());
                err
            }
            StoreError::Duplicate { field, .. } => {
                let mut err = Self::new(StatusCode::CONFLICT, "conflict", e.to_string());
                err.field = Some(field.clone());
                err
            }
            StoreError::Reference { field } => {
                tracing::warn!(constraint = %field, "write refused by a reference constraint");
                Self::conflict("a record this one refers to does not exist or is still in use")
            }
            StoreError::AlreadyInitialized => {
                Self::new(StatusCode::CONFLICT, "already_initialized", e.to_string())
            }
            StoreError::AuditUnavailable(detail) => {
                tracing::error!(error = %detail, "audit write failed; request refused");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "audit_unavailable",
                    "the audit record could not be written, so the change was refused and nothing was stored",
                )
            }
            StoreError::Unavailable(detail) => {
                tracing::error!(error = %detail, "store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the store is unavailable; nothing was changed, retry later",
                )
            }
            StoreError::Corrupt(detail) => Self::internal("stored data could not be read", detail),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                field: self.field,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
