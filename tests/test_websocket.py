"""The WebSocket transport end to end: Pushpin (local Fanout) holds the socket and calls the
service with WebSocket-over-HTTP events. Frames are JSON: {"event", "id"?, "data"}, the same
events as SSE.

Most sockets here attach to Pushpin with `Pushpin-Route: self`, as Fanout sits in front in
production: Viceroy 0.22's handoff proxy loses the frames Pushpin sends right behind the 101
(the answer to OPEN), so through it a socket never sees its stream-open. The page therefore
asks with a resume frame once open; test_a_socket_through_the_service_resumes_by_asking
checks that path through Viceroy."""

import json
import time

from helpers import get, post_form, post_ok, random_room
from test_realtime import messages, subscribe, wait_messages
from wsclient import WSClient, message_ids

LIVE_TIMEOUT = 10


def ws_path(room, query=""):
    return f"/rooms/{room}/ws{query}"


def live_socket(stack, room, query="", attempts=1):
    """A socket (straight to Pushpin, as Fanout) that has its stream-open and one round trip
    after it, so Fanout has subscribed it. Retries a refused connect every 0.5 s (Pushpin
    restarting), as the page does."""
    for attempt in range(attempts):
        try:
            ws = WSClient(f"http://127.0.0.1:{stack.pushpin_port}", ws_path(room, query),
                          headers={"Pushpin-Route": "self"}).start()
            break
        except Exception:  # noqa: BLE001 - the handshake failed; try again like a browser
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
    ws.wait_event("stream-open")
    ws.round_trip()
    return ws


def data_of(frames):
    return [f["data"] for f in frames if isinstance(f, dict) and f.get("event") == "message"]


def test_a_socket_sends_and_receives_with_every_other_transport(stack, room):
    with live_socket(stack, room) as a, live_socket(stack, room) as b, \
            subscribe(stack.url, room) as sse:
        a.send({"type": "message", "from": "ann", "text": "over the socket"})
        (sent,) = a.wait_event("sent")
        assert sent["data"]["text"] == "over the socket" and sent["id"] == "1"
        posted = post_ok(stack.url, room, "bob", "over HTTP")
        for ws in (a, b):
            ws.wait_for(lambda fs: len(message_ids(fs)) >= 2)
            assert message_ids(ws.frames) == [1, 2]
            assert data_of(ws.frames)[1] == posted
        assert [m["text"] for _, m in wait_messages(sse, 2)] == ["over the socket", "over HTTP"]
        time.sleep(0.5)
        assert message_ids(a.frames) == [1, 2], "nothing twice"
        # Stored like any post: history has it.
        history = get(stack.url, f"/rooms/{room}/messages/").json()
        assert [m["text"] for m in history["messages"]] == ["over HTTP", "over the socket"]


def test_a_socket_resumes_after_its_last_id(stack, room):
    sent = [post_ok(stack.url, room, "ann", f"m{n}") for n in range(5)]
    with live_socket(stack, room, "?lastEventId=2") as ws:
        ws.wait_for(lambda fs: len(message_ids(fs)) >= 3)
        assert data_of(ws.frames) == sent[2:]
        live = post_ok(stack.url, room, "ann", "live")
        ws.wait_for(lambda fs: len(message_ids(fs)) >= 4)
        assert data_of(ws.frames) == sent[2:] + [live]


def test_a_socket_through_the_service_resumes_by_asking(stack, room):
    sent = [post_ok(stack.url, room, "ann", f"m{n}") for n in range(3)]
    with WSClient(stack.url, ws_path(room)) as ws:
        ws.send({"type": "resume", "after": 1})
        ws.wait_event("resumed")
        assert data_of(ws.frames) == sent[1:]
        ws.send({"type": "message", "from": "ann", "text": "through Viceroy"})
        ws.wait_for(lambda fs: len(message_ids(fs)) >= 3)
        assert message_ids(ws.frames) == [2, 3, 4]


def test_a_socket_resumes_across_a_pushpin_restart_with_nothing_lost(make_stack, room):
    own = make_stack()
    ws = live_socket(own, room)
    try:
        before = [post_ok(own.url, room, "ann", f"before {n}") for n in range(3)]
        ws.wait_for(lambda fs: len(message_ids(fs)) >= 3)
        own.stop_pushpin()
        ws.wait_closed(timeout=15)
        during = [post_ok(own.url, room, "ann", f"during {n}") for n in range(3)]
        own.start_pushpin()
        last = message_ids(ws.frames)[-1]
        held = data_of(ws.frames)
        ws = live_socket(own, room, f"?lastEventId={last}", attempts=20)
        after = [post_ok(own.url, room, "ann", "after")]
        ws.wait_for(lambda fs: len(message_ids(fs)) >= 4)
        time.sleep(0.5)
        assert held + data_of(ws.frames) == before + during + after
    finally:
        ws.close()


