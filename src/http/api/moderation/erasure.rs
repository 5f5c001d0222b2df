//! `/rooms/{room}/erasure`: the steps that erase what a clear removed, and where they
//! stand (`store::moderation::erasure` does the work).
//!
//! A clear answers at once and then asks the service itself (backend `self`) for the
//! room's first step; each step answers where the erasure stands once its work is done,
//! then asks for the next, until nothing is pending. A request is waited on, not just
//! sent: an execution that ends may cancel what it has in flight. So every execution
//! lives for its own step and the next one's, never longer, and the whole chain needs
//! no other traffic in the room to finish.
//!
//! | request | who | answer |
//! |---|---|---|
//! | `GET` | an admin | `{"pending": [clear ids], "erased": n, "done": bool}` |
//! | `POST` | the service itself (header `Erasure-Step`: HMAC-SHA256 of the room with `session_key`), or an admin | one step, then the same body |
//!
//! An admin's `POST` restarts a chain that broke (a step that failed to send or
//! answer); a step with nothing to do costs one list and two lookups.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use fastly::http::Method;
use fastly::http::request::PendingRequest;
use fastly::{Request, Response};

use super::Moderator;
use crate::budget;
use crate::config::Config;
use crate::http::api::json_response;
use crate::http::error::ApiError;
use crate::http::send;
use crate::model::RoomId;
use crate::store::{Rooms, StoreError};
use crate::timing::KvMeter;

/// The header a step request carries its signature in.
const STEP_HEADER: &str = "Erasure-Step";
/// The backend steps are requested through: the service's own domain (fastly.toml).
const SELF_BACKEND: &str = "self";
/// A step that finds the room's head listed but not yet readable (a real KV's reads may
/// lag a write by up to ~300 ms, and the first step follows the clear at once) tries
/// again once after this pause, rather than ending the chain.
const BUSY_PAUSE: std::time::Duration = std::time::Duration::from_millis(400);

/// `GET` or `POST /rooms/{room}/erasure`.
pub fn serve(req: Request, raw_room: &str, config: &Config, meter: &KvMeter) {
    let room = match RoomId::parse(raw_room) {
        Ok(room) => room,
        Err(e) => return send(Err(e.into()), meter),
    };
    let answer = match *req.get_method() {
        Method::GET | Method::HEAD => status(&req, &room, config, meter),
        Method::POST => return step(&req, &room, config, meter),
        _ => Err(ApiError::method_not_allowed("GET, POST")),
    };
    send(answer, meter);
}

fn status(
    req: &Request,
    room: &RoomId,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    require_admin(req, config, meter)?;
    let rooms = Rooms::open(meter, config.retention())?;
    json_response(&rooms.erasure(room)?.to_json())
}

/// One step: answers where the erasure stands, then asks for the next if need be.
fn step(req: &Request, room: &RoomId, config: &Config, meter: &KvMeter) {
    let signed = req
        .get_header_str(STEP_HEADER)
        .zip(step_token(config, room))
        .is_some_and(|(given, expected)| same(given, &expected));
    let stepped = (|| {
        if !signed {
            require_admin(req, config, meter)?;
        }
        let rooms = Rooms::open(meter, config.retention())?;
        match rooms.erase_step(room) {
            Err(StoreError::Busy) => {
                std::thread::sleep(BUSY_PAUSE);
                Ok(rooms.erase_step(room)?)
            }
            stepped => Ok(stepped?),
        }
    })();
    match stepped {
        Ok((erasure, again)) => {
            if again {
                reserve_step();
            }
            send(json_response(&erasure.to_json()), meter);
            if again {
                request_step(req, config, room);
            }
        }
        Err(e) => send(Err(e), meter),
    }
}

fn require_admin(req: &Request, config: &Config, meter: &KvMeter) -> Result<(), ApiError> {
    if Moderator::identify(req, config, meter)?.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "Only an admin can see or drive a room's erasure.",
        ))
    }
}

/// Reserves the backend request [`request_step`] sends once the response has gone, so
/// the response's `Server-Timing` reports it (`budget`).
pub fn reserve_step() {
    budget::reserve_backend(1);
}

/// Asks the service for the room's next erasure step at the host `req` came to, and
/// waits for the answer (sent once that step's work is done). The one place erasure
/// sends a backend request: one per call, reserved with [`reserve_step`] before the
/// caller answered.
pub fn request_step(req: &Request, config: &Config, room: &RoomId) {
    budget::unreserve_backend(1);
    if !budget::backend_request() {
        log::warn!("room {room}: erasure step not requested: no backend request left");
        return;
    }
    let Some(token) = step_token(config, room) else {
        log::warn!("room {room}: no session_key to sign erasure steps with");
        return;
    };
    let own = req.get_url().origin().ascii_serialization();
    let url = format!("{own}/rooms/{room}/erasure");
    let step = Request::new(Method::POST, url)
        .with_header(STEP_HEADER, token)
        .with_pass(true);
    // `send_async` + `wait` rather than `send`: the same code the publish path links,
    // where `send` added 36 KB to the wasm.
    match step.send_async(SELF_BACKEND).and_then(PendingRequest::wait) {
        Ok(resp) if resp.get_status().is_success() => {}
        Ok(resp) => log::warn!("room {room}: erasure step answered {}", resp.get_status()),
        Err(e) => log::warn!("room {room}: erasure step not sent: {e}"),
    }
}

/// The signature of a room's step requests: HMAC-SHA256 of the room with `session_key`,
/// which never leaves the service, so nobody else can ask for steps (an admin can).
fn step_token(config: &Config, room: &RoomId) -> Option<String> {
    let key = config.session_key()?;
    let message = format!("edge-chat erasure step {room}");
    Some(B64.encode(hmac_sha256::HMAC::mac(message.as_bytes(), &key)))
}

/// Equal strings, compared in constant time.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0, |d, (x, y)| d | (x ^ y)) == 0
}
