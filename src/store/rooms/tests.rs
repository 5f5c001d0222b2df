use super::*;
use crate::model::room;

fn draft(text: &str) -> Draft {
    Draft::parse(Some("unit"), Some(text)).unwrap()
}

#[test]
fn appends_cost_three_operations_with_a_turn() {
    let meter = KvMeter::default();
    let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
    let r = room("unit-append");
    assert_eq!(rooms.append(&r, draft("one")).unwrap().id, 1);
    assert!(
        meter.server_timing().starts_with("kv;desc=\"2 ops\""),
        "empty room: list + add"
    );
    let meter = KvMeter::default();
    let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
    assert_eq!(rooms.append(&r, draft("two")).unwrap().id, 2);
    assert!(
        meter.server_timing().starts_with("kv;desc=\"3 ops\""),
        "list + lookup + add"
    );
    let (newest, messages) = rooms.latest(&r, None, 50).unwrap();
    assert_eq!(
        (
            newest,
            messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>()
        ),
        (2, vec!["one", "two"])
    );
}

#[test]
fn without_a_turn_an_append_reads_its_key_back() {
    let meter = KvMeter::default();
    let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
    let r = room("unit-no-turn");
    let _someone_elses = AppendTurn::take(&r);
    // Waits TURN_WAIT for the turn, then appends anyway: list + add + read-back.
    assert_eq!(rooms.append(&r, draft("late")).unwrap().id, 1);
    assert!(
        meter.server_timing().starts_with("kv;desc=\"3 ops\""),
        "{}",
        meter.server_timing()
    );
}

#[test]
fn a_kv_push_back_pauses_and_retries_instead_of_racing() {
    let meter = KvMeter::default();
    let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
    let r = room("unit-pushback");
    local::faults::inject(KVStoreError::TooManyRequests, 1);
    local::faults::inject(
        KVStoreError::Unexpected(fastly_shared::FastlyStatus::ERROR),
        1,
    );
    assert_eq!(rooms.append(&r, draft("patient")).unwrap().id, 1);
    assert_eq!(local::faults::left(), 0);
    // Each try re-reads nothing it knows: list + add, twice refused, then list + add.
    assert_eq!(meter.ops(), 6);

    let meter = KvMeter::default();
    let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
    local::faults::inject(KVStoreError::TooManyRequests, 10);
    assert_eq!(
        rooms.append(&r, draft("refused")),
        Err(StoreError::Throttled)
    );
    assert_eq!(
        10 - local::faults::left(),
        PRESSURE_ATTEMPTS as usize,
        "a few tries, not a race"
    );
    while local::faults::take().is_some() {}
    assert_eq!(rooms.newest_id(&r).unwrap(), 1, "nothing was stored");
}

#[test]
fn a_post_that_keeps_losing_gives_up_within_its_budget() {
    let meter = KvMeter::default();
    let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
    let r = room("unit-budget");
    rooms.append(&r, draft("first")).unwrap();
    let before = meter.ops();
    local::faults::inject(KVStoreError::ItemPreconditionFailed, 1000);
    assert_eq!(rooms.append(&r, draft("loser")), Err(StoreError::Contended));
    let spent = meter.ops() - before;
    let attempts = 1000 - local::faults::left() as u32;
    while local::faults::take().is_some() {}
    assert!(attempts <= APPEND_ATTEMPTS, "{attempts} attempts");
    assert!(
        spent <= APPEND_OPS && APPEND_OPS < 200,
        "{spent} KV operations"
    );
    assert!(attempts >= APPEND_ATTEMPTS / 2, "gave up early: {attempts}");
    assert_eq!(rooms.newest_id(&r).unwrap(), 1);
    assert_eq!(rooms.append(&r, draft("next")).unwrap().id, 2);
}
