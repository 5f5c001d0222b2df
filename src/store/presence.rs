//! Each POP's presence summary of a room, `presence:{room}:{pop}`: what is in one, and
//! when it is written and trusted, is `live::presence::remote`'s; here only the KV side.
//! A summary is written whole (one KV write) and read by listing the room's summaries
//! and looking up every other POP's. Failures only delay other POPs' view of a room, so
//! they are logged and read as "nothing there".

use std::time::Duration;

use fastly::kv_store::{InsertMode, KVStore, KVStoreError};

use super::STORE_NAME;
use crate::model::RoomId;
use crate::timing::KvMeter;

fn key(room: &RoomId, pop: &str) -> String {
    format!("{}{pop}", prefix(room))
}

fn prefix(room: &RoomId) -> String {
    format!("presence:{room}:")
}

fn open() -> Option<KVStore> {
    KVStore::open(STORE_NAME).ok().flatten()
}

/// Stores `pop`'s summary of `room` (one KV write), kept for `ttl`.
pub fn write_summary(room: &RoomId, pop: &str, body: Vec<u8>, ttl: Duration, meter: &KvMeter) {
    let Some(kv) = open() else { return };
    let written = meter.time(1, || {
        kv.build_insert()
            .mode(InsertMode::Overwrite)
            .time_to_live(ttl)
            .execute(&key(room, pop), body)
    });
    if let Err(e) = written {
        log::warn!("presence summary of {room} not written: {e}");
    }
}

/// The stored summaries of `room` from POPs other than `own_pop`, at most `most` of
/// them: one list, then a lookup each.
pub fn read_summaries(room: &RoomId, own_pop: &str, most: usize, meter: &KvMeter) -> Vec<Vec<u8>> {
    let Some(kv) = open() else {
        return Vec::new();
    };
    let own = key(room, own_pop);
    let listed = meter.time(1, || {
        kv.build_list()
            .prefix(&prefix(room))
            .limit(most as u32 + 1)
            .execute()
    });
    let keys: Vec<String> = match listed {
        Ok(page) => page.into_keys().into_iter().filter(|k| *k != own).collect(),
        Err(e) => {
            log::warn!("presence summaries of {room} not listed: {e}");
            return Vec::new();
        }
    };
    keys.iter()
        .take(most)
        .filter_map(|k| match meter.time(1, || kv.lookup(k)) {
            Ok(mut found) => Some(found.take_body_bytes()),
            Err(KVStoreError::ItemNotFound) => None,
            Err(e) => {
                log::warn!("presence summary {k} not read: {e}");
                None
            }
        })
        .collect()
}
