//! Appending posts together (group commit): the queue's side is `store::queue`; here
//! the KV side, a batch claimed by one `Add` and then spread over its ids' keys.

use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::super::queue::{self, Outcome, Queued};
use super::super::turn::{AppendTurn, TURN_WAIT};
use super::super::window::{Entry, Window};
use super::super::{StoreError, keys::message_key};
use super::{APPEND_OPS, ATTEMPT_OPS, Rooms};
use crate::model::{Draft, Message, MessageId, RoomId};

/// How long a queued post waits for the turn at a time before looking whether a batch
/// has appended its draft: how late it may learn that it has (a few cache reads a spell).
const TURN_POLL: Duration = Duration::from_millis(20);

/// How long a post tries for a turn nobody holds before it queues (the cache's answer
/// for a free turn is immediate).
const IDLE_WAIT: Duration = Duration::from_millis(1);

/// What a post's append did.
#[derive(Debug)]
pub struct Appended {
    /// The post's own message, as stored.
    pub message: Message,
    /// Every message this request appended, oldest first (the post's own among them,
    /// unless another post's request appended it): this request publishes them.
    pub appended: Vec<Message>,
}

/// The window that claims a batch: the first entry's window with the rest of the batch
/// after it (the last window's entries from the first id on).
pub(super) fn carrier(windows: &[Window]) -> Window {
    let mut first = windows[0].clone();
    if let Some(last) = windows.last().filter(|_| windows.len() > 1) {
        let from = first.newest_id();
        first
            .messages
            .extend(last.messages.iter().filter(|e| e.id() > from).cloned());
        first.clears = last.clears.clone();
    }
    first
}

