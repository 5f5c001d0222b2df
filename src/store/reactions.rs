//! Reactions to a message: who reacted in their own record, the summary in the message.
//!
//! Everyone who reacted to a message is one record beside the room's windows
//! (`keys::reactors_key`), read and written back only if unchanged since: it decides
//! whether a reaction is new (one per person per emoji) and is what the summary is made
//! from. The summary then travels the way an edit does (`moderation`): a `reaction`
//! event takes the room's next id, and the windows that copied the message get the new
//! summary (only that field, so an edit meanwhile is not undone).
//!
//! Cost: the message's check (a list and two lookups), the record (a lookup and a
//! write), the append, and a lookup and a write for each window after the message that
//! copied it: 7 operations for a message just posted, 104 for one 48 entries back, 7
//! round trips either way (`scripts/bench --only round-trips`, README Performance). A reaction that changes nothing (the
//! same one again, taking back one never given) writes nothing and takes no id.

use fastly::kv_store::{InsertMode, KVStoreError};

use super::StoreError;
use super::keys::reactors_key;
use super::moderation::{Applied, Refusal};
use super::rooms::Rooms;
use super::turn::AppendTurn;
use super::window::{Change, Entry};
use crate::model::reaction::{Reactors, TooManyEmoji};
use crate::model::{Message, MessageId, Reaction, RoomId};

/// Tries at the reactors record when another POP rewrites it between our read and write.
const RECORD_ATTEMPTS: usize = 3;

/// What a reaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reacted {
    /// It changed the message's reactions: the event, and the message as it is now.
    Changed(Applied),
    /// It was there already (an add) or was not (a removal): the reactions as they are.
    Unchanged(Vec<Reaction>),
}

/// Why a reaction was not made (besides there being no such message).
pub type ReactRefusal = Refusal<TooManyEmoji>;

impl Rooms<'_> {
    /// Adds (`add`) or removes `name`'s `emoji` on message `id`, at the room's turn.
    pub fn react(
        &self,
        room: &RoomId,
        id: MessageId,
        name: &str,
        emoji: &str,
        add: bool,
    ) -> Result<Result<Reacted, ReactRefusal>, StoreError> {
        let turn = AppendTurn::take(room);
        let Some(message) = self.message(room, id)? else {
            return Ok(Err(Refusal::NotFound));
        };
        let mut attempts = 0;
        let reactors = loop {
            attempts += 1;
            let (mut reactors, generation) = self.reactors(room, id)?;
            let changed = match add {
                true => match reactors.add(emoji, name) {
                    Ok(changed) => changed,
                    Err(too_many) => return Ok(Err(Refusal::Refused(too_many))),
                },
                false => reactors.remove(emoji, name),
            };
            if !changed {
                return Ok(Ok(Reacted::Unchanged(reactors.summary())));
            }
            if self.write_reactors(room, id, &reactors, generation)? {
                break reactors;
            }
            if attempts == RECORD_ATTEMPTS {
                return Err(StoreError::Contended);
            }
        };
        let reactions = reactors.summary();
        let summary = reactions.clone();
        let rewrite = move |e: &Entry| match e {
            Entry::Message(m) if m.id == id => Some(Entry::Message(Message {
                reactions: summary.clone(),
                ..m.clone()
            })),
            _ => None,
        };
        let message = Message {
            reactions,
            ..message
        };
        let change = Change::React { target: id };
        let applied = self.apply_change(room, &turn, change, message, &rewrite)?;
        Ok(Ok(Reacted::Changed(applied)))
    }

    /// Message `id`'s reactors record and the generation it was read at (`None`: none).
    fn reactors(
        &self,
        room: &RoomId,
        id: MessageId,
    ) -> Result<(Reactors, Option<u64>), StoreError> {
        let found = self
            .meter
            .time(1, || self.kv.lookup(&reactors_key(room, id)));
        match found {
            Ok(mut item) => {
                let generation = item.current_generation();
                let line = String::from_utf8(item.take_body_bytes()).unwrap_or_default();
                Ok((Reactors::decode(&line), Some(generation)))
            }
            Err(KVStoreError::ItemNotFound) => Ok((Reactors::default(), None)),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the record if it is still at `generation` (absent, for `None`); `false`
    /// when another request wrote it first. It lives as long as the room's windows.
    fn write_reactors(
        &self,
        room: &RoomId,
        id: MessageId,
        reactors: &Reactors,
        generation: Option<u64>,
    ) -> Result<bool, StoreError> {
        let body = reactors.encode();
        let insert = self.kv.build_insert().time_to_live(self.ttl);
        let insert = match generation {
            Some(generation) => insert.if_generation_match(generation),
            None => insert.mode(InsertMode::Add),
        };
        let key = reactors_key(room, id);
        match self.meter.time(1, || insert.execute(&key, body)) {
            Ok(()) => Ok(true),
            Err(KVStoreError::ItemPreconditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
