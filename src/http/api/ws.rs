//! `GET /rooms/{room}/ws`: a room over a WebSocket, through Fanout's
//! WebSocket-over-HTTP (`live::ws` has the protocol).
//!
//! The upgrade is handed to Fanout like a stream; Fanout then calls back, signed, with
//! each batch of socket events, and the answer says what to send on the socket:
//!
//! * `OPEN`: accept (`OPEN`, `Sec-WebSocket-Extensions: grip`), subscribe the socket to
//!   the room's channel and its presence channel, ask Fanout for a `keep-alive` frame
//!   after `keep_alive_secs` of silence, send `stream-open`, the opening roster (a
//!   `presence` frame with change `roster`), then what came after `?lastEventId=` (as
//!   SSE replays a backlog; `more` when a page is cut).
//! * `TEXT`: a JSON frame from the client. `message` is stored and published exactly as
//!   a POST (same validation, identity and limits, `messages::store_and_publish`) and
//!   acknowledged with a `sent` frame; `typing` as the presence API's (and under its
//!   `presence_rate`); `resume` replays what came after an id, then the roster, then
//!   says `resumed` (a client that sees a gap in the ids
//!   asks for it: Fanout has no prev-id recovery for sockets). Invalid text gets an
//!   `error` frame and the
//!   socket stays open; a frame that is not the JSON expected is closed with 1008, a
//!   binary frame with 1003.
//! * `PING` → `PONG`; `CLOSE` is acknowledged with the same code; `DISCONNECT` needs
//!   nothing.
//!
//! Locally, Viceroy 0.22's handoff proxy loses the bytes Pushpin sends right behind its
//! `101` (the `OPEN` answer's frames: measured, a socket through Viceroy never saw its
//! `stream-open`; the same socket straight to Pushpin, as Fanout is in production, did).
//! So the page does not rely on them: it opens the socket without `lastEventId` and sends
//! `{"type":"resume","after":n}` once open; the answer, a later response, arrives.
//!
//! Each call-back carries the upgrade request's headers (cookies, `Authorization`), so
//! the caller is checked again on every one, as a write (a KV read for a session); a
//! signed-in person's socket also asks for a call-back every `session_check_secs`
//! (`Keep-Alive-Interval`), so a socket whose session ended or whose key was revoked is
//! closed (1008, saying why) within that time even if it only listens.

use std::io::Read;

use fastly::http::{Method, StatusCode, header};
use fastly::{Request, Response};

use super::events::verified_callback;
use super::messages::{author, store_and_publish};
use super::presence as presence_api;
use super::publish_ephemeral;
use crate::budget;
use crate::config::Config;
use crate::headers::HeaderText;
use crate::http::access::{Caller, require_caller};
use crate::http::body::query_param;
use crate::http::error::ApiError;
use crate::http::throttle::{identity, limit, throttle};
use crate::http::{is_cross_site, send};
use crate::live::backlog::{Then, catch_up};
use crate::live::grip::{channel, member_channel};
use crate::live::presence::{self, Place};
use crate::live::publish::Item;
use crate::live::resume::{Resume, ResumeInputs, resume_point};
use crate::live::sse;
use crate::live::ws::{
    self, CLOSE_POLICY, CLOSE_UNSUPPORTED, ClientFrame, WsEvent, error_frame, from_sse,
    parse_client_frame,
};
use crate::model::{Draft, MessageId, RoomId};
use crate::store::{APPEND_OPS, Rooms};
use crate::timing::KvMeter;

/// Largest batch of socket events read from one call-back.
const EVENTS_MAX: u64 = 64 * 1024;
/// When a message refused for the call-back's KV budget may be sent again: at once, in
/// the next call-back.
const BATCH_RETRY: std::time::Duration = std::time::Duration::from_secs(1);
/// The shortest `Keep-Alive-Interval` Fanout honours (Pushpin raises smaller ones to it).
const KEEP_ALIVE_INTERVAL_MIN: u64 = 20;
/// Backlog pages one answer replays before it says `more`.
const PAGES_MAX: usize = 5;

pub fn serve(req: Request, raw_room: &str, config: &Config, meter: &KvMeter) {
    let room = match RoomId::parse(raw_room) {
        Ok(room) => room,
        Err(e) => return send(Err(e.into()), meter),
    };
    let from_fanout = req.contains_header("Grip-Sig");
    let upgrade = req
        .header_text(header::UPGRADE)
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    if !from_fanout && (req.get_method() != Method::GET || !upgrade) {
        let refused = ApiError::bad_request(
            "This address is a WebSocket: send a GET with Upgrade: websocket.",
        );
        return send(Err(refused), meter);
    }
    // A socket can post: its handshake must come from this site, as a POST must
    // (browsers send Origin on every handshake).
    if !from_fanout && is_cross_site(&req, config, &Method::POST) {
        let refused = ApiError::forbidden("Cross-site requests cannot change anything here.");
        return send(Err(refused), meter);
    }
    if let Some(req) = verified_callback(req, config, meter) {
        socket_events(req, &room, config, meter);
    }
}

