//! API keys for programs: a random secret shown once, kept only as its SHA-256.
//!
//! A key is `ec_` and 32 random bytes in base64url. Only its hash is stored (KV
//! `apikey:<hash>`), so a leaked store does not leak usable keys, and checking one costs
//! a single KV lookup by hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use super::random;

const PREFIX: &str = "ec_";

/// A new key: the secret to show once, and the hash to store.
pub fn mint() -> (String, String) {
    let key = format!("{PREFIX}{}", B64.encode(random::<32>()));
    let hash = hash(&key);
    (key, hash)
}

/// The stored form of a key; `None` for anything that is not shaped like one (so a
/// random bearer token costs no KV lookup).
pub fn checked_hash(presented: &str) -> Option<String> {
    let body = presented.strip_prefix(PREFIX)?;
    (body.len() == 43 && B64.decode(body).is_ok()).then(|| hash(presented))
}

fn hash(key: &str) -> String {
    B64.encode(hmac_sha256::Hash::hash(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_stored_hashed() {
        let (a, a_hash) = mint();
        let (b, _) = mint();
        assert_ne!(a, b);
        assert!(a.starts_with("ec_") && a.len() == 46, "{a}");
        assert_eq!(checked_hash(&a), Some(a_hash.clone()));
        assert!(!a_hash.contains(&a[3..]));
        for bad in [
            "",
            "ec_",
            "ec_short",
            "xx_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            &format!("{a}x"),
        ] {
            assert_eq!(checked_hash(bad), None, "{bad}");
        }
    }
}
