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

use super::keys::message_key;
use super::kv::open_store;
use super::local;
use super::turn::{AppendTurn, after_lost_race, under_pressure};
use super::window::{Entry, PendingClear, Window, hide_cleared, windows_covering};
use super::{StoreError, decode};
use crate::model::{Draft, Message, MessageId, RoomId};
use crate::timing::KvMeter;

/// Insert attempts an append makes before giving up with `Contended` (a 503 with
/// `Retry-After`). Each lost race means another post took the id, so this bounds work,
/// not correctness. Sized for Fastly's KV, a 20–50 ms round trip per operation: an
/// attempt is 2–4 operations plus its pause (up to `turn::BACKOFF_MAX`), so 16 lost
/// races cost at most ~3.5 s at 50 ms. (On Viceroy's zero-latency KV it was 256.)
const APPEND_ATTEMPTS: u32 = 16;
/// KV operations one append may spend. A request may make 200 in all (issue 17): a
/// post's auth reads are 0–1 and a moderation change's window rewrites up to 100, so
/// an append keeps well under half.
pub const APPEND_OPS: u32 = 64;
/// The most one attempt spends: list the head, read its window, `Add`, read back.
const ATTEMPT_OPS: u32 = 4;
/// Tries when the store pushes back (429 `TooManyRequests`, or a 5xx-like `Unexpected`)
/// before giving up with `Throttled`: each waits `turn::under_pressure`, 0.25–1 s.
const PRESSURE_ATTEMPTS: u32 = 3;

/// Where an append attempt starts from.
enum Base {
    /// The room's head as listed now; a window already read saves its lookup if it is
    /// still the head.
    Head(Option<Window>),
    /// The window a lost race's winner wrote: the id after it is the next to try.
    Winner(Window),
}

/// How an attempt ended: our entry is stored, or someone else holds the id (and what
/// they wrote, if it could be read).
enum Outcome<T> {
    Won(T),
    Lost(Option<Window>),
}

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
    ///
    /// Attempts until one `Add` wins, within `APPEND_ATTEMPTS` and `APPEND_OPS`: after a
    /// lost race, a jittered exponential pause (`turn::after_lost_race`) and the next
    /// attempt extends the winner's window (it holds the id we lost, so its successor is
    /// the next one to try) or, after losing that too, re-reads the head. A store that
    /// pushes back (429, or a 5xx-like failure) is not a lost race: a long pause
    /// (`turn::under_pressure`), at most `PRESSURE_ATTEMPTS` tries, then `Throttled`.
    pub(super) fn append_entry<T>(
        &self,
        room: &RoomId,
        turn: &AppendTurn,
        build: impl Fn(MessageId) -> (Entry, T),
        rewrite: Rewrite,
    ) -> Result<T, StoreError> {
        let writer = uuid::Uuid::new_v4().to_string();
        let spent_before = self.meter.ops();
        let mut base = Base::Head(None);
        let mut pushed_back = 0;
        for attempt in 1..=APPEND_ATTEMPTS {
            if self.meter.ops() - spent_before + ATTEMPT_OPS > APPEND_OPS {
                break;
            }
            match self.attempt(room, turn, &writer, &base, &build, rewrite) {
                Ok(Outcome::Won(built)) => return Ok(built),
                Ok(Outcome::Lost(held)) => {
                    base = match (base, held) {
                        (Base::Head(_), Some(winner)) => Base::Winner(winner),
                        (_, held) => Base::Head(held),
                    };
                    after_lost_race(attempt);
                }
                Err(StoreError::Throttled) if pushed_back + 1 < PRESSURE_ATTEMPTS => {
                    pushed_back += 1;
                    log::warn!("room {room}: KV pushed back; pausing (round {pushed_back})");
                    under_pressure(pushed_back);
                }
                Err(e) => return Err(e),
            }
        }
        log::warn!(
            "room {room}: no id won within {APPEND_ATTEMPTS} attempts or {APPEND_OPS} KV \
             operations"
        );
        Err(StoreError::Contended)
    }

    /// One try at the next id after `base`: at most `ATTEMPT_OPS` KV operations.
    fn attempt<T>(
        &self,
        room: &RoomId,
        turn: &AppendTurn,
        writer: &str,
        base: &Base,
        build: &impl Fn(MessageId) -> (Entry, T),
        rewrite: Rewrite,
    ) -> Result<Outcome<T>, StoreError> {
        let listed;
        let head = match base {
            Base::Head(known) => {
                listed = self.head_window(room, known.clone())?;
                listed.as_ref()
            }
            Base::Winner(window) => Some(window),
        };
        let id = head.map_or(0, Window::newest_id) + 1;
        let (entry, built) = build(id);
        let mut window = Window::extend(head, entry, writer);
        window.rewrite(&|e: &Entry| if e.id() == id { None } else { rewrite(e) });
        let body = serde_json::to_vec(&window).expect("a window always serializes");
        let key = message_key(room, id);
        let inserted = self.meter.time(1, || match local::faults::take() {
            Some(fault) => Err(fault),
            None => self
                .kv
                .build_insert()
                .mode(InsertMode::Add)
                .time_to_live(self.ttl)
                .execute(&key, body),
        });
        let added = match inserted {
            Ok(()) => true,
            Err(KVStoreError::ItemPreconditionFailed) => false,
            Err(e) => return Err(e.into()),
        };
        // With our turn, no other post here is adding this key, and other POPs'
        // Adds are atomic: success is final. Without one, Viceroy's check-then-write
        // Add may have let another post in, so read back what the key holds.
        if added && turn.is_held() {
            return Ok(Outcome::Won(built));
        }
        let held = self.lookup(room, id)?;
        Ok(match &held {
            Some(held) if held.writer == writer => Outcome::Won(built),
            // A real KV's Add is atomic; reads may lag our own write by a moment.
            None if added => Outcome::Won(built),
            _ => Outcome::Lost(held),
        })
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
mod tests;
