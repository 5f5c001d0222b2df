//! Server-Sent Events on the wire.
//!
//! Events, as fastly/fanout-chat-demo and flychat send them, with bare message ids:
//!
//! ```text
//! event: stream-open      data: (empty)                 first thing on a new stream
//! event: message          id: <n>  data: <message JSON> one per message
//! event: delete           id: <n>  data: {"id": <deleted message id>}
//! event: edit             id: <n>  data: <the edited message's JSON, with "edited">
//! event: reaction         id: <n>  data: {"id": <message id>, "reactions": [...]}
//! event: clear            id: <n>  data: {"before": <n>, "from": <name or null>}
//! event: stream-reset     id: <n>  data: {"reason":…}   the resume point is unusable; live from n
//! event: stream-error     id: error data: {"condition":"bad-request","text":…}
//! event: keep-alive       data: (empty)                 sent by Fanout while idle
//! ```

use serde::Serialize;
use serde_json::json;

use super::event::{Event, ResetReason};
use crate::model::reaction::ReactionsOf;
use crate::model::{Message, MessageId};

/// The keep-alive frame, in the `cstring` escaping `Grip-Keep-Alive` expects.
pub const KEEP_ALIVE_CSTRING: &str = "event: keep-alive\\ndata:\\n\\n";

/// One event as it goes on the wire.
pub fn frame(event: &Event) -> String {
    match event {
        Event::Message(message) => message_event(message),
        Event::Delete { id, target } => framed("delete", *id, &json!({ "id": target })),
        Event::Edit { id, message } => framed("edit", *id, message),
        Event::Reaction {
            id,
            target,
            reactions,
        } => framed(
            "reaction",
            *id,
            &ReactionsOf {
                id: *target,
                reactions,
                last_event_id: None,
            },
        ),
        Event::Clear { id, from } => framed("clear", *id, &json!({ "before": id, "from": from })),
        Event::Reset { reason, newest } => stream_reset(*reason, *newest),
    }
}

fn framed(event: &str, id: MessageId, data: &impl Serialize) -> String {
    let data = serde_json::to_string(data).expect("event data always serializes");
    format!("event: {event}\nid: {id}\ndata: {data}\n\n")
}

pub fn message_event(message: &Message) -> String {
    framed("message", message.id, message)
}

/// What stands in a published sequence for an entry no subscriber is told about (a
/// deleted message): an SSE comment, so `prev-id` chains stay unbroken.
pub fn placeholder() -> &'static str {
    ":\n\n"
}

pub fn stream_open() -> &'static str {
    "event: stream-open\ndata:\n\n"
}

pub fn stream_reset(reason: ResetReason, last_event_id: MessageId) -> String {
    #[derive(Serialize)]
    struct Data {
        reason: ResetReason,
        text: &'static str,
        #[serde(rename = "last-event-id")]
        last_event_id: String,
    }
    let data = Data {
        reason,
        text: reason.text(),
        last_event_id: last_event_id.to_string(),
    };
    format!(
        "event: stream-reset\nid: {last_event_id}\ndata: {}\n\n",
        serde_json::to_string(&data).unwrap()
    )
}

pub fn stream_error(text: &str) -> String {
    stream_error_as("bad-request", text)
}

/// A `stream-error` with its own condition (e.g. `session-ended`); the stream ends.
pub fn stream_error_as(condition: &str, text: &str) -> String {
    let data = serde_json::json!({ "condition": condition, "text": text });
    format!("event: stream-error\nid: error\ndata: {data}\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing() {
        let m = Message {
            id: 5,
            from: "a".into(),
            date: "d".into(),
            text: "two\nlines <b>".into(),
            edited: None,
            mentions: Vec::new(),
            reply_to: None,
            reactions: Vec::new(),
        };
        assert_eq!(
            message_event(&m),
            "event: message\nid: 5\ndata: {\"id\":5,\"from\":\"a\",\"date\":\"d\",\"text\":\"two\\nlines <b>\"}\n\n"
        );
        assert_eq!(frame(&Event::Message(m.clone())), message_event(&m));
        assert_eq!(
            frame(&Event::Delete { id: 9, target: 5 }),
            "event: delete\nid: 9\ndata: {\"id\":5}\n\n"
        );
        assert_eq!(
            frame(&Event::Clear {
                id: 10,
                from: Some("a".into())
            }),
            "event: clear\nid: 10\ndata: {\"before\":10,\"from\":\"a\"}\n\n"
        );
        assert_eq!(
            frame(&Event::Clear { id: 11, from: None }),
            "event: clear\nid: 11\ndata: {\"before\":11,\"from\":null}\n\n"
        );
        let edited = Message {
            edited: Some("e".into()),
            ..m.clone()
        };
        assert!(
            frame(&Event::Edit {
                id: 12,
                message: edited
            })
            .starts_with("event: edit\nid: 12\ndata: {\"id\":5,")
        );
        assert_eq!(
            stream_reset(ResetReason::Ahead, 4),
            "event: stream-reset\nid: 4\ndata: {\"reason\":\"ahead\",\"text\":\"The given event id is newer than \
             this room's newest message.\",\"last-event-id\":\"4\"}\n\n"
        );
        assert_eq!(
            stream_error("bad id"),
            "event: stream-error\nid: error\ndata: {\"condition\":\"bad-request\",\"text\":\"bad id\"}\n\n"
        );
    }
}
