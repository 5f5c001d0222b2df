"""What a soak run observed, judged: the figures of the table and whether they pass.

Acceptance (issue 9): every planned post accepted, history == the accepted set, and for
every subscriber 0 missing, 0 duplicated, 0 out of order, complete within the deadline. A
stream-reset or stream-error event, an event id nobody posted, or an event whose content
differs from what its POST returned also fail the run: each means a subscriber's view of the
room went wrong, even if the counts above happen to balance. So does a crash of Pushpin (the
local Fanout): the run then says nothing about the service, and the table names the crash.

Figures, per subscriber, summed and the worst one shown with some of its ids: missing =
accepted messages of its room it never received; duplicated = arrivals of an id it already
had; out of order = first arrivals of an id below one it already had. Delivery latency runs
from just before the POST was written to the read that brought the event, over posts made
outside every fault window (from 0.5 s before a fault starts to recovery_margin after it
ends). Publishes are as the fault proxy saw them: the service retries a refused publish, so
they can outnumber the posts.
"""

import json
from collections import Counter
from dataclasses import dataclass, field

LATENCY_GUARD = 0.5  # seconds before a fault in which posts are already excluded


@dataclass
class Observed:
    """Raw observations of one run (soak_run fills it in)."""

    planned: int
    posters: list
    subscribers: list
    content: dict  # room -> message id -> set of distinct event data
    windows: list  # soak_faults.Window
    settled_at: float  # the last fault's end or the last post's answer, whichever is later
    deadline_at: float
    history: dict  # room -> (messages or None, pages, error note)
    publishes: dict  # forwarded / refused / failed, from the proxy
    wall_start: float = 0.0  # time.time() when posting began, to place log lines
    links: Counter = field(default_factory=Counter)  # status -> recovery link requests answered
    crashes: list = field(default_factory=list)  # (Pushpin part, s after posting began)


@dataclass
class Tally:
    """Sum over subscribers, the worst one's count, and some ids of the worst one."""

    total: int = 0
    worst: int = 0
    ids: list = field(default_factory=list)

    def add(self, n, ids):
        self.total += n
        if n > self.worst:
            self.worst, self.ids = n, ids

    def __str__(self):
        text = f"{self.total} / {self.worst}"
        return text + (f" (e.g. ids {id_ranges(self.ids)})" if self.ids else "")


def id_ranges(ids, most=3):
    """'5-9, 12, 20-21, ...': the first `most` runs of consecutive ids."""
    runs = []
    for i in sorted(set(ids)):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    text = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in runs[:most])
    return text + (", ..." if len(runs) > most else "")


@dataclass
class Result:
    label: str
    subscribers: int
    deadline: float
    planned: int = 0
    accepted: int = 0
    rejected: Counter = field(default_factory=Counter)
    retried: int = 0
    history_ok: bool = False
    history: str = ""  # the verdict in words: yes, with how many messages and pages, or why not
    missing: Tally = field(default_factory=Tally)
    duplicated: Tally = field(default_factory=Tally)
    out_of_order: Tally = field(default_factory=Tally)
    resets: int = 0
    errors: int = 0
    unexpected: int = 0  # distinct ids received that no accepted POST returned
    differs: int = 0  # distinct event bodies (or malformed events) unlike the POST's answer
    incomplete: int = 0
    slowest: float | None = None  # completion of the last subscriber, s after settling
    latencies: list = field(default_factory=list)  # delivery, seconds, sorted
    post_times: list = field(default_factory=list)  # write to answer of accepted posts, sorted
    links: Counter = field(default_factory=Counter)
    crashes: list = field(default_factory=list)
    streams: int = 0
    refused: int = 0
    publishes: dict = field(default_factory=dict)
    windows: list = field(default_factory=list)
    started: float = 0.0  # perf_counter when posting began
    wall: float = 0.0
    cpu: float = 0.0
    stack_dir: str | None = None

    @property
    def failures(self):
        checks = {
            "posts rejected": self.accepted < self.planned,
            "history": not self.history_ok,
            "missing": self.missing.total > 0,
            "duplicated": self.duplicated.total > 0,
            "out of order": self.out_of_order.total > 0,
            "never completed": self.incomplete > 0,
            "stream-reset/error": self.resets + self.errors > 0,
            "unexpected or altered events": self.unexpected + self.differs > 0,
            "Pushpin crashed": bool(self.crashes),
        }
        return [name for name, failed in checks.items() if failed]

    @property
    def ok(self):
        return not self.failures


