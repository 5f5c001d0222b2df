//! The recorded software-authenticator vectors of each offered algorithm (ES256, EdDSA,
//! RS256; tests/webauthn_vectors/record_softauthn.py) run through the whole verifier:
//! sign-up (with `none` and `packed` self attestation), sign-in, each attack knob refused
//! for the reason the recording names, tampered signatures refused, and for RS256 the RSA
//! keys that are too weak to accept. Chromium's own EdDSA and RS256 passkeys
//! (`vectors/chromium-algorithms.json`) check that softauthn and this verifier do not share
//! a misreading of the formats.

use serde_json::Value as Json;

use super::assertion::{Assertion, AuthenticationResponse, StoredCredential, verify_assertion};
use super::cose::{CredentialPublicKey, EDDSA, ES256, RS256};
use super::registration::{NewCredential, RegistrationResponse, verify_registration};
use super::testing::{bytes, cbor_int, chromium_algorithms, edit, softauthn, variant};
use super::{OFFERED_ALGORITHMS, RelyingParty, WebAuthnError};

struct Vectors {
    v: Json,
    rp: RelyingParty,
}

impl Vectors {
    fn all() -> Vec<Self> {
        let all: Vec<Self> = softauthn()
            .into_iter()
            .map(|(v, rp)| Self { v, rp })
            .collect();
        let algorithms: Vec<i128> = all.iter().map(Self::algorithm).collect();
        assert_eq!(algorithms, [ES256, EDDSA, RS256]);
        all
    }

    fn algorithm(&self) -> i128 {
        self.v["algorithm"].as_i64().unwrap().into()
    }

    fn register(&self, json: &Json) -> Result<NewCredential, WebAuthnError> {
        let challenge = bytes(&self.v["registration"]["options"]["challenge"]);
        let response = RegistrationResponse::from_json(json.to_string().as_bytes())?;
        verify_registration(&response, &challenge, &self.rp)
    }

    fn credential(&self) -> NewCredential {
        self.register(&self.v["registration"]["response"]).unwrap()
    }

    fn sign_in(
        &self,
        key: &CredentialPublicKey,
        json: &Json,
        sign_count: u32,
    ) -> Result<Assertion, WebAuthnError> {
        let user = bytes(&self.v["registration"]["options"]["user"]["id"]);
        let challenge = bytes(&self.v["authentication"]["options"]["challenge"]);
        let response = AuthenticationResponse::from_json(json.to_string().as_bytes())?;
        let stored = StoredCredential {
            public_key: key,
            sign_count,
            user_handle: &user,
        };
        verify_assertion(&response, &challenge, &self.rp, stored)
    }

    fn honest_sign_in(&self) -> Json {
        self.v["authentication"]["response"].clone()
    }
}

#[test]
fn every_offered_algorithm_has_vectors() {
    let recorded: Vec<i128> = Vectors::all().iter().map(Vectors::algorithm).collect();
    assert_eq!(recorded, OFFERED_ALGORITHMS);
}

#[test]
fn each_algorithm_signs_up_and_signs_in_through_its_stored_key() {
    for vectors in Vectors::all() {
        let alg = vectors.algorithm();
        let credential = vectors.credential();
        assert_eq!(credential.public_key.algorithm(), alg);
        assert_eq!(credential.sign_count, 1);
        // What a handler stores, read back as at sign-in.
        let stored = CredentialPublicKey::from_stored(&credential.public_key.stored()).unwrap();
        assert_eq!(stored, credential.public_key);
        let signed_in = vectors.sign_in(&stored, &vectors.honest_sign_in(), 1);
        assert_eq!(
            signed_in,
            Ok(Assertion { sign_count: 2 }),
            "algorithm {alg}"
        );
        let packed = vectors.register(&vectors.v["packed_registration"]["response"]);
        assert_eq!(packed.map(|c| c.public_key.algorithm()), Ok(alg));
    }
}

#[test]
fn each_algorithm_refuses_every_attack_knob() {
    for vectors in Vectors::all() {
        let alg = vectors.algorithm();
        let registration_attacks = vectors.v["registration_attacks"].as_object().unwrap();
        assert_eq!(registration_attacks.len(), 10);
        for (name, attack) in registration_attacks {
            let error = vectors.register(&attack["response"]).unwrap_err();
            assert_eq!(variant(&error), attack["expected"], "{alg} {name}: {error}");
        }
        let key = vectors.credential().public_key;
        let sign_in_attacks = vectors.v["authentication_attacks"].as_object().unwrap();
        assert_eq!(sign_in_attacks.len(), 11);
        for (name, attack) in sign_in_attacks {
            let error = vectors.sign_in(&key, &attack["response"], 2).unwrap_err();
            assert_eq!(variant(&error), attack["expected"], "{alg} {name}: {error}");
        }
    }
}

