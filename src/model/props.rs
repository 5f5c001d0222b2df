//! Property tests: the domain parsers accept exactly what they document and never panic.

use proptest::prelude::*;

use super::{Draft, FROM_MAX, Nickname, RoomId, TEXT_MAX};

fn documented_room(s: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    let reserved = ["account", "auth", "events", "rooms", "static"].contains(&s);
    (1..=64).contains(&s.len())
        && s.chars().all(allowed)
        && !s.chars().all(|c| c == '.')
        && !reserved
}

proptest! {
    #[test]
    fn room_ids_are_exactly_the_documented_set(raw in "[A-Za-z0-9._:/ %é-]{0,70}|\\PC{0,8}|account|auth|events|rooms|static") {
        let parsed = RoomId::parse(&raw);
        prop_assert_eq!(parsed.is_ok(), documented_room(&raw), "{:?}", raw);
        if let Ok(room) = parsed {
            prop_assert_eq!(room.to_string(), raw);
        }
    }

    #[test]
    fn accepted_drafts_are_trimmed_bounded_and_printable(
        from in proptest::option::of("\\PC{0,3}[\\s\\x00-\\x1f\\u{200b}\\u{202e}]?\\PC{0,70}"),
        text in proptest::option::of("(\\PC|\\s){0,1100}"),
    ) {
        if let Ok(draft) = Draft::parse(from.as_deref(), text.as_deref()) {
            prop_assert_eq!(draft.from.trim(), draft.from.as_str());
            prop_assert_eq!(draft.text.trim(), draft.text.as_str());
            prop_assert!((1..=FROM_MAX).contains(&draft.from.chars().count()));
            prop_assert!((1..=TEXT_MAX).contains(&draft.text.chars().count()));
            prop_assert!(!draft.from.chars().any(char::is_control));
            prop_assert!(!draft.text.chars().any(|c| c.is_control() && c != '\n'));
            prop_assert!(!draft.text.contains('\r'));
            // One nickname rule: a draft's sender is a valid nickname as it stands.
            prop_assert_eq!(Nickname::parse(Some(&draft.from)).unwrap().into_string(), draft.from);
        }
    }
}
