"""What a post with mentions costs (issue 21 item 3): a signed-in POST whose text mentions
0, 1 or 5 registered people (and one with 8 names nobody holds), taking turns request by
request on one passkey-mode stack, each variant in a room of its own. Every mention is a
name lookup (3 KV reads) and, for someone else who may read the room, an append to their
mention log and an item in the post's publish call (src/http/api/mentions.rs). KV
operations and backend requests come from each answer's Server-Timing.

Run alone with `scripts/bench --only mentions`.
"""

import json
import re
from dataclasses import dataclass, field

from .app import app_stack, room
from .identity import PASSKEY
from .measure import med, pct
from .passkey import Person

WARM = 10
_TIMING = re.compile(r'(kv|backend);desc="(\d+) ')


@dataclass
class Variant:
    name: str
    mentioned: int  # registered people named (the rest of `names` are nobody's)
    names: int
    seconds: list = field(default_factory=list)
    kv: list = field(default_factory=list)
    backend: list = field(default_factory=list)


VARIANTS = [Variant("no mention (reference)", 0, 0), Variant("1 mention", 1, 1),
            Variant("5 mentions", 5, 5), Variant("8 unknown names", 0, 8)]


def mentions_cost(sc):
    """-> [Variant] (sc: scenarios.Scenarios, for params and logs)."""
    p = sc.p
    with app_stack(sc.vlog, sc.keep, config=PASSKEY) as s:
        people = [Person(s.port) for _ in range(6)]
        try:
            for person in people:
                person.sign_up()
            author, others = people[0], people[1:]
            rooms = [room("bench-mentions") for _ in VARIANTS]
            for i in range(WARM + p.ceremonies):
                for v, r in zip(VARIANTS, rooms):
                    named = [f"@{o.name}" for o in others[:v.mentioned]]
                    named += [f"@nobody{i}x{n}" for n in range(v.names - v.mentioned)]
                    text = f"post {i} " + " ".join(named)
                    dt, st, hd, bd = author.call("POST", f"/rooms/{r}/messages/", {"text": text})
                    assert st == 200, f"post with mentions: {st} {bd[:200]!r}"
                    assert len(json.loads(bd).get("mentions", [])) == v.mentioned, bd[:300]
                    if i >= WARM:
                        spent = dict(_TIMING.findall(hd.get("server-timing", "")))
                        v.seconds.append(dt)
                        v.kv.append(int(spent["kv"]))
                        v.backend.append(int(spent["backend"]))
        finally:
            for person in people:
                person.close()
    return VARIANTS


def report(w, rows, params):
    """The rows as a table, w: a line writer."""
    w("POST WITH MENTIONS: a signed-in POST (passkey mode), the variants taking turns (ms; KV "
      "operations and backend requests per post from Server-Timing, median (max))")
    w(f"  {'variant':<24} {'n':>5} {'p50':>7} {'p99':>7} {'KV ops':>10} {'backend':>10}")
    for v in rows:
        if not v.seconds:
            continue
        w(f"  {v.name:<24} {len(v.seconds):>5} {med(v.seconds) * 1000:>7.2f} "
          f"{pct(v.seconds, 99) * 1000:>7.2f} {f'{med(v.kv):g} ({max(v.kv)})':>10} "
          f"{f'{med(v.backend):g} ({max(v.backend)})':>10}")
    w("")
