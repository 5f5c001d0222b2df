//! The JSON and SSE API under `/rooms/`, compatible with fastly/fanout-chat-demo.
//!
//! * `messages`: `GET` history and `POST` new messages.
//! * `events`: the live stream: hand-off to Fanout and Fanout's signed call-back.
//! * `auth`: passkey sign-up and sign-in, the session, who you are.
//! * `account`: a signed-in person's passkeys and API keys.

mod account;
pub mod auth;
pub mod events;
pub mod messages;

use fastly::Response;
use fastly::http::header;
use serde::Serialize;

use super::error::ApiError;

/// A JSON body that must never be cached (it changes with every post).
fn json_response(value: &impl Serialize) -> Result<Response, ApiError> {
    Ok(Response::new()
        .with_header(header::CACHE_CONTROL, "no-store")
        .with_body_json(value)
        .expect("API bodies always serialize"))
}
