//! Small values kept whole in this POP's Core Cache with a lifetime: presence rosters
//! and typing marks, the first id a POP failed to publish, rate-limit hints. All of
//! them are hints or ephemera, so a cache failure reads as "nothing there" and a failed
//! write is the caller's to log: neither may take a request down.

use std::io::{Read, Write};
use std::time::Duration;

use fastly::cache::core::{self, CacheKey};

/// The value under `key`, if there is one and it can be read.
pub fn read(key: &str) -> Option<Vec<u8>> {
    let found = core::lookup(CacheKey::from(key.to_owned()))
        .execute()
        .ok()??;
    let mut bytes = Vec::new();
    found.to_stream().ok()?.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// The value under `key` read as a decimal number.
pub fn read_number(key: &str) -> Option<u64> {
    std::str::from_utf8(&read(key)?).ok()?.trim().parse().ok()
}

/// Stores `bytes` under `key` for `ttl`, replacing what was there.
pub fn write(key: &str, ttl: Duration, bytes: &[u8]) -> Result<(), String> {
    let mut body = core::insert(CacheKey::from(key.to_owned()), ttl)
        .execute()
        .map_err(|e| e.to_string())?;
    body.write_all(bytes)
        .and_then(|()| body.finish())
        .map_err(|e| e.to_string())
}
