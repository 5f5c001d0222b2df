//! Passkeys: the relying party's half of WebAuthn Level 3's registration (§7.1) and
//! authentication (§7.2) ceremonies, as pure functions of the browser's JSON.
//!
//! How a handler uses this (issue 11):
//! 1. It answers an options request with a fresh random challenge, which it stores (single
//!    use, 5 minutes), and offers only [`OFFERED_ALGORITHMS`].
//! 2. The browser sends `credential.toJSON()`. `RegistrationResponse::from_json` or
//!    `AuthenticationResponse::from_json` parse it once: base64url fields decoded, client
//!    data parsed. `challenge()` names the challenge the browser says it answers, so the
//!    handler can take that challenge out of its store (absent: replayed or expired);
//!    `credential_id()` finds the stored passkey at sign-in.
//! 3. `verify_registration` (module `registration`, §7.1) or `verify_assertion` (module
//!    `assertion`, §7.2) make every other check the spec requires and return what to store.
//!
//! Left to the handler because they need storage: the challenge's single use and expiry,
//! that a new credential id is not registered yet (§7.1 step 26), and finding the
//! credential record and its owner (§7.2 steps 5–6).
//!
//! Every input here is hostile. Nothing panics; each rejection is a [`WebAuthnError`] whose
//! `Display` is a sentence a person can act on, and a rejected response changes nothing.

#[cfg(test)]
mod algorithm_tests;
pub mod assertion;
pub mod authdata;
pub mod cbor;
pub mod client_data;
pub mod cose;
pub mod eddsa;
pub mod es256;
pub mod registration;
pub mod rs256;
#[cfg(test)]
mod testing;

use std::fmt;

use base64::Engine;

use self::authdata::MAX_CREDENTIAL_ID;
use self::client_data::{BASE64URL, decode_field};
use self::cose::{EDDSA, ES256, RS256};

/// The COSE algorithms to offer in `pubKeyCredParams`: exactly what
/// `cose::CredentialPublicKey` verifies (see `cose` for why that matters), most preferred
/// first, as WebAuthn L3 §5.4 (`pubKeyCredParams`) orders them; an authenticator uses the
/// first it supports. ES256 first: nearly every authenticator has it, so no passkey made
/// before issue 18 would have come out differently, and its key and signature are small.
/// EdDSA next: as small, and the quickest to verify (`scripts/bench --only verify`). RS256
/// last: 256-byte keys and signatures, there for authenticators that can do nothing else
/// (and because Chromium warns when ES256 or RS256 is missing).
pub const OFFERED_ALGORITHMS: [i128; 3] = [ES256, EDDSA, RS256];

/// Why a passkey response was refused. Every variant is the user's or the client's doing
/// (a 4xx), never the server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebAuthnError {
    /// Not JSON, not base64url, not CBOR, or not the structure WebAuthn defines.
    Malformed(String),
    /// A sign-up response sent to sign-in or the reverse (client data `type`).
    WrongCeremony,
    /// The client data names a different challenge than the one being answered.
    WrongChallenge,
    /// The challenge is unknown, used or expired (raised by the handler, which stores them).
    ExpiredChallenge,
    /// The client data's origin is not one of the configured origins.
    WrongOrigin,
    /// Made inside a frame of another site.
    CrossOrigin,
    /// The authenticator data is scoped to another RP ID.
    WrongRelyingParty,
    /// UP flag clear.
    UserNotPresent,
    /// UV flag clear.
    UserNotVerified,
    /// A registration without attested credential data (AT flag clear).
    NoCredential,
    /// A key type, algorithm, curve, RSA size or exponent not in `OFFERED_ALGORITHMS`' limits.
    UnsupportedKey(String),
    /// A COSE key with bad coordinates or parts, or a stored key that does not load.
    InvalidKey,
    /// An attestation statement format or kind this service does not verify.
    UnsupportedAttestation(String),
    /// A self attestation whose signature or algorithm does not match the new key.
    InvalidAttestation,
    /// The credential id in the JSON differs from the one in the authenticator data.
    CredentialMismatch,
    /// The assertion's user handle is not the owner of the credential used.
    WrongUser,
    /// A discoverable sign-in's assertion without a user handle (§7.2 step 6).
    NoUserHandle,
    InvalidSignature,
    /// §7.2 step 22: the counter did not move forward, a sign of a cloned authenticator.
    CounterNotIncreased {
        stored: u32,
        received: u32,
    },
}

