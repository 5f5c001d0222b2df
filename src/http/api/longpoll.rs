//! `GET /rooms/{room}/messages/?after=<id>&wait=<secs>`: HTTP long-polling, for
//! clients that cannot keep a stream open.
//!
//! Newer messages than `after` are answered at once (up to 100, newest first, as
//! history; `live::poll` has the shape). Otherwise the request, handed to Fanout like a
//! stream, is held (`Grip-Hold: response`) on the room's channel with `prev-id` = the
//! room's newest id, until a message is published (its `http-response` format is the
//! answer), something ephemeral happens (presence, typing), or `wait` seconds pass (the
//! held body: an empty list). A publish whose prev-id does not follow makes Fanout ask
//! again, so a message that slipped in between the read and the hold is never skipped.
//! `wait=0` (or no `wait`) answers at once without Fanout. An explicit `wait=0` is a
//! poll loop's opening (the page's first poll, and its first after a reconnect): its
//! `events` start with the room's roster (a `presence` event with change `roster`, as a
//! stream's opening has it); presence changes then release held polls.

use fastly::http::{StatusCode, header};
use fastly::{Request, Response};

use super::events::verified_callback;
use super::presence as presence_api;
use crate::config::Config;
use crate::http::access::{Caller, require_caller};
use crate::http::body::query_number;
use crate::http::error::ApiError;
use crate::http::send;
use crate::live::backlog::events_of;
use crate::live::event::Event;
use crate::live::grip::{channel, member_channel};
use crate::live::poll::{ANSWER_MAX, WAIT_MAX, answer};
use crate::live::presence;
use crate::live::sse::frame;
use crate::live::ws::from_sse;
use crate::model::{MessageId, RoomId};
use crate::store::{Rooms, newest};
use crate::timing::KvMeter;

/// Whether a GET of the messages is a poll rather than a history page.
pub fn is_poll(req: &Request) -> bool {
    req.get_query_str().is_some_and(|q| {
        q.split('&')
            .any(|p| p.starts_with("wait=") || p.starts_with("after="))
    })
}

pub fn serve(req: Request, room: RoomId, config: &Config, meter: &KvMeter) {
    let params = query_number(&req, "after", 0, MessageId::MAX)
        .and_then(|after| Ok((after, query_number(&req, "wait", 0, WAIT_MAX)?)));
    let (after, wait) = match params {
        Ok(params) => params,
        Err(e) => return send(Err(e), meter),
    };
    let Some(wait @ 1..) = wait else {
        // `wait=0` opens (or reopens) a poll loop: its answer carries the roster.
        let answer = require_caller(&req, config, meter).and_then(|_| {
            let roster = (wait == Some(0))
                .then(|| from_sse(&presence_api::opening(&req, &room, config, meter)));
            poll(
                &room,
                after,
                0,
                roster,
                &Rooms::open(meter, config.retention())?,
            )
        });
        return send(answer, meter);
    };
    if let Some(req) = verified_callback(req, config, meter) {
        // Checked again: a stale session's fresh cookie rides on the held answer.
        let answer = require_caller(&req, config, meter).and_then(|caller| {
            let rooms = Rooms::open(meter, config.retention())?;
            let mut resp = poll(&room, after, wait, None, &rooms)?;
            // A private room's member: removing them answers this poll 404 (`live::grip`).
            if let (true, true, Caller::User(me)) = (
                room.is_private(),
                resp.contains_header("Grip-Hold"),
                &caller,
            ) {
                resp.append_header("Grip-Channel", member_channel(&room, &me.user_id));
            }
            Ok(resp)
        });
        send(answer, meter);
    }
}

/// The answer to a poll after `after` (`None`: after the newest), held for `wait`
/// seconds when there is nothing newer; `roster` (a socket frame) goes first among its
/// events.
fn poll(
    room: &RoomId,
    after: Option<MessageId>,
    wait: u64,
    roster: Option<String>,
    rooms: &Rooms,
) -> Result<Response, ApiError> {
    // This POP's copy of the head, unless the poller has seen more (`cached_head`).
    let head = rooms.head_reaching(room, after)?;
    let newest = newest(&head);
    let after = after.unwrap_or(newest);
    let opening: Vec<String> = roster.into_iter().collect();
    if after > newest {
        // The room is behind the client (it aged out): start again from its newest.
        return Ok(json(answer(&[], &opening, newest, false)));
    }
    if after < newest {
        let hi = newest.min(after + ANSWER_MAX);
        let entries = rooms.entries_from(room, after + 1, hi, &head)?;
        let mut messages = Vec::new();
        let mut others = opening;
        for (_, event) in events_of(rooms, room, entries)? {
            match event {
                Some(Event::Message(m)) => messages.push(m),
                Some(event) => others.push(from_sse(&frame(&event))),
                None => {}
            }
        }
        return Ok(json(answer(&messages, &others, hi, hi < newest)));
    }
    let mut resp = json(answer(&[], &opening, newest, false));
    if wait > 0 {
        resp.set_header("Grip-Hold", "response");
        resp.set_header(
            "Grip-Channel",
            format!("{}; prev-id={newest}", channel(room)),
        );
        resp.append_header("Grip-Channel", presence::channel(room));
        resp.set_header("Grip-Timeout", wait.to_string());
    }
    Ok(resp)
}

fn json(body: String) -> Response {
    Response::from_status(StatusCode::OK)
        .with_header(header::CONTENT_TYPE, "application/json")
        .with_header(header::CACHE_CONTROL, "no-store")
        .with_body(body)
}
