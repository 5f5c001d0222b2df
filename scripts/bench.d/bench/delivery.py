"""Delivery latency: a message sent, then the time its `id:` line is read at every subscriber.

Paths (Targets) of one size are measured interleaved, message by message, each message sent
only once every subscriber of the previous one has it, so background load falls on all paths
alike and no message queues behind another.
"""

import asyncio
import contextlib
import datetime
import json
import os
import time
from collections import defaultdict

from .app import PAD, post_raw
from .http import AsyncClient, build_request
from .measure import CpuMeter, cpu_self, med
from .results import DeliveryRun, PathResult
from .sse import Hub, connect_subs

DELIVERY_TIMEOUT = 5.0  # per message: all subscribers must have it by then, or it is missing
GRACE = 1.0  # after a batch, how long stragglers may still arrive
# Pause after every subscriber has a message, before the next is sent, in both shaper modes.
# With the shaper on (message_rate set; handler/publishshaper.cpp, ratelimiter.cpp:
# MIN_BATCH_INTERVAL 25 ms whenever message_rate > 0) Pushpin sends the first batch at once
# but keeps a 25 ms timer running until one pass finds nothing: a message published within
# ~25 ms of the previous delivery waits for the next tick (measured: 1 subscriber, 5 ms apart
# -> ~26 ms instead of ~1 ms). 50 ms lets the timer stop, so each message's latency is its own.
# With the shaper off (Fanout's way) nothing is held and the pause changes no latency; it is
# kept so that both modes send at the same pace and their rows differ only by the shaper.
PACE_GAP = 0.05
SCENARIO_DEADLINE = 150  # seconds, any one delivery scenario (bounds every load loop in time)
WARMUP_TRIES = 5
WARMUP_TIMEOUT = 10


class Publisher:
    """Sends a path's messages, one POST each on one keep-alive connection. prime() says the
    id of the next message; send(ident) sends it and returns t0 (just before the write)."""

    def __init__(self, port, what):
        self.port, self.what = port, what
        self.c = AsyncClient(port)

    async def _post(self, raw):
        """-> (t0, body) of a POST that must answer 200."""
        t0, _, st, _, body = await self.c.send(raw)
        if st != 200:
            raise RuntimeError(f"{self.what} answered {st}: {body[:200]!r}")
        return t0, body


class AppPublisher(Publisher):
    """Posts to the app, which stores and publishes; the POST's answer says the id."""

    def __init__(self, stack, room_id):
        super().__init__(stack.port, "POST")
        self.room = room_id

    async def prime(self):
        c = AsyncClient(self.port)
        _, _, st, _, body = await c.send(build_request("GET", f"/rooms/{self.room}/messages/?limit=1", self.port))
        c.close()
        assert st == 200, body
        return int(json.loads(body)["last-event-id"]) + 1

    async def send(self, ident):
        t0, body = await self._post(post_raw(self.port, self.room, ident))
        got = json.loads(body)["id"]
        if got != ident:
            raise RuntimeError(f"expected id {ident}, the POST got {got} (someone else posting?)")
        return t0


class PushpinPublisher(Publisher):
    """Publishes the event the app would publish (same shape and size) to Pushpin directly."""

    def __init__(self, pp, channel):
        super().__init__(pp.publish_port, "publish")
        self.channel = channel

    async def prime(self):
        return 1  # a channel of its own

    async def send(self, ident):
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        data = json.dumps({"id": ident, "from": "bench", "date": date,
                           "text": f"bench message {ident} {PAD}"}, separators=(",", ":"))
        item = {"channel": self.channel, "id": str(ident),
                "formats": {"http-stream": {"content": f"event: message\nid: {ident}\ndata: {data}\n\n"}}}
        t0, _ = await self._post(build_request("POST", "/publish/", self.port, json.dumps({"items": [item]}).encode(),
                                               {"Content-Type": "application/json"}))
        return t0


