#!/usr/bin/env python3
"""A short end-to-end check of a running edge-chat: a real deployment after
`fastly compute deploy`, or the local stack (scripts/test runs it there, so it stays true).

Each check uses rooms of its own (`smoke-<random>`), so it can run against a live service,
and has its own timeout, so the whole run is bounded (at most checks x --timeout seconds;
a healthy service takes a few seconds). It prints one table (check, ok/FAIL, the response
or observation that showed it) and exits 1 if any check failed.

Identity: in passkey mode an API key (`--api-key`, or EDGE_CHAT_API_KEY) is sent as
`Authorization: Bearer` (create one at /account); in open mode none is needed and posts
carry a `from` nickname. Requests carry no Origin or Sec-Fetch-Site header, which the
cross-site check lets through (and bearer requests are exempt anyway).

Standard library only (http.client, ssl) plus the `websockets` package: run it with
.tools/venv/bin/python (scripts/smoke does).
"""

import argparse
import http.client
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

from websockets.sync.client import connect as ws_connect

DEFAULT_TIMEOUT = 10.0
# How long a long-poll is held before the post that should answer it: long enough for the
# request to reach Fanout first, short enough to keep the run quick (if the post wins the
# race, the poll is answered at once with it, which is just as correct).
POLL_HEAD_START = 0.5
OBSERVATION_MAX = 110


class CheckFailed(Exception):
    pass


class Service:
    """The service under test: its base URL, identity and timeout."""

    def __init__(self, base, api_key, timeout):
        url = urllib.parse.urlsplit(base)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise SystemExit(f"smoke: {base!r} is not an http(s) URL")
        self.scheme, self.host, self.port = url.scheme, url.hostname, url.port
        self.base = f"{url.scheme}://{url.netloc}"
        self.api_key = api_key
        self.timeout = timeout
        self.nick = f"smoke-{uuid.uuid4().hex[:6]}"

    def connection(self):
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def headers(self, extra=None):
        sent = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        sent.update(extra or {})
        return sent

    def request(self, method, path, body=None, headers=None):
        """(status, parsed JSON or text) of one request on a fresh connection."""
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=self.headers(headers))
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw.decode("utf-8", "replace")

    def post(self, room, text):
        """Posts a message; returns it as stored (its id, its from)."""
        fields = {"text": text} if self.api_key else {"from": self.nick, "text": text}
        status, body = self.request("POST", f"/rooms/{room}/messages/",
                                    urllib.parse.urlencode(fields),
                                    {"Content-Type": "application/x-www-form-urlencoded"})
        expect(status == 200 and isinstance(body, dict) and "id" in body,
               f"POST /rooms/{room}/messages/ -> {status} {brief(body)}")
        return body

    def stream(self, path, last_event_id=None):
        extra = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            extra["Last-Event-ID"] = last_event_id
        return Stream(self, path, extra)

    def socket(self, room):
        scheme = "wss" if self.scheme == "https" else "ws"
        uri = f"{scheme}://{urllib.parse.urlsplit(self.base).netloc}/rooms/{room}/ws"
        return Socket(ws_connect(uri, additional_headers=self.headers(),
                                 open_timeout=self.timeout, close_timeout=2), self.timeout)


def expect(ok, observation):
    if not ok:
        raise CheckFailed(observation)


def brief(value):
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= OBSERVATION_MAX else text[:OBSERVATION_MAX - 1] + "…"


def room_name():
    return f"smoke-{uuid.uuid4().hex[:10]}"


