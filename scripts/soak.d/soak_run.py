"""One soak run: a fresh local stack, subscribers, posters, the faults on a timetable, then
the verdict.

Timeline (D = messages / rate, the posting time): every subscriber opens its stream first;
posting starts; Pushpin is stopped at pushpin_at x D for pushpin_stop_secs and started again;
the publish API answers 503 from outage_at x D for outage_secs. Both faults must end at least
a second before posting does: the first publish after a fault is what lets Pushpin see the gap
(prev-id) and fetch the missed messages, so a fault at the very end would test nothing. The run
has settled when the last fault has ended and the last post was answered; every subscriber
then has `deadline` seconds to hold every accepted message of its room. History is read last.

Recovery page fetches are counted in Viceroy's log (viceroy.log in the stack dir): it logs
every request the service handles as `request{id=N}: handling request GET <url>` and its
answer as `request{id=N}: response status: <code>`; a recovery page is a GET whose query has
`link=next` (the service's Grip-Link URLs; clients never send it), and it counts once the
service answered it. Viceroy runs for the whole soak, so its log spans the Pushpin restart.
This counts what the service did, not what Pushpin asked for per subscriber: Pushpin shares
one fetch among sessions whose next links have the same path and Grip-Last (its handler log,
pushpin-logs/pushpin-handler.log, has a `GET ...link=next... route=self` line per session,
e.g. 1,000 lines for 13 fetches).
"""

import asyncio
import gc
import json
import random
import re
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from soak_faults import PUBLISH_OUTAGE, PUSHPIN_RESTART, PublishProxy, pushpin_restart
from soak_load import Poster, Subscriber
from soak_result import Observed, judge
from soak_wire import Client, WireError
from stack import Stack, free_port

OPEN_TIMEOUT = 30.0  # for every subscriber's first stream-open before posting starts
POSTING_SLACK = 60.0  # how far posting may overrun its timetable before it is cut off
GRACE = 2.0  # after the last subscriber completes: late duplicates still count
# Pushpin re-fetches a new hold's recovery link (`recover=true`) about a second after it
# starts and delays publishes to it meanwhile: a one-off of subscribing, kept out of the
# posting by waiting this long after the last stream-open.
QUIET_BEFORE_POSTING = 2.0
FAULT_TAIL = 1.0  # posting continues at least this long after the last fault
HISTORY_PAGE = 100
STOP_TIMEOUT = 10.0  # for the subscribers to end once told to
LINK_REQUEST = re.compile(r"request\{id=(\d+)\}: handling request GET (\S+)")
LINK_STATUS = re.compile(r"request\{id=(\d+)\}: response status: (\d+)")
# Pushpin's runner, when one of its parts dies: it then stops the rest.
PUSHPIN_CRASH = re.compile(r"^\[ERR\] (\S+ \S+) (\S+): Exited unexpectedly")


@dataclass(frozen=True)
class Params:
    posters: int = 20
    messages: int = 250  # per poster
    rooms: int = 1  # poster p posts to room p mod rooms; subscribers are spread the same way
    subscribers: int = 200
    rate: float = 8.0  # messages per second per poster
    faults: bool = True
    pushpin_stop_secs: float = 2.0
    pushpin_at: float = 0.3  # fraction of the posting time
    outage_secs: float = 10.0
    outage_at: float = 0.5
    deadline: float = 30.0  # seconds after settling for every subscriber to be complete
    recovery_margin: float = 5.0  # after a fault, posts still excluded from delivery latency
    seed: int = 1
    keep: bool = False  # keep the stack dir (logs)
    kv_delay_ms: int = 0  # Fastly's KV latency on the local stack (config kv_delay_ms)

    @property
    def posting_secs(self):
        return self.messages / self.rate

    def fault_plan(self):
        """[(name, start, length)] in seconds after posting starts."""
        if not self.faults:
            return []
        d = self.posting_secs
        return [(PUSHPIN_RESTART, self.pushpin_at * d, self.pushpin_stop_secs),
                (PUBLISH_OUTAGE, self.outage_at * d, self.outage_secs)]

    def check(self):
        if min(self.posters, self.messages, self.rooms, self.subscribers) < 1 or self.rate <= 0:
            raise ValueError("posters, messages, rooms, subscribers and rate must be positive")
        if self.rooms > self.posters or self.rooms > self.subscribers:
            raise ValueError("every room needs a poster and a subscriber: rooms <= posters, subscribers")
        plan = sorted(self.fault_plan(), key=lambda f: f[1])
        for (name, start, length), later in zip(plan, plan[1:] + [None]):
            end = start + length
            if later is not None and end + FAULT_TAIL > later[1]:
                raise ValueError(f"{name} ends at {end:.1f} s, too close to {later[0]} at {later[1]:.1f} s")
            if end + FAULT_TAIL > self.posting_secs:
                raise ValueError(f"{name} ends at {end:.1f} s but posting ends at {self.posting_secs:.1f} s: "
                                 f"post longer (--messages/--rate) or make the fault shorter")


