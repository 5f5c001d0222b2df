//! People at other POPs. Each POP's Core Cache holds only its own roster, and joins and
//! leaves are published to every POP, so a page already subscribed hears of everyone;
//! what a POP cannot know by itself is who is at *other* POPs when a page subscribes
//! there. So each POP leaves a summary of its roster in KV, `presence:{room}:{pop}`:
//!
//! * written by a heartbeat at most once per [`Timing::summary_min`] (30 s) when who is
//!   here changed, and at least every [`Timing::summary_every`] (60 s) while anyone is
//!   here, so a summary that stops being refreshed is known to be abandoned;
//! * read when a POP needs the whole room (a stream's opening roster, a heartbeat's
//!   answer): one list of `presence:{room}:` and a lookup per other POP, kept in this
//!   POP's Core Cache for [`Timing::remote_cache`] (30 s), so a room costs each POP at
//!   most one such read per 30 s whatever its size or traffic.
//!
//! A summary older than [`Timing::stale`] is ignored. So someone at POP A shows up in a
//! new subscriber's roster at POP B within about 90 s (30 s + 30 s + the next heartbeat),
//! plus KV's own replication; someone who left may be listed there as long again, and
//! the page's own heartbeat answers correct it (see static/presence.js).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Timing;
use crate::cache;
use crate::model::RoomId;
use crate::store;
use crate::timing::KvMeter;

/// Other POPs' summaries read for one room at most: a bound on the lookups of one read.
pub const POPS_MAX: usize = 20;

/// One POP's roster as other POPs see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pop: String,
    /// When it was written, seconds since the epoch.
    pub written: u64,
    pub here: Vec<String>,
}

/// Whether a POP whose summary was written at `summarized` writes it now.
pub fn due(summarized: u64, changed: bool, now: u64, timing: Timing) -> bool {
    let since = now.saturating_sub(summarized);
    since >= timing.summary_every() || (changed && since >= timing.summary_min())
}

/// The names of other POPs' summaries that are still fresh at `now`.
pub fn fresh_names(summaries: &[Summary], own_pop: &str, now: u64, timing: Timing) -> Vec<String> {
    summaries
        .iter()
        .filter(|s| s.pop != own_pop && s.written + timing.stale() > now)
        .flat_map(|s| s.here.iter().cloned())
        .collect()
}

/// The longest an opening waits for another's read of the summaries.
const FILL_WAIT: Duration = Duration::from_secs(2);

/// Writes this POP's summary (one KV write, `store::presence`). A failure only delays
/// other POPs' view.
pub fn write(room: &RoomId, summary: &Summary, timing: Timing, meter: &KvMeter) {
    let body = serde_json::to_vec(summary).expect("a summary always serializes");
    // KV's TTL is at least a minute; readers judge freshness by `written`.
    let ttl = Duration::from_secs(timing.stale().max(60));
    store::presence::write_summary(room, &summary.pop, body, ttl, meter);
}

/// Other POPs' summaries of `room`, from this POP's Core Cache or else from KV: one
/// reader fills the cache while others opening streams at the same moment wait for it.
pub fn read(room: &RoomId, own_pop: &str, timing: Timing, meter: &KvMeter) -> Vec<Summary> {
    let cache_key = format!("edge-chat:presence-others:{own_pop}:{room}");
    let ttl = Duration::from_secs(timing.remote_cache());
    let filled = cache::read_or_fill(&cache_key, ttl, FILL_WAIT, &mut || {
        let summaries = read_kv(room, own_pop, meter);
        Some(serde_json::to_vec(&summaries).expect("summaries always serialize"))
    });
    filled
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn read_kv(room: &RoomId, own_pop: &str, meter: &KvMeter) -> Vec<Summary> {
    store::presence::read_summaries(room, own_pop, POPS_MAX, meter)
        .iter()
        .filter_map(|body| serde_json::from_slice(body).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timing = Timing { heartbeat: 30 };

    fn summary(pop: &str, written: u64, here: &[&str]) -> Summary {
        Summary {
            pop: pop.into(),
            written,
            here: here.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn summaries_are_written_at_most_every_half_minute() {
        assert!(due(0, false, 1000, T), "never written");
        assert!(!due(1000, true, 1029, T), "changed, but too soon");
        assert!(due(1000, true, 1030, T));
        assert!(
            !due(1000, false, 1059, T),
            "unchanged: refreshed once a minute"
        );
        assert!(due(1000, false, 1060, T));
    }

    #[test]
    fn only_fresh_summaries_of_other_pops_count() {
        let all = [
            summary("A", 1000, &["ann"]),
            summary("B", 1000, &["bob"]),
            summary("C", 1000 - T.stale(), &["cy"]),
        ];
        assert_eq!(fresh_names(&all, "B", 1001, T), ["ann"]);
        assert_eq!(fresh_names(&all, "X", 1000, T), ["ann", "bob"]);
    }

    #[test]
    fn a_summary_written_at_one_pop_is_read_at_another() {
        let room = RoomId::parse("unit-remote").unwrap();
        let meter = KvMeter::default();
        write(&room, &summary("A", 1000, &["ann"]), T, &meter);
        write(&room, &summary("B", 1000, &["bob"]), T, &meter);
        assert_eq!(read(&room, "B", T, &meter), [summary("A", 1000, &["ann"])]);
        // list + 1 lookup (B's own is not read), then the POP's cache.
        assert!(meter.server_timing().starts_with("kv;desc=\"4 ops\""));
        read(&room, "B", T, &meter);
        assert!(meter.server_timing().starts_with("kv;desc=\"4 ops\""));
    }
}
