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
//! * `ceremony`: what `auth` and `account` share of a passkey ceremony (neither imports
//!   the other).
//! * `moderation`: deleting and editing messages, clearing rooms.
//! * `reactions`: adding and taking back reactions to a message.
//! * `holder`: who a held stream is for, checked when it opens and on each link.
//! * `mentions`: the names a message mentions, and notifying them; `me_events`: the
//!   signed-in person's own stream of those notifications, `GET /me/events/`.
//! * `private`: private rooms, their members and direct messages; the gate every room
//!   route passes.

pub mod account;
pub mod auth;
mod ceremony;
pub mod events;
mod holder;
mod longpoll;
pub mod me_events;
mod mentions;
pub mod messages;
pub mod moderation;
pub mod multi_events;
pub mod presence;
pub mod private;
pub mod reactions;
pub mod ws;

use fastly::Response;
use fastly::http::header;
use serde::Serialize;

use super::error::ApiError;
use crate::budget;
use crate::config::Config;
use crate::live::backlog::events_of;
use crate::live::event::Event;
use crate::live::multi;
use crate::live::publish::{ITEMS_PER_CALL, Item, Publish};
use crate::live::unpublished::{self, BACKFILL_MAX};
use crate::model::{MessageId, RoomId};
use crate::store::{Rooms, StoreError};

/// Backend requests a post may spend publishing its room's items: every call and every
/// retry. The newest entry alone is one call (retried up to three times); after an outage
/// this POP's backlog goes first, oldest first, in calls of `ITEMS_PER_CALL` entries, so
/// one post republishes up to 6 × 50 = 300 entries when nothing fails.
pub const ROOM_REQUESTS: u32 = 6;
/// Backend requests a post may spend publishing the same entries to multi-room streams,
/// in calls of their own (see `publish_new`): 1 call and a retry for the newest entry,
/// a few calls of a backlog (a multi-room stream recovers whatever they leave out).
pub const MULTI_REQUESTS: u32 = 3;

/// Publishes the entries this request appended (`new`: one post's, or a batch of queued
/// posts, `store::queue`; ids in a row, each with its event), calling `respond` in
/// between: the client has its answer before the publish API is waited on, so a slow or
/// failed publish never reaches it. Nothing new (another post's request appended this
/// one and publishes it): only `respond`.
///
/// If an earlier publish from this POP failed (`live::unpublished`), the entries since
/// are published first, in order, in the same run of calls: subscribers then see no gap
/// and none of them has to fetch a recovery page. One post sends at most
/// [`ROOM_REQUESTS`] + [`MULTI_REQUESTS`] backend requests (Fastly allows 10 per
/// execution on a trial account); a backlog that does not fit is left where it stopped,
/// still remembered, and the next post continues from there.
///
/// The multi-room streams' items use Pushpin features Fastly does not document
/// (`live::multi`), and a refusal of them must not stop the room's live delivery. A post
/// (or a batch) sends its room items and multi-room items in one call; if the publish API
/// refuses that call outright, the room's items go again alone at once (one more call),
/// and this POP sends multi-room items in calls of their own for the next 10 minutes
/// (`multi::refused`). A republished backlog always keeps them apart: the room's calls
/// and the multi-room calls are sent at the same time, and the room's waited on first.
pub fn publish_new(
    config: &Config,
    rooms: &Rooms,
    room: &RoomId,
    new: Vec<(MessageId, Option<Event>)>,
    respond: impl FnOnce(),
) {
    let mut respond = Some(respond);
    publish_new_with(config, rooms, room, new, Vec::new(), &mut || {
        respond.take().map(|r| r());
    });
}

