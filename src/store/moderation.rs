//! Deleting, editing and clearing: moderation events in a room's own sequence.
//!
//! Each change appends an event entry (so it takes the next id and reaches subscribers
//! in order, and a resuming client receives it), then rewrites every window that copied
//! the entries it changes. A message sits in up to 50 windows (`window`), so a deletion
//! costs an append plus up to 50 rewrites: once it returns, its text is in no KV value.
//!
//! Rewrites read each window and write it back only if nobody wrote it meanwhile
//! (`if_generation_match`), retrying on a conflict: two moderators at two POPs cannot
//! restore each other's erasures. At one POP, changes to a room also take the room's
//! append turn, so they do not even conflict.

use fastly::kv_store::{KVStoreError, PendingInsertHandle};

use super::keys::{id_from_key, message_key, room_prefix};
use super::rooms::{Rewrite, Rooms};
use super::turn::AppendTurn;
use super::window::{Change, Entry, WINDOW, Window};
use super::{StoreError, decode};
use crate::model::{Message, MessageId, RoomId, format_date};

/// Rewrites of one window retried after losing to a concurrent writer.
const REWRITE_ATTEMPTS: usize = 5;
/// Windows read or written at once.
const BATCH: usize = 50;
/// Keys per list page when a clear walks a whole room.
const LIST_PAGE: u32 = 1000;

/// Why a change to one message was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal<R> {
    /// No such message: never posted, deleted already, or expired.
    NotFound,
    /// The caller's own rule said no (not the author, too late to edit, …).
    Refused(R),
}

/// A change that was made: its event's id and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub event_id: MessageId,
    pub change: Change,
    /// Messages the change removed, or the message as edited.
    pub changed: Vec<Message>,
}

