//! Private rooms' records in the KV Store, one per room:
//!
//! ```text
//! private:<room id>  → RoomInfo (title, members), made with Add, rewritten by generation
//! ```
//!
//! A room's record is made once (`Add`: an id is never given twice) and every change to
//! its members is a generation-matched rewrite, retried after losing to a concurrent one,
//! so two owners adding members at once both land. Checking membership is the one lookup
//! of that record; public rooms have none and cost nothing.

use super::StoreError;
use super::kv::Kv;
use crate::model::RoomId;
use crate::model::membership::RoomInfo;
use crate::timing::KvMeter;

/// Rewrites of a room's record retried after losing to a concurrent one.
const UPDATE_ATTEMPTS: usize = 8;

fn key(room: &RoomId) -> String {
    format!("private:{room}")
}

/// The private rooms of one request.
pub struct Memberships<'a> {
    kv: Kv<'a>,
}

impl<'a> Memberships<'a> {
    pub fn open(meter: &'a KvMeter) -> Result<Self, StoreError> {
        Ok(Self {
            kv: Kv::open(meter)?,
        })
    }

    /// The room's record, if it is a private room that exists.
    pub fn room(&self, room: &RoomId) -> Result<Option<RoomInfo>, StoreError> {
        self.kv.get(&key(room))
    }

    /// Makes a room; `false` when its id is taken (nothing is written then).
    pub fn create(&self, room: &RoomId, info: &RoomInfo) -> Result<bool, StoreError> {
        self.kv.add(&key(room), info, None)
    }

    /// Applies `change` to the room's record (see `Kv::update`); `None` when it has none.
    pub fn update<R>(
        &self,
        room: &RoomId,
        change: impl FnMut(&mut RoomInfo) -> Result<(), R>,
    ) -> Result<Option<Result<RoomInfo, R>>, StoreError> {
        self.kv.update(&key(room), UPDATE_ATTEMPTS, change)
    }
}
