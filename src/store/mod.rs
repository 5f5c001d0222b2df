//! Rooms and messages in a Fastly KV Store.
//!
//! # Schema
//! One key per entry, claimed once with an `Add` (rewritten only to erase or edit what
//! it copied, or, for a batch's first key, to give it its ordinary window):
//!
//! ```text
//! m:<room>:<9999999999 - id, 10 digits>  →  {"writer": "<uuid>", "messages": [ … ]}
//! ```
//!
//! * **Newest first.** The id is stored inverted, so a prefix list in lexicographic
//!   order returns the room's newest message first: one list finds the head of a room,
//!   with no counter key that every post would rewrite. Fastly documents no list order,
//!   so `head` checks each page and falls back to a full listing when it is not in order.
//! * **Windows.** The value of message `n` holds messages `n-49 ..= n` (oldest first):
//!   the writer copies the previous window and appends. Any 50 consecutive messages are
//!   then one lookup away, so the newest 50 cost 2 operations (list + lookup), or none
//!   when this POP holds the head (`cached_head`), and a resume that missed `k` messages
//!   costs about `⌈k/50⌉` more.
//! * **Ids without a counter.** A writer reads the head `n` and inserts `n+1` with
//!   `InsertMode::Add` (insert-if-absent). Losing a race means someone else holds `n+1`;
//!   we back off and extend the winner's window (or re-read the head), within a budget
//!   of attempts and KV operations sized for Fastly's 20–50 ms round trips. Ids only
//!   ever extend an existing window (by one, or by a batch claimed whole with one `Add`:
//!   `rooms::batch`), so they are 1, 2, 3, … with no gaps and no duplicates.
//! * **Turns.** Posts to one room at one POP take turns (`turn::AppendTurn`, a lock made
//!   of the cache's request collapsing), so they queue instead of racing each other; the
//!   turn's holder appends the queued posts together (`queue`); and the `Add` decides
//!   between POPs. Viceroy's `Add` is check-then-write, not atomic: a
//!   post that appends without its turn (the wait timed out) reads the key back and
//!   compares the `writer` token, so a lost race is detected, not assumed away. (Reading
//!   back alone is not enough: under CPU load a writer preempted between Viceroy's check
//!   and write overwrote a post that had already read itself back as the winner.)
//! * **Retention.** Every key carries the configured TTL; expired keys vanish from
//!   lists and lookups, so an old room's history simply ages out.
//!
//! Files: `keys` (the message key layout), `window` (window arithmetic), `rooms`
//! (appends; `reads`; `batch`: group commit), `head` (finding a room's newest id whatever
//! the list order), `cached_head` (this POP's copy of each head, so reads mostly skip
//! KV), `queue` (posts waiting for a room's turn), `turn` (the per-POP append lock and
//! retry pauses), `local` (local-only KV latency, list-order, POP and fault switches),
//! `accounts` (people, passkeys, API keys and ceremonies, with their own key layout),
//! `sessions` (which of an account's sessions still stand), `memberships` (private
//! rooms' members), `replies` (quotes read as their originals are now), `reactions` (who reacted to a message, beside its windows:
//! `r:<room>:<inverted id>`), `presence` (each POP's
//! roster summary), `kv` (metered JSON records). Failures are
//! [`StoreError`]s; the HTTP layer decides what a client sees.

mod accounts;
mod cached_head;
mod head;
mod keys;
mod kv;
mod local;
mod memberships;
mod moderation;
pub mod presence;
mod queue;
mod reactions;
mod replies;
mod rooms;
mod sessions;
mod turn;
mod window;

pub use accounts::{
    Accounts, ApiKeyInfo, ApiKeyOwner, Blocked, Challenge, Credential, PasskeyRef, Purpose, User,
    name_key,
};
#[cfg(test)]
pub use cached_head::HEAD_TTL;
pub use local::{ListOrder, fail_kv, simulate, simulate_pop};
pub use memberships::Memberships;
pub use moderation::{Applied, CHANGE_OPS, Refusal};
pub use reactions::Reacted;
pub use rooms::{APPEND_OPS, Appended, Rooms, newest};
pub use window::{Change, Entry};

use fastly::kv_store::{KVStoreError, LookupResponse};
use serde::de::DeserializeOwned;

/// Name of the KV Store (fastly.toml `[local_server.kv_stores]` / `[setup.kv_stores]`).
pub const STORE_NAME: &str = "chat";

/// Why the store could not do what was asked. Every one is worth a retry by the client;
/// none is caused by bad input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// The KV Store is not linked to this service.
    NotLinked,
    /// A KV operation failed.
    Unavailable,
    /// Too many posts raced for the room's next id.
    Contended,
    /// The KV Store pushed back (429, or a 5xx-like failure) and kept doing so.
    Throttled,
    /// A listed key could not be read yet (replication lag on a real KV).
    Busy,
    /// A stored value did not decode.
    Unreadable,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoreError::NotLinked => "The message store is not available.",
            StoreError::Unavailable => "The message store is not available right now; try again.",
            StoreError::Contended => {
                "Too many messages are being posted to this room at once; try again."
            }
            StoreError::Throttled => {
                "The message store is overloaded right now; try again in a few seconds."
            }
            StoreError::Busy => "The room is busy; try again.",
            StoreError::Unreadable => "A stored message could not be read.",
        })
    }
}

/// A rate limit (429) or a failure at the store (`Unexpected`, the SDK's 5xx-like
/// errors) is back-pressure, worth a later retry; anything else is the store failing.
impl From<KVStoreError> for StoreError {
    fn from(e: KVStoreError) -> Self {
        log::error!("KV Store error: {e}");
        match e {
            KVStoreError::TooManyRequests | KVStoreError::Unexpected(_) => StoreError::Throttled,
            _ => StoreError::Unavailable,
        }
    }
}

/// A lookup's JSON value, `None` for a missing key.
fn decode<T: DeserializeOwned>(
    found: Result<LookupResponse, KVStoreError>,
) -> Result<Option<T>, StoreError> {
    match body_of(found)? {
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(unreadable),
        None => Ok(None),
    }
}

/// A lookup's body, `None` when the key is absent. Not generic, so each record type's
/// `decode` is only its JSON parse (this and `unreadable` once, not once per type).
#[inline(never)]
fn body_of(found: Result<LookupResponse, KVStoreError>) -> Result<Option<Vec<u8>>, StoreError> {
    match found {
        Ok(mut item) => Ok(Some(item.take_body_bytes())),
        Err(KVStoreError::ItemNotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[inline(never)]
fn unreadable(e: serde_json::Error) -> StoreError {
    log::error!("unreadable value in KV: {e}");
    StoreError::Unreadable
}
