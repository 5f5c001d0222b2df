//! GRIP: how this service and Fanout share the work of a live stream.
//!
//! 1. A browser opens `GET /rooms/{room}/events/`. It carries no `Grip-Sig`, so the
//!    service hands the request to Fanout (`handoff_fanout("self")`) and is done.
//! 2. Fanout forwards it to the `self` backend, i.e. back to this service, now with a
//!    `Grip-Sig` JWT. The service verifies it, then answers with the backlog in the body
//!    and GRIP instructions in headers: hold the stream open on the room's channel.
//! 3. Fanout keeps the connection; every message published to the channel is appended.
//!    `prev-id` lets Fanout notice a gap and fetch our `Grip-Link` to fill it.
//!
//! Only a verified call-back gets GRIP headers: anyone can send a `Grip-Sig` header.

use std::collections::HashSet;

use fastly::Response;
use fastly::http::header;
use jwt_simple::prelude::*;

use crate::config::GripKey;
use crate::model::{MessageId, RoomId};
use crate::sse::KEEP_ALIVE_CSTRING;

/// Clock drift tolerated on `exp` (jwt-simple's default is 15 minutes).
const CLOCK_TOLERANCE_SECS: u64 = 30;
/// Latest `exp` accepted: Pushpin signs for an hour. A token valid for longer would be a
/// replayable credential if one ever leaked, so it is refused as if forged.
const LIFETIME_MAX_SECS: u64 = 24 * 3600;

/// The Fanout channel a room's messages are published to.
pub fn channel(room: &RoomId) -> String {
    format!("room-{room}")
}

/// Why a `Grip-Sig` was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigError(pub String);

/// Verifies a `Grip-Sig` token: signature with the configured key, `iss`, and an
/// `exp` that is present and not past.
pub fn verify(token: &str, key: &GripKey, issuer: &str) -> Result<(), SigError> {
    let options = VerificationOptions {
        allowed_issuers: Some(HashSet::from([issuer.to_owned()])),
        time_tolerance: Some(Duration::from_secs(CLOCK_TOLERANCE_SECS)),
        ..Default::default()
    };
    let claims = match key {
        GripKey::Hs256(secret) => {
            HS256Key::from_bytes(secret).verify_token::<NoCustomClaims>(token, Some(options))
        }
        GripKey::Es256(pem) => ES256PublicKey::from_pem(pem)
            .map_err(|e| SigError(format!("bad ES256 public key in config: {e}")))?
            .verify_token::<NoCustomClaims>(token, Some(options)),
        GripKey::Missing => return Err(SigError("no Grip-Sig key is configured".into())),
    }
    .map_err(|e| SigError(e.to_string()))?;
    match claims.expires_at {
        None => Err(SigError("Grip-Sig has no exp claim".into())),
        Some(exp) if exp > Clock::now_since_epoch() + Duration::from_secs(LIFETIME_MAX_SECS) => {
            Err(SigError("Grip-Sig expires more than a day from now".into()))
        }
        Some(_) => Ok(()),
    }
}

/// Instructions for a stream Fanout should hold open on `room` after sending the body.
pub struct Hold<'a> {
    pub room: &'a RoomId,
    /// The id of the last message this response delivers (or the client already has).
    pub prev_id: MessageId,
    pub keep_alive_secs: u32,
}

impl Hold<'_> {
    pub fn apply(&self, resp: &mut Response) {
        resp.set_header("Grip-Hold", "stream");
        resp.set_header(
            "Grip-Channel",
            format!("{}; prev-id={}", channel(self.room), self.prev_id),
        );
        resp.set_header(
            "Grip-Keep-Alive",
            format!(
                "{KEEP_ALIVE_CSTRING}; format=cstring; timeout={}",
                self.keep_alive_secs
            ),
        );
        // Pushpin ends a stream whose channel has prev-id but no next link. This link is
        // what Fanout fetches (with Grip-Last) when it sees a gap in the ids.
        resp.set_header(
            "Grip-Link",
            format!(
                "<{}?link=next&recover=true>; rel=next",
                events_path(self.room)
            ),
        );
    }
}

/// The backlog was cut short: Fanout sends this body, then fetches the rest from a link.
pub fn continue_after(resp: &mut Response, room: &RoomId, last_sent: MessageId) {
    resp.set_header(
        "Grip-Link",
        format!(
            "<{}?link=next&lastEventId={last_sent}>; rel=next",
            events_path(room)
        ),
    );
}

