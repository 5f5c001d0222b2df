//! Rooms and messages in a Fastly KV Store.
//!
//! # Schema
//! One key per message, written once and never rewritten:
//!
//! ```text
//! m:<room>:<9999999999 - id, 10 digits>  →  {"writer": "<uuid>", "messages": [ … ]}
//! ```
//!
//! * **Newest first.** The id is stored inverted, so a prefix list in KV's lexicographic
//!   order returns the room's newest message first: `list(prefix, limit 1)` finds the
//!   head of a room in one operation, with no counter key that every post would rewrite.
//! * **Windows.** The value of message `n` holds messages `n-49 ..= n` (oldest first):
//!   the writer copies the previous window and appends. Any 50 consecutive messages are
//!   then one lookup away, so the newest 50 cost 2 operations (list + lookup) and a
//!   resume that missed `k` messages costs `1 + ⌈k/50⌉`.
//! * **Ids without a counter.** A writer reads the head `n` and inserts `n+1` with
//!   `InsertMode::Add` (insert-if-absent). Losing a race means someone else holds `n+1`;
//!   we back off, re-read the head and try again. Ids only ever extend an existing
//!   window by one, so they are 1, 2, 3, … with no gaps and no duplicates.
//! * **Turns.** Posts to one room at one POP take turns (`AppendTurn`, a lock made of the
//!   cache's request collapsing), so they queue instead of racing each other, and the
//!   `Add` decides between POPs. Viceroy's `Add` is check-then-write, not atomic: a post
//!   that appends without its turn (the wait timed out) reads the key back and compares
//!   the `writer` token, so a lost race is detected, not assumed away. (Reading back
//!   alone is not enough: under CPU load a writer preempted between Viceroy's check and
//!   write overwrote a post that had already read itself back as the winner.)
//! * **Retention.** Every key carries the configured TTL; expired keys vanish from
//!   lists and lookups, so an old room's history simply ages out.

use std::time::Duration;

use fastly::cache::core::{CacheKey, Transaction};
use fastly::kv_store::{InsertMode, KVStore, KVStoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::model::{Draft, Message, MessageId, RoomId};
use crate::timing::KvMeter;

/// Name of the KV Store (fastly.toml `[local_server.kv_stores]` / `[setup.kv_stores]`).
pub const STORE_NAME: &str = "chat";
/// Messages per stored window, and so per lookup.
pub const WINDOW: u64 = 50;
/// Ids are stored as `ID_CEILING - id`; ten digits keep the keys fixed-width.
const ID_CEILING: MessageId = 9_999_999_999;
/// How many insert attempts a post makes before giving up with 503. Each lost race
/// means another post succeeded, so this bounds work, not correctness.
const APPEND_ATTEMPTS: u32 = 256;
/// Longest pause after a lost race: a little jitter stops racers retrying in lockstep.
/// Longer pauses starve the loser, since fresh posts attempt at once (measured: 20
/// posters × 25 with a 32 ms cap left 1–2% of posts losing 64 races in a row).
const BACKOFF_MAX_MS: u64 = 4;
/// How long a post waits for its turn before appending without one.
const TURN_WAIT: Duration = Duration::from_secs(2);

pub fn room_prefix(room: &RoomId) -> String {
    format!("m:{room}:")
}

pub fn message_key(room: &RoomId, id: MessageId) -> String {
    format!("m:{room}:{:010}", ID_CEILING - id)
}

/// The id encoded in a key listed under `prefix`.
pub fn id_from_key(prefix: &str, key: &str) -> Option<MessageId> {
    let digits = key.strip_prefix(prefix)?;
    let inverted: MessageId = digits.parse().ok().filter(|_| digits.len() == 10)?;
    Some(ID_CEILING - inverted)
}

/// The stored value of one message key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Random per-post token; tells the writer whether the key holds its own insert.
    pub writer: String,
    /// Up to `WINDOW` consecutive messages, oldest first, ending with the key's message.
    pub messages: Vec<Message>,
}

impl Window {
    pub fn newest_id(&self) -> MessageId {
        self.messages.last().map_or(0, |m| m.id)
    }

    /// The window of the message that follows `base` (the room's head, if any).
    pub fn extend(base: Option<&Window>, message: Message, writer: &str) -> Window {
        let previous = base.map_or(&[][..], |w| &w.messages[..]);
        let keep = previous.len().min(WINDOW as usize - 1);
        let mut messages = Vec::with_capacity(keep + 1);
        messages.extend_from_slice(&previous[previous.len() - keep..]);
        messages.push(message);
        Window {
            writer: writer.to_owned(),
            messages,
        }
    }
}

