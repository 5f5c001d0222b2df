//! Deleting, editing and clearing: moderation events in a room's own sequence.
//!
//! Each change appends an event entry (so it takes the next id and reaches subscribers
//! in order, and a resuming client receives it), then rewrites every window that copied
//! the entries it changes. A message sits in up to 50 windows (`window`), so a deletion
//! costs an append plus up to 50 rewrites: once it returns, its text is in no KV value.
//!
//! Rewrites read each window and write it back only if nobody wrote it meanwhile
//! (`if_generation_match`), retrying on a conflict: two moderators at two POPs cannot
//! restore each other's erasures. At one POP, changes to a room also take the room's
//! append turn, so they do not even conflict.

use fastly::kv_store::{KVStoreError, PendingInsertHandle};

use super::keys::{id_from_key, message_key, room_prefix};
use super::rooms::{Rewrite, Rooms};
use super::turn::AppendTurn;
use super::window::{Change, Entry, WINDOW, Window};
use super::{StoreError, decode};
use crate::model::{Message, MessageId, RoomId, format_date};

/// Rewrites of one window retried after losing to a concurrent writer.
const REWRITE_ATTEMPTS: usize = 5;
/// Windows read or written at once.
const BATCH: usize = 50;
/// Keys per list page when a clear walks a whole room.
const LIST_PAGE: u32 = 1000;

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
            let erase = move |e: &Entry| (e.id() == id).then(|| Entry::gone(id));
            (Change::Delete { target: id }, message, Box::new(erase))
        })
    }

    /// Replaces message `id`'s text, if `allowed` agrees once it has seen the message.
    pub fn edit<R>(
        &self,
        room: &RoomId,
        id: MessageId,
        text: String,
        now: time::OffsetDateTime,
        allowed: impl FnOnce(&Message) -> Result<(), R>,
    ) -> Result<Result<Applied, Refusal<R>>, StoreError> {
        self.change_one(room, id, allowed, |message| {
            let edited = Message {
                text,
                edited: Some(format_date(now)),
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
    /// clear event. Walks the whole room: one list per 1,000 keys, one lookup per
    /// window, one write per window that held something to remove.
    pub fn clear(&self, room: &RoomId, from: Option<&str>) -> Result<Applied, StoreError> {
        let turn = AppendTurn::take(room);
        let removes = |e: &Entry| match e {
            Entry::Message(m) => from.is_none_or(|name| m.from == name),
            Entry::Event { .. } | Entry::Gone { .. } => false,
        };
        let erase = |e: &Entry| removes(e).then(|| Entry::gone(e.id()));
        let change = Change::Clear {
            from: from.map(str::to_owned),
        };
        let event_id = self.append_event(room, &turn, &change, &erase)?;
        let windows = self.window_ids(room, event_id)?;
        let mut changed = Vec::new();
        for batch in windows.chunks(BATCH) {
            changed.extend(self.rewrite_windows(room, batch, &erase, &removes)?);
        }
        changed.sort_by_key(|m| m.id);
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
        if id == 0 || id > self.newest_id(room)? {
            return Ok(Err(Refusal::NotFound));
        }
        Ok(match self.message(room, id)? {
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
        let rewrite: Rewrite = &*rewrite;
        let target = message.id;
        let event_id = self.append_event(room, &turn, &change, rewrite)?;
        // Windows target ..= target + 49 hold it; the event's own was written above.
        let last = (target + WINDOW - 1).min(event_id - 1);
        let windows: Vec<MessageId> = (target..=last).collect();
        for batch in windows.chunks(BATCH) {
            self.rewrite_windows(room, batch, rewrite, &|e: &Entry| e.id() == target)?;
        }
        Ok(Ok(Applied {
            event_id,
            change,
            changed: vec![message],
        }))
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
            (Entry::Event { id, change }, id)
        };
        self.append_entry(room, turn, event, rewrite)
    }

    /// Rewrites the windows `ids` with `rewrite`, each only if unchanged since it was
    /// read (retrying conflicts). Returns the messages `affected` picked out of them.
    fn rewrite_windows(
        &self,
        room: &RoomId,
        ids: &[MessageId],
        rewrite: Rewrite,
        affected: &dyn Fn(&Entry) -> bool,
    ) -> Result<Vec<Message>, StoreError> {
        let mut found = Vec::new();
        let mut pending: Vec<MessageId> = ids.to_vec();
        for _ in 0..REWRITE_ATTEMPTS {
            let windows = self.read_versioned(room, &pending)?;
            let mut writes = Vec::new();
            for (id, window) in pending.iter().zip(windows) {
                let Some((mut window, generation)) = window else {
                    continue; // expired: nothing left to erase
                };
                found.extend(window.messages.iter().filter(|e| affected(e)).filter_map(
                    |e| match e {
                        Entry::Message(m) => Some(m.clone()),
                        _ => None,
                    },
                ));
                if window.rewrite(&|e: &Entry| rewrite(e)) {
                    writes.push((
                        *id,
                        self.write_if_unchanged(room, *id, &window, generation)?,
                    ));
                }
            }
            pending = self.conflicts(writes)?;
            if pending.is_empty() {
                return Ok(found);
            }
        }
        log::error!("room {room}: windows {pending:?} kept changing under a rewrite");
        Err(StoreError::Contended)
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

    /// Waits for the writes; the ids whose window changed under them, to do again.
    fn conflicts(
        &self,
        writes: Vec<(MessageId, PendingInsertHandle)>,
    ) -> Result<Vec<MessageId>, StoreError> {
        self.meter.time(writes.len() as u32, || {
            let mut again = Vec::new();
            for (id, handle) in writes {
                match self.kv.pending_insert_wait(handle) {
                    Ok(()) => {}
                    Err(KVStoreError::ItemPreconditionFailed) => again.push(id),
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(again)
        })
    }

    /// Every stored window of the room before `before`, newest first.
    fn window_ids(&self, room: &RoomId, before: MessageId) -> Result<Vec<MessageId>, StoreError> {
        let prefix = room_prefix(room);
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut list = self.kv.build_list().prefix(&prefix).limit(LIST_PAGE);
            if let Some(cursor) = &cursor {
                list = list.cursor(cursor);
            }
            let page = self.meter.time(1, || list.execute())?;
            ids.extend(
                page.keys()
                    .iter()
                    .filter_map(|k| id_from_key(&prefix, k))
                    .filter(|&id| id < before),
            );
            match page.next_cursor() {
                Some(next) if page.keys().len() as u32 == LIST_PAGE => cursor = Some(next),
                _ => return Ok(ids),
            }
        }
    }
}

#[cfg(test)]
mod tests;
