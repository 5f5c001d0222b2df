//! Erasing what a clear removed, in bounded steps after it.
//!
//! A clear takes effect at once through the pending clears every window carries
//! (`window::PendingClear`), but its messages' text stays stored in every window before
//! it until rewritten, and a room has up to one window per entry: far more than one
//! request may touch (200 KV operations). So the room is walked in steps, each one page
//! of the room's key list: one list, one lookup per window on it, one conditional write
//! per window that held something to erase (`STEP_WINDOWS` windows, at most about 140
//! operations with a retry round). The walk's place (the list cursor) is kept in the
//! key `erase:<room>`, so a step is resumable by any request at any POP, and a step that
//! loses a race for that key just stops.
//!
//! One walk erases for every pending clear at once, up to the newest (`upto`); a clear
//! made during a walk starts it again from the top, which then mostly reads windows
//! already erased. When a walk is through, the clears it did are dropped from the head
//! window, so later windows stop carrying them; a post racing that rewrite may copy them
//! once more, and the next step drops them from the new head. No pending clear left in
//! the head is the observable end: no stored window holds their text.
//!
//! What drives the steps is the HTTP layer's (`http::api::erasure`); windows are only
//! rewritten here, never deleted, so every id stays readable (as `gone`) and a resuming
//! stream never mistakes a cleared range for an expired one.

use fastly::kv_store::{InsertMode, KVStoreError};
use serde_json::{Value, json};

use super::super::cached_head;
use super::super::keys::{erasure_key, id_from_key, message_key, room_prefix};
use super::super::window::{Entry, PendingClear, Window};
use super::super::{StoreError, decode};
use super::Rooms;
use crate::model::{MessageId, RoomId};

/// Windows one step erases: one list page. A step then costs 1 list + 3 lookups (head,
/// progress) + 32 lookups + at most 32 writes + 1 write, and a retry round for conflicts
/// at most 2 × 32 more (`STEP_BUDGET`): about 70 operations, 140 at worst.
pub const STEP_WINDOWS: u32 = 32;
/// KV operations one step's rewrites may spend, retries included.
const STEP_BUDGET: u32 = 2 * 2 * STEP_WINDOWS;
/// List pages one step may read past that hold only windows newer than the clears
/// (posted after them), before it stops and leaves the rest to the next step.
const SKIP_PAGES: u32 = 4;

/// Where a room's erasure stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    /// Clears the head window still carries: their text may still be stored.
    pub pending: Vec<MessageId>,
    /// Messages erased by walks of this room so far (each counted at its own window).
    pub erased: u64,
    /// Nothing pending: no window holds the text of any clear.
    pub done: bool,
}

/// The walk's place, stored at `erase:<room>` as
/// `{"upto","cursor"?,"walked","erased"}` (read and written through `serde_json::Value`,
/// which the package has anyway, rather than derived code).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Progress {
    /// The newest clear the walk erases for (with every clear pending before it).
    upto: MessageId,
    /// The list cursor after the last page erased; none: start from the newest key.
    cursor: Option<String>,
    /// Every window before `upto` has been erased.
    walked: bool,
    erased: u64,
}

impl Progress {
    fn from_json(value: &Value) -> Progress {
        Progress {
            upto: value["upto"].as_u64().unwrap_or(0),
            cursor: value["cursor"].as_str().map(str::to_owned),
            walked: value["walked"].as_bool().unwrap_or(false),
            erased: value["erased"].as_u64().unwrap_or(0),
        }
    }

    fn to_json(&self) -> Value {
        json!({"upto": self.upto, "cursor": self.cursor, "walked": self.walked, "erased": self.erased})
    }
}

impl Erasure {
    /// `{"pending": [clear ids], "erased": n, "done": bool}`
    pub fn to_json(&self) -> Value {
        json!({"pending": self.pending, "erased": self.erased, "done": self.done})
    }
}

