//! Tests of `cose` and the three algorithms' key checks. Signatures by real RS256 and
//! EdDSA authenticators are checked against recorded vectors in `registration/tests.rs`.

use super::*;
use crate::auth::webauthn::cbor;
use crate::auth::webauthn::testing::{
    Authenticator, cbor_bytes, cbor_int, cbor_map, es256_cose, okp_cose, rsa_cose,
};
use ed25519_compact::{KeyPair, Seed};
use p256::ecdsa::Signature;

fn parse(encoded: &[u8]) -> Result<CredentialPublicKey, WebAuthnError> {
    CredentialPublicKey::from_cose(&cbor::decode(encoded).unwrap())
}

fn key_with(entries: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let encoded: Vec<(Vec<u8>, &[u8])> = entries
        .iter()
        .map(|(label, value)| (cbor_int(*label), value.as_slice()))
        .collect();
    let refs: Vec<(&[u8], &[u8])> = encoded.iter().map(|(k, v)| (k.as_slice(), *v)).collect();
    cbor_map(&refs)
}

fn unsupported(what: &str) -> Result<CredentialPublicKey, WebAuthnError> {
    Err(WebAuthnError::UnsupportedKey(what.into()))
}

/// An odd modulus of exactly `bits` bits: a key the checks must take or refuse by size alone.
fn modulus(bits: usize) -> Vec<u8> {
    let mut n = vec![0xc5; bits.div_ceil(8)];
    let spare = n.len() * 8 - bits;
    n[0] = (0xc5 | 0x80) >> spare;
    *n.last_mut().unwrap() |= 1;
    n
}

const F4: &[u8] = &[1, 0, 1];

#[test]
fn es256_key_round_trips_through_its_stored_form() {
    let auth = Authenticator::new();
    let point = auth.public_key_sec1();
    let key = parse(&es256_cose(&point[1..33], &point[33..])).unwrap();
    assert_eq!(key.algorithm(), ES256);
    assert_eq!(key.stored(), point, "ES256 is stored as before issue 18");
    assert_eq!(key.as_sec1(), point);
    assert_eq!(CredentialPublicKey::from_stored(&point), Ok(key.clone()));
    assert_eq!(CredentialPublicKey::from_sec1(&point), Ok(key.clone()));
    let signature = auth.sign(b"hello world");
    assert!(key.verifies(&[b"hello ", b"world"], &signature));
    assert!(key.verifies(&[b"hello world"], &signature));
    assert!(!key.verifies(&[b"hello world!"], &signature));
}

#[test]
fn eddsa_key_round_trips_and_verifies() {
    let pair = KeyPair::from_seed(Seed::new([7; 32]));
    let cose = okp_cose(6, pair.pk.as_ref());
    let key = parse(&cose).unwrap();
    assert_eq!(key.algorithm(), EDDSA);
    assert_eq!(key.stored(), cose, "stored as its canonical COSE_Key");
    assert_eq!(
        CredentialPublicKey::from_stored(&key.stored()),
        Ok(key.clone())
    );
    let signature = pair.sk.sign(b"hello world", None);
    assert!(key.verifies(&[b"hello ", b"world"], signature.as_ref()));
    assert!(key.verifies(&[b"hello world"], signature.as_ref()));
    assert!(!key.verifies(&[b"hello world!"], signature.as_ref()));
    let mut tampered = signature.to_vec();
    tampered[5] ^= 1;
    assert!(!key.verifies(&[b"hello world"], &tampered));
    assert!(!key.verifies(&[b"hello world"], &signature[..63]));
    assert!(!key.verifies(&[b"hello world"], &[]));
    let other = KeyPair::from_seed(Seed::new([8; 32]));
    assert!(!key.verifies(
        &[b"hello world"],
        other.sk.sign(b"hello world", None).as_ref()
    ));
    // An ES256 DER signature is not an Ed25519 one.
    assert!(!key.verifies(
        &[b"hello world"],
        &Authenticator::new().sign(b"hello world")
    ));
}

