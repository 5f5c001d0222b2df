//! Authentication (WebAuthn L3 §7.2 "Verifying an Authentication Assertion"): a sign-in
//! response to `navigator.credentials.get()`, checked against the passkey stored at
//! registration.
//!
//! The proof is the signature: the stored public key must verify it over
//! authenticatorData || SHA-256(clientDataJSON), so neither the authenticator's claims
//! (RP ID, flags, counter) nor the browser's (challenge, origin) can be altered. The
//! counter then catches a cloned authenticator.

use serde::Deserialize;

use super::authdata::AuthenticatorData;
use super::client_data::{Ceremony, ClientData, decode_field};
use super::cose::CredentialPublicKey;
use super::{CredentialId, RelyingParty, WebAuthnError, credential_id, json_error, sha256};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticationJson {
    id: String,
    raw_id: String,
    #[serde(rename = "type")]
    ty: String,
    response: AssertionJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssertionJson {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    authenticator_data: String,
    signature: String,
    #[serde(default)]
    user_handle: Option<String>,
}

/// An AuthenticationResponseJSON, decoded but not yet verified.
#[derive(Debug, Clone)]
pub struct AuthenticationResponse {
    id: CredentialId,
    client_data_json: Vec<u8>,
    client_data: ClientData,
    authenticator_data: Vec<u8>,
    signature: Vec<u8>,
    user_handle: Option<Vec<u8>>,
}

impl AuthenticationResponse {
    pub fn from_json(body: &[u8]) -> Result<Self, WebAuthnError> {
        let json: AuthenticationJson =
            serde_json::from_slice(body).map_err(|_| json_error("the sign-in response"))?;
        let r = json.response;
        let client_data_json = decode_field("clientDataJSON", &r.client_data_json)?;
        Ok(Self {
            id: credential_id(&json.id, &json.raw_id, &json.ty)?,
            client_data: ClientData::parse(&client_data_json)?,
            client_data_json,
            authenticator_data: decode_field("authenticatorData", &r.authenticator_data)?,
            signature: decode_field("signature", &r.signature)?,
            user_handle: r
                .user_handle
                .map(|h| decode_field("userHandle", &h))
                .transpose()?,
        })
    }

    /// The challenge the browser says this answers.
    pub fn challenge(&self) -> &[u8] {
        self.client_data.challenge()
    }

    /// The passkey used: the key to the stored credential record.
    pub fn credential_id(&self) -> &CredentialId {
        &self.id
    }

    /// The checks that need no stored credential (client data, then authenticator
    /// data), as `verify_assertion` makes them first: a handler runs them before it
    /// looks the credential up, so that how it refuses an unusable credential cannot
    /// depend on whether the credential exists.
    pub fn check_context(
        &self,
        expected_challenge: &[u8],
        rp: &RelyingParty,
    ) -> Result<AuthenticatorData<'_>, WebAuthnError> {
        self.client_data
            .check(Ceremony::Get, expected_challenge, rp)?;
        let auth_data = AuthenticatorData::parse(&self.authenticator_data)?;
        auth_data.check(rp.id_hash())?;
        Ok(auth_data)
    }

    /// §7.2 step 6: when nobody was named before the ceremony (a discoverable sign-in),
    /// the response must name its user with a user handle; after a named start (or a
    /// session) the user is known and the handle may be left out.
    pub fn check_user_named(&self, named_before: bool) -> Result<(), WebAuthnError> {
        match (named_before, &self.user_handle) {
            (false, None) => Err(WebAuthnError::NoUserHandle),
            _ => Ok(()),
        }
    }
}

/// What the handler stored at registration (and since) for the credential used.
#[derive(Debug, Clone, Copy)]
pub struct StoredCredential<'a> {
    pub public_key: &'a CredentialPublicKey,
    pub sign_count: u32,
    /// The WebAuthn `user.id` of the credential's owner.
    pub user_handle: &'a [u8],
}

/// A verified sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The counter to store for next time.
    pub sign_count: u32,
}

