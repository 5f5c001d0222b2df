"""One SSE stream for several rooms (`/events/?channel=a&channel=b`): composite event ids
(`a:5,b:7`) that Fanout renders per subscriber, exact resume, per-room resets, and the
link paging of a held multi-room stream, against the real local stack."""

import json
import time

import pytest

from helpers import SSEClient, get, post_ok, random_room

LIVE_TIMEOUT = 10


def multi_path(rooms, query=""):
    return "/events/?" + "&".join(f"channel={r}" for r in rooms) + query


def open_multi(url, rooms, headers=None, query=""):
    sse = SSEClient(url, multi_path(rooms, query), headers=headers).start()
    assert sse.status == 200, (sse.status, sse.response_headers)
    sse.wait_for_event("stream-open")
    return sse


def received(sse):
    """(room, message id, text, composite event id) of each message event, in order."""
    out = []
    for event, ident, data in sse.events:
        if event == "message":
            d = json.loads(data)
            out.append((d["room"], d["id"], d["text"], ident))
    return out


def wait_count(sse, n, timeout=LIVE_TIMEOUT):
    sse.wait_for(lambda evs: sum(e == "message" for e, _, _ in evs) >= n, timeout)
    return received(sse)


def positions(ident):
    return dict((room, int(n)) for room, n in (p.split(":") for p in ident.split(",")))


def test_one_stream_carries_every_room_named_with_composite_ids(stack):
    a, b, other = random_room(), random_room(), random_room()
    with open_multi(stack.url, [a, b]) as sse:
        (opened,) = sse.wait_for_event("stream-open")
        assert positions(opened[1]) == {a: 0, b: 0}
        post_ok(stack.url, a, "ann", "a1")
        post_ok(stack.url, other, "ann", "elsewhere")
        post_ok(stack.url, b, "bob", "b1 100% %I %(x)s")
        post_ok(stack.url, a, "ann", "a2")
        got = wait_count(sse, 3)
        assert [(r, i, t) for r, i, t, _ in got] == [(a, 1, "a1"), (b, 1, "b1 100% %I %(x)s"), (a, 2, "a2")]
        assert [positions(ident) for *_, ident in got] == [{a: 1, b: 0}, {a: 1, b: 1}, {a: 2, b: 1}]
        time.sleep(0.5)
        assert len(received(sse)) == 3


@pytest.mark.parametrize("how", ["header", "query"])
def test_resume_across_a_reconnect_loses_and_repeats_nothing(stack, how):
    rooms = [random_room() for _ in range(3)]
    with open_multi(stack.url, rooms) as sse:
        for n in range(2):
            for r in rooms:
                post_ok(stack.url, r, "ann", f"{r} before {n}")
        got = wait_count(sse, 6)
    last = got[-1][3]
    missed = []
    for n, r in enumerate(rooms * 2):
        missed.append(post_ok(stack.url, r, "bob", f"during {n}"))
    headers, query = ({"Last-Event-ID": last}, "") if how == "header" else (None, f"&lastEventId={last}")
    with open_multi(stack.url, rooms, headers=headers, query=query) as again:
        got = wait_count(again, 6)
        # Each room's backlog in order, room by room; every id once.
        assert [(r, i, t) for r, i, t, _ in got] == [
            (m_room, m["id"], m["text"]) for m_room in rooms
            for m, r2 in zip(missed, rooms * 2) if r2 == m_room]
        for r in rooms:
            assert [i for room, i, _, _ in got if room == r] == [3, 4]
        assert positions(got[-1][3]) == {r: 4 for r in rooms}
        live = post_ok(stack.url, rooms[1], "cy", "live")
        got = wait_count(again, 7)
        assert got[-1][:3] == (rooms[1], 5, "live")
        time.sleep(0.5)
        assert len(received(again)) == 7, "nothing twice"
    assert live["id"] == 5


def test_a_room_the_id_does_not_name_starts_live(stack):
    a, b = random_room(), random_room()
    post_ok(stack.url, a, "ann", "a1")
    post_ok(stack.url, b, "ann", "b1")
    with open_multi(stack.url, [a, b], headers={"Last-Event-ID": f"{a}:0"}) as sse:
        got = wait_count(sse, 1)
        assert [(r, i) for r, i, _, _ in got] == [(a, 1)]
        assert positions(got[0][3]) == {a: 1, b: 1}


def test_each_room_resets_on_its_own(stack):
    a, b = random_room(), random_room()
    post_ok(stack.url, a, "ann", "a1")
    for n in range(3):
        post_ok(stack.url, b, "ann", f"b{n}")
    with open_multi(stack.url, [a, b], headers={"Last-Event-ID": f"{a}:50,{b}:1"}) as sse:
        (reset,) = sse.wait_for_event("stream-reset")
        data = json.loads(reset[2])
        assert data["room"] == a and data["reason"] == "ahead", data
        assert positions(reset[1]) == {a: 1, b: 1}
        got = wait_count(sse, 2)
        assert [(r, i) for r, i, _, _ in got] == [(b, 2), (b, 3)]
        assert positions(got[-1][3]) == {a: 1, b: 3}


def test_a_backlog_over_a_page_is_paged_through_links(stack):
    a, b = random_room(), random_room()
    for n in range(130):
        post_ok(stack.url, a, "ann", f"a{n}")
    post_ok(stack.url, b, "ann", "b0")
    with open_multi(stack.url, [a, b], headers={"Last-Event-ID": f"{a}:0,{b}:0"}) as sse:
        got = wait_count(sse, 131, timeout=20)
        assert [i for r, i, _, _ in got if r == a] == list(range(1, 131))
        assert [i for r, i, _, _ in got if r == b] == [1]
        post_ok(stack.url, b, "ann", "b1")
        got = wait_count(sse, 132)
        assert positions(got[-1][3]) == {a: 130, b: 2}
        assert sum(e == "stream-open" for e, _, _ in sse.events) == 1


@pytest.mark.parametrize("query", [
    "".join(f"&channel=r{n}" for n in range(11)),
    "&channel=ok&channel=bad%20room",
    "&channel=a&channel=a",
    "",
    "&channel=events",
])
def test_bad_channel_lists_are_400(stack, query):
    r = get(stack.url, "/events/?x=1" + query)
    assert r.status == 400, r
    assert r.json()["error"] == "invalid_field" and r.json()["field"] == "channel", r


def test_ten_channels_are_fine(stack):
    rooms = [random_room() for _ in range(10)]
    with open_multi(stack.url, rooms) as sse:
        post_ok(stack.url, rooms[9], "ann", "tenth")
        assert wait_count(sse, 1)[0][:2] == (rooms[9], 1)


@pytest.mark.parametrize("bad", ["abc", "a:1,a:2", "a:x"])
def test_a_malformed_id_gets_stream_error(stack, bad):
    sse = SSEClient(stack.url, multi_path(["a", "b"]), headers={"Last-Event-ID": bad}).start()
    try:
        (err,) = sse.wait_for_event("stream-error")
        assert json.loads(err[2])["condition"] == "bad-request"
    finally:
        sse.close()


def test_the_multi_room_stream_needs_sign_in_in_passkey_mode(passkey_stack):
    r = get(passkey_stack.url, multi_path(["lobby"]))
    assert r.status == 401 and r.json()["error"] == "unauthorized", r
