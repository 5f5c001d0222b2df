//! Sessions: who a browser is, in a cookie the service signed, and for how long that
//! may be believed without asking the store.
//!
//! The cookie holds an HS256 token signed with the Secret Store's `session_key`, which
//! never leaves the service. It names the user (`sub`: `<user id>:<name>`), the session
//! (`jti`: `<session id>.<epoch>.<until>`: its random id, the account's session epoch
//! when it began, and when it ends for good), when its passkey check was (`iat`, which
//! step-up reads) and until when it is *fresh* (`exp`, at most `session_check_secs`
//! ahead). A fresh token is believed for reads without reading KV. A stale one (past
//! `exp`, before `until`) is checked against its account's record (`auth::standing`)
//! and, if the session still stands, reissued fresh; a write always checks. So a
//! signed-out session stops writing at once and stops reading within one check period.
//!
//! A token that is tampered with, unsigned (`alg: none`), signed with another key or for
//! another purpose, or past its `until`, counts as no session at all.
//!
//! The cookie is `HttpOnly` (no script reads it), `SameSite=Lax` (not sent on cross-site
//! POSTs) and `Path=/`; over https it is also `Secure` with the `__Host-` prefix, which
//! browsers only accept from this exact host.

use std::collections::HashSet;
use std::time::Duration;

use jwt_simple::prelude::{
    Claims, HS256Key, JWTClaims, MACLike, NoCustomClaims, VerificationOptions,
    coarsetime::Duration as JwtDuration,
};

/// Cookie names: plain over http (local dev), host-locked over https.
const COOKIE: &str = "edge_chat_session";
const HOST_COOKIE: &str = "__Host-edge_chat_session";
/// The `iss` of session tokens, so no other token signed with the key passes as one.
const ISSUER: &str = "edge-chat-session";
/// How long past its `exp` a token's signature is still read: the longest session
/// (`session_hours` is at most a year). Whether it still stands is `until`'s to say.
const STALE_MAX: u64 = 366 * 24 * 3600;

/// A signed-in person's session, as its token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: String,
    pub name: String,
    /// Random, base64url: what signing out ends (`store::sessions`).
    pub id: String,
    /// The account's session epoch when the session began: a later one ends it.
    pub epoch: u32,
    /// When the session ends for good (Unix seconds).
    pub until: i64,
    /// When its passkey check happened (Unix seconds): sign-up, sign-in, re-auth.
    pub checked_at: i64,
}

/// A token whose signature holds, and whether it may be believed without a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub session: Session,
    pub fresh: bool,
}

/// A token for `session`, fresh for `check` from `now` (never past its `until`).
pub fn issue(key: &[u8], session: &Session, now: i64, check: Duration) -> String {
    let fresh_until = (now + secs(check)).min(session.until);
    let mut claims = Claims::create(JwtDuration::from_secs(0))
        .with_issuer(ISSUER)
        .with_subject(format!("{}:{}", session.user_id, session.name))
        .with_jwt_id(format!(
            "{}.{}.{}",
            session.id, session.epoch, session.until
        ));
    claims.issued_at = Some(JwtDuration::from_secs(unsigned(session.checked_at)));
    claims.invalid_before = None;
    claims.expires_at = Some(JwtDuration::from_secs(unsigned(fresh_until)));
    HS256Key::from_bytes(key)
        .authenticate(claims)
        .expect("HS256 signing cannot fail")
}

/// The session a token proves at `now`, if its signature holds and it has not ended.
pub fn verify(key: &[u8], token: &str, now: i64) -> Option<Verified> {
    let options = VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISSUER.to_owned()])),
        time_tolerance: Some(JwtDuration::from_secs(STALE_MAX)),
        ..Default::default()
    };
    let claims: JWTClaims<NoCustomClaims> = HS256Key::from_bytes(key)
        .verify_token(token, Some(options))
        .ok()?;
    let fresh_until = i64::try_from(claims.expires_at?.as_secs()).ok()?;
    let checked_at = i64::try_from(claims.issued_at?.as_secs()).ok()?;
    // The tolerance above is for `exp` only: nothing is valid before it was issued.
    let not_before = claims.invalid_before.map_or(0, |nbf| nbf.as_secs());
    if checked_at > now || i64::try_from(not_before).map_or(true, |nbf| nbf > now) {
        return None;
    }
    let (user_id, name) = claims.subject?.split_once(':').map(owned)?;
    let jti = claims.jwt_id?;
    let mut parts = jti.splitn(3, '.');
    let (id, epoch, until) = (parts.next()?, parts.next()?, parts.next()?);
    let session = Session {
        user_id,
        name,
        id: id.to_owned(),
        epoch: epoch.parse().ok()?,
        until: until.parse().ok()?,
        checked_at,
    };
    (now < session.until).then_some(Verified {
        session,
        fresh: now < fresh_until,
    })
}

