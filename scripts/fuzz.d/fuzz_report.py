"""Who answered, what was wrong with it, and the one table scripts/fuzz prints.

Through Pushpin a 5xx may be Pushpin's own (it could not reach or parse the origin), and
straight at Viceroy a 4xx may be hyper's (a head it would not parse) rather than the
service's. So every answer is attributed before it is counted:

  service  carries the service's Server-Timing header (routes::send adds it to everything)
  trap     Viceroy's plain-text 500 after the guest panicked or trapped (wasm backtrace; to
           a HEAD request, a bare 500 without Content-Type)
  handoff  Viceroy's 502 when its hand-off of a stream request to Pushpin failed: the
           service has already returned; locally this is Viceroy's Fanout stand-in
  pushpin  Pushpin's own answer (its error texts), or anything through Pushpin unmarked
  http     Viceroy's HTTP layer, straight at the service port, without the service's mark

Oracles go past the status code: a Grip-Sig that must not verify was answered with GRIP
headers, a cross-site form post was stored, a service answer lacks nosniff or repeats a
header, an API error is not the documented JSON, and a complete SSE call-back answer is
consistent: message ids consecutive and equal to their JSON's, the hold's prev-id and a
paging link's lastEventId equal to the last id sent, no hold after a stream-error.
"""

import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

PUSHPIN_TEXTS = (b"No route for host", b"Error while proxying")
TRAP_TEXTS = (b"wasm backtrace", b"wasm trap")
HANDOFF_TEXT = b"Error: Handoff request failed"
DOT_SEGMENT = re.compile(rb"/(\.|%2e){1,2}(/|$|\?)", re.I)
PREV_ID = re.compile(r"prev-id=(\d+)")
LINK_LAST = re.compile(r"lastEventId=(\d+)")
SLOW = 1.0  # seconds: answered, but slower than any request here should be
EXAMPLE_LIMIT = 5
CROSS_SITE = ((b"origin", b"http://evil.example"), (b"origin", b"null"),
              (b"sec-fetch-site", b"cross-site"))


@dataclass
class Example:
    target: str
    index: int
    status: int | None
    outcome: str
    source: str
    mutations: list[str]
    request: bytes
    response: bytes

    def describe(self, limit=300):
        req = self.request if len(self.request) <= limit else self.request[:limit] + b"..."
        resp = self.response[:200]
        return (f"  [{self.target} #{self.index}] {self.outcome} {self.status or ''} from {self.source};"
                f" mutations {', '.join(self.mutations) or '(none)'}\n"
                f"    request:  {req!r}\n    response: {resp!r}")


@dataclass
class TargetStats:
    name: str
    sent: int = 0
    outcomes: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    fivexx: Counter = field(default_factory=Counter)  # by source
    latencies: list[float] = field(default_factory=list)
    violations: Counter = field(default_factory=Counter)
    examples: dict[str, list[Example]] = field(default_factory=dict)
    example_counts: Counter = field(default_factory=Counter)  # how many each kind had
    stored: int = 0

    def keep(self, kind, example):
        self.example_counts[kind] += 1
        bucket = self.examples.setdefault(kind, [])
        if len(bucket) < EXAMPLE_LIMIT:
            bucket.append(example)

    @property
    def service_5xx(self):
        """The service's JSON errors and its traps; not Pushpin's, hyper's or the hand-off's."""
        return self.fivexx["service"] + self.fivexx["trap"]


def source_of(target, answer):
    if answer.status is None:
        return "none"
    bare_500 = answer.status == 500 and "content-type" not in answer.headers
    if any(t in answer.body for t in TRAP_TEXTS) or (bare_500 and "server-timing" not in answer.headers):
        return "trap"
    if answer.headers.get("server-timing", "").startswith("kv;"):
        return "service"
    if answer.body.startswith(HANDOFF_TEXT):
        return "handoff"
    if target == "pushpin" or any(t in answer.body for t in PUSHPIN_TEXTS):
        return "pushpin"
    return "http"


def violations(target, spec, answer, source):
    """Oracle names this answer breaks (only the service's answers are judged)."""
    if source != "service" or spec.raw is not None:  # raw: the spec no longer says what was sent
        return []
    return _request_oracles(target, spec, answer) + _answer_oracles(target, answer)


def _request_oracles(target, spec, answer):
    """What the answer should have been, given what was asked."""
    found = []
    headers = {k.lower(): v for k, v in spec.headers}
    if target == "service" and spec.grip and spec.grip.valid is False and any(
            h.startswith("grip-") for h in answer.headers):
        found.append(f"bad Grip-Sig accepted ({spec.grip.kind})")
    posted = 200 <= answer.status < 300 and spec.method == b"POST"
    if posted and any(headers.get(k) == v for k, v in CROSS_SITE):
        found.append("cross-site POST stored")
    if posted and b'"id":' not in answer.body:
        found.append("2xx POST without the stored message")
    path = spec.target.split(b"?")[0]
    # The URL the service sees is built from Host and target: a bent Host or dot segments
    # may move the request off /rooms/, where HTML errors are right.
    plain_path = not DOT_SEGMENT.search(path) and not any(m.startswith("host:") for m in spec.mutations)
    if answer.status >= 400 and path.startswith(b"/rooms/") and plain_path and not (
            answer.headers.get("content-type", "").startswith("application/json")):
        found.append("API error not JSON")
    return found