/// Ids of the windows that together hold every message in `lo ..= hi`:
/// `hi`, `hi - 50`, … — `⌈(hi - lo + 1) / 50⌉` of them.
pub fn windows_covering(lo: MessageId, hi: MessageId) -> Vec<MessageId> {
    let lo = lo.max(1);
    let mut ids = Vec::new();
    let mut id = hi;
    while id >= lo {
        ids.push(id);
        if id <= WINDOW {
            break;
        }
        id -= WINDOW;
    }
    ids
}

/// The rooms of one request: the KV handle plus the meter every operation reports to.
pub struct Rooms<'a> {
    kv: KVStore,
    meter: &'a KvMeter,
    ttl: Duration,
}

impl<'a> Rooms<'a> {
    pub fn open(meter: &'a KvMeter, ttl: Duration) -> Result<Self, ApiError> {
        match KVStore::open(STORE_NAME) {
            Ok(Some(kv)) => Ok(Self { kv, meter, ttl }),
            Ok(None) | Err(_) => {
                log::error!("KV Store '{STORE_NAME}' is not linked to this service");
                Err(ApiError::unavailable("The message store is not available."))
            }
        }
    }

    /// The id of the room's newest message, 0 for an empty room. One list operation.
    pub fn newest_id(&self, room: &RoomId) -> Result<MessageId, ApiError> {
        let prefix = room_prefix(room);
        let page = self
            .meter
            .time(1, || {
                self.kv.build_list().prefix(&prefix).limit(1).execute()
            })
            .map_err(store_error)?;
        Ok(page
            .keys()
            .first()
            .and_then(|k| id_from_key(&prefix, k))
            .unwrap_or(0))
    }

    /// Up to `limit` newest messages with ids below `before` (if given), oldest first,
    /// and the room's newest id.
    pub fn latest(
        &self,
        room: &RoomId,
        before: Option<MessageId>,
        limit: u64,
    ) -> Result<(MessageId, Vec<Message>), ApiError> {
        let newest = self.newest_id(room)?;
        let hi = before.map_or(newest, |b| newest.min(b.saturating_sub(1)));
        let lo = hi.saturating_sub(limit.saturating_sub(1)).max(1);
        Ok((newest, self.range(room, lo, hi)?))
    }

    /// The stored messages with ids in `lo ..= hi`, oldest first; expired ones are absent.
    /// Reads the covering windows concurrently.
    pub fn range(
        &self,
        room: &RoomId,
        lo: MessageId,
        hi: MessageId,
    ) -> Result<Vec<Message>, ApiError> {
        let ids = windows_covering(lo, hi);
        let windows = self.lookup_many(room, &ids)?;
        let mut messages: Vec<Message> = windows
            .into_iter()
            .flatten()
            .flat_map(|w| w.messages)
            .filter(|m| (lo..=hi).contains(&m.id))
            .collect();
        messages.sort_by_key(|m| m.id);
        messages.dedup_by_key(|m| m.id);
        Ok(messages)
    }

