"""KV round trips per request kind, at Viceroy's KV speed and at Fastly's (issue 20, item 1).

On Fastly each KV operation is a round trip to the store's primary, tens of milliseconds, so
what a user waits for is the number of *sequential* round trips on a request's critical path,
not the local milliseconds. Every response says both in `Server-Timing`: `kv;desc="N ops"`
and `kv-trips;desc="N round trips"` (a batch of concurrent operations counts once). This
scenario sends each kind of request a user's page (or Fanout, for the call-backs) makes and
reports, per kind, the client's p50/p99 beside those two counts, at each `kv_delay_ms` of
DELAYS_MS, with the hello-world floor (a) measured interleaved with the warm history GETs.

Each delay gets a fresh open-mode stack (and a passkey-mode one for sign-in): one room of
FAR_ROOM messages, written first by SEED_POSTERS concurrent posters (it must exist on the
stack under test, so at 30 ms its seeding takes as long as the room's append turn allows),
carries every kind but the cold GET, which reads rooms nobody has touched for COLD_PAUSE.
Call-backs (stream open, resume, recovery page) are sent straight to the service's port with
a valid Grip-Sig, as Pushpin sends them; stream open and resume are also measured through
Pushpin's port, to the first event the client gets.

Run alone with `scripts/bench --only round-trips`; a full run includes it. Nothing is asserted
on time; a kind that cannot be measured says why in its row.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import re
import socket
import statistics
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field

import stack as stackmod

from . import log
from .app import app_stack, post_raw, room
from .floors import hello_service
from .http import IO_TIMEOUT, READ_SIZE, ChunkDecoder, Client, build_request, is_chunked, parse_head
from .measure import kv_ops, pct
from .passkey import Person
from .results import PostConc
from .scenarios import concurrent_posts, interleaved_gets, newest_id
from .sse import sse_request
from .viceroy_log import ViceroyLog

DELAYS_MS = (0, 30)
FAR_BEHIND = 1000  # a resuming stream's Last-Event-ID is this far behind the head
FAR_ROOM = 1100  # messages in the measured room: more than FAR_BEHIND
SEED_POSTERS = 20  # concurrent posters filling it
COLD_MESSAGES = 60  # per cold room: more than the 50 a history GET returns
COLD_PAUSE = 5.5  # s between a cold room's last write and its GET: past a POP's short cache
RECOVERY_GAP = 10  # a recovery page's Grip-Last is this far behind the head
PRESENCE_PEOPLE = 10  # names taking turns at heartbeats (their joins go untimed)
WARM = 5  # untimed requests of a kind before it is measured
GRIP_TOKEN_SECS = 3600
# A reaction to a message this many posts back: each round is a post and a reaction (two ids),
# so its target is 2 × 24 = 48 entries back, in 49 windows: close to the most a reaction rewrites.
REACT_BACK = 24

SERVER_TIMING_TRIPS = re.compile(r'kv-trips;desc="(\d+) round trips?"')

# key -> what the table calls it, in table order
KINDS = {
    "floor": "hello-world GET (floor a), interleaved with the next",
    "get_warm": "history GET (warm): 50 newest, the same room",
    "get_cold": f"history GET (cold): a room each, idle > {COLD_PAUSE:g} s",
    "post": "POST a message, sequential, one room",
    "react_newest": "reaction to the message just posted",
    "react_back": f"reaction to a message {2 * REACT_BACK} entries back",
    "presence": f"presence heartbeat, {PRESENCE_PEOPLE} people in the room",
    "open_pushpin": "stream open via Pushpin (to its first event)",
    "open_callback": "stream open: Fanout's call-back (signed)",
    "resume_pushpin": f"resume {FAR_BEHIND:,} behind via Pushpin (to 1st message)",
    "resume_callback": f"resume {FAR_BEHIND:,} behind: call-back (its page)",
    "recovery": f"recovery page: call-back, Grip-Last {RECOVERY_GAP} behind",
    "signin_options": "sign-in (passkey mode): login options",
    "signin_verify": "sign-in (passkey mode): login verify",
}


@dataclass
class Kind:
    """One kind of request at one delay: latencies (s) and per-request KV figures."""
    lat: list = field(default_factory=list)
    ops: list = field(default_factory=list)
    trips: list = field(default_factory=list)
    status: Counter = field(default_factory=Counter)
    warm_status: Counter = field(default_factory=Counter)  # of the untimed requests before
    why: str = ""  # why it was not measured

    def add(self, dt, status, headers):
        self.lat.append(dt)
        self.status[status] += 1
        ops, trips = kv_ops(headers)[0], kv_trips(headers)
        if ops is not None:
            self.ops.append(ops)
        if trips is not None:
            self.trips.append(trips)


@dataclass
class AtDelay:
    delay_ms: int
    kinds: dict = field(default_factory=dict)  # key of KINDS -> Kind
    seed_secs: float = float("nan")  # filling the measured room
    seed_accepted: int = 0
    seed_status: dict = field(default_factory=dict)  # the filling posts' statuses
    head: int = 0  # the measured room's newest id once filled and posted to
    accepted: int = 0  # posts answered 200 in it (filling, then the POST kind's): its head should be this


def kv_trips(headers):
    m = SERVER_TIMING_TRIPS.search(headers.get("server-timing", ""))
    return int(m.group(1)) if m else None


def grip_token():
    """A Grip-Sig as Pushpin signs it (HS256 JWT with the stack's issuer and key)."""
    iss, key = stackmod.grip_signing(tomllib.loads(stackmod.MANIFEST.read_text()))

    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=")
    signed = b64(b'{"alg":"HS256","typ":"JWT"}') + b"." + b64(
        json.dumps({"iss": iss, "exp": int(time.time()) + GRIP_TOKEN_SECS}).encode())
    return (signed + b"." + b64(hmac.new(key.encode(), signed, hashlib.sha256).digest())).decode()


# ------------------------------------------------------------------ request loops

def sequential(port, raws, warm=WARM, *, kind):
    """Each request of raws (an iterable of bytes) on one keep-alive connection, the first
    `warm` untimed; the rest into kind."""
    c = Client(port)
    try:
        for i, raw in enumerate(raws):
            dt, st, hd, _ = c.send(raw)
            if i >= warm:
                kind.add(dt, st, hd)
            else:
                kind.warm_status[st] += 1
    finally:
        c.close()


def first_event(port, raw, marker):
    """A new connection sends raw (a held SSE request) -> (seconds to the end of the first
    event whose text contains marker, status, headers); a non-200 answer ends at its head."""
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT) as sock:
        sock.sendall(raw)
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = sock.recv(READ_SIZE)
            if not data:
                raise ConnectionError("closed before the response head")
            buf += data
        head, rest = buf.split(b"\r\n\r\n", 1)
        status, headers = parse_head(head)
        dec = ChunkDecoder() if is_chunked(headers) else None
        text = (dec.feed(rest) if dec and rest else rest).decode("utf-8", "replace")
        while status == 200 and not any(marker in e for e in text.split("\n\n")[:-1]):
            data = sock.recv(READ_SIZE)
            if not data:
                raise ConnectionError("stream closed before the event")
            text += (dec.feed(data) if dec else data).decode("utf-8", "replace")
        return time.perf_counter() - t0, status, headers


