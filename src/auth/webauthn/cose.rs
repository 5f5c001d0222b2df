//! The credential public key: a COSE_Key (RFC 9052 §7) in, a SEC1 point out.
//!
//! edge-chat offers and verifies exactly one algorithm, ES256 (COSE -7: ECDSA on P-256 with
//! SHA-256). Every FIDO2 authenticator supports it, and p256 is already linked for Grip-Sig
//! verification. Offering nothing else matters: Chromium's virtual authenticator, like many
//! real ones, takes the first algorithm of `pubKeyCredParams` it supports, so offering one
//! we could not verify would make sign-up create passkeys that can never sign in.
//!
//! An ES256 COSE_Key (WebAuthn L3 §6.5.1.1) is a map {1 kty: 2 (EC2), 3 alg: -7,
//! -1 crv: 1 (P-256), -2 x: 32 bytes, -3 y: 32 bytes}. It is stored as the 65-byte SEC1
//! uncompressed point `04 || x || y`, checked to be on the curve when it is made, so a
//! stored key always loads. Signatures arrive ASN.1 DER encoded (§6.5.5).

use p256::ecdsa::signature::DigestVerifier;
use p256::ecdsa::{Signature, VerifyingKey};

use super::WebAuthnError;
use super::cbor::Value;

/// COSE algorithm identifier of ES256, the only one offered and verified.
pub const ES256: i128 = -7;

// COSE_Key labels and values (RFC 9052 §7.1, RFC 9053 §7.1).
const LABEL_KTY: i128 = 1;
const LABEL_ALG: i128 = 3;
const LABEL_CRV: i128 = -1;
const LABEL_X: i128 = -2;
const LABEL_Y: i128 = -3;
const KTY_EC2: i128 = 2;
const CRV_P256: i128 = 1;

/// An ES256 credential public key, as stored: a SEC1 uncompressed P-256 point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialPublicKey([u8; 65]);

fn malformed(what: &str) -> WebAuthnError {
    WebAuthnError::Malformed(format!("the credential public key {what}"))
}

impl CredentialPublicKey {
    /// The key an authenticator reported at registration, if it is one we can verify.
    pub fn from_cose(key: &Value<'_>) -> Result<Self, WebAuthnError> {
        if key.as_map().is_none() {
            return Err(malformed("is not a COSE_Key map"));
        }
        let int = |label| key.get_int(label).map(|v| v.as_int().ok_or(v));
        match int(LABEL_KTY) {
            Some(Ok(KTY_EC2)) => {}
            Some(Ok(kty)) => return Err(WebAuthnError::UnsupportedKey(format!("key type {kty}"))),
            _ => return Err(malformed("has no key type")),
        }
        match int(LABEL_ALG) {
            Some(Ok(ES256)) => {}
            Some(Ok(alg)) => return Err(WebAuthnError::UnsupportedKey(format!("algorithm {alg}"))),
            _ => return Err(malformed("has no algorithm")),
        }
        match int(LABEL_CRV) {
            Some(Ok(CRV_P256)) => {}
            Some(Ok(crv)) => return Err(WebAuthnError::UnsupportedKey(format!("curve {crv}"))),
            _ => return Err(malformed("has no curve")),
        }
        let coordinate = |label| {
            key.get_int(label)
                .and_then(Value::as_bytes)
                .filter(|c| c.len() == 32)
                .ok_or(WebAuthnError::InvalidKey)
        };
        let mut sec1 = [0; 65];
        sec1[0] = 4;
        sec1[1..33].copy_from_slice(coordinate(LABEL_X)?);
        sec1[33..].copy_from_slice(coordinate(LABEL_Y)?);
        Self::from_sec1(&sec1)
    }

