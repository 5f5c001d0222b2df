"""Every path's worst case stays within Fastly's per-execution limits for trial accounts
(issue 17): at most 10 backend requests, 32 config lookups and 200 KV operations, read from
the `Server-Timing` each response carries (tests/budget.py), and a wall time far below the
60 s Fastly allows. Times are printed (run with -s), not asserted: the README's table
"Per-request budget" quotes them.

Fanout call-backs (SSE, multi-room, WebSocket, held long-polls) are driven straight at the
service's port with a valid Grip-Sig, as Pushpin would send them, so their own
Server-Timing can be read. A post's publish goes on after its answer; its header counts the
backend requests it has reserved for that (the most it may still send), and the outage test
also counts, at a proxy in front of the publish endpoint, what really arrived.
"""

import json
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from auth_helpers import Browser, random_name
from budget import TRIAL_LIMITS, assert_within_trial_limits, cost
from helpers import SSEClient, get, post_form, random_room, request
from stack import MANIFEST, free_port, grip_signing
from test_realtime import grip_link_target, hs256, messages

SEED_THREADS = 8
SEED_BATCH = 40  # messages per socket call-back when seeding (all fit its KV budget)
BEHIND = 1000  # messages a resuming stream is behind, per room
ROOMS = 10  # the most rooms a multi-room stream carries (live::multi::ROOMS_MAX)


def timed(what, fn, *args, **kwargs):
    """Runs fn, prints its time and cost, and checks the cost against the trial limits."""
    start = time.perf_counter()
    r = fn(*args, **kwargs)
    secs = time.perf_counter() - start
    spent = assert_within_trial_limits(r, what)
    print(f"\n  {what}: {spent} in {secs * 1000:.0f} ms ({r.headers.get('Server-Timing')})")
    return r


def send_post(url, room, text, sender="ann", timeout=10):
    r = post_form(url, f"/rooms/{room}/messages/", {"from": sender, "text": text},
                  timeout=timeout)
    assert r.status == 200, r
    return r


def seed(url, rooms, count):
    """`count` messages in each room, posted concurrently (ids follow the store's order).
    Generous timeouts: during a publish outage every post's execution stays on after its
    answer, retrying, and on a busy machine new posts wait for a worker."""
    jobs = [(room, n) for n in range(count) for room in rooms]
    with ThreadPoolExecutor(SEED_THREADS) as pool:
        list(pool.map(lambda job: send_post(url, job[0], f"seed {job[1]}", timeout=60), jobs))


def seed_by_socket(stack, signing, rooms, count):
    """`count` messages in each room, fast: a socket's call-back may carry many messages,
    so each request stores a batch of them (and publishes the first few: see
    test_a_websocket_batch_of_posts_stops_publishing_at_the_limit) (one request per message took about two
    minutes for 10,000 on the 2-core test machine). Rooms are seeded concurrently."""
    def fill(room):
        for start in range(0, count, SEED_BATCH):
            frames = [("TEXT", json.dumps({"type": "message", "from": "a", "text": str(n)}))
                      for n in range(start, min(start + SEED_BATCH, count))]
            r = ws_callback(stack, signing, room, ws_events(*frames), timeout=60)
            assert r.status == 200 and r.body.count(b'"sent"') == len(frames), r
    with ThreadPoolExecutor(min(len(rooms), 4)) as pool:
        list(pool.map(fill, rooms))


@pytest.fixture(scope="module")
def signing():
    with open(MANIFEST, "rb") as f:
        return grip_signing(tomllib.load(f))


def grip_sig(signing):
    iss, key = signing
    return hs256({"iss": iss, "exp": int(time.time()) + 300}, key)


@pytest.fixture(scope="module")
def far_behind(stack, signing):
    """ROOMS rooms of BEHIND messages each, on the shared stack."""
    rooms = [random_room("budget") for _ in range(ROOMS)]
    start = time.perf_counter()
    seed_by_socket(stack, signing, rooms, BEHIND)
    print(f"\n  seeded {ROOMS} x {BEHIND} messages in {time.perf_counter() - start:.1f} s")
    return rooms


def sse_ids(text):
    return [line[4:] for line in text.splitlines() if line.startswith("id: ")]


# ------------------------------------------------------------------ history


