//! What this POP failed to publish, per room, so the next post can send it.
//!
//! When the publish API is down (or Fanout is restarting), each post is stored but its
//! item never reaches Fanout. Subscribers then see a gap at the next message that does
//! arrive, and every one of them fetches the recovery link: with a thousand
//! subscribers that is a thousand call-backs at once (the pile-up of
//! django-eventstream #174). Instead, a post whose publish fails leaves the first id
//! that did not go out in this POP's cache, and the next post to the room publishes
//! from there up to itself, in order, in a few calls. Subscribers see no gap and nobody
//! recovers. One post sends only as many calls as its budget allows
//! (`api::publish_new`): a longer backlog is left here from the first entry it did not
//! send, and the next post continues. (It also keeps local Pushpin 1.36 out of a crash: its handler
//! aborts when many held streams page through a cut backlog at once.)
//!
//! Best effort by design: the cache is per POP, a lost race only means a duplicate
//! item (Fanout drops repeated ids) or a gap that prev-id recovery and resumes still
//! fill. Nothing here affects what is stored.

use std::time::Duration;

use crate::cache;
use crate::model::{MessageId, RoomId};

/// How long a POP remembers a gap: longer than any outage worth mending this way.
const REMEMBER: Duration = Duration::from_secs(600);
/// How far behind the post that finds a gap republishing reaches: entries further back
/// are left to recovery.
pub const BACKFILL_MAX: u64 = 500;

fn key(room: &RoomId) -> String {
    format!("edge-chat:unpublished:{room}")
}

/// The first id of the room this POP failed to publish, if any.
pub fn first(room: &RoomId) -> Option<MessageId> {
    cache::read_number(&key(room)).filter(|&id| id > 0)
}

/// Records that publishing from `id` on failed (keeping an earlier gap if there is one).
pub fn remember(room: &RoomId, id: MessageId) {
    let from = first(room).map_or(id, |known| known.min(id));
    store(room, from);
}

/// Records that everything up to the gap that started at `from` went out, unless a
/// newer failure moved the gap meanwhile.
pub fn forget(room: &RoomId, from: MessageId) {
    if first(room) == Some(from) {
        store(room, 0);
    }
}

fn store(room: &RoomId, id: MessageId) {
    if let Err(e) = cache::write(&key(room), REMEMBER, id.to_string().as_bytes()) {
        log::warn!("room {room}: publish gap not recorded: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_is_remembered_from_its_first_id_until_mended() {
        let room = RoomId::parse("unit-unpublished").unwrap();
        assert_eq!(first(&room), None);
        remember(&room, 7);
        remember(&room, 9);
        assert_eq!(
            first(&room),
            Some(7),
            "the earliest failure is where to resend from"
        );
        forget(&room, 9);
        assert_eq!(
            first(&room),
            Some(7),
            "a batch that did not start at the gap mends nothing"
        );
        forget(&room, 7);
        assert_eq!(first(&room), None);
    }
}
