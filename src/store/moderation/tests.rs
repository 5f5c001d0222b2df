//! Tests of `moderation`.

use std::time::Duration;

use super::*;
use crate::model::{Draft, room};
use crate::timing::KvMeter;

fn post(rooms: &Rooms, room: &RoomId, from: &str, text: &str) -> Message {
    rooms
        .append(room, Draft::parse(Some(from), Some(text)).unwrap())
        .unwrap()
}

fn open(meter: &KvMeter) -> Rooms<'_> {
    Rooms::open(meter, Duration::from_secs(600)).unwrap()
}

/// Room `name` with messages 1..=n, each `said(n)` as `(from, text)`.
fn filled(
    rooms: &Rooms,
    name: &str,
    n: u64,
    said: impl Fn(u64) -> (&'static str, String),
) -> RoomId {
    let room = room(name);
    for i in 1..=n {
        let (from, text) = said(i);
        post(rooms, &room, from, &text);
    }
    room
}

/// How many stored windows hold `text` in their raw JSON.
fn windows_holding(rooms: &Rooms, room: &RoomId, text: &str) -> usize {
    raw_windows(rooms, room)
        .iter()
        .filter(|w| w.contains(text))
        .count()
}

/// Every stored window's raw JSON, to look for text that should be gone.
fn raw_windows(rooms: &Rooms, room: &RoomId) -> Vec<String> {
    let newest = rooms.newest_id(room).unwrap();
    (1..=newest)
        .filter_map(|id| rooms.kv.lookup(&message_key(room, id)).ok())
        .map(|mut found| String::from_utf8(found.take_body_bytes()).unwrap())
        .collect()
}

fn ops(meter: &KvMeter) -> u32 {
    let timing = meter.server_timing();
    timing["kv;desc=\"".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_deleted_message_is_in_no_window_and_takes_an_id() {
    let meter = KvMeter::default();
    let rooms = open(&meter);
    let room = filled(&rooms, "unit-delete", 60, |n| {
        ("ann", format!("text number {n}"))
    });
    assert_eq!(windows_holding(&rooms, &room, "text number 5\""), 50);
    let meter = KvMeter::default();
    let rooms = open(&meter);
    let applied = rooms
        .delete(&room, 5, |_| Ok::<(), ()>(()))
        .unwrap()
        .unwrap();
    assert_eq!(applied.event_id, 61);
    assert_eq!(applied.change, Change::Delete { target: 5 });
    // list + lookup (target) + list + lookup (head) + add + 50 reads + 50 writes.
    assert_eq!(ops(&meter), 105, "{}", meter.server_timing());
    assert_eq!(windows_holding(&rooms, &room, "text number 5\""), 0);
    let entries = rooms.entries(&room, 1, 61).unwrap();
    assert_eq!(entries.len(), 61, "ids stay one after another");
    assert_eq!(entries[4], Entry::gone(5));
    assert_eq!(
        entries[60],
        Entry::Event {
            id: 61,
            change: Change::Delete { target: 5 }
        }
    );
    // Gone is gone: a second delete finds nothing, history skips it.
    assert_eq!(
        rooms.delete(&room, 5, |_| Ok::<(), ()>(())).unwrap(),
        Err(Refusal::NotFound)
    );
    let (newest, messages) = rooms.latest(&room, None, 100).unwrap();
    assert_eq!((newest, messages.len()), (61, 59));
}

#[test]
fn refusals_change_nothing() {
    let meter = KvMeter::default();
    let rooms = open(&meter);
    let room = filled(&rooms, "unit-refuse", 1, |_| ("ann", "mine".into()));
    let refused = rooms.delete(&room, 1, |m| {
        if m.from == "bob" {
            Ok(())
        } else {
            Err("not yours")
        }
    });
    assert_eq!(refused.unwrap(), Err(Refusal::Refused("not yours")));
    assert_eq!(
        rooms.delete(&room, 9, |_| Ok::<(), ()>(())).unwrap(),
        Err(Refusal::NotFound)
    );
    assert_eq!(rooms.newest_id(&room).unwrap(), 1);
}

#[test]
fn an_edit_rewrites_the_message_where_it_is_copied() {
    let meter = KvMeter::default();
    let rooms = open(&meter);
    let room = filled(&rooms, "unit-edit", 3, |n| ("ann", format!("draft {n}")));
    let now = time::OffsetDateTime::now_utc();
    let applied = rooms
        .edit(&room, 2, "final".into(), now, |_| Ok::<(), ()>(()))
        .unwrap()
        .unwrap();
    assert_eq!(applied.event_id, 4);
    assert_eq!(applied.changed[0].text, "final");
    assert!(applied.changed[0].edited.is_some());
    assert_eq!(windows_holding(&rooms, &room, "draft 2"), 0);
    assert_eq!(rooms.message(&room, 2).unwrap().unwrap().text, "final");
}

#[test]
fn clears_remove_everyone_or_one_person() {
    let meter = KvMeter::default();
    let rooms = open(&meter);
    let room = filled(&rooms, "unit-clear", 70, |n| {
        (if n % 2 == 0 { "ann" } else { "bob" }, format!("said {n}"))
    });
    let applied = rooms.clear(&room, Some("ann")).unwrap();
    assert_eq!((applied.event_id, applied.changed.len()), (71, 35));
    let (_, left) = rooms.latest(&room, None, 100).unwrap();
    assert!(left.iter().all(|m| m.from == "bob") && left.len() == 35);
    let anns_texts: Vec<String> = (2..=70).step_by(2).map(|n| format!("said {n}\"")).collect();
    let windows = raw_windows(&rooms, &room);
    assert!(
        windows
            .iter()
            .all(|w| anns_texts.iter().all(|t| !w.contains(t.as_str())))
    );
    assert!(windows.iter().any(|w| w.contains("said 1\"")), "bob's stay");
    let applied = rooms.clear(&room, None).unwrap();
    assert_eq!((applied.event_id, applied.changed.len()), (72, 35));
    assert_eq!(rooms.latest(&room, None, 100).unwrap().1, vec![]);
    assert_eq!(windows_holding(&rooms, &room, "said"), 0);
}
