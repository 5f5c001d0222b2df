//! Who is in a room and who is typing: ephemeral, never stored as messages, never in a
//! room's id sequence, and published only when something *changes*.
//!
//! # How it travels
//! Presence and typing are published to a channel of their own, `presence-{room}`,
//! which streams hold *without* a prev-id: Pushpin treats an item without a `prev-id`
//! on a channel held with one as a gap and makes every subscriber fetch its recovery
//! link (httpsession.cpp, "last ID inconsistency"), so these events must not share the
//! room's channel. On SSE they are events without an `id:` line (a browser's
//! Last-Event-ID is untouched), on a socket frames without `"id"`, and they release a
//! held long-poll with `{"messages": [], "events": [...]}`.
//!
//! # What is published
//! Fastly's API allows about 1,000 non-read calls an hour and Fanout bills every
//! delivery, so a heartbeat that changes nothing is never published (it used to be:
//! 2 calls per user per minute and N² deliveries a minute for N idle people).
//! * A page heartbeats every [`Timing::heartbeat`] (30 s): that only moves its lapse
//!   time in this POP's roster (`roster`). A name the roster did not have is a `join`.
//! * `gone` (the page's leave beacon) is a `leave`; so is a name whose heartbeats
//!   stopped ([`Timing::expire`], 65 s), found lazily by the next request that reads the
//!   roster (anyone's heartbeat) and published then, with whatever else is owed.
//! * Typing is published when a typist *starts* (no notice for [`TYPING_PAUSE_SECS`])
//!   and, while they keep typing, again at most every [`TYPING_RENEW_SECS`].
//! * Every publish of a room counts against [`ROOM_CAP`] per minute at this POP,
//!   whatever the room's size: over it, joins and leaves wait in the roster and go out
//!   together (at most [`FLUSH_MAX`] in one call) with the next publish the cap allows;
//!   typing over it is dropped.
//!
//! Events are deltas (`{"room","change":"join"|"leave","name"}`); the whole roster
//! reaches a page in its stream's opening (`{"change":"roster","here":[…]}`,
//! [`opening`]) and in every heartbeat's answer, which also heals anything a page
//! missed. People at other POPs: `remote`.

mod remote;
mod roster;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fastly::cache::core::{CacheKey, Transaction};
use serde_json::json;

use super::publish::Item;
use super::{poll, ws};
use crate::cache;
use crate::config::Rate;
use crate::limits::{self, Verdict};
use crate::model::RoomId;
use crate::timing::KvMeter;
pub use roster::{Change, Roster};

/// Publishes of one room's presence and typing per minute at one POP. 10 a minute is
/// 600 an hour at most for a room, whatever its size (the goal: 1,000 idle people cost
/// at most 10 calls a minute), and still lets a few joins, leaves and typists through
/// live; anything over it is coalesced (presence) or dropped (typing).
pub const ROOM_CAP: u32 = 10;
/// Changes one publish call carries at most: the publish module's items per call, so a
/// flush is always one call (about 350 B an item, well under Fanout's size limits).
pub const FLUSH_MAX: usize = 50;
/// A typist who sent no notice for this long has stopped: the next notice is a start
/// (pages send one at most every 3 s while their person types).
pub const TYPING_PAUSE_SECS: u64 = 6;
/// While someone keeps typing, their notice is published again at most this often, so
/// pages keep showing it (they show a notice for 12 s).
pub const TYPING_RENEW_SECS: u64 = 10;

/// The presence clock, all from the heartbeat period (`presence_heartbeat_secs`,
/// 30 s by default; tests shorten it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub heartbeat: u64,
}

impl Timing {
    /// How long after its last heartbeat a page counts as gone: two missed heartbeats.
    pub const fn expire(self) -> u64 {
        self.heartbeat * 2 + 5
    }
    /// A POP's summary for other POPs is rewritten no sooner than this after a change…
    pub const fn summary_min(self) -> u64 {
        self.heartbeat
    }
    /// …and refreshed at least this often while anyone is here.
    pub const fn summary_every(self) -> u64 {
        self.heartbeat * 2
    }
    /// The room cap's window: a minute ([`ROOM_CAP`] is per minute at the default).
    pub const fn cap_window(self) -> u64 {
        self.heartbeat * 2
    }
    /// How long a POP keeps other POPs' summaries before reading them again.
    pub const fn remote_cache(self) -> u64 {
        self.heartbeat
    }
    /// A summary not refreshed for this long is abandoned (its POP has nobody left).
    pub const fn stale(self) -> u64 {
        self.summary_every() + self.heartbeat + self.remote_cache()
    }
}

/// Where presence is kept: a room at one POP.
pub struct Place<'a> {
    pub room: &'a RoomId,
    /// The POP (`FASTLY_POP`; tests may simulate several, see `http::api::presence`).
    pub pop: String,
    pub timing: Timing,
}

pub use super::channels::presence as channel;

