//! The credential a held stream carries in its links, so that each link Fanout fetches
//! checks again whether the stream's session or API key still stands.
//!
//! Fanout fetches a stream's `Grip-Link` by itself, without the client's cookies or
//! `Authorization` (Pushpin's `httpsession` sends only `Grip-Last`), so the link names
//! who the stream is for: a pass, signed with `session_key` under its own issuer (it
//! passes for no session), saying which session (id, epoch, end) or which API key. A
//! link's fetch reads the account's record once (`auth::standing`); the hold asks Fanout
//! to fetch it at least every `session_check_secs`, and at the session's end, so a
//! stream outlives a revocation or expiry by at most that long.

use std::collections::HashSet;
use std::time::Duration;

use jwt_simple::prelude::{
    Claims, HS256Key, JWTClaims, MACLike, NoCustomClaims, VerificationOptions,
    coarsetime::Duration as JwtDuration,
};

use super::{Principal, Via, standing};
use crate::store::StoreError;
use crate::timing::KvMeter;

/// The `iss` of passes, so no other token signed with the key passes as one.
const ISSUER: &str = "edge-chat-stream";
/// How long an API key's pass is signed for: its key is checked on every use anyway.
const KEY_PASS: Duration = Duration::from_secs(400 * 24 * 3600);

/// Who a held stream is for, as its pass says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    Session {
        user_id: String,
        id: String,
        epoch: u32,
        until: i64,
    },
    Key {
        user_id: String,
        key_id: String,
    },
}

impl Holder {
    /// Whether the session or key still stands (one KV lookup).
    pub fn stands(&self, meter: &KvMeter) -> Result<bool, StoreError> {
        match self {
            Self::Session {
                user_id,
                id,
                epoch,
                until,
            } => standing::session_stands(user_id, id, *epoch, *until, meter),
            Self::Key { user_id, key_id } => standing::key_stands(user_id, key_id, meter),
        }
    }

    /// Seconds until the stream should be checked again: `every`, or sooner if its
    /// session ends sooner (then just after it ends).
    pub fn check_in(&self, every: Duration, now: i64) -> u64 {
        let every = every.as_secs();
        match self {
            Self::Session { until, .. } => {
                u64::try_from(until - now + 1).map_or(1, |left| left.clamp(1, every))
            }
            Self::Key { .. } => every,
        }
    }

    pub fn user_id(&self) -> &str {
        match self {
            Self::Session { user_id, .. } | Self::Key { user_id, .. } => user_id,
        }
    }

    /// The holder a principal's stream has.
    pub fn of(principal: &Principal) -> Self {
        let user_id = principal.user_id.clone();
        match &principal.via {
            Via::Session(s) => Self::Session {
                user_id,
                id: s.id.clone(),
                epoch: s.epoch,
                until: s.until,
            },
            Via::ApiKey { key_id } => Self::Key {
                user_id,
                key_id: key_id.clone(),
            },
        }
    }
}

/// A pass for `holder`'s stream, valid until its session ends.
pub fn issue(key: &[u8], holder: &Holder, now: i64) -> String {
    let (user_id, jti, expires) = match holder {
        Holder::Session {
            user_id,
            id,
            epoch,
            until,
        } => (
            user_id,
            format!("s.{id}.{epoch}"),
            u64::try_from(*until).unwrap_or(0),
        ),
        Holder::Key { user_id, key_id } => (
            user_id,
            format!("k.{key_id}"),
            u64::try_from(now).unwrap_or(0) + KEY_PASS.as_secs(),
        ),
    };
    let mut claims = Claims::create(JwtDuration::from_secs(0))
        .with_issuer(ISSUER)
        .with_subject(user_id)
        .with_jwt_id(jti);
    claims.expires_at = Some(JwtDuration::from_secs(expires));
    HS256Key::from_bytes(key)
        .authenticate(claims)
        .expect("HS256 signing cannot fail")
}

/// The holder a pass names, if it is ours and its session has not ended.
pub fn verify(key: &[u8], pass: &str) -> Option<Holder> {
    let options = VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISSUER.to_owned()])),
        time_tolerance: Some(JwtDuration::from_secs(0)),
        ..Default::default()
    };
    let claims: JWTClaims<NoCustomClaims> = HS256Key::from_bytes(key)
        .verify_token(pass, Some(options))
        .ok()?;
    let user_id = claims.subject?;
    let until = i64::try_from(claims.expires_at?.as_secs()).ok()?;
    let jti = claims.jwt_id?;
    match jti.split('.').collect::<Vec<_>>()[..] {
        ["s", id, epoch] => Some(Holder::Session {
            user_id,
            id: id.to_owned(),
            epoch: epoch.parse().ok()?,
            until,
        }),
        ["k", key_id] => Some(Holder::Key {
            user_id,
            key_id: key_id.to_owned(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a-session-key-of-thirty-two-byte";

    fn now() -> i64 {
        crate::auth::now()
    }

    #[test]
    fn a_pass_names_its_session_or_key() {
        let session = Holder::Session {
            user_id: "u1".into(),
            id: "s1".into(),
            epoch: 2,
            until: now() + 60,
        };
        assert_eq!(verify(KEY, &issue(KEY, &session, now())), Some(session));
        let key = Holder::Key {
            user_id: "u1".into(),
            key_id: "k1".into(),
        };
        assert_eq!(verify(KEY, &issue(KEY, &key, now())), Some(key));
    }

    #[test]
    fn a_pass_ends_with_its_session_and_passes_for_nothing_else() {
        let session = |until| Holder::Session {
            user_id: "u1".into(),
            id: "s1".into(),
            epoch: 0,
            until,
        };
        assert_eq!(verify(KEY, &issue(KEY, &session(now() - 1), now())), None);
        let live = session(now() + 60);
        let pass = issue(KEY, &live, now());
        assert_eq!(verify(b"another-key-of-thirty-two-bytes!", &pass), None);
        // A session token is not a pass, nor a pass a session token.
        let session = crate::auth::session::Session {
            user_id: "u1".into(),
            name: "ann".into(),
            id: "s1".into(),
            epoch: 0,
            until: now() + 60,
            checked_at: now(),
        };
        let token = crate::auth::session::issue(KEY, &session, now(), Duration::from_secs(60));
        assert_eq!(verify(KEY, &token), None);
        assert_eq!(crate::auth::session::verify(KEY, &pass, now()), None);
    }

    #[test]
    fn streams_are_checked_every_period_and_at_their_sessions_end() {
        let every = Duration::from_secs(240);
        let holder = |until| Holder::Session {
            user_id: "u".into(),
            id: "s".into(),
            epoch: 0,
            until,
        };
        assert_eq!(holder(1000).check_in(every, 0), 240);
        assert_eq!(holder(30).check_in(every, 0), 31);
        assert_eq!(holder(0).check_in(every, 10), 1);
        let key = Holder::Key {
            user_id: "u".into(),
            key_id: "k".into(),
        };
        assert_eq!(key.check_in(every, 0), 240);
    }
}
