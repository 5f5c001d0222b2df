//! The message API: `GET` and `POST /rooms/{room}/messages/`, compatible with
//! fastly/fanout-chat-demo (form posts, `{"messages": [...], "last-event-id": …}`).

use std::io::Read;

use fastly::http::header;
use fastly::{Request, Response};
use serde::Serialize;

use crate::error::ApiError;
use crate::model::{Draft, Message, MessageId, RoomId, parse_id};
use crate::store::Rooms;

/// Largest request body accepted, in bytes.
pub const BODY_MAX: usize = 16 * 1024;
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

/// `GET /rooms/{room}/messages/[?before=<id>&limit=<1..100>]`.
pub fn history(req: &Request, room: &RoomId, rooms: &Rooms) -> Result<Response, ApiError> {
    let before = query_number(req, "before", 1, MessageId::MAX)?;
    let limit = query_number(req, "limit", 1, PAGE_MAX)?.unwrap_or(PAGE_DEFAULT);
    let (newest, mut messages) = rooms.latest(room, before, limit)?;
    messages.reverse();
    json_response(&History {
        messages,
        last_event_id: newest.to_string(),
    })
}

/// `POST /rooms/{room}/messages/` with form or JSON fields `from` and `text`.
pub fn parse_post(req: &mut Request) -> Result<Draft, ApiError> {
    let media_type = req
        .get_header_str(header::CONTENT_TYPE)
        .and_then(|ct| ct.split(';').next())
        .map(|mt| mt.trim().to_ascii_lowercase());
    let is_json = match media_type.as_deref() {
        Some("application/x-www-form-urlencoded") => false,
        Some("application/json") => true,
        _ => return Err(ApiError::unsupported_media_type()),
    };
    let body = read_body(req)?;
    if is_json {
        let value: serde_json::Value = serde_json::from_slice(&body)
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
        Draft::parse(field("from")?, field("text")?)
    } else {
        let fields = parse_form(&body)?;
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        Draft::parse(field("from"), field("text"))
    }
}

pub fn message_response(message: &Message) -> Result<Response, ApiError> {
    json_response(message)
}

fn json_response(value: &impl Serialize) -> Result<Response, ApiError> {
    Ok(Response::new()
        .with_header(header::CACHE_CONTROL, "no-store")
        .with_body_json(value)
        .expect("API bodies always serialize"))
}

/// Reads at most `BODY_MAX + 1` bytes, so an oversized body is refused without buffering it.
fn read_body(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    if req.get_content_length().is_some_and(|len| len > BODY_MAX) {
        return Err(ApiError::payload_too_large(BODY_MAX));
    }
    let mut body = Vec::new();
    req.take_body()
        .take(BODY_MAX as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|_| ApiError::invalid_body("The body could not be read."))?;
    if body.len() > BODY_MAX {
        return Err(ApiError::payload_too_large(BODY_MAX));
    }
    Ok(body)
}

/// `application/x-www-form-urlencoded` pairs, percent- and `+`-decoded.
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let text =
        std::str::from_utf8(body).map_err(|_| ApiError::invalid_body("The form is not UTF-8."))?;
    let decode = |s: &str| {
        urlencoding::decode(&s.replace('+', " "))
            .map(|d| d.into_owned())
            .map_err(|_| ApiError::invalid_body("The form has invalid percent-encoding."))
    };
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

/// An optional positive integer query parameter within `min ..= max`.
fn query_number(
    req: &Request,
    name: &'static str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, ApiError> {
    let Some(raw) = req.get_query_parameter(name) else {
        return Ok(None);
    };
    parse_id(raw)
        .filter(|n| (min..=max).contains(n))
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid_field(
                name,
                format!("'{name}' must be a whole number from {min} to {max}."),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let pairs = parse_form(b"from=ann+b&text=a%26b%3D%F0%9F%98%80&empty=&flag").unwrap();
        let expected = [
            ("from", "ann b"),
            ("text", "a&b=😀"),
            ("empty", ""),
            ("flag", ""),
        ];
        assert_eq!(pairs, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
        assert_eq!(parse_form(b"text=%FF").unwrap_err().code, "invalid_body");
        assert_eq!(parse_form(&[0xff]).unwrap_err().code, "invalid_body");
    }
}