/// Fanout's call-back with a batch of socket events: answers it, then publishes what
/// the socket's typing asked for.
fn socket_events(mut req: Request, room: &RoomId, config: &Config, meter: &KvMeter) {
    let caller = require_caller(&req, config, meter);
    // Posts over a socket count against the post limit as a POST does: the person or
    // key; in open mode the socket (Fanout's call-backs come from Fanout's address).
    let rate_identity = match &caller {
        Ok(caller @ Caller::User(_)) => identity(caller, &req),
        _ => format!("socket:{}", req.header_text("Connection-Id").unwrap_or("?")),
    };
    let mut socket = Socket {
        room,
        place: presence_api::place(&req, room, config),
        config,
        meter,
        caller,
        rate_identity,
        last_event_id: query_param(&req, "lastEventId"),
        out: Vec::new(),
        publish: Vec::new(),
        opening: false,
    };
    let answer = read_events(&mut req).and_then(|events| {
        let mut open = true;
        for event in events {
            open = socket.handle(event)?;
            if !open {
                break;
            }
        }
        // A socket whose session ended or whose key was revoked since its last call-back
        // (a keep-alive call-back, below, carries no events) is closed, saying why.
        if let (true, false, Err(e)) = (open, socket.opening, &socket.caller) {
            let reason = e.message.clone();
            socket.close(CLOSE_POLICY, &reason);
        }
        let mut resp = Response::from_status(StatusCode::OK)
            .with_header(header::CONTENT_TYPE, "application/websocket-events")
            .with_body(ws::encode_events(&socket.out));
        if socket.opening {
            resp.set_header("Sec-WebSocket-Extensions", "grip");
        }
        // Someone's socket: Fanout calls back at least this often, and each call-back
        // checks their session or key again (`auth::standing`).
        if let Ok(Caller::User(_)) = &socket.caller {
            let every = socket.config.session_check().as_secs();
            resp.set_header(
                "Keep-Alive-Interval",
                every.max(KEEP_ALIVE_INTERVAL_MIN).to_string(),
            );
        }
        Ok(resp)
    });
    // Typing goes out after the answer, as the presence API does it.
    let typing: &[Item] = if answer.is_ok() { &socket.publish } else { &[] };
    publish_ephemeral(config, format!("{room}/socket"), typing, || {
        send(answer, meter)
    });
}

fn read_events(req: &mut Request) -> Result<Vec<WsEvent>, ApiError> {
    let is_events = req
        .header_text(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.starts_with("application/websocket-events"));
    if req.get_method() != Method::POST || !is_events {
        return Err(ApiError::bad_request(
            "Expected WebSocket-over-HTTP events.",
        ));
    }
    let mut body = Vec::new();
    req.take_body()
        .take(EVENTS_MAX)
        .read_to_end(&mut body)
        .map_err(|_| ApiError::invalid_body("The events could not be read."))?;
    ws::parse_events(&body).map_err(|e| ApiError::invalid_body(e.0))
}

/// One call-back's worth of a socket: what it asked, and what to answer.
struct Socket<'a> {
    room: &'a RoomId,
    place: Place<'a>,
    config: &'a Config,
    meter: &'a KvMeter,
    caller: Result<Caller, ApiError>,
    rate_identity: String,
    last_event_id: Option<String>,
    out: Vec<WsEvent>,
    publish: Vec<Item>,
    opening: bool,
}

