#!/usr/bin/env python3
"""A short end-to-end check of a running edge-chat: a real deployment after
`fastly compute deploy`, or the local stack (scripts/test runs it there, so it stays true).

Each check uses rooms of its own (`smoke-<random>`), so it can run against a live service.
Every wait is bounded by --timeout and a check is cut off after CHECK_WAITS of them, so a
run is bounded (7 checks x 3 x 10 s at worst; a healthy service takes about a second). It
prints one table (check, ok/FAIL, the response or observation that showed it) and exits 1
if any check failed.

Identity: in passkey mode an API key (`--api-key`, or EDGE_CHAT_API_KEY) is sent as
`Authorization: Bearer` (create one at /account); in open mode none is needed and posts
carry a `from` nickname. Requests carry no Origin or Sec-Fetch-Site header, which the
cross-site check lets through (and bearer requests are exempt anyway).

Standard library only (http.client, ssl) plus the `websockets` package: run it with
.tools/venv/bin/python (scripts/smoke does). The clients are scripts/smoke.d/smoke_wire.py.
"""

import argparse
import os
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "smoke.d"))

from smoke_wire import CheckFailed, Service, brief, data, expect, room_name  # noqa: E402

DEFAULT_TIMEOUT = 10.0
# How long a long-poll is held before the post that should answer it: long enough for the
# request to reach Fanout first, short enough to keep the run quick (if the post wins the
# race, the poll is answered at once with it, which is just as correct).
POLL_HEAD_START = 0.5
# Waits a check may spend before it is cut off (the longest makes three in a row).
CHECK_WAITS = 3


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
    thread.join(svc.timeout * CHECK_WAITS)
    return result.get("ok", (False, f"no result within {svc.timeout * CHECK_WAITS:g} s"))


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
