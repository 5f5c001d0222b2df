"""What presence costs in publish calls: a room of N idle people (heartbeats only) and a
room of 10 people typing non-stop. Publish calls are counted where they leave the service:
its publish URL points at a counting proxy in front of Pushpin's publish endpoint, so a
call carrying several items (a coalesced flush) counts once, as Fastly's API counts it.

Idle rooms run on a compressed clock: `presence_heartbeat_secs` = 30 / COMPRESS, and every
presence time follows it (lapse, the room cap's window, summaries), so one "minute" is
60 / COMPRESS real seconds and calls are reported per such minute, i.e. per real minute of
a real room. Typing runs in real time (its pause and renewal are not scaled): 10 typists,
each sending a notice every 3 s as the page does while its person types."""

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import stack as stackmod

from . import APP_WASM
from .app import room
from .http import Client

HEARTBEAT_SECS = 30  # what static/presence.js sends (presence_heartbeat_secs)
COMPRESS = 5  # idle rooms: heartbeats every 6 s, a "minute" is 12 s
IDLE_MINUTES = 4  # the first is the join wave
IDLE_USERS = (10, 100, 1000)
TYPISTS = 10
TYPING_EVERY = 3.0  # a page's typing notices while its person types (static/presence.js)
WORKERS = 8  # client threads sharing the simulated users


class CountingProxy:
    """Forwards publish calls to Pushpin and timestamps each (with its item count)."""

    def __init__(self, target):
        self.calls = []  # (monotonic time, items)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                items = len(json.loads(body or b"{}").get("items", []))
                proxy.calls.append((time.monotonic(), items))
                req = urllib.request.Request(target, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=5) as r:
                    answer, status = r.read(), r.status
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    url = property(lambda self: f"http://127.0.0.1:{self.server.server_port}/publish/")

    def between(self, t0, t1):
        calls = [n for t, n in self.calls if t0 <= t < t1]
        return len(calls), sum(calls)

    def close(self):
        self.server.shutdown()


@dataclass
class Row:
    what: str
    minutes: list = field(default_factory=list)  # (calls, items) per (simulated) minute
    requests: int = 0


@dataclass
class PresenceCost:
    idle: list = field(default_factory=list)
    typing: Row = None


def _stack(config):
    publish_port = stackmod.free_ports(1)[0]
    proxy = CountingProxy(f"http://127.0.0.1:{publish_port}/publish/")
    base = f"http://127.0.0.1:{proxy.server.server_port}/"
    s = stackmod.Stack(APP_WASM, publish_port=publish_port, publish_url=base,
                       config={"auth_mode": "open", **config})
    s.start()
    return s, proxy


def _say(c, r, name, state):
    body = json.dumps({"from": name, "state": state}).encode()
    _, st, _, _ = c.request("POST", f"/rooms/{r}/presence/", body, {"Content-Type": "application/json"})
    assert st == 200, st


def _drive(port, schedule, until):
    """Each worker sends its users' requests at their times: schedule(i) -> [(t, name, state)]."""
    sent = [0] * WORKERS

    def work(w):
        c = Client(port)
        try:
            for t, r, name, state in schedule(w):
                if t >= until:
                    break
                pause = t - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                _say(c, r, name, state)
                sent[w] += 1
        finally:
            c.close()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(sent)


def _window_start(minute):
    """A monotonic time at which the service's cap window (aligned to the epoch) begins."""
    wall = time.time()
    return time.monotonic() + (minute - wall % minute)


def idle_room(s, proxy, n):
    hb = HEARTBEAT_SECS / COMPRESS
    minute = 60 / COMPRESS
    r = room("presence")
    start = _window_start(minute)
    end = start + IDLE_MINUTES * minute

    def schedule(w):
        users = range(w, n, WORKERS)
        # Every user heartbeats every hb, at a phase of its own (pages open at random times).
        events = [(start + (u * hb / n) + k * hb, r, f"user{u:04}", "here")
                  for u in users for k in range(int(IDLE_MINUTES * minute / hb) + 1)]
        return sorted(events)

    row = Row(f"{n} idle")
    row.requests = _drive(s.port, schedule, end)
    time.sleep(0.5)
    row.minutes = [proxy.between(start + m * minute, start + (m + 1) * minute) for m in range(IDLE_MINUTES)]
    return row


def typing_room(s, proxy, seconds):
    r = room("typing")
    start = _window_start(60)
    end = start + seconds

    def schedule(w):
        events = [(start + u * 0.1 + k * TYPING_EVERY, r, f"typist{u}", "typing")
                  for u in range(w, TYPISTS, WORKERS) for k in range(int(seconds / TYPING_EVERY) + 1)]
        return sorted(events)

    row = Row(f"{TYPISTS} typing")
    row.requests = _drive(s.port, schedule, end)
    time.sleep(0.5)
    row.minutes = [proxy.between(start, end)]
    row.seconds = seconds
    return row


def presence_cost(seconds):
    """-> PresenceCost: idle rooms of each size on a compressed clock, then `seconds` of
    typing in real time."""
    res = PresenceCost()
    s, proxy = _stack({"presence_heartbeat_secs": str(HEARTBEAT_SECS // COMPRESS)})
    try:
        res.idle = [idle_room(s, proxy, n) for n in IDLE_USERS]
    finally:
        s.stop()
        proxy.close()
    s, proxy = _stack({})
    try:
        res.typing = typing_room(s, proxy, seconds)
    finally:
        s.stop()
        proxy.close()
    return res


def report(w, p):
    if p is None:
        return
    w(f"PRESENCE COST (publish calls counted at a proxy in front of Pushpin; idle rooms on a clock {COMPRESS}x "
      f"faster: a heartbeat every {HEARTBEAT_SECS // COMPRESS} s, figures per {60 // COMPRESS} s = per minute "
      "of a real room)")
    for row in p.idle:
        wave, rest = row.minutes[0], row.minutes[1:]
        steady = sum(c for c, _ in rest) / len(rest)
        w(f"  {row.what:>10}: {row.requests} heartbeats; publish calls per minute: {wave[0]} in the first "
          f"(carrying {wave[1]} changes), then {' / '.join(f'{c} ({i})' for c, i in rest)} "
          f"(mean {steady:.1f}); before issue 17: {2 * int(row.what.split()[0])} a minute")
    t = p.typing
    calls, items = t.minutes[0]
    per_min = calls / t.seconds * 60
    w(f"  {t.what:>10}: {t.requests} typing notices in {t.seconds:.0f} s real time → {calls} publish calls "
      f"({per_min:.1f} per minute; each typist starts once, renews every 10 s, the room cap is 10 a minute); "
      f"before issue 17: up to {20 * TYPISTS} a minute")
    w("")
