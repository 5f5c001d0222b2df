"""Posts into one room at Fastly's KV latency (issue 17, item 3).

Viceroy's KV answers in microseconds; Fastly's is a round trip to the store's primary, 20-50
ms. The local stack's `kv_delay_ms` (honoured only under Viceroy) pauses every KV operation
that long, once per call, inside the service's own KV wrapper (`KvMeter::time`), so a batch
of concurrent lookups costs one round trip as on Fastly. Each delay gets a fresh stack:
sequential posts into one room, then concurrent posters into another, whose head must equal
the posts accepted (ids 1..n, no gaps).

Run alone with `scripts/bench --only kv-latency`; a full run includes it.
"""

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from .app import app_stack, room
from .measure import med
from .results import PostConc, PostSeq
from .scenarios import concurrent_posts, newest_id, seq_posts

DELAYS_MS = (0, 30)
SEQ_POSTS_MAX = 100  # sequential posts per repetition: at 30 ms/op each is ~0.1 s


@dataclass
class AtDelay:
    delay_ms: int
    seq: PostSeq
    conc: PostConc
    seq_rate: list = field(default_factory=list)  # posts/s per repetition
    accepted: list = field(default_factory=list)  # 200s into the concurrent room, per repetition


def kv_latency(sc):
    """-> [AtDelay] for each of DELAYS_MS (sc: scenarios.Scenarios, for params and logs)."""
    p = sc.p
    n_seq = min(p.seq_posts, SEQ_POSTS_MAX)
    rows = []
    for delay in DELAYS_MS:
        row = AtDelay(delay, PostSeq(n=n_seq), PostConc(n=p.posters * p.posts_each))
        for _ in range(p.reps):
            with app_stack(sc.vlog, sc.keep, config={"kv_delay_ms": str(delay)}) as s:
                r = room("kvlat")
                seq_posts(s.port, "warmup-" + r, 3)
                t0 = time.perf_counter()
                lat, bad = seq_posts(s.port, r, n_seq, row.seq.kv)
                row.seq_rate.append(n_seq / (time.perf_counter() - t0))
                row.seq.lat.add(lat)
                row.seq.bad += bad
                busy = room("kvlat-busy")
                before = row.conc.status[200]
                lat, wall = asyncio.run(concurrent_posts(s.port, [busy] * p.posters, p.posts_each, row.conc))
                row.conc.lat.add(lat)
                row.conc.rate.append(len(lat) / wall)
                row.accepted.append(row.conc.status[200] - before)
                row.conc.heads.append(newest_id(s.port, busy))
        rows.append(row)
    return rows


def report(w, rows, params):
    """The rows as a table (ms), w: a line writer."""
    if not rows:
        return
    w(f"POSTS AT FASTLY'S KV LATENCY (kv_delay_ms: each KV operation pauses that long, once per call; "
      f"a fresh stack per delay and repetition; ms)")
    w(f"  {'per KV operation':<17} {'posts':<32} {'n/rep':>6} {'p50':>8} {'p99':>8} {'posts/s':>8}  "
      f"{'KV ops/post':<16} ids")
    for row in rows:
        s, c = row.seq, row.conc
        seq_ids = "1..n" if s.bad == 0 else f"{s.bad} non-200"
        w(f"  {str(row.delay_ms) + ' ms':<17} {'sequential, one room':<32} {s.n:>6} {med(s.lat.p50) * 1000:>8.1f} "
          f"{med(s.lat.p99) * 1000:>8.1f} {med(row.seq_rate):>8.1f}  {ops(s.kv.ops):<16} {seq_ids}")
        contiguous = row.conc.heads == row.accepted
        conc_ids = ("1..n, no gaps" if contiguous else f"GAPS: heads {c.heads} vs accepted {row.accepted}")
        w(f"  {'':<17} {f'{params.posters} concurrent × {params.posts_each}, one room':<32} {c.n:>6} "
          f"{med(c.lat.p50) * 1000:>8.1f} {med(c.lat.p99) * 1000:>8.1f} {med(c.rate):>8.1f}  "
          f"{ops(c.kv.ops):<16} {conc_ids}; statuses {dict(Counter(c.status))}")
    w("")


def ops(values):
    """KV operations per post: 'mean (max)'."""
    return f"{statistics.mean(values):.2f} (max {max(values)})" if values else "—"
