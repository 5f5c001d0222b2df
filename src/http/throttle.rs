//! Rate limits applied to requests (see `limits`): who counts as whom, and the 429.

use fastly::Request;

use super::access::Caller;
use super::error::ApiError;
use crate::auth::Via;
use crate::config::{Config, Rate};
use crate::limits::{self, Verdict};

/// What a rate limit counts a caller as: the person, the API key, or (open mode) the
/// client address.
pub fn identity(caller: &Caller, req: &Request) -> String {
    match caller {
        Caller::User(user) => match &user.via {
            Via::Session => format!("user:{}", user.user_id),
            Via::ApiKey { key_id } => format!("key:{key_id}"),
        },
        Caller::Anyone => format!("ip:{}", client_address(req)),
    }
}

/// The client's address, for per-address limits.
pub fn client_address(req: &Request) -> String {
    req.get_client_ip_addr()
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
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
