//! Reading a room: its head (this POP's copy, or KV), history pages, ranges of entries
//! and single messages.
//!
//! Every read starts from the room's head window, which holds the newest 50 entries and
//! the room's pending clears, so a read of the newest entries needs nothing else and an
//! older range adds one round of concurrent lookups. Where the head comes from is the
//! caller's choice: [`Rooms::head`] (this POP's copy, `cached_head`: usually no KV at
//! all), [`Rooms::head_reaching`] (the copy, unless it is behind what the caller has
//! seen) or [`Rooms::fresh_head`] (KV, now: a list and a lookup).

use super::super::cached_head::{self, Head};
use super::super::window::{Entry, PendingClear, Window, hide_cleared, windows_covering};
use super::super::{StoreError, decode};
use super::Rooms;
use crate::model::{Message, MessageId, RoomId};

/// The newest id a head holds (0 for an empty room).
pub fn newest(head: &Head) -> MessageId {
    head.as_ref().map_or(0, Window::newest_id)
}

impl Rooms<'_> {
    /// The room's head as this POP has it (fresh within `cached_head::HEAD_TTL`), read
    /// from KV and cached when it has none; concurrent readers share one read.
    pub fn head(&self, room: &RoomId) -> Result<Head, StoreError> {
        cached_head::read_or_fill(room, || self.head_from_kv(room))
    }

    /// The head as [`Rooms::head`] has it, unless that is older than `seen` (an id a
    /// client has, from another POP's publish): then the head read from KV now.
    pub fn head_reaching(
        &self,
        room: &RoomId,
        seen: Option<MessageId>,
    ) -> Result<Head, StoreError> {
        let head = self.head(room)?;
        if seen.is_some_and(|seen| seen > newest(&head)) {
            return self.fresh_head(room);
        }
        Ok(head)
    }

    /// The head read from KV now (a list and a lookup), which also refreshes this POP's
    /// copy: for reads that must not miss an entry another POP wrote a moment ago.
    pub fn fresh_head(&self, room: &RoomId) -> Result<Head, StoreError> {
        let head = self.head_from_kv(room)?;
        cached_head::store(room, &head, false);
        Ok(head)
    }

    fn head_from_kv(&self, room: &RoomId) -> Result<Head, StoreError> {
        let newest = self.newest_id(room)?;
        if newest == 0 {
            return Ok(None);
        }
        self.lookup(room, newest)?.map(Some).ok_or(StoreError::Busy)
    }

    /// Up to `limit` newest messages with ids below `before` (if given), oldest first,
    /// and the room's newest id, as this POP's head has them; replies quote their
    /// originals as they are now (`replies`). Deleted messages and
    /// moderation events take ids too, so a page can hold fewer than `limit` messages.
    pub fn latest(
        &self,
        room: &RoomId,
        before: Option<MessageId>,
        limit: u64,
    ) -> Result<(MessageId, Vec<Message>), StoreError> {
        let head = self.head(room)?;
        let newest = newest(&head);
        let hi = before.map_or(newest, |b| newest.min(b.saturating_sub(1)));
        let lo = hi.saturating_sub(limit.saturating_sub(1)).max(1);
        let entries = self.entries_from(room, lo, hi, &head)?;
        let mut messages: Vec<Message> = entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::Message(m) => Some(m.clone()),
                _ => None,
            })
            .collect();
        self.resolve_replies(room, &mut messages, &entries)?;
        Ok((newest, messages))
    }

    /// The stored entries with ids in `lo ..= hi`, oldest first, as the room's pending
    /// clears leave them; expired ones are absent. Reads this POP's head first: callers
    /// that hold one use [`Rooms::entries_from`].
    pub fn entries(
        &self,
        room: &RoomId,
        lo: MessageId,
        hi: MessageId,
    ) -> Result<Vec<Entry>, StoreError> {
        if lo > hi {
            return Ok(Vec::new());
        }
        let head = self.head(room)?;
        self.entries_from(room, lo, hi, &head)
    }

    /// As [`Rooms::entries`], given the room's head: entries the head window holds come
    /// from it; older ones from their covering windows, looked up concurrently.
    pub fn entries_from(
        &self,
        room: &RoomId,
        lo: MessageId,
        hi: MessageId,
        head: &Head,
    ) -> Result<Vec<Entry>, StoreError> {
        let lo = lo.max(1);
        if lo > hi {
            return Ok(Vec::new());
        }
        let head_from = head
            .as_ref()
            .and_then(|w| w.messages.first())
            .map_or(newest(head) + 1, Entry::id);
        let mut windows = vec![head.clone()];
        if lo < head_from {
            let older = windows_covering(lo, hi.min(head_from - 1));
            windows.extend(self.lookup_many(room, &older, decode::<Window>)?);
        }
        let clears = self.note_clears(room, &windows);
        // The head first: where an entry is in two windows, the head's copy is the newer,
        // so among equal ids the one met first stays (its position breaks the tie: the
        // unstable sort is one routine less in the wasm than a stable one).
        let mut found: Vec<(MessageId, usize, Entry)> = windows
            .into_iter()
            .flatten()
            .flat_map(|w| w.messages)
            .filter(|e| (lo..=hi).contains(&e.id()))
            .enumerate()
            .map(|(at, e)| (e.id(), at, e))
            .collect();
        found.sort_unstable_by_key(|&(id, at, _)| (id, at));
        found.dedup_by_key(|f| f.0);
        let mut entries: Vec<Entry> = found.into_iter().map(|f| f.2).collect();
        hide_cleared(&mut entries, &clears);
        Ok(entries)
    }

    /// Message `id` as it is now, if it exists and was neither deleted nor cleared: one
    /// lookup when this request has read the room's head already, else a list and two.
    /// Always KV, never this POP's copy: moderation acts on what it finds.
    pub fn message(&self, room: &RoomId, id: MessageId) -> Result<Option<Message>, StoreError> {
        if let Some(clears) = self.known_clears(room) {
            return Ok(find_message(self.lookup(room, id)?, id, &clears));
        }
        let newest = self.newest_id(room)?;
        self.message_upto(room, id, newest)
    }

    /// As [`Rooms::message`], given the room's newest id: reads the message's window and
    /// the head's concurrently.
    pub(in crate::store) fn message_upto(
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

    /// The room's pending clears as this request read them, if it has read its head.
    pub(in crate::store) fn known_clears(&self, room: &RoomId) -> Option<Vec<PendingClear>> {
        let seen = self.clears_seen.borrow();
        let (_, clears) = seen.iter().find(|(r, _)| r == room)?;
        Some(clears.clone())
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
}

/// Message `id` as its own window holds it, unless deleted or covered by one of `clears`.
pub(in crate::store) fn find_message(
    window: Option<Window>,
    id: MessageId,
    clears: &[PendingClear],
) -> Option<Message> {
    window
        .into_iter()
        .flat_map(|w| w.messages)
        .find_map(|entry| match entry {
            Entry::Message(m) if m.id == id => Some(m),
            _ => None,
        })
        .filter(|m| !clears.iter().any(|c| c.removes(m)))
}
