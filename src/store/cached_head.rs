//! This POP's copy of each room's head window, so most reads skip KV.
//!
//! On Fastly every KV operation is a round trip to the store's primary (tens of ms), and
//! finding a room's head is two of them in a row: a list, then a lookup. Yet the head
//! window (the newest 50 entries, with the room's pending clears) is what nearly every
//! read wants: a history GET, a stream opening, a long-poll, the entries a post
//! republishes. So each POP keeps it in its Core Cache for [`HEAD_TTL`]:
//!
//! * **Refreshed by writes.** A post or moderation change stores the window it wrote,
//!   an erasure step the head it rewrote: this POP reads its own writes at once.
//! * **Refreshed by strong reads.** A read that must not be stale (Fanout's recovery
//!   call-back, a resume ahead of the copy, an append that lost a race) lists the room
//!   and stores what it found.
//! * **Bounded staleness.** Entries written at other POPs (and their moderation) reach
//!   this POP's reads within `HEAD_TTL`; their live streams carry them at once.
//! * **Collapsed fills.** A cold head is filled through a cache transaction: of many
//!   concurrent readers (a thousand streams reopening after a deploy) one reads KV and
//!   the rest wait for its copy, so they cost two KV operations, not two thousand.
//!
//! Nothing stored depends on the copy: an append that starts from a stale head loses its
//! `Add` and re-reads the head from KV.

use std::time::Duration;

use super::StoreError;
use super::local::pop_key;
use super::window::Window;
use crate::cache;
use crate::model::RoomId;

/// How long a copy serves reads: the bound on how late another POP's entries appear in
/// this POP's history (README, Storage). Long enough that a burst of stream openings
/// fills it once or twice, short enough that history is never far behind the streams.
pub const HEAD_TTL: Duration = Duration::from_secs(3);
/// The longest a reader waits for another's fill before reading KV itself.
const FILL_WAIT: Duration = Duration::from_secs(2);

/// A cached head: the window, or `None` for a room with no entries.
pub type Head = Option<Window>;

fn key_text(room: &RoomId) -> String {
    pop_key(&format!("head:{room}"))
}

/// This POP's copy of `room`'s head, if it has a fresh one.
pub(in crate::store) fn read(room: &RoomId) -> Option<Head> {
    decode(&cache::read(&key_text(room))?).ok()
}

/// The cached head, or the one `fill` reads from KV, which is then cached. Concurrent
/// callers for a cold head wait (up to `FILL_WAIT`) for the first one's fill.
pub(in crate::store) fn read_or_fill(
    room: &RoomId,
    fill: impl FnOnce() -> Result<Head, StoreError>,
) -> Result<Head, StoreError> {
    let mut fill = Some(fill);
    let mut filled: Option<Result<Head, StoreError>> = None;
    let bytes = cache::read_or_fill(&key_text(room), HEAD_TTL, FILL_WAIT, &mut || {
        let head = (fill.take()?)();
        let bytes = head.as_ref().ok().map(encode);
        filled = Some(head);
        bytes
    });
    match (filled, bytes) {
        (Some(head), _) => head,
        (None, Some(bytes)) => decode(&bytes).map_err(|e| {
            log::error!("room {room}: unreadable head in the cache: {e}");
            StoreError::Unreadable
        }),
        (None, None) => Err(StoreError::Unavailable),
    }
}

/// Stores `head`, written or read from KV just now, as this POP's copy. Unless `always`
/// (a writer holding the room's turn, or a rewrite of the same id), a copy that is
/// already newer is kept: a slow reader must not put back a head a post has replaced.
pub(in crate::store) fn store(room: &RoomId, head: &Head, always: bool) {
    let newest = |h: &Head| h.as_ref().map_or(0, Window::newest_id);
    if !always && read(room).is_some_and(|cached| newest(&cached) > newest(head)) {
        return;
    }
    if let Err(e) = cache::write(&key_text(room), HEAD_TTL, &encode(head)) {
        log::warn!("room {room}: head not cached: {e}");
    }
}

/// A head as cached: its window, or one with no entries for an empty room (the windows'
/// own serde code; an `Option` around them would add its own to the package).
fn encode(head: &Head) -> Vec<u8> {
    let empty = Window {
        writer: String::new(),
        messages: Vec::new(),
        clears: Vec::new(),
    };
    serde_json::to_vec(head.as_ref().unwrap_or(&empty)).expect("a window always serializes")
}

fn decode(bytes: &[u8]) -> Result<Head, serde_json::Error> {
    let window: Window = serde_json::from_slice(bytes)?;
    Ok(Some(window).filter(|w| !w.messages.is_empty()))
}
