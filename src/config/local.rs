//! The local stack's switches: settings honoured only under Viceroy, so that the local
//! stack can behave as Fastly does (KV latency, unordered lists, several POPs) or fail
//! on purpose (KV faults). On Fastly none of them is even looked up: a Config Store entry
//! cannot slow, scramble or break the service, nor cost it a lookup.

use std::time::Duration;

use super::Config;
use crate::store::ListOrder;

impl Config {
    /// A simulated KV round trip for every operation (`kv_delay_ms`, 0..=1000; local
    /// only, see `running_locally`): Fastly's KV latency on Viceroy (`timing`).
    pub fn kv_delay(&self) -> Duration {
        if !running_locally() {
            return Duration::ZERO;
        }
        Duration::from_millis(self.number("kv_delay_ms", 0..=1000, 0))
    }

    /// How listed KV pages reach the code (`kv_list_order`: `shuffle` or `reverse`;
    /// local only): a test switch for a store that documents no list order.
    pub fn kv_list_order(&self) -> ListOrder {
        if !running_locally() {
            return ListOrder::AsListed;
        }
        match self.get("kv_list_order").as_deref().map(str::trim) {
            None => ListOrder::AsListed,
            Some("shuffle") => ListOrder::Shuffled,
            Some("reverse") => ListOrder::Reversed,
            Some(other) => {
                log::error!("unknown kv_list_order {other:?}; listing as the store does");
                ListOrder::AsListed
            }
        }
    }

    /// Local tests only: a request header naming the POP a request stands in for, so one
    /// Viceroy can be several POPs, each with its own Core Cache state (presence, head
    /// cache, append turns: `store::simulate_pop`), sharing one KV Store (`pop_header`,
    /// or `presence_pop_header` as first named; unset: `FASTLY_POP`). Honoured only
    /// locally: in production a client could otherwise pick its own POP's state.
    pub fn pop_header(&self) -> Option<String> {
        if !running_locally() {
            return None;
        }
        self.get("pop_header")
            .or_else(|| self.get("presence_pop_header"))
    }

    /// Local tests only: a request header whose value fails the KV operations it names
    /// (`kv_fault_header`; see `store::fail_kv`). Honoured only locally, like the KV
    /// switches, so no production request can break its own writes.
    pub fn kv_fault_header(&self) -> Option<String> {
        if !running_locally() {
            return None;
        }
        self.get("kv_fault_header")
    }
}

/// Whether this is Viceroy, the local test server: it names the host `localhost` and
/// the POP `XXX`, which no Fastly cache node does. Local-only switches (`kv_delay_ms`,
/// `kv_list_order`) are not even looked up elsewhere, so a production Config Store
/// entry can neither slow the service nor cost it a lookup.
pub(super) fn running_locally() -> bool {
    let env = |name| std::env::var(name).unwrap_or_default();
    env("FASTLY_HOSTNAME") == "localhost" && env("FASTLY_POP") == "XXX"
}
