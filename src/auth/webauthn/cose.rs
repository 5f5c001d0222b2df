//! The credential public key: a COSE_Key (RFC 9052 §7) in, a key we can verify with out.
//!
//! edge-chat offers and verifies three algorithms (issue 18 item 4), the ones the passkeys
//! people own actually use: ES256 (COSE -7, ECDSA on P-256 with SHA-256), which nearly every
//! authenticator does; EdDSA (-8, Ed25519), which some security keys prefer; and RS256
//! (-257, RSASSA-PKCS1-v1_5 with SHA-256), which Windows Hello keys in a TPM often do alone.
//! Chromium warns at sign-up when ES256 or RS256 is missing from `pubKeyCredParams`. Nothing
//! else is offered: an authenticator takes the first offered algorithm it supports, so
//! offering one we could not verify would make sign-up create passkeys that never sign in.
//! Each algorithm lives in its own module (`es256`, `eddsa`, `rs256`) with the checks that
//! make its keys safe to store; this one reads the COSE_Key and picks the module.
//!
//! The stored form (`stored` / `from_stored`, base64 in the credential record) is, for
//! ES256, the 65-byte SEC1 point `04 || x || y` as it has been since issue 11, so records
//! made before issue 18 load unchanged; for EdDSA and RS256 it is the COSE_Key itself,
//! re-encoded canonically (CTAP2 §8: label order, shortest forms) from the checked parts. A
//! COSE_Key is a CBOR map, whose first byte (0xa0–0xbf) is never a SEC1 point's 0x04, so
//! the two forms cannot be confused. Every key is checked when it is made, so a stored key
//! always loads.

use super::WebAuthnError;
use super::cbor::{self, Value};
use super::eddsa::Ed25519Key;
use super::es256::Es256Key;
use super::rs256::Rs256Key;

/// COSE algorithm identifiers (IANA "COSE Algorithms") of the algorithms verified here.
pub const ES256: i128 = -7;
pub const EDDSA: i128 = -8;
pub const RS256: i128 = -257;

// COSE_Key labels and key types (RFC 9052 §7.1, RFC 9053 §7, RFC 8230 §4). The labels -1,
// -2 and -3 mean different things per key type: crv/x/y for EC2, crv/x for OKP, n/e for RSA.
pub(super) const LABEL_KTY: i128 = 1;
pub(super) const LABEL_ALG: i128 = 3;
pub(super) const LABEL_MINUS_1: i128 = -1;
pub(super) const LABEL_MINUS_2: i128 = -2;
pub(super) const LABEL_MINUS_3: i128 = -3;
pub(super) const KTY_OKP: i128 = 1;
pub(super) const KTY_EC2: i128 = 2;
pub(super) const KTY_RSA: i128 = 3;

/// A credential public key we can verify signatures with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialPublicKey {
    Es256(Es256Key),
    EdDsa(Ed25519Key),
    Rs256(Rs256Key),
}

pub(super) fn malformed(what: &str) -> WebAuthnError {
    WebAuthnError::Malformed(format!("the credential public key {what}"))
}

/// The integer under `label`, or `Malformed` naming `what` when it is absent or not one.
pub(super) fn int_field(key: &Value<'_>, label: i128, what: &str) -> Result<i128, WebAuthnError> {
    key.get_int(label)
        .and_then(Value::as_int)
        .ok_or_else(|| malformed(&format!("has no {what}")))
}

/// The byte string under `label`, or `InvalidKey`.
pub(super) fn bytes_field<'a>(key: &Value<'a>, label: i128) -> Result<&'a [u8], WebAuthnError> {
    key.get_int(label)
        .and_then(Value::as_bytes)
        .ok_or(WebAuthnError::InvalidKey)
}