/// As [`publish_new`], with `told`: items for other channels that ride in the same
/// calls (a post's mention notifications, `mentions`), after the room's own. `respond`
/// is called once; it is `dyn` so that this long function is compiled once, not once per
/// caller's closure (2.5 KB of wasm each).
pub fn publish_new_with(
    config: &Config,
    rooms: &Rooms,
    room: &RoomId,
    new: Vec<(MessageId, Option<Event>)>,
    told: Vec<Item>,
    respond: &mut dyn FnMut(),
) {
    let (Some(&(first_new, _)), Some(&(id, _))) = (new.first(), new.last()) else {
        // Another post's request appended this one and publishes it.
        return publish_ephemeral(config, format!("{room} mentions"), &told, respond);
    };
    let what = match new.len() {
        1 => format!("{room}/{id}"),
        _ => format!("{room}/{first_new}..{id}"),
    };
    let gap = unpublished::first(room).filter(|&from| from < first_new);
    if budget::backend_left() == 0 {
        // Several posts in one execution (a socket's batch) spent it: the next post sends.
        log::warn!("publish of {what} left to the next post: no backend request left");
        respond();
        unpublished::remember(room, gap.unwrap_or(first_new));
        return;
    }
    // Claimed before sending, so concurrent posts here publish only their own entry
    // rather than the same backlog again; given back (from where it stopped) if the
    // backlog does not all go out.
    if let Some(from) = gap {
        unpublished::forget(room, from);
    }
    let entries = match gap {
        None => Ok((new, id)),
        Some(from) => backlog(rooms, room, from, new),
    };
    let (entries, carried_to) = match entries {
        Ok(entries) => entries,
        Err(e) => {
            log::warn!("room {room}: unpublished backlog not read: {e}");
            respond();
            unpublished::remember(room, gap.unwrap_or(first_new));
            return;
        }
    };
    let room_items: Vec<Item> = entries
        .iter()
        .map(|(id, event)| Item::entry(room, *id, event.as_ref()))
        .collect();
    let multi_items: Vec<Item> = room_items
        .iter()
        .zip(&entries)
        .map(|(item, (id, _))| multi::item(room, *id, &item.content))
        .collect();
    if gap.is_none() && entries.len() * 2 + told.len() <= ITEMS_PER_CALL && !multi::refused() {
        // The usual case, one post or one batch: room and multi-room items in one call.
        let first = entries[0].0;
        let items: Vec<Item> = (room_items.iter().cloned())
            .chain(multi_items)
            .chain(told.iter().cloned())
            .collect();
        let publishing = Publish::start_within(config, what.clone(), &items, ROOM_REQUESTS);
        respond();
        match publishing.finish_noting_refusal() {
            (1, _) => {}
            (_, true) => {
                // Perhaps the multi-room items' Pushpin features: the room's own go
                // alone now, and multi-room items apart from now on at this POP.
                multi::remember_refused();
                let alone: Vec<Item> = room_items.into_iter().chain(told).collect();
                let alone = Publish::start_within(config, what, &alone, MULTI_REQUESTS);
                if alone.finish() == 0 {
                    unpublished::remember(room, first);
                }
            }
            (_, false) => unpublished::remember(room, first),
        }
        return;
    }
    // Told items after the room's: where a call fails, the room's first unsent entry is
    // still `calls * ITEMS_PER_CALL` in.
    let room_calls: Vec<Item> = room_items.into_iter().chain(told).collect();
    let publishing = Publish::start_within(config, what.clone(), &room_calls, ROOM_REQUESTS);
    let multi_publishing = Publish::start_within(
        config,
        format!("{what} (multi)"),
        &multi_items,
        MULTI_REQUESTS,
    );
    respond();
    let calls = publishing.finish();
    // The first entry that did not go out: where a failed call stopped, or past the last
    // entry carried when the backlog did not reach the newest.
    let unsent = match entries.get(calls * ITEMS_PER_CALL) {
        Some(&(unsent, _)) => Some(unsent),
        None => Some(carried_to + 1).filter(|&next| next <= id),
    };
    if let Some(unsent) = unsent {
        unpublished::remember(room, unsent);
    }
    multi_publishing.finish();
}

/// The entries from `from` (a gap this POP left) up to the newest of `new` (entries
/// just appended, their events at hand), oldest first: as many as one post's calls can
/// carry, and the id they reach. Only the newest [`BACKFILL_MAX`] of a longer gap are
/// resent; anything older is left to recovery.
fn backlog(
    rooms: &Rooms,
    room: &RoomId,
    from: MessageId,
    new: Vec<(MessageId, Option<Event>)>,
) -> Result<(Vec<(MessageId, Option<Event>)>, MessageId), StoreError> {
    let (first_new, id) = (new[0].0, new[new.len() - 1].0);
    let resend_from = from.max(first_new.saturating_sub(BACKFILL_MAX));
    let most = ROOM_REQUESTS as u64 * ITEMS_PER_CALL as u64;
    let last = id.min(resend_from + most - 1);
    let missed_to = last.min(first_new - 1);
    let mut entries = rooms
        .entries(room, resend_from, missed_to)
        .and_then(|entries| events_of(rooms, room, entries))?;
    entries.extend(new.into_iter().filter(|(n, _)| *n <= last));
    Ok((entries, last))
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
