//! Authenticator data (WebAuthn L3 §6.1): what the authenticator itself vouches for.
//!
//! ```text
//! rpIdHash (32) | flags (1) | signCount (4, big-endian)
//!   | attested credential data, if AT: aaguid (16) | credentialIdLength (2) | credentialId | COSE_Key
//!   | extensions, if ED: a CBOR map
//! ```
//!
//! The COSE key and the extensions carry no length of their own, so the CBOR reader
//! tells where each ends; anything left after the last declared part is refused, so two
//! readers can never disagree about what was signed. Extension outputs are parsed (to find
//! their end) and then ignored: edge-chat requests none.

use super::WebAuthnError;
use super::cbor::{self, Value};

/// User Present: the authenticator tested that someone is there (a touch, a click).
pub const UP: u8 = 1 << 0;
/// User Verified: the authenticator checked who (PIN, biometrics).
pub const UV: u8 = 1 << 2;
/// Backup Eligible: the credential may be synced to other devices.
pub const BE: u8 = 1 << 3;
/// Backup State: the credential is currently synced.
pub const BS: u8 = 1 << 4;
/// Attested credential data follows the counter (registration).
pub const AT: u8 = 1 << 6;
/// Extension outputs follow.
pub const ED: u8 = 1 << 7;

/// Longest credential id accepted (§6.5.1: credentialIdLength MUST be ≤ 1023).
pub const MAX_CREDENTIAL_ID: usize = 1023;

const FIXED_LEN: usize = 32 + 1 + 4;

/// Parsed authenticator data, borrowing from the bytes it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorData<'a> {
    pub rp_id_hash: &'a [u8],
    pub flags: u8,
    pub sign_count: u32,
    pub attested: Option<AttestedCredential<'a>>,
}

/// The new credential an authenticator reports at registration (§6.5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredential<'a> {
    pub aaguid: [u8; 16],
    pub credential_id: &'a [u8],
    /// Still CBOR: `cose::CredentialPublicKey::from_cose` decides whether we can use it.
    pub public_key: Value<'a>,
}

fn malformed(what: &str) -> WebAuthnError {
    WebAuthnError::Malformed(format!("authenticator data {what}"))
}

/// Splits `n` bytes off the front of `rest`.
fn split<'a>(rest: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], WebAuthnError> {
    if rest.len() < n {
        return Err(malformed(&format!("ends inside {what}")));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

impl<'a> AuthenticatorData<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WebAuthnError> {
        let mut rest = bytes;
        if rest.len() < FIXED_LEN {
            return Err(malformed("is shorter than 37 bytes"));
        }
        let rp_id_hash = split(&mut rest, 32, "rpIdHash")?;
        let flags = split(&mut rest, 1, "flags")?[0];
        let count = split(&mut rest, 4, "signCount")?;
        let sign_count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]);
        let attested = if flags & AT != 0 {
            Some(attested_credential(&mut rest)?)
        } else {
            None
        };
        if flags & ED != 0 {
            let (extensions, tail) = cbor::decode_prefix(rest)
                .map_err(|e| malformed(&format!("has bad extensions CBOR ({e})")))?;
            if extensions.as_map().is_none() {
                return Err(malformed("extensions are not a CBOR map"));
            }
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(malformed("has trailing bytes"));
        }
        Ok(Self {
            rp_id_hash,
            flags,
            sign_count,
            attested,
        })
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// The checks both ceremonies make on authenticator data (§7.1 steps 14–17, §7.2
    /// steps 15–18): scoped to our RP ID, user present, user verified (edge-chat always
    /// requires it: a passkey is the only factor), and a backup state only where the
    /// credential is backup eligible.
    pub fn check(&self, rp_id_hash: &[u8; 32]) -> Result<(), WebAuthnError> {
        if self.rp_id_hash != rp_id_hash {
            return Err(WebAuthnError::WrongRelyingParty);
        }
        if !self.has(UP) {
            return Err(WebAuthnError::UserNotPresent);
        }
        if !self.has(UV) {
            return Err(WebAuthnError::UserNotVerified);
        }
        if self.has(BS) && !self.has(BE) {
            return Err(malformed("says backed up but not backup eligible"));
        }
        Ok(())
    }
}