fn owned((a, b): (&str, &str)) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)
}

fn unsigned(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

fn cookie_name(secure: bool) -> &'static str {
    if secure { HOST_COOKIE } else { COOKIE }
}

/// The session token in a `Cookie` header, if there is one.
pub fn token_in(cookie_header: &str, secure: bool) -> Option<&str> {
    let name = cookie_name(secure);
    cookie_header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v.trim())
    })
}

/// `Set-Cookie` for `session`'s token, kept by the browser until the session ends.
pub fn set_cookie(token: &str, session: &Session, now: i64, secure: bool) -> String {
    cookie(token, unsigned(session.until - now), secure)
}

/// `Set-Cookie` that ends the session in the browser.
pub fn clear_cookie(secure: bool) -> String {
    cookie("", 0, secure)
}

fn cookie(token: &str, max_age: u64, secure: bool) -> String {
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use jwt_simple::prelude::HS384Key;

    const KEY: &[u8] = b"a-session-key-of-thirty-two-byte";
    const NOW: i64 = 1_800_000_000;
    const CHECK: Duration = Duration::from_secs(300);

    fn ann() -> Session {
        Session {
            user_id: "u1".into(),
            name: "ann".into(),
            id: "s1".into(),
            epoch: 3,
            until: NOW + 3600,
            checked_at: NOW - 10,
        }
    }

    #[test]
    fn a_token_is_fresh_for_one_check_period_then_stale_until_its_session_ends() {
        let token = issue(KEY, &ann(), NOW, CHECK);
        let fresh = Verified {
            session: ann(),
            fresh: true,
        };
        assert_eq!(verify(KEY, &token, NOW), Some(fresh.clone()));
        assert_eq!(verify(KEY, &token, NOW + 299), Some(fresh));
        let stale = verify(KEY, &token, NOW + 300).unwrap();
        assert!(!stale.fresh);
        assert_eq!(stale.session, ann());
        assert!(verify(KEY, &token, NOW + 3599).is_some());
        assert_eq!(verify(KEY, &token, NOW + 3600), None);
    }

    #[test]
    fn a_token_is_never_fresh_past_its_session() {
        let short = Session {
            until: NOW + 60,
            ..ann()
        };
        let token = issue(KEY, &short, NOW, CHECK);
        assert!(verify(KEY, &token, NOW + 59).unwrap().fresh);
        assert_eq!(verify(KEY, &token, NOW + 60), None);
    }

    #[test]
    fn forged_tampered_and_unsigned_tokens_are_no_session() {
        let token = issue(KEY, &ann(), NOW, CHECK);
        assert_eq!(
            verify(b"another-key-of-thirty-two-bytes!", &token, NOW),
            None
        );
        let parts: Vec<&str> = token.split('.').collect();
        let payload = String::from_utf8(B64.decode(parts[1]).unwrap()).unwrap();
        // Tampered payloads: same signature, another name or a later end.
        for (from, to) in [(":ann\"", ":eve\""), (".3.", ".4."), ("s1.", "s2.")] {
            let forged = B64.encode(payload.replace(from, to));
            assert_ne!(forged, parts[1], "{from}");
            let forged = format!("{}.{forged}.{}", parts[0], parts[2]);
            assert_eq!(verify(KEY, &forged, NOW), None, "{from}");
        }
        // alg: none, no signature.
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
        assert_eq!(verify(KEY, &none, NOW), None);
        // Right key, wrong algorithm or purpose; a session token of the old shape.
        let hs384 = HS384Key::from_bytes(KEY)
            .authenticate(Claims::create(JwtDuration::from_secs(60)).with_issuer(ISSUER))
            .unwrap();
        assert_eq!(verify(KEY, &hs384, NOW), None);
        let other_purpose = HS256Key::from_bytes(KEY)
            .authenticate(Claims::create(JwtDuration::from_secs(60)).with_subject("u1:ann"))
            .unwrap();
        assert_eq!(verify(KEY, &other_purpose, NOW), None);
        let old_shape = HS256Key::from_bytes(KEY)
            .authenticate(
                Claims::create(JwtDuration::from_secs(60))
                    .with_issuer(ISSUER)
                    .with_subject("u1:ann"),
            )
            .unwrap();
        assert_eq!(verify(KEY, &old_shape, NOW), None);
        assert_eq!(verify(KEY, "garbage", NOW), None);
    }

    #[test]
    fn cookies() {
        let header = "a=1; edge_chat_session=tok; __Host-edge_chat_session=sec";
        assert_eq!(token_in(header, false), Some("tok"));
        assert_eq!(token_in(header, true), Some("sec"));
        assert_eq!(token_in("edge_chat_sessionx=1", false), None);
        assert_eq!(
            set_cookie("t", &ann(), NOW + 3540, true),
            "__Host-edge_chat_session=t; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        assert_eq!(
            clear_cookie(false),
            "edge_chat_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }
}
