//! Test helpers: a few lines of CBOR writing and a software ES256 authenticator, to make
//! the responses a browser never would (flags cleared, counters going backwards, a
//! tampered byte) with signatures that are otherwise valid. Keys come from fixed seeds
//! and ECDSA here is deterministic (RFC 6979), so the tests need no randomness. Also the
//! recorded vectors (`vectors/`: Chromium's, and tests/softauthn.py's with the error each
//! of its attacks must get) and the relying party they were made for.

use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value as Json, json};

use super::assertion::{Assertion, AuthenticationResponse, StoredCredential, verify_assertion};
use super::client_data::{BASE64URL, decode_field};
use super::registration::{NewCredential, RegistrationResponse, verify_registration};
use super::{RelyingParty, WebAuthnError, sha256};

pub const RP_ID: &str = "localhost";
pub const ORIGIN: &str = "http://localhost:7676";
pub const CHALLENGE: &[u8] = b"0123456789abcdef0123456789abcdef";
pub const CREDENTIAL: &[u8] = b"a-credential-id-of-some-length";
pub const USER: &[u8] = b"user-handle";

pub fn rp_id_hash(rp_id: &str) -> [u8; 32] {
    sha256(rp_id.as_bytes())
}

fn head(major: u8, n: u64) -> Vec<u8> {
    let major = major << 5;
    match n {
        0..=23 => vec![major | n as u8],
        24..=0xff => vec![major | 24, n as u8],
        0x100..=0xffff => [&[major | 25][..], &(n as u16).to_be_bytes()].concat(),
        0x1_0000..=0xffff_ffff => [&[major | 26][..], &(n as u32).to_be_bytes()].concat(),
        _ => [&[major | 27][..], &n.to_be_bytes()].concat(),
    }
}

pub fn cbor_int(n: i64) -> Vec<u8> {
    if n >= 0 {
        head(0, n as u64)
    } else {
        head(1, (-1 - n) as u64)
    }
}

pub fn cbor_bytes(bytes: &[u8]) -> Vec<u8> {
    [head(2, bytes.len() as u64), bytes.to_vec()].concat()
}

pub fn cbor_text(text: &str) -> Vec<u8> {
    [head(3, text.len() as u64), text.as_bytes().to_vec()].concat()
}

/// A map from already-encoded keys and values.
pub fn cbor_map(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = head(5, entries.len() as u64);
    for (key, value) in entries {
        out.extend_from_slice(key);
        out.extend_from_slice(value);
    }
    out
}

/// The COSE_Key of an ES256 public key with coordinates `x` and `y`.
pub fn es256_cose(x: &[u8], y: &[u8]) -> Vec<u8> {
    ec2_cose(-7, x, y)
}

/// A P-256 EC2 COSE_Key claiming algorithm `alg`.
pub fn ec2_cose(alg: i64, x: &[u8], y: &[u8]) -> Vec<u8> {
    cbor_map(&[
        (&cbor_int(1), &cbor_int(2)),
        (&cbor_int(3), &cbor_int(alg)),
        (&cbor_int(-1), &cbor_int(1)),
        (&cbor_int(-2), &cbor_bytes(x)),
        (&cbor_int(-3), &cbor_bytes(y)),
    ])
}

/// An OKP COSE_Key (EdDSA) on curve `crv` with public key `x`.
pub fn okp_cose(crv: i64, x: &[u8]) -> Vec<u8> {
    cbor_map(&[
        (&cbor_int(1), &cbor_int(1)),
        (&cbor_int(3), &cbor_int(-8)),
        (&cbor_int(-1), &cbor_int(crv)),
        (&cbor_int(-2), &cbor_bytes(x)),
    ])
}

/// An RSA COSE_Key (RS256) with modulus `n` and exponent `e`, big-endian.
pub fn rsa_cose(n: &[u8], e: &[u8]) -> Vec<u8> {
    cbor_map(&[
        (&cbor_int(1), &cbor_int(3)),
        (&cbor_int(3), &cbor_int(-257)),
        (&cbor_int(-1), &cbor_bytes(n)),
        (&cbor_int(-2), &cbor_bytes(e)),
    ])
}

pub fn b64(bytes: &[u8]) -> String {
    BASE64URL.encode(bytes)
}

/// One passkey on a software authenticator.
pub struct Authenticator {
    key: SigningKey,
}

impl Authenticator {
    pub fn new() -> Self {
        Self::with_seed(1)
    }

    /// Distinct seeds give distinct keys.
    pub fn with_seed(seed: u8) -> Self {
        let mut scalar = [0x5a; 32];
        scalar[31] = seed;
        Self {
            key: SigningKey::from_slice(&scalar).expect("a valid P-256 scalar"),
        }
    }

    pub fn public_key_sec1(&self) -> [u8; 65] {
        let point = self.key.verifying_key().to_sec1_point(false);
        point.as_bytes().try_into().expect("65 bytes")
    }

    pub fn public_key_cose(&self) -> Vec<u8> {
        let point = self.public_key_sec1();
        es256_cose(&point[1..33], &point[33..])
    }

    /// An ES256 signature over `message`, DER encoded as WebAuthn sends it.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.key.sign(message);
        signature.to_der().as_bytes().to_vec()
    }
}

