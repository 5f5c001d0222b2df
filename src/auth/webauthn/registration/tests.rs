//! Tests of `registration`.

use super::*;
use crate::auth::webauthn::assertion::AuthenticationResponse;
use crate::auth::webauthn::authdata::{AT, BS, ED, UP, UV};
use crate::auth::webauthn::testing::{
    Authenticator, CHALLENGE, CREDENTIAL, ORIGIN, RP_ID, auth_data, b64, bytes, cbor_bytes,
    cbor_int, cbor_map, cbor_text, chromium, client_data, ec2_cose, edit, framed, rp,
};
use serde_json::{Value as Json, json};

#[test]
fn chromium_registration_verifies() {
    let c = chromium();
    let json = c.registration_json();
    let credential = c.credential();
    assert_eq!(credential.id.to_string(), json["id"].as_str().unwrap());
    assert_eq!(credential.sign_count, 1);
    assert_eq!(credential.transports, ["internal"]);
    assert!(!credential.backup_eligible);
    // The SPKI convenience field ends with the same 65-byte point.
    let spki = bytes(&json["response"]["publicKey"]);
    assert_eq!(&spki[spki.len() - 65..], credential.public_key.as_sec1());
    let response = RegistrationResponse::from_json(json.to_string().as_bytes()).unwrap();
    assert_eq!(response.challenge(), c.registration_challenge());
}

#[test]
fn chromium_registration_rejections() {
    let c = chromium();
    let json = c.registration_json();
    let response = RegistrationResponse::from_json(json.to_string().as_bytes()).unwrap();
    let verify =
        |challenge: &[u8], rp: &RelyingParty| verify_registration(&response, challenge, rp);
    let origin = c.v["origin"].as_str().unwrap();
    assert_eq!(
        verify(b"another challenge", &c.rp),
        Err(WebAuthnError::WrongChallenge)
    );
    let elsewhere = RelyingParty::new("localhost", ["http://localhost:1"]);
    assert_eq!(
        verify(&c.registration_challenge(), &elsewhere),
        Err(WebAuthnError::WrongOrigin)
    );
    let other_rp = RelyingParty::new("example.com", [origin]);
    assert_eq!(
        verify(&c.registration_challenge(), &other_rp),
        Err(WebAuthnError::WrongRelyingParty)
    );

    // "none" attestation signs nothing, so flags can be edited in place.
    let flags_at = |json: &Json| {
        let object = bytes(&json["response"]["attestationObject"]);
        let auth = bytes(&json["response"]["authenticatorData"]);
        let at = object.windows(auth.len()).position(|w| w == auth).unwrap();
        at + 32
    };
    let with_flags = |clear: u8| {
        let mut json = c.registration_json();
        let at = flags_at(&json);
        edit(&mut json, "attestationObject", |o| o[at] &= !clear);
        c.register(&json)
    };
    assert_eq!(with_flags(UP), Err(WebAuthnError::UserNotPresent));
    assert_eq!(with_flags(UV), Err(WebAuthnError::UserNotVerified));
    // Without AT the attested data is trailing bytes; the layout is refused first.
    assert!(matches!(with_flags(AT), Err(WebAuthnError::Malformed(_))));

    // A different credential id in the JSON than in authenticator data.
    let mut other_id = c.registration_json();
    other_id["id"] = json!("AAAA");
    other_id["rawId"] = json!("AAAA");
    assert_eq!(
        c.register(&other_id),
        Err(WebAuthnError::CredentialMismatch)
    );
    let mut split_id = c.registration_json();
    split_id["rawId"] = json!("AAAA");
    assert!(matches!(
        c.register(&split_id),
        Err(WebAuthnError::Malformed(_))
    ));

    // An assertion's client data in a registration.
    let mut wrong_type = c.registration_json();
    wrong_type["response"]["clientDataJSON"] =
        c.assertion_json(0)["response"]["clientDataJSON"].clone();
    assert_eq!(c.register(&wrong_type), Err(WebAuthnError::WrongCeremony));
}

#[test]
fn chromium_direct_attestation_is_refused_clearly() {
    let c = chromium();
    let direct = &c.v["registration_direct"];
    let response =
        RegistrationResponse::from_json(direct["response"].to_string().as_bytes()).unwrap();
    let result = verify_registration(&response, &bytes(&direct["options"]["challenge"]), &c.rp);
    let expected =
        WebAuthnError::UnsupportedAttestation("\"packed\" with a certificate chain".into());
    assert_eq!(result, Err(expected.clone()));
    assert_eq!(
        expected.to_string(),
        "The authenticator sent an attestation this site does not check (\"packed\" with a certificate chain)."
    );
}

/// The parts of a registration response, valid until a test changes one.
struct Registration {
    auth: Authenticator,
    client_data: Vec<u8>,
    auth_data: Vec<u8>,
    fmt: &'static str,
    statement: Vec<u8>,
    id: Vec<u8>,
}

