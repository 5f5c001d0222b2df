//! ES256 (COSE -7): ECDSA on P-256 with SHA-256, the algorithm nearly every authenticator
//! supports and the first one offered. p256 is already linked for Grip-Sig verification.
//!
//! Its COSE_Key (WebAuthn L3 §6.5.1.1) is a map {1 kty: 2 (EC2), 3 alg: -7, -1 crv: 1
//! (P-256), -2 x: 32 bytes, -3 y: 32 bytes}. It is kept as the 65-byte SEC1 uncompressed
//! point `04 || x || y`, checked to be on the curve when it is made. Signatures arrive
//! ASN.1 DER encoded (§6.5.5).

use p256::ecdsa::signature::DigestVerifier;
use p256::ecdsa::{Signature, VerifyingKey};

use super::WebAuthnError;
use super::cbor::Value;
use super::cose::{LABEL_MINUS_1, LABEL_MINUS_2, LABEL_MINUS_3, bytes_field, int_field};

/// COSE curve identifier of P-256 (RFC 9053 §7.1).
const CRV_P256: i128 = 1;

/// An ES256 public key: a SEC1 uncompressed P-256 point, on the curve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Es256Key([u8; 65]);

impl Es256Key {
    /// The key of an EC2 COSE_Key whose `kty` and `alg` were already checked.
    pub(super) fn from_cose(key: &Value<'_>) -> Result<Self, WebAuthnError> {
        match int_field(key, LABEL_MINUS_1, "curve")? {
            CRV_P256 => {}
            crv => return Err(WebAuthnError::UnsupportedKey(format!("curve {crv}"))),
        }
        let coordinate = |label| {
            bytes_field(key, label)
                .ok()
                .filter(|c| c.len() == 32)
                .ok_or(WebAuthnError::InvalidKey)
        };
        let mut sec1 = [0; 65];
        sec1[0] = 4;
        sec1[1..33].copy_from_slice(coordinate(LABEL_MINUS_2)?);
        sec1[33..].copy_from_slice(coordinate(LABEL_MINUS_3)?);
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
