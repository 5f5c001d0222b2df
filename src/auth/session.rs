//! Sessions: who a browser is, in a cookie the service signed.
//!
//! The cookie holds an HS256 token signed with the Secret Store's `session_key`, which
//! never leaves the service (the passkey seed signed with the user's id, which the
//! browser is handed at registration, so anyone could forge one). It carries the user's
//! id, name and expiry, so checking it reads nothing from KV. A token that is tampered
//! with, expired, unsigned (`alg: none`), signed with another key or for another purpose
//! counts as no session at all.
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

/// A signed-in person, as the session token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: String,
    pub name: String,
}

/// A session token for `user_id`/`name`, valid for `lifetime`. Both travel in `sub` as
/// `<user id>:<name>` (user ids are base64url, without `:`): standard claims only, so
/// the token is checked by the same code as a Grip-Sig, not a second copy of it.
pub fn issue(key: &[u8], session: &Session, lifetime: Duration) -> String {
    let claims = Claims::create(JwtDuration::from_secs(lifetime.as_secs()))
        .with_issuer(ISSUER)
        .with_subject(format!("{}:{}", session.user_id, session.name));
    HS256Key::from_bytes(key)
        .authenticate(claims)
        .expect("HS256 signing cannot fail")
}

/// The session a token proves, if it proves one.
pub fn verify(key: &[u8], token: &str) -> Option<Session> {
    let claims = claims(key, token)?;
    let (user_id, name) = claims
        .subject?
        .split_once(':')
        .map(|(id, name)| (id.to_owned(), name.to_owned()))?;
    Some(Session { user_id, name })
}

/// When the passkey check behind a valid token happened (Unix seconds): its `iat`, as
/// a token is issued only at a passkey check (sign-up, sign-in, re-authentication).
/// Step-up (`http::api::account`) needs no other record of it.
pub fn checked_at(key: &[u8], token: &str) -> Option<i64> {
    let issued = claims(key, token)?.issued_at?;
    i64::try_from(issued.as_secs()).ok()
}

/// A valid token's claims: signed with `key`, issued here, not expired.
fn claims(key: &[u8], token: &str) -> Option<JWTClaims<NoCustomClaims>> {
    let options = VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISSUER.to_owned()])),
        time_tolerance: Some(JwtDuration::from_secs(0)),
        ..Default::default()
    };
    let claims = HS256Key::from_bytes(key)
        .verify_token::<NoCustomClaims>(token, Some(options))
        .ok()?;
    claims.expires_at?;
    Some(claims)
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

/// `Set-Cookie` for a new session.
pub fn set_cookie(token: &str, lifetime: Duration, secure: bool) -> String {
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        cookie_name(secure),
        lifetime.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that ends the session in the browser.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", Duration::ZERO, secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use jwt_simple::prelude::HS384Key;

    const KEY: &[u8] = b"a-session-key-of-thirty-two-byte";

    fn ann() -> Session {
        Session {
            user_id: "u1".into(),
            name: "ann".into(),
        }
    }

    #[test]
    fn a_token_proves_its_session_until_it_expires() {
        let token = issue(KEY, &ann(), Duration::from_secs(60));
        assert_eq!(verify(KEY, &token), Some(ann()));
        let expired = issue(KEY, &ann(), Duration::ZERO);
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(verify(KEY, &expired), None);
    }

    #[test]
    fn a_token_says_when_its_passkey_check_was() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let token = issue(KEY, &ann(), Duration::from_secs(60));
        let at = checked_at(KEY, &token).unwrap();
        assert!((now - 2..=now + 2).contains(&at), "{at} vs {now}");
        assert_eq!(
            checked_at(b"another-key-of-thirty-two-bytes!", &token),
            None
        );
    }

    #[test]
    fn forged_tampered_and_unsigned_tokens_are_no_session() {
        let token = issue(KEY, &ann(), Duration::from_secs(60));
        assert_eq!(verify(b"another-key-of-thirty-two-bytes!", &token), None);
        // Tampered payload: same signature, another name.
        let parts: Vec<&str> = token.split('.').collect();
        let payload = String::from_utf8(B64.decode(parts[1]).unwrap()).unwrap();
        let forged = B64.encode(payload.replace(":ann\"", ":eve\""));
        assert_ne!(forged, parts[1]);
        let forged_body = format!("{}.{forged}.{}", parts[0], parts[2]);
        assert_eq!(verify(KEY, &forged_body), None);
        // alg: none, no signature.
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
        assert_eq!(verify(KEY, &none), None);
        // Right key, wrong algorithm or purpose.
        let hs384 = HS384Key::from_bytes(KEY)
            .authenticate(Claims::create(JwtDuration::from_secs(60)).with_issuer(ISSUER))
            .unwrap();
        assert_eq!(verify(KEY, &hs384), None);
        let other_purpose = HS256Key::from_bytes(KEY)
            .authenticate(Claims::create(JwtDuration::from_secs(60)).with_subject("u1"))
            .unwrap();
        assert_eq!(verify(KEY, &other_purpose), None);
        assert_eq!(verify(KEY, "garbage"), None);
    }

    #[test]
    fn cookies() {
        let header = "a=1; edge_chat_session=tok; __Host-edge_chat_session=sec";
        assert_eq!(token_in(header, false), Some("tok"));
        assert_eq!(token_in(header, true), Some("sec"));
        assert_eq!(token_in("edge_chat_sessionx=1", false), None);
        assert_eq!(
            set_cookie("t", Duration::from_secs(60), true),
            "__Host-edge_chat_session=t; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        assert_eq!(
            clear_cookie(false),
            "edge_chat_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }
}