impl Rooms<'_> {
    /// Deletes message `id`, if `allowed` agrees once it has seen the message.
    pub fn delete<R>(
        &self,
        room: &RoomId,
        id: MessageId,
        allowed: impl FnOnce(&Message) -> Result<(), R>,
    ) -> Result<Result<Applied, Refusal<R>>, StoreError> {
        let turn = AppendTurn::take(room);
        let message = match self.current(room, id, allowed)? {
            Ok(message) => message,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let erase = |e: &Entry| (e.id() == id).then(|| Entry::gone(id));
        let change = Change::Delete { target: id };
        Ok(Ok(self.change_one(room, &turn, change, message, &erase)?))
    }

    /// Replaces message `id`'s text, if `allowed` agrees once it has seen the message.
    pub fn edit<R>(
        &self,
        room: &RoomId,
        id: MessageId,
        text: String,
        now: time::OffsetDateTime,
        allowed: impl FnOnce(&Message) -> Result<(), R>,
    ) -> Result<Result<Applied, Refusal<R>>, StoreError> {
        let turn = AppendTurn::take(room);
        let message = match self.current(room, id, allowed)? {
            Ok(message) => message,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let edited = Message {
            text,
            edited: Some(format_date(now)),
            ..message
        };
        // Only a message is rewritten: an erasure that got there first stays erased.
        let replace = |e: &Entry| match e {
            Entry::Message(m) if m.id == id => Some(Entry::Message(edited.clone())),
            _ => None,
        };
        let change = Change::Edit { target: id };
        Ok(Ok(self.change_one(
            room,
            &turn,
            change,
            edited.clone(),
            &replace,
        )?))
    }

    /// Removes every message of the room (or only those `from` one person) before a
    /// clear event. Walks the whole room: one list per 1,000 keys, one lookup per
    /// window, one write per window that held something to remove.
    pub fn clear(&self, room: &RoomId, from: Option<&str>) -> Result<Applied, StoreError> {
        let turn = AppendTurn::take(room);
        let removes = |e: &Entry| match e {
            Entry::Message(m) => from.is_none_or(|name| m.from == name),
            Entry::Event { .. } | Entry::Gone { .. } => false,
        };
        let erase = |e: &Entry| removes(e).then(|| Entry::gone(e.id()));
        let change = Change::Clear {
            from: from.map(str::to_owned),
        };
        let event_id = self.append_entry(
            room,
            &turn,
            |id| {
                (
                    Entry::Event {
                        id,
                        change: change.clone(),
                    },
                    id,
                )
            },
            &erase,
        )?;
        let windows = self.window_ids(room, event_id)?;
        let mut changed = Vec::new();
        for batch in windows.chunks(BATCH) {
            changed.extend(self.rewrite_windows(room, batch, &erase, &removes)?);
        }
        changed.sort_by_key(|m| m.id);
        changed.dedup_by_key(|m| m.id);
        Ok(Applied {
            event_id,
            change,
            changed,
        })
    }

    /// Message `id` as it is now, checked by `allowed`.
    fn current<R>(
        &self,
        room: &RoomId,
        id: MessageId,
        allowed: impl FnOnce(&Message) -> Result<(), R>,
    ) -> Result<Result<Message, Refusal<R>>, StoreError> {
        if id == 0 || id > self.newest_id(room)? {
            return Ok(Err(Refusal::NotFound));
        }
        Ok(match self.message(room, id)? {
            None => Err(Refusal::NotFound),
            Some(message) => allowed(&message)
                .map(|()| message)
                .map_err(Refusal::Refused),
        })
    }

    /// Appends `change` to one message and rewrites the windows after it that copied it.
    fn change_one(
        &self,
        room: &RoomId,
        turn: &AppendTurn,
        change: Change,
        message: Message,
        rewrite: Rewrite,
    ) -> Result<Applied, StoreError> {
        let target = message.id;
        let event_id = self.append_entry(
            room,
            turn,
            |id| {
                (
                    Entry::Event {
                        id,
                        change: change.clone(),
                    },
                    id,
                )
            },
            rewrite,
        )?;
        // Windows target ..= target + 49 hold it; the event's own was written above.
        let last = (target + WINDOW - 1).min(event_id - 1);
        let windows: Vec<MessageId> = (target..=last).collect();
        for batch in windows.chunks(BATCH) {
            self.rewrite_windows(room, batch, rewrite, &|e: &Entry| e.id() == target)?;
        }
        Ok(Applied {
            event_id,
            change,
            changed: vec![message],
        })
    }

    /// Rewrites the windows `ids` with `rewrite`, each only if unchanged since it was
    /// read (retrying conflicts). Returns the messages `affected` picked out of them.
    fn rewrite_windows(
        &self,
        room: &RoomId,
        ids: &[MessageId],
        rewrite: Rewrite,
        affected: &dyn Fn(&Entry) -> bool,
    ) -> Result<Vec<Message>, StoreError> {
        let mut found = Vec::new();
        let mut pending: Vec<MessageId> = ids.to_vec();
        for _ in 0..REWRITE_ATTEMPTS {
            let windows = self.read_versioned(room, &pending)?;
            let mut writes = Vec::new();
            for (id, window) in pending.iter().zip(windows) {
                let Some((mut window, generation)) = window else {
                    continue; // expired: nothing left to erase
                };
                found.extend(window.messages.iter().filter(|e| affected(e)).filter_map(
                    |e| match e {
                        Entry::Message(m) => Some(m.clone()),
                        _ => None,
                    },
                ));
                if window.rewrite(&|e: &Entry| rewrite(e)) {
                    writes.push((
                        *id,
                        self.write_if_unchanged(room, *id, &window, generation)?,
                    ));
                }
            }
            pending = self.conflicts(writes)?;
            if pending.is_empty() {
                return Ok(found);
            }
        }
        log::error!("room {room}: windows {pending:?} kept changing under a rewrite");
        Err(StoreError::Contended)
    }

    fn read_versioned(
        &self,
        room: &RoomId,
        ids: &[MessageId],
    ) -> Result<Vec<Option<(Window, u64)>>, StoreError> {
        self.meter.time(ids.len() as u32, || {
            let pending = ids
                .iter()
                .map(|&id| self.kv.build_lookup().execute_async(&message_key(room, id)))
                .collect::<Result<Vec<_>, _>>()?;
            pending
                .into_iter()
                .map(|handle| {
                    let found = self.kv.pending_lookup_wait(handle);
                    let generation = found.as_ref().map_or(0, |f| f.current_generation());
                    Ok(decode::<Window>(found)?.map(|w| (w, generation)))
                })
                .collect()
        })
    }

    fn write_if_unchanged(
        &self,
        room: &RoomId,
        id: MessageId,
        window: &Window,
        generation: u64,
    ) -> Result<PendingInsertHandle, StoreError> {
        let body = serde_json::to_vec(window).expect("a window always serializes");
        Ok(self
            .kv
            .build_insert()
            .if_generation_match(generation)
            .time_to_live(self.ttl)
            .execute_async(&message_key(room, id), body)?)
    }

    /// Waits for the writes; the ids whose window changed under them, to do again.
    fn conflicts(
        &self,
        writes: Vec<(MessageId, PendingInsertHandle)>,
    ) -> Result<Vec<MessageId>, StoreError> {
        self.meter.time(writes.len() as u32, || {
            let mut again = Vec::new();
            for (id, handle) in writes {
                match self.kv.pending_insert_wait(handle) {
                    Ok(()) => {}
                    Err(KVStoreError::ItemPreconditionFailed) => again.push(id),
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(again)
        })
    }

    /// Every stored window of the room before `before`, newest first.
    fn window_ids(&self, room: &RoomId, before: MessageId) -> Result<Vec<MessageId>, StoreError> {
        let prefix = room_prefix(room);
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut list = self.kv.build_list().prefix(&prefix).limit(LIST_PAGE);
            if let Some(cursor) = &cursor {
                list = list.cursor(cursor);
            }
            let page = self.meter.time(1, || list.execute())?;
            ids.extend(
                page.keys()
                    .iter()
                    .filter_map(|k| id_from_key(&prefix, k))
                    .filter(|&id| id < before),
            );
            match page.next_cursor() {
                Some(next) if page.keys().len() as u32 == LIST_PAGE => cursor = Some(next),
                _ => return Ok(ids),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::Draft;
    use crate::timing::KvMeter;

    fn post(rooms: &Rooms, room: &RoomId, from: &str, text: &str) -> Message {
        rooms
            .append(room, Draft::parse(Some(from), Some(text)).unwrap())
            .unwrap()
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
        let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
        let room = RoomId::parse("unit-delete").unwrap();
        for n in 1..=60 {
            post(&rooms, &room, "ann", &format!("text number {n}"));
        }
        assert!(
            raw_windows(&rooms, &room)
                .iter()
                .filter(|w| w.contains("text number 5\""))
                .count()
                == 50
        );
        let meter = KvMeter::default();
        let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
        let applied = rooms
            .delete(&room, 5, |_| Ok::<(), ()>(()))
            .unwrap()
            .unwrap();
        assert_eq!(applied.event_id, 61);
        assert_eq!(applied.change, Change::Delete { target: 5 });
        // list + lookup (target) + list + lookup (head) + add + 50 reads + 50 writes.
        assert_eq!(ops(&meter), 105, "{}", meter.server_timing());
        assert!(
            raw_windows(&rooms, &room)
                .iter()
                .all(|w| !w.contains("text number 5\""))
        );
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
        let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
        let room = RoomId::parse("unit-refuse").unwrap();
        post(&rooms, &room, "ann", "mine");
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
        let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
        let room = RoomId::parse("unit-edit").unwrap();
        for n in 1..=3 {
            post(&rooms, &room, "ann", &format!("draft {n}"));
        }
        let now = time::OffsetDateTime::now_utc();
        let applied = rooms
            .edit(&room, 2, "final".into(), now, |_| Ok::<(), ()>(()))
            .unwrap()
            .unwrap();
        assert_eq!(applied.event_id, 4);
        assert_eq!(applied.changed[0].text, "final");
        assert!(applied.changed[0].edited.is_some());
        assert!(
            raw_windows(&rooms, &room)
                .iter()
                .all(|w| !w.contains("draft 2"))
        );
        assert_eq!(rooms.message(&room, 2).unwrap().unwrap().text, "final");
    }

    #[test]
    fn clears_remove_everyone_or_one_person() {
        let meter = KvMeter::default();
        let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
        let room = RoomId::parse("unit-clear").unwrap();
        for n in 1..=70 {
            post(
                &rooms,
                &room,
                if n % 2 == 0 { "ann" } else { "bob" },
                &format!("said {n}"),
            );
        }
        let applied = rooms.clear(&room, Some("ann")).unwrap();
        assert_eq!((applied.event_id, applied.changed.len()), (71, 35));
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
        assert_eq!((applied.event_id, applied.changed.len()), (72, 35));
        assert_eq!(rooms.latest(&room, None, 100).unwrap().1, vec![]);
        assert!(
            raw_windows(&rooms, &room)
                .iter()
                .all(|w| !w.contains("said"))
        );
    }
}
