//! What one request may spend, and what it has spent, of Fastly's per-execution limits.
//!
//! Fastly stops a Compute execution that goes over its limits
//! (docs.fastly.com/products/compute-resource-limits): 32 backend requests (10 on trial
//! accounts), 32 dictionary/config lookups, 50 ms CPU, 2 min wall time (60 s on trial
//! accounts). Locally Viceroy enforces none of them, so nothing here would show a path
//! creeping over one until it failed in production. So the service counts, per request,
//! every backend request it sends and every Config Store or Secret Store lookup that
//! reaches its store (KV operations are counted by `timing::KvMeter`), and every response
//! reports them in `Server-Timing`; the end-to-end tests (tests/test_budget.py) drive each
//! path's worst case and check the counts against the trial limits.
//!
//! Counting is not enough where a request decides at run time how much to send (a
//! publish and its retries, a republished backlog): there [`backend_request`] refuses a
//! request that would go over [`BACKEND_MAX`], and the caller stops before the limit
//! rather than being stopped after it.
//!
//! One Wasm instance serves one request (one execution), so the counters are simply
//! process-wide.
//!
//! A request that keeps working after its response has gone (a post waits for its publish
//! after answering) reports what it has sent plus what it has reserved with
//! [`reserve_backend`]: the most it may still send. The header is then the worst case of
//! the whole execution, not a count that stops when the answer leaves.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// Backend requests one execution may send: Fastly's trial-account limit (32 on paid
/// accounts). Every path is designed to fit the trial limit.
pub const BACKEND_MAX: u32 = 10;
/// Config Store and Secret Store lookups Fastly allows one execution.
pub const CONFIG_MAX: u32 = 32;
/// KV operations one execution may spend: this project's own bound (Fastly documents
/// none, but every operation is a round trip of tens of ms, and the 2 min wall time,
/// 60 s on trial, is spent long before any store limit). Checked by the tests; work that
/// decides its own size at run time (a socket's batch of messages) stops before it.
pub const KV_MAX: u32 = 200;

static BACKEND_SENT: AtomicU32 = AtomicU32::new(0);
/// Backend requests reserved and not sent yet (`reserve_backend`).
static BACKEND_RESERVED: AtomicU32 = AtomicU32::new(0);
static CONFIG_LOOKUPS: AtomicU32 = AtomicU32::new(0);

/// Takes one backend request from the budget: `false` (and a log line) when the
/// execution has sent [`BACKEND_MAX`] already, in which case the caller must not send.
#[must_use]
pub fn backend_request() -> bool {
    let sent = BACKEND_SENT.load(Relaxed);
    if sent >= BACKEND_MAX {
        log::warn!("backend request not sent: {BACKEND_MAX} per execution already sent");
        return false;
    }
    BACKEND_SENT.store(sent + 1, Relaxed);
    true
}

/// How many more backend requests this execution may send or reserve.
pub fn backend_left() -> u32 {
    BACKEND_MAX.saturating_sub(BACKEND_SENT.load(Relaxed) + BACKEND_RESERVED.load(Relaxed))
}

/// Reserves up to `more` backend requests (what is left at most) that the execution may
/// send later, possibly after its response has gone, so the response reports them.
/// Whoever reserves gives each back with [`unreserve_backend`] as it sends it or no
/// longer needs it.
pub fn reserve_backend(more: u32) {
    BACKEND_RESERVED.fetch_add(more.min(backend_left()), Relaxed);
}

/// Gives back `n` reserved backend requests (sent, or not needed after all).
pub fn unreserve_backend(n: u32) {
    let reserved = BACKEND_RESERVED.load(Relaxed);
    BACKEND_RESERVED.store(reserved.saturating_sub(n), Relaxed);
}

/// Counts one Config Store `try_get` or Secret Store open and get that reached its store.
pub fn config_lookup() {
    let n = CONFIG_LOOKUPS.fetch_add(1, Relaxed) + 1;
    if n == CONFIG_MAX + 1 {
        log::error!("over {CONFIG_MAX} config lookups in one execution");
    }
}

/// Backend requests sent and reserved: the most this execution sends (never more than
/// [`BACKEND_MAX`], which `backend_request` enforces).
pub fn backend_requests() -> u32 {
    (BACKEND_SENT.load(Relaxed) + BACKEND_RESERVED.load(Relaxed)).min(BACKEND_MAX)
}

pub fn config_lookups() -> u32 {
    CONFIG_LOOKUPS.load(Relaxed)
}

/// The `Server-Timing` entries after `kv`: `backend;desc="2 requests", config;desc="5 lookups"`.
pub fn server_timing() -> String {
    let backend = backend_requests();
    let config = config_lookups();
    let requests = if backend == 1 { "request" } else { "requests" };
    let lookups = if config == 1 { "lookup" } else { "lookups" };
    format!("backend;desc=\"{backend} {requests}\", config;desc=\"{config} {lookups}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test: the counters are process-wide, and the unit tests of a module run in
    /// one instance.
    #[test]
    fn counts_refuses_and_reports() {
        let base = BACKEND_SENT.load(Relaxed);
        assert!(base + 3 < BACKEND_MAX);
        config_lookup();
        reserve_backend(3);
        assert_eq!(
            backend_requests(),
            base + 3,
            "reserved counts before it is sent"
        );
        assert_eq!(backend_left(), BACKEND_MAX - base - 3);
        unreserve_backend(1);
        assert!(backend_request());
        assert_eq!(
            backend_requests(),
            base + 3,
            "a reserved request is not counted twice"
        );
        unreserve_backend(2);
        assert_eq!(
            backend_requests(),
            base + 1,
            "what is given back is not reported"
        );
        reserve_backend(BACKEND_MAX);
        assert_eq!(
            backend_requests(),
            BACKEND_MAX,
            "a reservation is capped by the limit"
        );
        unreserve_backend(BACKEND_MAX);
        while BACKEND_SENT.load(Relaxed) < BACKEND_MAX {
            assert!(backend_request());
        }
        assert!(!backend_request(), "the limit is never exceeded");
        assert_eq!(backend_requests(), BACKEND_MAX);
        assert!(server_timing().starts_with("backend;desc=\"10 requests\", config;desc=\""));
        assert!(server_timing().ends_with(" lookups\"") || server_timing().ends_with(" lookup\""));
    }
}