impl fmt::Display for WebAuthnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use WebAuthnError::*;
        match self {
            Malformed(what) => write!(f, "The passkey response is malformed: {what}."),
            WrongCeremony => f.write_str("The passkey response is for a different step (sign-up instead of sign-in, or the reverse)."),
            WrongChallenge => f.write_str("The passkey response answers a different request. Please try again."),
            ExpiredChallenge => f.write_str("This passkey request has expired or was already used. Please try again."),
            WrongOrigin => f.write_str("The passkey response came from a different website."),
            CrossOrigin => f.write_str("The passkey was used inside a frame of another website."),
            WrongRelyingParty => f.write_str("The passkey response is for a different website."),
            UserNotPresent => f.write_str("The authenticator did not confirm that you are present."),
            UserNotVerified => f.write_str("The authenticator did not verify you (with a PIN, fingerprint or face), which this site requires."),
            NoCredential => f.write_str("The authenticator did not create a passkey."),
            UnsupportedKey(what) => write!(f, "This passkey's key is of a kind this site does not support ({what}): ES256 (P-256), EdDSA (Ed25519) and RS256 (RSA of 2048 to 4096 bits, exponent 65537) passkeys work here."),
            InvalidKey => f.write_str("The passkey's public key is invalid."),
            UnsupportedAttestation(what) => write!(f, "The authenticator sent an attestation this site does not check ({what})."),
            InvalidAttestation => f.write_str("The authenticator's attestation signature is invalid."),
            CredentialMismatch => f.write_str("The passkey id in the response does not match the one the authenticator reported."),
            WrongUser => f.write_str("This passkey belongs to a different account."),
            NoUserHandle => f.write_str("The authenticator did not say which account this passkey is for."),
            InvalidSignature => f.write_str("The passkey's signature is invalid."),
            CounterNotIncreased { stored, received } => write!(f, "This passkey's signature counter went from {stored} to {received}, not forward: the authenticator may have been cloned."),
        }
    }
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    hmac_sha256::Hash::hash(data)
}

/// This service as a WebAuthn relying party: its RP ID (as a hash, the form
/// authenticator data carries) and the exact origins its pages are served from.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    id_hash: [u8; 32],
    origins: Vec<String>,
}

impl RelyingParty {
    pub fn new<S: Into<String>>(rp_id: &str, origins: impl IntoIterator<Item = S>) -> Self {
        Self {
            id_hash: sha256(rp_id.as_bytes()),
            origins: origins.into_iter().map(Into::into).collect(),
        }
    }

    pub(super) fn id_hash(&self) -> &[u8; 32] {
        &self.id_hash
    }

    pub(super) fn allows_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }
}

/// A credential id: 1 to 1023 opaque bytes chosen by the authenticator. `Display` is
/// its base64url form, as in WebAuthn's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredentialId(Vec<u8>);

impl CredentialId {
    pub fn from_base64url(text: &str) -> Result<Self, WebAuthnError> {
        let bytes = decode_field("the credential id", text)?;
        if bytes.is_empty() || bytes.len() > MAX_CREDENTIAL_ID {
            return Err(WebAuthnError::Malformed(
                "the credential id is empty or too long".into(),
            ));
        }
        Ok(Self(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&BASE64URL.encode(&self.0))
    }
}

/// `id`, `rawId` and `type` of a PublicKeyCredentialJSON: the same id twice, and a
/// public-key credential.
pub(super) fn credential_id(
    id: &str,
    raw_id: &str,
    ty: &str,
) -> Result<CredentialId, WebAuthnError> {
    if ty != "public-key" {
        return Err(WebAuthnError::Malformed(
            "the credential type is not public-key".into(),
        ));
    }
    let id = CredentialId::from_base64url(id)?;
    if CredentialId::from_base64url(raw_id)? != id {
        return Err(WebAuthnError::Malformed("id and rawId differ".into()));
    }
    Ok(id)
}

pub(super) fn json_error(what: &str) -> WebAuthnError {
    WebAuthnError::Malformed(format!("{what} is not the JSON a browser sends"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_ids_print_as_base64url() {
        let id = CredentialId::from_base64url("-_8").unwrap();
        assert_eq!(id.as_bytes(), &[0xfb, 0xff]);
        assert_eq!(id.to_string(), "-_8");
        assert_eq!(CredentialId::from_base64url("-_8="), Ok(id));
        assert!(CredentialId::from_base64url("").is_err());
    }

    #[test]
    fn messages_are_sentences() {
        for error in [
            WebAuthnError::Malformed("the thing is odd".into()),
            WebAuthnError::WrongCeremony,
            WebAuthnError::WrongChallenge,
            WebAuthnError::ExpiredChallenge,
            WebAuthnError::WrongOrigin,
            WebAuthnError::CrossOrigin,
            WebAuthnError::WrongRelyingParty,
            WebAuthnError::UserNotPresent,
            WebAuthnError::UserNotVerified,
            WebAuthnError::NoCredential,
            WebAuthnError::UnsupportedKey("algorithm -8".into()),
            WebAuthnError::InvalidKey,
            WebAuthnError::UnsupportedAttestation("format \"tpm\"".into()),
            WebAuthnError::InvalidAttestation,
            WebAuthnError::CredentialMismatch,
            WebAuthnError::WrongUser,
            WebAuthnError::NoUserHandle,
            WebAuthnError::InvalidSignature,
            WebAuthnError::CounterNotIncreased {
                stored: 2,
                received: 1,
            },
        ] {
            let message = error.to_string();
            assert!(
                message.starts_with(char::is_uppercase) && message.ends_with('.'),
                "{message}"
            );
        }
        assert_eq!(
            WebAuthnError::WrongRelyingParty.to_string(),
            "The passkey response is for a different website."
        );
    }
}
