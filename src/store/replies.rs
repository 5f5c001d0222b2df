//! Replies: what a reply quotes of its original, taken at post time and read again
//! whenever the reply is read.
//!
//! A reply's entry stores its original's id, author and first 100 characters as they
//! were when it was posted (`model::ReplyTo`). An edit or a deletion of the original
//! does not go looking for its replies (they can be anywhere later in the room, and
//! each sits in 50 windows): reads put the original's current state in instead. A page
//! of history has most originals among the entries it read already, at no cost; the
//! others are one concurrent round of lookups of their own windows, at most
//! `REPLY_LOOKUPS_MAX` per read. Beyond that (a page answering more than that many
//! older messages) and for an original that has expired, the quote stays as posted.
//! A deletion also rewrites the quotes of the replies in the windows it rewrites anyway
//! (`moderation`), so most quotes of a deleted text leave KV with it.

use super::rooms::Rooms;
use super::rooms::reads::find_message;
use super::window::{Entry, Window};
use super::{StoreError, decode};
use crate::model::{Message, MessageId, ReplyTo, RoomId};

/// Originals one read looks up that it had not read already: each is one KV lookup
/// (concurrent), so a history page of 100 replies to 100 old messages costs at most
/// this many more operations than the page itself.
pub const REPLY_LOOKUPS_MAX: usize = 10;

impl Rooms<'_> {
    /// The quote of message `id` for a new reply, or `None` if the room has no such
    /// message (never posted, deleted, cleared, expired, or not a message). From this
    /// POP's copy of the head when it holds the message (no KV), else a KV read.
    pub fn quote(&self, room: &RoomId, id: MessageId) -> Result<Option<ReplyTo>, StoreError> {
        let head = self.head(room)?;
        let window = head.as_ref();
        let message = match window.and_then(|w| w.messages.iter().find(|e| e.id() == id)) {
            Some(Entry::Message(m)) => window
                .filter(|w| !w.clears.iter().any(|c| c.removes(m)))
                .map(|_| m.clone()),
            Some(_) => None,
            None => self.message(room, id)?,
        };
        Ok(message.map(|m| ReplyTo::quote(m.id, &m.from, &m.text)))
    }

    /// Puts each reply's original as it is now into `messages`: from `known` (entries
    /// this read has, as its clears leave them) or looked up (see the module doc).
    pub fn resolve_replies(
        &self,
        room: &RoomId,
        messages: &mut [Message],
        known: &[Entry],
    ) -> Result<(), StoreError> {
        let mut missing: Vec<MessageId> = Vec::new();
        for reply in messages.iter().filter_map(|m| m.reply_to.as_ref()) {
            if !known.iter().any(|e| e.id() == reply.id) && !missing.contains(&reply.id) {
                missing.push(reply.id);
            }
        }
        missing.truncate(REPLY_LOOKUPS_MAX);
        let windows = match missing.is_empty() {
            true => Vec::new(),
            false => self.lookup_many(room, &missing, decode::<Window>)?,
        };
        let clears = self.known_clears(room).unwrap_or_default();
        for reply in messages.iter_mut().filter_map(|m| m.reply_to.as_mut()) {
            let id = reply.id;
            // Some(original) where it was read: `None` inside if it is no message now.
            let original = match known.iter().find(|e| e.id() == id) {
                Some(Entry::Message(m)) => Some(Some(m.clone())),
                Some(_) => Some(None),
                None => missing
                    .iter()
                    .position(|&m| m == id)
                    .and_then(|at| windows[at].clone())
                    .map(|window| find_message(Some(window), id, &clears)),
            };
            match original {
                Some(Some(m)) => *reply = ReplyTo::quote(id, &m.from, &m.text),
                Some(None) => *reply = ReplyTo::deleted(id),
                None => {}
            }
        }
        Ok(())
    }
}
