//! Local-only switches that make Viceroy's KV Store behave as Fastly's may.
//!
//! Viceroy answers in microseconds and lists keys in lexicographic order (its store is a
//! `BTreeMap`); Fastly's KV is a round trip to the store's primary and documents no list
//! order. `http::serve` sets both switches at the start of each request from the config
//! (`kv_delay_ms`, `kv_list_order`), which `config` reads only when running under
//! Viceroy, so a production Config Store entry cannot slow or scramble the service.
//! A process global is enough: one wasm instance serves one request.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use crate::timing;

/// How the KV wrapper hands on each listed page (`kv_list_order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    /// As the store listed it.
    AsListed,
    /// In a random order.
    Shuffled,
    /// Back to front.
    Reversed,
}

static LIST_ORDER: AtomicU8 = AtomicU8::new(ListOrder::AsListed as u8);

/// Sets this request's simulated KV round trip and list order.
pub fn simulate(delay: Duration, order: ListOrder) {
    timing::set_kv_delay(delay);
    LIST_ORDER.store(order as u8, Ordering::Relaxed);
}

thread_local! {
    /// The POP this request stands in for, in local tests only (`pop_header`): one
    /// Viceroy then keeps a separate head cache, append turn and append queue per named
    /// POP, as Fastly's POPs each have their own Core Cache, while sharing one KV Store.
    static POP: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Sets the POP this request's POP-local state belongs to (empty: this one).
pub fn simulate_pop(pop: Option<&str>) {
    POP.with(|p| *p.borrow_mut() = pop.unwrap_or_default().to_owned());
}

/// A Core Cache key for this POP's `what` (with the simulated POP in local tests).
pub(super) fn pop_key(what: &str) -> String {
    POP.with(|pop| match pop.borrow().as_str() {
        "" => format!("edge-chat:{what}"),
        pop => format!("edge-chat:pop-{pop}:{what}"),
    })
}

/// One rule of the fault switch: fail `op` on keys starting with `prefix`, every time or
/// only the `nth` time (counting from 1) in this request.
struct FaultRule {
    op: String,
    prefix: String,
    nth: Option<u32>,
    seen: u32,
}

thread_local! {
    /// This request's injected KV failures (`fail_kv`).
    static FAILING: RefCell<Vec<FaultRule>> = const { RefCell::new(Vec::new()) };
}

/// Local tests' KV fault switch: `rules` (a request header's value, read only when the
/// local-only `kv_fault_header` config names it) is a comma list of
/// `<op>:<key prefix>[@<n>]`, e.g. `delete:cred:,replace:user:@2`: each `add`, `replace`
/// or `delete` a rule names fails as an unavailable store would (with `@n`, only its n-th
/// one). The identity tests use it to break one step of a multi-step change and show
/// that nothing usable is left behind.
pub fn fail_kv(rules: Option<&str>) {
    let parsed = rules
        .unwrap_or_default()
        .split(',')
        .filter_map(|rule| {
            let (op, rest) = rule.trim().split_once(':')?;
            let (prefix, nth) = match rest.rsplit_once('@') {
                Some((prefix, n)) => (prefix, Some(n.parse().ok()?)),
                None => (rest, None),
            };
            Some(FaultRule {
                op: op.to_owned(),
                prefix: prefix.to_owned(),
                nth,
                seen: 0,
            })
        })
        .collect();
    FAILING.with_borrow_mut(|failing| *failing = parsed);
}

/// Whether the fault switch fails operation `op` on `key` (counting it).
pub(super) fn fails(op: &str, key: &str) -> bool {
    FAILING.with_borrow_mut(|failing| {
        let mut fail = false;
        for rule in failing.iter_mut() {
            if rule.op == op && key.starts_with(rule.prefix.as_str()) {
                rule.seen += 1;
                fail |= rule.nth.is_none_or(|n| n == rule.seen);
            }
        }
        fail
    })
}

/// Reorders one listed page of keys as the list-order switch says.
pub(super) fn reorder(keys: &mut [String]) {
    match LIST_ORDER.load(Ordering::Relaxed) {
        o if o == ListOrder::Shuffled as u8 => shuffle(keys),
        o if o == ListOrder::Reversed as u8 => keys.reverse(),
        _ => {}
    }
}

/// Fisher–Yates with a xorshift seeded from the clock: a test switch needs no RNG crate.
fn shuffle(keys: &mut [String]) {
    let mut state = clock_nanos() | 1;
    for i in (1..keys.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        keys.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

/// The clock's nanoseconds: random enough to spread retries and shuffle test pages.
pub(super) fn clock_nanos() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    now.as_secs().wrapping_mul(1_000_000_007) ^ u64::from(now.subsec_nanos())
}

/// Unit tests' seam for KV failures Viceroy never produces: the next `times` appends'
/// inserts fail with `error` instead of reaching the store.
#[cfg(test)]
pub(super) mod faults {
    use std::cell::RefCell;

    use fastly::kv_store::KVStoreError;

    thread_local! {
        static NEXT: RefCell<Vec<KVStoreError>> = const { RefCell::new(Vec::new()) };
    }

    pub fn inject(error: KVStoreError, times: usize) {
        NEXT.with(|next| next.borrow_mut().extend(std::iter::repeat_n(error, times)));
    }

    pub fn take() -> Option<KVStoreError> {
        NEXT.with(|next| next.borrow_mut().pop())
    }

    pub fn left() -> usize {
        NEXT.with(|next| next.borrow().len())
    }
}

/// Outside unit tests nothing is ever injected.
#[cfg(not(test))]
pub(super) mod faults {
    pub fn take() -> Option<fastly::kv_store::KVStoreError> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_reordered_as_switched() {
        let page: Vec<String> = (0..20).map(|i| format!("k{i:02}")).collect();
        let mut keys = page.clone();
        reorder(&mut keys);
        assert_eq!(keys, page, "as listed by default");
        simulate(Duration::ZERO, ListOrder::Reversed);
        reorder(&mut keys);
        assert_eq!(keys.first().map(String::as_str), Some("k19"));
        simulate(Duration::ZERO, ListOrder::Shuffled);
        reorder(&mut keys);
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, page, "a shuffle keeps every key");
        assert_ne!(keys, page, "20 keys shuffled back into order: 1 in 20!");
        simulate(Duration::ZERO, ListOrder::AsListed);
    }

    #[test]
    fn the_fault_switch_fails_only_what_it_names() {
        fail_kv(Some("delete:cred:, replace:user:,nonsense,add:user:@x"));
        assert!(fails("delete", "cred:abc"));
        assert!(fails("replace", "user:x"));
        assert!(!fails("add", "cred:abc"));
        assert!(
            !fails("add", "user:x"),
            "a rule that does not parse is left out"
        );
        assert!(!fails("delete", "apikey:abc"));
        fail_kv(Some("replace:user:@2"));
        let replaces: Vec<bool> = (0..3).map(|_| fails("replace", "user:x")).collect();
        assert_eq!(replaces, [false, true, false]);
        fail_kv(None);
        assert!(!fails("delete", "cred:abc"));
    }
}
