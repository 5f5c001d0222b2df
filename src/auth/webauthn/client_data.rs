//! Client data (WebAuthn L3 §5.8.1) and the base64url that every binary field travels in.
//!
//! `clientDataJSON` is what the browser, not the authenticator, vouches for: which ceremony
//! (`type`), which challenge, and which page (`origin`) asked. The authenticator signs its
//! SHA-256, so checking it binds the response to this service's challenge on this service's
//! pages. The checks are the same in both ceremonies (§7.1 steps 7–11, §7.2 steps 10–14),
//! except for the expected `type`.

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;

use super::{RelyingParty, WebAuthnError};

/// base64url as WebAuthn's JSON forms use it (§5.1.1 etc.): no padding when we write;
/// padding accepted when we read, since some clients add it.
pub const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes one base64url field of a response; `field` names it in the error.
pub fn decode_field(field: &str, text: &str) -> Result<Vec<u8>, WebAuthnError> {
    BASE64URL
        .decode(text)
        .map_err(|_| WebAuthnError::Malformed(format!("{field} is not base64url")))
}

/// Which ceremony a response belongs to: `type` in the client data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    Create,
    Get,
}

impl Ceremony {
    fn client_data_type(self) -> &'static str {
        match self {
            Ceremony::Create => "webauthn.create",
            Ceremony::Get => "webauthn.get",
        }
    }
}

/// The client data fields WebAuthn defines; browsers may add others, which are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientData {
    ty: String,
    challenge: Vec<u8>,
    origin: String,
    cross_origin: bool,
    top_origin: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientDataJson {
    #[serde(rename = "type")]
    ty: String,
    challenge: String,
    origin: String,
    #[serde(default)]
    cross_origin: Option<bool>,
    #[serde(default)]
    top_origin: Option<String>,
}

impl ClientData {
    /// Parses the decoded bytes of `clientDataJSON` (§5.8.1: UTF-8 JSON).
    pub fn parse(json: &[u8]) -> Result<Self, WebAuthnError> {
        let raw: ClientDataJson = serde_json::from_slice(json)
            .map_err(|_| WebAuthnError::Malformed("clientDataJSON is not client data".into()))?;
        Ok(Self {
            challenge: decode_field("the challenge in clientDataJSON", &raw.challenge)?,
            ty: raw.ty,
            origin: raw.origin,
            cross_origin: raw.cross_origin.unwrap_or(false),
            top_origin: raw.top_origin,
        })
    }

    /// The challenge the browser says it answers: how a handler finds the one it issued.
    pub fn challenge(&self) -> &[u8] {
        &self.challenge
    }

