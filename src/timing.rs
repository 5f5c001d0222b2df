//! Counts the KV operations a request makes and how long they took, for the
//! `Server-Timing` header every API response carries: cost you can see in devtools.
//! The header also carries the request's backend requests and config lookups
//! (`budget`), so one header shows a request's whole cost against Fastly's limits.
//!
//! Every KV operation goes through [`KvMeter::time`], which makes it the one place to
//! give the local stack Fastly's latency too: Viceroy's KV answers in microseconds, where
//! Fastly's is a network round trip (20–50 ms to the store's primary). With a delay set
//! (config `kv_delay_ms`, honoured only locally: `config::Config::kv_delay`), each call
//! pauses that long first, once per call, so a batch of concurrent lookups costs one
//! round trip, as it does on Fastly.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The simulated round trip, in microseconds (0: none). A process global set once at the
/// start of a request (`http::serve`): one wasm instance serves one request.
static KV_DELAY_MICROS: AtomicU64 = AtomicU64::new(0);
/// Pauses taken so far, for the unit tests.
#[cfg(test)]
static PAUSES: AtomicU64 = AtomicU64::new(0);

/// Makes every KV operation of this request take `delay` longer (`ZERO`: as fast as the
/// store answers).
pub fn set_kv_delay(delay: Duration) {
    KV_DELAY_MICROS.store(delay.as_micros() as u64, Ordering::Relaxed);
}

use crate::budget;

#[derive(Debug, Default)]
pub struct KvMeter {
    ops: Cell<u32>,
    /// Calls of [`KvMeter::time`]: round trips on the request's critical path (a batch of
    /// concurrent operations is one).
    trips: Cell<u32>,
    micros: Cell<u64>,
}

impl KvMeter {
    /// Runs `f`, which performs `ops` KV operations (several when they run concurrently),
    /// and adds them and their wall time to the tally.
    pub fn time<T>(&self, ops: u32, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        pause_for_kv();
        let out = f();
        self.ops.set(self.ops.get() + ops);
        self.trips.set(self.trips.get() + 1);
        self.micros
            .set(self.micros.get() + start.elapsed().as_micros() as u64);
        out
    }

    /// KV operations so far in this request.
    pub fn ops(&self) -> u32 {
        self.ops.get()
    }

    /// `kv;desc="3 ops";dur=1.2, backend;desc="1 request", config;desc="9 lookups",
    /// kv-trips;desc="2 round trips"` (duration in milliseconds; `backend` and `config`
    /// from `budget`). At Fastly's KV latency a request waits about one round trip per
    /// `kv-trips`, whatever its `kv` count.
    pub fn server_timing(&self) -> String {
        let ops = self.ops.get();
        let unit = if ops == 1 { "op" } else { "ops" };
        // Tenths of a millisecond in integers: formatting an f64 would link core's float
        // printing (about 11 KB of wasm) for this one number.
        let tenths = (self.micros.get() + 50) / 100;
        let trips = self.trips.get();
        let trips_unit = if trips == 1 { "trip" } else { "trips" };
        format!(
            "kv;desc=\"{ops} {unit}\";dur={}.{}, {}, kv-trips;desc=\"{trips} round {trips_unit}\"",
            tenths / 10,
            tenths % 10,
            budget::server_timing()
        )
    }
}

/// One simulated round trip, if a delay is set.
fn pause_for_kv() {
    let micros = KV_DELAY_MICROS.load(Ordering::Relaxed);
    if micros > 0 {
        #[cfg(test)]
        PAUSES.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_micros(micros));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_counts_ops() {
        let meter = KvMeter::default();
        assert!(
            meter
                .server_timing()
                .starts_with("kv;desc=\"0 ops\";dur=0.0, backend;desc=\"")
        );
        assert!(meter.server_timing().contains(", config;desc=\""));
        assert_eq!(meter.time(1, || 5), 5);
        assert!(meter.server_timing().starts_with("kv;desc=\"1 op\";dur="));
        meter.time(2, || ());
        assert!(meter.server_timing().starts_with("kv;desc=\"3 ops\";dur="));
        assert_eq!(meter.ops(), 3);
        assert_eq!(PAUSES.load(Ordering::Relaxed), 0, "no delay set: no pause");
    }

    #[test]
    fn a_delay_is_one_pause_per_call_whatever_its_ops() {
        set_kv_delay(Duration::from_millis(15));
        let meter = KvMeter::default();
        meter.time(1, || ());
        meter.time(50, || ()); // a batch of concurrent lookups: one round trip
        assert_eq!(PAUSES.load(Ordering::Relaxed), 2);
        assert_eq!(meter.ops(), 51);
        // The pauses are inside the timed section, so Server-Timing shows them.
        let dur: f64 = meter
            .server_timing()
            .split("dur=")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(dur >= 30.0, "{dur} ms for two paused calls");
        set_kv_delay(Duration::ZERO);
        meter.time(1, || ());
        assert_eq!(PAUSES.load(Ordering::Relaxed), 2, "delay off again");
    }
}