def test_history_and_a_post_fit(stack, room):
    r = timed("POST message", send_post, stack.url, room, "hello")
    # A post publishes its room's item and the multi-room item in separate calls, each
    # retried: the header reserves them all before the answer leaves.
    assert cost(r)["backend"] >= 2, "a post's publish calls are counted"
    for n in range(120):
        send_post(stack.url, room, f"m{n}")
    r = timed("GET history (100)", get, stack.url, f"/rooms/{room}/messages/?limit=100")
    assert r.status == 200 and len(r.json()["messages"]) == 100
    assert cost(r)["backend"] == 0
    assert cost(r)["config"] > 0, "config lookups are counted"


# ------------------------------------------------------------------ publish outage


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    # Connections are taken at once: a publish left waiting in a short accept queue
    # through the outage would be answered after it, as if sent then.
    request_queue_size = 4096

    def handle_error(self, request, client_address):
        pass  # the service gave up on a publish (its timeout): it retries or moves on


class OutageProxy:
    """Stands between the service and Pushpin's publish endpoint: forwards each publish,
    or answers 503 while `refusing`, or 400 to a body `refuse_body` says yes to, and counts
    every request it gets."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.refusing = False
        self.refuse_body = lambda body: False
        self.requests = 0
        self.bodies = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with proxy.lock:
                    proxy.requests += 1
                    refusing = proxy.refusing
                    if not refusing:
                        proxy.bodies.append(json.loads(body))
                if refusing:
                    status, answer = 503, b'{"msg":"outage"}'
                elif proxy.refuse_body(body):
                    status, answer = 400, b'{"msg":"unsupported item"}'
                else:
                    r = request(f"http://127.0.0.1:{proxy.upstream_port}", "POST", self.path, body,
                                {"Content-Type": "application/json"})
                    status, answer = r.status, r.body
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = QuietServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def settled(self, quiet=1.5, timeout=30):
        """Waits until no request has arrived for `quiet` seconds; returns the count."""
        deadline = time.monotonic() + timeout
        seen, since = self.requests, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if self.requests != seen:
                seen, since = self.requests, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return seen
        raise AssertionError("publishes never stopped")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def settle(stack, proxy):
    """Waits until every request the service took has finished (a post goes on publishing
    after its answer) and the proxy is quiet; returns the proxy's count."""
    log = stack.dir / "viceroy.log"

    def busy():
        text = log.read_text(errors="replace")
        return text.count("handling request") - text.count("request completed in")

    deadline = time.monotonic() + 60
    while busy() > 0:
        assert time.monotonic() < deadline, "the service's requests never finished"
        time.sleep(0.2)
    return proxy.settled(quiet=0.5)


def test_a_refused_multi_room_item_never_stops_the_rooms_delivery(make_stack, room):
    """Should the publish API refuse a call for its multi-room item's Pushpin-only content
    filter, the room's item goes again alone: the room's subscribers miss nothing."""
    pushpin_publish = free_port()
    proxy = OutageProxy(pushpin_publish)
    proxy.refuse_body = lambda body: b"content-filters" in body
    own = make_stack(publish_port=pushpin_publish, publish_url=f"http://127.0.0.1:{proxy.port}/")
    try:
        with SSEClient(own.url, f"/rooms/{room}/events/") as sse:
            sse.wait_for_event("stream-open")
            timed("POST, its call refused", send_post, own.url, room, "one")
            timed("POST, multi-room items apart", send_post, own.url, room, "two")
            got = messages(sse.wait_for(lambda evs: len(messages(evs)) >= 2, timeout=15))
        assert [i for i, _ in got] == [1, 2], "the room's stream has both, in order"
        settle(own, proxy)
        channels = [sorted({item["channel"] for item in body["items"]}) for body in proxy.bodies]
        assert [f"room-{room}"] in channels, "the room's items went alone"
    finally:
        proxy.close()