impl Rooms<'_> {
    /// Where the room's erasure stands, without doing any: 1 list + 2 lookups.
    pub fn erasure(&self, room: &RoomId) -> Result<Erasure, StoreError> {
        let (head, progress) = self.head_and_progress(room)?;
        let erased = progress.map_or(0, |(p, _)| p.erased);
        Ok(report(head.as_ref().map(|(w, _)| w), erased))
    }

    /// Does the next bounded step of the room's erasure (nothing when none is pending)
    /// and says where it then stands, and whether another step should follow: not when
    /// it is done, nor when another step of the room ran at the same time (that one's
    /// request carries on).
    pub fn erase_step(&self, room: &RoomId) -> Result<(Erasure, bool), StoreError> {
        let (head, progress) = self.head_and_progress(room)?;
        let Some((head_id, mut head, head_generation)) = head.map(|(w, g)| (w.newest_id(), w, g))
        else {
            return Ok((report(None, 0), false));
        };
        let generation = progress.as_ref().map(|(_, g)| *g);
        let mut p = progress.map(|(p, _)| p).unwrap_or_default();
        let Some(upto) = head.clears.iter().map(|c| c.id).max() else {
            return Ok((report(Some(&head), p.erased), false));
        };
        if p.upto != upto {
            // New clears since the walk began (or none began): walk again from the top.
            p = Progress {
                upto,
                erased: p.erased,
                ..Progress::default()
            };
        }
        if p.walked {
            // Every window before `upto` is erased: the head need not carry the clears.
            let carried = std::mem::take(&mut head.clears);
            let write = self.write_if_unchanged(room, head_id, &head, head_generation)?;
            let (_, conflict) = self.conflicts(vec![(head_id, write, false)])?;
            if conflict.is_empty() {
                cached_head::store(room, &Some(head.clone()), false);
            } else {
                // Rewritten meanwhile (a deletion): the next step tries again.
                head.clears = carried;
            }
            // A post may have copied the head before this: the next step looks again.
            return Ok((report(Some(&head), p.erased), true));
        }
        let (ids, next) = self.walk_page(room, p.cursor.as_deref(), upto)?;
        let clears = head.clears.clone();
        let erase = move |e: &Entry| {
            clears
                .iter()
                .any(|c| c.covers(e))
                .then(|| Entry::gone(e.id()))
        };
        let (erased, left) = self.rewrite_windows(room, &ids, &erase, STEP_BUDGET)?;
        p.erased += erased;
        if left.is_empty() {
            p.walked = next.is_none();
            p.cursor = next;
        }
        let saved = self.save_progress(room, &p, generation)?;
        Ok((report(Some(&head), p.erased), saved))
    }

    /// The head window (none for an empty room) and the erasure's progress, each with its
    /// generation: one list, then both lookups at once.
    #[allow(clippy::type_complexity)]
    fn head_and_progress(
        &self,
        room: &RoomId,
    ) -> Result<(Option<(Window, u64)>, Option<(Progress, u64)>), StoreError> {
        let newest = self.newest_id(room)?;
        let progress_key = erasure_key(room);
        let (head, progress) = self.meter.time(2, || {
            let head = self
                .kv
                .build_lookup()
                .execute_async(&message_key(room, newest))?;
            let progress = self.kv.build_lookup().execute_async(&progress_key)?;
            Ok::<_, KVStoreError>((
                self.kv.pending_lookup_wait(head),
                self.kv.pending_lookup_wait(progress),
            ))
        })?;
        let head = versioned::<Window>(head).transpose()?;
        if newest > 0 && head.is_none() {
            // Listed but not readable yet (replication lag): the caller may try again.
            return Err(StoreError::Busy);
        }
        let progress = versioned::<Value>(progress).transpose()?;
        Ok((head, progress.map(|(v, g)| (Progress::from_json(&v), g))))
    }

    /// The ids on the next page of the room's keys that are windows before `upto`, and
    /// the cursor after that page (none when it was the last). Pages holding only newer
    /// windows are skipped, up to `SKIP_PAGES` of them.
    fn walk_page(
        &self,
        room: &RoomId,
        cursor: Option<&str>,
        upto: MessageId,
    ) -> Result<(Vec<MessageId>, Option<String>), StoreError> {
        let prefix = room_prefix(room);
        let mut cursor = cursor.map(str::to_owned);
        for _ in 0..=SKIP_PAGES {
            let mut list = self.kv.build_list().prefix(&prefix).limit(STEP_WINDOWS);
            if let Some(cursor) = &cursor {
                list = list.cursor(cursor);
            }
            let page = self.meter.time(1, || list.execute())?;
            let ids: Vec<MessageId> = page
                .keys()
                .iter()
                .filter_map(|k| id_from_key(&prefix, k))
                .filter(|&id| id < upto)
                .collect();
            let next = page
                .next_cursor()
                .filter(|_| page.keys().len() as u32 == STEP_WINDOWS);
            if !ids.is_empty() || next.is_none() {
                return Ok((ids, next));
            }
            cursor = next;
        }
        Ok((Vec::new(), cursor))
    }

    /// Stores the walk's place if nobody else did since it was read (`generation`; none:
    /// only if no progress is stored yet). `false` when someone did.
    fn save_progress(
        &self,
        room: &RoomId,
        progress: &Progress,
        generation: Option<u64>,
    ) -> Result<bool, StoreError> {
        let body = progress.to_json().to_string();
        let insert = self.kv.build_insert().time_to_live(self.ttl);
        let insert = match generation {
            Some(generation) => insert.if_generation_match(generation),
            None => insert.mode(InsertMode::Add),
        };
        match self
            .meter
            .time(1, || insert.execute(&erasure_key(room), body))
        {
            Ok(()) => Ok(true),
            Err(KVStoreError::ItemPreconditionFailed | KVStoreError::TooManyRequests) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// A lookup's value with its generation, `None` for a missing key.
fn versioned<T: serde::de::DeserializeOwned>(
    found: Result<fastly::kv_store::LookupResponse, KVStoreError>,
) -> Option<Result<(T, u64), StoreError>> {
    let generation = found.as_ref().map_or(0, |f| f.current_generation());
    decode::<T>(found)
        .transpose()
        .map(|v| v.map(|v| (v, generation)))
}

fn report(head: Option<&Window>, erased: u64) -> Erasure {
    let pending: Vec<MessageId> = head.map_or_else(Vec::new, |w| {
        w.clears.iter().map(|c: &PendingClear| c.id).collect()
    });
    Erasure {
        done: pending.is_empty(),
        pending,
        erased,
    }
}
