//! Domain types. Untrusted input becomes one of these exactly once, at the edge of the
//! program; everything past that point takes a `RoomId` or a `Draft`, never a `&str`, so
//! an invalid room or an oversized message cannot reach the store.
//!
//! A refusal is an [`Invalid`]: which input field, and a sentence for the person who sent
//! it. What that becomes on the wire (a 400, a `stream-error` event, a form re-shown with
//! the reason) is for the layer that answers to decide.

mod emoji;
pub mod filter;
pub mod membership;
pub mod mention;
mod message;
pub mod name;
#[cfg(test)]
mod props;
pub mod reaction;
mod room;
mod user;

pub use message::{
    Draft, FROM_MAX, ID_MAX, Message, MessageId, TEXT_MAX, format_date, parse_date, parse_id,
    parse_text,
};
pub use reaction::{Reaction, ReplyTo};
#[cfg(test)]
pub use room::room;
pub use room::{ROOM_MAX, RoomId};
pub use user::Nickname;

/// An input that is not acceptable, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The input's name as the client sent it (`room`, `from`, `text`, …).
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