/// §7.2: verifies a sign-in response against the challenge it answers and the stored
/// credential its id names.
pub fn verify_assertion(
    response: &AuthenticationResponse,
    expected_challenge: &[u8],
    rp: &RelyingParty,
    stored: StoredCredential<'_>,
) -> Result<Assertion, WebAuthnError> {
    let auth_data = response.check_context(expected_challenge, rp)?;
    // §7.2 step 6: a user handle, when the authenticator returns one, names the owner.
    if response
        .user_handle
        .as_deref()
        .is_some_and(|h| h != stored.user_handle)
    {
        return Err(WebAuthnError::WrongUser);
    }
    let client_data_hash = sha256(&response.client_data_json);
    let signed: [&[u8]; 2] = [&response.authenticator_data, &client_data_hash];
    if !stored.public_key.verifies(&signed, &response.signature) {
        return Err(WebAuthnError::InvalidSignature);
    }
    // §7.2 step 22 and §6.1.1: authenticators without a counter always send 0.
    let received = auth_data.sign_count;
    if (received != 0 || stored.sign_count != 0) && received <= stored.sign_count {
        return Err(WebAuthnError::CounterNotIncreased {
            stored: stored.sign_count,
            received,
        });
    }
    Ok(Assertion {
        sign_count: received,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::webauthn::authdata::{AT, UP, UV};
    use crate::auth::webauthn::testing::{
        Authenticator, CHALLENGE, CREDENTIAL, ORIGIN, RP_ID, USER, auth_data, b64, bytes, chromium,
        client_data, edit, framed, rp,
    };
    use serde_json::{Value as Json, json};

    #[test]
    fn chromium_sign_ins_verify_with_a_rising_counter() {
        let c = chromium();
        let first = c.sign_in(0, &c.assertion_json(0), 1).unwrap();
        let second = c
            .sign_in(1, &c.assertion_json(1), first.sign_count)
            .unwrap();
        assert!(second.sign_count > first.sign_count && first.sign_count > 1);
        let response =
            AuthenticationResponse::from_json(c.assertion_json(0).to_string().as_bytes()).unwrap();
        assert_eq!(response.credential_id(), &c.credential().id);
        assert_eq!(
            response.challenge(),
            bytes(&c.v["authentications"][0]["options"]["challenge"])
        );
    }

    #[test]
    fn chromium_sign_in_rejections() {
        let c = chromium();
        let json = c.assertion_json(0);
        let count = bytes(&json["response"]["authenticatorData"])[36];
        let count = u32::from(count);
        // Counter: equal, backwards, and a replay of the first after the second.
        let not_increased = |stored| {
            Err(WebAuthnError::CounterNotIncreased {
                stored,
                received: count,
            })
        };
        assert_eq!(c.sign_in(0, &json, count), not_increased(count));
        assert_eq!(c.sign_in(0, &json, count + 5), not_increased(count + 5));
        let second = c.sign_in(1, &c.assertion_json(1), count).unwrap();
        assert_eq!(
            c.sign_in(0, &json, second.sign_count),
            not_increased(second.sign_count)
        );

        // Tampered authenticator data: a counter byte (signature), the UP flag (checked first).
        let mut counter = json.clone();
        edit(&mut counter, "authenticatorData", |a| a[36] ^= 0x40);
        assert_eq!(
            c.sign_in(0, &counter, 1),
            Err(WebAuthnError::InvalidSignature)
        );
        let mut up = json.clone();
        edit(&mut up, "authenticatorData", |a| a[32] &= !UP);
        assert_eq!(c.sign_in(0, &up, 1), Err(WebAuthnError::UserNotPresent));
        let mut uv = json.clone();
        edit(&mut uv, "authenticatorData", |a| a[32] &= !UV);
        assert_eq!(c.sign_in(0, &uv, 1), Err(WebAuthnError::UserNotVerified));
        let mut rp = json.clone();
        edit(&mut rp, "authenticatorData", |a| a[0] ^= 1);
        assert_eq!(c.sign_in(0, &rp, 1), Err(WebAuthnError::WrongRelyingParty));

        // Tampered client data that still passes every field check: only the signature catches it.
        let mut client = json.clone();
        edit(&mut client, "clientDataJSON", |d| d.insert(1, b' '));
        assert_eq!(
            c.sign_in(0, &client, 1),
            Err(WebAuthnError::InvalidSignature)
        );

        // A bad signature, a truncated one, and one by another key.
        let mut sig = json.clone();
        edit(&mut sig, "signature", |s| {
            let last = s.len() - 1;
            s[last] ^= 1;
        });
        assert_eq!(c.sign_in(0, &sig, 1), Err(WebAuthnError::InvalidSignature));
        let mut short = json.clone();
        edit(&mut short, "signature", |s| s.truncate(10));
        assert_eq!(
            c.sign_in(0, &short, 1),
            Err(WebAuthnError::InvalidSignature)
        );
        let mut foreign = json.clone();
        foreign["response"]["signature"] = json!(b64(&Authenticator::new().sign(b"x")));
        assert_eq!(
            c.sign_in(0, &foreign, 1),
            Err(WebAuthnError::InvalidSignature)
        );

        // Someone else's user handle; the wrong challenge; the registration's client data.
        let mut user = json.clone();
        user["response"]["userHandle"] = json!(b64(b"user-id-of-bob-0"));
        assert_eq!(c.sign_in(0, &user, 1), Err(WebAuthnError::WrongUser));
        assert_eq!(c.sign_in(1, &json, 1), Err(WebAuthnError::WrongChallenge));
        let mut create = json.clone();
        create["response"]["clientDataJSON"] =
            c.registration_json()["response"]["clientDataJSON"].clone();
        assert_eq!(c.sign_in(0, &create, 1), Err(WebAuthnError::WrongCeremony));

        // Without a user handle the credential id alone identifies the owner, but only
        // after a named start: a discoverable sign-in must name its user.
        let mut no_handle = json.clone();
        no_handle["response"]["userHandle"] = Json::Null;
        assert!(c.sign_in(0, &no_handle, 1).is_ok());
        no_handle["response"]
            .as_object_mut()
            .unwrap()
            .remove("userHandle");
        assert!(c.sign_in(0, &no_handle, 1).is_ok());
        let parsed =
            |json: &Json| AuthenticationResponse::from_json(json.to_string().as_bytes()).unwrap();
        assert_eq!(parsed(&no_handle).check_user_named(true), Ok(()));
        assert_eq!(
            parsed(&no_handle).check_user_named(false),
            Err(WebAuthnError::NoUserHandle)
        );
        assert_eq!(parsed(&json).check_user_named(false), Ok(()));
    }

    /// A sign-in response from the software authenticator, signed after `change`.
    fn assertion(flags: u8, count: u32, change: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>)) -> Json {
        let auth = Authenticator::new();
        let mut data = auth_data(RP_ID, flags, count, None, &[]);
        let mut client = client_data("webauthn.get", CHALLENGE, ORIGIN);
        change(&mut data, &mut client);
        let signature = auth.sign(&[data.clone(), sha256(&client).to_vec()].concat());
        json!({
            "id": b64(CREDENTIAL), "rawId": b64(CREDENTIAL), "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client),
                "authenticatorData": b64(&data),
                "signature": b64(&signature),
                "userHandle": b64(USER),
            },
            "clientExtensionResults": {},
        })
    }

    fn sign_in(json: &Json, stored_count: u32) -> Result<Assertion, WebAuthnError> {
        let key = CredentialPublicKey::from_sec1(&Authenticator::new().public_key_sec1()).unwrap();
        let response = AuthenticationResponse::from_json(json.to_string().as_bytes())?;
        let stored = StoredCredential {
            public_key: &key,
            sign_count: stored_count,
            user_handle: USER,
        };
        verify_assertion(&response, CHALLENGE, &rp(), stored)
    }

    #[test]
    fn sign_in_with_validly_signed_but_wrong_content() {
        let ok = |flags, count| assertion(flags, count, |_, _| {});
        assert_eq!(sign_in(&ok(UP | UV, 8), 7), Ok(Assertion { sign_count: 8 }));
        assert_eq!(sign_in(&ok(UV, 8), 7), Err(WebAuthnError::UserNotPresent));
        assert_eq!(sign_in(&ok(UP, 8), 7), Err(WebAuthnError::UserNotVerified));
        let other_rp = assertion(UP | UV, 8, |d, _| {
            d[..32].copy_from_slice(&sha256(b"example.com"))
        });
        assert_eq!(sign_in(&other_rp, 7), Err(WebAuthnError::WrongRelyingParty));
        let origin = assertion(UP | UV, 8, |_, c| {
            *c = client_data("webauthn.get", CHALLENGE, "http://localhost:7677")
        });
        assert_eq!(sign_in(&origin, 7), Err(WebAuthnError::WrongOrigin));
        let framed = assertion(UP | UV, 8, |_, c| *c = framed("webauthn.get"));
        assert_eq!(sign_in(&framed, 7), Err(WebAuthnError::CrossOrigin));
        let create = assertion(UP | UV, 8, |_, c| {
            *c = client_data("webauthn.create", CHALLENGE, ORIGIN)
        });
        assert_eq!(sign_in(&create, 7), Err(WebAuthnError::WrongCeremony));
        let attested = assertion(UP | UV | AT, 8, |_, _| {});
        assert!(matches!(
            sign_in(&attested, 7),
            Err(WebAuthnError::Malformed(_))
        ));
    }

    #[test]
    fn sign_count_rule() {
        let at = |count| assertion(UP | UV, count, |_, _| {});
        let not_increased =
            |stored, received| Err(WebAuthnError::CounterNotIncreased { stored, received });
        assert_eq!(
            sign_in(&at(0), 0),
            Ok(Assertion { sign_count: 0 }),
            "no counter at all"
        );
        assert_eq!(sign_in(&at(1), 0), Ok(Assertion { sign_count: 1 }));
        assert_eq!(
            sign_in(&at(u32::MAX), 5),
            Ok(Assertion {
                sign_count: u32::MAX
            })
        );
        assert_eq!(sign_in(&at(5), 5), not_increased(5, 5));
        assert_eq!(sign_in(&at(4), 5), not_increased(5, 4));
        assert_eq!(sign_in(&at(0), 5), not_increased(5, 0));
        assert!(
            not_increased(5, 4)
                .unwrap_err()
                .to_string()
                .contains("from 5 to 4")
        );
    }
}