def log(*parts):
    print("soak:", *parts, file=sys.stderr, flush=True)


def run_soak(wasm, params, label=None):
    """Runs one soak on its own fresh stack and returns its soak_result.Result."""
    params.check()
    proxy_port = free_port()
    # Open mode: the soak drives the Django contract (anyone posts with `from`).
    stack = Stack(wasm, publish_url=f"http://127.0.0.1:{proxy_port}/", keep_dir=params.keep,
                  config={"auth_mode": "open", "kv_delay_ms": str(params.kv_delay_ms)})
    t0, cpu0 = time.perf_counter(), _cpu()
    # Cyclic GC pauses would show up as delivery latency; the run allocates few cycles.
    gc.disable()
    try:
        stack.start()
        log(f"stack up at {stack.url} (dir {stack.dir})")
        seen, start = asyncio.run(_soak(stack, proxy_port, params))
        seen.links = count_link_fetches(stack.dir / "viceroy.log")
        seen.crashes = pushpin_crashes(stack.dir / "pushpin.log", seen.wall_start)
        stack_dir = str(stack.dir) if params.keep else None
    finally:
        gc.enable()
        stack.stop()
    result = judge(label or f"{params.rooms} room{'s' if params.rooms > 1 else ''}", params, seen, start)
    result.wall, result.cpu, result.stack_dir = time.perf_counter() - t0, _cpu() - cpu0, stack_dir
    return result


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _soak(stack, proxy_port, p):
    proxy = PublishProxy(proxy_port, stack.publish_port)
    await proxy.start()
    try:
        return await _soak_through(stack, proxy, p)
    finally:
        await proxy.close()


async def _soak_through(stack, proxy, p):
    """The run itself, with the publish proxy serving: (Observed, posting start)."""
    rng = random.Random(p.seed)
    rooms = [f"soak-{n}" for n in range(p.rooms)]
    content = {room: {} for room in rooms}
    subs = [Subscriber(rooms[i % p.rooms], stack.port, content[rooms[i % p.rooms]],
                       random.Random(rng.random())) for i in range(p.subscribers)]
    tasks = [asyncio.create_task(s.run()) for s in subs]
    try:
        await _wait_open(subs)
        posters = [Poster(i, rooms[i % p.rooms], stack.port, random.Random(rng.random()))
                   for i in range(p.posters)]
        start, windows = await _post_with_faults(stack, proxy, posters, p)
        settled = max([w.end for w in windows] + [x.done_at for x in posters])
        deadline_at = settled + p.deadline
        log(f"settled {settled - start:.1f} s after posting began; waiting up to {p.deadline:g} s "
            "for every subscriber")
        if await _wait_complete(subs, posters, deadline_at):
            await asyncio.sleep(GRACE)
    finally:
        await _stop_all(subs, tasks)
    history = {room: await fetch_history(stack.port, room, p.posters * p.messages) for room in rooms}
    publishes = {"forwarded": proxy.forwarded, "refused": proxy.refused, "failed": proxy.failed}
    seen = Observed(p.posters * p.messages, posters, subs, content, windows, settled, deadline_at,
                    history, publishes, wall_start=time.time() - (time.perf_counter() - start))
    return seen, start


async def _stop_all(subs, tasks):
    for s, t in zip(subs, tasks):
        s.stop()
        t.cancel()
    _, running = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
    if running:
        log(f"{len(running)} subscribers did not stop within {STOP_TIMEOUT:g} s; left to the loop's end")


