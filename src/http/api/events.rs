//! `GET /rooms/{room}/events/`: a browser's request is handed to Fanout; Fanout's
//! verified call-back gets the backlog the (re)connecting subscriber missed, then GRIP
//! instructions to hold the stream (see `live::grip`).

use fastly::http::{Method, header};
use fastly::{Request, Response};

use super::holder::{self, Refusal};
use super::presence;
use crate::auth::grip_sig;
use crate::config::Config;
use crate::headers::{HeaderText, all_values};
use crate::http::access::require_caller;
use crate::http::body::query_param;
use crate::http::error::ApiError;
use crate::http::routes::{events_page_path, events_path};
use crate::http::send;
use crate::live::backlog::{Then, catch_up};
use crate::live::grip::{self, Hold};
use crate::live::resume::{Resume, ResumeInputs, resume_point};
use crate::live::sse;
use crate::model::RoomId;
use crate::store::Rooms;
use crate::timing::KvMeter;

/// The backend Fanout forwards handed-off requests to: this service's own domain.
const FANOUT_BACKEND: &str = "self";

/// `page`: the position in a backlog page link's path (`events/next/{id}/`).
pub fn serve(req: Request, raw_room: &str, page: Option<&str>, config: &Config, meter: &KvMeter) {
    if req.get_method() != Method::GET {
        return send(Err(ApiError::method_not_allowed("GET")), meter);
    }
    let room = match RoomId::parse(raw_room) {
        Ok(room) => room,
        Err(e) => return send(Err(e.into()), meter),
    };
    if let Some(req) = verified_callback(req, config, meter) {
        let answer = Rooms::open(meter, config.retention())
            .map_err(ApiError::from)
            .and_then(|rooms| subscribe(&req, &room, page, &rooms, config, meter));
        send(answer, meter);
    }
}

/// The GRIP flow every held request takes (SSE, multi-room SSE, WebSocket, long-poll):
/// a client's request carries no `Grip-Sig` and is handed to Fanout (`None`: nothing
/// more to do); Fanout's call-back carries one, and is returned, to be answered, only
/// once it verifies (a forgery gets 403 here).
pub(super) fn verified_callback(req: Request, config: &Config, meter: &KvMeter) -> Option<Request> {
    let Some(token) = req.header_text("Grip-Sig").map(str::to_owned) else {
        hand_off(req, config, meter);
        return None;
    };
    if let Err(e) = grip_sig::verify(&token, &config.grip_key(), &config.grip_issuer()) {
        log::warn!("rejected Grip-Sig on {}: {}", req.get_path(), e.0);
        let refused =
            ApiError::forbidden("The Grip-Sig header is not a valid signature from Fanout.");
        send(Err(refused), meter);
        return None;
    }
    Some(req)
}

/// A client: Fanout takes the connection and calls us back, signed. When Fanout cannot
/// be reached, the host finds out after this call returns (Viceroy then answers 500
/// itself); only a refused handoff can be answered here.
fn hand_off(req: Request, config: &Config, meter: &KvMeter) {
    // A held request has nothing to send: Fanout would fail to hand off a body
    // (Viceroy answers 502 itself), so it is refused here, clearly.
    if has_body(&req) {
        let refused = ApiError::invalid_body("A stream request carries no body.");
        return send(Err(refused), meter);
    }
    // Passkey mode admits only someone signed in. Fanout's call-back is then trusted
    // through its signature: it only holds connections handed to it here.
    if let Err(e) = require_caller(&req, config, meter) {
        return send(Err(e), meter);
    }
    if let Err(e) = req.handoff_fanout(FANOUT_BACKEND) {
        log::error!("Fanout handoff failed: {e}");
        let unavailable = ApiError::unavailable("Live updates are not available right now.");
        send(Err(unavailable), meter);
    }
}

fn has_body(req: &Request) -> bool {
    req.get_content_length().is_some_and(|n| n > 0)
        || req.contains_header(header::TRANSFER_ENCODING)
}

