"""End-to-end tests of live rooms: SSE through Pushpin (local Fanout), publishing, resume and
recovery, against the real local stack. Event ids are message ids."""

import base64
import contextlib
import hashlib
import hmac
import json
import time
import tomllib
import urllib.request

import pytest

from helpers import SSEClient, get, get_json, post_form, post_ok, random_room
from stack import MANIFEST, free_port, grip_signing

LIVE_TIMEOUT = 10


def events_path(room):
    return f"/rooms/{room}/events/"


def post(url, room, text, sender="ann"):
    """helpers.post_ok in the order these tests read: text first, one sender."""
    return post_ok(url, room, sender, text)


def messages(frames):
    """The message events of a stream as (id, parsed data)."""
    return [(int(i), json.loads(d)) for e, i, d in frames if e == "message"]


def subscribe(url, room, headers=None, query="", attempts=1):
    """An SSE client that is live: its stream-open has arrived, so Pushpin holds it.
    With attempts > 1 it retries a failed connect every 0.5 s, as EventSource reconnects."""
    for attempt in range(attempts):
        sse = SSEClient(url, events_path(room) + query, headers=headers)
        try:
            sse.start()
        except OSError:
            # No answer in time (e.g. a Pushpin that is still starting): as a failed connect.
            if attempt == attempts - 1:
                raise
            sse.close()
            time.sleep(0.5)
            continue
        if sse.status == 200 or attempt == attempts - 1:
            break
        sse.close()
        time.sleep(0.5)
    assert sse.status == 200, (sse.status, sse.response_headers)
    assert sse.response_headers.get("Content-Type") == "text/event-stream"
    sse.wait_for_event("stream-open")
    return sse


def wait_messages(sse, count, timeout=LIVE_TIMEOUT):
    return messages(sse.wait_for(lambda evs: len(messages(evs)) >= count, timeout))


def assert_exactly(received, sent):
    """Each sent message arrived once, in order, with its id as the event id."""
    assert [i for i, _ in received] == [m["id"] for m in sent]
    assert [data for _, data in received] == sent


# ------------------------------------------------------------------ live delivery


def test_messages_reach_every_subscriber_of_their_room_only(stack):
    room, other = random_room(), random_room()
    with subscribe(stack.url, room) as a, subscribe(stack.url, room) as b, subscribe(stack.url, other) as c:
        sent = [post(stack.url, room, f"hello {n}") for n in range(5)]
        elsewhere = [post(stack.url, other, "elsewhere")]
        assert_exactly(wait_messages(a, 5), sent)
        assert_exactly(wait_messages(b, 5), sent)
        assert_exactly(wait_messages(c, 1), elsewhere)
        time.sleep(1)  # anything extra would have arrived by now
        assert len(messages(a.events)) == len(messages(b.events)) == 5
        assert len(messages(c.events)) == 1


def test_room_names_with_every_allowed_character_work(stack):
    room = "Ab-9_." + random_room()
    with subscribe(stack.url, room) as sse:
        sent = [post(stack.url, room, "dots and dashes")]
        assert_exactly(wait_messages(sse, 1), sent)


def test_text_with_sse_control_sequences_arrives_whole(stack, room):
    tricky = "line one\n\nevent: fake\ndata: injected\nid: 999"
    with subscribe(stack.url, room) as sse:
        sent = [post(stack.url, room, tricky)]
        received = wait_messages(sse, 1)
        assert_exactly(received, sent)
        # The opening presence roster is the only other event: nothing was injected.
        assert [e for e, _, _ in sse.events] == ["stream-open", "presence", "message"]


# ------------------------------------------------------------------ resume


@pytest.mark.parametrize("how", ["header", "query"])
def test_resume_sends_exactly_the_missed_messages(stack, room, how):
    sent = [post(stack.url, room, f"m{n}") for n in range(6)]
    headers, query = ({"Last-Event-ID": "2"}, "") if how == "header" else (None, "?lastEventId=2")
    with subscribe(stack.url, room, headers=headers, query=query) as sse:
        assert_exactly(wait_messages(sse, 4), sent[2:])
        live = post(stack.url, room, "live")
        assert_exactly(wait_messages(sse, 5), sent[2:] + [live])


