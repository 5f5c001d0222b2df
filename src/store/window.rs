//! Windows: each key's value carries the entries before it.
//!
//! A room is a sequence of entries with ids 1, 2, 3, …: messages, and the moderation
//! events that change them (a deletion, an edit, a clear), each taking the next id so a
//! resuming client receives them in order. A deleted message's entry becomes `Gone`:
//! its id stays in the sequence, its text and author are erased from every window that
//! copied it. An edit rewrites the message's entry in place (text and `edited` date) and
//! adds an `Edit` entry saying so; the text lives only in the message's entry.
//!
//! A clear is different: it removes messages from every window of the room, far more
//! than one request can rewrite (`moderation::erasure`). So each window also carries
//! the room's *pending clears* forward from the head it copied: any read that includes
//! the head window (or looks it up) knows every clear whose erasure may not be finished,
//! and reads the messages they cover as removed ([`hide_cleared`]).

use serde::{Deserialize, Serialize};

use crate::model::reaction::{decode_reactions, encode_reactions};
use crate::model::{Message, MessageId, ReplyTo};

/// Entries per stored window, and so per lookup.
pub const WINDOW: u64 = 50;

/// One entry of a room's sequence, as stored.
///
/// Stored flat, told apart by which keys are present (see `RawEntry`): a message keeps
/// the JSON shape it has always had (`{"id","from","date","text"}`), so windows written
/// before moderation existed still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawEntry", into = "RawEntry")]
pub enum Entry {
    /// A moderation event: `{"id","event","target"}` or `{"id","event"[,"from"]}`.
    Event {
        id: MessageId,
        change: Change,
    },
    /// A deleted message, or an entry erased by a clear: `{"id","gone":true}`.
    Gone {
        id: MessageId,
    },
    Message(Message),
}

/// What a moderation event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Message `target` was deleted.
    Delete { target: MessageId },
    /// Message `target`'s text was changed (its entry has the new text).
    Edit { target: MessageId },
    /// Someone reacted to message `target`, or took a reaction back (its entry has the
    /// new summary).
    React { target: MessageId },
    /// Every message before this event was removed, or only those `from` one person.
    Clear { from: Option<String> },
}

/// Every key any entry has, in the order they are written. One flat struct instead of
/// `#[serde(untagged)]`, whose buffering deserializer cost about 14 KB of wasm.
#[derive(Serialize, Deserialize)]
struct RawEntry {
    id: MessageId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<MessageId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    edited: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    mentions: Vec<String>,
    /// A reply's original and what it quotes, in one line (`ReplyTo::stored`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reply_to: Option<String>,
    /// `model::reaction::encode_reactions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reactions: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    gone: bool,
}

impl TryFrom<RawEntry> for Entry {
    type Error = &'static str;

    fn try_from(raw: RawEntry) -> Result<Self, Self::Error> {
        let RawEntry {
            id,
            event,
            target,
            from,
            date,
            text,
            edited,
            mentions,
            reply_to,
            reactions,
            gone,
        } = raw;
        let change = match (event.as_deref(), target) {
            (None, _) if gone => return Ok(Entry::Gone { id }),
            (None, _) => {
                let (Some(from), Some(date), Some(text)) = (from, date, text) else {
                    return Err("an entry is a message, an event or gone");
                };
                return Ok(Entry::Message(Message {
                    id,
                    from,
                    date,
                    text,
                    edited,
                    mentions,
                    reply_to: reply_to.as_deref().and_then(ReplyTo::from_stored),
                    reactions: decode_reactions(reactions.as_deref()),
                }));
            }
            (Some("delete"), Some(target)) => Change::Delete { target },
            (Some("edit"), Some(target)) => Change::Edit { target },
            (Some("reaction"), Some(target)) => Change::React { target },
            (Some("clear"), None) => Change::Clear { from },
            _ => return Err("unknown event, or an event without its target"),
        };
        Ok(Entry::Event { id, change })
    }
}

impl From<Entry> for RawEntry {
    fn from(entry: Entry) -> Self {
        let mut raw = RawEntry {
            id: entry.id(),
            event: None,
            target: None,
            from: None,
            date: None,
            text: None,
            edited: None,
            mentions: Vec::new(),
            reply_to: None,
            reactions: None,
            gone: false,
        };
        match entry {
            Entry::Message(m) => {
                (raw.from, raw.date, raw.text, raw.edited) =
                    (Some(m.from), Some(m.date), Some(m.text), m.edited);
                raw.reply_to = m.reply_to.as_ref().map(ReplyTo::stored);
                raw.reactions = encode_reactions(&m.reactions);
                raw.mentions = m.mentions;
            }
            Entry::Gone { .. } => raw.gone = true,
            Entry::Event { change, .. } => {
                let (event, target, from) = match change {
                    Change::Delete { target } => ("delete", Some(target), None),
                    Change::Edit { target } => ("edit", Some(target), None),
                    Change::React { target } => ("reaction", Some(target), None),
                    Change::Clear { from } => ("clear", None, from),
                };
                (raw.event, raw.target, raw.from) = (Some(event.to_owned()), target, from);
            }
        }
        raw
    }
}

