"""End-to-end tests of the service's defences at its edge: cross-site writes, content
sniffing, unreadable request targets, deceptive nicknames, long-lived Grip-Sigs, and a
publish API that fails for a moment. Each was a defect found by trying main as a
tester would (issue 9)."""

import http.server
import json
import socket
import threading
import time
import tomllib
import urllib.parse
import urllib.request

import pytest

from helpers import get, get_json, post_form, post_json, request
from stack import MANIFEST, grip_signing
from test_realtime import hs256, post, subscribe, wait_messages


def path(room):
    return f"/rooms/{room}/messages/"


def assert_json_error(r, status, code):
    assert r.status == status, r
    assert r.media_type == "application/json", r
    assert r.json()["error"] == code, r
    assert r.json()["message"], r


# ------------------------------------------------------------------ cross-site writes

@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"},
], ids=["other-origin", "null-origin", "cross-site", "same-site", "origin-wins"])
def test_cross_site_posts_are_refused_and_store_nothing(stack, room, headers):
    for body, content_type in ((b"from=mallory&text=pwned", "application/x-www-form-urlencoded"),
                               (json.dumps({"from": "mallory", "text": "pwned"}), "application/json")):
        r = request(stack.url, "POST", path(room), body, {"Content-Type": content_type, **headers})
        assert_json_error(r, 403, "forbidden")
    assert get_json(stack.url, path(room)) == {"messages": [], "last-event-id": "0"}