    /// Stores `draft` as the room's next message and returns it with its id and date.
    pub fn append(&self, room: &RoomId, draft: Draft) -> Result<Message, ApiError> {
        let writer = uuid::Uuid::new_v4().to_string();
        let turn = AppendTurn::take(room);
        let mut base = self.head_window(room, None)?;
        for attempt in 0..APPEND_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt);
            }
            let id = base.as_ref().map_or(0, Window::newest_id) + 1;
            let message = draft.clone().into_message(id, OffsetDateTime::now_utc());
            let window = Window::extend(base.as_ref(), message.clone(), &writer);
            let body = serde_json::to_vec(&window).expect("a window always serializes");
            let key = message_key(room, id);
            let inserted = self.meter.time(1, || {
                self.kv
                    .build_insert()
                    .mode(InsertMode::Add)
                    .time_to_live(self.ttl)
                    .execute(&key, body)
            });
            let added = match inserted {
                Ok(()) => true,
                Err(KVStoreError::ItemPreconditionFailed | KVStoreError::TooManyRequests) => false,
                Err(e) => return Err(store_error(e)),
            };
            // With our turn, no other post here is adding this key, and other POPs'
            // Adds are atomic: success is final. Without one, Viceroy's check-then-write
            // Add may have let another post in, so read back what the key holds.
            if added && turn.is_held() {
                return Ok(message);
            }
            let held = self.lookup(room, id)?;
            match &held {
                Some(held) if held.writer == writer => return Ok(message),
                // A real KV's Add is atomic; reads may lag our own write by a moment.
                None if added => return Ok(message),
                _ => {}
            }
            // Lost: others may have posted more while we raced, so start again from
            // the room's head rather than one past the winner.
            base = self.head_window(room, held)?;
        }
        log::warn!("room {room}: gave up after {APPEND_ATTEMPTS} lost races");
        Err(ApiError::unavailable(
            "Too many messages are being posted to this room at once; try again.",
        ))
    }

    /// The newest message's window, or `None` for an empty room. `known` is a window
    /// already read, which saves the lookup when it is still the newest.
    fn head_window(
        &self,
        room: &RoomId,
        known: Option<Window>,
    ) -> Result<Option<Window>, ApiError> {
        let newest = self.newest_id(room)?;
        if newest == 0 {
            return Ok(None);
        }
        if let Some(window) = known.filter(|w| w.newest_id() == newest) {
            return Ok(Some(window));
        }
        match self.lookup(room, newest)? {
            Some(window) => Ok(Some(window)),
            // Listed but not readable yet: replication lag on a real KV.
            None => Err(ApiError::unavailable("The room is busy; try again.")),
        }
    }

    fn lookup(&self, room: &RoomId, id: MessageId) -> Result<Option<Window>, ApiError> {
        let found = self
            .meter
            .time(1, || self.kv.lookup(&message_key(room, id)));
        decode(found)
    }

    /// Concurrent lookups: all are started before any is awaited.
    fn lookup_many(
        &self,
        room: &RoomId,
        ids: &[MessageId],
    ) -> Result<Vec<Option<Window>>, ApiError> {
        self.meter.time(ids.len() as u32, || {
            let pending = ids
                .iter()
                .map(|&id| self.kv.build_lookup().execute_async(&message_key(room, id)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(store_error)?;
            pending
                .into_iter()
                .map(|handle| decode(self.kv.pending_lookup_wait(handle)))
                .collect()
        })
    }
}

/// A POP-local turn to append to one room, released when dropped.
///
/// Made of request collapsing: a transactional cache lookup of a key that is never
/// filled makes the first caller responsible for filling it and parks later callers
/// until it cancels, when exactly one of them is given the responsibility next. Nothing
/// depends on it for correctness: without a turn (timeout, cache error) a post still
/// appends, and the KV `Add` still arbitrates.
struct AppendTurn(Option<Transaction>);

impl AppendTurn {
    fn is_held(&self) -> bool {
        self.0.is_some()
    }

    fn take(room: &RoomId) -> Self {
        let key = CacheKey::from(format!("edge-chat:append-turn:{room}"));
        match Transaction::lookup(key).timeout(TURN_WAIT).execute() {
            Ok(tx) if tx.must_insert_or_update() => Self(Some(tx)),
            Ok(_) => Self(None),
            Err(e) => {
                log::warn!("room {room}: appending without a turn: {e}");
                Self(None)
            }
        }
    }
}

impl Drop for AppendTurn {
    fn drop(&mut self) {
        if let Some(tx) = &self.0 {
            // Hands the turn to the next waiting post, if any.
            let _ = tx.cancel_insert_or_update();
        }
    }
}

/// Sleeps a random time up to `2^attempt` ms, capped at `BACKOFF_MAX_MS`.
fn backoff(attempt: u32) {
    let cap_ms = (1u64 << attempt.min(6)).min(BACKOFF_MAX_MS);
    // The clock's nanoseconds are random enough to spread retries; no RNG needed.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    std::thread::sleep(Duration::from_micros(
        u64::from(nanos) % (cap_ms * 1000 + 1),
    ));
}

fn decode(
    found: Result<fastly::kv_store::LookupResponse, KVStoreError>,
) -> Result<Option<Window>, ApiError> {
    match found {
        Ok(mut item) => serde_json::from_slice(&item.take_body_bytes())
            .map(Some)
            .map_err(|e| {
                log::error!("unreadable window in KV: {e}");
                ApiError::unavailable("A stored message could not be read.")
            }),
        Err(KVStoreError::ItemNotFound) => Ok(None),
        Err(e) => Err(store_error(e)),
    }
}

