//! The outermost middleware: gives every request its id and turns every error that did not come
//! from a handler (body too large, timeout, method not allowed) into the one JSON error envelope.

use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::RequestId;

fn code_for(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too_large",
            "the request body is larger than the server accepts (1 MiB)",
        ),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long and was abandoned"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not accept that method",
        ),
        StatusCode::NOT_FOUND => ("not_found", "no such route"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("bad_request", "send the body as application/json"),
        s if s.is_server_error() => (
            "internal",
            "an internal error occurred; the server log has the details",
        ),
        _ => ("bad_request", "the request could not be handled as sent"),
    }
}

pub async fn envelope(mut req: Request, next: Next) -> Response {
    let id = uuid::Uuid::now_v7().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let (code, message) = code_for(status);
        response = ApiError::new(status, code, message).into_response();
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}
