//! Every KV key layout in one place.

use crate::model::{ID_MAX, MessageId, RoomId};

/// Ids are stored as `ID_CEILING - id`; ten digits keep the keys fixed-width.
const ID_CEILING: MessageId = ID_MAX;

pub fn room_prefix(room: &RoomId) -> String {
    format!("m:{room}:")
}

pub fn message_key(room: &RoomId, id: MessageId) -> String {
    format!("m:{room}:{:010}", ID_CEILING - id)
}

/// Everyone who reacted to message `id` (`model::reaction::Reactors`). Not under the
/// room's prefix, so listing the room's windows never returns it.
pub fn reactors_key(room: &RoomId, id: MessageId) -> String {
    format!("r:{room}:{:010}", ID_CEILING - id)
}

/// Where the erasure of a room's pending clears has got to (`moderation::erasure`).
/// Not under the room's prefix, so listing the room's windows never returns it.
pub fn erasure_key(room: &RoomId) -> String {
    format!("erase:{room}")
}

/// The id encoded in a key listed under `prefix`.
pub fn id_from_key(prefix: &str, key: &str) -> Option<MessageId> {
    let digits = key.strip_prefix(prefix)?;
    let inverted: MessageId = digits.parse().ok().filter(|_| digits.len() == 10)?;
    Some(ID_CEILING - inverted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::room;

    #[test]
    fn keys_list_newest_first() {
        let r = room("lobby");
        let keys: Vec<String> = [1, 2, 10, 11, 999]
            .iter()
            .map(|&id| message_key(&r, id))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.reverse();
        assert_eq!(keys, sorted, "a larger id must sort first");
        assert_eq!(message_key(&r, 1), "m:lobby:9999999998");
        for id in [1, 2, 50, 123_456_789] {
            assert_eq!(
                id_from_key(&room_prefix(&r), &message_key(&r, id)),
                Some(id)
            );
        }
        assert_eq!(id_from_key("m:lobby:", "m:lobby:12"), None);
        assert_eq!(id_from_key("m:lobby:", "m:other:9999999998"), None);
    }

    #[test]
    fn rooms_do_not_share_prefixes() {
        // ':' is not a room character, so "a" can never list "a:b"'s or "ab"'s keys.
        assert!(!message_key(&room("ab"), 1).starts_with(&room_prefix(&room("a"))));
        assert!(
            !message_key(&room("a.b"), 1).contains("./"),
            "Viceroy rejects keys containing ./"
        );
    }
}
