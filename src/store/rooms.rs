//! Reading and appending a room's entries (see `window` for what an entry is).
//!
//! Every read applies the room's pending clears (`window::PendingClear`) as it goes: a
//! clear's erasure of older windows runs in steps after the clear (`moderation::erasure`),
//! and until it is done the text is still stored. The clears travel in the head window,
//! so a read that does not include the head looks it up too (one more concurrent lookup).

use std::cell::RefCell;
use std::time::Duration;

use fastly::kv_store::{InsertMode, KVStore, KVStoreError, LookupResponse};

use super::cached_head::{self, Head};
use super::keys::message_key;
use super::kv::open_store;
use super::local;
use super::turn::{AppendTurn, after_lost_race, under_pressure};
use super::window::{Entry, PendingClear, Window};
use super::{StoreError, decode};
use crate::model::{MessageId, RoomId, parse_date};
use time::OffsetDateTime;

pub use batch::Appended;
pub use reads::newest;

use crate::timing::KvMeter;
use batch::carrier;

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
pub(super) const ATTEMPT_OPS: u32 = 4;
/// Tries when the store pushes back (429 `TooManyRequests`, or a 5xx-like `Unexpected`)
/// before giving up with `Throttled`: each waits `turn::under_pressure`, 0.25–1 s.
const PRESSURE_ATTEMPTS: u32 = 3;

/// Where an append attempt starts from.
enum Base {
    /// The room's head as listed now; a window already read saves its lookup if it is
    /// still the head.
    Listed(Option<Window>),
    /// A head believed without listing: this POP's copy (`cached_head`), which its own
    /// appends keep current, or the window a lost race's winner wrote. The id after it
    /// is the next to try.
    Assumed(Head),
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

    /// Appends the `size` entries `build` makes for the room's next ids (one, or a batch
    /// of queued posts: `batch`), applying `rewrite` to the entries the first window
    /// copies from the head, and returns what `build` returned with them.
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
        size: usize,
        build: impl Fn(MessageId) -> (Vec<Entry>, T),
        rewrite: Rewrite,
    ) -> Result<T, StoreError> {
        let writer = uuid::Uuid::new_v4().to_string();
        let spent_before = self.meter.ops();
        // With the turn, this POP's copy is as new as any append made here: only another
        // POP's append can have moved the head, and then the `Add` loses and we list.
        let mut base = match cached_head::read(room) {
            Some(head) if turn.is_held() && outlives_copy(&head, self.ttl) => Base::Assumed(head),
            _ => Base::Listed(None),
        };
        let mut pushed_back = 0;
        for attempt in 1..=APPEND_ATTEMPTS {
            // A batch also writes each entry's own window, and rewrites the first.
            if self.meter.ops() - spent_before + ATTEMPT_OPS + size as u32 - 1 > APPEND_OPS {
                break;
            }
            match self.attempt(room, turn, &writer, &base, &build, rewrite) {
                Ok(Outcome::Won((built, window))) => {
                    cached_head::store(room, &Some(window), turn.is_held());
                    return Ok(built);
                }
                Ok(Outcome::Lost(held)) => {
                    base = match (base, held) {
                        (Base::Listed(_), Some(winner)) => Base::Assumed(Some(winner)),
                        (_, held) => Base::Listed(held),
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

    /// One try at the next ids after `base`: at most `ATTEMPT_OPS` KV operations, plus
    /// one per entry after the first.
    ///
    /// A batch of `k` entries is claimed with one `Add`: the first id's key gets a window
    /// that carries the whole batch (49 entries before it, then all `k`), so anyone who
    /// reads it (another POP's append, a reader listing the room) sees the batch whole
    /// and continues after its last id. Then, in one more round trip, the first key gets
    /// its ordinary window and each later id its own (`batch::write_followers`).
    fn attempt<T>(
        &self,
        room: &RoomId,
        turn: &AppendTurn,
        writer: &str,
        base: &Base,
        build: &impl Fn(MessageId) -> (Vec<Entry>, T),
        rewrite: Rewrite,
    ) -> Result<Outcome<(T, Window)>, StoreError> {
        let listed;
        let head = match base {
            Base::Listed(known) => {
                listed = self.head_window(room, known.clone())?;
                listed.as_ref()
            }
            Base::Assumed(window) => window.as_ref(),
        };
        let id = head.map_or(0, Window::newest_id) + 1;
        let (entries, built) = build(id);
        let mut rest = entries.into_iter();
        let first = rest.next().expect("an append has an entry");
        let mut window = Window::extend(head, first, writer);
        window.rewrite(&|e: &Entry| if e.id() == id { None } else { rewrite(e) });
        let mut windows = vec![window];
        for entry in rest {
            let next = Window::extend(windows.last(), entry, writer);
            windows.push(next);
        }
        let body = serde_json::to_vec(&carrier(&windows)).expect("a window always serializes");
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
        if !(added && turn.is_held()) {
            let held = self.lookup(room, id)?;
            // A real KV's Add is atomic; reads may lag our own write by a moment.
            let ours = held.as_ref().map_or(added, |held| held.writer == writer);
            if !ours {
                return Ok(Outcome::Lost(held));
            }
        }
        self.write_followers(room, id, &windows);
        let newest = windows.pop().expect("an append has a window");
        Ok(Outcome::Won((built, newest)))
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

/// Whether the head a cached copy holds stays stored for longer than the copy lives: its
/// newest message is younger than the retention less `HEAD_TTL`. A head about to expire
/// (or expired since it was copied) is listed instead: extending it would carry expired
/// messages forward with a fresh lifetime.
fn outlives_copy(head: &Head, ttl: Duration) -> bool {
    let Some(window) = head else {
        return true;
    };
    let newest_date = window.messages.iter().rev().find_map(|e| match e {
        Entry::Message(m) => Some(m.date.as_str()),
        _ => None,
    });
    let age =
        |date| OffsetDateTime::now_utc() - parse_date(date).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    newest_date.is_some_and(|date| age(date) < ttl.saturating_sub(cached_head::HEAD_TTL))
}

mod batch;
pub(super) mod reads;
#[cfg(test)]
mod tests;
