use super::*;
use crate::model::{Draft, room};
use crate::store::local::simulate_pop;

fn draft(text: &str) -> Draft {
    Draft::parse(Some("unit"), Some(text)).unwrap()
}

#[test]
fn appends_at_a_warm_pop_cost_one_operation() {
    let meter = KvMeter::default();
    let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
    let r = room("unit-append");
    assert_eq!(rooms.append(&r, draft("one")).unwrap().message.id, 1);
    assert!(
        meter.server_timing().starts_with("kv;desc=\"2 ops\""),
        "empty room, nothing cached: list + add"
    );
    let meter = KvMeter::default();
    let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
    assert_eq!(rooms.append(&r, draft("two")).unwrap().message.id, 2);
    assert_eq!(meter.ops(), 1, "this POP's copy of the head: add only");
    let (newest, messages) = rooms.latest(&r, None, 50).unwrap();
    assert_eq!(meter.ops(), 1, "history from this POP's copy");
    assert_eq!(
        (
            newest,
            messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>()
        ),
        (2, vec!["one", "two"])
    );

    // Another POP (its own Core Cache) knows nothing yet: list + lookup + add.
    simulate_pop(Some("other"));
    let meter = KvMeter::default();
    let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
    assert_eq!(rooms.append(&r, draft("three")).unwrap().message.id, 3);
    assert_eq!(meter.ops(), 3);
    simulate_pop(None);
    // Back here, the copy is behind: its add loses, then list + lookup + add.
    let meter = KvMeter::default();
    let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
    assert_eq!(rooms.append(&r, draft("four")).unwrap().message.id, 4);
    let (newest, messages) = rooms.latest(&r, None, 50).unwrap();
    assert_eq!((newest, messages.len()), (4, 4));
}

#[test]
fn without_a_turn_an_append_reads_its_key_back() {
    let meter = KvMeter::default();
    let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
    let r = room("unit-no-turn");
    let _someone_elses = AppendTurn::take(&r);
    // Waits TURN_WAIT for the turn, then appends anyway: list + add + read-back.
    assert_eq!(rooms.append(&r, draft("late")).unwrap().message.id, 1);
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
    assert_eq!(rooms.append(&r, draft("patient")).unwrap().message.id, 1);
    assert_eq!(local::faults::left(), 0);
    // Each try re-reads nothing it knows: list + add, twice refused, then list + add.
    assert_eq!(meter.ops(), 6);

    let meter = KvMeter::default();
    let rooms = Rooms::open(&meter, Duration::from_secs(600)).unwrap();
    local::faults::inject(KVStoreError::TooManyRequests, 10);
    assert_eq!(
        rooms.append(&r, draft("refused")).err(),
        Some(StoreError::Throttled)
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
    assert_eq!(
        rooms.append(&r, draft("loser")).err(),
        Some(StoreError::Contended)
    );
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
    assert_eq!(rooms.append(&r, draft("next")).unwrap().message.id, 2);
}
