//! Where each request goes. Handlers return `Result<Response, ApiError>`; this module
//! adds the headers every API response carries and sends it.

use fastly::http::{Method, header};
use fastly::{Request, Response};

use crate::api;
use crate::config::Config;
use crate::csrf;
use crate::error::ApiError;
use crate::events;
use crate::grip;
use crate::model::RoomId;
use crate::pages;
use crate::publish::{self, Publish};
use crate::store::Rooms;
use crate::timing::KvMeter;

/// The backend Fanout forwards handed-off requests to: this service's own domain.
const FANOUT_BACKEND: &str = "self";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/rooms/{room}/messages/`
    Messages(&'a str),
    /// `/rooms/{room}/events/`
    Events(&'a str),
    NotFound,
}

impl<'a> Route<'a> {
    pub fn parse(path: &'a str) -> Self {
        let Some((room, tail)) = path
            .strip_prefix("/rooms/")
            .and_then(|rest| rest.split_once('/'))
        else {
            return Route::NotFound;
        };
        match tail {
            "messages/" => Route::Messages(room),
            "events/" => Route::Events(room),
            _ => Route::NotFound,
        }
    }
}

pub fn serve(req: Request) {
    let meter = KvMeter::default();
    if is_cross_site(&req) {
        return send(
            Err(ApiError::forbidden(
                "Cross-site requests cannot change anything here.",
            )),
            &meter,
        );
    }
    let path = req.get_path().to_owned();
    match Route::parse(&path) {
        Route::Messages(room) => messages(req, room, &meter),
        Route::Events(room) => events(req, room, &meter),
        // Everything outside the API is a page or a static file (HTML errors there).
        Route::NotFound if !path.starts_with("/rooms/") => {
            send(Ok(pages::serve(&req, &meter)), &meter)
        }
        Route::NotFound => send(Err(ApiError::not_found()), &meter),
    }
}

/// The answer to a request whose URL the SDK cannot parse (see `client`).
pub fn refuse_unreadable_url() {
    let error = ApiError::bad_request("The request target is not a URL this service can read.");
    send(Err(error), &KvMeter::default());
}

fn is_cross_site(req: &Request) -> bool {
    let url = req.get_url();
    let own_origin = url.origin().ascii_serialization();
    csrf::is_cross_site(
        req.get_method(),
        req.get_header_str(header::ORIGIN),
        req.get_header_str("Sec-Fetch-Site"),
        &own_origin,
        &Config::open().allowed_origins(),
    )
}

fn messages(req: Request, raw_room: &str, meter: &KvMeter) {
    let room = match RoomId::parse(raw_room) {
        Ok(room) => room,
        Err(e) => return send(Err(e), meter),
    };
    match *req.get_method() {
        Method::GET => {
            let config = Config::open();
            let history = Rooms::open(meter, config.retention())
                .and_then(|rooms| api::history(&req, &room, &rooms));
            send(history, meter);
        }
        Method::POST => post(req, &room, meter),
        _ => send(Err(ApiError::method_not_allowed("GET, POST")), meter),
    }
}

/// Stores the message, starts its publish, answers the client, then waits for the
/// publish: its latency or failure never reaches the poster.
fn post(mut req: Request, room: &RoomId, meter: &KvMeter) {
    let config = Config::open();
    let stored = api::parse_post(&mut req)
        .and_then(|draft| Rooms::open(meter, config.retention())?.append(room, draft));
    let message = match stored {
        Ok(message) => message,
        Err(e) => return send(Err(e), meter),
    };
    let item = publish::Item::message(room, &message);
    let publishing = Publish::start(&config, format!("{room}/{}", message.id), &[item]);
    send(api::message_response(&message), meter);
    publishing.finish();
}

fn events(req: Request, raw_room: &str, meter: &KvMeter) {
    if req.get_method() != Method::GET {
        return send(Err(ApiError::method_not_allowed("GET")), meter);
    }
    let room = match RoomId::parse(raw_room) {
        Ok(room) => room,
        Err(e) => return send(Err(e), meter),
    };
    match req.get_header_str("Grip-Sig") {
        // A client: Fanout takes the connection and calls us back, signed.
        None => {
            if let Err(e) = req.handoff_fanout(FANOUT_BACKEND) {
                log::error!("Fanout handoff failed: {e}");
                send(
                    Err(ApiError::unavailable(
                        "Live updates are not available right now.",
                    )),
                    meter,
                );
            }
        }
        Some(token) => send(callback(&req, token, &room, meter), meter),
    }
}

/// Fanout's call-back: trusted only once its signature checks out.
fn callback(
    req: &Request,
    token: &str,
    room: &RoomId,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let config = Config::open();
    if let Err(e) = grip::verify(token, &config.grip_key(), &config.grip_issuer()) {
        log::warn!("rejected Grip-Sig on {}: {}", req.get_path(), e.0);
        return Err(ApiError::forbidden(
            "The Grip-Sig header is not a valid signature from Fanout.",
        ));
    }
    let rooms = Rooms::open(meter, config.retention())?;
    events::subscribe(req, room, &rooms, &config)
}

/// The one place responses leave: every one says what its type is (`nosniff`) and what
/// it cost in KV operations.
fn send(result: Result<Response, ApiError>, meter: &KvMeter) {
    let resp = result.unwrap_or_else(ApiError::into_response);
    resp.with_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .with_header("Server-Timing", meter.server_timing())
        .send_to_client();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            Route::parse("/rooms/lobby/messages/"),
            Route::Messages("lobby")
        );
        assert_eq!(Route::parse("/rooms/a.b/events/"), Route::Events("a.b"));
        assert_eq!(Route::parse("/rooms//messages/"), Route::Messages(""));
        assert_eq!(Route::parse("/rooms/lobby/messages"), Route::NotFound);
        assert_eq!(Route::parse("/rooms/lobby/messages/x"), Route::NotFound);
        assert_eq!(Route::parse("/rooms/a/b/messages/"), Route::NotFound);
        assert_eq!(Route::parse("/"), Route::NotFound);
    }
}
