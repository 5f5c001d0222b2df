use super::local::running_locally;
use super::*;
use crate::store::ListOrder;

#[test]
fn placeholders_and_pem() {
    // Viceroy sets FASTLY_SERVICE_ID to a placeholder of zeros.
    let id = std::env::var("FASTLY_SERVICE_ID").unwrap_or_default();
    assert_eq!(expand("fastly:{service_id}"), format!("fastly:{id}"));
    assert_eq!(expand("/publish/"), "/publish/");
    assert_eq!(unescape_pem("a\\nb"), "a\nb");
}

#[test]
fn local_switches_are_honoured_under_viceroy_only() {
    assert!(running_locally(), "unit tests run in Viceroy");
    // Unset in the unit tests' config store: off.
    let config = Config::open();
    assert_eq!(config.kv_delay(), Duration::ZERO);
    assert_eq!(config.kv_list_order(), ListOrder::AsListed);
}

#[test]
fn rates_and_lists() {
    assert_eq!(Rate::parse("20/10"), Some(Rate::new(20, 10)));
    assert_eq!(Rate::parse(" 3 / 60 "), Some(Rate::new(3, 60)));
    for bad in [
        "",
        "20",
        "0/10",
        "20/0",
        "x/10",
        "20/x",
        "-1/5",
        "20/100000",
    ] {
        assert_eq!(Rate::parse(bad), None, "{bad:?}");
    }
    assert_eq!(list(Some(" ann, ,bob ,".into())), vec!["ann", "bob"]);
    assert_eq!(list(None), Vec::<String>::new());
}
