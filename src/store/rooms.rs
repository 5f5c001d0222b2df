//! Reading and appending a room's entries (see `window` for what an entry is).
//!
//! Every read applies the room's pending clears (`window::PendingClear`) as it goes: a
//! clear's erasure of older windows runs in steps after the clear (`moderation::erasure`),
//! and until it is done the text is still stored. The clears travel in the head window,
//! so a read that does not include the head looks it up too (one more concurrent lookup).

use std::cell::RefCell;
use std::time::Duration;

use fastly::kv_store::{InsertMode, KVStore, KVStoreError, LookupResponse};
use time::OffsetDateTime;

use super::keys::{id_from_key, message_key, room_prefix};
use super::kv::open_store;
use super::turn::{AppendTurn, backoff};
use super::window::{Entry, PendingClear, Window, hide_cleared, windows_covering};
use super::{StoreError, decode};
use crate::model::{Draft, Message, MessageId, RoomId};
use crate::timing::KvMeter;

/// How many insert attempts a post makes before giving up. Each lost race means
/// another post succeeded, so this bounds work, not correctness.
const APPEND_ATTEMPTS: u32 = 256;

/// The rooms of one request: the KV handle plus the meter every operation reports to.
pub struct Rooms<'a> {
    pub(super) kv: KVStore,
    pub(super) meter: &'a KvMeter,
    pub(super) ttl: Duration,
    /// Each room's pending clears as this request read them, so a later lookup of a
    /// single message (an edit's target) does not read the head again.
    clears_seen: RefCell<Vec<(RoomId, Vec<PendingClear>)>>,
}

/// How an appended entry changes the entries it copies from the head before it (a
/// deletion erases its target there too); `None` leaves an entry as it is.
pub type Rewrite<'r> = &'r dyn Fn(&Entry) -> Option<Entry>;

impl<'a> Rooms<'a> {
    pub fn open(meter: &'a KvMeter, ttl: Duration) -> Result<Self, StoreError> {
        Ok(Self {
            kv: open_store()?,
            meter,
            ttl,
            clears_seen: RefCell::default(),
        })
    }

    /// The id of the room's newest entry, 0 for an empty room. One list operation.
    pub fn newest_id(&self, room: &RoomId) -> Result<MessageId, StoreError> {
        let prefix = room_prefix(room);
        let page = self.meter.time(1, || {
            self.kv.build_list().prefix(&prefix).limit(1).execute()
        })?;
        Ok(page
            .keys()
            .first()
            .and_then(|k| id_from_key(&prefix, k))
            .unwrap_or(0))
    }

    /// Up to `limit` newest messages with ids below `before` (if given), oldest first,
    /// and the room's newest id. Deleted messages and moderation events take ids too, so
    /// a page can hold fewer than `limit` messages.
    pub fn latest(
        &self,
        room: &RoomId,
        before: Option<MessageId>,
        limit: u64,
    ) -> Result<(MessageId, Vec<Message>), StoreError> {
        let newest = self.newest_id(room)?;
        let hi = before.map_or(newest, |b| newest.min(b.saturating_sub(1)));
        let lo = hi.saturating_sub(limit.saturating_sub(1)).max(1);
        let messages = self
            .entries_upto(room, lo, hi, newest)?
            .into_iter()
            .filter_map(|entry| match entry {
                Entry::Message(m) => Some(m),
                _ => None,
            })
            .collect();
        Ok((newest, messages))
    }

    /// The stored entries with ids in `lo ..= hi`, oldest first, as the room's pending
    /// clears leave them; expired ones are absent. Finds the room's head first (one list):
    /// callers that know it use [`Rooms::entries_upto`].
    pub fn entries(
        &self,
        room: &RoomId,
        lo: MessageId,
        hi: MessageId,
    ) -> Result<Vec<Entry>, StoreError> {
        if lo > hi {
            return Ok(Vec::new());
        }
        let newest = self.newest_id(room)?;
        self.entries_upto(room, lo, hi, newest)
    }

    /// As [`Rooms::entries`], given the room's newest id: reads the covering windows and,
    /// when `hi` is older than `newest`, the head window with them, all concurrently.
    pub fn entries_upto(
        &self,
        room: &RoomId,
        lo: MessageId,
        hi: MessageId,
        newest: MessageId,
    ) -> Result<Vec<Entry>, StoreError> {
        let mut ids = windows_covering(lo, hi);
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if newest > hi {
            ids.push(newest);
        }
        let windows = self.lookup_many(room, &ids, decode::<Window>)?;
        let clears = self.note_clears(room, &windows);
        let mut entries: Vec<Entry> = windows
            .into_iter()
            .flatten()
            .flat_map(|w| w.messages)
            .filter(|e| (lo..=hi).contains(&e.id()))
            .collect();
        entries.sort_by_key(Entry::id);
        entries.dedup_by_key(|e| e.id());
        hide_cleared(&mut entries, &clears);
        Ok(entries)
    }

    /// Message `id` as it is now, if it exists and was neither deleted nor cleared: one
    /// lookup when this request has read the room's head already, else a list and two.
    pub fn message(&self, room: &RoomId, id: MessageId) -> Result<Option<Message>, StoreError> {
        let known = self
            .clears_seen
            .borrow()
            .iter()
            .find(|(r, _)| r == room)
            .map(|(_, clears)| clears.clone());
        if let Some(clears) = known {
            return Ok(find_message(self.lookup(room, id)?, id, &clears));
        }
        let newest = self.newest_id(room)?;
        self.message_upto(room, id, newest)
    }