impl Registration {
    fn new() -> Self {
        let auth = Authenticator::new();
        let key = auth.public_key_cose();
        Self {
            client_data: client_data("webauthn.create", CHALLENGE, ORIGIN),
            auth_data: auth_data(RP_ID, UP | UV | AT, 0, Some((CREDENTIAL, &key)), &[]),
            fmt: "none",
            statement: cbor_map(&[]),
            id: CREDENTIAL.to_vec(),
            auth,
        }
    }

    fn with_key(mut self, cose_key: &[u8]) -> Self {
        self.auth_data = auth_data(RP_ID, UP | UV | AT, 0, Some((CREDENTIAL, cose_key)), &[]);
        self
    }

    /// Packed self attestation: the new key signs authData || SHA-256(clientDataJSON).
    fn self_attested(mut self, alg: i64) -> Self {
        let signed = [self.auth_data.clone(), sha256(&self.client_data).to_vec()].concat();
        self.fmt = "packed";
        self.statement = cbor_map(&[
            (&cbor_text("alg"), &cbor_int(alg)),
            (&cbor_text("sig"), &cbor_bytes(&self.auth.sign(&signed))),
        ]);
        self
    }

    fn attestation_object(&self) -> Vec<u8> {
        cbor_map(&[
            (&cbor_text("fmt"), &cbor_text(self.fmt)),
            (&cbor_text("attStmt"), &self.statement),
            (&cbor_text("authData"), &cbor_bytes(&self.auth_data)),
        ])
    }

