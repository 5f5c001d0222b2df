"""SSE subscribers for the delivery scenarios: up to a thousand per path on one asyncio loop.

Each is an asyncio Protocol on a raw socket, with callbacks rather than a task each, which is
cheaper: data_received takes the timestamp first thing, then de-chunks (http.ChunkDecoder)
and scans complete lines for `id: <n>`. A Hub counts, per id, how many subscribers have it,
so a sender can wait until all of them do.
"""

import asyncio
import time
from collections import Counter

from .http import IO_TIMEOUT, ChunkDecoder, build_request, is_chunked, parse_head


class Hub:
    """What all subscribers of one path received: per id, how many have it."""

    def __init__(self):
        self.subs = []
        self.counts = Counter()
        self.waiters = {}  # id -> (needed count, future)

    def record(self, sub, ident, t):
        if ident in sub.got:
            sub.dups += 1
            return
        sub.got[ident] = t
        self.counts[ident] += 1
        w = self.waiters.get(ident)
        if w and self.counts[ident] >= w[0] and not w[1].done():
            w[1].set_result(None)

    def wait_all(self, ident, n):
        """A future done once n subscribers have message ident."""
        fut = asyncio.get_running_loop().create_future()
        if self.counts[ident] >= n:
            fut.set_result(None)
        self.waiters[ident] = (n, fut)
        return fut


class Sub(asyncio.Protocol):
    """One SSE subscriber: got maps each id to the time its line arrived."""

    def __init__(self, hub, request):
        self.hub, self.request = hub, request
        self.head = b""
        self.status = None
        self.headers = {}
        self.head_done = asyncio.get_running_loop().create_future()
        self.decoder = None  # a ChunkDecoder when the stream is chunked
        self.text = b""  # an incomplete last line
        self.got = {}
        self.dups = 0
        self.lost = False
        self.tr = None

    def connection_made(self, tr):
        self.tr = tr
        tr.write(self.request)

    def data_received(self, data):
        t = time.perf_counter()
        if self.status is None:
            data = self._head(data)
            if not data:
                return
        self._payload(data, t)

    def _payload(self, data, t):
        """The bytes after the head, read at t: SSE lines (ws.WsSub reads frames)."""
        payload = self.decoder.feed(data) if self.decoder else data
        if not payload:
            return
        text = self.text + payload
        j = text.rfind(b"\n")
        if j < 0:
            self.text = text
            return
        self.text = text[j + 1:]
        for line in text[:j].split(b"\n"):
            if line.startswith(b"id:"):
                v = line[3:].strip()
                if v.isdigit():
                    self.hub.record(self, int(v), t)

    def _head(self, data):
        """Collects the response head; -> the bytes after it (None while incomplete)."""
        self.head += data
        i = self.head.find(b"\r\n\r\n")
        if i < 0:
            return None
        self.status, self.headers = parse_head(self.head[:i])
        self.decoder = ChunkDecoder() if is_chunked(self.headers) else None
        rest, self.head = self.head[i + 4:], b""
        if not self.head_done.done():
            self.head_done.set_result(self.status)
        return rest

    def connection_lost(self, exc):
        self.lost = True
        if not self.head_done.done():
            self.head_done.set_exception(ConnectionError(f"closed before response: {exc}"))

    def close(self):
        if self.tr is not None:
            self.tr.close()


def sse_request(port, path, pushpin_route=False, headers=None):
    h = {"Accept": "text/event-stream", **(headers or {})}
    if pushpin_route:
        h["Pushpin-Route"] = "self"  # what Fanout in front would do: straight to the route
    return build_request("GET", path, port, b"", h)


async def subscribe(hub, port, raw, kind=None):
    """One subscriber (a Sub, or `kind`) connected and its response head read; -> it
    (status in .status)."""
    sub = (kind or Sub)(hub, raw)
    try:
        await asyncio.get_running_loop().create_connection(lambda: sub, "127.0.0.1", port)
        await asyncio.wait_for(sub.head_done, IO_TIMEOUT)
    except BaseException:
        sub.close()
        raise
    return sub


async def connect_subs(hub, n, port, path, pushpin_route, parallel=50, kind=None,
                       request=sse_request, status=200):
    """n subscribers (Subs, or `kind` built with `request`), at most `parallel` connecting
    at once; those answered `status` join the hub. -> the errors of those that did not."""
    sem = asyncio.Semaphore(parallel)
    raw = request(port, path, pushpin_route)
    failed = []

    async def one():
        async with sem:
            try:
                sub = await subscribe(hub, port, raw, kind)
            except (OSError, asyncio.TimeoutError, ConnectionError) as e:
                failed.append(repr(e))
                return
            if sub.status != status:
                sub.close()
                failed.append(repr(ConnectionError(f"status {sub.status}")))
                return
            hub.subs.append(sub)

    await asyncio.gather(*(one() for _ in range(n)))
    return failed