def held_opens(port, raw, marker, n, *, kind):
    """n + WARM streams opened one after another, each closed at its first such event."""
    for i in range(n + WARM):
        dt, st, hd = first_event(port, raw, marker)
        if i >= WARM:
            kind.add(dt, st, hd)
        else:
            kind.warm_status[st] += 1


def measured(row, key, fn, *args, **kw):
    """fn(*args, **kw, kind=row.kinds[key]): one kind's measurement; a failure is written in
    its row."""
    kind = row.kinds.setdefault(key, Kind())
    try:
        fn(*args, **kw, kind=kind)
    except Exception as e:  # noqa: BLE001  (the row says what went wrong; the run goes on)
        kind.why = f"not measured: {type(e).__name__}: {e}"[:120]


# ------------------------------------------------------------------ one stack per delay

def round_trips(sc):
    """-> [AtDelay] for each of DELAYS_MS (sc: scenarios.Scenarios, for params and workdir)."""
    n = sc.p.round_trips_n
    rows = []
    with hello_service(sc.workdir) as (hport, _, _):
        for delay in DELAYS_MS:
            row = AtDelay(delay)
            config = {"kv_delay_ms": str(delay)}
            log(f"bench: round trips at {delay} ms per KV operation: filling a room of {FAR_ROOM:,} "
                f"({SEED_POSTERS} posters), then {len(KINDS) - 1} kinds × {n}")
            with app_stack(ViceroyLog(), sc.keep, config=config) as s:
                open_mode(s, hport, row, n, sc.p.round_trips_cold)
            with app_stack(ViceroyLog(), sc.keep, config={"auth_mode": "passkey", **config}) as s:
                measured(row, "signin_options", sign_in, s.port, n, row)
            rows.append(row)
    return rows