impl Socket<'_> {
    /// Handles one event; `false` once the socket is being closed.
    fn handle(&mut self, event: WsEvent) -> Result<bool, ApiError> {
        match event.kind.as_str() {
            "OPEN" => self.open()?,
            "TEXT" => return self.text(&event.content),
            "BINARY" => {
                return Ok(self.close(CLOSE_UNSUPPORTED, "Send JSON text frames, not binary."));
            }
            "PING" => self.out.push(WsEvent::new("PONG", event.content)),
            "CLOSE" => {
                let code = event.close_code().unwrap_or(ws::CLOSE_NORMAL);
                self.out.push(WsEvent::close(code, ""));
                return Ok(false);
            }
            _ => {} // PONG, DISCONNECT: nothing to say
        }
        Ok(true)
    }

    fn close(&mut self, code: u16, reason: &str) -> bool {
        self.out.push(WsEvent::close(code, reason));
        false
    }

    fn open(&mut self) -> Result<(), ApiError> {
        self.opening = true;
        self.out.push(WsEvent::new("OPEN", Vec::new()));
        if let Err(e) = &self.caller {
            let reason = e.message.clone();
            self.close(CLOSE_POLICY, &reason);
            return Ok(());
        }
        // Subscribed before the backlog is read: a message stored in between arrives
        // twice at worst (the client keeps one per id), never not at all.
        self.out.push(ws::subscribe(&channel(self.room)));
        self.out.push(ws::subscribe(&presence::channel(self.room)));
        // A private room's member: removing them closes this socket (`live::grip`).
        if let (true, Ok(Caller::User(me))) = (self.room.is_private(), &self.caller) {
            self.out
                .push(ws::subscribe(&member_channel(self.room, &me.user_id)));
        }
        self.out.push(ws::keep_alive(self.config.keep_alive_secs()));
        self.out
            .push(WsEvent::to_client(&from_sse(sse::stream_open())));
        self.roster();
        let inputs = ResumeInputs {
            last_event_id_query: self.last_event_id.as_deref(),
            ..ResumeInputs::default()
        };
        match resume_point(inputs, &channel(self.room)) {
            Resume::Live => {}
            Resume::After(after) => self.replay(after)?,
            Resume::Malformed(raw) => {
                self.close(
                    CLOSE_POLICY,
                    &format!("Invalid lastEventId {raw:?}: expected a message id."),
                );
            }
        }
        Ok(())
    }

    /// The events after `after`, a few pages at most; then `more` if there is more.
    fn replay(&mut self, mut after: MessageId) -> Result<(), ApiError> {
        let rooms = Rooms::open(self.meter, self.config.retention())?;
        for _ in 0..PAGES_MAX {
            let plan = catch_up(&rooms, self.room, Some(after), false)?;
            for event in &plan.events {
                self.out
                    .push(WsEvent::to_client(&from_sse(&sse::frame(event))));
            }
            match plan.then {
                Then::Hold { .. } => return Ok(()),
                Then::Continue { last_sent } => after = last_sent,
            }
        }
        let more = serde_json::json!({"event": "more", "data": {"after": after.to_string()}});
        self.out.push(WsEvent::to_client(&more.to_string()));
        Ok(())
    }

    fn text(&mut self, content: &[u8]) -> Result<bool, ApiError> {
        let frame = match parse_client_frame(content) {
            Ok(frame) => frame,
            Err(refusal) => return Ok(self.close(refusal.code, &refusal.reason)),
        };
        let caller = match &self.caller {
            Ok(caller) => caller.clone(),
            Err(e) => {
                let reason = e.message.clone();
                return Ok(self.close(CLOSE_POLICY, &reason));
            }
        };
        match frame {
            ClientFrame::Resume { after } => {
                self.replay(after)?;
                // Locally the OPEN answer's frames can be lost (module docs), and a
                // client that resumes is catching up anyway: the roster again.
                self.roster();
                let resumed =
                    serde_json::json!({"event": "resumed", "data": {"after": after.to_string()}});
                self.out.push(WsEvent::to_client(&resumed.to_string()));
            }
            ClientFrame::Typing { from } => {
                let name = match author(&caller, from.as_deref()) {
                    Ok(name) => name,
                    Err(e) => return Ok(self.refuse(&e)),
                };
                if let Err(e) = limit(self.config.presence_rate(), "presence", &self.rate_identity)
                {
                    return Ok(self.refuse(&e));
                }
                self.publish.extend(presence::typing(&self.place, &name));
            }
            ClientFrame::Message { .. } if self.meter.ops() + APPEND_OPS > budget::KV_MAX => {
                // One call-back may carry many messages (Fanout batches what arrives
                // together); each append may spend `APPEND_OPS`, so the ones that could
                // take the request past its KV budget are refused, not stored.
                let spent = ApiError::too_many_requests(BATCH_RETRY)
                    .with_message("More messages arrived at once than one request may store: send this one again.");
                return Ok(self.refuse(&spent));
            }
            ClientFrame::Message { from, text } => {
                let draft = throttle(self.config, "post_rate", "post", &self.rate_identity)
                    .and_then(|()| author(&caller, from.as_deref()))
                    .and_then(|from| Ok(Draft::parse(Some(&from), text.as_deref())?));
                match draft {
                    Ok(draft) => self.store(draft),
                    Err(e) if e.status == StatusCode::FORBIDDEN => {
                        return Ok(self.close(CLOSE_POLICY, &e.message));
                    }
                    Err(e) => return Ok(self.refuse(&e)),
                }
            }
        }
        Ok(true)
    }

    /// The opening roster: who is in the room now (`live::presence::opening`).
    fn roster(&mut self) {
        let frame = presence::opening(&self.place, self.meter);
        self.out.push(WsEvent::to_client(&from_sse(&frame)));
    }

    /// An `error` frame: the client's input was refused, the socket stays open.
    fn refuse(&mut self, e: &ApiError) -> bool {
        self.out.push(WsEvent::to_client(&error_frame(
            e.code,
            &e.message,
            e.field(),
        )));
        true
    }

    fn store(&mut self, draft: Draft) {
        let mut answer = None;
        let author = match &self.caller {
            Ok(caller) => caller.user_id(),
            Err(_) => None,
        };
        store_and_publish(
            self.room,
            draft,
            author,
            self.config,
            self.meter,
            |stored| {
                answer = Some(match stored {
                    Ok(m) => {
                        serde_json::json!({"event": "sent", "id": m.id.to_string(), "data": m})
                            .to_string()
                    }
                    Err(e) => error_frame(e.code, &e.message, e.field()),
                });
            },
        );
        self.out
            .extend(answer.map(|frame| WsEvent::to_client(&frame)));
    }
}
