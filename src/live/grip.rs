//! GRIP: how this service and Fanout share the work of a live stream.
//!
//! 1. A browser opens `GET /rooms/{room}/events/`. It carries no `Grip-Sig`, so the
//!    service hands the request to Fanout (`handoff_fanout("self")`) and is done.
//! 2. Fanout forwards it to the `self` backend, i.e. back to this service, now with a
//!    `Grip-Sig` JWT (checked by `auth::grip_sig`). The service answers with the backlog
//!    in the body and GRIP instructions in headers: hold the stream open on the room's
//!    channel.
//! 3. Fanout keeps the connection; every message published to the channel is appended.
//!    `prev-id` lets Fanout notice a gap and fetch our `Grip-Link` to fill it.

use fastly::Response;
use fastly::http::header;

use super::presence;
use super::sse::KEEP_ALIVE_CSTRING;
use crate::model::{MessageId, RoomId};

/// The Fanout channel a room's events are published to.
pub fn channel(room: &RoomId) -> String {
    format!("room-{room}")
}

/// Instructions for a stream Fanout should hold open on `room` after sending the body.
pub struct Hold<'a> {
    pub room: &'a RoomId,
    /// The id of the last message this response delivers (or the client already has).
    pub prev_id: MessageId,
    pub keep_alive_secs: u32,
    /// Where Fanout asks for what it missed (with `Grip-Last`) when it sees a gap.
    pub recover_link: String,
    /// Fetch the link at once rather than on a gap (the backlog was cut short).
    pub link_now: bool,
}

impl Hold<'_> {
    pub fn apply(&self, resp: &mut Response) {
        resp.set_header("Grip-Hold", "stream");
        resp.set_header(
            "Grip-Channel",
            format!("{}; prev-id={}", channel(self.room), self.prev_id),
        );
        // Presence and typing: no prev-id, so they never look like a gap (live::presence).
        resp.append_header("Grip-Channel", presence::channel(self.room));
        keep_alive_and_link(
            resp,
            self.keep_alive_secs,
            &self.recover_link,
            self.link_now,
        );
    }
}

/// The keep-alive and recovery link every stream hold carries. `link_now`: fetch the
/// link at once rather than on a gap (the backlog was cut short).
pub fn keep_alive_and_link(resp: &mut Response, keep_alive_secs: u32, link: &str, link_now: bool) {
    resp.set_header(
        "Grip-Keep-Alive",
        format!("{KEEP_ALIVE_CSTRING}; format=cstring; timeout={keep_alive_secs}"),
    );
    // Pushpin ends a stream whose channel has prev-id but no next link.
    let now = if link_now { "; timeout=0" } else { "" };
    resp.set_header("Grip-Link", format!("<{link}>; rel=next{now}"));
}

/// The backlog was cut short: Fanout sends this body, then fetches `next_link`.
pub fn continue_at(resp: &mut Response, next_link: &str) {
    resp.set_header("Grip-Link", format!("<{next_link}>; rel=next"));
}

/// Headers every SSE response carries, held or not.
pub fn event_stream(body: String) -> Response {
    Response::from_body(body)
        .with_header(header::CONTENT_TYPE, "text/event-stream")
        .with_header(header::CACHE_CONTROL, "no-cache")
        .with_header("X-Accel-Buffering", "no")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_headers() {
        let room = RoomId::parse("a.b").unwrap();
        let mut resp = event_stream(String::new());
        Hold {
            room: &room,
            prev_id: 7,
            keep_alive_secs: 20,
            recover_link: "/rooms/a.b/events/?link=next&recover=true".into(),
            link_now: false,
        }
        .apply(&mut resp);
        assert_eq!(resp.get_header_str("Grip-Hold"), Some("stream"));
        assert_eq!(
            resp.get_header_str("Grip-Channel"),
            Some("room-a.b; prev-id=7")
        );
        let channels: Vec<_> = resp.get_header_all_str("Grip-Channel");
        assert_eq!(channels, ["room-a.b; prev-id=7", "presence-a.b"]);
        assert_eq!(
            resp.get_header_str("Grip-Keep-Alive"),
            Some("event: keep-alive\\ndata:\\n\\n; format=cstring; timeout=20")
        );
        assert_eq!(
            resp.get_header_str("Grip-Link"),
            Some("</rooms/a.b/events/?link=next&recover=true>; rel=next")
        );
        assert_eq!(
            resp.get_header_str("Content-Type"),
            Some("text/event-stream")
        );
    }
}
