//! Tests of `window`.

use super::*;

fn msg(id: MessageId) -> Entry {
    Entry::Message(Message {
        id,
        from: "a".into(),
        date: "2026-11-22T00:00:00.000Z".into(),
        text: format!("m{id}"),
        edited: None,
        mentions: Vec::new(),
        reply_to: None,
        reactions: Vec::new(),
    })
}

#[test]
fn windows_keep_the_last_fifty() {
    let mut w: Option<Window> = None;
    for id in 1..=120 {
        w = Some(Window::extend(w.as_ref(), msg(id), "me"));
        let win = w.as_ref().unwrap();
        assert_eq!(win.newest_id(), id);
        assert_eq!(win.messages.len() as u64, id.min(WINDOW));
        assert_eq!(win.messages[0].id(), id.saturating_sub(WINDOW - 1).max(1));
    }
}

#[test]
fn entries_read_in_every_stored_shape() {
    let entries = [
        r#"{"id":1,"from":"ann","date":"d","text":"old window, before moderation"}"#,
        r#"{"id":2,"from":"bob","date":"d","text":"fixed","edited":"e"}"#,
        r#"{"id":3,"gone":true}"#,
        r#"{"id":4,"event":"delete","target":3}"#,
        r#"{"id":5,"event":"edit","target":2}"#,
        r#"{"id":6,"event":"clear"}"#,
        r#"{"id":7,"event":"clear","from":"ann"}"#,
        r#"{"id":8,"from":"cy","date":"d","text":"@ann","mentions":["ann"]}"#,
    ];
    let stored = format!(r#"{{"writer":"w","messages":[{}]}}"#, entries.join(","));
    let w: Window = serde_json::from_str(&stored).unwrap();
    assert!(matches!(&w.messages[0], Entry::Message(m) if m.edited.is_none()));
    assert!(matches!(&w.messages[1], Entry::Message(m) if m.edited.as_deref() == Some("e")));
    assert_eq!(w.messages[2], Entry::gone(3));
    assert_eq!(
        w.messages[3],
        Entry::Event {
            id: 4,
            change: Change::Delete { target: 3 }
        }
    );
    assert_eq!(
        w.messages[4],
        Entry::Event {
            id: 5,
            change: Change::Edit { target: 2 }
        }
    );
    assert_eq!(
        w.messages[5],
        Entry::Event {
            id: 6,
            change: Change::Clear { from: None }
        }
    );
    assert_eq!(
        w.messages[6],
        Entry::Event {
            id: 7,
            change: Change::Clear {
                from: Some("ann".into())
            }
        }
    );
    assert!(matches!(&w.messages[7], Entry::Message(m) if m.mentions == ["ann"]));
    let again: Window = serde_json::from_str(&serde_json::to_string(&w).unwrap()).unwrap();
    assert_eq!(again, w);
    // Written back byte for byte as stored: same keys, same order.
    let written: Vec<String> = w
        .messages
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    assert_eq!(written, entries);
}

#[test]
fn malformed_entries_are_refused() {
    for bad in [
        r#"{"id":1,"from":"ann","date":"d"}"#,
        r#"{"id":1}"#,
        r#"{"id":1,"event":"delete"}"#,
        r#"{"id":1,"event":"clear","target":3}"#,
        r#"{"id":1,"event":"rename","target":3}"#,
        r#"{"from":"ann","date":"d","text":"no id"}"#,
    ] {
        assert!(serde_json::from_str::<Entry>(bad).is_err(), "{bad}");
    }
}

fn clear(id: MessageId, from: Option<&str>) -> Entry {
    let from = from.map(str::to_owned);
    Entry::Event {
        id,
        change: Change::Clear { from },
    }
}

#[test]
fn windows_carry_pending_clears_forward() {
    let pending = |w: &Window| w.clears.iter().map(|c| c.id).collect::<Vec<_>>();
    let mut w = Window::extend(None, msg(1), "me");
    assert!(w.clears.is_empty());
    assert!(!serde_json::to_string(&w).unwrap().contains("clears"));
    for (id, from) in [(2, Some("a")), (3, Some("b")), (4, Some("a"))] {
        w = Window::extend(Some(&w), clear(id, from), "me");
    }
    assert_eq!(
        pending(&w),
        vec![3, 4],
        "a's second clear includes her first"
    );
    w = Window::extend(Some(&w), msg(5), "me");
    assert_eq!(pending(&w), vec![3, 4], "carried by every later window");
    w = Window::extend(Some(&w), clear(6, None), "me");
    assert_eq!(
        pending(&w),
        vec![6],
        "a clear of everyone includes every earlier one"
    );
    let again: Window = serde_json::from_str(&serde_json::to_string(&w).unwrap()).unwrap();
    assert_eq!(again, w);
    // Reads hide what a pending clear covers, and nothing else.
    let mut entries = vec![msg(1), msg(7), clear(6, None)];
    assert!(hide_cleared(&mut entries, &w.clears));
    assert_eq!(entries, vec![Entry::gone(1), msg(7), clear(6, None)]);
    let only_b = [PendingClear {
        id: 9,
        from: Some("b".into()),
    }];
    assert!(!hide_cleared(&mut [msg(2)], &only_b), "msg is from a");
}

#[test]
fn covering_windows() {
    assert_eq!(windows_covering(1, 120), vec![120, 70, 20]);
    assert_eq!(windows_covering(71, 120), vec![120]);
    assert_eq!(windows_covering(70, 120), vec![120, 70]);
    assert_eq!(windows_covering(1, 50), vec![50]);
    assert_eq!(windows_covering(0, 3), vec![3]);
    assert_eq!(windows_covering(5, 4), Vec::<MessageId>::new());
    assert_eq!(windows_covering(1, 0), Vec::<MessageId>::new());
    for (lo, hi) in [(1u64, 1u64), (1, 100), (3, 250), (51, 100), (101, 101)] {
        assert_eq!(
            windows_covering(lo, hi).len() as u64,
            (hi - lo + 1).div_ceil(WINDOW)
        );
    }
}

#[test]
fn replies_reactions_and_their_events_round_trip() {
    use crate::model::Reaction;
    let mut m = match msg(9) {
        Entry::Message(m) => m,
        _ => unreachable!(),
    };
    m.reply_to = Some(ReplyTo::quote(3, "ann", "two\nlines"));
    m.reactions = vec![Reaction {
        emoji: "👍".into(),
        count: 21,
        names: vec!["bob".into(), "cat".into()],
    }];
    let entries = vec![
        Entry::Message(m),
        Entry::Event {
            id: 10,
            change: Change::React { target: 9 },
        },
    ];
    let w = Window {
        writer: "w".into(),
        messages: entries.clone(),
        clears: Vec::new(),
    };
    let stored = serde_json::to_string(&w).unwrap();
    let quote = r#""reply_to":"3\u001fann\u001ftwo\nlines\u001f\u001e""#;
    assert!(stored.contains(quote), "{stored}");
    assert!(
        stored.contains(r#"{"id":10,"event":"reaction","target":9}"#),
        "{stored}"
    );
    let back: Window = serde_json::from_str(&stored).unwrap();
    assert_eq!(back.messages, entries);
}
