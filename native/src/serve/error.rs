//! Errors at the HTTP edge: every failure is a status and a JSON body
//! `{"error": {"code", "message", "field"?, "model"?}}`. The core's error kinds map to statuses
//! once, here: bad input 400, model unavailable 503, overloaded 429 (with `Retry-After`), runtime
//! 500. A client's mistake is never a 5xx.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vectune_core::error::{Error, ErrorKind};

/// An HTTP error: a status, a machine-readable code, a message, and what it concerns.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// `bad_input`, `model_unavailable`, `overloaded`, `runtime`, `not_found`, `not_ready`, ...
    pub code: &'static str,
    /// What went wrong, in words.
    pub message: String,
    /// The request field concerned.
    pub field: Option<String>,
    /// The model concerned.
    pub model: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

impl ApiError {
    /// An error with a status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            model: None,
        }
    }

    /// Bad input in `field`.
    pub fn bad_input(field: &str, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, "bad_input", message);
        e.field = Some(field.to_string());
        e
    }

    /// Nothing at this path, or no such model.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// Too much work is waiting: retry later.
    pub fn overloaded(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "overloaded", message)
    }

    /// The service is not ready, or is draining before it exits.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// A failure of ours (a runtime, a panic, a lost worker).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "runtime", message)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let (status, code) = match e.kind() {
            ErrorKind::BadInput => (StatusCode::BAD_REQUEST, "bad_input"),
            ErrorKind::ModelUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "model_unavailable"),
            ErrorKind::Overloaded => (StatusCode::TOO_MANY_REQUESTS, "overloaded"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "runtime"),
        };
        ApiError {
            status,
            code,
            message: e.to_string(),
            field: e.field().map(str::to_string),
            model: e.model().map(str::to_string),
        }
    }
}

impl From<crate::NativeError> for ApiError {
    fn from(e: crate::NativeError) -> ApiError {
        Error::from(e).into()
    }
}

/// A body that is not the JSON the route takes: 415 for another content type, 413 past the body
/// limit, 400 for malformed JSON or fields of the wrong type (naming the field serde names).
impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send `Content-Type: application/json` (or multipart/form-data where the route takes an image)",
            ),
            JsonRejection::BytesRejection(b) => b.into(),
            other => {
                let message = other.body_text();
                let field = field_of(&message).unwrap_or("body").to_string();
                ApiError {
                    field: Some(field),
                    ..ApiError::new(StatusCode::BAD_REQUEST, "bad_input", message)
                }
            }
        }
    }
}

/// What the body timeout (`tower_http::timeout::RequestBodyTimeoutLayer`) says when a body
/// stalls, as the rejection carries it.
pub(crate) const BODY_TIMEOUT: &str = "data was not received within the designated timeout";

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> ApiError {
        let message = r.body_text();
        if message.contains(BODY_TIMEOUT) {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!("the request body stalled: {message} (--body-timeout-ms)"),
            )
        } else if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_input", message)
        }
    }
}

/// The field a deserialisation message names: the path before the error
/// (`items[0].params: invalid type ...`), else the field of ``unknown field `x` `` or ``missing
/// field `x` ``.
fn field_of(message: &str) -> Option<&str> {
    let detail = message.split("target type: ").nth(1).unwrap_or(message);
    if let Some((path, _)) = detail.split_once(": ")
        && !path.is_empty()
        && !path.contains([' ', '`'])
    {
        return Some(path);
    }
    ["unknown field `", "missing field `"]
        .iter()
        .find_map(|marker| {
            let at = message.find(marker)? + marker.len();
            message[at..].split('`').next()
        })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Envelope {
            error: Body {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
                model: self.model.as_deref(),
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status == StatusCode::SERVICE_UNAVAILABLE
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_kinds_map_to_statuses() {
        let e: ApiError = Error::bad_input("target", "target SSIM 2 is not in [0, 1]").into();
        assert_eq!(
            (e.status, e.code, e.field.as_deref()),
            (StatusCode::BAD_REQUEST, "bad_input", Some("target"))
        );
        let e: ApiError = Error::unavailable("classifier", "no classifier model is ready").into();
        assert_eq!(
            (e.status, e.model.as_deref()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("classifier"))
        );
        let e: ApiError = Error::runtime("boom").into();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            field_of("unknown field `imag`, expected one of"),
            Some("imag")
        );
        assert_eq!(field_of("no backticks"), None);
    }
}
