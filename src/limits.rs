//! Rate limits: how often one identity may post, moderate or run a passkey ceremony.
//!
//! Two layers behind one `check`:
//!
//! * **Business limits** (`post_rate`, `auth_rate`, `moderation_rate`, e.g. 20 posts per
//!   10 s) count in the POP's Core Cache, exactly: each aligned window has `count`
//!   numbered tickets, and claiming ticket n is a transactional cache lookup, which
//!   request collapsing grants to exactly one caller (the same mechanism as the append
//!   turn in `store::turn`). A request that finds every ticket taken is refused until
//!   the window ends. A hint key remembers how many are taken, so an allowed request
//!   costs about four cache operations and no KV. Per POP, not global: someone spread
//!   over several POPs gets a budget at each (a person's browser stays on one POP).
//! * **A flood guard** (`flood_rps`, requests per second per client IP over 10 s, Edge
//!   Rate Limiting): production only. Fastly's ERL counts per POP from about 10
//!   requests a second up, so it cannot say "10 sign-ins a minute", and Viceroy stubs it
//!   (it never limits), so nothing here depends on it being there.
//!
//! Unset, a business limit does not apply (`[setup]` sets the production values); the
//! local manifest leaves them unset so test traffic from one address is not throttled,
//! and the tests set small ones where they test the limits.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fastly::cache::core::{self, CacheKey, Transaction};
use fastly::erl::{ERL, Penaltybox, RateCounter, RateWindow};

use crate::cache;
use crate::config::Rate;

/// How long a client over the flood guard is refused (ERL's shortest penalty).
const FLOOD_PENALTY: Duration = Duration::from_secs(60);

/// Whether a request may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit: the client may try again after this long.
    Limited {
        retry_after: Duration,
    },
}

/// Counts one request of `kind` (e.g. `post`) by `identity` against `rate`.
pub fn check(kind: &str, identity: &str, rate: Rate) -> Verdict {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let per = rate.per.as_secs().max(1);
    let slot = now.as_secs() / per;
    let prefix = format!("edge-chat:limit:{kind}:{identity}:{slot}");
    // Tickets outlive their window a little, so a slow claim still sees them taken.
    let keep = rate.per * 2;
    for ticket in taken(&prefix) + 1..=rate.count {
        match claim(&format!("{prefix}:t{ticket}"), keep) {
            Claim::Mine => {
                remember_taken(&prefix, ticket, keep);
                return Verdict::Allowed;
            }
            Claim::Taken => {}
            // The cache failed: a limit must not take the chat down with it.
            Claim::Unknown => return Verdict::Allowed,
        }
    }
    Verdict::Limited {
        retry_after: Duration::from_secs((slot + 1) * per - now.as_secs()),
    }
}

/// The production flood guard: `false` when `client` is over `rps` (see module doc).
pub fn flood_ok(client: &str, rps: u32) -> bool {
    let erl = ERL::open(
        RateCounter::open("edge_chat_flood"),
        Penaltybox::open("edge_chat_flood"),
    );
    !erl.check_rate(client, 1, RateWindow::TenSecs, rps, FLOOD_PENALTY)
        .unwrap_or(false)
}

enum Claim {
    Mine,
    Taken,
    Unknown,
}

fn claim(key: &str, keep: Duration) -> Claim {
    let tx = match Transaction::lookup(CacheKey::from(key.to_owned())).execute() {
        Ok(tx) => tx,
        Err(e) => {
            log::warn!("rate limit ticket {key}: {e}");
            return Claim::Unknown;
        }
    };
    if !tx.must_insert_or_update() {
        return Claim::Taken;
    }
    match tx.insert(keep).execute().and_then(|mut body| {
        let _ = body.write_all(b"1");
        body.finish()
            .map_err(|_| core::CacheError::InvalidOperation)
    }) {
        Ok(()) => Claim::Mine,
        Err(e) => {
            log::warn!("rate limit ticket {key}: {e}");
            Claim::Unknown
        }
    }
}

/// How many tickets of the window are known to be taken (a hint: maybe fewer).
fn taken(prefix: &str) -> u32 {
    cache::read_number(&format!("{prefix}:n"))
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0)
}

fn remember_taken(prefix: &str, ticket: u32, keep: Duration) {
    // A lost hint only costs the next request a few more ticket lookups.
    let _ = cache::write(&format!("{prefix}:n"), keep, ticket.to_string().as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_allows_exactly_its_count() {
        let rate = Rate::new(3, 60);
        let me = format!("unit-{}", uuid::Uuid::new_v4());
        let verdicts: Vec<Verdict> = (0..5).map(|_| check("post", &me, rate)).collect();
        assert_eq!(&verdicts[..3], &[Verdict::Allowed; 3]);
        for verdict in &verdicts[3..] {
            let Verdict::Limited { retry_after } = verdict else {
                panic!("over the limit: {verdicts:?}");
            };
            assert!(*retry_after <= Duration::from_secs(60) && *retry_after > Duration::ZERO);
        }
        // Budgets are per identity and per kind.
        assert_eq!(check("post", "someone-else", rate), Verdict::Allowed);
        assert_eq!(check("edit", &me, rate), Verdict::Allowed);
    }

    #[test]
    fn the_flood_guard_never_limits_where_erl_is_not_there() {
        // Viceroy stubs Edge Rate Limiting: the guard must then let everything through.
        assert!((0..20).all(|_| flood_ok("127.0.0.1", 1)));
    }
}