#[test]
fn each_algorithm_refuses_tampered_signatures_and_other_keys() {
    let all = Vectors::all();
    for vectors in &all {
        let alg = vectors.algorithm();
        let key = vectors.credential().public_key;
        let honest = vectors.honest_sign_in();
        let refused = |json: &Json| {
            assert_eq!(
                vectors.sign_in(&key, json, 1),
                Err(WebAuthnError::InvalidSignature),
                "algorithm {alg}: {json}"
            )
        };
        for at in [0, 1, 31, 32] {
            let mut flipped = honest.clone();
            edit(&mut flipped, "signature", |s| {
                let i = at.min(s.len() - 1);
                s[i] ^= 0x10
            });
            refused(&flipped);
        }
        let mut short = honest.clone();
        edit(&mut short, "signature", |s| s.truncate(s.len() - 1));
        refused(&short);
        let mut long = honest.clone();
        edit(&mut long, "signature", |s| s.push(0));
        refused(&long);
        let mut empty = honest.clone();
        edit(&mut empty, "signature", Vec::clear);
        refused(&empty);
        // A byte of the signed data changed: the counter in the authenticator data.
        let mut counter = honest.clone();
        edit(&mut counter, "authenticatorData", |a| a[36] ^= 0x40);
        refused(&counter);
        // The same sign-in checked with each other algorithm's key, and the reverse.
        for other in all.iter().filter(|o| o.algorithm() != alg) {
            refused(&other.honest_sign_in());
            let other_key = other.credential().public_key;
            assert_eq!(
                vectors.sign_in(&other_key, &honest, 1),
                Err(WebAuthnError::InvalidSignature)
            );
        }
    }
}

#[test]
fn packed_attestation_must_name_the_keys_algorithm() {
    for vectors in Vectors::all() {
        let mut json = vectors.v["packed_registration"]["response"].clone();
        let alg = vectors.algorithm();
        let other = if alg == ES256 { RS256 } else { ES256 };
        // attStmt {"alg": alg, "sig": ...}: re-encode alg as another algorithm's number.
        let encode = |n: i128| cbor_int(n as i64);
        let (ours, theirs) = (encode(alg), encode(other));
        edit(&mut json, "attestationObject", |o| {
            let label = b"\x63alg";
            let at = o
                .windows(label.len() + ours.len())
                .position(|w| w[..4] == label[..] && w[4..] == ours[..]);
            let at = at.expect("the alg entry") + 4;
            o.splice(at..at + ours.len(), theirs.iter().copied());
        });
        assert_eq!(
            vectors.register(&json),
            Err(WebAuthnError::InvalidAttestation),
            "{alg}"
        );
    }
}

#[test]
fn weak_rsa_keys_are_refused_at_sign_up() {
    let all = Vectors::all();
    let rs256 = all.iter().find(|v| v.algorithm() == RS256).unwrap();
    let refused = rs256.v["refused_keys"].as_object().unwrap();
    assert_eq!(refused.len(), 2);
    for (name, case) in refused {
        let error = rs256.register(&case["response"]).unwrap_err();
        assert_eq!(variant(&error), case["expected"], "{name}: {error}");
        assert!(error.to_string().contains("RSA"), "{name}: {error}");
    }
}

#[test]
fn chromium_eddsa_and_rs256_passkeys_sign_up_and_in() {
    let (v, rp) = chromium_algorithms();
    let recorded = v["algorithms"].as_object().unwrap();
    assert_eq!(recorded.len(), 2);
    for (alg, case) in recorded {
        let challenge = |ceremony: &str| bytes(&case[ceremony]["options"]["challenge"]);
        let json = case["registration"]["response"].to_string();
        let response = RegistrationResponse::from_json(json.as_bytes()).unwrap();
        let credential = verify_registration(&response, &challenge("registration"), &rp).unwrap();
        assert_eq!(credential.public_key.algorithm().to_string(), *alg);
        let key = CredentialPublicKey::from_stored(&credential.public_key.stored()).unwrap();
        let user = bytes(&case["registration"]["options"]["user"]["id"]);
        let sign_in = |json: &Json| {
            let response = AuthenticationResponse::from_json(json.to_string().as_bytes())?;
            let stored = StoredCredential {
                public_key: &key,
                sign_count: credential.sign_count,
                user_handle: &user,
            };
            verify_assertion(&response, &challenge("authentication"), &rp, stored)
        };
        let honest = case["authentication"]["response"].clone();
        let signed_in = sign_in(&honest).unwrap();
        assert!(signed_in.sign_count > credential.sign_count, "{alg}");
        let mut tampered = honest.clone();
        edit(&mut tampered, "signature", |s| s[10] ^= 1);
        assert_eq!(
            sign_in(&tampered),
            Err(WebAuthnError::InvalidSignature),
            "{alg}"
        );
        let mut client = honest;
        edit(&mut client, "clientDataJSON", |d| d.insert(1, b' '));
        assert_eq!(
            sign_in(&client),
            Err(WebAuthnError::InvalidSignature),
            "{alg}"
        );
    }
}
