//! Deleting, editing and clearing: moderation events in a room's own sequence.
//!
//! Each change appends an event entry (so it takes the next id and reaches subscribers
//! in order, and a resuming client receives it). A deletion or an edit then rewrites
//! every window that copied its message: a message sits in up to 50 windows (`window`),
//! so it costs an append plus up to 50 rewrites, and once it returns its text is in no
//! KV value. A clear cannot do that in one request (a room has thousands of windows): it
//! appends its event, which every later window carries as a pending clear that reads
//! apply (`window::PendingClear`), and `erasure` removes the text in bounded steps.
//!
//! Rewrites read each window and write it back only if nobody wrote it meanwhile
//! (`if_generation_match`), retrying a conflict or a 429 after a short pause, within a
//! budget of KV operations: two moderators at two POPs cannot restore each other's
//! erasures. At one POP, changes to a room also take the room's append turn, so they do
//! not even conflict.

mod erasure;

use std::cell::RefCell;

use fastly::kv_store::{KVStoreError, PendingInsertHandle};

use super::keys::message_key;
use super::rooms::{Rewrite, Rooms};
use super::turn::{AppendTurn, after_lost_race};
use super::window::{Change, Entry, PendingClear, WINDOW, Window};
use super::{StoreError, decode};
use crate::budget::KV_MAX;
use crate::model::{Message, MessageId, ReplyTo, RoomId, format_date};

/// KV operations a deletion's or an edit's window rewrites may spend, retries included:
/// its other operations (two lists, three lookups, the append) take at most 10 more, so
/// the request stays within the project's 200. The first round costs 2 per window (at
/// most 100); a conflict costs 2 more for that window.
const REWRITE_BUDGET: u32 = 180;
/// KV operations a deletion's or an edit's other operations take at most (see above).
const AROUND_REWRITES: u32 = 10;
/// What a deletion or an edit needs when no rewrite conflicts: its first round (2 per
/// window, 50 windows) and the operations around it. What a request spends before one
/// (an edit's mention lookups) leaves it at least this: its retries then get what the
/// request's 200 have left, up to `REWRITE_BUDGET`.
pub const CHANGE_OPS: u32 = 2 * WINDOW as u32 + AROUND_REWRITES;

/// A `Rewrite` that owns what it writes (an edit's new message).
type OwnedRewrite = Box<dyn Fn(&Entry) -> Option<Entry>>;

/// Why a change to one message was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal<R> {
    /// No such message: never posted, deleted already, or expired.
    NotFound,
    /// The caller's own rule said no (not the author, too late to edit, …).
    Refused(R),
}

/// A change that was made: its event's id and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub event_id: MessageId,
    pub change: Change,
    /// Messages the change removed, or the message as edited.
    pub changed: Vec<Message>,
}

