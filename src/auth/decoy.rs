//! Made-up sign-in options for a name nobody has (WebAuthn L3 §14.6.2, username
//! enumeration): `login/options {"name"}` must answer an unknown name as it answers a
//! known one, or it tells who has an account and hands out their credential ids.
//!
//! An unknown name gets [`DECOY_CREDENTIALS`] credential ids of [`DECOY_ID_BYTES`]
//! bytes, each the HMAC-SHA256 of the name's uniqueness key under the server's
//! `session_key`: stable across calls (a probe asking twice sees the same ids, as it
//! would for a real account) and unguessable without the key. Its challenge is bound to
//! a made-up account id no real one can equal (real ids are base64url, without `:`), so
//! no passkey can answer it. One passkey is what nearly every account has: most people
//! add no second.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac_sha256::HMAC;

/// Credential ids offered for a name nobody has.
pub const DECOY_CREDENTIALS: usize = 1;
/// Bytes of each made-up credential id: what Chromium's and most security keys' ids
/// measure (ids of 16 to 64 bytes are common; HMAC-SHA256 gives 32).
pub const DECOY_ID_BYTES: usize = 32;

/// The made-up account and passkeys a sign-in for an unknown name is offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoy {
    /// Stored in the challenge in place of an account id; matches no account.
    pub user_id: String,
    /// base64url credential ids, as `allowCredentials` carries them.
    pub credential_ids: Vec<String>,
}

/// The decoy for the name whose uniqueness key is `name_key`, under `secret`.
pub fn for_name(secret: &[u8], name_key: &str) -> Decoy {
    let derive = |label: &str| HMAC::mac(format!("{label}\n{name_key}").as_bytes(), secret);
    let credential_ids = (0..DECOY_CREDENTIALS)
        .map(|i| B64.encode(&derive(&format!("decoy-credential-{i}"))[..DECOY_ID_BYTES]))
        .collect();
    Decoy {
        user_id: format!("decoy:{}", B64.encode(derive("decoy-user"))),
        credential_ids,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoys_are_stable_per_name_and_key_and_look_like_real_ids() {
        let key = [7u8; 32];
        let a = for_name(&key, "name:YW5u");
        assert_eq!(a, for_name(&key, "name:YW5u"));
        assert_ne!(a, for_name(&key, "name:Ym9i"));
        assert_ne!(a, for_name(&[8u8; 32], "name:YW5u"));
        assert_eq!(a.credential_ids.len(), DECOY_CREDENTIALS);
        for id in &a.credential_ids {
            assert_eq!(B64.decode(id).unwrap().len(), DECOY_ID_BYTES);
        }
        // No real account id (base64url) contains ':'.
        assert!(a.user_id.contains(':'));
    }
}