class Target:
    """One delivery path under test: where its subscribers connect and how its messages are
    sent. Its results accumulate over repetitions in .res."""

    def __init__(self, kind, port, path, pushpin_route, publisher, connect=connect_subs):
        self.port, self.path, self._connect = port, path, connect
        self.pushpin_route, self.publisher = pushpin_route, publisher
        self.hub = Hub()
        self.ident = None
        self.sent_at = {}
        self.res = PathResult(kind)

    @property
    def n(self):
        return len(self.hub.subs)

    async def connect(self, n):
        self.res.wanted = n
        t = time.monotonic()
        failed = await self._connect(self.hub, n, self.port, self.path, self.pushpin_route)
        self.res.connect_s = time.monotonic() - t
        self.res.errors = failed[:3]

    async def warm_up(self):
        """A subscription is live once a message reaches it; until every subscriber has had
        one, measured messages could be lost to subscribe races, not to the system."""
        self.ident = await self.publisher.prime()
        for _ in range(WARMUP_TRIES):
            fut = self.hub.wait_all(self.ident, self.n)
            await self.publisher.send(self.ident)
            self.ident += 1
            try:
                await asyncio.wait_for(fut, WARMUP_TIMEOUT)
                self.res.warmup_ok = True
                break
            except asyncio.TimeoutError:
                continue
        for sub in self.hub.subs:
            sub.got.clear()
            sub.dups = 0

    async def one(self):
        """Sends one message and waits until every subscriber has it (or the timeout)."""
        c0 = cpu_self()
        fut = self.hub.wait_all(self.ident, self.n)
        self.sent_at[self.ident] = await self.publisher.send(self.ident)
        self.ident += 1
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(fut, DELIVERY_TIMEOUT)
        self.res.bench_cpu += cpu_self() - c0

    def pending(self):
        return any(self.hub.counts[i] < self.n for i in self.sent_at)

    def close_rep(self):
        """Folds one repetition's messages into the results."""
        lat, per_msg = [], defaultdict(list)
        for sub in self.hub.subs:
            for i, t0 in self.sent_at.items():
                t = sub.got.get(i)
                if t is None:
                    self.res.missing += 1
                else:
                    lat.append(t - t0)
                    per_msg[i].append(t - t0)
            self.res.dups += sub.dups
            sub.got.clear()
            sub.dups = 0
        self.res.sent += len(self.sent_at)
        self.res.lat.add(lat)
        self.res.first.append(med([min(v) for v in per_msg.values()]))
        self.res.spread.append(med([max(v) - min(v) for v in per_msg.values()]))
        self.hub.counts.clear()
        self.sent_at = {}

    def close(self):
        for sub in self.hub.subs:
            sub.close()

    def result(self):
        self.res.subs = self.n
        self.res.lost_conns = sum(sub.lost for sub in self.hub.subs)
        return self.res


async def delivery(n_subs, targets, reps, msgs, sessions):
    """n_subs subscribers on each target; then reps batches of msgs rounds. A round sends one
    message per target, one target at a time (rotating which goes first), each only when every
    subscriber of the previous one has it. -> DeliveryRun."""
    deadline = time.monotonic() + SCENARIO_DEADLINE
    try:
        for t in targets:
            await t.connect(n_subs)
        live = [t for t in targets if t.n]
        for t in live:
            await t.warm_up()
        load = os.getloadavg()[0]
        with CpuMeter(sessions) as cpu:
            for _ in range(reps):
                await rounds(live, msgs, deadline)
                if any(t.pending() for t in live):
                    await asyncio.sleep(GRACE)
                for t in live:
                    t.close_rep()
        return DeliveryRun({t.res.kind: t.result() for t in targets}, cpu, (load, os.getloadavg()[0]))
    finally:
        for t in targets:
            t.close()
        await asyncio.sleep(0.2)


async def rounds(live, msgs, deadline):
    for i in range(msgs):
        if time.monotonic() > deadline:
            return
        for t in live[i % len(live):] + live[:i % len(live)]:
            await t.one()
            await asyncio.sleep(PACE_GAP)