impl Entry {
    pub fn id(&self) -> MessageId {
        match self {
            Entry::Event { id, .. } | Entry::Gone { id } => *id,
            Entry::Message(m) => m.id,
        }
    }

    pub fn gone(id: MessageId) -> Self {
        Entry::Gone { id }
    }
}

/// The stored value of one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Random per-post token; tells the writer whether the key holds its own insert.
    pub writer: String,
    /// Up to `WINDOW` consecutive entries, oldest first, ending with the key's own.
    /// (Named `messages` since before windows held anything else.)
    pub messages: Vec<Entry>,
    /// Clears whose erasure of older windows may not be finished, carried forward from
    /// the window this one copied. Absent in windows written before clears were erased
    /// in steps, and whenever nothing is pending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clears: Vec<PendingClear>,
}

/// A clear event (its id, whose messages) that reads must still apply themselves.
/// Stored as the event's own entry (`{"id","event":"clear"[,"from"]}`), which reuses the
/// entries' serde code rather than adding more to the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Entry", into = "Entry")]
pub struct PendingClear {
    pub id: MessageId,
    pub from: Option<String>,
}

impl TryFrom<Entry> for PendingClear {
    type Error = &'static str;

    fn try_from(entry: Entry) -> Result<Self, Self::Error> {
        match entry {
            Entry::Event {
                id,
                change: Change::Clear { from },
            } => Ok(PendingClear { id, from }),
            _ => Err("a pending clear is a clear event"),
        }
    }
}

impl From<PendingClear> for Entry {
    fn from(clear: PendingClear) -> Self {
        Entry::Event {
            id: clear.id,
            change: Change::Clear { from: clear.from },
        }
    }
}

impl PendingClear {
    /// Whether this clear removed `entry`: a message before it, by anyone or by `from`.
    pub fn covers(&self, entry: &Entry) -> bool {
        match entry {
            Entry::Message(m) => self.removes(m),
            Entry::Event { .. } | Entry::Gone { .. } => false,
        }
    }

    pub fn removes(&self, m: &Message) -> bool {
        m.id < self.id && self.from.as_ref().is_none_or(|f| *f == m.from)
    }
}

/// Adds `clear` to a pending list, dropping the clears it includes: a clear of everyone
/// includes every earlier clear, one of a person that person's earlier ones. The list is
/// then at most one clear of everyone plus one per person cleared since.
pub fn add_clear(clears: &mut Vec<PendingClear>, clear: PendingClear) {
    clears.retain(|c| clear.from.is_some() && c.from != clear.from);
    clears.push(clear);
}

/// Reads the entries any of `clears` covers as removed (`Gone`), as the erasure will
/// leave them; `true` if any was.
pub fn hide_cleared(entries: &mut [Entry], clears: &[PendingClear]) -> bool {
    let mut hid = false;
    for entry in entries {
        if clears.iter().any(|c| c.covers(entry)) {
            *entry = Entry::gone(entry.id());
            hid = true;
        }
    }
    hid
}

impl Window {
    pub fn newest_id(&self) -> MessageId {
        self.messages.last().map_or(0, Entry::id)
    }

    /// The window of the entry that follows `base` (the room's head, if any). It
    /// carries `base`'s pending clears forward, and its own if the entry is a clear.
    pub fn extend(base: Option<&Window>, entry: Entry, writer: &str) -> Window {
        let previous = base.map_or(&[][..], |w| &w.messages[..]);
        let keep = previous.len().min(WINDOW as usize - 1);
        let mut messages = Vec::with_capacity(keep + 1);
        messages.extend_from_slice(&previous[previous.len() - keep..]);
        let mut clears = base.map_or_else(Vec::new, |w| w.clears.clone());
        // What a pending clear removed is not copied forward, whatever the base still
        // holds (a copy older than an erasure step): erasure never has to come back.
        hide_cleared(&mut messages, &clears);
        if let Entry::Event {
            id,
            change: Change::Clear { from },
        } = &entry
        {
            let from = from.clone();
            add_clear(&mut clears, PendingClear { id: *id, from });
        }
        messages.push(entry);
        Window {
            writer: writer.to_owned(),
            messages,
            clears,
        }
    }

    /// Applies `rewrite` to every entry; `true` if any changed.
    pub fn rewrite(&mut self, rewrite: &impl Fn(&Entry) -> Option<Entry>) -> bool {
        let mut changed = false;
        for entry in &mut self.messages {
            if let Some(new) = rewrite(entry) {
                changed |= new != *entry;
                *entry = new;
            }
        }
        changed
    }
}

/// Ids of the windows that together hold every entry in `lo ..= hi`:
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
mod tests;
