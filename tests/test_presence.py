"""Presence and typing end to end: ephemeral events on a room's presence channel, seen by
every transport, never stored, never in the room's id sequence, and published only when
something changes (a join, a leave, a typist starting), after an opening roster."""

import json
import time
import urllib.parse

import pytest

from helpers import get, post_form, post_json, post_ok, request
from test_realtime import messages, subscribe, wait_messages

POP = "X-Test-Pop"
# A private stack whose presence clock runs 30 times faster: heartbeat 1 s, a page lapses
# after 7 s, the room cap's window is 2 s; POP is a header naming a simulated POP.
FAST = {"presence_heartbeat_secs": "1", "presence_pop_header": POP}
ROOM_CAP = 10  # src/live/presence/mod.rs


def presence_path(room):
    return f"/rooms/{room}/presence/"


def say(url, room, name, state, pop=None):
    body = urllib.parse.urlencode({"from": name, "state": state})
    headers = {"Content-Type": "application/x-www-form-urlencoded", **({POP: pop} if pop else {})}
    r = request(url, "POST", presence_path(room), body, headers)
    assert r.status == 200, r
    return r.json()


def ephemeral(sse, kind):
    return [(i, json.loads(d)) for e, i, d in sse.events if e == kind]


def changes(sse):
    """The presence changes a stream received, as (change, name); the roster as its list."""
    return [(d["change"], d.get("name", d.get("here"))) for _, d in ephemeral(sse, "presence")]


def until(step, timeout=20):
    """Calls step() every 0.3 s until it says done (True)."""
    deadline = time.monotonic() + timeout
    while not step():
        assert time.monotonic() < deadline, f"{step.__name__} never done"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def fast(request):
    import conftest
    s = conftest._start(config=FAST)
    yield s
    conftest._stop(s)


def test_join_typing_and_leave_are_seen_by_another_client(stack, room):
    with subscribe(stack.url, room) as bob:
        assert say(stack.url, room, "ann", "here") == {"here": ["ann"]}
        bob.wait_for_event("presence", count=2)
        assert say(stack.url, room, "cy", "here")["here"] == ["ann", "cy"]
        bob.wait_for_event("presence", count=3)
        received = ephemeral(bob, "presence")
        assert all(i is None for i, _ in received)
        assert [d for _, d in received] == [
            {"room": room, "change": "roster", "here": []},
            {"room": room, "change": "join", "name": "ann"},
            {"room": room, "change": "join", "name": "cy"},
        ], "deltas after the opening roster, not the whole roster each time"

        say(stack.url, room, "ann", "typing")
        say(stack.url, room, "ann", "typing")  # the same typist, not a start: not published
        bob.wait_for_event("typing")
        say(stack.url, room, "cy", "typing")  # another typist starts
        bob.wait_for_event("typing", count=2)
        assert [d["name"] for _, d in ephemeral(bob, "typing")] == ["ann", "cy"]
        assert ephemeral(bob, "typing")[0] == (None, {"name": "ann", "room": room})

        assert say(stack.url, room, "ann", "gone")["here"] == ["cy"]
        bob.wait_for_event("presence", count=4)
        assert changes(bob)[-1] == ("leave", "ann")
        assert messages(bob.events) == []


def test_a_heartbeat_publishes_nothing_after_the_join(stack, room):
    with subscribe(stack.url, room) as sse:
        say(stack.url, room, "ann", "here")
        sse.wait_for_event("presence", count=2)
        for _ in range(3):
            assert say(stack.url, room, "ann", "here") == {"here": ["ann"]}
        # A later change on the same channel: anything the heartbeats published is before it.
        say(stack.url, room, "bob", "here")
        sse.wait_for_event("presence", count=3)
        time.sleep(0.3)
        assert changes(sse) == [("roster", []), ("join", "ann"), ("join", "bob")]


def test_a_stream_opens_with_the_roster(stack, room):
    say(stack.url, room, "ann", "here")
    say(stack.url, room, "bob", "here")
    with subscribe(stack.url, room) as sse:
        (first,) = sse.wait_for_event("presence")
        assert sse.events[0][0] == "stream-open" and sse.events[1] == first
        assert first[1] is None
        assert json.loads(first[2]) == {"room": room, "change": "roster", "here": ["ann", "bob"]}


def test_presence_is_not_stored_nor_in_the_id_sequence(stack, room):
    first = post_ok(stack.url, room, "ann", "one")
    with subscribe(stack.url, room, query="?lastEventId=1") as sse:
        say(stack.url, room, "ann", "here")
        say(stack.url, room, "ann", "typing")
        second = post_ok(stack.url, room, "ann", "two")
        wait_messages(sse, 1)
        assert all(i is None for e, i, _ in sse.events if e in ("presence", "typing"))
    assert (first["id"], second["id"]) == (1, 2)
    history = get(stack.url, f"/rooms/{room}/messages/").json()
    assert [m["id"] for m in history["messages"]] == [2, 1]
    # A resume replays messages only (after the roster), ids without a gap.
    with subscribe(stack.url, room, headers={"Last-Event-ID": "0"}) as again:
        assert [i for i, _ in wait_messages(again, 2)] == [1, 2]
        time.sleep(0.5)
        assert [e for e, _, _ in again.events] == ["stream-open", "presence", "message", "message"]


