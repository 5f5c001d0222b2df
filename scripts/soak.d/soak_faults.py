"""The soak's two faults: Pushpin (the local Fanout) stopped and restarted, and the publish
API answering 503.

The publish outage needs something between the service and Pushpin's publish port that can
refuse on cue: PublishProxy, a small HTTP server in the soak's own event loop. The stack is
started with its publish_url pointing here; each publish is forwarded to Pushpin on a fresh
connection (a kept-alive one would outlive a Pushpin restart and fail the first publish
after it, a fault nobody scheduled) and, during the outage, answered 503 with Retry-After
as an overloaded API would.
"""

import asyncio
import time
from dataclasses import dataclass

from soak_wire import HOST, IO_TIMEOUT, Client, WireError, parse_head, read_body, read_head, sleep_until

PUSHPIN_RESTART, PUBLISH_OUTAGE = "Pushpin restart", "publish 503"  # the faults' names
IDLE_TIMEOUT = 60.0  # a kept-alive connection from the service with no request for this long


@dataclass
class Window:
    """A fault as it happened: perf_counter times from its start to its end."""

    name: str
    start: float
    end: float


class PublishProxy:
    """Forwards the service's publishes to Pushpin, or refuses them while `refusing`."""

    def __init__(self, port, upstream_port):
        self.port, self.upstream_port = port, upstream_port
        self.refusing = False
        self.forwarded = self.refused = self.failed = 0  # failed: Pushpin unreachable
        self.server = None

    async def start(self):
        self.server = await asyncio.start_server(self._serve, HOST, self.port)

    async def close(self):
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader, writer):
        try:
            while head := await asyncio.wait_for(read_head(reader), IDLE_TIMEOUT):
                (method, path, *_), headers = parse_head(head)
                body = await asyncio.wait_for(read_body(reader, headers), IO_TIMEOUT)
                writer.write(await self._answer(method, path, headers, body))
                await writer.drain()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, WireError, ValueError):
            pass  # the service's connection went away or idled out: it reconnects
        finally:
            writer.close()

    async def _answer(self, method, path, headers, body):
        if self.refusing:
            self.refused += 1
            return _response(503, b'{"msg":"soak: publish outage"}', {"Retry-After": "1"})
        upstream = Client(self.upstream_port)
        try:
            resp, _ = await upstream.request(method, path, body, {
                "Content-Type": headers.get("content-type", "application/json"),
                "Connection": "close"})
        except (OSError, asyncio.TimeoutError, WireError) as e:
            self.failed += 1
            return _response(502, f"soak proxy: Pushpin unreachable: {e!r}".encode())
        finally:
            upstream.close()
        self.forwarded += 1
        return _response(resp.status, resp.body)

    async def outage(self, at, secs):
        """Refuses every publish for secs from perf_counter time `at`."""
        await sleep_until(at)
        start = time.perf_counter()
        self.refusing = True
        try:
            await asyncio.sleep(secs)
        finally:
            self.refusing = False
        return Window(PUBLISH_OUTAGE, start, time.perf_counter())


def _response(status, body, headers=None):
    lines = [f"HTTP/1.1 {status} Soak", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def pushpin_restart(stack, at, secs):
    """Stops Pushpin at perf_counter time `at`, waits secs, starts it again. The window
    runs until the restarted Pushpin is ready. Stack's calls block, so they run in a
    thread: the subscribers' event loop keeps reading meanwhile."""
    await sleep_until(at)
    start = time.perf_counter()
    await asyncio.to_thread(stack.stop_pushpin)
    await asyncio.sleep(secs)
    await asyncio.to_thread(stack.start_pushpin)
    return Window(PUSHPIN_RESTART, start, time.perf_counter())
