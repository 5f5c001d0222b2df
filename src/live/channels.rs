//! The names of the Fanout channels a room's subscribers hold, in one leaf module: the
//! code that makes Fanout hold a stream (`grip`), the code that publishes to it
//! (`publish`, `presence`, `multi`) and the handlers all name channels, and none of them
//! should import another just for a name.

use crate::model::RoomId;

/// The channel a room's events are published to.
pub fn room(room: &RoomId) -> String {
    format!("room-{room}")
}

/// The channel of one member's subscriptions to one private room: removing them
/// publishes the items that end those (`publish::Item::ending`), and nothing else ever does.
pub fn member(room: &RoomId, user_id: &str) -> String {
    format!("member-{room}-{user_id}")
}

/// The channel a room's ephemeral events (presence, typing) are published to.
pub fn presence(room: &RoomId) -> String {
    format!("presence-{room}")
}

/// The channel multi-room streams hold for `room`.
pub fn multi(room: &RoomId) -> String {
    format!("multi-{room}")
}
