"""Numbers from samples (percentiles, medians, the KV figures of Server-Timing) and CPU time,
the bench's own and the servers' by session id from /proc: every stack child runs in a session
of its own (scripts/procs.py), and Pushpin's runner keeps its parts in that session."""

import os
import re
import resource
import statistics
import time
from collections import Counter
from pathlib import Path

SERVER_TIMING_KV = re.compile(r'kv;desc="(\d+) ops?";dur=([\d.]+)')
TICK = os.sysconf("SC_CLK_TCK")


def pct(values, q):
    """Percentile q (0..100) of values, linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * q / 100
    f = int(k)
    c = min(f + 1, len(s) - 1)
    return s[f] + (s[c] - s[f]) * (k - f)


def med(xs):
    """Median, skipping NaN (a repetition that measured nothing)."""
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def mode(c):
    """The most common value of a Counter, and the full distribution when it is not unique."""
    c = Counter({k: v for k, v in c.items() if k is not None})
    if not c:
        return "?", ""
    top = c.most_common(1)[0][0]
    other = "" if len(c) == 1 else " (" + ", ".join(f"{k}: {v}×" for k, v in sorted(c.items())) + ")"
    return top, other


def kv_ops(headers):
    """(KV operations, KV ms) from the service's Server-Timing header, or (None, None)."""
    m = SERVER_TIMING_KV.search(headers.get("server-timing", ""))
    return (int(m.group(1)), float(m.group(2))) if m else (None, None)


def cpu_self():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def session_cpu(sids):
    """CPU seconds used so far by every live process in the given sessions."""
    total = 0
    sids = set(sids)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        f = stat[stat.rfind(")") + 2:].split()
        if int(f[3]) in sids:
            total += int(f[11]) + int(f[12])
    return total / TICK


class CpuMeter:
    """Wall and CPU time of the bench process and of server processes (by session)."""

    def __init__(self, sessions):
        self.sessions = sessions  # name -> [session id]

    def __enter__(self):
        self.t0, self.c0 = time.monotonic(), cpu_self()
        self.s0 = {k: session_cpu(v) for k, v in self.sessions.items()}
        return self

    def __exit__(self, *exc):
        self.wall = time.monotonic() - self.t0
        self.bench = cpu_self() - self.c0
        self.procs = {k: session_cpu(v) - self.s0[k] for k, v in self.sessions.items()}

    def summary(self):
        parts = [f"bench {self.bench:.2f}s ({100 * self.bench / self.wall:.0f}% of one core)"]
        parts += [f"{k} {v:.2f}s" for k, v in self.procs.items()]
        return f"wall {self.wall:.2f}s; CPU " + ", ".join(parts)


class ServerCpu:
    """CPU per request of server processes (by session), less their idle background
    (Viceroy's own threads burn ~0.1 core doing nothing), measured for 1 s before each use."""

    def __init__(self, sessions):
        self.sessions = sessions
        self.used = Counter()

    def __enter__(self):
        base = {k: session_cpu(v) for k, v in self.sessions.items()}
        time.sleep(1)
        self.idle = {k: session_cpu(v) - base[k] for k, v in self.sessions.items()}
        self.t0 = time.monotonic()
        self.c0 = {k: session_cpu(v) for k, v in self.sessions.items()}
        return self

    def __exit__(self, *exc):
        wall = time.monotonic() - self.t0
        for k, v in self.sessions.items():
            self.used[k] += session_cpu(v) - self.c0[k] - self.idle[k] * wall

    def per_request(self, name, n):
        return self.used[name] / n