impl CredentialPublicKey {
    /// The key an authenticator reported at registration, if it is one we can verify.
    pub fn from_cose(key: &Value<'_>) -> Result<Self, WebAuthnError> {
        if key.as_map().is_none() {
            return Err(malformed("is not a COSE_Key map"));
        }
        let kty = int_field(key, LABEL_KTY, "key type")?;
        let expected_alg = match kty {
            KTY_EC2 => ES256,
            KTY_OKP => EDDSA,
            KTY_RSA => RS256,
            other => return Err(WebAuthnError::UnsupportedKey(format!("key type {other}"))),
        };
        let alg = int_field(key, LABEL_ALG, "algorithm")?;
        if alg != expected_alg {
            return Err(WebAuthnError::UnsupportedKey(format!("algorithm {alg}")));
        }
        match kty {
            KTY_EC2 => Es256Key::from_cose(key).map(Self::Es256),
            KTY_OKP => Ed25519Key::from_cose(key).map(Self::EdDsa),
            _ => Rs256Key::from_cose(key).map(Self::Rs256),
        }
    }

    /// The COSE algorithm this key verifies.
    pub fn algorithm(&self) -> i128 {
        match self {
            Self::Es256(_) => ES256,
            Self::EdDsa(_) => EDDSA,
            Self::Rs256(_) => RS256,
        }
    }

    /// A stored key (see the module doc for the two forms).
    pub fn from_stored(bytes: &[u8]) -> Result<Self, WebAuthnError> {
        if bytes.first() == Some(&0x04) {
            return Es256Key::from_sec1(bytes).map(Self::Es256);
        }
        let value = cbor::decode(bytes).map_err(|_| WebAuthnError::InvalidKey)?;
        match Self::from_cose(&value) {
            Ok(Self::Es256(_)) | Err(_) => Err(WebAuthnError::InvalidKey),
            Ok(key) => Ok(key),
        }
    }

    /// The stored form (`from_stored` reads it back).
    pub fn stored(&self) -> Vec<u8> {
        match self {
            Self::Es256(key) => key.as_sec1().to_vec(),
            Self::EdDsa(key) => key.to_cose(),
            Self::Rs256(key) => key.to_cose(),
        }
    }

    /// The name the handlers of issue 11 use for `from_stored`; kept so they need no change.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, WebAuthnError> {
        Self::from_stored(bytes)
    }

    /// The name the handlers of issue 11 use for `stored`; kept so they need no change.
    pub fn as_sec1(&self) -> Vec<u8> {
        self.stored()
    }

    /// Whether `signature` is this key's signature over the concatenation of `message`'s
    /// parts (authenticator data, then the client data hash).
    pub fn verifies(&self, message: &[&[u8]], signature: &[u8]) -> bool {
        match self {
            Self::Es256(key) => key.verifies(message, signature),
            Self::EdDsa(key) => key.verifies(message, signature),
            Self::Rs256(key) => key.verifies(message, signature),
        }
    }
}

/// Canonical CBOR (RFC 8949 §4.2.1) for the stored COSE_Keys: a major type and argument.
pub(super) fn cbor_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let major = major << 5;
    match n {
        0..=23 => out.push(major | n as u8),
        24..=0xff => out.extend([major | 24, n as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(major | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

/// A COSE_Key map of `kty`, `alg`, then the entries under -1 and -2 (CTAP2 canonical
/// order: 1, 3, -1, -2), each value already encoded.
pub(super) fn cose_key(kty: i128, alg: i128, minus_1: &[u8], minus_2: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + minus_1.len() + minus_2.len());
    cbor_head(&mut out, 5, 4);
    for (label, value) in [(LABEL_KTY, kty), (LABEL_ALG, alg)] {
        cbor_int(&mut out, label);
        cbor_int(&mut out, value);
    }
    cbor_int(&mut out, LABEL_MINUS_1);
    out.extend_from_slice(minus_1);
    cbor_int(&mut out, LABEL_MINUS_2);
    out.extend_from_slice(minus_2);
    out
}

pub(super) fn cbor_int(out: &mut Vec<u8>, n: i128) {
    if n >= 0 {
        cbor_head(out, 0, n as u64);
    } else {
        cbor_head(out, 1, (-1 - n) as u64);
    }
}

pub(super) fn cbor_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 3);
    cbor_head(&mut out, 2, bytes.len() as u64);
    out.extend_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests;
