//! `GET /me/events/`: the signed-in person's own stream of `mention` events
//! (`mentions`), from any room they may read, whether or not they have it open.
//!
//! It is a room's stream in everything but its sequence: handed to Fanout, answered on
//! Fanout's signed call-back with what the client missed (`Last-Event-ID`, then
//! `?lastEventId=`, then Fanout's `Grip-Last`), held with `prev-id` and a recovery link,
//! `stream-reset` when the position cannot be resumed, keep-alives, and the session or
//! API key checked again on every link (`holder`). The sequence is the person's mention
//! log, whose id and channel come only from the caller's identity: no request names
//! them. Open mode has no accounts, so no such stream (404).

use fastly::http::Method;
use fastly::{Request, Response};

use super::events::{resume_of, verified_callback};
use super::holder::{self, Refusal};
use super::mentions;
use crate::config::{AuthMode, Config};
use crate::http::body::query_param;
use crate::http::error::ApiError;
use crate::http::send;
use crate::live::backlog::{Then, catch_up};
use crate::live::event::Event;
use crate::live::grip::{self, channel};
use crate::live::resume::Resume;
use crate::live::sse;
use crate::model::RoomId;
use crate::store::Rooms;
use crate::timing::KvMeter;

/// The stream's path; a page of a cut backlog continues at `next/{id}/` after it.
pub const PATH: &str = "/me/events/";

/// `page`: the position in a backlog page link's path (`/me/events/next/{id}/`).
pub fn serve(req: Request, page: Option<&str>, config: &Config, meter: &KvMeter) {
    if config.auth_mode() == AuthMode::Open {
        return send(Err(ApiError::not_found()), meter);
    }
    if req.get_method() != Method::GET {
        return send(Err(ApiError::method_not_allowed("GET")), meter);
    }
    if let Some(req) = verified_callback(req, config, meter) {
        send(subscribe(&req, page, config, meter), meter);
    }
}

/// What the subscriber is sent first, and the hold on its log's channel after it.
fn subscribe(
    req: &Request,
    page: Option<&str>,
    config: &Config,
    meter: &KvMeter,
) -> Result<Response, ApiError> {
    let is_link = page.is_some() || query_param(req, "link").as_deref() == Some("next");
    let mut body = String::from(if is_link { "" } else { sse::stream_open() });
    let (holder, recheck) = match holder::admit_holder(req, config, meter, is_link, &[]) {
        Ok(Some(admitted)) => admitted,
        Ok(None) => return Err(ApiError::not_found()),
        Err(Refusal::Api(e)) => return Err(e),
        Err(Refusal::Ended(error)) => return Ok(grip::event_stream(body + &error)),
    };
    let log = RoomId::mentions_of(holder.user_id());
    let (resume, fanout_named) = resume_of(req, page, is_link, &channel(&log));
    let after = match resume {
        Resume::Live => None,
        Resume::After(id) => Some(id),
        Resume::Malformed(raw) => {
            body.push_str(&sse::stream_error(&format!(
                "Invalid event id {raw:?}: expected a mention id."
            )));
            return Ok(grip::event_stream(body));
        }
    };
    let rooms = Rooms::open(meter, config.retention())?;
    let caught_up = catch_up(&rooms, &log, after, is_link || fanout_named)?;
    for event in &caught_up.events {
        body.push_str(&match event {
            Event::Message(entry) => mentions::frame(entry.id, &entry.text),
            other => sse::frame(other),
        });
    }
    let mut resp = grip::event_stream(body);
    let (prev_id, link, link_now) = match caught_up.then {
        Then::Continue { last_sent } => (last_sent, page_link(last_sent), true),
        Then::Hold { prev_id } => (prev_id, format!("{PATH}?link=next&recover=true"), false),
    };
    if let (Then::Continue { .. }, false) = (caught_up.then, is_link) {
        // A new stream's first page holds nothing: Fanout fetches the next at once.
        grip::continue_at(&mut resp, &link, Some(&recheck));
        return Ok(resp);
    }
    resp.set_header("Grip-Hold", "stream");
    resp.set_header(
        "Grip-Channel",
        format!("{}; prev-id={prev_id}", channel(&log)),
    );
    grip::keep_alive_and_link(
        &mut resp,
        config.keep_alive_secs(),
        &link,
        link_now,
        Some(&recheck),
    );
    Ok(resp)
}

/// The link to the page after `after`: its position in the path, as a room's
/// (`routes::events_page_path`), since Fanout shares fetches by path.
fn page_link(after: u64) -> String {
    format!("{PATH}next/{after}/?link=next")
}
