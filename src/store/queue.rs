//! Posts waiting for a room's turn at this POP, so the turn's holder appends them
//! together (group commit).
//!
//! At Fastly's KV latency an append holds the room's turn for at least one round trip,
//! so one POP appends at most ~30 posts a second to a room if each goes alone. Instead a
//! post first queues its draft here, then waits for the turn; whoever holds the turn
//! takes every queued draft (up to `BATCH_MAX`, oldest first) and appends them in one
//! batch (`rooms::batch`), then leaves each waiting post its outcome: the id and date
//! it got, or the error that stopped the batch. A post that finds its outcome when its
//! turn comes answers with it at once; one whose draft is still queued appends the
//! queue itself.
//!
//! All of it is Core Cache state of this POP: the queue is one small value, changed
//! only under a short lock (request collapsing, as the turn is), and each outcome is a
//! value of its own. A draft is never in two batches: it leaves the queue under the lock,
//! either in a batch or withdrawn by its own post (which then appends alone).

use std::time::Duration;

use fastly::cache::core::{CacheKey, Transaction};

use super::StoreError;
use super::local::pop_key;
use super::window::{Entry, Window};
use crate::cache;
use crate::model::{Draft, Message, MessageId, ReplyTo, RoomId};

/// Most drafts one batch carries: its KV writes (one per entry, plus one) stay well
/// inside an append's budget (`rooms::APPEND_OPS`), and its first window (49 older
/// entries plus the batch) stays small.
pub const BATCH_MAX: usize = 24;
/// How long the queue and the outcomes live: far longer than any wait for a turn.
const KEEP: Duration = Duration::from_secs(60);
/// The longest wait for the queue's lock (it is held for a few cache operations).
const LOCK_WAIT: Duration = Duration::from_secs(1);
/// How long a post whose draft a holder took waits for its outcome, and how often it
/// looks.
const OUTCOME_WAIT: Duration = Duration::from_secs(10);
const OUTCOME_POLL: Duration = Duration::from_millis(5);

/// A draft waiting in the queue, with the ticket its post knows it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub ticket: String,
    pub from: String,
    pub text: String,
    pub mentions: Vec<String>,
    pub reply_to: Option<ReplyTo>,
}

impl Queued {
    pub fn new(draft: &Draft) -> Self {
        Self {
            ticket: uuid::Uuid::new_v4().to_string(),
            from: draft.from.clone(),
            text: draft.text.clone(),
            mentions: draft.mentions.clone(),
            reply_to: draft.reply_to.clone(),
        }
    }

    pub fn draft(&self) -> Draft {
        Draft {
            from: self.from.clone(),
            text: self.text.clone(),
            mentions: self.mentions.clone(),
            reply_to: self.reply_to.clone(),
        }
    }
}

/// What a batch did with one draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored as message `id`, dated `date`.
    Stored { id: MessageId, date: String },
    /// Not stored: the batch failed with this error.
    Failed(StoreError),
}

/// Every error a batch can fail with, in the order their codes number them.
const ERRORS: [StoreError; 6] = [
    StoreError::NotLinked,
    StoreError::Unavailable,
    StoreError::Contended,
    StoreError::Throttled,
    StoreError::Busy,
    StoreError::Unreadable,
];

impl Outcome {
    /// The queued draft's message, or the error the batch failed with.
    pub fn message(self, queued: &Queued) -> Result<Message, StoreError> {
        match self {
            Outcome::Stored { id, date } => Ok(Message {
                id,
                from: queued.from.clone(),
                date,
                text: queued.text.clone(),
                edited: None,
                mentions: queued.mentions.clone(),
                reply_to: queued.reply_to.clone(),
                reactions: Vec::new(),
            }),
            Outcome::Failed(e) => Err(e),
        }
    }

    /// `<id> <date>`, or `failed <code>`: a few bytes, and no serde code of its own.
    fn encode(&self) -> String {
        match self {
            Outcome::Stored { id, date } => format!("{id} {date}"),
            Outcome::Failed(e) => {
                let code = ERRORS.iter().position(|x| x == e).unwrap_or(1);
                format!("failed {code}")
            }
        }
    }

    fn decode(text: &str) -> Option<Self> {
        let (first, second) = text.split_once(' ')?;
        if first == "failed" {
            return ERRORS
                .get(second.parse::<usize>().ok()?)
                .copied()
                .map(Outcome::Failed);
        }
        Some(Outcome::Stored {
            id: first.parse().ok()?,
            date: second.to_owned(),
        })
    }
}

