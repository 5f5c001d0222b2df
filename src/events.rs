//! `GET /rooms/{room}/events/` after Fanout's verified call-back: the backlog a
//! (re)connecting subscriber missed, then GRIP instructions to hold the stream.

use fastly::Request;
use fastly::Response;

use crate::config::Config;
use crate::error::ApiError;
use crate::grip::{self, Hold};
use crate::model::{MessageId, RoomId};
use crate::sse::{self, ResetReason, Resume, ResumeInputs};
use crate::store::Rooms;

/// Most messages one response replays; Fanout fetches the rest from a `Grip-Link`.
pub const BACKLOG_MAX: u64 = 100;

/// What a subscription has to be sent before it goes live, given the room's newest id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backlog {
    /// Up to date already.
    Nothing,
    /// The resume id is newer than the room: reset to now.
    Ahead,
    /// Messages `lo ..= hi`; `more` when the room has newer ones than `hi`.
    Range {
        lo: MessageId,
        hi: MessageId,
        more: bool,
    },
}

pub fn plan(after: Option<MessageId>, newest: MessageId) -> Backlog {
    match after {
        None => Backlog::Nothing,
        Some(n) if n > newest => Backlog::Ahead,
        Some(n) if n == newest => Backlog::Nothing,
        Some(n) => {
            let hi = newest.min(n + BACKLOG_MAX);
            Backlog::Range {
                lo: n + 1,
                hi,
                more: hi < newest,
            }
        }
    }
}

pub fn subscribe(
    req: &Request,
    room: &RoomId,
    rooms: &Rooms,
    config: &Config,
) -> Result<Response, ApiError> {
    let is_link = req.get_query_parameter("link") == Some("next");
    let inputs = ResumeInputs {
        last_event_id_header: req.get_header_str("Last-Event-ID"),
        last_event_id_query: req.get_query_parameter("lastEventId"),
        grip_last: req.get_header_str("Grip-Last"),
        is_link,
    };
    // A link continues a stream the client already has open: no second stream-open.
    let mut body = String::from(if is_link { "" } else { sse::stream_open() });
    let after = match sse::resume_point(inputs, &grip::channel(room)) {
        Resume::Live => None,
        Resume::After(id) => Some(id),
        Resume::Malformed(raw) => {
            // Not held: the stream ends after the error, as in django-eventstream.
            body.push_str(&sse::stream_error(&format!(
                "Invalid event id {raw:?}: expected a message id."
            )));
            return Ok(grip::event_stream(body));
        }
    };
    let newest = rooms.newest_id(room)?;
    // The last id this stream will have delivered once the body is sent.
    let mut prev_id = newest;
    let mut more_after = None;
    match plan(after, newest) {
        Backlog::Nothing => {}
        Backlog::Ahead => body.push_str(&sse::stream_reset(ResetReason::Ahead, newest)),
        Backlog::Range { lo, hi, more } => {
            let messages = rooms.range(room, lo, hi)?;
            if messages.first().map(|m| m.id) != Some(lo) || messages.len() as u64 != hi - lo + 1 {
                body.push_str(&sse::stream_reset(ResetReason::Expired, newest));
            } else {
                messages
                    .iter()
                    .for_each(|m| body.push_str(&sse::message_event(m)));
                prev_id = hi;
                more_after = more.then_some(hi);
            }
        }
    }
    let mut resp = grip::event_stream(body);
    match more_after {
        Some(last_sent) => grip::continue_after(&mut resp, room, last_sent),
        None => Hold {
            room,
            prev_id,
            keep_alive_secs: config.keep_alive_secs(),
        }
        .apply(&mut resp),
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::Draft;
    use crate::timing::KvMeter;

    fn post(rooms: &Rooms, room: &RoomId, n: u64) {
        let draft = Draft::parse(Some("unit"), Some(&format!("m{n}"))).unwrap();
        assert_eq!(rooms.append(room, draft).unwrap().id, n);
    }

    fn subscribe_after(room: &RoomId, last_event_id: &str) -> String {
        let meter = KvMeter::default();
        let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
        let req = Request::get(format!("http://localhost{}", grip::events_path(room)))
            .with_header("Last-Event-ID", last_event_id);
        subscribe(&req, room, &rooms, &Config::open())
            .unwrap()
            .into_body_str()
    }

    #[test]
    fn expired_messages_reset_the_stream_to_now() {
        let room = RoomId::parse("unit-expiry").unwrap();
        let meter = KvMeter::default();
        // Windows hold copies of the 49 messages before them, so expiry shows only once
        // a whole window is gone: 51 short-lived messages, then one that stays.
        let short = Rooms::open(&meter, Duration::from_secs(1)).unwrap();
        (1..=51).for_each(|n| post(&short, &room, n));
        std::thread::sleep(Duration::from_millis(1500));
        let long = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
        // The head expired too, so the room starts over: ids never rely on expired keys.
        post(&long, &room, 1);
        let body = subscribe_after(&room, "0");
        assert!(body.contains("event: message\nid: 1\n"), "{body}");

        let room = RoomId::parse("unit-expiry-2").unwrap();
        (1..=51).for_each(|n| post(&short, &room, n));
        (52..=53).for_each(|n| post(&long, &room, n));
        std::thread::sleep(Duration::from_millis(1500));
        // Window 53 still holds 4..=53; messages 1..=3 are gone with their windows.
        let body = subscribe_after(&room, "0");
        assert!(body.contains("event: stream-reset\nid: 53\n"), "{body}");
        assert!(body.contains("\"reason\":\"expired\""), "{body}");
        assert!(!body.contains("event: message"), "{body}");
        // A resume point inside what is still stored replays normally.
        let body = subscribe_after(&room, "50");
        assert_eq!(body.matches("event: message").count(), 3, "{body}");
    }

    #[test]
    fn backlog_plans() {
        assert_eq!(plan(None, 10), Backlog::Nothing);
        assert_eq!(plan(Some(10), 10), Backlog::Nothing);
        assert_eq!(plan(Some(11), 10), Backlog::Ahead);
        assert_eq!(plan(Some(1), 0), Backlog::Ahead);
        assert_eq!(plan(Some(0), 0), Backlog::Nothing);
        assert_eq!(
            plan(Some(0), 3),
            Backlog::Range {
                lo: 1,
                hi: 3,
                more: false
            }
        );
        assert_eq!(
            plan(Some(5), 105),
            Backlog::Range {
                lo: 6,
                hi: 105,
                more: false
            }
        );
        assert_eq!(
            plan(Some(5), 106),
            Backlog::Range {
                lo: 6,
                hi: 105,
                more: true
            }
        );
    }
}
