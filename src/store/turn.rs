//! Taking turns to append to a room, and pausing after a lost race.

use std::time::Duration;

use fastly::cache::core::{CacheKey, Transaction};

use super::local::{clock_nanos, pop_key};
use crate::model::RoomId;

/// How long a post waits for its turn before appending without one. A turn is held
/// for about 3 KV operations (list, lookup, `Add`): ~90 ms at Fastly's 30 ms, so 20
/// posters at once queue ~1.8 s, and a machine under load makes it longer. Past the
/// wait, posts race each other's `Add`s, each loss costing 2–4 more operations: at 2 s,
/// 20 posters × 5 posts at 30 ms/op spent 7.1 operations per post (max 46) and 1 in 100
/// was refused; 4 s keeps twice that queue in line and a post's wall time far below
/// the 60 s limit.
pub const TURN_WAIT: Duration = Duration::from_secs(4);
/// First pause after a lost race (the cap of its jitter), doubling with each loss.
const BACKOFF_FIRST: Duration = Duration::from_millis(4);
/// Longest pause after a lost race: about one attempt at Fastly's KV latency (2–4
/// operations at 20–50 ms), so losers spread out without idling long. Fresh posts at
/// this POP wait for the turn meanwhile, so a pausing loser is not starved by them.
pub const BACKOFF_MAX: Duration = Duration::from_millis(100);
/// First pause when the store pushes back (doubling, plus up to as much at random).
const PRESSURE_PAUSE: Duration = Duration::from_millis(250);

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

    /// Waits up to `TURN_WAIT` for the room's turn.
    pub fn take(room: &RoomId) -> Self {
        Self::take_within(room, TURN_WAIT)
    }

    /// Waits up to `wait` for the room's turn; not held if it did not come.
    pub fn take_within(room: &RoomId, wait: Duration) -> Self {
        let key = CacheKey::from(pop_key(&format!("append-turn:{room}")));
        match Transaction::lookup(key).timeout(wait).execute() {
            Ok(tx) if tx.must_insert_or_update() => Self(Some(tx)),
            Ok(_) => Self(None),
            Err(e) => {
                log::warn!("room {room}: no turn: {e}");
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

/// Pauses after the `attempt`th lost race: a random time up to `BACKOFF_FIRST · 2^(attempt-1)`,
/// capped at `BACKOFF_MAX` ("full jitter": racers that lost together do not retry in
/// lockstep).
pub fn after_lost_race(attempt: u32) {
    std::thread::sleep(jitter(lost_race_cap(attempt), clock_nanos()));
}

/// Pauses before the `round`th retry after the store pushed back (429 or 5xx-like):
/// `PRESSURE_PAUSE · 2^(round-1)` plus as much again at random. A rate limit wants
/// fewer requests, not a quick retry of the same one.
pub fn under_pressure(round: u32) {
    let floor = pressure_floor(round);
    std::thread::sleep(floor + jitter(floor, clock_nanos()));
}

fn lost_race_cap(attempt: u32) -> Duration {
    BACKOFF_FIRST
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(BACKOFF_MAX)
}

fn pressure_floor(round: u32) -> Duration {
    PRESSURE_PAUSE.saturating_mul(1 << round.saturating_sub(1).min(4))
}

/// A time in `0 ..= cap` picked by `nanos`.
fn jitter(cap: Duration, nanos: u64) -> Duration {
    Duration::from_micros(nanos % (cap.as_micros() as u64 + 1))
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

    #[test]
    fn pauses_grow_exponentially_within_bounds() {
        let ms = |d: Duration| d.as_millis();
        let caps: Vec<u128> = (1..=8).map(|a| ms(lost_race_cap(a))).collect();
        assert_eq!(caps, [4, 8, 16, 32, 64, 100, 100, 100]);
        assert_eq!(lost_race_cap(u32::MAX), BACKOFF_MAX);
        for nanos in [0, 1, 999, 4_000_000, 123_456_789, u64::MAX] {
            assert!(jitter(lost_race_cap(3), nanos) <= Duration::from_millis(16));
            assert!(jitter(BACKOFF_MAX, nanos) <= BACKOFF_MAX);
        }
        // Jitter spreads: different clocks, different pauses.
        let spread: std::collections::HashSet<_> = (0..50u64)
            .map(|n| jitter(BACKOFF_MAX, n * 7_919_000))
            .collect();
        assert!(spread.len() > 40, "{spread:?}");
        let floors: Vec<u128> = (1..=3).map(|r| ms(pressure_floor(r))).collect();
        assert_eq!(
            floors,
            [250, 500, 1000],
            "a push-back pauses far longer than a lost race"
        );
    }
}