def test_a_client_close_is_answered_cleanly(stack, room):
    ws = live_socket(stack, room)
    ws.close(1000)
    assert ws.close_code == 1000, (ws.close_code, ws.close_reason)


def test_a_binary_frame_is_closed_with_1003(stack, room):
    with live_socket(stack, room) as ws:
        ws.send(b"\x00\x01binary")
        code, reason = ws.wait_closed()
        assert code == 1003 and "text" in reason, (code, reason)


def test_frames_that_are_not_the_json_expected_are_closed_with_1008(stack, room):
    for bad in ["not json", "[1, 2]", json.dumps({"type": "shout"}),
                json.dumps({"type": "message", "text": 5}), json.dumps({"text": "no type"})]:
        with live_socket(stack, room) as ws:
            ws.send(bad)
            code, reason = ws.wait_closed()
            assert code == 1008 and reason, (bad, code, reason)


def test_invalid_text_gets_an_error_frame_and_the_socket_stays_open(stack, room):
    with live_socket(stack, room) as ws:
        ws.send({"type": "message", "from": "ann", "text": "x" * 1001})
        (error,) = ws.wait_event("error")
        assert error["data"]["error"] == "invalid_field" and error["data"]["field"] == "text"
        ws.send({"type": "message", "text": "no from in open mode"})
        ws.wait_event("error", count=2)
        ws.send({"type": "message", "from": "ann", "text": "fine"})
        ws.wait_event("sent")
        assert not ws.closed
    assert get(stack.url, f"/rooms/{room}/messages/").json()["last-event-id"] == "1"


def test_typing_over_a_socket_reaches_sse_without_an_id(stack, room):
    with live_socket(stack, room) as ws, subscribe(stack.url, room) as sse:
        ws.send({"type": "typing", "from": "ann"})
        (typing,) = sse.wait_for_event("typing")
        assert typing[1] is None and json.loads(typing[2]) == {"name": "ann", "room": room}
        (frame,) = ws.wait_event("typing")
        assert "id" not in frame and frame["data"]["name"] == "ann"
        assert messages(sse.events) == []


def test_a_socket_opens_with_the_roster_and_then_hears_changes(stack, room):
    post_form(stack.url, f"/rooms/{room}/presence/", {"from": "ann", "state": "here"})
    with live_socket(stack, room) as ws:
        (roster,) = ws.wait_event("presence")
        assert "id" not in roster
        assert roster["data"] == {"room": room, "change": "roster", "here": ["ann"]}
        post_form(stack.url, f"/rooms/{room}/presence/", {"from": "bob", "state": "here"})
        ws.wait_event("presence", count=2)
        frames = [f for f in ws.frames if isinstance(f, dict) and f.get("event") == "presence"]
        assert frames[1]["data"] == {"room": room, "change": "join", "name": "bob"}
        # A resume (how the page asks once open) carries the roster again.
        ws.send({"type": "resume", "after": 0})
        ws.wait_event("resumed")
        frames = [f for f in ws.frames if isinstance(f, dict) and f.get("event") == "presence"]
        assert frames[-1]["data"]["here"] == ["ann", "bob"]


def test_the_socket_address_needs_an_upgrade(stack, room):
    r = get(stack.url, ws_path(room))
    assert r.status == 400 and r.json()["error"] == "bad_request", r
    r = get(stack.url, ws_path("bad%20room"))
    assert r.status == 400 and r.json()["field"] == "room", r


HANDSHAKE = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
             "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


def test_a_socket_in_passkey_mode_needs_someone_signed_in(passkey_stack, room):
    r = get(passkey_stack.url, ws_path(room), headers=HANDSHAKE)
    assert r.status == 401 and r.json()["error"] == "unauthorized", r


def test_a_handshake_from_another_site_is_refused(stack, room):
    """A socket can post, so its handshake is held to the rule for POSTs."""
    r = get(stack.url, ws_path(room), headers={**HANDSHAKE, "Origin": "http://evil.example"})
    assert r.status == 403 and r.json()["error"] == "forbidden", r