def test_the_header_wins_over_the_query(stack, room):
    sent = [post(stack.url, room, f"m{n}") for n in range(4)]
    with subscribe(stack.url, room, headers={"Last-Event-ID": "3"}, query="?lastEventId=1") as sse:
        assert_exactly(wait_messages(sse, 1), sent[3:])


def test_a_backlog_over_100_is_paged_in_order(stack, room):
    sent = [post(stack.url, room, f"m{n}") for n in range(130)]
    with subscribe(stack.url, room, headers={"Last-Event-ID": "0"}) as sse:
        assert_exactly(wait_messages(sse, 130), sent)
        live = post(stack.url, room, "after the backlog")
        assert_exactly(wait_messages(sse, 131), sent + [live])
        assert sum(e == "stream-open" for e, _, _ in sse.events) == 1


def test_an_id_newer_than_the_room_resets_to_now(stack, room):
    sent = [post(stack.url, room, "only")]
    with subscribe(stack.url, room, headers={"Last-Event-ID": "50"}) as sse:
        (reset,) = sse.wait_for_event("stream-reset")
        assert reset[1] == "1"
        assert json.loads(reset[2])["reason"] == "ahead"
        live = post(stack.url, room, "live")
        assert_exactly(wait_messages(sse, 1), [live])
    assert sent[0]["id"] == 1


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "room-x:3"])
def test_a_malformed_id_gets_stream_error_and_the_stream_ends(stack, room, bad):
    sse = SSEClient(stack.url, events_path(room), headers={"Last-Event-ID": bad}).start()
    try:
        (err,) = sse.wait_for_event("stream-error")
        assert err[1] == "error"
        data = json.loads(err[2])
        assert data["condition"] == "bad-request" and bad in data["text"]
        deadline = time.monotonic() + LIVE_TIMEOUT
        while not sse.closed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sse.closed, "the stream should end after a stream-error"
    finally:
        sse.close()


# ------------------------------------------------------------------ Grip-Sig


