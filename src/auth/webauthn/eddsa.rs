//! EdDSA (COSE -8) with Ed25519, which some security keys use by preference. The
//! verifier is ed25519-compact, already linked through jwt-simple's pure-rust feature.
//!
//! Its COSE_Key (RFC 9053 §7.2) is an OKP key {1 kty: 1, 3 alg: -8, -1 crv: 6 (Ed25519),
//! -2 x: the 32-byte public key}. Ed448 (crv 7) is refused: no authenticator we know of
//! makes it and nothing here verifies it. A key must decode to a point of large order
//! (`PublicKey::validate`): a small-order key would let anyone "sign" for it. Ed25519
//! signs the message itself, not a hash (RFC 8032 §5.1.6), and the signature is the raw
//! 64 bytes R || S with S canonical.

use ed25519_compact::{PublicKey, Signature};

use super::WebAuthnError;
use super::cbor::Value;
use super::cose::{
    EDDSA, KTY_OKP, LABEL_MINUS_1, LABEL_MINUS_2, bytes_field, cbor_bytes, cbor_int, cose_key,
    int_field,
};

/// COSE curve identifier of Ed25519 (RFC 9053 §7.1).
const CRV_ED25519: i128 = 6;

/// An Ed25519 public key, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ed25519Key(PublicKey);

impl Ed25519Key {
    /// The key of an OKP COSE_Key whose `kty` and `alg` were already checked.
    pub(super) fn from_cose(key: &Value<'_>) -> Result<Self, WebAuthnError> {
        match int_field(key, LABEL_MINUS_1, "curve")? {
            CRV_ED25519 => {}
            crv => return Err(WebAuthnError::UnsupportedKey(format!("curve {crv}"))),
        }
        let key = PublicKey::from_slice(bytes_field(key, LABEL_MINUS_2)?)
            .map_err(|_| WebAuthnError::InvalidKey)?;
        key.validate().map_err(|_| WebAuthnError::InvalidKey)?;
        Ok(Self(key))
    }

    /// The canonical COSE_Key (the stored form).
    pub(super) fn to_cose(&self) -> Vec<u8> {
        let mut crv = Vec::new();
        cbor_int(&mut crv, CRV_ED25519);
        cose_key(KTY_OKP, EDDSA, &crv, &cbor_bytes(self.0.as_ref()))
    }

    /// Whether `signature` is this key's Ed25519 signature over the concatenation of
    /// `message`'s parts.
    pub fn verifies(&self, message: &[&[u8]], signature: &[u8]) -> bool {
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        let Ok(mut state) = self.0.verify_incremental(&signature) else {
            return false;
        };
        message.iter().for_each(|part| state.absorb(part));
        state.verify().is_ok()
    }
}
