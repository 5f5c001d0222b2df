"""Presence and typing end to end: ephemeral events on a room's presence channel, seen by
every transport, never stored, never in the room's id sequence."""

import json
import time

import pytest

from helpers import get, post_form, post_json, post_ok
from test_realtime import messages, subscribe, wait_messages


def presence_path(room):
    return f"/rooms/{room}/presence/"


def say(url, room, name, state):
    r = post_form(url, presence_path(room), {"from": name, "state": state})
    assert r.status == 200, r
    return r.json()


def ephemeral(sse, kind):
    return [(i, json.loads(d)) for e, i, d in sse.events if e == kind]


def test_join_typing_and_leave_are_seen_by_another_client(stack, room):
    with subscribe(stack.url, room) as bob:
        assert say(stack.url, room, "ann", "here") == {"here": ["ann"]}
        bob.wait_for_event("presence")
        assert say(stack.url, room, "cy", "here")["here"] == ["ann", "cy"]
        bob.wait_for_event("presence", count=2)
        joined = ephemeral(bob, "presence")
        assert [(i, d["change"], d["name"]) for i, d in joined] == [(None, "join", "ann"), (None, "join", "cy")]
        assert joined[1][1]["here"] == ["ann", "cy"] and joined[1][1]["room"] == room

        say(stack.url, room, "ann", "typing")
        say(stack.url, room, "ann", "typing")  # within 3 s: not published again
        bob.wait_for_event("typing")
        time.sleep(1)
        assert ephemeral(bob, "typing") == [(None, {"name": "ann", "room": room})]

        assert say(stack.url, room, "ann", "gone")["here"] == ["cy"]
        bob.wait_for_event("presence", count=3)
        left = ephemeral(bob, "presence")[-1][1]
        assert (left["change"], left["name"], left["here"]) == ("leave", "ann", ["cy"])
        assert messages(bob.events) == []


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
    # A resume replays messages only, ids without a gap.
    with subscribe(stack.url, room, headers={"Last-Event-ID": "0"}) as again:
        assert [i for i, _ in wait_messages(again, 2)] == [1, 2]
        time.sleep(0.5)
        assert [e for e, _, _ in again.events] == ["stream-open", "message", "message"]


def test_a_heartbeat_soon_after_another_is_not_published_again(stack, room):
    with subscribe(stack.url, room) as sse:
        say(stack.url, room, "ann", "here")
        say(stack.url, room, "ann", "here")
        sse.wait_for_event("presence")
        time.sleep(1)
        assert len(ephemeral(sse, "presence")) == 1


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