def test_the_first_post_after_a_publish_outage_under_load_fits(make_stack, room):
    """A 30 s publish outage only matters through the backlog it leaves at a POP: here the
    publish API refuses (503) while 600 posts arrive from 8 clients at once (at the
    soak's rate, 20 posts/s, that is a 30 s outage's backlog), and the outage ends when
    they are stored. The first post after it republishes as much of the backlog as one
    request may (the newest 500 at most; 300 entries in 6 room calls and 3 multi-room
    calls), and says so in its header; the proxy counts what really arrived. The next post
    continues where it stopped, and the subscriber, held through the whole outage, ends up
    with every message exactly once, in order."""
    pushpin_publish = free_port()
    proxy = OutageProxy(pushpin_publish)
    own = make_stack(publish_port=pushpin_publish, publish_url=f"http://127.0.0.1:{proxy.port}/")
    try:
        sse = SSEClient(own.url, f"/rooms/{room}/events/").start()
        sse.wait_for_event("stream-open")
        proxy.refusing = True
        seed(own.url, [room], 600)
        settle(own, proxy)
        proxy.refusing = False
        before = proxy.requests
        first = timed("first POST after the outage", send_post, own.url, room, "after")
        sent = settle(own, proxy) - before
        print(f"  its publish: {sent} requests reached the publish API")
        calls = [(body["items"][0]["channel"], body["items"][0].get("id"), len(body["items"]))
                 for body in proxy.bodies[-sent:]]
        assert 0 < sent <= cost(first)["backend"] <= TRIAL_LIMITS["backend"], calls
        republished = [item for body in proxy.bodies[-sent:] for item in body["items"]
                       if item["channel"] == f"room-{room}"]
        assert len(republished) == 300, "one post carries 6 calls of 50 entries"
        assert first.json()["id"] == 601
        timed("second POST after the outage", send_post, own.url, room, "continues")
        got = messages(sse.wait_for(lambda evs: len(messages(evs)) >= 602, timeout=60))
        assert [i for i, _ in got] == list(range(1, 603)), "each once, in order"
        sse.close()
    finally:
        proxy.close()


# ------------------------------------------------------------------ streams far behind