    fn json(&self) -> String {
        json!({
            "id": b64(&self.id), "rawId": b64(&self.id), "type": "public-key",
            "response": {
                "clientDataJSON": b64(&self.client_data),
                "attestationObject": b64(&self.attestation_object()),
                "transports": ["internal", "hybrid", "NOT A TOKEN"],
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }

    fn verify(&self) -> Result<NewCredential, WebAuthnError> {
        verify_registration(
            &RegistrationResponse::from_json(self.json().as_bytes())?,
            CHALLENGE,
            &rp(),
        )
    }
}

#[test]
fn registration_accepts_none_and_packed_self_attestation() {
    let none = Registration::new().verify().unwrap();
    assert_eq!(none.id.as_bytes(), CREDENTIAL);
    assert_eq!(
        none.public_key.as_sec1(),
        &Authenticator::new().public_key_sec1()
    );
    assert_eq!(none.aaguid, [0x0a; 16]);
    assert_eq!(none.transports, ["internal", "hybrid"]);
    assert_eq!(none.sign_count, 0);
    let packed = Registration::new().self_attested(-7).verify().unwrap();
    assert_eq!(packed, none);
}

#[test]
fn registration_rejects_bad_attestation_statements() {
    let mut r = Registration::new().self_attested(-7);
    r.auth_data[36] ^= 1; // signCount byte, after signing
    assert_eq!(r.verify(), Err(WebAuthnError::InvalidAttestation));
    let other = Registration::new().self_attested(-8);
    assert_eq!(other.verify(), Err(WebAuthnError::InvalidAttestation));
    let mut wrong_signer = Registration::new();
    wrong_signer.auth = Authenticator::with_seed(9);
    assert_eq!(
        wrong_signer.self_attested(-7).verify(),
        Err(WebAuthnError::InvalidAttestation)
    );
    let mut incomplete = Registration::new();
    incomplete.fmt = "packed";
    incomplete.statement = cbor_map(&[(&cbor_text("alg"), &cbor_int(-7))]);
    assert!(matches!(
        incomplete.verify(),
        Err(WebAuthnError::Malformed(_))
    ));
    let mut none_with_sig = Registration::new();
    none_with_sig.statement = cbor_map(&[(&cbor_text("sig"), &cbor_bytes(b"x"))]);
    assert!(matches!(
        none_with_sig.verify(),
        Err(WebAuthnError::Malformed(_))
    ));
    for fmt in ["tpm", "fido-u2f", "apple", "android-key", "NONE", ""] {
        let mut r = Registration::new();
        r.fmt = fmt;
        assert_eq!(
            r.verify(),
            Err(WebAuthnError::UnsupportedAttestation(format!(
                "format \"{fmt}\""
            ))),
        );
    }
}

#[test]
fn registration_rejects_each_failed_step() {
    let check = |change: fn(&mut Registration), expected: WebAuthnError| {
        let mut r = Registration::new();
        change(&mut r);
        assert_eq!(r.verify(), Err(expected));
    };
    check(
        |r| r.client_data = client_data("webauthn.get", CHALLENGE, ORIGIN),
        WebAuthnError::WrongCeremony,
    );
    check(
        |r| r.client_data = client_data("webauthn.create", b"other", ORIGIN),
        WebAuthnError::WrongChallenge,
    );
    check(
        |r| r.client_data = client_data("webauthn.create", CHALLENGE, "https://evil.example"),
        WebAuthnError::WrongOrigin,
    );
    check(
        |r| r.client_data = framed("webauthn.create"),
        WebAuthnError::CrossOrigin,
    );
    check(|r| r.auth_data[0] ^= 1, WebAuthnError::WrongRelyingParty);
    check(|r| r.auth_data[32] &= !UP, WebAuthnError::UserNotPresent);
    check(|r| r.auth_data[32] &= !UV, WebAuthnError::UserNotVerified);
    check(
        |r| r.auth_data = auth_data(RP_ID, UP | UV, 0, None, &[]),
        WebAuthnError::NoCredential,
    );
    check(
        |r| r.id = b"another-id".to_vec(),
        WebAuthnError::CredentialMismatch,
    );
    let bad_alg = |x: &[u8], y: &[u8]| ec2_cose(-8, x, y);
    let point = Authenticator::new().public_key_sec1();
    let r = Registration::new().with_key(&bad_alg(&point[1..33], &point[33..]));
    assert_eq!(
        r.verify(),
        Err(WebAuthnError::UnsupportedKey("algorithm -8".into()))
    );
    let short = crate::auth::webauthn::testing::es256_cose(&point[1..33], &point[33..64]);
    assert_eq!(
        Registration::new().with_key(&short).verify(),
        Err(WebAuthnError::InvalidKey)
    );
}

#[test]
fn registration_skips_extensions_and_checks_backup_flags() {
    let mut r = Registration::new();
    let key = r.auth.public_key_cose();
    let ext = cbor_map(&[(&cbor_text("credProtect"), &cbor_int(2))]);
    r.auth_data = auth_data(
        RP_ID,
        UP | UV | AT | ED | BE | BS,
        0,
        Some((CREDENTIAL, &key)),
        &ext,
    );
    assert!(r.verify().unwrap().backup_eligible);
    r.auth_data[32] &= !BE;
    assert!(matches!(r.verify(), Err(WebAuthnError::Malformed(_))));
}

#[test]
fn garbage_is_refused_without_panicking() {
    let valid = Registration::new().json();
    let mut reg: Json = serde_json::from_str(&valid).unwrap();
    for (field, value) in [
        ("attestationObject", "!!!"),
        ("attestationObject", ""),
        ("attestationObject", "oA"),
        ("clientDataJSON", "e30"),
        ("clientDataJSON", "%%%"),
    ] {
        reg["response"][field] = json!(value);
        let result = RegistrationResponse::from_json(reg.to_string().as_bytes())
            .and_then(|r| verify_registration(&r, CHALLENGE, &rp()));
        assert!(
            matches!(result, Err(WebAuthnError::Malformed(_))),
            "{field}={value}: {result:?}"
        );
    }
    for body in [&b""[..], b"{}", b"null", b"[]", b"{\"id\":1}", b"\xff"] {
        assert!(matches!(
            RegistrationResponse::from_json(body),
            Err(WebAuthnError::Malformed(_))
        ));
        assert!(matches!(
            AuthenticationResponse::from_json(body),
            Err(WebAuthnError::Malformed(_))
        ));
    }
    let mut wrong_type: Json = serde_json::from_str(&valid).unwrap();
    wrong_type["type"] = json!("password");
    assert!(matches!(
        RegistrationResponse::from_json(wrong_type.to_string().as_bytes()),
        Err(WebAuthnError::Malformed(_))
    ));
    let mut too_long: Json = serde_json::from_str(&valid).unwrap();
    too_long["id"] = json!(b64(&[1; 1024]));
    too_long["rawId"] = too_long["id"].clone();
    assert!(matches!(
        RegistrationResponse::from_json(too_long.to_string().as_bytes()),
        Err(WebAuthnError::Malformed(_))
    ));
}

#[test]
fn every_truncation_and_bit_flip_of_an_attestation_object_is_handled() {
    let r = Registration::new().self_attested(-7);
    let object = r.attestation_object();
    let response = |object: &[u8]| {
        let mut json: Json = serde_json::from_str(&r.json()).unwrap();
        json["response"]["attestationObject"] = json!(b64(object));
        RegistrationResponse::from_json(json.to_string().as_bytes()).unwrap()
    };
    for len in 0..object.len() {
        assert!(verify_registration(&response(&object[..len]), CHALLENGE, &rp()).is_err());
    }
    // Self attestation signs everything in authData, so any flipped bit is caught.
    for i in 0..object.len() {
        let mut flipped = object.clone();
        flipped[i] ^= 0x01;
        assert!(
            verify_registration(&response(&flipped), CHALLENGE, &rp()).is_err(),
            "byte {i}"
        );
    }
}