class Recorder:
    """Frames a reader thread collects, and waiting for one that matches."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.frames = []
        self.ended = None
        self.cond = threading.Condition()

    def add(self, frame):
        with self.cond:
            self.frames.append(frame)
            self.cond.notify_all()

    def end(self, why):
        with self.cond:
            self.ended = why
            self.cond.notify_all()

    def wait(self, predicate, what):
        with self.cond:
            self.cond.wait_for(lambda: any(map(predicate, self.frames)) or self.ended,
                               self.timeout)
            found = [f for f in self.frames if predicate(f)]
            if found:
                return found[0]
            why = f"ended ({self.ended})" if self.ended else f"nothing in {self.timeout:g} s"
            raise CheckFailed(f"{what}: {why}; got {brief(self.frames[-4:])}")


class Stream(Recorder):
    """An SSE stream read in a thread: frames are dicts {event, id, data}."""

    def __init__(self, service, path, headers):
        super().__init__(service.timeout)
        self.conn = service.connection()
        self.conn.request("GET", path, headers=service.headers(headers))
        self.sock = self.conn.sock
        resp = self.conn.getresponse()
        if resp.status != 200:
            body = resp.read()
            self.conn.close()
            raise CheckFailed(f"GET {path} -> {resp.status} {brief(body.decode('utf-8', 'replace'))}")
        # A timeout mid-chunk would break http.client's decoding: block, and let close()
        # end the read by shutting the socket down.
        self.sock.settimeout(None)
        threading.Thread(target=self._read, args=(resp,), daemon=True).start()

    def _read(self, resp):
        frame, data = {}, []
        try:
            while line := resp.readline():
                line = line.decode("utf-8").rstrip("\r\n")
                if not line:
                    if frame or data:
                        frame.setdefault("event", "message")
                        frame["data"] = "\n".join(data)
                        self.add(frame)
                    frame, data = {}, []
                elif not line.startswith(":"):
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "data":
                        data.append(value)
                    elif field in ("event", "id"):
                        frame[field] = value
            self.end("the server closed it")
        except Exception as e:  # noqa: BLE001 - shows in the table as why it ended
            self.end(repr(e))

    def event(self, name, predicate=lambda f: True, what=None):
        return self.wait(lambda f: f["event"] == name and predicate(f), what or f"event {name}")

    def close(self):
        try:
            self.sock.shutdown(2)
        except OSError:
            pass
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Socket(Recorder):
    """A WebSocket whose JSON frames a thread collects."""

    def __init__(self, ws, timeout):
        super().__init__(timeout)
        self.ws = ws
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for message in self.ws:
                try:
                    self.add(json.loads(message))
                except ValueError:
                    self.add({"event": "not-json", "data": message})
            self.end(f"closed {self.ws.close_code} {self.ws.close_reason!r}")
        except Exception as e:  # noqa: BLE001
            self.end(repr(e))

    def send(self, frame):
        self.ws.send(json.dumps(frame))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.ws.close()


def data(frame):
    try:
        return json.loads(frame["data"]) if isinstance(frame["data"], str) else frame["data"]
    except ValueError:
        return {}


# ------------------------------------------------------------------ checks

def check_post_and_read(svc):
    room = room_name()
    sent = svc.post(room, "smoke: post and read")
    status, body = svc.request("GET", f"/rooms/{room}/messages/")
    expect(status == 200 and isinstance(body, dict), f"GET history -> {status} {brief(body)}")
    found = [m for m in body.get("messages", []) if m.get("id") == sent["id"]]
    expect(found and found[0].get("text") == sent["text"],
           f"message {sent['id']} not in history: {brief(body)}")
    return f"POST -> id {sent['id']} from {sent.get('from')!r}; GET history has it " \
           f"(last-event-id {body.get('last-event-id')})"


def check_sse_live(svc):
    room = room_name()
    with svc.stream(f"/rooms/{room}/events/") as sse:
        sse.event("stream-open")
        sent = svc.post(room, "smoke: live")
        got = sse.event("message", lambda f: f.get("id") == str(sent["id"]),
                        f"message {sent['id']} on the stream")
    return f"stream-open, then event message id {got['id']}: {brief(data(got).get('text', ''))}"


def check_sse_resume(svc):
    room = room_name()
    first = svc.post(room, "smoke: before")
    second = svc.post(room, "smoke: missed")
    with svc.stream(f"/rooms/{room}/events/", last_event_id=str(first["id"])) as sse:
        got = sse.event("message", what=f"replay after Last-Event-ID {first['id']}")
    expect(got.get("id") == str(second["id"]),
           f"first replayed id {got.get('id')}, expected {second['id']}")
    return f"Last-Event-ID {first['id']} -> replayed message id {got['id']}"


def check_multi_room(svc):
    a, b = room_name(), room_name()
    with svc.stream(f"/events/?channel={a}&channel={b}") as sse:
        opened = sse.event("stream-open")
        sent = svc.post(b, "smoke: multi-room")
        got = sse.event("message", lambda f: data(f).get("room") == b,
                        f"message in {b} on the multi-room stream")
    position = dict(p.split(":", 1) for p in got.get("id", "").split(",") if ":" in p)
    expect(position.get(b) == str(sent["id"]) and a in position,
           f"event id {got.get('id')!r} is not a position in both rooms ({b}:{sent['id']})")

    def short(event_id):  # the two random room names as a and b
        return (event_id or "").replace(a, "a").replace(b, "b")
    return f"stream-open id {short(opened.get('id'))}; a post to b arrived as id " \
           f"{short(got['id'])}"


def check_websocket(svc):
    room = room_name()
    before = svc.post(room, "smoke: before the socket")
    with svc.socket(room) as ws:
        # Asking is a round trip through Fanout and the service, after which the socket is
        # subscribed (README: Realtime, WebSocket).
        ws.send({"type": "resume", "after": before["id"] - 1})
        replayed = ws.wait(lambda f: f.get("event") == "message", "replay on the socket")
        ws.wait(lambda f: f.get("event") == "resumed", "resumed")
        frame = {"type": "message", "text": "smoke: over the socket"}
        if not svc.api_key:
            frame["from"] = svc.nick
        ws.send(frame)
        sent = ws.wait(lambda f: f.get("event") in ("sent", "error"), "answer to a message frame")
        expect(sent["event"] == "sent", f"message frame -> {brief(sent)}")
        live = ws.wait(lambda f: f.get("event") == "message" and f.get("id") == sent["id"],
                       f"message {sent['id']} delivered on the socket")
    return f"resume -> message id {replayed.get('id')}, resumed; sent id {sent['id']}, " \
           f"delivered id {live['id']}"


def check_long_poll(svc):
    room = room_name()
    newest = svc.post(room, "smoke: before the poll")["id"]
    answer = {}

    def poll():
        try:
            answer["result"] = svc.request(
                "GET", f"/rooms/{room}/messages/?after={newest}&wait={int(svc.timeout)}")
        except Exception as e:  # noqa: BLE001 - reported below
            answer["result"] = (None, repr(e))
        answer["at"] = time.monotonic()

    started = time.monotonic()
    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    time.sleep(POLL_HEAD_START)
    sent = svc.post(room, "smoke: answers the poll")
    thread.join(svc.timeout + 1)
    expect("result" in answer, f"no answer to the poll in {svc.timeout + 1:g} s")
    status, body = answer["result"]
    ids = [m.get("id") for m in body.get("messages", [])] if isinstance(body, dict) else []
    expect(status == 200 and sent["id"] in ids, f"poll after {newest} -> {status} {brief(body)}")
    return f"after={newest}: answered in {answer['at'] - started:.1f} s with message id " \
           f"{sent['id']} (last-event-id {body.get('last-event-id')})"


def check_presence(svc):
    room = room_name()
    # Our name as the service knows it: the nickname, or the API key's account.
    name = svc.nick if not svc.api_key else None
    with svc.stream(f"/rooms/{room}/events/") as sse:
        sse.event("stream-open")
        fields = {"state": "here"} if svc.api_key else {"state": "here", "from": svc.nick}
        status, body = svc.request("POST", f"/rooms/{room}/presence/",
                                   urllib.parse.urlencode(fields),
                                   {"Content-Type": "application/x-www-form-urlencoded"})
        expect(status == 200, f"POST presence -> {status} {brief(body)}")
        joined = sse.event("presence", lambda f: data(f).get("change") == "join"
                           and (name is None or data(f).get("name") == name),
                           "presence join on the stream")
    name = data(joined).get("name")
    fields = {"state": "gone"} if svc.api_key else {"state": "gone", "from": svc.nick}
    svc.request("POST", f"/rooms/{room}/presence/", urllib.parse.urlencode(fields),
                {"Content-Type": "application/x-www-form-urlencoded"})
    return f"POST presence -> {status}; event presence change join for {name!r}"


CHECKS = [
    ("post and read", check_post_and_read),
    ("SSE live", check_sse_live),
    ("SSE resume (Last-Event-ID)", check_sse_resume),
    ("multi-room stream", check_multi_room),
    ("WebSocket", check_websocket),
    ("long-poll", check_long_poll),
    ("presence join", check_presence),
]


def run_check(fn, svc):
    """(ok, observation), within the check's own time bound."""
    result = {}

    def body():
        try:
            result["ok"] = (True, fn(svc))
        except CheckFailed as e:
            result["ok"] = (False, str(e))
        except Exception as e:  # noqa: BLE001 - any error is a failed check, shown as is
            result["ok"] = (False, f"{type(e).__name__}: {e}")

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    # Each wait inside a check is bounded by the timeout; a check makes a few in a row.
    thread.join(svc.timeout * 3)
    return result.get("ok", (False, f"no result within {svc.timeout * 3:g} s"))


