//! The events of a room's stream, independent of how they are carried.

use serde::Serialize;

use crate::model::{Message, MessageId, Reaction};

/// Something a subscriber is told, in the room's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message; its id is the event id.
    Message(Message),
    /// Message `target` was deleted (event `id`).
    Delete { id: MessageId, target: MessageId },
    /// `message` now reads as it does here (event `id`).
    Edit { id: MessageId, message: Message },
    /// Message `target`'s reactions are now `reactions` (event `id`).
    Reaction {
        id: MessageId,
        target: MessageId,
        reactions: Vec<Reaction>,
    },
    /// Every message before event `id` was removed, or only those `from` one person.
    Clear { id: MessageId, from: Option<String> },
    /// The resume point could not be honoured: the subscriber continues live from `newest`.
    Reset {
        reason: ResetReason,
        newest: MessageId,
    },
}

/// Why a resume point could not be honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResetReason {
    /// The id is newer than the room's newest message (e.g. the room aged out).
    Ahead,
    /// The messages after the id are past retention and gone.
    Expired,
}

impl ResetReason {
    pub fn text(self) -> &'static str {
        match self {
            ResetReason::Ahead => "The given event id is newer than this room's newest message.",
            ResetReason::Expired => "Messages after the given event id are no longer stored.",
        }
    }
}