impl Rooms<'_> {
    /// Deletes message `id`, if `allowed` agrees once it has seen the message.
    pub fn delete<R>(
        &self,
        room: &RoomId,
        id: MessageId,
        allowed: impl FnOnce(&Message) -> Result<(), R>,
    ) -> Result<Result<Applied, Refusal<R>>, StoreError> {
        self.change_one(room, id, allowed, |message| {
            // The message goes; replies to it in the same windows lose their quote.
            let erase = move |e: &Entry| match e {
                _ if e.id() == id => Some(Entry::gone(id)),
                Entry::Message(m) if m.reply_to.as_ref().is_some_and(|r| r.id == id) => {
                    let reply_to = Some(ReplyTo::deleted(id));
                    Some(Entry::Message(Message {
                        reply_to,
                        ..m.clone()
                    }))
                }
                _ => None,
            };
            (Change::Delete { target: id }, message, Box::new(erase))
        })
    }

    /// Replaces message `id`'s text (and the names it mentions, found again for the new
    /// text), if `allowed` agrees once it has seen the message.
    pub fn edit<R>(
        &self,
        room: &RoomId,
        id: MessageId,
        (text, mentions): (String, Vec<String>),
        now: time::OffsetDateTime,
        allowed: impl FnOnce(&Message) -> Result<(), R>,
    ) -> Result<Result<Applied, Refusal<R>>, StoreError> {
        self.change_one(room, id, allowed, |message| {
            let edited = Message {
                text,
                edited: Some(format_date(now)),
                mentions,
                ..message
            };
            let copy = edited.clone();
            // Only a message is rewritten: an erasure that got there first stays erased.
            let replace = move |e: &Entry| match e {
                Entry::Message(m) if m.id == id => Some(Entry::Message(copy.clone())),
                _ => None,
            };
            (Change::Edit { target: id }, edited, Box::new(replace))
        })
    }

    /// Removes every message of the room (or only those `from` one person) before a
    /// clear event, at once for every read: appends the event, whose window (and every
    /// later one) carries it as a pending clear, erasing the messages that window copies
    /// from the head. The rest of the room is erased in steps (`erasure`). Costs what an
    /// append costs; `changed` is the messages removed from the head window.
    pub fn clear(&self, room: &RoomId, from: Option<&str>) -> Result<Applied, StoreError> {
        let turn = AppendTurn::take(room);
        let pending = PendingClear {
            id: MessageId::MAX,
            from: from.map(str::to_owned),
        };
        let removed = RefCell::new(Vec::new());
        let erase = |e: &Entry| match e {
            Entry::Message(m) if pending.removes(m) => {
                removed.borrow_mut().push(m.clone());
                Some(Entry::gone(m.id))
            }
            _ => None,
        };
        let change = Change::Clear {
            from: pending.from.clone(),
        };
        let event_id = self.append_event(room, &turn, &change, &erase)?;
        // An append retried after a lost race saw more of the head: every message any
        // attempt erased is before the clear, and removed by it.
        let mut changed = removed.into_inner();
        changed.sort_unstable_by_key(|m| m.id);
        changed.dedup_by_key(|m| m.id);
        Ok(Applied {
            event_id,
            change,
            changed,
        })
    }

    /// Message `id` as it is now, checked by `allowed`.
    fn current<R>(
        &self,
        room: &RoomId,
        id: MessageId,
        allowed: impl FnOnce(&Message) -> Result<(), R>,
    ) -> Result<Result<Message, Refusal<R>>, StoreError> {
        let newest = self.newest_id(room)?;
        if id == 0 || id > newest {
            return Ok(Err(Refusal::NotFound));
        }
        Ok(match self.message_upto(room, id, newest)? {
            None => Err(Refusal::NotFound),
            Some(message) => allowed(&message)
                .map(|()| message)
                .map_err(Refusal::Refused),
        })
    }

    /// Changes message `id` at the room's turn, once `allowed` has agreed: `make` gives
    /// the event, the message as it ends up, and how entries that copied it are rewritten.
    /// The event is appended, then the windows after the message that copied it rewritten.
    fn change_one<R>(
        &self,
        room: &RoomId,
        id: MessageId,
        allowed: impl FnOnce(&Message) -> Result<(), R>,
        make: impl FnOnce(Message) -> (Change, Message, OwnedRewrite),
    ) -> Result<Result<Applied, Refusal<R>>, StoreError> {
        let turn = AppendTurn::take(room);
        let message = match self.current(room, id, allowed)? {
            Ok(message) => message,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let (change, message, rewrite) = make(message);
        self.apply_change(room, &turn, change, message, &*rewrite)
            .map(Ok)
    }

    /// Appends `change` (to `message`, which ends up as given) at the room's `turn`,
    /// then rewrites the windows after the message that copied it with `rewrite`.
    pub(super) fn apply_change(
        &self,
        room: &RoomId,
        turn: &AppendTurn,
        change: Change,
        message: Message,
        rewrite: Rewrite,
    ) -> Result<Applied, StoreError> {
        let target = message.id;
        let event_id = self.append_event(room, turn, &change, rewrite)?;
        // Windows target ..= target + 49 hold it; the event's own was written above.
        let last = (target + WINDOW - 1).min(event_id - 1);
        let windows: Vec<MessageId> = (target..=last).collect();
        let budget = (KV_MAX - AROUND_REWRITES).saturating_sub(self.meter.ops());
        let budget = REWRITE_BUDGET.min(budget);
        let (_, left) = self.rewrite_windows(room, &windows, rewrite, budget)?;
        if !left.is_empty() {
            log::error!("room {room}: windows {left:?} kept changing under a rewrite");
            return Err(StoreError::Contended);
        }
        Ok(Applied {
            event_id,
            change,
            changed: vec![message],
        })
    }

    /// Appends `change` as the room's next event; returns its id.
    fn append_event(
        &self,
        room: &RoomId,
        turn: &AppendTurn,
        change: &Change,
        rewrite: Rewrite,
    ) -> Result<MessageId, StoreError> {
        let event = |id| {
            let change = change.clone();
            (vec![Entry::Event { id, change }], id)
        };
        self.append_entry(room, turn, 1, event, rewrite)
    }

    /// Rewrites the windows `ids` with `rewrite`, each only if unchanged since it was
    /// read. A conflict (someone wrote it meanwhile) or a 429 is tried again after a short
    /// pause while `budget` KV operations allow. Returns how many windows had their own
    /// entry rewritten, and the ids still not rewritten when the budget ran out.
    fn rewrite_windows(
        &self,
        room: &RoomId,
        ids: &[MessageId],
        rewrite: Rewrite,
        budget: u32,
    ) -> Result<(u64, Vec<MessageId>), StoreError> {
        let mut own = 0;
        let mut pending: Vec<MessageId> = ids.to_vec();
        let mut left = budget;
        let mut round = 0;
        while !pending.is_empty() && 2 * pending.len() as u32 <= left {
            if round > 0 {
                after_lost_race(round);
            }
            round += 1;
            let windows = self.read_versioned(room, &pending)?;
            left -= pending.len() as u32;
            let mut writes = Vec::new();
            for (&id, window) in pending.iter().zip(windows) {
                let Some((mut window, generation)) = window else {
                    continue; // expired: nothing left to erase
                };
                let before = window.messages.last().cloned();
                if window.rewrite(&|e: &Entry| rewrite(e)) {
                    let mine = window.messages.last() != before.as_ref();
                    let write = self.write_if_unchanged(room, id, &window, generation)?;
                    writes.push((id, write, mine));
                }
            }
            left -= writes.len() as u32;
            let (done, again) = self.conflicts(writes)?;
            own += done;
            pending = again;
        }
        Ok((own, pending))
    }

    /// Windows `ids` with the generation each was read at.
    fn read_versioned(
        &self,
        room: &RoomId,
        ids: &[MessageId],
    ) -> Result<Vec<Option<(Window, u64)>>, StoreError> {
        self.lookup_many(room, ids, |found| {
            let generation = found.as_ref().map_or(0, |f| f.current_generation());
            Ok(decode::<Window>(found)?.map(|w| (w, generation)))
        })
    }

    fn write_if_unchanged(
        &self,
        room: &RoomId,
        id: MessageId,
        window: &Window,
        generation: u64,
    ) -> Result<PendingInsertHandle, StoreError> {
        let body = serde_json::to_vec(window).expect("a window always serializes");
        Ok(self
            .kv
            .build_insert()
            .if_generation_match(generation)
            .time_to_live(self.ttl)
            .execute_async(&message_key(room, id), body)?)
    }

    /// Waits for the writes: how many that rewrote their own entry went through, and
    /// the ids whose window changed under them (or whose write got a 429), to do again.
    fn conflicts(
        &self,
        writes: Vec<(MessageId, PendingInsertHandle, bool)>,
    ) -> Result<(u64, Vec<MessageId>), StoreError> {
        self.meter.time(writes.len() as u32, || {
            let mut own = 0;
            let mut again = Vec::new();
            for (id, handle, mine) in writes {
                match self.kv.pending_insert_wait(handle) {
                    Ok(()) => own += u64::from(mine),
                    Err(KVStoreError::ItemPreconditionFailed | KVStoreError::TooManyRequests) => {
                        again.push(id)
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Ok((own, again))
        })
    }
}

#[cfg(test)]
mod tests;
