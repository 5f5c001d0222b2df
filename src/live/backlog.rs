//! What a (re)connecting subscriber is sent before it goes live: the messages after its
//! resume point, up to a page at a time, or a reset when they cannot be had.

use super::event::{Event, ResetReason};
use crate::model::{Message, MessageId, RoomId};
use crate::store::{Change, Entry, Rooms, StoreError, newest};

/// Most messages one response replays; Fanout fetches the rest from a `Grip-Link`.
/// With 50-message windows a page costs at most 1 list + 3 lookups, however many
/// subscribers recover at once (django-eventstream #174 is that pile-up).
pub const BACKLOG_MAX: u64 = 100;

/// What a subscription has to be sent before it goes live, given the room's newest id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backlog {
    /// Up to date already.
    Nothing,
    /// The resume id is newer than the room: reset to now.
    Ahead,
    /// Messages `lo ..= hi`; `more` when the room has newer ones than `hi`.
    Range {
        lo: MessageId,
        hi: MessageId,
        more: bool,
    },
}

pub fn plan(after: Option<MessageId>, newest: MessageId) -> Backlog {
    match after {
        None => Backlog::Nothing,
        Some(n) if n > newest => Backlog::Ahead,
        Some(n) if n == newest => Backlog::Nothing,
        Some(n) => {
            let hi = newest.min(n + BACKLOG_MAX);
            Backlog::Range {
                lo: n + 1,
                hi,
                more: hi < newest,
            }
        }
    }
}

/// The events to send now, and what comes after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUp {
    pub events: Vec<Event>,
    pub then: Then,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Go live: the subscriber has everything up to `prev_id`.
    Hold { prev_id: MessageId },
    /// More is stored after `last_sent`: fetch the next page before going live.
    Continue { last_sent: MessageId },
}

/// Reads what a subscriber resuming `after` (or live, for `None`) must be sent first.
///
/// The room's head is this POP's copy (`store::cached_head`) unless the copy is behind
/// the subscriber, or `fanout_saw_more`: a link Fanout fetches at a position it already
/// had (a prev-id gap: it saw a newer entry, perhaps published at another POP), which
/// must not be answered from a copy that has not seen it yet.
pub fn catch_up(
    rooms: &Rooms,
    room: &RoomId,
    after: Option<MessageId>,
    fanout_saw_more: bool,
) -> Result<CatchUp, StoreError> {
    let seen = after.map(|after| after + u64::from(fanout_saw_more));
    let head = rooms.head_reaching(room, seen)?;
    let newest = newest(&head);
    let live = |events| CatchUp {
        events,
        then: Then::Hold { prev_id: newest },
    };
    let reset = |reason| live(vec![Event::Reset { reason, newest }]);
    Ok(match plan(after, newest) {
        Backlog::Nothing => live(Vec::new()),
        Backlog::Ahead => reset(ResetReason::Ahead),
        Backlog::Range { lo, hi, more } => {
            let entries = rooms.entries_from(room, lo, hi, &head)?;
            if entries.first().map(Entry::id) != Some(lo) || entries.len() as u64 != hi - lo + 1 {
                reset(ResetReason::Expired)
            } else {
                CatchUp {
                    events: events_of(rooms, room, entries)?
                        .into_iter()
                        .filter_map(|(_, event)| event)
                        .collect(),
                    then: if more {
                        Then::Continue { last_sent: hi }
                    } else {
                        Then::Hold { prev_id: hi }
                    },
                }
            }
        }
    })
}

/// What each stored entry tells a subscriber, by id: `None` for one it is told nothing
/// about (a deleted message; an edit of a message deleted since). An edit's message (a
/// reaction's summary) is read from the entries given, or looked up when it is older
/// than they are: it is the message as it is now, perhaps changed again since.
pub fn events_of(
    rooms: &Rooms,
    room: &RoomId,
    entries: Vec<Entry>,
) -> Result<Vec<(MessageId, Option<Event>)>, StoreError> {
    let mut events = Vec::with_capacity(entries.len());
    // Older messages looked up, each once however many events change it.
    let mut older: Vec<(MessageId, Option<Message>)> = Vec::new();
    for entry in &entries {
        let event = match entry {
            Entry::Message(m) => Some(Event::Message(m.clone())),
            Entry::Gone { .. } => None,
            Entry::Event { id, change } => match change {
                Change::Delete { target } => Some(Event::Delete {
                    id: *id,
                    target: *target,
                }),
                Change::Clear { from } => Some(Event::Clear {
                    id: *id,
                    from: from.clone(),
                }),
                Change::Edit { target } | Change::React { target } => {
                    let known = entries.iter().find_map(|e| match e {
                        Entry::Message(m) if m.id == *target => Some(m.clone()),
                        _ => None,
                    });
                    let message = match known {
                        Some(message) => Some(message),
                        None if entries.first().is_some_and(|e| e.id() > *target) => {
                            match older.iter().find(|(t, _)| t == target) {
                                Some((_, m)) => m.clone(),
                                None => {
                                    let m = rooms.message(room, *target)?;
                                    older.push((*target, m.clone()));
                                    m
                                }
                            }
                        }
                        None => None,
                    };
                    message.map(|message| match change {
                        Change::React { .. } => Event::Reaction {
                            id: *id,
                            target: *target,
                            reactions: message.reactions,
                        },
                        _ => Event::Edit { id: *id, message },
                    })
                }
            },
        };
        events.push((entry.id(), event));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_plans() {
        assert_eq!(plan(None, 10), Backlog::Nothing);
        assert_eq!(plan(Some(10), 10), Backlog::Nothing);
        assert_eq!(plan(Some(11), 10), Backlog::Ahead);
        assert_eq!(plan(Some(1), 0), Backlog::Ahead);
        assert_eq!(plan(Some(0), 0), Backlog::Nothing);
        assert_eq!(
            plan(Some(0), 3),
            Backlog::Range {
                lo: 1,
                hi: 3,
                more: false
            }
        );
        assert_eq!(
            plan(Some(5), 105),
            Backlog::Range {
                lo: 6,
                hi: 105,
                more: false
            }
        );
        assert_eq!(
            plan(Some(5), 106),
            Backlog::Range {
                lo: 6,
                hi: 105,
                more: true
            }
        );
    }
}
