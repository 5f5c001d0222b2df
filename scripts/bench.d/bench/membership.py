"""What the private-room gate costs (issue 19 item 6): history GETs and posts by one
signed-in member, in a public room and in a private room of theirs, taking turns request by
request on one passkey-mode stack (so the machine's drift hits both alike),
`params.ceremonies` rounds per repetition after MEMBERSHIP_WARM unmeasured ones.

A public room passes the gate without a lookup; a private room costs one KV lookup of its
record (`private:<room>`). The rows give each request's round trip and its KV operations
(the service's own Server-Timing count), and the private row's difference from the public
one: that difference is the membership check. Viceroy's KV answers in microseconds, so the
time difference is the check's CPU and the lookup's local cost; on Fastly add one KV round
trip (tens of ms) per private-room request. Nothing here asserts.

Run alone with `scripts/bench --only membership`.
"""

import json
import re
from dataclasses import dataclass, field

from .app import app_stack
from .identity import PASSKEY
from .measure import med, pct
from .passkey import Person, expect

MEMBERSHIP_WARM = 5
KV_OPS = re.compile(r'kv;desc="(\d+) ops?";dur=([\d.]+)')


@dataclass
class Row:
    what: str
    private: bool
    seconds: list = field(default_factory=list)
    kv_ops: list = field(default_factory=list)
    kv_ms: list = field(default_factory=list)


def membership_costs(sc):
    """-> [Row]: history and post, public then private (sc: scenarios.Scenarios)."""
    p = sc.p
    rows = [Row(what, private) for what in ("history GET", "post") for private in (False, True)]
    for _ in range(p.reps):
        with app_stack(sc.vlog, sc.keep, config=PASSKEY) as s:
            person = Person(s.port)
            try:
                person.sign_up()
                _, st, _, bd = person.call("POST", "/rooms/", {"title": "bench", "private": True})
                expect(st, 201, "/rooms/", bd)
                rooms = {False: "bench-public", True: json.loads(bd)["id"]}
                for i in range(MEMBERSHIP_WARM + p.ceremonies):
                    for row in rows:
                        path = f"/rooms/{rooms[row.private]}/messages/"
                        if row.what == "post":
                            dt, st, hd, bd = person.call("POST", path, {"text": f"bench {i}"})
                        else:
                            dt, st, hd, bd = person.call("GET", path)
                        expect(st, 200, path, bd)
                        if i >= MEMBERSHIP_WARM:
                            row.seconds.append(dt)
                            ops = KV_OPS.search(hd.get("server-timing", ""))
                            row.kv_ops.append(int(ops.group(1)) if ops else float("nan"))
                            row.kv_ms.append(float(ops.group(2)) if ops else float("nan"))
            finally:
                person.close()
    return rows


def report(w, rows, params):
    """The rows as a table (ms), w: a line writer."""
    if not rows:
        return
    w("PRIVATE-ROOM GATE: one member's history GETs and posts, public and private room taking "
      "turns on one passkey-mode stack (ms; KV ops and the service's KV time from Server-Timing, 0.1 ms steps)")
    w(f"  {'request':<12} {'room':<8} {'n':>6} {'p50':>8} {'p90':>8} {'KV ops':>7} {'KV ms p50':>10} "
      f"{'p50 - public':>13} {'KV - public':>12}")
    public = {}
    for row in rows:
        s, ops = row.seconds, med(row.kv_ops)
        if not row.private:
            public[row.what] = (med(s), ops)
        base_t, base_ops = public.get(row.what, (med(s), ops))
        diff = (f"{(med(s) - base_t) * 1000:>+13.3f} {ops - base_ops:>+12.0f}" if row.private
                else f"{'':>13} {'':>12}")
        w(f"  {row.what:<12} {'private' if row.private else 'public':<8} {len(s):>6} "
          f"{med(s) * 1000:>8.3f} {pct(s, 90) * 1000:>8.3f} {ops:>7.0f} {med(row.kv_ms):>10.1f} {diff}")
    w("")
