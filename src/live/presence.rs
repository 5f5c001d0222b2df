//! Who is in a room and who is typing: ephemeral, never stored as messages, never in a
//! room's id sequence.
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
//! # Cost, bounded
//! * A page sends a heartbeat (`POST /rooms/{room}/presence/`) every 30 s
//!   ([`HEARTBEAT_SECS`]); each one is published, so everyone's view is refreshed at
//!   least every 30 s, and a page that stops (closed without its leave beacon, network
//!   gone) drops out of everyone's list [`EXPIRE_SECS`] after its last heartbeat. A
//!   heartbeat published less than [`REPUBLISH_MIN_SECS`] after the user's last one is
//!   not published again (two tabs, or a client that heartbeats too often).
//! * Typing is published at most once per [`TYPING_EVERY_SECS`] per user and room,
//!   whatever the client sends (a Core Cache key with that TTL).
//! * Per user and minute: 2 heartbeat publishes, plus at most 20 typing publishes while
//!   typing non-stop, plus one join and one leave; each costs the POST plus 1 Core Cache
//!   lookup and 1 insert. No KV operation at all.
//!
//! # The roster
//! Each POP keeps the room's roster (name → expiry) in its Core Cache: a joiner's first
//! heartbeat answers with it, and every presence event carries it, so a page learns at
//! once who is here at its POP and, within one heartbeat, who is anywhere else. The
//! Core Cache is per POP and its read-modify-write is not atomic: a lost update only
//! drops someone until their next heartbeat. Pages merge every roster they hear into
//! their own view and expire names themselves.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::publish::Item;
use super::{poll, ws};
use crate::cache;
use crate::model::RoomId;

/// How often a page says it is still here.
pub const HEARTBEAT_SECS: u64 = 30;
/// How long after its last heartbeat a page counts as gone.
pub const EXPIRE_SECS: u64 = 65;
/// Heartbeats of one user closer together than this are not published again.
pub const REPUBLISH_MIN_SECS: u64 = 20;
/// Typing is published at most once per this many seconds per user and room.
pub const TYPING_EVERY_SECS: u64 = 3;

/// The channel a room's ephemeral events are published to.
pub fn channel(room: &RoomId) -> String {
    format!("presence-{room}")
}

/// What a heartbeat says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Arrived (the POP did not know them) or still here.
    Here,
    /// Arrived: published as `join`.
    Join,
    /// Left (the page's leave beacon).
    Leave,
}

/// A room's roster at one POP: name → (expires, last published), seconds since the epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster(BTreeMap<String, (u64, u64)>);

impl Roster {
    /// Applies a heartbeat or leave by `name` at `now`: what to publish, if anything.
    pub fn apply(&mut self, name: &str, leaving: bool, now: u64) -> Option<Change> {
        self.0.retain(|_, (expires, _)| *expires > now);
        if leaving {
            return self.0.remove(name).map(|_| Change::Leave);
        }
        let known = self.0.get(name).copied();
        let publish = match known {
            None => Some(Change::Join),
            Some((_, published)) if now >= published + REPUBLISH_MIN_SECS => Some(Change::Here),
            Some(_) => None,
        };
        let published = if publish.is_some() {
            now
        } else {
            known.map_or(now, |(_, p)| p)
        };
        self.0
            .insert(name.to_owned(), (now + EXPIRE_SECS, published));
        publish
    }