impl Rooms<'_> {
    /// Stores `draft` as the room's next message.
    ///
    /// A post that finds the room's turn free appends alone. Otherwise the draft is
    /// queued (`queue`) and the post waits for the turn. When the turn comes, another
    /// post may already have appended it (its outcome is there); otherwise this post
    /// appends what is queued, its own draft among them, and settles the others'
    /// outcomes. Without the queue (a cache failure) or without a turn (the
    /// wait timed out with the draft still queued) it appends alone, as before.
    pub fn append(&self, room: &RoomId, draft: Draft) -> Result<Appended, StoreError> {
        // An idle room's turn is taken at once: nothing to batch with, so no queueing.
        let idle = AppendTurn::take_within(room, IDLE_WAIT);
        if idle.is_held() {
            return self.append_alone(room, &idle, draft);
        }
        drop(idle);
        let mine = Queued::new(&draft);
        if !queue::enqueue(room, &mine) {
            return self.append_alone(room, &AppendTurn::take(room), draft);
        }
        // Waits for the turn in short spells, looking for its outcome between them: a
        // post some batch appended answers at once instead of waiting for its turn only
        // to hand it on.
        let deadline = Instant::now() + TURN_WAIT;
        let turn = loop {
            let turn = AppendTurn::take_within(room, TURN_POLL);
            if let Some(outcome) = queue::outcome(&mine.ticket) {
                return carried(outcome, &mine);
            }
            if turn.is_held() || Instant::now() >= deadline {
                break turn;
            }
        };
        if !turn.is_held() {
            if queue::withdraw(room, &mine.ticket) {
                return self.append_alone(room, &turn, draft);
            }
            return carried(queue::await_outcome(&mine.ticket)?, &mine);
        }
        let spent_before = self.meter.ops();
        let mut appended = Vec::new();
        // A batch costs up to ATTEMPT_OPS + BATCH_MAX: two fit in an append's budget.
        while self.meter.ops() - spent_before + ATTEMPT_OPS + queue::BATCH_MAX as u32 <= APPEND_OPS
        {
            let batch = queue::take_batch(room);
            if batch.is_empty() {
                break;
            }
            let drafts: Vec<Draft> = batch.iter().map(Queued::draft).collect();
            let stored = self.append_drafts(room, &turn, &drafts);
            for (queued, result) in batch.iter().zip(settle(&batch, &stored)) {
                if queued.ticket == mine.ticket {
                    let message = result?;
                    appended.extend(stored.unwrap_or_default());
                    return Ok(Appended { message, appended });
                }
            }
            match stored {
                Ok(messages) => appended.extend(messages),
                Err(e) => {
                    // Ours was not in it: take it back, so no later batch stores a post
                    // whose client was told it failed.
                    queue::withdraw(room, &mine.ticket);
                    return Err(e);
                }
            }
        }
        // Ours is still queued behind others (or was taken and settled meanwhile).
        if queue::withdraw(room, &mine.ticket) {
            let alone = self.append_alone(room, &turn, draft)?;
            appended.extend(alone.appended);
            return Ok(Appended {
                message: alone.message,
                appended,
            });
        }
        drop(turn);
        let message = queue::await_outcome(&mine.ticket)?.message(&mine)?;
        Ok(Appended { message, appended })
    }

    /// Appends `draft` by itself: a batch of one.
    fn append_alone(
        &self,
        room: &RoomId,
        turn: &AppendTurn,
        draft: Draft,
    ) -> Result<Appended, StoreError> {
        let appended = self.append_drafts(room, turn, &[draft])?;
        Ok(Appended {
            message: appended[0].clone(),
            appended,
        })
    }

    /// Appends `drafts` in order at the room's next ids, all dated now.
    fn append_drafts(
        &self,
        room: &RoomId,
        turn: &AppendTurn,
        drafts: &[Draft],
    ) -> Result<Vec<Message>, StoreError> {
        let now = OffsetDateTime::now_utc();
        self.append_entry(
            room,
            turn,
            drafts.len(),
            |first| {
                let messages: Vec<Message> = (first..)
                    .zip(drafts)
                    .map(|(id, draft)| draft.clone().into_message(id, now))
                    .collect();
                let entries = messages.iter().cloned().map(Entry::Message).collect();
                (entries, messages)
            },
            &|_| None,
        )
    }

    /// After a batch's first id is claimed with its carrier window: gives the first key
    /// its ordinary window and every later id its own, concurrently (one round trip).
    /// A failure here loses nothing (the carrier holds every entry) and is logged; until
    /// a key is written, a read that needs that key's window finds it missing.
    pub(super) fn write_followers(&self, room: &RoomId, first: MessageId, windows: &[Window]) {
        if windows.len() < 2 {
            return;
        }
        let written = self.meter.time(windows.len() as u32, || {
            let handles = (first..)
                .zip(windows)
                .map(|(id, window)| {
                    let body = serde_json::to_vec(window).expect("a window always serializes");
                    let insert = self.kv.build_insert().time_to_live(self.ttl);
                    // The first key is ours already; the rest nobody else will try, since
                    // the carrier names them, but an `Add` never overwrites.
                    let insert = if id == first {
                        insert
                    } else {
                        insert.mode(fastly::kv_store::InsertMode::Add)
                    };
                    insert.execute_async(&message_key(room, id), body)
                })
                .collect::<Result<Vec<_>, _>>()?;
            handles
                .into_iter()
                .map(|handle| self.kv.pending_insert_wait(handle))
                .collect::<Result<Vec<()>, _>>()
        });
        if let Err(e) = written {
            log::error!("room {room}: batch from {first}: a window was not written: {e}");
        }
    }
}

/// Each queued draft's result, in batch order.
fn settle(
    batch: &[Queued],
    stored: &Result<Vec<Message>, StoreError>,
) -> Vec<Result<Message, StoreError>> {
    batch
        .iter()
        .enumerate()
        .map(|(n, queued)| {
            let outcome = match stored {
                Ok(messages) => Outcome::Stored {
                    id: messages[n].id,
                    date: messages[n].date.clone(),
                },
                Err(e) => Outcome::Failed(*e),
            };
            queue::settle(&queued.ticket, &outcome);
            outcome.message(queued)
        })
        .collect()
}

/// A post another post's request appended.
fn carried(outcome: Outcome, mine: &Queued) -> Result<Appended, StoreError> {
    Ok(Appended {
        message: outcome.message(mine)?,
        appended: Vec::new(),
    })
}
