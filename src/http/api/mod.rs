//! The JSON and SSE API under `/rooms/`, compatible with fastly/fanout-chat-demo.
//!
//! * `messages`: `GET` history and `POST` new messages.
//! * `events`: the live stream: hand-off to Fanout and Fanout's signed call-back.
//! * `multi_events`: one stream for several rooms, with composite event ids.
//! * `ws`: a room over a WebSocket (Fanout's WebSocket-over-HTTP).
//! * `longpoll`: `messages/?after=&wait=`, held by Fanout until something happens.
//! * `presence`: heartbeats, typing and leaving.
//! * `auth`: passkey sign-up and sign-in, the session, who you are.
//! * `account`: a signed-in person's passkeys and API keys.
//! * `moderation`: deleting and editing messages, clearing rooms.

mod account;
pub mod auth;
pub mod events;
mod longpoll;
pub mod messages;
pub mod moderation;
pub mod multi_events;
pub mod presence;
pub mod ws;

use fastly::Response;
use fastly::http::header;
use serde::Serialize;

use super::error::ApiError;
use crate::config::Config;
use crate::live::backlog::events_of;
use crate::live::event::Event;
use crate::live::publish::{Item, Publish, entry_items};
use crate::live::unpublished::{self, BACKFILL_MAX};
use crate::model::{MessageId, RoomId};
use crate::store::Rooms;

/// Publishes a room's newest entry (`id`, told to subscribers as `event`), calling
/// `respond` in between: the client has its answer before the publish API is waited
/// on, so a slow or failed publish never reaches it.
///
/// If an earlier publish from this POP failed (`live::unpublished`), the entries since
/// are published first, in order, in the same calls: subscribers then see no gap and
/// none of them has to fetch a recovery page.
pub fn publish_new(
    config: &Config,
    rooms: &Rooms,
    room: &RoomId,
    id: MessageId,
    event: &Event,
    respond: impl FnOnce(),
) {
    let what = format!("{room}/{id}");
    let newest = entry_items(room, id, Some(event));
    let Some(from) = unpublished::first(room).filter(|&from| from < id) else {
        let publishing = Publish::start(config, what, &newest);
        respond();
        if !publishing.finish() {
            unpublished::remember(room, id);
        }
        return;
    };
    respond();
    // Claimed before sending, so concurrent posts here publish only their own entry
    // rather than the same backlog again; given back if the resend fails.
    unpublished::forget(room, from);
    // Only the newest BACKFILL_MAX are resent; anything older is left to recovery.
    let resend_from = from.max(id.saturating_sub(BACKFILL_MAX));
    let missed = rooms
        .entries(room, resend_from, id - 1)
        .and_then(|entries| events_of(rooms, room, entries));
    let sent = missed.is_ok_and(|missed| {
        let mut items: Vec<Item> = missed
            .iter()
            .flat_map(|(id, event)| entry_items(room, *id, event.as_ref()))
            .collect();
        items.extend(newest);
        Publish::start(config, what, &items).finish()
    });
    if !sent {
        unpublished::remember(room, from);
    }
}

/// Publishes ephemeral `items` (presence, typing) around `respond`, as `publish_new` does
/// entries: the client has its answer before the publish API is waited on. A failure is
/// only logged: nothing stored depends on it.
pub fn publish_ephemeral(config: &Config, what: String, items: &[Item], respond: impl FnOnce()) {
    let publishing = (!items.is_empty()).then(|| Publish::start(config, what, items));
    respond();
    if let Some(publishing) = publishing {
        publishing.finish();
    }
}

/// A JSON body that must never be cached (it changes with every post).
fn json_response(value: &impl Serialize) -> Result<Response, ApiError> {
    Ok(Response::new()
        .with_header(header::CACHE_CONTROL, "no-store")
        .with_body_json(value)
        .expect("API bodies always serialize"))
}