/// Authenticator data: rpIdHash, flags, counter, then optional attested credential data
/// (AAGUID of 0x0a bytes) and raw trailing bytes (extensions).
pub fn auth_data(
    rp_id: &str,
    flags: u8,
    sign_count: u32,
    attested: Option<(&[u8], &[u8])>,
    trailing: &[u8],
) -> Vec<u8> {
    let mut out = rp_id_hash(rp_id).to_vec();
    out.push(flags);
    out.extend(sign_count.to_be_bytes());
    if let Some((id, cose_key)) = attested {
        out.extend([0x0a; 16]);
        out.extend((id.len() as u16).to_be_bytes());
        out.extend(id);
        out.extend(cose_key);
    }
    out.extend(trailing);
    out
}

/// clientDataJSON as Chromium writes it.
pub fn client_data(ty: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"{ty}","challenge":"{}","origin":"{origin}","crossOrigin":false}}"#,
        b64(challenge)
    )
    .into_bytes()
}

// ------------------------------------------------------------ vectors recorded from Chromium

/// Responses recorded by tests/webauthn_vectors/record.py (see there).
const CHROMIUM: &str = include_str!("vectors/chromium.json");

/// The recorded vectors and the relying party they were made for.
pub struct Chromium {
    pub rp: RelyingParty,
    pub v: Json,
}

/// An EdDSA and an RS256 passkey made by Chromium's virtual authenticator, each with a
/// sign-in (`record.py algorithms`), and the relying party they were made for.
pub fn chromium_algorithms() -> (Json, RelyingParty) {
    let v: Json = serde_json::from_str(include_str!("vectors/chromium-algorithms.json")).unwrap();
    let origin = v["origin"].as_str().unwrap().to_owned();
    let rp = RelyingParty::new(v["rp_id"].as_str().unwrap(), [origin]);
    (v, rp)
}

pub fn chromium() -> Chromium {
    let v: Json = serde_json::from_str(CHROMIUM).unwrap();
    let origin = v["origin"].as_str().unwrap().to_owned();
    Chromium {
        rp: RelyingParty::new(v["rp_id"].as_str().unwrap(), [origin]),
        v,
    }
}

pub fn bytes(v: &Json) -> Vec<u8> {
    decode_field("test", v.as_str().unwrap()).unwrap()
}

impl Chromium {
    pub fn registration_json(&self) -> Json {
        self.v["registration"]["response"].clone()
    }
    pub fn registration_challenge(&self) -> Vec<u8> {
        bytes(&self.v["registration"]["options"]["challenge"])
    }
    pub fn user_handle(&self) -> Vec<u8> {
        bytes(&self.v["registration"]["options"]["user"]["id"])
    }
    pub fn register(&self, json: &Json) -> Result<NewCredential, WebAuthnError> {
        let response = RegistrationResponse::from_json(json.to_string().as_bytes())?;
        verify_registration(&response, &self.registration_challenge(), &self.rp)
    }
    pub fn credential(&self) -> NewCredential {
        self.register(&self.registration_json()).unwrap()
    }
    pub fn assertion_json(&self, i: usize) -> Json {
        self.v["authentications"][i]["response"].clone()
    }
    pub fn sign_in(&self, i: usize, json: &Json, count: u32) -> Result<Assertion, WebAuthnError> {
        let credential = self.credential();
        let response = AuthenticationResponse::from_json(json.to_string().as_bytes())?;
        let challenge = bytes(&self.v["authentications"][i]["options"]["challenge"]);
        let stored = StoredCredential {
            public_key: &credential.public_key,
            sign_count: count,
            user_handle: &self.user_handle(),
        };
        verify_assertion(&response, &challenge, &self.rp, stored)
    }
}

/// Re-encodes one base64url field of a response after `edit` changes its bytes.
pub fn edit(json: &mut Json, field: &str, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut data = bytes(&json["response"][field]);
    edit(&mut data);
    json["response"][field] = json!(b64(&data));
}

pub fn rp() -> RelyingParty {
    RelyingParty::new(RP_ID, [ORIGIN])
}

/// Client data made inside a cross-origin frame.
pub fn framed(ty: &str) -> Vec<u8> {
    let data = String::from_utf8(client_data(ty, CHALLENGE, ORIGIN)).unwrap();
    data.replace(r#""crossOrigin":false"#, r#""crossOrigin":true"#)
        .into_bytes()
}

// ------------------------------------------------- vectors made by tests/softauthn.py

/// Honest responses and one per attack knob, with the error each must get, from an
/// ES256, an EdDSA-only and an RS256-only authenticator (see
/// tests/webauthn_vectors/record_softauthn.py).
const SOFTAUTHN: [&str; 3] = [
    include_str!("vectors/softauthn.json"),
    include_str!("vectors/softauthn-eddsa.json"),
    include_str!("vectors/softauthn-rs256.json"),
];

/// Each algorithm's vectors and the relying party they were made for.
pub fn softauthn() -> Vec<(Json, RelyingParty)> {
    SOFTAUTHN
        .iter()
        .map(|text| {
            let v: Json = serde_json::from_str(text).unwrap();
            let rp = RelyingParty::new(
                v["rp_id"].as_str().unwrap(),
                [v["origin"].as_str().unwrap()],
            );
            (v, rp)
        })
        .collect()
}

/// The name of an error's variant, e.g. `CounterNotIncreased`.
pub fn variant(error: &WebAuthnError) -> String {
    let debug = format!("{error:?}");
    debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}