def test_presence_takes_json_too(stack, room):
    r = post_json(stack.url, presence_path(room), {"from": "zoë", "state": "here"})
    assert r.status == 200 and r.json() == {"here": ["zoë"]}, r


@pytest.mark.parametrize("fields, field", [
    ({"from": "ann", "state": "dancing"}, "state"),
    ({"state": "here"}, "from"),
    ({"from": "a\u202eb", "state": "here"}, "from"),
])
def test_bad_presence_is_400(stack, room, fields, field):
    r = post_form(stack.url, presence_path(room), fields)
    assert r.status == 400 and r.json()["field"] == field, r


def test_presence_checks_method_and_sign_in(stack, passkey_stack, room):
    r = get(stack.url, presence_path(room))
    assert r.status == 405 and r.headers["Allow"] == "POST", r
    r = post_form(passkey_stack.url, presence_path(room), {"state": "here"})
    assert r.status == 401, r


# ------------------------------------------------------------------ the fast clock


def test_a_lapsed_user_leaves_once_lazily(fast, room):
    with subscribe(fast.url, room) as sse:
        say(fast.url, room, "ann", "here")  # then ann's page vanishes without its beacon
        say(fast.url, room, "bob", "here")
        sse.wait_for_event("presence", count=3)

        def bob_beats():
            # Nothing else reads the roster: bob's heartbeats are what notice ann lapsed.
            say(fast.url, room, "bob", "here")
            return ("leave", "ann") in changes(sse)

        until(bob_beats)
        for _ in range(3):
            assert say(fast.url, room, "bob", "here") == {"here": ["bob"]}
        say(fast.url, room, "cy", "here")
        sse.wait_for(lambda _: ("join", "cy") in changes(sse))
        assert changes(sse) == [("roster", []), ("join", "ann"), ("join", "bob"),
                                ("leave", "ann"), ("join", "cy")]


def test_over_the_room_cap_changes_are_coalesced_not_lost(fast, room):
    names = [f"p{n:02}" for n in range(ROOM_CAP + 5)]
    with subscribe(fast.url, room) as sse:
        # Start at the beginning of a 2 s cap window, so all the joins fall in one.
        while time.time() % 2 > 0.2:
            time.sleep(0.05)
        for name in names:
            say(fast.url, room, name, "here")
        say(fast.url, room, "p00", "typing")  # over the cap: dropped, not held
        sse.wait_for_event("presence", count=1 + ROOM_CAP)
        time.sleep(0.5)
        assert len(changes(sse)) == 1 + ROOM_CAP, "the cap holds the rest back"
        # The next window: one heartbeat publishes every held join, in one call.
        while len(changes(sse)) == 1 + ROOM_CAP:
            say(fast.url, room, "p00", "here")
            time.sleep(0.2)
        sse.wait_for_event("presence", count=1 + len(names))
        assert [c for c, _ in changes(sse)[1:1 + len(names)]] == ["join"] * len(names), repr(changes(sse))
        assert sorted(n for _, n in changes(sse)[1:1 + len(names)]) == names
        assert ephemeral(sse, "typing") == []


def test_people_at_another_pop_appear_to_a_new_subscriber(fast, room):
    # ann is at POP a; a page opening at POP b finds her through a's summary in KV.
    say(fast.url, room, "ann", "here", pop="a")
    with subscribe(fast.url, room, headers={POP: "b"}) as sse:
        (opening,) = sse.wait_for_event("presence")
        assert json.loads(opening[2])["here"] == ["ann"]
    assert say(fast.url, room, "bob", "here", pop="b")["here"] == ["ann", "bob"]
    # Each POP keeps its own roster: bob is new at a, ann at b would be too.
    assert say(fast.url, room, "bob", "here", pop="a")["here"] == ["ann", "bob"]
    # Once ann's POP stops refreshing its summary (nobody left there), she is gone at b.
    say(fast.url, room, "ann", "gone", pop="a")
    say(fast.url, room, "bob", "gone", pop="a")

    def ann_gone_at_b():
        return "ann" not in say(fast.url, room, "bob", "here", pop="b")["here"]

    until(ann_gone_at_b)


def test_presence_requests_are_rate_limited(make_stack, room):
    s = make_stack(config={"presence_rate": "3/60"})
    for _ in range(3):
        say(s.url, room, "ann", "here")
    r = post_form(s.url, presence_path(room), {"from": "ann", "state": "typing"})
    assert r.status == 429 and r.json()["error"] == "rate_limited", r
    assert 0 < int(r.headers["Retry-After"]) <= 60