/// The queue as stored: a window whose entries are the drafts (id 0, the ticket in the
/// date's place), which reuses the windows' serde code rather than adding more to the
/// package.
fn encode_queue(queue: &[Queued]) -> Vec<u8> {
    let messages = queue
        .iter()
        .map(|q| {
            Entry::Message(Message {
                id: 0,
                from: q.from.clone(),
                date: q.ticket.clone(),
                text: q.text.clone(),
                edited: None,
                mentions: q.mentions.clone(),
                reply_to: q.reply_to.clone(),
                reactions: Vec::new(),
            })
        })
        .collect();
    let window = Window {
        writer: String::new(),
        messages,
        clears: Vec::new(),
    };
    serde_json::to_vec(&window).expect("a window always serializes")
}

fn decode_queue(bytes: &[u8]) -> Vec<Queued> {
    let Ok(window) = serde_json::from_slice::<Window>(bytes) else {
        return Vec::new();
    };
    window
        .messages
        .into_iter()
        .filter_map(|entry| match entry {
            Entry::Message(m) => Some(Queued {
                ticket: m.date,
                from: m.from,
                text: m.text,
                mentions: m.mentions,
                reply_to: m.reply_to,
            }),
            _ => None,
        })
        .collect()
}

fn queue_key(room: &RoomId) -> String {
    pop_key(&format!("append-queue:{room}"))
}

fn outcome_key(ticket: &str) -> String {
    pop_key(&format!("appended:{ticket}"))
}

/// Runs `change` on the room's queue under its lock; `false` when the lock or the cache
/// is unavailable (the caller then appends alone).
fn with_queue(room: &RoomId, change: &mut dyn FnMut(&mut Vec<Queued>)) -> bool {
    let lock = CacheKey::from(pop_key(&format!("append-queue-lock:{room}")));
    let Ok(tx) = Transaction::lookup(lock).timeout(LOCK_WAIT).execute() else {
        return false;
    };
    if !tx.must_insert_or_update() {
        return false;
    }
    let key = queue_key(room);
    let mut queue = cache::read(&key).map_or_else(Vec::new, |bytes| decode_queue(&bytes));
    let before = queue.len();
    let first = queue.first().map(|q| q.ticket.clone());
    change(&mut queue);
    let unchanged = queue.len() == before && queue.first().map(|q| &q.ticket) == first.as_ref();
    let saved = unchanged
        || cache::write(&key, KEEP, &encode_queue(&queue))
            .inspect_err(|e| log::warn!("room {room}: append queue not saved: {e}"))
            .is_ok();
    let _ = tx.cancel_insert_or_update();
    saved
}

/// Adds `queued` at the end of the room's queue; `false` if it could not be.
pub fn enqueue(room: &RoomId, queued: &Queued) -> bool {
    with_queue(room, &mut |queue| queue.push(queued.clone()))
}

/// Takes up to `BATCH_MAX` drafts from the front of the queue.
pub fn take_batch(room: &RoomId) -> Vec<Queued> {
    let mut batch = Vec::new();
    let taken = with_queue(room, &mut |queue| {
        let n = queue.len().min(BATCH_MAX);
        batch = queue.drain(..n).collect();
    });
    if taken { batch } else { Vec::new() }
}

/// Takes `ticket`'s draft back out of the queue: `true` if it was still there (nobody
/// will append it now but its own post).
pub fn withdraw(room: &RoomId, ticket: &str) -> bool {
    let mut found = false;
    let saved = with_queue(room, &mut |queue| {
        let before = queue.len();
        queue.retain(|q| q.ticket != ticket);
        found = queue.len() < before;
    });
    saved && found
}

/// Leaves `ticket`'s outcome for its post.
pub fn settle(ticket: &str, outcome: &Outcome) {
    if let Err(e) = cache::write(&outcome_key(ticket), KEEP, outcome.encode().as_bytes()) {
        log::error!("outcome of queued post {ticket} not saved: {e}");
    }
}

/// `ticket`'s outcome, if a batch has settled it.
pub fn outcome(ticket: &str) -> Option<Outcome> {
    Outcome::decode(std::str::from_utf8(&cache::read(&outcome_key(ticket))?).ok()?)
}

/// Waits (up to `OUTCOME_WAIT`) for the outcome of a draft another post's batch took.
pub fn await_outcome(ticket: &str) -> Result<Outcome, StoreError> {
    let start = std::time::Instant::now();
    loop {
        if let Some(outcome) = outcome(ticket) {
            return Ok(outcome);
        }
        if start.elapsed() > OUTCOME_WAIT {
            log::error!("queued post {ticket}: taken into a batch that never settled it");
            return Err(StoreError::Busy);
        }
        std::thread::sleep(OUTCOME_POLL);
    }
}