    /// As [`Rooms::message`], given the room's newest id: reads the message's window and
    /// the head's concurrently.
    pub(super) fn message_upto(
        &self,
        room: &RoomId,
        id: MessageId,
        newest: MessageId,
    ) -> Result<Option<Message>, StoreError> {
        let ids = if newest > id {
            vec![id, newest]
        } else {
            vec![id]
        };
        let windows = self.lookup_many(room, &ids, decode::<Window>)?;
        let clears = self.note_clears(room, &windows);
        Ok(find_message(
            windows.into_iter().next().flatten(),
            id,
            &clears,
        ))
    }

    /// Every pending clear the windows read carry (the head's are the newest), which this
    /// request then remembers for the room.
    fn note_clears(&self, room: &RoomId, windows: &[Option<Window>]) -> Vec<PendingClear> {
        let mut clears: Vec<PendingClear> = Vec::new();
        for clear in windows.iter().flatten().flat_map(|w| &w.clears) {
            if !clears.contains(clear) {
                clears.push(clear.clone());
            }
        }
        let mut seen = self.clears_seen.borrow_mut();
        seen.retain(|(r, _)| r != room);
        seen.push((room.clone(), clears.clone()));
        clears
    }

    /// Stores `draft` as the room's next message and returns it with its id and date.
    pub fn append(&self, room: &RoomId, draft: Draft) -> Result<Message, StoreError> {
        let turn = AppendTurn::take(room);
        let now = OffsetDateTime::now_utc();
        self.append_entry(
            room,
            &turn,
            |id| {
                let message = draft.clone().into_message(id, now);
                (Entry::Message(message.clone()), message)
            },
            &|_| None,
        )
    }

    /// Appends the entry `build` makes for the room's next id, applying `rewrite` to the
    /// entries its window copies from the head, and returns what `build` returned with it.
    pub(super) fn append_entry<T>(
        &self,
        room: &RoomId,
        turn: &AppendTurn,
        build: impl Fn(MessageId) -> (Entry, T),
        rewrite: Rewrite,
    ) -> Result<T, StoreError> {
        let writer = uuid::Uuid::new_v4().to_string();
        let mut base = self.head_window(room, None)?;
        for attempt in 0..APPEND_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt);
            }
            let id = base.as_ref().map_or(0, Window::newest_id) + 1;
            let (entry, built) = build(id);
            let mut window = Window::extend(base.as_ref(), entry, &writer);
            window.rewrite(&|e: &Entry| if e.id() == id { None } else { rewrite(e) });
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
                Err(e) => return Err(e.into()),
            };
            // With our turn, no other post here is adding this key, and other POPs'
            // Adds are atomic: success is final. Without one, Viceroy's check-then-write
            // Add may have let another post in, so read back what the key holds.
            if added && turn.is_held() {
                return Ok(built);
            }
            let held = self.lookup(room, id)?;
            match &held {
                Some(held) if held.writer == writer => return Ok(built),
                // A real KV's Add is atomic; reads may lag our own write by a moment.
                None if added => return Ok(built),
                _ => {}
            }
            // Lost: others may have posted more while we raced, so start again from
            // the room's head rather than one past the winner.
            base = self.head_window(room, held)?;
        }
        log::warn!("room {room}: gave up after {APPEND_ATTEMPTS} lost races");
        Err(StoreError::Contended)
    }

    /// The newest entry's window, or `None` for an empty room. `known` is a window
    /// already read, which saves the lookup when it is still the newest.
    fn head_window(
        &self,
        room: &RoomId,
        known: Option<Window>,
    ) -> Result<Option<Window>, StoreError> {
        let newest = self.newest_id(room)?;
        if newest == 0 {
            return Ok(None);
        }
        if let Some(window) = known.filter(|w| w.newest_id() == newest) {
            return Ok(Some(window));
        }
        self.lookup(room, newest)?.map(Some).ok_or(StoreError::Busy)
    }

    pub(super) fn lookup(
        &self,
        room: &RoomId,
        id: MessageId,
    ) -> Result<Option<Window>, StoreError> {
        let found = self
            .meter
            .time(1, || self.kv.lookup(&message_key(room, id)));
        decode(found)
    }

    /// Concurrent lookups of windows `ids`: all are started before any is awaited, then
    /// `read` makes each answer a value.
    pub(super) fn lookup_many<T>(
        &self,
        room: &RoomId,
        ids: &[MessageId],
        read: impl Fn(Result<LookupResponse, KVStoreError>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.meter.time(ids.len() as u32, || {
            let pending = ids
                .iter()
                .map(|&id| self.kv.build_lookup().execute_async(&message_key(room, id)))
                .collect::<Result<Vec<_>, _>>()?;
            pending
                .into_iter()
                .map(|handle| read(self.kv.pending_lookup_wait(handle)))
                .collect()
        })
    }
}

/// Message `id` as its own window holds it, unless deleted or covered by one of `clears`.
fn find_message(window: Option<Window>, id: MessageId, clears: &[PendingClear]) -> Option<Message> {
    window
        .into_iter()
        .flat_map(|w| w.messages)
        .find_map(|entry| match entry {
            Entry::Message(m) if m.id == id => Some(m),
            _ => None,
        })
        .filter(|m| !clears.iter().any(|c| c.removes(m)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::room;

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
}