    /// Who is here, by name.
    pub fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

/// A presence event as an SSE frame (no id: not part of the room's sequence).
pub fn presence_frame(room: &RoomId, change: Change, name: &str, here: &[String]) -> String {
    let data = json!({"room": room.to_string(), "change": change, "name": name, "here": here});
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
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn roster_key(room: &RoomId) -> String {
    format!("edge-chat:presence:{room}")
}

/// Stores a roster or typing mark; losing one only drops a name until the next beat.
fn remember(key: &str, ttl: Duration, bytes: &[u8]) {
    if let Err(e) = cache::write(key, ttl, bytes) {
        log::warn!("presence not recorded: {e}");
    }
}

/// Records a heartbeat (or a leave) of `name` in this POP's roster. Returns who is here
/// now and the item to publish, if the change is worth publishing.
pub fn heartbeat(room: &RoomId, name: &str, leaving: bool) -> (Vec<String>, Option<Item>) {
    let mut roster: Roster = cache::read(&roster_key(room))
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let change = roster.apply(name, leaving, now());
    let bytes = serde_json::to_vec(&roster).expect("a roster always serializes");
    remember(&roster_key(room), Duration::from_secs(EXPIRE_SECS), &bytes);
    let here = roster.names();
    let item = change.map(|c| item(room, presence_frame(room, c, name, &here)));
    (here, item)
}

/// "`name` is typing", unless they were published as typing in this room less than
/// [`TYPING_EVERY_SECS`] ago at this POP.
pub fn typing(room: &RoomId, name: &str) -> Option<Item> {
    let key = format!("edge-chat:typing:{room}:{name}");
    if cache::read(&key).is_some() {
        return None;
    }
    remember(&key, Duration::from_secs(TYPING_EVERY_SECS), b"1");
    Some(item(room, typing_frame(room, name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rosters_publish_joins_refreshes_and_leaves() {
        let mut r = Roster::default();
        assert_eq!(r.apply("ann", false, 100), Some(Change::Join));
        assert_eq!(r.apply("ann", false, 110), None, "too soon to republish");
        assert_eq!(r.apply("ann", false, 130), Some(Change::Here));
        assert_eq!(r.apply("bob", false, 131), Some(Change::Join));
        assert_eq!(r.names(), ["ann", "bob"]);
        assert_eq!(r.apply("bob", true, 132), Some(Change::Leave));
        assert_eq!(r.apply("bob", true, 133), None, "already gone");
        // Without heartbeats, ann expires.
        assert_eq!(r.apply("cy", false, 130 + EXPIRE_SECS), Some(Change::Join));
        assert_eq!(r.names(), ["cy"]);
    }

    #[test]
    fn ephemeral_events_have_no_id() {
        let room = RoomId::parse("a").unwrap();
        let frame = presence_frame(&room, Change::Join, "ann", &["ann".into()]);
        assert_eq!(
            frame,
            "event: presence\ndata: {\"change\":\"join\",\"here\":[\"ann\"],\"name\":\"ann\",\"room\":\"a\"}\n\n"
        );
        let item = item(&room, typing_frame(&room, "ann"));
        assert_eq!(item.channel, "presence-a");
        assert_eq!((item.id, item.prev_id), (None, None));
        assert!(!item.content.contains("\nid:"));
        assert!(!item.ws.unwrap().contains("\"id\""));
    }

    #[test]
    fn typing_is_throttled_per_user() {
        let room = RoomId::parse("unit-typing").unwrap();
        assert!(typing(&room, "ann").is_some());
        assert!(typing(&room, "ann").is_none());
        assert!(typing(&room, "bob").is_some());
    }

    #[test]
    fn heartbeats_keep_a_roster_per_room() {
        let room = RoomId::parse("unit-presence").unwrap();
        let (here, item) = heartbeat(&room, "ann", false);
        assert_eq!(here, ["ann"]);
        assert!(item.unwrap().content.contains("\"change\":\"join\""));
        let (here, item) = heartbeat(&room, "bob", false);
        assert_eq!(here, ["ann", "bob"]);
        assert!(item.is_some());
        assert!(
            heartbeat(&room, "ann", false).1.is_none(),
            "ann was just published"
        );
        let (here, item) = heartbeat(&room, "ann", true);
        assert_eq!(here, ["bob"]);
        assert!(item.unwrap().content.contains("\"change\":\"leave\""));
    }
}