fn store_error(e: KVStoreError) -> ApiError {
    log::error!("KV Store error: {e}");
    ApiError::unavailable("The message store is not available right now; try again.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(s: &str) -> RoomId {
        RoomId::parse(s).unwrap()
    }

    fn msg(id: MessageId) -> Message {
        Message {
            id,
            from: "a".into(),
            date: "2026-11-22T00:00:00.000Z".into(),
            text: format!("m{id}"),
        }
    }

    #[test]
    fn keys_list_newest_first() {
        let r = room("lobby");
        let keys: Vec<String> = [1, 2, 10, 11, 999]
            .iter()
            .map(|&id| message_key(&r, id))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.reverse();
        assert_eq!(keys, sorted, "a larger id must sort first");
        assert_eq!(message_key(&r, 1), "m:lobby:9999999998");
        for id in [1, 2, 50, 123_456_789] {
            assert_eq!(
                id_from_key(&room_prefix(&r), &message_key(&r, id)),
                Some(id)
            );
        }
        assert_eq!(id_from_key("m:lobby:", "m:lobby:12"), None);
        assert_eq!(id_from_key("m:lobby:", "m:other:9999999998"), None);
    }

    #[test]
    fn rooms_do_not_share_prefixes() {
        // ':' is not a room character, so "a" can never list "a:b"'s or "ab"'s keys.
        assert!(!message_key(&room("ab"), 1).starts_with(&room_prefix(&room("a"))));
        assert!(
            !message_key(&room("a.b"), 1).contains("./"),
            "Viceroy rejects keys containing ./"
        );
    }

    #[test]
    fn windows_keep_the_last_fifty() {
        let mut w: Option<Window> = None;
        for id in 1..=120 {
            w = Some(Window::extend(w.as_ref(), msg(id), "me"));
            let win = w.as_ref().unwrap();
            assert_eq!(win.newest_id(), id);
            assert_eq!(win.messages.len() as u64, id.min(WINDOW));
            assert_eq!(win.messages[0].id, id.saturating_sub(WINDOW - 1).max(1));
        }
    }

    #[test]
    fn turns_are_granted_and_released() {
        let r = room("turns");
        let first = AppendTurn::take(&r);
        assert!(first.0.is_some(), "an idle room's turn is free");
        drop(first);
        // Not released, this would wait TURN_WAIT and come back without a turn.
        assert!(AppendTurn::take(&r).0.is_some());
        assert!(AppendTurn::take(&room("other")).0.is_some());
    }

    fn draft(text: &str) -> Draft {
        Draft::parse(Some("unit"), Some(text)).unwrap()
    }

    #[test]
    fn appends_cost_three_operations_with_a_turn() {
        let meter = KvMeter::default();
        let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
        let r = room("unit-append");
        assert_eq!(rooms.append(&r, draft("one")).unwrap().id, 1);
        assert!(
            meter.server_timing().starts_with("kv;desc=\"2 ops\""),
            "empty room: list + add"
        );
        let meter = KvMeter::default();
        let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
        assert_eq!(rooms.append(&r, draft("two")).unwrap().id, 2);
        assert!(
            meter.server_timing().starts_with("kv;desc=\"3 ops\""),
            "list + lookup + add"
        );
        let (newest, messages) = rooms.latest(&r, None, 50).unwrap();
        assert_eq!(
            (
                newest,
                messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>()
            ),
            (2, vec!["one", "two"])
        );
    }

    #[test]
    fn without_a_turn_an_append_reads_its_key_back() {
        let meter = KvMeter::default();
        let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
        let r = room("unit-no-turn");
        let _someone_elses = AppendTurn::take(&r);
        // Waits TURN_WAIT for the turn, then appends anyway: list + add + read-back.
        assert_eq!(rooms.append(&r, draft("late")).unwrap().id, 1);
        assert!(
            meter.server_timing().starts_with("kv;desc=\"3 ops\""),
            "{}",
            meter.server_timing()
        );
    }

    #[test]
    fn covering_windows() {
        assert_eq!(windows_covering(1, 120), vec![120, 70, 20]);
        assert_eq!(windows_covering(71, 120), vec![120]);
        assert_eq!(windows_covering(70, 120), vec![120, 70]);
        assert_eq!(windows_covering(1, 50), vec![50]);
        assert_eq!(windows_covering(0, 3), vec![3]);
        assert_eq!(windows_covering(5, 4), Vec::<MessageId>::new());
        assert_eq!(windows_covering(1, 0), Vec::<MessageId>::new());
        for (lo, hi) in [(1u64, 1u64), (1, 100), (3, 250), (51, 100), (101, 101)] {
            assert_eq!(
                windows_covering(lo, hi).len() as u64,
                (hi - lo + 1).div_ceil(WINDOW)
            );
        }
    }
}
