//! Finding a room's newest entry without trusting the order of a KV list.
//!
//! Ids are stored inverted (`keys`), so a lexicographic list names a room's newest key
//! first, and Viceroy's lists are lexicographic (its store is a `BTreeMap`). Fastly
//! documents no list order, so a listed page is believed only when it proves itself:
//!
//! * a page that holds every key of the room (fewer than asked for, or no next cursor)
//!   gives its largest id, whatever the order;
//! * a fuller page is in the expected order when its ids fall one by one (`n, n-1, …`):
//!   a room's keys are contiguous, since every append extends the head by one and all
//!   keys of a room share one TTL. Then its first id is the head.
//!
//! Anything else is logged as an error and answered by listing the whole room (largest
//! id over every page, at most `FULL_LIST_PAGES` list operations), and this POP then
//! remembers for `UNORDERED_MEMORY` that the store lists out of order, so it stops
//! trusting pages that only look ordered. The check costs nothing while lists are in
//! order: `HEAD_PAGE` keys are one list operation, like the single key before.

use std::time::Duration;

use super::StoreError;
use super::keys::{id_from_key, room_prefix};
use super::local;
use super::rooms::Rooms;
use crate::cache;
use crate::model::{MessageId, RoomId};

/// Keys listed to find the head: enough that a page in order by chance is unlikely
/// (a shuffled page of 5 falls in order 1 time in 120), still one list operation.
const HEAD_PAGE: u32 = 5;
/// Keys per page of a full listing (the most a KV list returns).
const LIST_PAGE: u32 = 1000;
/// List operations a full listing may take: rooms up to 20,000 keys, and 20 of a
/// request's 200 KV operations. A bigger room with an unordered store fails with `Busy`.
const FULL_LIST_PAGES: u32 = 20;
/// How long a POP remembers that the store listed a page out of order.
const UNORDERED_MEMORY: Duration = Duration::from_secs(600);
/// This POP's memory of it (Core Cache).
const UNORDERED_KEY: &str = "edge-chat:kv-lists-unordered";

/// One listed page's ids, in the order listed, and whether it holds every key.
struct Page {
    ids: Vec<MessageId>,
    complete: bool,
    cursor: Option<String>,
}

impl Rooms<'_> {
    /// The id of the room's newest entry, 0 for an empty room. One list operation while
    /// the store lists in order (see the module doc).
    pub fn newest_id(&self, room: &RoomId) -> Result<MessageId, StoreError> {
        let prefix = room_prefix(room);
        if cache::read(UNORDERED_KEY).is_none() {
            let page = self.list_page(&prefix, HEAD_PAGE, None)?;
            if page.complete {
                if !descending(&page.ids) {
                    remember_unordered(room, &page.ids);
                }
                return Ok(page.ids.iter().copied().max().unwrap_or(0));
            }
            if descending(&page.ids) {
                return Ok(page.ids[0]);
            }
            remember_unordered(room, &page.ids);
        }
        self.newest_by_full_listing(room, &prefix)
    }

    /// The largest id over every key of the room.
    fn newest_by_full_listing(&self, room: &RoomId, prefix: &str) -> Result<MessageId, StoreError> {
        let mut newest = 0;
        let mut cursor = None;
        for _ in 0..FULL_LIST_PAGES {
            let page = self.list_page(prefix, LIST_PAGE, cursor.as_deref())?;
            newest = page.ids.iter().copied().max().unwrap_or(0).max(newest);
            if page.complete {
                return Ok(newest);
            }
            cursor = page.cursor;
        }
        log::error!("room {room}: more than {FULL_LIST_PAGES} pages of keys to list");
        Err(StoreError::Busy)
    }

    /// One list operation: up to `limit` keys under `prefix` from `cursor`, reordered
    /// as the local list-order switch says.
    fn list_page(
        &self,
        prefix: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page, StoreError> {
        let mut list = self.kv.build_list().prefix(prefix).limit(limit);
        if let Some(cursor) = cursor {
            list = list.cursor(cursor);
        }
        let page = self.meter.time(1, || list.execute())?;
        let cursor = page.next_cursor();
        let mut keys = page.into_keys();
        local::reorder(&mut keys);
        Ok(Page {
            complete: keys.len() < limit as usize || cursor.is_none(),
            ids: keys.iter().filter_map(|k| id_from_key(prefix, k)).collect(),
            cursor,
        })
    }
}