def test_same_origin_and_headerless_posts_still_work(stack, room):
    own = stack.url  # http://127.0.0.1:<port>, as a browser on the page sends it
    r = request(stack.url, "POST", path(room), b"from=ann&text=one",
                {"Content-Type": "application/x-www-form-urlencoded", "Origin": own,
                 "Sec-Fetch-Site": "same-origin"})
    assert r.status == 200, r
    r = post_form(stack.url, path(room), {"from": "ann", "text": "two"})  # curl-like: no headers
    assert r.status == 200, r
    r = request(stack.url, "POST", path(room), b"from=ann&text=three",
                {"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "none"})
    assert r.status == 200, r
    assert [m["text"] for m in get_json(stack.url, path(room))["messages"]] == ["three", "two", "one"]


def test_reads_are_not_refused_cross_site(stack):
    r = get(stack.url, path("lobby"), headers={"Origin": "http://evil.example",
                                                "Sec-Fetch-Site": "cross-site"})
    assert r.status == 200, r


# ------------------------------------------------------------------ nosniff everywhere

@pytest.mark.parametrize("method,target,kind", [
    ("GET", "/rooms/lobby/messages/", "history"),
    ("POST", "/rooms/{room}/messages/", "post"),
    ("GET", "/rooms/bad%20room/messages/", "400"),
    ("PUT", "/rooms/lobby/messages/", "405"),
    ("GET", "/rooms/lobby/nope/", "404"),
    ("GET", "/", "page"),
    ("GET", "/static/app.css", "asset"),
    ("GET", "/no/such/page", "json 404"),
])
def test_every_response_says_nosniff(stack, room, method, target, kind):
    body = b"from=ann&text=hi" if method == "POST" else b""
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    r = request(stack.url, method, target.format(room=room), body, headers)
    assert r.headers.get("X-Content-Type-Options") == "nosniff", (kind, r)


def test_the_stream_callback_says_nosniff(stack, room):
    iss, key = grip_signing(tomllib.loads(MANIFEST.read_text()))
    r = get(stack.url, f"/rooms/{room}/events/",
            headers={"Grip-Sig": hs256({"iss": iss, "exp": int(time.time()) + 300}, key)})
    assert r.status == 200 and r.headers["Grip-Hold"] == "stream", r
    assert r.headers.get("X-Content-Type-Options") == "nosniff", r


# ------------------------------------------------------------------ unreadable targets

def raw_exchange(port, data, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def guest_panics(stack):
    """Panics of the service's own code in the stack's Viceroy log. Viceroy's own threads
    also panic on some malformed traffic (tests/test_fuzz.py sends it to this stack too);
    those are Viceroy's, not the service's."""
    log = (stack.dir / "viceroy.log").read_text(errors="replace")
    return [line for line in log.splitlines()
            if " panicked at " in line and "viceroy-lib" not in line]


def test_an_asterisk_form_request_is_400_json_not_a_panic(stack):
    port = stack.port
    for method in (b"GET", b"POST", b"OPTIONS"):
        raw = raw_exchange(port, method + b" * HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                           b"Content-Length: 0\r\nConnection: close\r\n\r\n" % port)
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 "), raw[:400]
        assert b"content-type: application/json" in head.lower(), head
        assert json.loads(body)["error"] == "bad_request", body
    assert guest_panics(stack) == []
    assert get_json(stack.url, path("lobby"))["messages"], "the service still answers"


# ------------------------------------------------------------------ nicknames

@pytest.mark.parametrize("name", ["ann\u202e", "a\u200bnn", "\u2066ann\u2069", "an\u200dn", "\ufeffann"])
def test_nicknames_with_invisible_or_bidi_characters_are_refused(stack, room, name):
    r = post_form(stack.url, path(room), {"from": name, "text": "hi"})
    assert_json_error(r, 400, "invalid_field")
    assert r.json()["field"] == "from"
    r = post_json(stack.url, path(room), {"from": name, "text": "hi"})
    assert_json_error(r, 400, "invalid_field")
    # The join form says so too, rather than letting the page post under it.
    page = get(stack.url, "/?user=" + urllib.parse.quote(name), headers={"Accept": "text/html"})
    assert page.status == 400 and "text-direction" in page.text, page
    assert get_json(stack.url, path(room))["messages"] == []


# ------------------------------------------------------------------ Grip-Sig lifetime

@pytest.mark.parametrize("lifetime,accepted", [(3600, True), (23 * 3600, True),
                                               (25 * 3600, False), (10**12, False)])
def test_grip_sigs_valid_for_more_than_a_day_are_refused(stack, room, lifetime, accepted):
    iss, key = grip_signing(tomllib.loads(MANIFEST.read_text()))
    token = hs256({"iss": iss, "exp": int(time.time()) + lifetime}, key)
    r = get(stack.url, f"/rooms/{room}/events/", headers={"Grip-Sig": token})
    if accepted:
        assert r.status == 200 and r.headers["Grip-Hold"] == "stream", r
    else:
        assert_json_error(r, 403, "forbidden")
        assert not any(k.lower().startswith("grip-") for k in r.headers), r


def test_a_grip_sig_with_an_absurd_exp_is_refused(stack, room):
    iss, key = grip_signing(tomllib.loads(MANIFEST.read_text()))
    for exp in (10**30, 1e30, -1, "soon"):
        r = get(stack.url, f"/rooms/{room}/events/",
                headers={"Grip-Sig": hs256({"iss": iss, "exp": exp}, key)})
        assert_json_error(r, 403, "forbidden")


# ------------------------------------------------------------------ publish retries

class FlakyPublisher:
    """A publish endpoint that answers `status` to the first `failures` calls, then
    forwards to Pushpin: a publish API having a bad second."""

    def __init__(self, failures, status=503):
        self.failures, self.status = failures, status
        self.calls = 0
        self.upstream = None
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.calls += 1
                if outer.calls <= outer.failures:
                    code, reply = outer.status, b"try later\n"
                else:
                    req = urllib.request.Request(outer.upstream, data=body,
                                                 headers={"Content-Type": "application/json"})
                    with urllib.request.urlopen(req, timeout=5) as r:
                        code, reply = r.status, r.read()
                self.send_response(code)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    url = property(lambda self: f"http://127.0.0.1:{self.server.server_address[1]}/")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status", [503, 429])
def test_a_refused_publish_is_retried_and_delivered_live(make_stack, room, status):
    with FlakyPublisher(failures=2, status=status) as flaky:
        own = make_stack(publish_url=flaky.url)
        flaky.upstream = own.pushpin_publish_url
        with subscribe(own.url, room) as sse:
            sent = [post(own.url, room, "through a blip")]
            # Live, not by recovery: Pushpin's gap recovery would need a second message.
            assert [m for _, m in wait_messages(sse, 1, timeout=5)] == sent
        assert flaky.calls == 3, "two refusals, then the call that went through"
