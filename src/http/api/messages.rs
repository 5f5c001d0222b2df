//! `GET` and `POST /rooms/{room}/messages/`: form posts and
//! `{"messages": [...], "last-event-id": …}` as in fastly/fanout-chat-demo.

use fastly::http::{Method, header};
use fastly::{Request, Response};
use serde::Serialize;

use super::json_response;
use crate::config::Config;
use crate::http::body::{parse_form, query_number, read_body};
use crate::http::error::ApiError;
use crate::http::send;
use crate::live::publish::{Item, Publish};
use crate::model::{Draft, Message, MessageId, RoomId};
use crate::store::Rooms;
use crate::timing::KvMeter;

/// Messages per history page by default, and at most.
pub const PAGE_DEFAULT: u64 = 50;
pub const PAGE_MAX: u64 = 100;

#[derive(Serialize)]
struct History {
    /// Newest first.
    messages: Vec<Message>,
    /// The room's newest id, as a string ("0" for an empty room): what an SSE client
    /// that already shows this history passes as `lastEventId`.
    #[serde(rename = "last-event-id")]
    last_event_id: String,
}

pub fn serve(req: Request, raw_room: &str, config: &Config, meter: &KvMeter) {
    let room = match RoomId::parse(raw_room) {
        Ok(room) => room,
        Err(e) => return send(Err(e.into()), meter),
    };
    match *req.get_method() {
        Method::GET => send(history(&req, &room, config, meter), meter),
        Method::POST => post(req, &room, config, meter),
        _ => send(Err(ApiError::method_not_allowed("GET, POST")), meter),
    }
}

/// `GET /rooms/{room}/messages/[?before=<id>&limit=<1..100>]`.
fn history(
    req: &Request,
    room: &RoomId,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let before = query_number(req, "before", 1, MessageId::MAX)?;
    let limit = query_number(req, "limit", 1, PAGE_MAX)?.unwrap_or(PAGE_DEFAULT);
    let rooms = Rooms::open(meter, config.retention())?;
    let (newest, mut messages) = rooms.latest(room, before, limit)?;
    messages.reverse();
    json_response(&History {
        messages,
        last_event_id: newest.to_string(),
    })
}

/// Stores the message, starts its publish, answers the client, then waits for the
/// publish: its latency or failure never reaches the poster.
fn post(mut req: Request, room: &RoomId, config: &Config, meter: &KvMeter) {
    let stored = parse_post(&mut req).and_then(|draft| {
        let rooms = Rooms::open(meter, config.retention())?;
        Ok(rooms.append(room, draft)?)
    });
    let message = match stored {
        Ok(message) => message,
        Err(e) => return send(Err(e), meter),
    };
    let item = Item::message(room, &message);
    let publishing = Publish::start(config, format!("{room}/{}", message.id), &[item]);
    send(json_response(&message), meter);
    publishing.finish();
}

/// A POST's form or JSON fields `from` and `text`.
fn parse_post(req: &mut Request) -> Result<Draft, ApiError> {
    let content_type = req.get_header_str(header::CONTENT_TYPE).map(str::to_owned);
    // The type is refused before a byte of the body is read.
    media_type(content_type.as_deref())?;
    let body = read_body(req)?;
    draft_from_body(content_type.as_deref(), &body)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    Form,
    Json,
}

fn media_type(content_type: Option<&str>) -> Result<MediaType, ApiError> {
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|mt| mt.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/x-www-form-urlencoded") => Ok(MediaType::Form),
        Some("application/json") => Ok(MediaType::Json),
        _ => Err(ApiError::unsupported_media_type()),
    }
}

/// The draft in a body of the given `Content-Type`: a form or a JSON object with string
/// fields `from` and `text`.
pub fn draft_from_body(content_type: Option<&str>, body: &[u8]) -> Result<Draft, ApiError> {
    match media_type(content_type)? {
        MediaType::Form => {
            let fields = parse_form(body)?;
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            Ok(Draft::parse(field("from"), field("text"))?)
        }
        MediaType::Json => {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::invalid_body(format!("The body is not valid JSON: {e}.")))?;
            let object = value
                .as_object()
                .ok_or_else(|| ApiError::invalid_body("The body must be a JSON object."))?;
            let field = |name: &'static str| match object.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(ApiError::invalid_field(
                    name,
                    format!("The field '{name}' must be a string."),
                )),
            };
            Ok(Draft::parse(field("from")?, field("text")?)?)
        }
    }
}