/// Whether `ids` fall one by one from the first: the order inverted ids list in.
fn descending(ids: &[MessageId]) -> bool {
    ids.windows(2).all(|w| w[0] == w[1] + 1)
}

fn remember_unordered(room: &RoomId, ids: &[MessageId]) {
    log::error!(
        "KV listed room {room}'s keys out of order (ids {ids:?}); finding heads by full \
         listings at this POP for {} s",
        UNORDERED_MEMORY.as_secs()
    );
    if let Err(e) = cache::write(UNORDERED_KEY, UNORDERED_MEMORY, b"1") {
        log::warn!("could not remember that KV lists out of order: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Draft, room};
    use crate::store::local::{ListOrder, simulate};
    use crate::timing::KvMeter;

    fn post(rooms: &Rooms, r: &RoomId, n: u64) {
        for i in 0..n {
            let draft = Draft::parse(Some("unit"), Some(&format!("m{i}"))).unwrap();
            rooms.append(r, draft).unwrap();
        }
    }

    fn forget_unordered() {
        cache::write(UNORDERED_KEY, Duration::from_millis(1), b"1").unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache::read(UNORDERED_KEY).is_none());
    }

    #[test]
    fn only_pages_falling_one_by_one_count_as_ordered() {
        assert!(descending(&[9, 8, 7, 6, 5]));
        assert!(descending(&[1]) && descending(&[]));
        assert!(!descending(&[5, 6, 7, 8, 9]));
        assert!(
            !descending(&[9, 7, 6, 5, 4]),
            "a gap is not the order ids list in"
        );
        assert!(!descending(&[9, 8, 6, 7, 5]));
    }

    #[test]
    fn the_head_is_found_whatever_order_the_store_lists_in() {
        let ttl = Duration::from_secs(600);
        let meter = KvMeter::default();
        let rooms = Rooms::open(&meter, ttl).unwrap();
        let (small, big) = (room("unit-head-small"), room("unit-head-big"));
        post(&rooms, &small, 3);
        post(&rooms, &big, 12);
        let ops = |f: &dyn Fn(&Rooms) -> MessageId| {
            let meter = KvMeter::default();
            let rooms = Rooms::open(&meter, ttl).unwrap();
            (f(&rooms), meter.ops())
        };
        // In order (Viceroy): one list operation.
        assert_eq!(ops(&|r| r.newest_id(&big).unwrap()), (12, 1));

        simulate(Duration::ZERO, ListOrder::Reversed);
        // A page holding the whole room proves its head in any order.
        assert_eq!(ops(&|r| r.newest_id(&small).unwrap()), (3, 1));
        assert!(
            cache::read(UNORDERED_KEY).is_some(),
            "but disorder is remembered"
        );
        forget_unordered();
        // A partial page out of order: fall back to listing everything, and remember.
        assert_eq!(ops(&|r| r.newest_id(&big).unwrap()), (12, 2));
        assert!(cache::read(UNORDERED_KEY).is_some());
        // Remembered: straight to the full listing.
        assert_eq!(ops(&|r| r.newest_id(&big).unwrap()), (12, 1));

        simulate(Duration::ZERO, ListOrder::Shuffled);
        forget_unordered();
        // Appending on an unordered store keeps ids contiguous and windows right.
        post(&rooms, &big, 40);
        let (newest, messages) = rooms.latest(&big, None, 100).unwrap();
        assert_eq!(newest, 52);
        let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        assert_eq!(ids, (1..=52).collect::<Vec<_>>());
        simulate(Duration::ZERO, ListOrder::AsListed);
    }
}
