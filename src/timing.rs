//! Counts the KV operations a request makes and how long they took, for the
//! `Server-Timing` header every API response carries: cost you can see in devtools.

use std::cell::Cell;
use std::time::Instant;

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

    /// `kv;desc="3 ops";dur=1.2` (duration in milliseconds).
    pub fn server_timing(&self) -> String {
        let ops = self.ops.get();
        let unit = if ops == 1 { "op" } else { "ops" };
        let millis = self.micros.get() as f64 / 1000.0;
        format!("kv;desc=\"{ops} {unit}\";dur={millis:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_counts_ops() {
        let meter = KvMeter::default();
        assert_eq!(meter.server_timing(), "kv;desc=\"0 ops\";dur=0.0");
        assert_eq!(meter.time(1, || 5), 5);
        assert!(meter.server_timing().starts_with("kv;desc=\"1 op\";dur="));
        meter.time(2, || ());
        assert!(meter.server_timing().starts_with("kv;desc=\"3 ops\";dur="));
    }
}
