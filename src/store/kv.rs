//! Metered KV operations on JSON values, for the records that are not message windows.

use std::time::Duration;

use fastly::kv_store::{InsertMode, KVStore, KVStoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{STORE_NAME, StoreError, decode, local};
use crate::timing::KvMeter;

/// Retention for records that have no reason to expire (accounts, keys). KV needs a
/// TTL to be given or none at all; a decade is "until deleted".
const FOREVER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The KV Store, with every operation counted on the request's meter.
pub struct Kv<'a> {
    kv: KVStore,
    meter: &'a KvMeter,
}

/// A value and the generation it was read at, for a conditional rewrite.
pub struct Versioned<T> {
    pub value: T,
    pub generation: u64,
}

impl<'a> Kv<'a> {
    pub fn open(meter: &'a KvMeter) -> Result<Self, StoreError> {
        Ok(Self {
            kv: open_store()?,
            meter,
        })
    }

    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        Ok(self.get_versioned(key)?.map(|v| v.value))
    }

    pub fn get_versioned<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        let found = self.meter.time(1, || self.kv.lookup(key));
        let generation = found.as_ref().map_or(0, |item| item.current_generation());
        Ok(decode(found)?.map(|value| Versioned { value, generation }))
    }

    /// Inserts `value` unless `key` exists; `false` when it did.
    pub fn add<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<bool, StoreError> {
        injected("add", key)?;
        let body = serde_json::to_vec(value).expect("records always serialize");
        let inserted = self.meter.time(1, || {
            self.kv
                .build_insert()
                .mode(InsertMode::Add)
                .time_to_live(ttl.unwrap_or(FOREVER))
                .execute(key, body)
        });
        accepted(inserted)
    }

    /// Rewrites `key` if it is still at `generation`; `false` when someone else wrote it
    /// first (read it again and retry).
    pub fn replace<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        generation: u64,
    ) -> Result<bool, StoreError> {
        injected("replace", key)?;
        let body = serde_json::to_vec(value).expect("records always serialize");
        let written = self.meter.time(1, || {
            self.kv
                .build_insert()
                .if_generation_match(generation)
                .time_to_live(FOREVER)
                .execute(key, body)
        });
        accepted(written)
    }

    /// Applies `change` to the record at `key` and writes it back unless another request
    /// rewrote it meanwhile, then reads again and retries (at most `attempts` times, then
    /// `Contended`). `None` when there is no record; `change` may refuse with `Err(reason)`,
    /// returned untouched with nothing written.
    pub fn update<T, R>(
        &self,
        key: &str,
        attempts: usize,
        mut change: impl FnMut(&mut T) -> Result<(), R>,
    ) -> Result<Option<Result<T, R>>, StoreError>
    where
        T: Serialize + DeserializeOwned,
    {
        for _ in 0..attempts {
            let Some(Versioned {
                mut value,
                generation,
            }) = self.get_versioned::<T>(key)?
            else {
                return Ok(None);
            };
            if let Err(refused) = change(&mut value) {
                return Ok(Some(Err(refused)));
            }
            if self.replace(key, &value, generation)? {
                return Ok(Some(Ok(value)));
            }
        }
        Err(StoreError::Contended)
    }

    pub fn delete(&self, key: &str) -> Result<(), StoreError> {
        injected("delete", key)?;
        match self.meter.time(1, || self.kv.delete(key)) {
            Ok(()) | Err(KVStoreError::ItemNotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A failure the local fault switch injects (`local::fail_kv`; never in production).
fn injected(op: &str, key: &str) -> Result<(), StoreError> {
    match local::fails(op, key) {
        true => Err(StoreError::Unavailable),
        false => Ok(()),
    }
}

/// Whether a conditional write went through; a lost condition is not an error.
fn accepted(result: Result<(), KVStoreError>) -> Result<bool, StoreError> {
    match result {
        Ok(()) => Ok(true),
        Err(KVStoreError::ItemPreconditionFailed) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub fn open_store() -> Result<KVStore, StoreError> {
    match KVStore::open(STORE_NAME) {
        Ok(Some(kv)) => Ok(kv),
        Ok(None) | Err(_) => {
            log::error!("KV Store '{STORE_NAME}' is not linked to this service");
            Err(StoreError::NotLinked)
        }
    }
}