def test_a_ten_room_stream_resuming_far_behind_fits(stack, far_behind, signing):
    """A multi-room stream 1,000 behind in each of 10 rooms: its call-back and every page
    its links lead to, until it holds."""
    query = "&".join(f"channel={r}" for r in far_behind)
    position = ",".join(f"{r}:0" for r in far_behind)
    target = f"/events/?{query}"
    headers = {"Grip-Sig": grip_sig(signing), "Last-Event-ID": position}
    seen = {r: 0 for r in far_behind}
    for page in range(3 * BEHIND * ROOMS // 100):
        r = timed(f"multi-room page {page}", get, stack.url, target, headers=headers)
        assert r.status == 200, r
        for line in r.text.splitlines():
            if line.startswith("data: {\"room\""):
                data = json.loads(line[6:])
                assert data["id"] == seen[data["room"]] + 1, "in order, none skipped"
                seen[data["room"]] = data["id"]
        target = grip_link_target(r)
        if "recover=true" in target:
            break  # at the head: the link is only for a gap
        headers = {"Grip-Sig": grip_sig(signing)}
    assert seen == {r: BEHIND for r in far_behind}
    assert r.headers["Grip-Hold"] == "stream"
    print(f"  {page + 1} pages")


def test_an_sse_stream_resuming_far_behind_and_its_recovery_fit(stack, far_behind, signing):
    room = far_behind[0]
    headers = {"Grip-Sig": grip_sig(signing), "Last-Event-ID": "0"}
    r = timed("SSE resume 1,000 behind", get, stack.url, f"/rooms/{room}/events/", headers=headers)
    assert r.status == 200 and sse_ids(r.text)[:2] == ["1", "2"], r.text[:200]
    recovery = {"Grip-Sig": grip_sig(signing), "Grip-Last": f"room-{room}; last-id=10"}
    r = timed("SSE recovery page", get, stack.url,
              f"/rooms/{room}/events/?link=next&recover=true", headers=recovery)
    assert r.status == 200 and sse_ids(r.text)[0] == "11", r.text[:200]


def ws_events(*events):
    """WebSocket-over-HTTP events: (type, content) pairs."""
    out = b""
    for kind, content in events:
        if content is None:
            out += kind.encode() + b"\r\n"
        else:
            data = content.encode()
            out += f"{kind} {len(data):x}\r\n".encode() + data + b"\r\n"
    return out


def ws_callback(stack, signing, room, body, query="", timeout=10):
    return request(stack.url, "POST", f"/rooms/{room}/ws{query}", body, {
        "Grip-Sig": grip_sig(signing), "Content-Type": "application/websocket-events",
        "Connection-Id": random_name("conn")}, timeout=timeout)


def test_a_websocket_resuming_far_behind_fits(stack, far_behind, signing):
    room = far_behind[1]
    r = timed("WebSocket OPEN 1,000 behind", ws_callback, stack, signing, room,
              ws_events(("OPEN", None)), "?lastEventId=0")
    assert r.status == 200 and b'"more"' in r.body, r
    resume = json.dumps({"type": "resume", "after": 0})
    r = timed("WebSocket resume 1,000 behind", ws_callback, stack, signing, room,
              ws_events(("TEXT", resume)))
    assert r.status == 200 and b'"more"' in r.body, r


def test_a_websocket_batch_of_posts_stops_publishing_at_the_limit(stack, room, signing):
    """One call-back may carry many messages, each stored and published before the answer:
    the publishes stop at the execution's limit, and the next post sends what they left."""
    frames = [("TEXT", json.dumps({"type": "message", "from": "ann", "text": f"w{n}"}))
              for n in range(20)]
    with SSEClient(stack.url, f"/rooms/{room}/events/") as sse:
        sse.wait_for_event("stream-open")
        r = timed("WebSocket batch of 20 posts", ws_callback, stack, signing, room,
                  ws_events(*frames))
        assert r.status == 200 and r.body.count(b'"sent"') == 20, r
        assert cost(r)["backend"] == TRIAL_LIMITS["backend"], "it spent what it may"
        timed("POST after the batch", send_post, stack.url, room, "next")
        got = messages(sse.wait_for(lambda evs: len(messages(evs)) >= 21, timeout=20))
        assert [i for i, _ in got] == list(range(1, 22))


def test_a_websocket_batch_too_big_for_one_request_stores_what_fits(stack, room, signing):
    """Fanout may batch many messages into one call-back: those that could take it past its
    KV budget are refused with a `rate_limited` error frame (send again), never half-stored."""
    # A post at a warm POP costs one KV operation (the room's head is this POP's copy), so
    # 300 posts are more than one call-back may store.
    frames = [("TEXT", json.dumps({"type": "message", "from": "ann", "text": f"b{n}"}))
              for n in range(300)]
    r = timed("WebSocket batch of 300 posts", ws_callback, stack, signing, room,
              ws_events(*frames))
    sent, refused = r.body.count(b'"sent"'), r.body.count(b'"rate_limited"')
    assert r.status == 200 and 0 < sent < 300 and sent + refused == 300, r
    stored = []
    before = ""
    while True:
        page = get(stack.url, f"/rooms/{room}/messages/?limit=100{before}").json()["messages"]
        if not page:
            break
        stored = [m["text"] for m in reversed(page)] + stored
        before = f"&before={page[-1]['id']}"
    assert stored == [f"b{n}" for n in range(sent)], "the first ones, in order, nothing else"


def test_a_long_poll_far_behind_fits(stack, far_behind, signing):
    room = far_behind[2]
    r = timed("long-poll 1,000 behind", get, stack.url, f"/rooms/{room}/messages/?after=0")
    assert r.status == 200 and r.json()["messages"], r
    r = timed("held long-poll call-back", get, stack.url,
              f"/rooms/{room}/messages/?after={BEHIND}&wait=20",
              headers={"Grip-Sig": grip_sig(signing)})
    assert r.status == 200 and r.headers.get("Grip-Hold") == "response", r


# ------------------------------------------------------------------ accounts


def test_sign_up_and_sign_in_fit(passkey_stack):
    browser = Browser(passkey_stack)
    name = random_name()
    options = timed("sign-up options", browser.post, "/auth/register/options", {"name": name})
    response = browser.authenticator.register(options.json())
    r = timed("sign-up verify", browser.finish_sign_up, response)
    assert r.status == 200, r
    browser.sign_out()
    options = timed("sign-in options", browser.post, "/auth/login/options", {"name": name})
    assertion = browser.authenticator.assert_(options.json(), None)
    r = timed("sign-in verify", browser.finish_sign_in, assertion)
    assert r.status == 200, r
    room = random_room()
    r = timed("signed-in POST", browser.post_form, f"/rooms/{room}/messages/", {"text": "hi"})
    assert r.status == 200, r


def test_a_stream_through_fanout_reports_its_call_backs_cost(stack, room):
    """The request handed to Fanout sends no response of ours; the client sees the answer
    of Fanout's call-back, with that execution's cost."""
    with SSEClient(stack.url, f"/rooms/{room}/events/") as sse:
        sse.wait_for_event("stream-open")
        assert_within_trial_limits(sse.response_headers.get("server-timing"), "SSE via Fanout")
