//! Property tests: a Grip-Sig is accepted exactly when key, issuer and lifetime are
//! right, and nothing a client sends makes the checks panic.

use fastly::http::Method;
use jwt_simple::prelude::*;
use proptest::prelude::*;

use super::csrf::is_cross_site;
use super::grip_sig::verify;
use crate::config::GripKey;

const KEY: &[u8] = b"property-test-grip-key";

proptest! {
    #[test]
    fn grip_sigs_pass_only_with_key_issuer_and_a_near_exp(
        right_key in any::<bool>(), right_iss in any::<bool>(), exp_offset_mins in -120i64..3000,
    ) {
        let key = if right_key { KEY } else { b"some-other-key-entirely".as_slice() };
        let iss = if right_iss { "edge-chat-local" } else { "someone-else" };
        let mut claims = Claims::create(Duration::from_mins(1)).with_issuer(iss);
        let now = Clock::now_since_epoch().as_secs() as i64;
        claims.expires_at = Some(Duration::from_secs((now + exp_offset_mins * 60).max(0) as u64));
        let token = HS256Key::from_bytes(key).authenticate(claims).unwrap();
        let verdict = verify(&token, &GripKey::Hs256(KEY.to_vec()), "edge-chat-local");
        let lifetime_ok = (0..=24 * 60).contains(&exp_offset_mins);
        prop_assert_eq!(verdict.is_ok(), right_key && right_iss && lifetime_ok, "{:?}", verdict);
    }

    #[test]
    fn garbage_tokens_are_refused(token in "[A-Za-z0-9_.=+/-]{0,200}|\\PC{0,50}") {
        prop_assert!(verify(&token, &GripKey::Hs256(KEY.to_vec()), "edge-chat-local").is_err());
    }

    #[test]
    fn reads_are_never_refused_and_headers_never_panic(
        origin in proptest::option::of("\\PC{0,40}"), site in proptest::option::of("\\PC{0,20}"),
    ) {
        let allowed = ["http://localhost:7676".to_owned()];
        let own = "http://127.0.0.1:7676";
        prop_assert!(!is_cross_site(&Method::GET, origin.as_deref(), site.as_deref(), own, &allowed));
        let refused = is_cross_site(&Method::POST, origin.as_deref(), site.as_deref(), own, &allowed);
        if origin.as_deref() == Some(own) {
            prop_assert!(!refused);
        }
    }
}
