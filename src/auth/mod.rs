//! Who may do what.
//!
//! * `webauthn`: verifying passkey ceremonies (WebAuthn Level 3, pure functions).
//! * `ceremony`: the options a browser needs to create or use a passkey.
//! * `session`: the signed cookie a passkey sign-in sets (no KV read while it is fresh).
//! * `standing`: whether a session or API key still stands (one KV read), and the
//!   fresh cookie a stale session's check earns.
//! * `stream_pass`: the credential a held stream's links carry, checked again on each.
//! * `api_key`: bearer keys for programs, stored hashed (two KV reads to check: the
//!   key's record and its owner's, which must still list it).
//! * `admins`: who moderates everyone (`admins` lists account ids or exact names).
//! * `decoy`: made-up sign-in options for names nobody has.
//! * `grip_sig`: only Fanout's signed call-backs get GRIP instructions.
//! * `csrf`: a page on another site cannot make a visitor's browser change anything here.
//!
//! `identify` turns a request's credentials into a [`Principal`], or says why they are
//! refused; what a principal may then do is the handlers' business.

pub mod admins;
pub mod api_key;
pub mod ceremony;
pub mod csrf;
pub mod decoy;
pub mod grip_sig;
#[cfg(test)]
mod props;
pub mod session;
pub mod standing;
pub mod stream_pass;
pub mod webauthn;

use fastly::Request;
use fastly::http::header;

use crate::config::Config;
use crate::store::{Accounts, StoreError};
use crate::timing::KvMeter;

use self::session::Session;
use crate::headers::HeaderText;

/// Someone the service knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub name: String,
    pub via: Via,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A browser's session cookie.
    Session(Session),
    /// `Authorization: Bearer <key>`, one of the user's API keys.
    ApiKey { key_id: String },
}

/// Why the credentials a request carries are not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A bearer key that is unknown or revoked: refused at once, never ignored.
    BadKey,
    /// A session cookie whose session was signed out or ended (its cookie is cleared).
    SessionEnded,
    Store(StoreError),
}

/// Whether the request came over https (production), which decides the cookie's name
/// and attributes.
pub fn is_secure(req: &Request) -> bool {
    req.get_url().scheme() == "https"
}

/// Who is asking: a bearer API key if one is presented (two KV lookups), else a valid
/// session cookie: no KV while its token is fresh and the request only reads, one
/// lookup otherwise (`standing`).
pub fn identify(
    req: &Request,
    config: &Config,
    meter: &KvMeter,
) -> Result<Option<Principal>, Refused> {
    let credential = [
        if req.get_method().is_safe() { "r" } else { "w" },
        req.header_text(header::AUTHORIZATION).unwrap_or_default(),
        req.header_text(header::COOKIE).unwrap_or_default(),
    ]
    .join("\n");
    if let Some(known) = KNOWN.with_borrow(|k| k.as_ref().filter(|k| k.0 == credential).cloned()) {
        return Ok(Some(known.1));
    }
    let found = identify_afresh(req, config, meter)?;
    if let Some(principal) = &found {
        KNOWN.set(Some((credential, principal.clone())));
    }
    Ok(found)
}

thread_local! {
    /// The last credential `identify` accepted in this execution (one request on Compute),
    /// and whose it is: the private-room gate and the handler after it ask about the same
    /// request, and each answer costs a KV lookup (a write's session check, an API key's
    /// two records). The credential is the method's safety, `Authorization` and `Cookie`.
    static KNOWN: std::cell::RefCell<Option<(String, Principal)>> =
        const { std::cell::RefCell::new(None) };
}

fn identify_afresh(
    req: &Request,
    config: &Config,
    meter: &KvMeter,
) -> Result<Option<Principal>, Refused> {
    if let Some(presented) = bearer(req) {
        let hash = api_key::checked_hash(presented).ok_or(Refused::BadKey)?;
        return listed_key(&hash, meter)
            .map_err(Refused::Store)?
            .map(Some)
            .ok_or(Refused::BadKey);
    }
    let Some(verified) = session_token(req, config) else {
        return Ok(None);
    };
    let writes = !req.get_method().is_safe();
    let session = standing::session(req, config, meter, verified, writes)?;
    Ok(Some(Principal {
        user_id: session.user_id.clone(),
        name: session.name.clone(),
        via: Via::Session(session),
    }))
}

/// The owner of the API key with this hash, if the key's record exists and its owner
/// still lists it, not marked as being revoked (see `store::accounts`): a revocation
/// that fails half-way leaves a dead key, never a working one nobody can see. The name
/// is the account's own, from its record.
fn listed_key(hash: &str, meter: &KvMeter) -> Result<Option<Principal>, StoreError> {
    let accounts = Accounts::open(meter)?;
    let Some(owner) = accounts.api_key(hash)? else {
        return Ok(None);
    };
    let Some(user) = accounts.user(&owner.user_id)? else {
        return Ok(None);
    };
    Ok(user.lists_key(&owner.key_id).then(|| Principal {
        user_id: user.id,
        name: user.name,
        via: Via::ApiKey {
            key_id: owner.key_id,
        },
    }))
}

/// The session in the request's cookie, as its signed token says, if the signature
/// holds and the session has not reached its end; whether it still stands is
/// `standing`'s question.
fn session_token(req: &Request, config: &Config) -> Option<session::Verified> {
    let key = config.session_key()?;
    let cookies = req.header_text(header::COOKIE)?;
    let token = session::token_in(cookies, is_secure(req))?;
    session::verify(&key, token, now())
}

/// The signed-in person a page is for (pages only read): `None` when nobody is, or
/// their session has ended (its cookie is then cleared).
pub fn session_of(req: &Request, config: &Config, meter: &KvMeter) -> Option<Session> {
    let verified = session_token(req, config)?;
    standing::session(req, config, meter, verified, false).ok()
}

/// The time now, in Unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Whether the request presents the Secret Store's `admin_key` as its bearer token.
pub fn is_admin_key(req: &Request, config: &Config) -> bool {
    let (Some(presented), Some(key)) = (bearer(req), config.admin_key()) else {
        return false;
    };
    // Compared in constant time: the key is a password.
    presented.len() == key.len()
        && presented
            .bytes()
            .zip(key.bytes())
            .fold(0, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Whether the request carries an `Authorization: Bearer` token (valid or not).
pub fn has_bearer(req: &Request) -> bool {
    bearer(req).is_some()
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(req: &Request) -> Option<&str> {
    let value = req.header_text(header::AUTHORIZATION)?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `N` random bytes from the host's entropy source.
pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the host's random source is always available");
    bytes
}
