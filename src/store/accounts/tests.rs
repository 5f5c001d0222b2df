use super::*;

#[test]
fn only_challenges_of_the_issued_size_are_looked_up() {
    let issued = [7u8; CHALLENGE_LEN];
    assert_eq!(challenge_id(&issued), Some(B64.encode(issued)));
    for other in [0, 1, CHALLENGE_LEN - 1, CHALLENGE_LEN + 1, 1000] {
        assert_eq!(challenge_id(&vec![7u8; other]), None, "{other} bytes");
    }
}

#[test]
fn keys_stay_within_kv_limits() {
    // The longest name (64 characters of 4 bytes) and any credential id.
    for name in ["\u{1F600}".repeat(64), "\u{FDFA}".repeat(64)] {
        assert!(name_key(&name).len() <= 1024);
        assert!(legacy_name_key(&name).len() <= 1024);
    }
    assert_eq!(name_key("Ann"), name_key("aNN"));
    assert_eq!(name_key("Ann"), name_key("\u{430}nn"));
    assert_ne!(name_key("Zoë"), name_key("zoe"));
    // Records made before keys stay where they were.
    assert_eq!(
        legacy_name_key("Ann"),
        format!("name:{}", B64.encode("ann"))
    );
    assert!(cred_key(&"A".repeat(1400)).len() < 64);
}
