//! Counts the KV operations a request makes and how long they took, for the
//! `Server-Timing` header every API response carries: cost you can see in devtools.
//! The header also carries the request's backend requests and config lookups
//! (`budget`), so one header shows a request's whole cost against Fastly's limits.

use std::cell::Cell;
use std::time::Instant;

use crate::budget;

#[derive(Debug, Default)]
pub struct KvMeter {
    ops: Cell<u32>,
    micros: Cell<u64>,
}

impl KvMeter {
    /// Runs `f`, which performs `ops` KV operations (several when they run concurrently),
    /// and adds them and their wall time to the tally.
    pub fn time<T>(&self, ops: u32, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.ops.set(self.ops.get() + ops);
        self.micros
            .set(self.micros.get() + start.elapsed().as_micros() as u64);
        out
    }

    /// `kv;desc="3 ops";dur=1.2, backend;desc="1 request", config;desc="9 lookups"`
    /// (duration in milliseconds; the last two from `budget`).
    pub fn server_timing(&self) -> String {
        let ops = self.ops.get();
        let unit = if ops == 1 { "op" } else { "ops" };
        let millis = self.micros.get() as f64 / 1000.0;
        format!(
            "kv;desc=\"{ops} {unit}\";dur={millis:.1}, {}",
            budget::server_timing()
        )
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
    }
}