/// A join or leave as an SSE frame (no id: not part of the room's sequence).
pub fn change_frame(room: &RoomId, change: Change, name: &str) -> String {
    let data = json!({"room": room.to_string(), "change": change, "name": name});
    format!("event: presence\ndata: {data}\n\n")
}

/// The whole roster, as a stream's opening carries it.
pub fn roster_frame(room: &RoomId, here: &[String]) -> String {
    let data = json!({"room": room.to_string(), "change": "roster", "here": here});
    format!("event: presence\ndata: {data}\n\n")
}

/// "`name` is typing" as an SSE frame.
pub fn typing_frame(room: &RoomId, name: &str) -> String {
    let data = json!({"room": room.to_string(), "name": name});
    format!("event: typing\ndata: {data}\n\n")
}

/// An ephemeral event for every transport: SSE, socket and long-poll.
pub fn item(room: &RoomId, frame: String) -> Item {
    let ws = ws::from_sse(&frame);
    Item {
        channel: channel(room),
        id: None,
        prev_id: None,
        response: Some(poll::event_answer(&ws)),
        ws: Some(ws),
        content: frame,
        filters: &[],
        ending: crate::live::publish::Ending::No,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn roster_key(place: &Place) -> String {
    format!("edge-chat:presence:{}:{}", place.pop, place.room)
}

fn read_roster(place: &Place) -> Roster {
    cache::read(&roster_key(place))
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Stores a roster or typing mark; losing one costs a name at most one heartbeat.
fn remember(key: &str, ttl: Duration, bytes: &[u8]) {
    if let Err(e) = cache::write(key, ttl, bytes) {
        log::warn!("presence not recorded: {e}");
    }
}

/// Whether the room's cap at this POP lets one more publish through this minute.
fn cap_allows(place: &Place) -> bool {
    let room = format!("{}:{}", place.pop, place.room);
    let rate = Rate::new(ROOM_CAP, place.timing.cap_window());
    limits::check("presence-publish", &room, rate) == Verdict::Allowed
}

/// How long a heartbeat waits for the roster's turn before going ahead without it.
const TURN_WAIT: Duration = Duration::from_millis(250);

/// One request at a time rewrites a room's roster at a POP: without it, concurrent
/// heartbeats lose each other's writes (measured: 1,000 people heartbeating on a 5x
/// clock re-joined ~50 times a minute, each a change to publish). Made of request
/// collapsing, as the append turn (`store::turn`): the first lookup of a key nobody
/// fills must fill it, later ones wait until it cancels. A timeout or a cache error
/// goes ahead without the turn: a lost write costs a name one heartbeat, no more.
struct Turn(Option<Transaction>);

impl Turn {
    fn take(key: &str) -> Self {
        let key = CacheKey::from(format!("{key}:turn"));
        match Transaction::lookup(key).timeout(TURN_WAIT).execute() {
            Ok(tx) if tx.must_insert_or_update() => Self(Some(tx)),
            _ => Self(None),
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(tx) = &self.0 {
            let _ = tx.cancel_insert_or_update();
        }
    }
}

/// What a heartbeat or leave answers and publishes.
pub struct Beat {
    /// Everyone in the room as far as this POP knows: its roster and other POPs'.
    pub here: Vec<String>,
    /// The changes to publish now (empty: nothing changed, or the cap holds them).
    pub items: Vec<Item>,
}

/// Records a heartbeat (or, `leaving`, the leave beacon) of `name`, with any lapsed
/// names found on the way; publishes what is owed if the room's cap allows.
pub fn heartbeat(place: &Place, name: &str, leaving: bool, meter: &KvMeter) -> Beat {
    let turn = Turn::take(&roster_key(place));
    let now = now();
    let mut roster = read_roster(place);
    if leaving {
        roster.leave(name, now);
    } else {
        roster.beat(name, now, place.timing);
    }
    let changes = if roster.owes() && cap_allows(place) {
        roster.take(FLUSH_MAX)
    } else {
        Vec::new()
    };
    let local = roster.names(now);
    if remote::due(roster.summarized, roster.changed, now, place.timing) {
        let summary = remote::Summary {
            pop: place.pop.clone(),
            written: now,
            here: local.clone(),
        };
        remote::write(place.room, &summary, place.timing, meter);
        roster.summarized = now;
        roster.changed = false;
    }
    let bytes = serde_json::to_vec(&roster).expect("a roster always serializes");
    // Kept while anyone may still lapse, and as long as a summary is not yet due.
    let ttl = Duration::from_secs(place.timing.stale());
    remember(&roster_key(place), ttl, &bytes);
    drop(turn);
    let items = changes
        .iter()
        .map(|(who, change)| item(place.room, change_frame(place.room, *change, who)))
        .collect();
    Beat {
        here: with_others(place, local, now, meter),
        items,
    }
}

/// `local` plus who other POPs' summaries say is here, sorted, each once.
fn with_others(place: &Place, mut here: Vec<String>, now: u64, meter: &KvMeter) -> Vec<String> {
    let others = remote::read(place.room, &place.pop, place.timing, meter);
    here.extend(remote::fresh_names(&others, &place.pop, now, place.timing));
    here.sort_unstable();
    here.dedup();
    here
}

/// Everyone in the room, for a stream's opening: a `presence` frame with change
/// `roster`. Reads (never writes) this POP's roster; lapsed names are left out.
pub fn opening(place: &Place, meter: &KvMeter) -> String {
    let now = now();
    let here = with_others(place, read_roster(place).names(now), now, meter);
    roster_frame(place.room, &here)
}

/// Whether a typing notice at `now` is published, given when this typist's last one was
/// (`None`: no notice within [`TYPING_PAUSE_SECS`], i.e. they start).
pub fn typing_due(last_published: Option<u64>, now: u64) -> bool {
    last_published.is_none_or(|at| now >= at + TYPING_RENEW_SECS)
}

/// "`name` is typing", when they start (or renew, see [`typing_due`]) and the room's cap
/// allows; `None` otherwise.
pub fn typing(place: &Place, name: &str) -> Option<Item> {
    let key = format!("edge-chat:typing:{}:{}:{name}", place.pop, place.room);
    let now = now();
    let last = cache::read_number(&key);
    let publish = typing_due(last, now) && cap_allows(place);
    let published = if publish { now } else { last.unwrap_or(0) };
    // Every notice keeps the mark: the typist is still at it.
    remember(
        &key,
        Duration::from_secs(TYPING_PAUSE_SECS),
        published.to_string().as_bytes(),
    );
    publish.then(|| item(place.room, typing_frame(place.room, name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(room: &RoomId) -> Place<'_> {
        Place {
            room,
            pop: "unit".into(),
            timing: Timing { heartbeat: 30 },
        }
    }

    #[test]
    fn ephemeral_events_have_no_id() {
        let room = RoomId::parse("a").unwrap();
        assert_eq!(
            change_frame(&room, Change::Join, "ann"),
            "event: presence\ndata: {\"change\":\"join\",\"name\":\"ann\",\"room\":\"a\"}\n\n"
        );
        assert_eq!(
            roster_frame(&room, &["ann".into()]),
            "event: presence\ndata: {\"change\":\"roster\",\"here\":[\"ann\"],\"room\":\"a\"}\n\n"
        );
        let item = item(&room, typing_frame(&room, "ann"));
        assert_eq!(item.channel, "presence-a");
        assert_eq!((item.id, item.prev_id), (None, None));
        assert!(!item.content.contains("\nid:"));
        assert!(!item.ws.unwrap().contains("\"id\""));
    }

    #[test]
    fn typing_starts_after_a_pause_and_renews_while_it_goes_on() {
        assert!(typing_due(None, 100));
        assert!(!typing_due(Some(100), 103));
        assert!(typing_due(Some(100), 100 + TYPING_RENEW_SECS));
    }

    #[test]
    fn typing_is_throttled_per_typist() {
        let room = RoomId::parse("unit-typing").unwrap();
        let place = place(&room);
        assert!(typing(&place, "ann").is_some());
        assert!(typing(&place, "ann").is_none());
        assert!(typing(&place, "bob").is_some());
    }

    #[test]
    fn heartbeats_publish_changes_only() {
        let room = RoomId::parse("unit-presence").unwrap();
        let place = place(&room);
        let meter = KvMeter::default();
        let beat = heartbeat(&place, "ann", false, &meter);
        assert_eq!(beat.here, ["ann"]);
        assert!(beat.items[0].content.contains("\"change\":\"join\""));
        let beat = heartbeat(&place, "bob", false, &meter);
        assert_eq!((beat.here.len(), beat.items.len()), (2, 1));
        assert!(heartbeat(&place, "ann", false, &meter).items.is_empty());
        let beat = heartbeat(&place, "ann", true, &meter);
        assert_eq!(beat.here, ["bob"]);
        assert!(beat.items[0].content.contains("\"change\":\"leave\""));
        assert!(opening(&place, &meter).contains("\"here\":[\"bob\"]"));
    }

    #[test]
    fn over_the_cap_changes_wait_for_the_next_publish() {
        let room = RoomId::parse("unit-presence-cap").unwrap();
        let place = place(&room);
        let meter = KvMeter::default();
        let published: usize = (0..ROOM_CAP + 5)
            .map(|n| {
                heartbeat(&place, &format!("p{n}"), false, &meter)
                    .items
                    .len()
            })
            .sum();
        // Unless the minute turned meanwhile, the last five joins are still owed.
        let owed = read_roster(&place).take(FLUSH_MAX).len();
        assert_eq!(published + owed, ROOM_CAP as usize + 5);
        assert!(published >= ROOM_CAP as usize);
    }
}