def table(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = []
    for check, verdict, observation in rows:
        lines.append(f"{check:<{widths[0]}}  {verdict:<{widths[1]}}  {observation}")
    lines.insert(1, "-" * (widths[0] + widths[1] + 4 + max(len(r[2]) for r in rows)))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="End-to-end smoke check of a running edge-chat: post and read, SSE live "
                    "and resume, the multi-room stream, a WebSocket, a long-poll, presence.")
    ap.add_argument("base_url", help="e.g. https://my-chat.edgecompute.app or http://127.0.0.1:7676")
    ap.add_argument("--api-key", default=os.environ.get("EDGE_CHAT_API_KEY"),
                    help="an API key for passkey mode (default: $EDGE_CHAT_API_KEY); "
                         "without one the service must be in open mode")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                    help=f"seconds each wait may take (default {DEFAULT_TIMEOUT:g})")
    args = ap.parse_args(argv)
    svc = Service(args.base_url, args.api_key or None, args.timeout)

    started = time.monotonic()
    rows = [("check", "result", "what showed it")]
    failed = 0
    for name, fn in CHECKS:
        ok, observation = run_check(fn, svc)
        failed += not ok
        rows.append((name, "ok" if ok else "FAIL", brief(observation)))
    print(f"edge-chat smoke: {svc.base} ({'API key' if svc.api_key else 'open mode, no key'})")
    print(table(rows))
    print(f"{len(CHECKS) - failed} of {len(CHECKS)} ok in {time.monotonic() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
