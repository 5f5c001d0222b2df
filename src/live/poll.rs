//! HTTP long-polling: the JSON bodies that answer a poll, whether the service answers it
//! at once or Fanout releases a held one with a published `http-response`.
//!
//! A poll answer has history's shape, newest first: `{"messages": [...],
//! "last-event-id": "n"}`, where `n` is the newest id in the answer (the `after` of the
//! next poll), plus `"more": true` when the room has newer messages than those sent
//! (poll again at once), and `"events": [...]` (socket frames, oldest first) when the
//! room's sequence has deletes, edits or clears in that range. A poll released by something ephemeral (presence, typing)
//! carries `{"messages": [], "events": [{"event": …, "data": …}]}` and no
//! `last-event-id`: the client keeps its position.
//!
//! Pushpin holds a response at least 5 s (`MINIMUM_RESPONSE_TIMEOUT` in 1.36), so a
//! `wait` below that is held 5 s.

use serde::Serialize;
use serde_json::{Value, json};

use crate::model::{Message, MessageId};

/// The longest a poll may be held, in seconds (`?wait=`).
pub const WAIT_MAX: u64 = 30;
/// Most messages one answer carries.
pub const ANSWER_MAX: u64 = 100;

/// Messages (given oldest first) answering a poll, newest first, with the room's other
/// events among them (deletes, edits, clears: socket frames, oldest first) in `events`.
pub fn answer(
    messages: &[Message],
    events: &[String],
    last_event_id: MessageId,
    more: bool,
) -> String {
    // A struct, not `json!`: messages keep history's key order (id, from, date, text).
    #[derive(Serialize)]
    struct Answer<'a> {
        messages: Vec<&'a Message>,
        #[serde(rename = "last-event-id")]
        last_event_id: String,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        more: bool,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        events: Vec<Value>,
    }
    let answer = Answer {
        events: events
            .iter()
            .filter_map(|f| serde_json::from_slice(f.as_bytes()).ok())
            .collect(),
        messages: messages.iter().rev().collect(),
        last_event_id: last_event_id.to_string(),
        more,
    };
    serde_json::to_string(&answer).expect("an answer always serializes")
}

/// Entry `id` of a room that is not a message (a delete, an edit, a clear: `frame`, a
/// socket's JSON frame), or one nobody is told about (`None`), answering a poll.
pub fn entry_answer(frame: Option<&str>, id: MessageId) -> String {
    let events: Vec<Value> = frame
        .and_then(|f| serde_json::from_slice(f.as_bytes()).ok())
        .into_iter()
        .collect();
    let mut body = json!({ "messages": [], "last-event-id": id.to_string() });
    if !events.is_empty() {
        body["events"] = Value::Array(events);
    }
    body.to_string()
}

/// An ephemeral event (a socket's JSON frame, see `live::ws`) answering a poll.
pub fn event_answer(frame: &str) -> String {
    let event: Value = serde_json::from_slice(frame.as_bytes()).unwrap_or(Value::Null);
    json!({ "messages": [], "events": [event] }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: MessageId) -> Message {
        Message {
            id,
            from: "a".into(),
            date: "d".into(),
            text: format!("m{id}"),
            edited: None,
            mentions: Vec::new(),
            reply_to: None,
            reactions: Vec::new(),
        }
    }

    #[test]
    fn answers_are_newest_first_and_say_where_to_continue() {
        let body: Value = serde_json::from_str(&answer(&[m(4), m(5)], &[], 5, false)).unwrap();
        assert_eq!(body["last-event-id"], "5");
        assert_eq!(body["messages"][0]["id"], 5);
        assert_eq!(body["messages"][1]["id"], 4);
        assert!(body.get("more").is_none());
        let body: Value = serde_json::from_str(&answer(&[], &[], 9, true)).unwrap();
        assert_eq!(
            body,
            json!({"messages": [], "last-event-id": "9", "more": true})
        );
        let delete = r#"{"event":"delete","id":"7","data":{"id":3}}"#;
        let body: Value = serde_json::from_str(&entry_answer(Some(delete), 7)).unwrap();
        assert_eq!(body["last-event-id"], "7");
        assert_eq!(body["events"][0]["data"]["id"], 3);
        let body: Value = serde_json::from_str(&entry_answer(None, 8)).unwrap();
        assert_eq!(body, json!({"messages": [], "last-event-id": "8"}));
        let body: Value =
            serde_json::from_str(&event_answer(r#"{"event":"typing","data":{}}"#)).unwrap();
        assert_eq!(body["events"][0]["event"], "typing");
        assert!(body.get("last-event-id").is_none());
    }
}
