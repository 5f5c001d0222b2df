//! RS256 (COSE -257): RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2), the one algorithm of
//! many Windows Hello keys held in a TPM. The verifier is the `rsa` crate (RustCrypto),
//! already compiled for jwt-simple's pure-rust feature; only its public-key operation is
//! used, so no private-key code (and none of its timing concerns) is linked for this.
//!
//! Its COSE_Key (RFC 8230 §4) is {1 kty: 3 (RSA), 3 alg: -257, -1 n: modulus, -2 e:
//! exponent}, both unsigned big-endian byte strings. Keys are refused unless:
//! - the modulus has [`MIN_RSA_BITS`] to [`MAX_RSA_BITS`] bits (see there), and
//! - the exponent is 65537 ([`RSA_EXPONENT`]), the one every TPM and platform
//!   authenticator uses (TPM 2.0 writes it as "0 = default"). Small exponents such as 3 are
//!   what made PKCS#1 v1.5 signature forgeries practical against lenient verifiers
//!   (Bleichenbacher 2006); the `rsa` crate compares the whole re-encoded block, but
//!   accepting only what authenticators make leaves nothing to argue about.
//!
//! The signature is the raw big-endian integer, exactly as long as the modulus.

use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};

use super::WebAuthnError;
use super::cbor::Value;
use super::cose::{
    KTY_RSA, LABEL_MINUS_1, LABEL_MINUS_2, RS256, bytes_field, cbor_bytes, cose_key,
};

/// Shortest modulus accepted. 1024-bit RSA is within reach of a well-funded attacker and
/// NIST SP 800-131A has disallowed it for signatures since 2013; TPM keys are 2048 bits.
pub const MIN_RSA_BITS: usize = 2048;

/// Longest modulus accepted: the `rsa` crate's own limit (`RsaPublicKey::MAX_SIZE`). A
/// verify costs about the square of the size, so 4096 bits is 4x a 2048-bit one (see
/// `scripts/bench --only verify` for the 2048-bit time); no authenticator uses more.
pub const MAX_RSA_BITS: usize = 4096;

/// The only public exponent accepted (F4 = 2^16 + 1).
pub const RSA_EXPONENT: u32 = 65537;

/// The DER DigestInfo prefix of a SHA-256 hash (RFC 8017 §9.2, note 1): what PKCS#1 v1.5
/// puts in front of the 32 hash bytes inside the signed block.
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// An RS256 public key within the limits above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rs256Key(RsaPublicKey);

impl Rs256Key {
    /// The key of an RSA COSE_Key whose `kty` and `alg` were already checked.
    pub(super) fn from_cose(key: &Value<'_>) -> Result<Self, WebAuthnError> {
        let n = BigUint::from_bytes_be(bytes_field(key, LABEL_MINUS_1)?);
        let e = BigUint::from_bytes_be(bytes_field(key, LABEL_MINUS_2)?);
        let bits = n.bits();
        if bits < MIN_RSA_BITS {
            return Err(WebAuthnError::UnsupportedKey(format!(
                "{bits}-bit RSA key (at least {MIN_RSA_BITS} bits are needed)"
            )));
        }
        if bits > MAX_RSA_BITS {
            return Err(WebAuthnError::UnsupportedKey(format!(
                "{bits}-bit RSA key (at most {MAX_RSA_BITS} bits are accepted)"
            )));
        }
        if e != BigUint::from(RSA_EXPONENT) {
            return Err(WebAuthnError::UnsupportedKey(format!(
                "RSA public exponent other than {RSA_EXPONENT}"
            )));
        }
        // Also refuses an even modulus, which no RSA key has.
        RsaPublicKey::new_with_max_size(n, e, MAX_RSA_BITS)
            .map(Self)
            .map_err(|_| WebAuthnError::InvalidKey)
    }

    /// The canonical COSE_Key (the stored form).
    pub(super) fn to_cose(&self) -> Vec<u8> {
        let n = cbor_bytes(&self.0.n().to_bytes_be());
        let e = cbor_bytes(&self.0.e().to_bytes_be());
        cose_key(KTY_RSA, RS256, &n, &e)
    }

    /// Whether `signature` is this key's RS256 signature over the concatenation of
    /// `message`'s parts.
    pub fn verifies(&self, message: &[&[u8]], signature: &[u8]) -> bool {
        let mut hash = hmac_sha256::Hash::new();
        message.iter().for_each(|part| hash.update(part));
        let scheme = Pkcs1v15Sign {
            hash_len: Some(32),
            prefix: SHA256_DIGEST_INFO.into(),
        };
        self.0.verify(scheme, &hash.finalize(), signature).is_ok()
    }
}