async def _wait_open(subs):
    try:
        await asyncio.wait_for(asyncio.gather(*(s.opened.wait() for s in subs)), OPEN_TIMEOUT)
        log(f"{len(subs)} subscribers streaming")
    except asyncio.TimeoutError:
        log(f"only {sum(s.opened.is_set() for s in subs)} of {len(subs)} subscribers streaming "
            f"after {OPEN_TIMEOUT:.0f} s; the rest keep trying")


async def _post_with_faults(stack, proxy, posters, p):
    """Posts on the timetable while the faults happen; returns (start, fault windows)."""
    start = time.perf_counter() + QUIET_BEFORE_POSTING
    stagger = 1 / (p.rate * len(posters))  # spreads posters evenly over each 1/rate
    jobs = [x.run(start + i * stagger, p.messages, p.rate) for i, x in enumerate(posters)]
    faults = [pushpin_restart(stack, start + at, secs) if name == PUSHPIN_RESTART
              else proxy.outage(start + at, secs) for name, at, secs in p.fault_plan()]
    log(f"posting {p.posters} x {p.messages} at {p.rate:g}/s each for {p.posting_secs:.1f} s; "
        + ("; ".join(f"{n} at {at:.1f} s for {s:g} s" for n, at, s in p.fault_plan()) or "no faults"))
    try:
        *_, windows = await asyncio.wait_for(
            asyncio.gather(asyncio.gather(*jobs), asyncio.gather(*faults)),
            p.posting_secs + POSTING_SLACK)
    except asyncio.TimeoutError:
        raise RuntimeError(f"posting overran its {p.posting_secs:.0f} s timetable by "
                           f"{POSTING_SLACK:.0f} s: is the service answering?") from None
    return start, windows


async def _wait_complete(subs, posters, deadline_at):
    """Waits until every subscriber holds every accepted message of its room (True) or the
    deadline passes (False)."""
    ids = {}
    for poster in posters:
        ids.setdefault(poster.room, []).extend(x.message["id"] for x in poster.accepted)
    waiting = list(subs)
    while waiting and time.perf_counter() < deadline_at:
        waiting = [s for s in waiting if not s.has_all(ids.get(s.room, []))]
        await asyncio.sleep(0.25)
    log(f"{len(subs) - len(waiting)} of {len(subs)} subscribers complete")
    return not waiting


async def fetch_history(port, room, most):
    """(messages, pages, error) of a room, read newest first a page at a time through
    `before`, as the chat page's "load older" does."""
    client, messages, before, pages = Client(port), [], None, 0
    try:
        while pages <= most // HISTORY_PAGE + 2:
            path = f"/rooms/{room}/messages/?limit={HISTORY_PAGE}" + (f"&before={before}" if before else "")
            resp, _ = await client.request("GET", path)
            pages += 1
            if resp.status != 200:
                return None, pages, f"GET {path} answered {resp.status}"
            page = json.loads(resp.body)["messages"]
            if not page:
                return messages, pages, ""
            messages += page
            before = min(m["id"] for m in page)
        return messages, pages, ""
    except (OSError, asyncio.TimeoutError, WireError, ValueError, KeyError) as e:
        return None, pages, f"history read failed: {e!r}"
    finally:
        client.close()


def count_link_fetches(viceroy_log):
    """status -> number of recovery link requests the service answered (see the module doc)."""
    links, answered = set(), Counter()
    with open(viceroy_log, errors="replace") as f:
        for line in f:
            if "link=next" in line and (m := LINK_REQUEST.search(line)):
                if parse_qs(urlsplit(m[2]).query).get("link") == ["next"]:
                    links.add(m[1])
            elif "response status" in line and (m := LINK_STATUS.search(line)) and m[1] in links:
                answered[m[2]] += 1
    return answered


def pushpin_crashes(pushpin_log, wall_start):
    """[(part, seconds after posting began)] for every Pushpin part that died on its own (a
    crash of the local Fanout is no verdict on the service, so the table names it)."""
    crashes = []
    with open(pushpin_log, errors="replace") as f:
        for line in f:
            if m := PUSHPIN_CRASH.match(line):
                when = time.mktime(time.strptime(m[1][:19], "%Y-%m-%d %H:%M:%S")) + float("0" + m[1][19:])
                crashes.append((m[2], when - wall_start))
    return crashes