def judge(label, params, seen, start):
    """The Result of a run whose posting started at perf_counter time `start`."""
    r = Result(label, len(seen.subscribers), params.deadline, planned=seen.planned,
               windows=seen.windows, publishes=seen.publishes, links=seen.links, started=start,
               crashes=seen.crashes)
    posts = [p for poster in seen.posters for p in poster.accepted]
    r.accepted = len(posts)
    r.post_times = sorted(p.answered_at - p.sent_at for p in posts)
    for poster in seen.posters:
        r.rejected.update(poster.rejected)
        r.retried += poster.retried
    by_room = {room: {} for room in seen.content}
    for p in posts:
        by_room[p.room][p.message["id"]] = p
    r.history_ok, r.history = _history_verdict(by_room, seen.history)
    r.differs = _content_differs(by_room, seen.content)
    r.unexpected = sum(len(ids.keys() - by_room[room].keys()) for room, ids in seen.content.items())
    eligible = {room: {i: p.sent_at for i, p in room_posts.items()
                       if not _near_fault(p.sent_at, seen.windows, params.recovery_margin)}
                for room, room_posts in by_room.items()}
    done = [_judge_subscriber(r, s, by_room[s.room], eligible[s.room]) for s in seen.subscribers]
    r.incomplete = sum(d is None or d > seen.deadline_at for d in done)
    if all(d is not None for d in done) and done:
        r.slowest = max(done) - seen.settled_at
    r.latencies.sort()
    return r


def _judge_subscriber(r, sub, accepted, eligible):
    """Adds one subscriber's figures to r; returns when it had every accepted message."""
    got = dict(zip(sub.first_ids, sub.first_times))
    lost = [i for i in accepted if i not in got]
    missing = len(lost)
    r.missing.add(missing, lost)
    r.duplicated.add(sub.duplicated, sub.examples["duplicated"])
    r.out_of_order.add(sub.out_of_order, sub.examples["out of order"])
    r.resets += sub.resets
    r.errors += sub.errors
    r.differs += sub.malformed
    r.streams += sub.streams
    r.refused += sub.refused
    r.latencies.extend(got[i] - sent for i, sent in eligible.items() if i in got)
    return None if missing else max((got[i] for i in accepted), default=0.0)


def _near_fault(t, windows, margin):
    return any(w.start - LATENCY_GUARD <= t <= w.end + margin for w in windows)


def _history_verdict(by_room, history):
    """(ok, words): whether every room's history is exactly its accepted posts."""
    problems, count, pages_read = [], 0, 0
    for room, (messages, pages, error) in history.items():
        pages_read += pages
        if messages is None:
            problems.append(f"{room}: {error}")
            continue
        count += len(messages)
        got = {}
        for m in messages:
            got.setdefault(m["id"], []).append(m)
        want = by_room[room]
        lost = len(want.keys() - got.keys())
        extra = len(got.keys() - want.keys())
        altered = sum(1 for i in want.keys() & got.keys() if got[i] != [want[i].message])
        if lost or extra or altered:
            problems.append(f"{room}: {lost} lost, {extra} extra, {altered} altered or doubled")
    if problems:
        return False, "no (" + "; ".join(problems[:3]) + ")"
    return True, f"yes ({count} messages, {pages_read} pages)"


