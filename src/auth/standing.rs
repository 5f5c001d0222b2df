//! Whether a session or an API key still stands: the KV reads behind revocation.
//!
//! Both are answered by the account's `user:` record (`store::sessions` for sessions,
//! the key list for keys): one lookup. A session's token is believed without it while
//! fresh and only read (`auth::session`); a write, or a read with a stale token, looks.
//! A stale session that still stands earns a fresh token, which the response carries
//! as a `Set-Cookie` ([`take_cookie`], added where every response leaves, `http::send`);
//! one that ended gets its cookie cleared the same way.

use std::cell::RefCell;

use fastly::Request;

use super::session::{self, Session, Verified};
use super::{Refused, is_secure, now, random};
use crate::config::Config;
use crate::store::{Accounts, StoreError, User};
use crate::timing::KvMeter;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

thread_local! {
    /// The `Set-Cookie` this request's response should carry, if a check earned one.
    static COOKIE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The `Set-Cookie` a session check of this request earned (a fresh token, or clearing
/// an ended session's), taken once.
pub fn take_cookie() -> Option<String> {
    COOKIE.with(|c| c.borrow_mut().take())
}

fn note_cookie(cookie: String) {
    COOKIE.with(|c| *c.borrow_mut() = Some(cookie));
}

/// The session a verified token names, if it stands: believed as it is when fresh and
/// `writes` is false; otherwise checked against the account's record (one lookup), its
/// name taken from there, and a stale token renewed.
pub fn session(
    req: &Request,
    config: &Config,
    meter: &KvMeter,
    verified: Verified,
    writes: bool,
) -> Result<Session, Refused> {
    if verified.fresh && !writes {
        return Ok(verified.session);
    }
    let mut session = verified.session;
    let now = now();
    match holder(&session.user_id, meter).map_err(Refused::Store)? {
        Some(user) if user.holds_session(&session.id, session.epoch, session.until, now) => {
            session.name = user.name;
            if !verified.fresh {
                renew(req, config, &session, now);
            }
            Ok(session)
        }
        _ => {
            note_cookie(session::clear_cookie(is_secure(req)));
            Err(Refused::SessionEnded)
        }
    }
}

/// Whether session `id` of `user_id` (begun under `epoch`, ending at `until`) stands.
pub fn session_stands(
    user_id: &str,
    id: &str,
    epoch: u32,
    until: i64,
    meter: &KvMeter,
) -> Result<bool, StoreError> {
    let user = holder(user_id, meter)?;
    Ok(user.is_some_and(|u| u.holds_session(id, epoch, until, now())))
}

/// Whether API key `key_id` of `user_id` is still listed, not being revoked.
pub fn key_stands(user_id: &str, key_id: &str, meter: &KvMeter) -> Result<bool, StoreError> {
    Ok(holder(user_id, meter)?.is_some_and(|u| u.lists_key(key_id)))
}

fn holder(user_id: &str, meter: &KvMeter) -> Result<Option<User>, StoreError> {
    Accounts::open(meter)?.user(user_id)
}

/// A new session for `user` (after a passkey check at `checked_at`), lasting the
/// configured lifetime.
pub fn begin(user: &User, checked_at: i64, config: &Config) -> Session {
    let lifetime = i64::try_from(config.session_lifetime().as_secs()).unwrap_or(i64::MAX / 2);
    Session {
        user_id: user.id.clone(),
        name: user.name.clone(),
        id: B64.encode(random::<12>()),
        epoch: user.session_epoch,
        until: now() + lifetime,
        checked_at,
    }
}

/// The `Set-Cookie` that holds `session` (fresh from `now`); `None` without a key.
pub fn cookie_for(req: &Request, config: &Config, session: &Session, now: i64) -> Option<String> {
    let key = config.session_key()?;
    let token = session::issue(&key, session, now, config.session_check());
    Some(session::set_cookie(&token, session, now, is_secure(req)))
}

fn renew(req: &Request, config: &Config, session: &Session, now: i64) {
    if let Some(cookie) = cookie_for(req, config, session, now) {
        note_cookie(cookie);
    }
}
