//! Rate limits applied to requests (see `limits`): who counts as whom, and the 429.
//!
//! A person is one budget however they come (their browser session or any of their API
//! keys), or minting keys would multiply it. A client address is its IPv4 address or
//! its IPv6 /64: one host or home network gets a whole /64 from its provider, so
//! counting each /128 would give it 2^64 budgets.

use std::net::IpAddr;

use fastly::Request;

use super::access::Caller;
use super::error::ApiError;
use crate::config::{Config, Rate};
use crate::limits::{self, Verdict};

/// The bits of an IPv6 address counted as one client: the /64 a provider routes to one
/// subscriber (RFC 6177 recommends at least a /64 per site).
const IPV6_CLIENT_PREFIX_BITS: u32 = 64;

/// What a rate limit counts a caller as: the person (by session or API key alike), or
/// (open mode) the client address.
pub fn identity(caller: &Caller, req: &Request) -> String {
    match caller {
        Caller::User(user) => format!("user:{}", user.user_id),
        Caller::Anyone => format!("ip:{}", client_address(req)),
    }
}

/// The client's address, for per-address limits: IPv4 as is, IPv6 as its /64.
pub fn client_address(req: &Request) -> String {
    req.get_client_ip_addr()
        .map_or_else(|| "unknown".to_owned(), address_key)
}

/// `203.0.113.7`, or `2001:db8:1:2::/64` for every address in that /64 (an IPv4 address
/// mapped into IPv6 counts as itself).
fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let mask = u128::MAX << (128 - IPV6_CLIENT_PREFIX_BITS);
                let network = std::net::Ipv6Addr::from(u128::from(v6) & mask);
                format!("{network}/{IPV6_CLIENT_PREFIX_BITS}")
            }
        },
    }
}

/// Counts one request of `kind` against the limit configured under `rate_key`, if any:
/// 429 with `Retry-After` when over it.
pub fn throttle(
    config: &Config,
    rate_key: &'static str,
    kind: &str,
    identity: &str,
) -> Result<(), ApiError> {
    limit(config.rate(rate_key), kind, identity)
}

/// Counts one request of `kind` against `rate`, if there is one: 429 with `Retry-After`
/// when over it.
pub fn limit(rate: Option<Rate>, kind: &str, identity: &str) -> Result<(), ApiError> {
    let Some(rate) = rate else {
        return Ok(());
    };
    match limits::check(kind, identity, rate) {
        Verdict::Allowed => Ok(()),
        Verdict::Limited { retry_after } => Err(ApiError::too_many_requests(retry_after)),
    }
}

/// The production flood guard for requests that change something.
pub fn flood_guard(req: &Request, config: &Config) -> Result<(), ApiError> {
    match config.flood_rps() {
        Some(rps) if !limits::flood_ok(&client_address(req), rps) => Err(
            ApiError::too_many_requests(std::time::Duration::from_secs(60)),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ip: &str) -> String {
        address_key(ip.parse().unwrap())
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("::1"), "::/64");
    }

    #[test]
    fn ipv4_clients_are_counted_per_address() {
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_ne!(key("203.0.113.8"), key("203.0.113.7"));
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
    }
}