fn attested_credential<'a>(rest: &mut &'a [u8]) -> Result<AttestedCredential<'a>, WebAuthnError> {
    let mut aaguid = [0; 16];
    aaguid.copy_from_slice(split(rest, 16, "the AAGUID")?);
    let len = split(rest, 2, "credentialIdLength")?;
    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    if len == 0 || len > MAX_CREDENTIAL_ID {
        return Err(malformed(&format!(
            "has a credential id of {len} bytes (1 to {MAX_CREDENTIAL_ID} allowed)"
        )));
    }
    let credential_id = split(rest, len, "the credential id")?;
    let (public_key, tail) = cbor::decode_prefix(rest)
        .map_err(|e| malformed(&format!("has a bad credential public key ({e})")))?;
    *rest = tail;
    Ok(AttestedCredential {
        aaguid,
        credential_id,
        public_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::webauthn::testing::{auth_data, cbor_map, es256_cose, rp_id_hash};

    const ID: &[u8] = b"credential-id-16";

    fn build(flags: u8, count: u32, attested: Option<(&[u8], Vec<u8>)>, ext: &[u8]) -> Vec<u8> {
        let attested = attested.as_ref().map(|(id, key)| (*id, key.as_slice()));
        auth_data("localhost", flags, count, attested, ext)
    }

    fn key() -> Vec<u8> {
        es256_cose(&[4; 32], &[5; 32])
    }

    #[test]
    fn assertion_data() {
        let bytes = build(UP | UV, 0x0102_0304, None, &[]);
        let data = AuthenticatorData::parse(&bytes).unwrap();
        assert_eq!(data.rp_id_hash, rp_id_hash("localhost"));
        assert_eq!(data.sign_count, 0x0102_0304);
        assert!(data.has(UP) && data.has(UV) && !data.has(AT));
        assert_eq!(data.attested, None);
        assert_eq!(data.check(&rp_id_hash("localhost")), Ok(()));
    }

    #[test]
    fn registration_data_with_extensions() {
        let ext = cbor_map(&[(b"\x6bcredProtect".as_slice(), b"\x02".as_slice())]);
        let bytes = build(UP | UV | AT | ED, 0, Some((ID, key())), &ext);
        let data = AuthenticatorData::parse(&bytes).unwrap();
        let attested = data.attested.unwrap();
        assert_eq!(attested.aaguid, [0x0a; 16]);
        assert_eq!(attested.credential_id, ID);
        assert_eq!(attested.public_key.get_int(3), Some(&Value::Int(-7)));
    }

    #[test]
    fn checks_rp_id_hash_and_flags() {
        let ours = rp_id_hash("localhost");
        let check = |flags, rp: &str| {
            AuthenticatorData::parse(&[&rp_id_hash(rp)[..], &[flags, 0, 0, 0, 1]].concat())
                .unwrap()
                .check(&ours)
        };
        assert_eq!(check(UP | UV, "localhost"), Ok(()));
        assert_eq!(check(UP | UV | BE | BS, "localhost"), Ok(()));
        assert_eq!(check(UP | UV | BE, "localhost"), Ok(()));
        assert_eq!(
            check(UP | UV, "example.com"),
            Err(WebAuthnError::WrongRelyingParty)
        );
        assert_eq!(
            check(UP | UV, "localhost."),
            Err(WebAuthnError::WrongRelyingParty)
        );
        assert_eq!(check(UV, "localhost"), Err(WebAuthnError::UserNotPresent));
        assert_eq!(check(UP, "localhost"), Err(WebAuthnError::UserNotVerified));
        assert_eq!(check(0, "localhost"), Err(WebAuthnError::UserNotPresent));
        assert!(matches!(
            check(UP | UV | BS, "localhost"),
            Err(WebAuthnError::Malformed(_))
        ));
    }

    #[test]
    fn refuses_bad_layouts() {
        let reject = |bytes: Vec<u8>, why: &str| match AuthenticatorData::parse(&bytes) {
            Err(WebAuthnError::Malformed(m)) => assert!(m.contains(why), "{m} lacks {why}"),
            other => panic!("{other:?} for {why}"),
        };
        reject(vec![], "shorter than 37");
        reject(build(UP, 1, None, &[])[..36].to_vec(), "shorter than 37");
        reject(build(UP, 1, None, &[0]), "trailing bytes");
        reject(build(UP | AT, 1, None, &[]), "ends inside the AAGUID");
        reject(
            build(UP | AT, 1, Some((ID, vec![])), &[]),
            "bad credential public key",
        );
        reject(
            build(UP | AT, 1, Some((ID, key())), &[0xa0]),
            "trailing bytes",
        );
        reject(
            build(UP | AT, 1, Some((b"", key())), &[]),
            "credential id of 0 bytes",
        );
        reject(
            build(UP | AT, 1, Some((&[1; 1024], key())), &[]),
            "credential id of 1024 bytes",
        );
        // A credential id length that runs past the end.
        let mut long = build(UP | AT, 1, Some((ID, key())), &[]);
        long[37 + 16..37 + 18].copy_from_slice(&1000u16.to_be_bytes());
        reject(long, "ends inside the credential id");
        reject(build(UP | ED, 1, None, &[]), "bad extensions CBOR");
        reject(
            build(UP | ED, 1, None, &[0x01]),
            "extensions are not a CBOR map",
        );
        reject(build(UP | ED, 1, None, &[0xa0, 0xa0]), "trailing bytes");
        // Extensions present but ED clear: trailing bytes, not silently skipped.
        reject(build(UP, 1, None, &[0xa0]), "trailing bytes");
    }

    #[test]
    fn longest_credential_id_is_accepted() {
        let id = [9; MAX_CREDENTIAL_ID];
        let bytes = build(UP | UV | AT, 1, Some((&id, key())), &[]);
        let data = AuthenticatorData::parse(&bytes).unwrap();
        assert_eq!(
            data.attested.unwrap().credential_id.len(),
            MAX_CREDENTIAL_ID
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let ext = cbor_map(&[(b"\x61x".as_slice(), b"\xf5".as_slice())]);
        let whole = build(UP | UV | AT | ED, 5, Some((ID, key())), &ext);
        assert!(AuthenticatorData::parse(&whole).is_ok());
        for len in 0..whole.len() {
            assert!(AuthenticatorData::parse(&whole[..len]).is_err(), "{len}");
        }
    }
}
