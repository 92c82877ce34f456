//! Request extractors whose failures name the field at fault.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body; a parse failure becomes a 422 naming the field (or a 400 for broken JSON).
#[derive(Debug)]
pub struct Json<T>(pub T);

/// Pulls the field name out of serde's messages (`missing field `x``, `unknown field `x``) or the path.
fn field_of(message: &str, path: &str) -> Option<String> {
    for marker in ["missing field `", "unknown field `"] {
        if let Some(rest) = message.split(marker).nth(1)
            && let Some(name) = rest.split('`').next()
        {
            // For an unknown field the path already ends with it; for a missing one it is the parent.
            if path == name || path.ends_with(&format!(".{name}")) {
                return Some(path.to_string());
            }
            let prefix = if path.is_empty() || path == "." {
                String::new()
            } else {
                format!("{path}.")
            };
            return Some(format!("{prefix}{name}"));
        }
    }
    (!path.is_empty() && path != ".").then(|| path.to_string())
}

/// serde quotes the offending value in type errors (``invalid type: string "hunter2", expected …``);
/// a secret sent in the wrong shape must not come back in the error, so keep only what was expected.
fn without_value(message: &str) -> String {
    for marker in ["invalid type: ", "invalid value: ", "invalid length "] {
        if message.starts_with(marker) {
            let expected = message
                .split(", expected ")
                .nth(1)
                .map(|e| e.split(" at line ").next().unwrap_or(e));
            return match expected {
                Some(e) => format!("has the wrong type or value: expected {e}"),
                None => "has the wrong type or value".to_string(),
            };
        }
    }
    message.to_string()
}

fn clean(message: &str) -> String {
    // serde appends " at line L column C"; keep it, it helps, but drop the Rust type names axum adds.
    message
        .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
        .to_string()
}

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(e) => {
                return Err(ApiError::bad_request(format!(
                    "the request body could not be read: {e}"
                )));
            }
        };
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(v) => Ok(Json(v)),
            Err(err) => {
                let path = err.path().to_string();
                let inner = err.into_inner();
                if inner.is_syntax() || inner.is_eof() {
                    return Err(ApiError::bad_request(format!(
                        "the request body is not valid JSON: {inner}"
                    )));
                }
                let message = without_value(&clean(&inner.to_string()));
                match field_of(&message, &path) {
                    Some(field) => {
                        let mut e = ApiError::invalid(field, "");
                        e.message = format!("{}: {message}", e.message.trim_end());
                        Err(e)
                    }
                    None => Err(ApiError::bad_request(format!(
                        "the request body does not fit: {message}"
                    ))),
                }
            }
        }
    }
}

/// Query parameters; a bad one becomes a 422 naming it.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(v) => Ok(Query(v)),
            Err(err) => {
                let path = err.path().to_string();
                let message = err.into_inner().to_string();
                match field_of(&message, &path) {
                    Some(field) => Err(ApiError::invalid(
                        field,
                        format!("is not valid here: {message}"),
                    )),
                    None => Err(ApiError::bad_request(format!(
                        "the query string does not fit: {message}"
                    ))),
                }
            }
        }
    }
}