def _content_differs(by_room, content):
    """Distinct event bodies that are not exactly the message their POST returned."""
    differs = 0
    for room, variants_by_id in content.items():
        for i, variants in variants_by_id.items():
            if i in by_room[room]:
                want = by_room[room][i].message
                differs += sum(1 for data in variants if _loads(data) != want)
    return differs


def _loads(data):
    try:
        return json.loads(data)
    except ValueError:
        return None


def percentile(sorted_values, q):
    """Nearest-rank percentile (0 < q <= 100) of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


# ------------------------------------------------------------------ the table

def _posts(r):
    text = f"{r.accepted} of {r.planned}"
    notes = [f"{n} x {why}" for why, n in sorted(r.rejected.items())]
    if r.retried:
        notes.append(f"{r.retried} retried after 503")
    return text + (f" ({', '.join(notes)})" if notes else "")


def _slowest(r):
    if r.slowest is None:
        return "-"
    return f"{r.slowest:+.1f} s (deadline {r.deadline:g} s)"


def _p50_p99(values):
    if not values:
        return "no samples"
    p50, p99 = (1000 * percentile(values, q) for q in (50, 99))
    return f"{p50:.1f} / {p99:.1f} ms (n={len(values)})"


def _links(r):
    total = sum(r.links.values())
    bad = total - r.links.get("200", 0)
    return f"{total}" + (f" ({bad} not 200)" if bad else "")


def _publishes(r):
    p = r.publishes
    return f"{p.get('forwarded', 0)} / {p.get('refused', 0)} / {p.get('failed', 0)}"


ROWS = [  # (measure, target, cell)
    ("accepted posts", "all", _posts),
    ("history == accepted set", "yes", lambda r: r.history),
    ("missing: sum / worst subscriber", "0", lambda r: str(r.missing)),
    ("duplicated: sum / worst subscriber", "0", lambda r: str(r.duplicated)),
    ("out of order: sum / worst subscriber", "0", lambda r: str(r.out_of_order)),
    ("subscribers not complete by the deadline", "0", lambda r: f"{r.incomplete} of {r.subscribers}"),
    ("last subscriber complete, after settling", "in time", _slowest),
    ("stream-reset / stream-error events", "0", lambda r: f"{r.resets} / {r.errors}"),
    ("unknown ids / events unlike their POST", "0", lambda r: f"{r.unexpected} / {r.differs}"),
    ("local Fanout (Pushpin) crashes", "0",
     lambda r: ", ".join(f"{part} at {t:+.1f} s" for part, t in r.crashes) or "0"),
    ("delivery p50 / p99 outside fault windows", "", lambda r: _p50_p99(r.latencies)),
    ("POST p50 / p99, whole run", "", lambda r: _p50_p99(r.post_times)),
    ("recovery page fetches (GRIP links answered)", "", _links),
    ("streams opened / attempts refused", "", lambda r: f"{r.streams} / {r.refused}"),
    ("publishes forwarded / answered 503 / Pushpin down", "", _publishes),
    ("acceptance", "pass",
     lambda r: "pass" if r.ok else "FAIL: " + ", ".join(r.failures)),
]


def table(results):
    """One aligned Markdown table: a row per measure, a column per run."""
    head = ["measure"] + [r.label for r in results] + ["target"]
    rows = [[name] + [cell(r) for r in results] + [target] for name, target, cell in ROWS]
    widths = [max(len(row[c]) for row in [head] + rows) for c in range(len(head))]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), rule] + [line(row) for row in rows])


def run_line(r):
    """Run time, the load generator's CPU and the faults as they happened, for one run."""
    faults = ", ".join(f"{w.name} {w.start - r.started:.1f}-{w.end - r.started:.1f} s"
                       for w in r.windows) or "no faults"
    where = f"; stack dir kept: {r.stack_dir}" if r.stack_dir else ""
    return (f"{r.label}: run {r.wall:.1f} s, load generator CPU {r.cpu:.1f} s "
            f"({100 * r.cpu / r.wall:.0f}% of one core); {faults} after posting began{where}")
