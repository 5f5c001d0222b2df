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
//! 4. A stream held for someone whose session or API key may end ([`Recheck`]) has its
//!    link fetched on a timer too, and each fetch checks them again.

use fastly::Response;
use fastly::http::header;

use super::channels;
use super::sse::KEEP_ALIVE_CSTRING;
use crate::model::{MessageId, RoomId};

pub use super::channels::{member as member_channel, room as channel};

/// A stream held for someone whose session or API key may end. Its links carry `query`
/// (their pass, `auth::stream_pass`) and Fanout fetches them every `every_secs` at
/// most, each fetch a check. `channels`: the holder's own (never published to: Fanout,
/// like Pushpin's `httpsession`, restarts a link's timer whenever every channel of the
/// stream had activity, so a busy room alone would put the check off forever), and for
/// each private room the holder's member channel (`member_channel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recheck {
    pub query: String,
    pub every_secs: u64,
    pub channels: Vec<String>,
}

impl Recheck {
    /// `link` carrying the pass.
    fn link(&self, link: &str) -> String {
        format!("{link}&{}", self.query)
    }
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
    pub recheck: Option<&'a Recheck>,
}

impl Hold<'_> {
    pub fn apply(&self, resp: &mut Response) {
        resp.set_header("Grip-Hold", "stream");
        resp.set_header(
            "Grip-Channel",
            format!("{}; prev-id={}", channel(self.room), self.prev_id),
        );
        // Presence and typing: no prev-id, so they never look like a gap (live::presence).
        resp.append_header("Grip-Channel", channels::presence(self.room));
        keep_alive_and_link(
            resp,
            self.keep_alive_secs,
            &self.recover_link,
            self.link_now,
            self.recheck,
        );
    }
}

/// The keep-alive and recovery link every stream hold carries. `link_now`: fetch the
/// link at once rather than on a gap (the backlog was cut short); else with a
/// `recheck`, on its timer.
pub fn keep_alive_and_link(
    resp: &mut Response,
    keep_alive_secs: u32,
    link: &str,
    link_now: bool,
    recheck: Option<&Recheck>,
) {
    resp.set_header(
        "Grip-Keep-Alive",
        format!("{KEEP_ALIVE_CSTRING}; format=cstring; timeout={keep_alive_secs}"),
    );
    // Pushpin ends a stream whose channel has prev-id but no next link.
    let timeout = match (link_now, recheck) {
        (true, _) => "; timeout=0".to_owned(),
        (false, Some(r)) => format!("; timeout={}", r.every_secs),
        (false, None) => String::new(),
    };
    let link = recheck.map_or_else(|| link.to_owned(), |r| r.link(link));
    resp.set_header("Grip-Link", format!("<{link}>; rel=next{timeout}"));
    for channel in recheck.iter().flat_map(|r| &r.channels) {
        resp.append_header("Grip-Channel", channel.as_str());
    }
}

/// The backlog was cut short: Fanout sends this body, then fetches `next_link`.
pub fn continue_at(resp: &mut Response, next_link: &str, recheck: Option<&Recheck>) {
    let link = recheck.map_or_else(|| next_link.to_owned(), |r| r.link(next_link));
    resp.set_header("Grip-Link", format!("<{link}>; rel=next"));
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

    /// A held stream of room `a.b` after message 7, as it answers.
    fn held(recheck: Option<&Recheck>) -> Response {
        let room = RoomId::parse("a.b").unwrap();
        let mut resp = event_stream(String::new());
        Hold {
            room: &room,
            prev_id: 7,
            keep_alive_secs: 20,
            recover_link: "/rooms/a.b/events/?link=next&recover=true".into(),
            link_now: false,
            recheck,
        }
        .apply(&mut resp);
        resp
    }

    #[test]
    fn hold_headers() {
        let resp = held(None);
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

    #[test]
    fn a_rechecked_hold_carries_its_pass_timer_and_own_channel() {
        let recheck = Recheck {
            query: "pass=p".into(),
            every_secs: 240,
            channels: vec!["user-u1".into()],
        };
        let resp = held(Some(&recheck));
        assert_eq!(
            resp.get_header_str("Grip-Link"),
            Some("</rooms/a.b/events/?link=next&recover=true&pass=p>; rel=next; timeout=240")
        );
        let channels: Vec<_> = resp.get_header_all_str("Grip-Channel");
        assert_eq!(channels, ["room-a.b; prev-id=7", "presence-a.b", "user-u1"]);
        let mut page = event_stream(String::new());
        continue_at(
            &mut page,
            "/rooms/a.b/events/next/9/?link=next",
            Some(&recheck),
        );
        assert_eq!(
            page.get_header_str("Grip-Link"),
            Some("</rooms/a.b/events/next/9/?link=next&pass=p>; rel=next")
        );
    }
}