#[test]
fn eddsa_keys_are_checked() {
    let pair = KeyPair::from_seed(Seed::new([7; 32]));
    assert_eq!(
        parse(&okp_cose(7, pair.pk.as_ref())),
        unsupported("curve 7")
    );
    assert_eq!(
        parse(&okp_cose(1, pair.pk.as_ref())),
        unsupported("curve 1")
    );
    let invalid = |x: &[u8]| assert_eq!(parse(&okp_cose(6, x)), Err(WebAuthnError::InvalidKey));
    invalid(&pair.pk[..31]);
    invalid(&[pair.pk.as_ref(), &[0]].concat());
    // The identity point (small order: anyone could "sign" for it) and a y >= p.
    let mut identity = [0; 32];
    identity[0] = 1;
    invalid(&identity);
    invalid(&[0xff; 32]);
    let no_x = key_with(&[(1, cbor_int(1)), (3, cbor_int(-8)), (-1, cbor_int(6))]);
    assert_eq!(parse(&no_x), Err(WebAuthnError::InvalidKey));
    let no_crv = key_with(&[
        (1, cbor_int(1)),
        (3, cbor_int(-8)),
        (-2, cbor_bytes(&pair.pk[..])),
    ]);
    assert!(matches!(parse(&no_crv), Err(WebAuthnError::Malformed(_))));
}

#[test]
fn rsa_keys_are_checked() {
    let key = parse(&rsa_cose(&modulus(2048), F4)).unwrap();
    assert_eq!(key.algorithm(), RS256);
    assert_eq!(key.stored(), rsa_cose(&modulus(2048), F4));
    assert_eq!(
        CredentialPublicKey::from_stored(&key.stored()),
        Ok(key.clone())
    );
    assert!(!key.verifies(&[b"message"], &[1; 256]));
    assert!(!key.verifies(&[b"message"], &[]));
    // A leading zero byte changes nothing; the stored form drops it.
    let padded = parse(&rsa_cose(
        &[&[0][..], &modulus(2048)].concat(),
        &[0, 1, 0, 1],
    ))
    .unwrap();
    assert_eq!(padded, key);
    assert!(parse(&rsa_cose(&modulus(4096), F4)).is_ok());
    assert!(parse(&rsa_cose(&modulus(3072), F4)).is_ok());

    assert_eq!(
        parse(&rsa_cose(&modulus(1024), F4)),
        unsupported("1024-bit RSA key (at least 2048 bits are needed)")
    );
    assert_eq!(
        parse(&rsa_cose(&modulus(2047), F4)),
        unsupported("2047-bit RSA key (at least 2048 bits are needed)")
    );
    assert_eq!(
        parse(&rsa_cose(&modulus(4097), F4)),
        unsupported("4097-bit RSA key (at most 4096 bits are accepted)")
    );
    let exponent = unsupported("RSA public exponent other than 65537");
    assert_eq!(parse(&rsa_cose(&modulus(2048), &[3])), exponent);
    assert_eq!(parse(&rsa_cose(&modulus(2048), &[1, 0, 0, 1])), exponent);
    assert_eq!(parse(&rsa_cose(&modulus(2048), &[])), exponent);
    let mut even = modulus(2048);
    *even.last_mut().unwrap() &= !1;
    assert_eq!(parse(&rsa_cose(&even, F4)), Err(WebAuthnError::InvalidKey));
    let no_e = key_with(&[
        (1, cbor_int(3)),
        (3, cbor_int(-257)),
        (-1, cbor_bytes(&modulus(2048))),
    ]);
    assert_eq!(parse(&no_e), Err(WebAuthnError::InvalidKey));
    let text_n = key_with(&[
        (1, cbor_int(3)),
        (3, cbor_int(-257)),
        (-1, cbor_int(5)),
        (-2, cbor_bytes(F4)),
    ]);
    assert_eq!(parse(&text_n), Err(WebAuthnError::InvalidKey));
}

#[test]
fn refuses_other_key_types_and_algorithms() {
    let auth = Authenticator::new();
    let point = auth.public_key_sec1();
    let (x, y) = (cbor_bytes(&point[1..33]), cbor_bytes(&point[33..]));
    let ec2 = |alg: i64, crv: i64| {
        key_with(&[
            (1, cbor_int(2)),
            (3, cbor_int(alg)),
            (-1, cbor_int(crv)),
            (-2, x.clone()),
            (-3, y.clone()),
        ])
    };
    assert!(parse(&ec2(-7, 1)).is_ok());
    assert_eq!(parse(&ec2(-8, 1)), unsupported("algorithm -8"));
    assert_eq!(parse(&ec2(-35, 2)), unsupported("algorithm -35"));
    assert_eq!(parse(&ec2(-7, 2)), unsupported("curve 2"));
    // Each key type with another's algorithm, PS256 on an RSA key, a symmetric key.
    let typed = |kty: i64, alg: i64| {
        key_with(&[
            (1, cbor_int(kty)),
            (3, cbor_int(alg)),
            (-1, cbor_int(6)),
            (-2, x.clone()),
        ])
    };
    assert_eq!(parse(&typed(1, -7)), unsupported("algorithm -7"));
    assert_eq!(parse(&typed(3, -8)), unsupported("algorithm -8"));
    assert_eq!(parse(&typed(2, -257)), unsupported("algorithm -257"));
    assert_eq!(parse(&typed(3, -37)), unsupported("algorithm -37"));
    assert_eq!(parse(&typed(4, -7)), unsupported("key type 4"));
    assert_eq!(parse(&typed(-1, -7)), unsupported("key type -1"));
}