    /// A stored key: 65 bytes, uncompressed, on the curve.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, WebAuthnError> {
        let point: [u8; 65] = bytes.try_into().map_err(|_| WebAuthnError::InvalidKey)?;
        if point[0] != 4 || VerifyingKey::from_sec1_bytes(&point).is_err() {
            return Err(WebAuthnError::InvalidKey);
        }
        Ok(Self(point))
    }

    /// The stored form (`from_sec1` reads it back).
    pub fn as_sec1(&self) -> &[u8; 65] {
        &self.0
    }

    /// Whether `der_signature` is this key's ES256 signature over the concatenation of
    /// `message`'s parts. High-S signatures are valid: WebAuthn does not require low-S.
    pub fn verifies(&self, message: &[&[u8]], der_signature: &[u8]) -> bool {
        let (Ok(key), Ok(signature)) = (
            VerifyingKey::from_sec1_bytes(&self.0),
            Signature::from_der(der_signature),
        ) else {
            return false;
        };
        let digest = |hash: &mut hmac_sha256::Hash| {
            message.iter().for_each(|part| hash.update(part));
            Ok(())
        };
        key.verify_digest(digest, &signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::webauthn::cbor;
    use crate::auth::webauthn::testing::{
        Authenticator, cbor_bytes, cbor_int, cbor_map, es256_cose,
    };

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

    #[test]
    fn es256_key_round_trips_through_its_stored_form() {
        let auth = Authenticator::new();
        let point = auth.public_key_sec1();
        let key = parse(&es256_cose(&point[1..33], &point[33..])).unwrap();
        assert_eq!(key.as_sec1(), &point);
        assert_eq!(
            CredentialPublicKey::from_sec1(key.as_sec1()),
            Ok(key.clone())
        );
        let signature = auth.sign(b"hello world");
        assert!(key.verifies(&[b"hello ", b"world"], &signature));
        assert!(key.verifies(&[b"hello world"], &signature));
        assert!(!key.verifies(&[b"hello world!"], &signature));
    }

    #[test]
    fn refuses_other_algorithms_and_curves() {
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
        let unsupported = |what: &str| Err(WebAuthnError::UnsupportedKey(what.into()));
        assert!(parse(&ec2(-7, 1)).is_ok());
        assert_eq!(parse(&ec2(-8, 1)), unsupported("algorithm -8"));
        assert_eq!(parse(&ec2(-35, 2)), unsupported("algorithm -35"));
        assert_eq!(parse(&ec2(-7, 2)), unsupported("curve 2"));
        // EdDSA (OKP) and RS256 (RSA) keys.
        let okp = key_with(&[
            (1, cbor_int(1)),
            (3, cbor_int(-8)),
            (-1, cbor_int(6)),
            (-2, x.clone()),
        ]);
        assert_eq!(parse(&okp), unsupported("key type 1"));
        let rsa = key_with(&[
            (1, cbor_int(3)),
            (3, cbor_int(-257)),
            (-1, cbor_bytes(&[1; 256])),
        ]);
        assert_eq!(parse(&rsa), unsupported("key type 3"));
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

        let invalid =
            |encoded: Vec<u8>| assert_eq!(parse(&encoded), Err(WebAuthnError::InvalidKey));
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
        assert!(CredentialPublicKey::from_sec1(&point).is_ok());
        assert_eq!(
            CredentialPublicKey::from_sec1(&point[..64]),
            Err(WebAuthnError::InvalidKey)
        );
        assert_eq!(
            CredentialPublicKey::from_sec1(&[]),
            Err(WebAuthnError::InvalidKey)
        );
        let mut compressed = [0; 65];
        compressed[..33].copy_from_slice(&point[..33]);
        compressed[0] = 2;
        assert_eq!(
            CredentialPublicKey::from_sec1(&compressed),
            Err(WebAuthnError::InvalidKey)
        );
        let mut off_curve = point;
        off_curve[64] ^= 1;
        assert_eq!(
            CredentialPublicKey::from_sec1(&off_curve),
            Err(WebAuthnError::InvalidKey)
        );
    }

    #[test]
    fn signatures_must_be_der() {
        let auth = Authenticator::new();
        let key = CredentialPublicKey::from_sec1(&auth.public_key_sec1()).unwrap();
        let der = auth.sign(b"message");
        assert!(key.verifies(&[b"message"], &der));
        let raw = Signature::from_der(&der).unwrap().to_bytes();
        assert!(!key.verifies(&[b"message"], &raw), "raw r||s is not DER");
        assert!(!key.verifies(&[b"message"], &der[..der.len() - 1]));
        assert!(!key.verifies(&[b"message"], &[]));
        let other = Authenticator::with_seed(2);
        assert!(!key.verifies(&[b"message"], &other.sign(b"message")));
    }
}