def _answer_oracles(target, answer):
    """What every answer of the service should be, whatever was asked."""
    found = []
    if answer.headers.get("x-content-type-options", "").lower() != "nosniff":
        found.append("answer without nosniff")
    if answer.headers.get("content-type") == "text/event-stream" and not answer.stream:
        found += _sse_problems(answer)
    names = [n.strip().lower() for n in answer.raw_names]
    if target == "service" and len(set(names)) != len(names):  # Pushpin repeats Connection
        found.append("repeated answer header")
    return found


def _events(body):
    """(event, id, data) of each SSE frame in a complete body."""
    frames = []
    for block in body.decode("utf-8", "replace").split("\n\n"):
        fields = dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "")
                      for line in block.split("\n") if line)
        if fields:
            frames.append((fields.get("event", "message"), fields.get("id"), fields.get("data", "")))
    return frames


def _sse_problems(answer):
    frames = _events(answer.body)
    ids = [int(i) for e, i, _ in frames if e == "message" and i and i.isdigit()]
    numbered = [int(i) for e, i, _ in frames if e in ("message", "stream-reset") and i and i.isdigit()]
    last = numbered[-1] if numbered else None
    found = []
    if any(b != a + 1 for a, b in zip(ids, ids[1:])):
        found.append("SSE message ids not consecutive")
    if any(e == "message" and str(_json_id(data)) != i for e, i, data in frames):
        found.append("SSE message id differs from its JSON")
    prev = PREV_ID.search(answer.headers.get("grip-channel", ""))
    if prev and last is not None and int(prev.group(1)) != last:
        found.append("Grip-Channel prev-id is not the last id sent")
    link = LINK_LAST.search(answer.headers.get("grip-link", ""))
    if link and last is not None and int(link.group(1)) != last:
        found.append("Grip-Link lastEventId is not the last id sent")
    if any(e == "stream-error" for e, _, _ in frames) and "grip-hold" in answer.headers:
        found.append("stream held after stream-error")
    return found


def _json_id(data):
    try:
        return json.loads(data).get("id")
    except (ValueError, AttributeError):
        return None


def record(stats, spec, request, answer):
    """Counts one exchange into stats; returns its source."""
    stats.sent += 1
    stats.outcomes[answer.outcome] += 1
    source = source_of(stats.name, answer)
    example = lambda: Example(stats.name, spec.index, answer.status, answer.outcome, source,  # noqa: E731
                              spec.mutations, request, answer.body)
    if answer.status is not None:
        stats.statuses[answer.status] += 1
        stats.latencies.append(answer.latency)
        if answer.status >= 500:
            stats.fivexx[source] += 1
            stats.keep(f"5xx from {source}", example())
        if answer.latency > SLOW and not answer.stream:
            stats.keep("slow", example())
            stats.violations[f"slower than {SLOW:.0f} s"] += 1
    if answer.outcome in ("hang", "garbled", "truncated", "refused", "reset", "closed"):
        stats.keep(answer.outcome, example())
    for name in violations(stats.name, spec, answer, source):
        stats.violations[name] += 1
        stats.keep(name, example())
    return source


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def _status_groups(stats):
    groups = Counter()
    for status, n in stats.statuses.items():
        groups[f"{status // 100}xx"] += n
    return groups


def table(report):
    """The report's one table: a row per measure, a column per target."""
    cols = [t.name for t in report.targets]
    rows = [("requests sent", [t.sent for t in report.targets])]
    for group in ("1xx", "2xx", "3xx", "4xx", "5xx"):
        counts = [_status_groups(t)[group] for t in report.targets]
        if any(counts):
            rows.append((f"  {group}", counts))
    rows.append(("top codes", [" ".join(f"{s}:{n}" for s, n in t.statuses.most_common(6))
                               for t in report.targets]))
    rows.append(("5xx by source", [" ".join(f"{s}:{n}" for s, n in sorted(t.fivexx.items())) or "-"
                                   for t in report.targets]))
    rows.append(("service 5xx", [t.service_5xx for t in report.targets]))
    for outcome, label in (("hang", "hangs"), ("wait", "waits (short body, allowed)"),
                           ("h2", "HTTP/2 answers (h2c preface)"),
                           ("reset", "connection resets"), ("closed", "closed, no answer"),
                           ("truncated", "truncated answers"), ("garbled", "garbled answers"),
                           ("refused", "connect refused")):
        rows.append((label, [t.outcomes[outcome] for t in report.targets]))
    rows.append(("posts stored (2xx)", [t.stored for t in report.targets]))
    rows.append(("p50 / p99 / max (ms)", [_latency(t.latencies) for t in report.targets]))
    names = sorted({v for t in report.targets for v in t.violations})
    for name in names:
        rows.append((name, [t.violations[name] for t in report.targets]))
    panics = f"{report.panics.count} service, {report.panics.viceroy_count} Viceroy"
    rows.append(("panics (viceroy.log)", [panics] + [""] * (len(cols) - 1)))
    rows.append(("stored messages intact", [report.integrity.summary()] + [""] * (len(cols) - 1)))
    return _grid(["", *cols], [(label, *values) for label, values in rows])


def _latency(values):
    if not values:
        return "-"
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):.1f} / {percentile(ms, 99):.1f} / {max(ms):.0f}"


def _grid(header, rows):
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])