/// Where a stream of `channel` resumes: a page link's position (`page`, its path), the
/// `Last-Event-ID` header, `?lastEventId=`, then Fanout's `Grip-Last`; and whether
/// Fanout named a position (`Grip-Last`: it may have seen more than this POP's copy).
pub(super) fn resume_of(
    req: &Request,
    page: Option<&str>,
    is_link: bool,
    channel: &str,
) -> (Resume, bool) {
    let last_event_id = page
        .map(str::to_owned)
        .or_else(|| query_param(req, "lastEventId"));
    let grip_last = all_values(req, "Grip-Last");
    let inputs = ResumeInputs {
        last_event_id_header: req.header_text("Last-Event-ID"),
        last_event_id_query: last_event_id.as_deref(),
        grip_last: grip_last.as_deref(),
        is_link,
    };
    (resume_point(inputs, channel), grip_last.is_some())
}

/// The body a subscriber is sent first, and whether Fanout holds the stream after it.
fn subscribe(
    req: &Request,
    room: &RoomId,
    page: Option<&str>,
    rooms: &Rooms,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let is_link = page.is_some() || query_param(req, "link").as_deref() == Some("next");
    // A link continues a stream the client already has open: no second stream-open.
    let mut body = String::from(if is_link { "" } else { sse::stream_open() });
    let recheck = match holder::admit(req, config, meter, is_link, std::slice::from_ref(room)) {
        Ok(recheck) => recheck,
        Err(Refusal::Api(e)) => return Err(e),
        Err(Refusal::Ended(error)) => return Ok(grip::event_stream(body + &error)),
    };
    let recheck = recheck.as_ref();
    let (resume, fanout_named) = resume_of(req, page, is_link, &grip::channel(room));
    let after = match resume {
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
    let catch_up = catch_up(rooms, room, after, is_link || fanout_named)?;
    if !is_link {
        // The opening: who is here now; presence events after it are changes.
        body.push_str(&presence::opening(req, room, config, meter));
    }
    catch_up
        .events
        .iter()
        .for_each(|event| body.push_str(&sse::frame(event)));
    let mut resp = grip::event_stream(body);
    let path = events_path(room);
    match catch_up.then {
        Then::Continue { last_sent } if !is_link => grip::continue_at(
            &mut resp,
            &format!("{}?link=next", events_page_path(room, last_sent)),
            recheck,
        ),
        Then::Continue { last_sent } => Hold {
            room,
            prev_id: last_sent,
            keep_alive_secs: config.keep_alive_secs(),
            recover_link: format!("{}?link=next", events_page_path(room, last_sent)),
            link_now: true,
            recheck,
        }
        .apply(&mut resp),
        Then::Hold { prev_id } => Hold {
            room,
            prev_id,
            keep_alive_secs: config.keep_alive_secs(),
            recover_link: format!("{path}?link=next&recover=true"),
            link_now: false,
            recheck,
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

    fn post(rooms: &Rooms, room: &RoomId, n: u64) {
        let draft = Draft::parse(Some("unit"), Some(&format!("m{n}"))).unwrap();
        assert_eq!(rooms.append(room, draft).unwrap().message.id, n);
    }

    /// A session cookie, as passkey mode (the local config's) admits only someone.
    fn signed_in(config: &Config) -> String {
        use crate::auth::session::{self, Session};
        let now = crate::auth::now();
        let session = Session {
            user_id: "u".into(),
            name: "unit".into(),
            id: "s".into(),
            epoch: 0,
            until: now + 600,
            checked_at: now,
        };
        let key = config
            .session_key()
            .expect("the local config has a session key");
        let token = session::issue(&key, &session, now, Duration::from_secs(600));
        format!("edge_chat_session={token}")
    }

    fn subscribe_after(room: &RoomId, last_event_id: &str) -> String {
        let meter = KvMeter::default();
        let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
        let config = Config::open();
        let req = Request::get(format!("http://localhost{}", events_path(room)))
            .with_header("Last-Event-ID", last_event_id)
            .with_header("Cookie", signed_in(&config));
        subscribe(&req, room, None, &rooms, &config, &meter)
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
        // Past the keys' lifetime and this POP's copy of the head (which a post under
        // a longer retention than the head was written with would otherwise extend).
        std::thread::sleep(crate::store::HEAD_TTL + Duration::from_millis(200));
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
}
