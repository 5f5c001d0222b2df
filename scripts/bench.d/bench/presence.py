"""What presence costs: one user, as a page behaves, for a stretch of real time (the limits
are per second, so it cannot be compressed). A heartbeat every 30 s in one room (join,
refreshes, then the leave beacon); in another room a keystroke every 250 ms (typing
non-stop, the worst case the 3 s throttle bounds). Publishes are counted where they land:
Pushpin's handler logs every publish with its channel."""

import json
import threading
import time
from dataclasses import dataclass, field

from .app import room
from .http import Client
from .measure import pct

HEARTBEAT_EVERY = 30.0  # what static/presence.js sends (the server's HEARTBEAT_SECS)
KEYSTROKE_EVERY = 0.25


@dataclass
class PresenceCost:
    seconds: float
    heartbeats: int = 0  # POSTs, including the leave
    keystrokes: int = 0  # typing POSTs
    heartbeat_publishes: int = 0
    typing_publishes: int = 0
    latency: list = field(default_factory=list)  # every presence POST, seconds

    def per_minute(self, n):
        return n / self.seconds * 60


def _say(c, r, state):
    body = json.dumps({"from": "bench", "state": state}).encode()
    dt, st, _, _ = c.request("POST", f"/rooms/{r}/presence/", body, {"Content-Type": "application/json"})
    assert st == 200, st
    return dt


def _publishes(s, r):
    """Publishes Pushpin took for room r's presence channel (its INFO log line per publish)."""
    log = s.dir / "pushpin-logs" / "pushpin-handler.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return sum(f"publish channel=presence-{r} " in line for line in text.splitlines())


def presence_cost(s, seconds):
    """-> PresenceCost over `seconds` of one user's heartbeats and non-stop typing."""
    res = PresenceCost(seconds)
    hb_room, typing_room = room(), room()
    end = time.monotonic() + seconds

    def heartbeats():
        c = Client(s.port)
        try:
            while True:
                res.latency.append(_say(c, hb_room, "here"))
                res.heartbeats += 1
                pause = min(HEARTBEAT_EVERY, end - time.monotonic())
                if pause <= 0:
                    break
                time.sleep(pause)
            res.latency.append(_say(c, hb_room, "gone"))
            res.heartbeats += 1
        finally:
            c.close()

    def keystrokes():
        c = Client(s.port)
        try:
            while time.monotonic() < end:
                res.latency.append(_say(c, typing_room, "typing"))
                res.keystrokes += 1
                time.sleep(KEYSTROKE_EVERY)
        finally:
            c.close()

    threads = [threading.Thread(target=f) for f in (heartbeats, keystrokes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.5)  # let the last publishes land in the log
    res.heartbeat_publishes = _publishes(s, hb_room)
    res.typing_publishes = _publishes(s, typing_room)
    return res


def report(w, p):
    if p is None:
        return
    # The heartbeat room's publishes: its join and its leave, once a visit; the rest refreshes.
    refreshes = max(p.heartbeat_publishes - 2, 0)
    hb, ty = p.per_minute(refreshes), p.per_minute(p.typing_publishes)
    w(f"PRESENCE COST (one user for {p.seconds:.0f} s of real time: a heartbeat every {HEARTBEAT_EVERY:.0f} s, "
      f"then the leave beacon; typing non-stop, a keystroke every {KEYSTROKE_EVERY * 1000:.0f} ms)")
    w(f"  heartbeats: {p.heartbeats} POSTs → {p.heartbeat_publishes} publishes: a join, {refreshes} refresh(es), "
      f"a leave ({hb:.1f} refreshes per minute)")
    w(f"  typing:     {p.keystrokes} POSTs → {p.typing_publishes} publishes ({ty:.1f} per minute; "
      "throttled to one per 3 s per user)")
    w(f"  per user per minute: {hb:.1f} publish calls present, {hb + ty:.1f} while typing non-stop, plus one join "
      "and one leave a visit; Core Cache: 1 lookup + 1 insert per heartbeat, 1 lookup (+1 insert when published) "
      "per typing POST; KV: none")
    w(f"  presence POST p50 / p99: {pct(p.latency, 50) * 1000:.2f} / {pct(p.latency, 99) * 1000:.2f} ms "
      f"({len(p.latency)} requests)")
    w("")
