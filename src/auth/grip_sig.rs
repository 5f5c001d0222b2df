//! Verifying Fanout's call-backs. Anyone can send a `Grip-Sig` header; only a token
//! signed with the configured key (ES256 with Fastly's public key in production, HS256
//! with Pushpin's shared key locally), from the configured issuer, with a near `exp`,
//! makes a request a call-back that may receive GRIP instructions.

use std::collections::HashSet;

use jwt_simple::prelude::*;

use crate::config::GripKey;

/// Clock drift tolerated on `exp` (jwt-simple's default is 15 minutes).
const CLOCK_TOLERANCE_SECS: u64 = 30;
/// Latest `exp` accepted: Pushpin signs for an hour. A token valid for longer would be a
/// replayable credential if one ever leaked, so it is refused as if forged.
const LIFETIME_MAX_SECS: u64 = 24 * 3600;

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

    /// An hour-long HS256 token from `iss`, signed with `key`.
    fn hs_hour(iss: &str, key: &[u8]) -> String {
        hs(claims(iss, Duration::from_mins(60)), key)
    }

    #[test]
    fn hs256_accepts_only_the_right_key_and_issuer() {
        let key = GripKey::Hs256(SECRET.to_vec());
        assert_eq!(verify(&hs_hour("pushpin", SECRET), &key, "pushpin"), Ok(()));
        let forged = hs_hour("pushpin", b"forged-key-of-some-length");
        assert!(verify(&forged, &key, "pushpin").is_err());
        assert!(verify(&hs_hour("other", SECRET), &key, "pushpin").is_err());
        assert!(verify("not.a.jwt", &key, "pushpin").is_err());
        let unconfigured = verify(&hs_hour("pushpin", SECRET), &GripKey::Missing, "pushpin");
        assert!(unconfigured.is_err());
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
        let confused = hs_hour("fastly:abc", b"a-hmac-key-with-length");
        assert!(verify(&confused, &pem, "fastly:abc").is_err());
    }
}
