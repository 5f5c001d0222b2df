//! The one error type of the HTTP boundary. Handlers return `Result<Response, ApiError>`
//! and `http::send` turns the error into a JSON response in a single place, so every
//! failure looks the same to a client: `{"error": code, "message": sentence}`.
//!
//! The layers below have their own errors (`model::Invalid`, `store::StoreError`); only
//! here do they become status codes.

use fastly::Response;
use fastly::http::{StatusCode, header};
use serde::Serialize;

use crate::model::Invalid;
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    field: Option<&'static str>,
    allow: Option<&'static str>,
    /// Seconds for `Retry-After` (503s say 1 without one).
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            allow: None,
            retry_after: None,
        }
    }

    /// 400 for one bad input field, named so a client can point at it.
    pub fn invalid_field(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_field", message)
        }
    }

    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_body", message)
    }

    /// 400 for a request the service cannot read at all (e.g. an asterisk-form target).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: nobody (valid) is signed in; the body says how to become someone.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 409: the request conflicts with what is stored (a taken name, a last passkey).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 400: a passkey response (or its challenge) does not check out.
    pub fn passkey_rejected(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "passkey_rejected", message)
    }

    /// 429: over a rate limit; `Retry-After` says when to try again.
    pub fn too_many_requests(retry_after: std::time::Duration) -> Self {
        Self {
            retry_after: Some(retry_after.as_secs().max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Slow down: too many requests. Try again in a moment.",
            )
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is nothing at this address.",
        )
    }

    /// The same error with a more specific sentence.
    pub fn with_message(self, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..self
        }
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("Use one of: {allow}."),
            )
        }
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body is larger than {limit} bytes."),
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send application/x-www-form-urlencoded or application/json.",
        )
    }

    /// The store refused or failed; the client may retry. Never used for bad input.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// The input field a 400 names, if any.
    pub fn field(&self) -> Option<&'static str> {
        self.field
    }

    pub fn into_response(self) -> Response {
        let body = Body {
            error: self.code,
            message: &self.message,
            field: self.field,
        };
        let mut resp = Response::from_status(self.status)
            .with_header(header::CACHE_CONTROL, "no-store")
            .with_body_json(&body)
            .expect("an error body always serializes");
        if let Some(allow) = self.allow {
            resp.set_header(header::ALLOW, allow);
        }
        if let Some(secs) = self.retry_after {
            resp.set_header(header::RETRY_AFTER, secs.to_string());
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.set_header(header::RETRY_AFTER, "1");
        }
        resp
    }
}

/// Bad input is a 400 naming the field.
impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::invalid_field(e.field, e.message)
    }
}

/// `Retry-After` when posts raced for a room's next id until the append's budget was
/// spent: the winners are done by then, so a second later the room is calmer.
const CONTENDED_RETRY_SECS: u64 = 1;
/// `Retry-After` when the KV Store pushed back (429 or 5xx-like) through every pause.
const THROTTLED_RETRY_SECS: u64 = 3;

/// The store failing is never the client's fault: 503, worth a retry, and when
/// (`Retry-After`, 1 s unless the store's answer says it should be longer).
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let retry_after = match e {
            StoreError::Contended => CONTENDED_RETRY_SECS,
            StoreError::Throttled => THROTTLED_RETRY_SECS,
            _ => 1,
        };
        Self {
            retry_after: Some(retry_after),
            ..ApiError::unavailable(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_that_gave_up_is_a_503_saying_when_to_retry() {
        for (e, secs) in [
            (StoreError::Contended, "1"),
            (StoreError::Throttled, "3"),
            (StoreError::Busy, "1"),
        ] {
            let resp = ApiError::from(e).into_response();
            assert_eq!(resp.get_status(), StatusCode::SERVICE_UNAVAILABLE, "{e:?}");
            assert_eq!(
                resp.get_header_str(header::RETRY_AFTER),
                Some(secs),
                "{e:?}"
            );
        }
    }
}