#[test]
fn refuses_malformed_keys() {
    let auth = Authenticator::new();
    let point = auth.public_key_sec1();
    let (x, y) = (cbor_bytes(&point[1..33]), cbor_bytes(&point[33..]));
    let malformed = |encoded: Vec<u8>| {
        assert!(
            matches!(parse(&encoded), Err(WebAuthnError::Malformed(_))),
            "{encoded:x?}"
        )
    };
    malformed(cbor_int(2));
    malformed(key_with(&[
        (3, cbor_int(-7)),
        (-1, cbor_int(1)),
        (-2, x.clone()),
        (-3, y.clone()),
    ]));
    malformed(key_with(&[
        (1, cbor_int(2)),
        (-1, cbor_int(1)),
        (-2, x.clone()),
        (-3, y.clone()),
    ]));
    malformed(key_with(&[
        (1, cbor_int(2)),
        (3, cbor_int(-7)),
        (-2, x.clone()),
        (-3, y.clone()),
    ]));
    malformed(key_with(&[(1, b"\x61\x32".to_vec()), (3, cbor_int(-7))]));

    let invalid = |encoded: Vec<u8>| assert_eq!(parse(&encoded), Err(WebAuthnError::InvalidKey));
    let with = |x: Vec<u8>, y: Vec<u8>| {
        key_with(&[
            (1, cbor_int(2)),
            (3, cbor_int(-7)),
            (-1, cbor_int(1)),
            (-2, x),
            (-3, y),
        ])
    };
    invalid(with(x.clone(), cbor_bytes(&point[33..64])));
    invalid(with(cbor_bytes(&[&point[1..33], &[0]].concat()), y.clone()));
    invalid(with(x.clone(), cbor_int(5)));
    invalid(key_with(&[
        (1, cbor_int(2)),
        (3, cbor_int(-7)),
        (-1, cbor_int(1)),
        (-2, x.clone()),
    ]));
    // 32-byte coordinates that are not a point on P-256.
    let mut off_curve = point[33..].to_vec();
    off_curve[31] ^= 1;
    invalid(with(x.clone(), cbor_bytes(&off_curve)));
    invalid(with(cbor_bytes(&[0; 32]), cbor_bytes(&[0; 32])));
}

#[test]
fn stored_form_is_checked() {
    let point = Authenticator::new().public_key_sec1();
    let from_stored = CredentialPublicKey::from_stored;
    assert!(from_stored(&point).is_ok());
    let invalid = Err(WebAuthnError::InvalidKey);
    assert_eq!(from_stored(&point[..64]), invalid);
    assert_eq!(from_stored(&[]), invalid);
    let mut compressed = [0; 65];
    compressed[..33].copy_from_slice(&point[..33]);
    compressed[0] = 2;
    assert_eq!(from_stored(&compressed), invalid);
    let mut off_curve = point;
    off_curve[64] ^= 1;
    assert_eq!(from_stored(&off_curve), invalid);
    // COSE forms: never ES256 (stored as SEC1), never a refused key, never trailing bytes.
    assert_eq!(
        from_stored(&es256_cose(&point[1..33], &point[33..])),
        invalid
    );
    assert_eq!(from_stored(&rsa_cose(&modulus(1024), F4)), invalid);
    let rsa = rsa_cose(&modulus(2048), F4);
    assert_eq!(from_stored(&[&rsa[..], &[0]].concat()), invalid);
    assert_eq!(from_stored(&rsa[..rsa.len() - 1]), invalid);
}

#[test]
fn es256_signatures_must_be_der() {
    let auth = Authenticator::new();
    let key = CredentialPublicKey::from_stored(&auth.public_key_sec1()).unwrap();
    let der = auth.sign(b"message");
    assert!(key.verifies(&[b"message"], &der));
    let raw = Signature::from_der(&der).unwrap().to_bytes();
    assert!(!key.verifies(&[b"message"], &raw), "raw r||s is not DER");
    assert!(!key.verifies(&[b"message"], &der[..der.len() - 1]));
    assert!(!key.verifies(&[b"message"], &[]));
    let other = Authenticator::with_seed(2);
    assert!(!key.verifies(&[b"message"], &other.sign(b"message")));
}
