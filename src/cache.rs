//! Small values kept whole in this POP's Core Cache with a lifetime: presence rosters
//! and typing marks, the first id a POP failed to publish, rate-limit hints. All of
//! them are hints or ephemera, so a cache failure reads as "nothing there" and a failed
//! write is the caller's to log: neither may take a request down.

use std::io::{Read, Write};
use std::time::Duration;

use fastly::cache::core::{self, CacheKey};
use fastly::http::body::StreamingBody;

/// The value under `key`, if there is one and it can be read.
pub fn read(key: &str) -> Option<Vec<u8>> {
    let found = core::lookup(CacheKey::from(key.to_owned()))
        .execute()
        .ok()??;
    bytes_of(&found)
}

/// A found object's whole value.
fn bytes_of(found: &core::Found) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    found.to_stream().ok()?.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Writes `bytes` as an insertion's whole value.
fn put(body: Result<StreamingBody, core::CacheError>, bytes: &[u8]) -> Result<(), String> {
    let mut body = body.map_err(|e| e.to_string())?;
    body.write_all(bytes)
        .and_then(|()| body.finish())
        .map_err(|e| e.to_string())
}

/// The value under `key` read as a decimal number.
pub fn read_number(key: &str) -> Option<u64> {
    std::str::from_utf8(&read(key)?).ok()?.trim().parse().ok()
}

/// Stores `bytes` under `key` for `ttl`, replacing what was there.
pub fn write(key: &str, ttl: Duration, bytes: &[u8]) -> Result<(), String> {
    put(
        core::insert(CacheKey::from(key.to_owned()), ttl).execute(),
        bytes,
    )
}

/// The value under `key`, or else the one `fill` makes, then stored for `ttl`. Callers
/// that find the key missing at the same time wait (up to `wait`) for the first one's
/// fill rather than each filling (request collapsing: a thousand streams opening at once
/// cost one fill). A cache failure, or a wait that runs out, fills without storing.
/// `None` when `fill` failed (it keeps its own error).
pub fn read_or_fill(
    key: &str,
    ttl: Duration,
    wait: Duration,
    fill: &mut dyn FnMut() -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let tx = match core::Transaction::lookup(CacheKey::from(key.to_owned()))
        .timeout(wait)
        .execute()
    {
        Ok(tx) => tx,
        Err(e) => {
            log::warn!("cache lookup of {key} failed: {e}");
            return fill();
        }
    };
    let found = tx.found().as_ref().and_then(bytes_of);
    if found.is_some() {
        return found;
    }
    if !tx.must_insert_or_update() {
        return fill();
    }
    match fill() {
        Some(bytes) => {
            if let Err(e) = put(tx.insert(ttl).execute(), &bytes) {
                log::warn!("{key} not cached: {e}");
            }
            Some(bytes)
        }
        None => {
            // Hands the fill to the next caller waiting.
            let _ = tx.cancel_insert_or_update();
            None
        }
    }
}