def open_mode(s, hport, row, n, cold_n):
    port, r = s.port, room("trips")
    token = grip_token()
    t0 = time.perf_counter()
    seed = PostConc(n=FAR_ROOM)
    asyncio.run(concurrent_posts(port, [r] * SEED_POSTERS, FAR_ROOM // SEED_POSTERS, seed))
    row.seed_secs, row.seed_accepted = time.perf_counter() - t0, seed.status[200]
    row.seed_status = dict(seed.status)
    cold = [room("trips-cold") for _ in range(cold_n)]
    asyncio.run(concurrent_posts(port, cold, COLD_MESSAGES, PostConc(n=cold_n * COLD_MESSAGES)))
    cold_written = time.monotonic()

    history = f"/rooms/{r}/messages/"
    measured(row, "get_warm", warm_history, port, hport, history, n, row)
    measured(row, "post", sequential, port, (post_raw(port, r, i) for i in range(n + WARM)))
    posts = row.kinds["post"]
    row.accepted = row.seed_accepted + posts.status[200] + posts.warm_status[200]
    measured(row, "presence", sequential, port, presence_raws(port, r, n), warm=PRESENCE_PEOPLE)
    for key, back in (("react_newest", 0), ("react_back", REACT_BACK)):
        measured(row, key, reactions, port, room(f"trips-{key}"), n, back)
    events = f"/rooms/{r}/events/"
    measured(row, "open_pushpin", held_opens, s.pushpin_port, sse_request(s.pushpin_port, events, True),
             "event: stream-open", n)
    signed = {"Grip-Sig": token, "Accept": "text/event-stream"}
    measured(row, "open_callback", sequential, port, [build_request("GET", events, port, b"", signed)] * (n + WARM))
    row.head = newest_id(port, r)
    behind = {"Last-Event-ID": str(row.head - FAR_BEHIND)}
    measured(row, "resume_pushpin", held_opens, s.pushpin_port,
             sse_request(s.pushpin_port, events, True, behind), f"id: {row.head - FAR_BEHIND + 1}\n", n)
    measured(row, "resume_callback", sequential, port,
             [build_request("GET", events, port, b"", {**signed, **behind})] * (n + WARM))
    recovery = {**signed, "Grip-Last": f"room-{r}; last-id={row.head - RECOVERY_GAP}"}
    measured(row, "recovery", sequential, port,
             [build_request("GET", events + "?link=next&recover=true", port, b"", recovery)] * (n + WARM))
    time.sleep(max(0.0, cold_written + COLD_PAUSE - time.monotonic()))
    measured(row, "get_cold", sequential, port,
             [build_request("GET", f"/rooms/{c}/messages/", port) for c in cold], warm=0)


def warm_history(port, hport, path, n, row, *, kind):
    """History GETs of one room interleaved with floor (a), after WARM untimed ones."""
    interleaved_gets((hport, "/"), (port, path), WARM)
    lat, resps = interleaved_gets((hport, "/"), (port, path), n)
    floor = row.kinds.setdefault("floor", Kind())
    for dt, (st, hd, _) in zip(lat["a"], resps["a"]):
        floor.add(dt, st, hd)
    for dt, (st, hd, _) in zip(lat["b"], resps["b"]):
        kind.add(dt, st, hd)


def reactions(port, r, n, back, *, kind):
    """Rounds of an untimed post and a timed 👍 on the message posted `back` rounds before (its
    first `back` + WARM rounds untimed): each reaction is new, so each appends an event and
    rewrites the windows holding its message (src/store/reactions.rs)."""
    c, ids = Client(port), []
    try:
        for i in range(back + n + WARM):
            _, st, _, bd = c.send(post_raw(port, r, i))
            if st != 200:
                raise RuntimeError(f"a post before a reaction answered {st}: {bd[:200]!r}")
            ids.append(json.loads(bd)["id"])
            if i < back:
                continue
            body = json.dumps({"emoji": "👍", "from": "bench"}).encode()
            raw = build_request("POST", f"/rooms/{r}/messages/{ids[-1 - back]}/reactions/", port, body,
                                {"Content-Type": "application/json"})
            dt, st, hd, _ = c.send(raw)
            if i >= back + WARM:
                kind.add(dt, st, hd)
            else:
                kind.warm_status[st] += 1
    finally:
        c.close()


def presence_raws(port, r, n):
    """Every person's first heartbeat (a join), then n heartbeats taking turns."""
    for i in range(PRESENCE_PEOPLE + n):
        body = json.dumps({"from": f"person{i % PRESENCE_PEOPLE}", "state": "here"}).encode()
        yield build_request("POST", f"/rooms/{r}/presence/", port, body, {"Content-Type": "application/json"})


def sign_in(port, n, row, *, kind):
    """A person signs up once, then signs in n times (after WARM): login options, then verify
    with tests/softauthn.py as the authenticator."""
    verify = row.kinds.setdefault("signin_verify", Kind())
    person = Person(port)
    try:
        person.sign_up()
        for i in range(n + WARM):
            dt, st, hd, bd = person.call("POST", "/auth/login/options", {})
            if st != 200:
                raise RuntimeError(f"login options answered {st}: {bd[:200]!r}")
            response = person.authenticator.assert_(json.loads(bd))
            dt2, st2, hd2, _ = person.call("POST", "/auth/login/verify", response)
            if i >= WARM:
                kind.add(dt, st, hd)
                verify.add(dt2, st2, hd2)
            else:
                kind.warm_status[st] += 1
                verify.warm_status[st2] += 1
    finally:
        person.close()


# ------------------------------------------------------------------ the table

def report(w, rows, params):
    """The rows as one table, a column group per delay; w: a line writer."""
    if not rows:
        return
    w("KV ROUND TRIPS PER REQUEST KIND (issue 20): client ms (write → last byte; via Pushpin: connect → the "
      "event named); KV ops and")
    w("  round trips per request from Server-Timing (`kv`, `kv-trips`: sequential KV waits on the critical path), "
      "median (max);")
    w(f"  one repetition: a fresh open-mode stack (passkey mode for sign-in) per kv_delay_ms, its room "
      f"{FAR_ROOM:,} messages long")
    w((f"  {'':<52}" + "".join(f" | {'kv_delay_ms = ' + str(r.delay_ms):<41}" for r in rows)).rstrip())
    w(f"  {'request kind':<52}" + "".join(f" | {'n':>5} {'p50':>7} {'p99':>7} {'KV ops':>9} {'trips':>9}"
                                          for _ in rows))
    for key, label in KINDS.items():
        cells, notes = [], []
        for r in rows:
            k = r.kinds.get(key)
            cells.append(cell(k))
            if k and any(not 200 <= s < 300 for s in k.status + k.warm_status):
                notes.append(f"{r.delay_ms} ms: statuses {dict(k.status)}, untimed {dict(k.warm_status)}")
            if k and k.why:
                notes.append(f"{r.delay_ms} ms: {k.why}")
        w(f"  {label:<52}" + "".join(cells) + (f"  {'; '.join(notes)}" if notes else ""))
    for r in rows:
        rate = r.seed_accepted / r.seed_secs if r.seed_secs == r.seed_secs and r.seed_secs else float("nan")
        w(f"  kv_delay_ms={r.delay_ms}: room filled by {SEED_POSTERS} concurrent posters, {r.seed_accepted:,} "
          f"of {FAR_ROOM - FAR_ROOM % SEED_POSTERS:,} accepted in {r.seed_secs:.1f} s ({rate:.0f} posts/s"
          f"{'' if set(r.seed_status) <= {200} else f'; statuses {r.seed_status}'}); "
          f"head afterwards {r.head:,}, posts accepted {r.accepted:,}"
          f"{'' if r.head == r.accepted else ': IDS DO NOT MATCH THE ACCEPTED POSTS'}")
    w(f"  (n: measured requests per kind after {WARM} untimed; {params.round_trips_cold} cold rooms of "
      f"{COLD_MESSAGES} messages; presence joins untimed)")
    w("")


def cell(k):
    if k is None or not k.lat:
        return f" | {'—':>5} {'—':>7} {'—':>7} {'—':>9} {'—':>9}"
    p50, p99 = pct(k.lat, 50) * 1000, pct(k.lat, 99) * 1000
    return f" | {len(k.lat):>5} {p50:>7.1f} {p99:>7.1f} {spread(k.ops):>9} {spread(k.trips):>9}"


def spread(values):
    """'median' when every request agrees, else 'median (max)'; '?' without the header."""
    if not values:
        return "—"
    m, top = statistics.median(values), max(values)
    m = f"{m:g}"
    return m if float(m) == top else f"{m} ({top})"
