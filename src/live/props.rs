//! Property tests: resume points never move a recovery backwards, and no message text
//! can forge or split an SSE event.

use proptest::prelude::*;

use super::event::Event;
use super::resume::{Resume, ResumeInputs, grip_last_id, resume_point};
use super::sse::frame;
use crate::model::Message;

const CH: &str = "room-lobby";

/// Parses an SSE stream the way EventSource does: (event, id, data) per blank line.
fn parse_sse(text: &str) -> Vec<(String, Option<String>, String)> {
    let (mut events, mut event, mut id, mut data) = (Vec::new(), None, None, Vec::new());
    for line in text.split('\n') {
        if line.is_empty() {
            if event.is_some() || !data.is_empty() {
                events.push((event.take().unwrap_or_default(), id.take(), data.join("\n")));
                data.clear();
            }
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
        match field {
            "event" => event = Some(value),
            "id" => id = Some(value),
            "data" => data.push(value),
            _ => {}
        }
    }
    events
}

proptest! {
    #[test]
    fn link_requests_resume_at_the_later_position(last in 0u64..1_000_000, link in 0u64..1_000_000,
                                                  header in "\\PC{0,12}") {
        let grip_last = format!("{CH}; last-id={last}");
        let link_id = link.to_string();
        let inputs = ResumeInputs {
            last_event_id_header: Some(&header),
            last_event_id_query: Some(&link_id),
            grip_last: Some(&grip_last),
            is_link: true,
        };
        prop_assert_eq!(resume_point(inputs, CH), Resume::After(last.max(link)));
    }

    #[test]
    fn resume_points_never_panic(h in proptest::option::of("\\PC{0,24}"), q in proptest::option::of("\\PC{0,24}"),
                                 g in proptest::option::of("\\PC{0,40}"), is_link in any::<bool>()) {
        let inputs = ResumeInputs {
            last_event_id_header: h.as_deref(),
            last_event_id_query: q.as_deref(),
            grip_last: g.as_deref(),
            is_link,
        };
        if let Resume::After(id) = resume_point(inputs, CH) {
            prop_assert!(id.to_string().len() <= 20);
        }
    }

    #[test]
    fn grip_last_finds_its_channel(ids in proptest::collection::vec(0u64..u64::MAX, 1..4), at in 0usize..4) {
        let at = at % ids.len();
        let header = ids.iter().enumerate()
            .map(|(n, id)| format!("{}; last-id={id}", if n == at { CH.to_owned() } else { format!("room-x{n}") }))
            .collect::<Vec<_>>()
            .join(", ");
        let expected = ids[at].to_string();
        prop_assert_eq!(grip_last_id(&header, CH), Some(expected.as_str()));
    }

    #[test]
    fn any_message_is_exactly_one_event(id in 1u64..u64::MAX, from in "(\\PC|\\s){0,20}", text in "(\\PC|\\s){0,200}") {
        let message = Message { id, from, date: "2026-11-22T12:00:00.000Z".into(), text, edited: None, reply_to: None, reactions: Vec::new(), mentions: Vec::new() };
        let wire = frame(&Event::Message(message.clone()));
        let events = parse_sse(&wire);
        prop_assert_eq!(events.len(), 1, "{:?}", wire);
        let (event, event_id, data) = &events[0];
        prop_assert_eq!(event.as_str(), "message");
        prop_assert_eq!(event_id.clone(), Some(id.to_string()));
        let data: serde_json::Value = serde_json::from_str(data).unwrap();
        prop_assert_eq!(data, serde_json::to_value(&message).unwrap());
    }
}
