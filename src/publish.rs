//! Publishing a new message to its room's Fanout channel.
//!
//! One item per message, with `id` = n and `prev-id` = n-1: Fanout delivers items in id
//! order and, on a gap, fetches the stream's recovery link instead of skipping ahead.
//! The POST that stored the message starts the publish, answers its client, and only
//! then waits for the publish API: a slow or failed publish never delays or fails the
//! post. Subscribers still get the message through prev-id recovery or their next
//! resume, because the message is already in KV.

use fastly::Request;
use fastly::http::request::PendingRequest;
use fastly::http::{Method, header};
use serde_json::json;

use crate::config::{Config, secret};
use crate::grip::channel;
use crate::model::{Message, RoomId};
use crate::sse::message_event;

/// The backend the publish API is reached through (fastly.toml).
pub const PUBLISH_BACKEND: &str = "publisher";

/// The publish API body for one message: GRIP's `items` with an `http-stream` format
/// whose content is exactly the SSE event a subscriber receives.
pub fn publish_body(room: &RoomId, message: &Message) -> String {
    json!({
        "items": [{
            "channel": channel(room),
            "id": message.id.to_string(),
            "prev-id": (message.id - 1).to_string(),
            "formats": { "http-stream": { "content": message_event(message) } },
        }]
    })
    .to_string()
}

/// Starts publishing `message`; `None` (and a log line) if it could not even be sent.
pub fn start(config: &Config, room: &RoomId, message: &Message) -> Option<PendingRequest> {
    let mut req = Request::new(Method::POST, config.publish_url())
        .with_header(header::CONTENT_TYPE, "application/json")
        .with_body(publish_body(room, message))
        .with_pass(true);
    if let Some(token) = secret("publish_token") {
        req.set_header("Fastly-Key", token);
    }
    match req.send_async(PUBLISH_BACKEND) {
        Ok(pending) => Some(pending),
        Err(e) => {
            log::error!("publish of {room}/{} not sent: {e}", message.id);
            None
        }
    }
}

/// Waits for a publish started by [`start`] and logs the outcome if it failed.
pub fn finish(pending: PendingRequest, room: &RoomId, message: &Message) {
    match pending.wait() {
        Ok(resp) if resp.get_status().is_success() => {}
        Ok(mut resp) => {
            let status = resp.get_status();
            let body = resp.take_body_str_lossy();
            log::error!(
                "publish of {room}/{} refused: {status} {}",
                message.id,
                body.trim()
            );
        }
        Err(e) => log::error!("publish of {room}/{} failed: {e}", message.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_one_sequenced_item() {
        let room = RoomId::parse("lobby").unwrap();
        let m = Message {
            id: 3,
            from: "a".into(),
            date: "d".into(),
            text: "100% <live>".into(),
        };
        let body: serde_json::Value = serde_json::from_str(&publish_body(&room, &m)).unwrap();
        assert_eq!(
            body,
            json!({"items": [{"channel": "room-lobby", "id": "3", "prev-id": "2", "formats": {"http-stream": {
                "content": "event: message\nid: 3\ndata: {\"id\":3,\"from\":\"a\",\"date\":\"d\",\"text\":\"100% <live>\"}\n\n"
            }}}]})
        );
    }
}
