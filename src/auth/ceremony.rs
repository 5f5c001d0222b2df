//! The options a browser needs to create or use a passkey, in WebAuthn Level 3's JSON
//! forms (`PublicKeyCredentialCreationOptionsJSON`, `…RequestOptionsJSON`), so the page
//! hands them to `PublicKeyCredential.parseCreationOptionsFromJSON` as they are.
//!
//! `pubKeyCredParams` offers ES256, EdDSA and RS256, in that order: exactly the algorithms
//! verified here (`webauthn::OFFERED_ALGORITHMS` says why that order). An authenticator
//! picks the first offered algorithm it supports, so offering one we cannot verify would
//! break sign-up. Passkeys are discoverable (`residentKey: required`) so signing in
//! needs no name, and user verification is required: a passkey is one factor that is
//! also a second (something you have, unlocked by something you know or are).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use super::webauthn::OFFERED_ALGORITHMS;

/// The relying party as the options name it.
pub struct Rp<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

fn descriptors(credential_ids: &[String]) -> Vec<Value> {
    credential_ids
        .iter()
        .map(|id| json!({ "type": "public-key", "id": id }))
        .collect()
}

/// Options to create a passkey for `user_handle`/`name`, excluding ones it already has.
pub fn creation_options(
    rp: &Rp,
    user_handle: &[u8],
    name: &str,
    challenge: &[u8],
    exclude: &[String],
    timeout_ms: u64,
) -> Value {
    json!({
        "rp": { "id": rp.id, "name": rp.name },
        "user": { "id": B64.encode(user_handle), "name": name, "displayName": name },
        "challenge": B64.encode(challenge),
        "pubKeyCredParams": OFFERED_ALGORITHMS
            .iter()
            .map(|alg| json!({ "type": "public-key", "alg": alg }))
            .collect::<Vec<_>>(),
        "timeout": timeout_ms,
        "excludeCredentials": descriptors(exclude),
        "authenticatorSelection": {
            "residentKey": "required",
            "requireResidentKey": true,
            "userVerification": "required",
        },
        "attestation": "none",
        "extensions": { "credProps": true },
    })
}

/// Options to sign in: any discoverable passkey for this site (`allow` empty), or one of
/// a named user's.
pub fn request_options(rp: &Rp, challenge: &[u8], allow: &[String], timeout_ms: u64) -> Value {
    json!({
        "challenge": B64.encode(challenge),
        "timeout": timeout_ms,
        "rpId": rp.id,
        "allowCredentials": descriptors(allow),
        "userVerification": "required",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RP: Rp = Rp {
        id: "localhost",
        name: "edge-chat",
    };

    #[test]
    fn creation_options_offer_only_what_is_verified() {
        let o = creation_options(&RP, &[1, 2, 3], "ann", &[9; 32], &["AAA".into()], 300_000);
        assert_eq!(o["rp"], json!({"id": "localhost", "name": "edge-chat"}));
        assert_eq!(o["user"]["id"], "AQID");
        assert_eq!(o["user"]["name"], "ann");
        assert_eq!(
            o["pubKeyCredParams"],
            json!([
                {"type": "public-key", "alg": -7},
                {"type": "public-key", "alg": -8},
                {"type": "public-key", "alg": -257},
            ])
        );
        assert_eq!(o["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(o["authenticatorSelection"]["userVerification"], "required");
        assert_eq!(o["attestation"], "none");
        assert_eq!(
            o["excludeCredentials"],
            json!([{"type": "public-key", "id": "AAA"}])
        );
        assert_eq!(o["challenge"].as_str().unwrap().len(), 43);
        assert_eq!(o["timeout"], 300_000);
    }

    #[test]
    fn request_options_for_discoverable_passkeys() {
        let o = request_options(&RP, &[7; 32], &[], 60_000);
        assert_eq!(o["allowCredentials"], json!([]));
        assert_eq!(o["userVerification"], "required");
        assert_eq!(o["rpId"], "localhost");
    }
}