/// Headers every SSE response carries, held or not.
pub fn event_stream(body: String) -> Response {
    Response::from_body(body)
        .with_header(header::CONTENT_TYPE, "text/event-stream")
        .with_header(header::CACHE_CONTROL, "no-cache")
        .with_header("X-Accel-Buffering", "no")
}

pub fn events_path(room: &RoomId) -> String {
    format!("/rooms/{room}/events/")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-key-of-some-length";

    fn hs(claims: JWTClaims<NoCustomClaims>, key: &[u8]) -> String {
        HS256Key::from_bytes(key).authenticate(claims).unwrap()
    }

    fn claims(iss: &str, valid_for: Duration) -> JWTClaims<NoCustomClaims> {
        Claims::create(valid_for).with_issuer(iss)
    }

    #[test]
    fn hs256_accepts_only_the_right_key_and_issuer() {
        let key = GripKey::Hs256(SECRET.to_vec());
        assert_eq!(
            verify(
                &hs(claims("pushpin", Duration::from_mins(60)), SECRET),
                &key,
                "pushpin"
            ),
            Ok(())
        );
        assert!(
            verify(
                &hs(
                    claims("pushpin", Duration::from_mins(60)),
                    b"forged-key-of-some-length"
                ),
                &key,
                "pushpin"
            )
            .is_err()
        );
        assert!(
            verify(
                &hs(claims("other", Duration::from_mins(60)), SECRET),
                &key,
                "pushpin"
            )
            .is_err()
        );
        assert!(verify("not.a.jwt", &key, "pushpin").is_err());
        assert!(
            verify(
                &hs(claims("pushpin", Duration::from_mins(60)), SECRET),
                &GripKey::Missing,
                "pushpin"
            )
            .is_err()
        );
    }

    #[test]
    fn exp_is_required_and_enforced() {
        let key = GripKey::Hs256(SECRET.to_vec());
        let mut expired = claims("pushpin", Duration::from_mins(60));
        expired.expires_at = Some(Clock::now_since_epoch() - Duration::from_mins(5));
        assert!(verify(&hs(expired, SECRET), &key, "pushpin").is_err());
        let mut no_exp = claims("pushpin", Duration::from_mins(60));
        no_exp.expires_at = None;
        assert!(verify(&hs(no_exp, SECRET), &key, "pushpin").is_err());
        let a_day = claims("pushpin", Duration::from_hours(23));
        assert_eq!(verify(&hs(a_day, SECRET), &key, "pushpin"), Ok(()));
        let too_long = claims("pushpin", Duration::from_hours(25));
        assert!(verify(&hs(too_long, SECRET), &key, "pushpin").is_err());
    }

    #[test]
    fn es256_with_a_pem_public_key() {
        let pair = ES256KeyPair::generate();
        let pem = GripKey::Es256(pair.public_key().to_pem().unwrap());
        let token = pair
            .sign(claims("fastly:abc", Duration::from_mins(60)))
            .unwrap();
        assert_eq!(verify(&token, &pem, "fastly:abc"), Ok(()));
        assert!(verify(&token, &pem, "fastly:other").is_err());
        let other = ES256KeyPair::generate()
            .sign(claims("fastly:abc", Duration::from_mins(60)))
            .unwrap();
        assert!(verify(&other, &pem, "fastly:abc").is_err());
        // An HS256 token must not pass as ES256 (algorithm confusion).
        assert!(
            verify(
                &hs(
                    claims("fastly:abc", Duration::from_mins(60)),
                    b"a-hmac-key-with-length"
                ),
                &pem,
                "fastly:abc"
            )
            .is_err()
        );
    }

    #[test]
    fn hold_headers() {
        let room = RoomId::parse("a.b").unwrap();
        let mut resp = event_stream(String::new());
        Hold {
            room: &room,
            prev_id: 7,
            keep_alive_secs: 20,
        }
        .apply(&mut resp);
        assert_eq!(resp.get_header_str("Grip-Hold"), Some("stream"));
        assert_eq!(
            resp.get_header_str("Grip-Channel"),
            Some("room-a.b; prev-id=7")
        );
        assert_eq!(
            resp.get_header_str("Grip-Keep-Alive"),
            Some("event: keep-alive\\ndata:\\n\\n; format=cstring; timeout=20")
        );
        assert_eq!(
            resp.get_header_str("Grip-Link"),
            Some("</rooms/a.b/events/?link=next&recover=true>; rel=next")
        );
        assert_eq!(
            resp.get_header_str("Content-Type"),
            Some("text/event-stream")
        );
    }
}