    /// §7.1 steps 7–11 / §7.2 steps 10–14. The origin must equal one of the configured
    /// origins exactly (scheme, host and port; no suffix matching). edge-chat's pages are
    /// never framed by another site, so a response made inside a cross-origin frame is refused.
    pub fn check(
        &self,
        ceremony: Ceremony,
        expected_challenge: &[u8],
        rp: &RelyingParty,
    ) -> Result<(), WebAuthnError> {
        if self.ty != ceremony.client_data_type() {
            return Err(WebAuthnError::WrongCeremony);
        }
        if self.challenge != expected_challenge {
            return Err(WebAuthnError::WrongChallenge);
        }
        if !rp.allows_origin(&self.origin) {
            return Err(WebAuthnError::WrongOrigin);
        }
        if self.cross_origin || self.top_origin.is_some() {
            return Err(WebAuthnError::CrossOrigin);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://localhost:7676";

    fn rp() -> RelyingParty {
        RelyingParty::new("localhost", [ORIGIN, "https://chat.example"])
    }

    fn json(ty: &str, challenge: &[u8], origin: &str, extra: &str) -> Vec<u8> {
        format!(
            r#"{{"type":"{ty}","challenge":"{}","origin":"{origin}"{extra}}}"#,
            BASE64URL.encode(challenge)
        )
        .into_bytes()
    }

    fn check(json: &[u8], ceremony: Ceremony) -> Result<(), WebAuthnError> {
        ClientData::parse(json)?.check(ceremony, b"challenge-0123456789", &rp())
    }

    const CHALLENGE: &[u8] = b"challenge-0123456789";

    #[test]
    fn accepts_the_right_type_challenge_and_origin() {
        let create = json(
            "webauthn.create",
            CHALLENGE,
            ORIGIN,
            r#","crossOrigin":false"#,
        );
        assert_eq!(check(&create, Ceremony::Create), Ok(()));
        let get = json("webauthn.get", CHALLENGE, "https://chat.example", "");
        assert_eq!(check(&get, Ceremony::Get), Ok(()));
        // Fields a browser may add are ignored.
        let extra = json(
            "webauthn.get",
            CHALLENGE,
            ORIGIN,
            r#","other_keys_can_be_added_here":"x""#,
        );
        assert_eq!(check(&extra, Ceremony::Get), Ok(()));
        assert_eq!(ClientData::parse(&get).unwrap().challenge(), CHALLENGE);
    }

    /// The check of client data with these fields, answering `challenge`.
    fn verdict(
        ty: &str,
        challenge: &[u8],
        origin: &str,
        extra: &str,
        c: Ceremony,
    ) -> Result<(), WebAuthnError> {
        check(&json(ty, challenge, origin, extra), c)
    }

    #[test]
    fn wrong_type() {
        use WebAuthnError::WrongCeremony;
        assert_eq!(
            verdict("webauthn.create", CHALLENGE, ORIGIN, "", Ceremony::Get),
            Err(WrongCeremony)
        );
        assert_eq!(
            verdict("webauthn.get", CHALLENGE, ORIGIN, "", Ceremony::Create),
            Err(WrongCeremony)
        );
        assert_eq!(
            verdict("payment.get", CHALLENGE, ORIGIN, "", Ceremony::Get),
            Err(WrongCeremony)
        );
    }

    #[test]
    fn wrong_challenge() {
        for challenge in [&b"challenge-0123456788"[..], b"challenge-012345678", b""] {
            let refused = verdict("webauthn.get", challenge, ORIGIN, "", Ceremony::Get);
            assert_eq!(refused, Err(WebAuthnError::WrongChallenge));
        }
    }

    #[test]
    fn origin_must_match_exactly() {
        for origin in [
            "http://localhost:7677",
            "https://localhost:7676",
            "http://localhost:7676/",
            "http://localhost",
            "https://evil.chat.example",
            "https://chat.example.evil",
            "HTTPS://CHAT.EXAMPLE",
            "null",
            "",
        ] {
            let refused = verdict("webauthn.get", CHALLENGE, origin, "", Ceremony::Get);
            assert_eq!(refused, Err(WebAuthnError::WrongOrigin), "{origin}");
        }
    }

    #[test]
    fn cross_origin_frames_are_refused() {
        let framed = r#","crossOrigin":true"#;
        let refused = verdict("webauthn.get", CHALLENGE, ORIGIN, framed, Ceremony::Get);
        assert_eq!(refused, Err(WebAuthnError::CrossOrigin));
        let top = r#","topOrigin":"https://evil.example""#;
        let refused = verdict("webauthn.create", CHALLENGE, ORIGIN, top, Ceremony::Create);
        assert_eq!(refused, Err(WebAuthnError::CrossOrigin));
    }

    #[test]
    fn malformed_client_data() {
        for bad in [
            &b""[..],
            b"not json",
            b"[]",
            br#"{"type":"webauthn.get","origin":"http://localhost:7676"}"#,
            br#"{"type":"webauthn.get","challenge":"Y2hhbGxlbmdl","origin":7}"#,
            br#"{"type":"webauthn.get","challenge":"Y2hhbGxlbmdl","origin":"o","crossOrigin":"no"}"#,
            br#"{"type":"webauthn.get","challenge":"not base64!","origin":"o"}"#,
            b"\xff\xfe{}",
        ] {
            assert!(
                matches!(ClientData::parse(bad), Err(WebAuthnError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn base64url_with_or_without_padding() {
        assert_eq!(decode_field("f", "AQID"), Ok(vec![1, 2, 3]));
        assert_eq!(decode_field("f", "AQI"), Ok(vec![1, 2]));
        assert_eq!(decode_field("f", "AQI="), Ok(vec![1, 2]));
        assert_eq!(decode_field("f", "-_8"), Ok(vec![0xfb, 0xff]));
        assert_eq!(decode_field("f", ""), Ok(vec![]));
        for bad in ["+/8", "AQI==", "A", "AQ$D", "AQID\n", " AQID"] {
            assert_eq!(
                decode_field("the field", bad),
                Err(WebAuthnError::Malformed(
                    "the field is not base64url".into()
                )),
                "{bad:?}"
            );
        }
        assert_eq!(BASE64URL.encode([0xfb, 0xff]), "-_8");
    }
}
