//! Taking turns to append to a room, and pausing after a lost race.

use std::time::Duration;

use fastly::cache::core::{CacheKey, Transaction};

use crate::model::RoomId;

/// How long a post waits for its turn before appending without one.
const TURN_WAIT: Duration = Duration::from_secs(2);
/// Longest pause after a lost race: a little jitter stops racers retrying in lockstep.
/// Longer pauses starve the loser, since fresh posts attempt at once (measured: 20
/// posters × 25 with a 32 ms cap left 1–2% of posts losing 64 races in a row).
const BACKOFF_MAX_MS: u64 = 4;

/// A POP-local turn to append to one room, released when dropped.
///
/// Made of request collapsing: a transactional cache lookup of a key that is never
/// filled makes the first caller responsible for filling it and parks later callers
/// until it cancels, when exactly one of them is given the responsibility next. Nothing
/// depends on it for correctness: without a turn (timeout, cache error) a post still
/// appends, and the KV `Add` still arbitrates.
pub struct AppendTurn(Option<Transaction>);

impl AppendTurn {
    pub fn is_held(&self) -> bool {
        self.0.is_some()
    }

    pub fn take(room: &RoomId) -> Self {
        let key = CacheKey::from(format!("edge-chat:append-turn:{room}"));
        match Transaction::lookup(key).timeout(TURN_WAIT).execute() {
            Ok(tx) if tx.must_insert_or_update() => Self(Some(tx)),
            Ok(_) => Self(None),
            Err(e) => {
                log::warn!("room {room}: appending without a turn: {e}");
                Self(None)
            }
        }
    }
}

impl Drop for AppendTurn {
    fn drop(&mut self) {
        if let Some(tx) = &self.0 {
            // Hands the turn to the next waiting post, if any.
            let _ = tx.cancel_insert_or_update();
        }
    }
}

/// Sleeps a random time up to `2^attempt` ms, capped at `BACKOFF_MAX_MS`.
pub fn backoff(attempt: u32) {
    let cap_ms = (1u64 << attempt.min(6)).min(BACKOFF_MAX_MS);
    // The clock's nanoseconds are random enough to spread retries; no RNG needed.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    std::thread::sleep(Duration::from_micros(
        u64::from(nanos) % (cap_ms * 1000 + 1),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_are_granted_and_released() {
        let r = RoomId::parse("turns").unwrap();
        let first = AppendTurn::take(&r);
        assert!(first.is_held(), "an idle room's turn is free");
        drop(first);
        // Not released, this would wait TURN_WAIT and come back without a turn.
        assert!(AppendTurn::take(&r).is_held());
        assert!(AppendTurn::take(&RoomId::parse("other").unwrap()).is_held());
    }
}
