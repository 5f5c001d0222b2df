//! Tests of `moderation`.

use std::time::Duration;

use super::*;
use crate::model::{Draft, room};
use crate::timing::KvMeter;

fn post(rooms: &Rooms, room: &RoomId, from: &str, text: &str) -> Message {
    rooms
        .append(room, Draft::parse(Some(from), Some(text)).unwrap())
        .unwrap()
        .message
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

/// Room `name` with messages 1..=n, "said {n}": every `every`th by ann, the rest by bob.
fn anns_every(rooms: &Rooms, name: &str, n: u64, every: u64) -> RoomId {
    filled(rooms, name, n, |i| {
        let from = if i % every == 0 { "ann" } else { "bob" };
        (from, format!("said {i}"))
    })
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
    // list + 2 lookups (target, head's clears) + add (at the head this POP's copy
    // holds) + 50 reads + 50 writes.
    assert_eq!(ops(&meter), 104, "{}", meter.server_timing());
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
        .edit(&room, 2, ("final".into(), Vec::new()), now, |_| {
            Ok::<(), ()>(())
        })
        .unwrap()
        .unwrap();
    assert_eq!(applied.event_id, 4);
    assert_eq!(applied.changed[0].text, "final");
    assert!(applied.changed[0].edited.is_some());
    assert_eq!(windows_holding(&rooms, &room, "draft 2"), 0);
    assert_eq!(rooms.message(&room, 2).unwrap().unwrap().text, "final");
}

/// Erasure steps until done, each on a request of its own: how many, and the most KV
/// operations one took.
fn erase_all(room: &RoomId) -> (u32, u32) {
    let (mut steps, mut most) = (0, 0);
    loop {
        let meter = KvMeter::default();
        let (erasure, again) = open(&meter).erase_step(room).unwrap();
        steps += 1;
        most = most.max(ops(&meter));
        if erasure.done && !again {
            return (steps, most);
        }
        assert!(steps < 1000, "the erasure never ends: {erasure:?}");
    }
}

#[test]
fn a_clear_hides_what_it_removed_from_every_read_at_once() {
    let meter = KvMeter::default();
    let rooms = open(&meter);
    let room = anns_every(&rooms, "unit-clear-hides", 120, 2);
    let meter = KvMeter::default();
    let rooms = open(&meter);
    let applied = rooms.clear(&room, Some("ann")).unwrap();
    // One add after this POP's copy of the head, whatever the room's size.
    assert_eq!(ops(&meter), 1, "{}", meter.server_timing());
    // The head window copied 72..=120: ann's 25 of them.
    assert_eq!((applied.event_id, applied.changed.len()), (121, 25));
    let rooms = open(&meter);
    let (_, newest) = rooms.latest(&room, None, 100).unwrap();
    assert!(newest.iter().all(|m| m.from == "bob") && newest.len() == 49);
    let (_, older) = rooms.latest(&room, Some(40), 100).unwrap();
    assert!(older.iter().all(|m| m.from == "bob") && older.len() == 20);
    assert_eq!(open(&meter).message(&room, 2).unwrap(), None);
    assert_eq!(
        open(&meter).message(&room, 1).unwrap().unwrap().text,
        "said 1"
    );
    let entries = open(&meter).entries(&room, 1, 121).unwrap();
    assert_eq!(entries.len(), 121, "a cleared message keeps its id");
    assert_eq!(entries[1], Entry::gone(2));
    // Still stored until the erasure: the first windows were not rewritten.
    assert!(windows_holding(&rooms, &room, "said 2\"") > 0);
    assert_eq!(rooms.erasure(&room).unwrap().pending, vec![121]);
    // A clear of everyone includes ann's: only it is pending.
    let applied = rooms.clear(&room, None).unwrap();
    assert_eq!((applied.event_id, applied.changed.len()), (122, 24));
    assert_eq!(rooms.latest(&room, Some(60), 100).unwrap().1, vec![]);
    assert_eq!(open(&meter).message(&room, 1).unwrap(), None);
    assert_eq!(rooms.erasure(&room).unwrap().pending, vec![122]);
}

#[test]
fn erasure_steps_are_bounded_resume_and_leave_no_text() {
    let meter = KvMeter::default();
    let rooms = open(&meter);
    let room = anns_every(&rooms, "unit-erasure", 300, 3);
    rooms.clear(&room, Some("ann")).unwrap(); // 301
    // A few steps, then another clear: the walk starts again, for both.
    for _ in 0..3 {
        let meter = KvMeter::default();
        let (erasure, again) = open(&meter).erase_step(&room).unwrap();
        assert!(
            again && !erasure.done && ops(&meter) <= 80,
            "{erasure:?} {}",
            ops(&meter)
        );
    }
    post(&rooms, &room, "ann", "after the first clear"); // 302
    rooms.clear(&room, Some("cy")).unwrap(); // 303
    post(&rooms, &room, "ann", "after both"); // 304
    let (steps, most) = erase_all(&room);
    // 303 windows before the clear, 32 a step, then one step drops the clears.
    assert!((10..=14).contains(&steps), "{steps} steps");
    assert!(most <= 80, "a step took {most} KV operations");
    let erasure = rooms.erasure(&room).unwrap();
    assert_eq!((erasure.pending, erasure.done), (vec![], true));
    assert_eq!(erasure.erased, 100, "ann's 100, each at its own window");
    let windows = raw_windows(&rooms, &room);
    for n in (3..=300).step_by(3) {
        let text = format!("said {n}\"");
        assert!(
            windows.iter().all(|w| !w.contains(&text)),
            "{text} is stored"
        );
    }
    assert!(windows.iter().any(|w| w.contains("said 1\"")), "bob's stay");
    assert!(windows.iter().any(|w| w.contains("after the first clear")));
    assert!(
        !windows.last().unwrap().contains("clears"),
        "the head carries none"
    );
    // Nothing pending: a step costs a list and two lookups and asks for no other.
    let meter = KvMeter::default();
    let (erasure, again) = open(&meter).erase_step(&room).unwrap();
    assert!(erasure.done && !again && ops(&meter) == 3);
}

#[test]
fn clears_remove_everyone_or_one_person() {
    let meter = KvMeter::default();
    let rooms = open(&meter);
    let room = anns_every(&rooms, "unit-clear", 70, 2);
    let applied = rooms.clear(&room, Some("ann")).unwrap();
    // The head window copied 22..=70.
    assert_eq!((applied.event_id, applied.changed.len()), (71, 25));
    erase_all(&room);
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
    assert_eq!((applied.event_id, applied.changed.len()), (72, 24));
    assert_eq!(rooms.latest(&room, None, 100).unwrap().1, vec![]);
    erase_all(&room);
    assert_eq!(windows_holding(&rooms, &room, "said"), 0);
}