def hs256(claims, key):
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")  # noqa: E731
    head = enc(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = enc(json.dumps(claims).encode())
    sig = enc(hmac.new(key.encode(), head + b"." + body, hashlib.sha256).digest())
    return (head + b"." + body + b"." + sig).decode()


@pytest.fixture(scope="module")
def signing():
    with open(MANIFEST, "rb") as f:
        return grip_signing(tomllib.load(f))


def grip_headers(resp):
    return {k: v for k, v in resp.headers.items() if k.lower().startswith("grip-")}


def test_a_valid_grip_sig_gets_grip_instructions(stack, room, signing):
    """The positive control for the rejections below: the same request, correctly signed."""
    iss, key = signing
    token = hs256({"iss": iss, "exp": int(time.time()) + 300}, key)
    r = get(stack.url, events_path(room), headers={"Grip-Sig": token})
    assert r.status == 200, r
    assert r.headers["Grip-Hold"] == "stream"
    assert r.headers["Grip-Channel"] == f"room-{room}; prev-id=0"
    assert "rel=next" in r.headers["Grip-Link"]
    assert r.text.startswith("event: stream-open\n")


@pytest.mark.parametrize("case", ["forged", "expired", "wrong-issuer", "no-exp", "garbage", "alg-none"])
def test_bad_grip_sigs_are_403_without_grip_headers(stack, room, signing, case):
    iss, key = signing
    now = int(time.time())
    token = {
        "forged": lambda: hs256({"iss": iss, "exp": now + 300}, "not-the-key-at-all"),
        "expired": lambda: hs256({"iss": iss, "exp": now - 3600}, key),
        "wrong-issuer": lambda: hs256({"iss": "someone-else", "exp": now + 300}, key),
        "no-exp": lambda: hs256({"iss": iss}, key),
        "garbage": lambda: "x.y.z",
        "alg-none": lambda: hs256({"iss": iss, "exp": now + 300}, key).rsplit(".", 1)[0].replace(
            base64.urlsafe_b64encode(b'{"alg": "HS256", "typ": "JWT"}').rstrip(b"=").decode(),
            base64.urlsafe_b64encode(b'{"alg": "none", "typ": "JWT"}').rstrip(b"=").decode()) + ".",
    }[case]()
    r = get(stack.url, events_path(room), headers={"Grip-Sig": token})
    assert r.status == 403, r
    assert r.media_type == "application/json"
    assert r.json()["error"] == "forbidden"
    assert grip_headers(r) == {}


def grip_link_target(resp):
    """The URL path of a response's `Grip-Link: <path>; rel=next`."""
    link = resp.headers["Grip-Link"]
    assert link.startswith("<") and "; rel=next" in link, link
    return link[1:link.index(">")]


def test_recovery_pages_move_forward_until_the_head_then_hold(stack, room, signing):
    """Issue 9's reproduction: Fanout recovering a hold at id 10 follows each page's link
    still sending its old Grip-Last. Every hop must move on: 11..110, 111..210, 211..250,
    ending on the room's recovery link at 250, never the first page again.

    Each page of a held stream's recovery is itself a hold at its last id, with the next
    page's link to fetch at once (timeout=0): a page without a hold crashes Pushpin 1.36's
    handler while publishes queue for the stream (see live::backlog)."""
    for n in range(250):
        post(stack.url, room, f"m{n + 1}")
    iss, key = signing
    headers = {"Grip-Sig": hs256({"iss": iss, "exp": int(time.time()) + 300}, key),
               "Grip-Last": f"room-{room}; last-id=10"}
    target = events_path(room) + "?link=next&recover=true"
    pages = []
    for _ in range(6):  # bounded: 3 pages are expected
        r = get(stack.url, target, headers=headers)
        assert r.status == 200, r
        assert not r.text.startswith("event: stream-open"), "a link continues an open stream"
        ids = [int(line[4:]) for line in r.text.splitlines() if line.startswith("id: ")]
        assert ids == list(range(ids[0], ids[-1] + 1)), ids
        pages.append((ids[0], ids[-1], len(ids)))
        assert r.headers["Grip-Hold"] == "stream"
        assert r.headers["Grip-Channel"] == f"room-{room}; prev-id={ids[-1]}"
        target = grip_link_target(r)
        if "recover=true" in target:
            break
        assert r.headers["Grip-Link"].endswith("; rel=next; timeout=0"), r.headers
        assert target.startswith(events_path(room) + f"next/{ids[-1]}/"), target
    assert pages == [(11, 110, 100), (111, 210, 100), (211, 250, 40)], pages
    assert "timeout" not in r.headers["Grip-Link"], "at the head, recover only on a gap"


def test_a_resume_page_position_is_in_its_path(stack, room, signing):
    """Pushpin shares one fetch of a next link among streams asking for the same path and
    Grip-Last, whatever their queries: a client's cut backlog links to a path of its own."""
    for n in range(130):
        post(stack.url, room, f"m{n + 1}")
    iss, key = signing
    token = hs256({"iss": iss, "exp": int(time.time()) + 300}, key)
    r = get(stack.url, events_path(room), headers={"Grip-Sig": token, "Last-Event-ID": "5"})
    assert "Grip-Hold" not in r.headers, "a new stream pages before it holds"
    assert grip_link_target(r) == events_path(room) + "next/105/?link=next"
    r = get(stack.url, grip_link_target(r), headers={"Grip-Sig": token})
    ids = [int(line[4:]) for line in r.text.splitlines() if line.startswith("id: ")]
    assert ids == list(range(106, 131)) and r.headers["Grip-Hold"] == "stream"


# ------------------------------------------------------------------ failures


def test_a_publish_outage_loses_nothing_for_a_resuming_subscriber(make_stack, room):
    dead = make_stack(publish_url=f"http://127.0.0.1:{free_port()}/")
    with subscribe(dead.url, room) as sse:
        sent = [post(dead.url, room, f"m{n}") for n in range(3)]
        time.sleep(1)
        assert messages(sse.events) == [], "nothing can be published while the API is down"
    with subscribe(dead.url, room, headers={"Last-Event-ID": "0"}) as again:
        assert_exactly(wait_messages(again, 3), sent)


def test_a_lost_publish_is_recovered_through_prev_id(make_stack, room):
    """Publishing is down for message 1 only: when message 2's item arrives with prev-id=1,
    Pushpin sees the gap, fetches the recovery link and the subscriber gets both, in order."""
    own = make_stack(publish_url=f"http://127.0.0.1:{free_port()}/")
    with subscribe(own.url, room) as sse:
        sent = [post(own.url, room, "lost"), post(own.url, room, "published")]
        second = sent[1]
        content = f"event: message\nid: 2\ndata: {json.dumps(second, separators=(',', ':'), ensure_ascii=False)}\n\n"
        item = {"channel": f"room-{room}", "id": "2", "prev-id": "1",
                "formats": {"http-stream": {"content": content}}}
        req = urllib.request.Request(f"http://127.0.0.1:{own.publish_port}/publish/",
                                     data=json.dumps({"items": [item]}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200
        assert_exactly(wait_messages(sse, 2, timeout=20), sent)
        time.sleep(1)
        assert len(messages(sse.events)) == 2


def test_subscribers_hold_every_message_once_across_a_pushpin_restart(make_stack, room):
    own = make_stack()
    subs = [subscribe(own.url, room) for _ in range(2)]
    try:
        before = [post(own.url, room, f"before {n}") for n in range(3)]
        for s in subs:
            assert_exactly(wait_messages(s, 3), before)
        own.stop_pushpin()
        for s in subs:
            # The stream is dead; how soon Viceroy closes the proxied socket is not under test.
            with contextlib.suppress(AssertionError):
                s.wait_for(lambda evs: s.closed, timeout=5)
            s.close()
        during = [post(own.url, room, f"during {n}") for n in range(3)]
        own.start_pushpin()
        # Each client reconnects with the last id it saw, as EventSource does.
        held = {}
        for n, s in enumerate(subs):
            last = messages(s.events)[-1][0]
            # Pushpin's port opens before its proxy and handler are ready: a first
            # reconnect may fail, as a browser's does, and is retried.
            subs[n] = subscribe(own.url, room, headers={"Last-Event-ID": str(last)}, attempts=20)
            held[n] = messages(s.events)
        after = [post(own.url, room, "after")]
        for n, s in enumerate(subs):
            assert_exactly(held[n] + wait_messages(s, 4), before + during + after)
    finally:
        for s in subs:
            s.close()


def test_idle_streams_get_keep_alives(make_stack, room):
    own = make_stack(config={"keep_alive_secs": "1"})
    with subscribe(own.url, room) as sse:
        sse.wait_for_event("keep-alive", count=2, timeout=LIVE_TIMEOUT)
        assert messages(sse.events) == []


def test_the_events_route_checks_method_and_room(stack):
    r = post_form(stack.url, events_path("lobby"), {"x": "y"})
    assert r.status == 405 and r.headers["Allow"] == "GET"
    r = get(stack.url, events_path("bad%20room"))
    assert r.status == 400 and r.json()["field"] == "room"


def test_history_last_event_id_resumes_the_stream(stack, room):
    """A page shows history from GET, then subscribes with its last-event-id: nothing twice."""
    shown = [post(stack.url, room, f"m{n}") for n in range(3)]
    last = get_json(stack.url, f"/rooms/{room}/messages/")["last-event-id"]
    with subscribe(stack.url, room, query=f"?lastEventId={last}") as sse:
        live = [post(stack.url, room, "new")]
        assert_exactly(wait_messages(sse, 1), live)
    assert last == str(shown[-1]["id"])
