//! Windows: each message key's value carries the messages before it.

use serde::{Deserialize, Serialize};

use crate::model::{Message, MessageId};

/// Messages per stored window, and so per lookup.
pub const WINDOW: u64 = 50;

/// The stored value of one message key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Random per-post token; tells the writer whether the key holds its own insert.
    pub writer: String,
    /// Up to `WINDOW` consecutive messages, oldest first, ending with the key's message.
    pub messages: Vec<Message>,
}

impl Window {
    pub fn newest_id(&self) -> MessageId {
        self.messages.last().map_or(0, |m| m.id)
    }

    /// The window of the message that follows `base` (the room's head, if any).
    pub fn extend(base: Option<&Window>, message: Message, writer: &str) -> Window {
        let previous = base.map_or(&[][..], |w| &w.messages[..]);
        let keep = previous.len().min(WINDOW as usize - 1);
        let mut messages = Vec::with_capacity(keep + 1);
        messages.extend_from_slice(&previous[previous.len() - keep..]);
        messages.push(message);
        Window {
            writer: writer.to_owned(),
            messages,
        }
    }
}

/// Ids of the windows that together hold every message in `lo ..= hi`:
/// `hi`, `hi - 50`, … — `⌈(hi - lo + 1) / 50⌉` of them.
pub fn windows_covering(lo: MessageId, hi: MessageId) -> Vec<MessageId> {
    let lo = lo.max(1);
    let mut ids = Vec::new();
    let mut id = hi;
    while id >= lo {
        ids.push(id);
        if id <= WINDOW {
            break;
        }
        id -= WINDOW;
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: MessageId) -> Message {
        Message {
            id,
            from: "a".into(),
            date: "2026-11-22T00:00:00.000Z".into(),
            text: format!("m{id}"),
        }
    }

    #[test]
    fn windows_keep_the_last_fifty() {
        let mut w: Option<Window> = None;
        for id in 1..=120 {
            w = Some(Window::extend(w.as_ref(), msg(id), "me"));
            let win = w.as_ref().unwrap();
            assert_eq!(win.newest_id(), id);
            assert_eq!(win.messages.len() as u64, id.min(WINDOW));
            assert_eq!(win.messages[0].id, id.saturating_sub(WINDOW - 1).max(1));
        }
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
}
