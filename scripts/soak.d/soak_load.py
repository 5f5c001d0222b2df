"""The soak's load: posters that POST like the chat page, and subscribers that read a room's
event stream like EventSource.

A subscriber connects to the service port, as a browser does (Viceroy hands the request to
Pushpin, the local Fanout), and on any end of its stream or refused attempt reconnects after
0.5-1 s with jitter, sending `Last-Event-ID: <the last id it saw>` as EventSource does. Its
first connection asks for everything (Last-Event-ID 0). It keeps, per message id, whether and
when it first arrived (a bytearray and two arrays, not sets of ints: one room of the full soak
is a million deliveries); every later arrival of an id is a duplicate, every first arrival below
an id already seen is out of order. Each distinct event body is kept once per room (not per
subscriber) so the content can be checked against what the POST returned.

A poster sends its messages on a fixed timetable (rate per second) over one keep-alive
connection and records the message each 200 returned with the time just before the POST was
written. A 503 (the service's "unavailable", which stores nothing) is retried after its
Retry-After (at most 5 s) up to twice, as the chat page retries. A timeout or dropped
connection is not retried: its outcome is unknown, and a second copy would make history
differ from what was accepted for a reason of the client's own making.
"""

import asyncio
import json
import time
import urllib.parse
from array import array
from collections import Counter
from dataclasses import dataclass

from soak_wire import (HOST, IO_TIMEOUT, Client, Dechunker, SseParser, WireError, build_request,
                       parse_head, sleep_until)

RECONNECT_DELAY = (0.5, 1.0)  # seconds, uniform: EventSource's default retry is of this order
RETRIES_503 = 2
RETRY_AFTER_MAX = 5.0
EXAMPLES = 20  # ids kept per kind of fault, to show which messages went wrong
MAX_ID = 10_000_000  # an id beyond any soak's post count is malformed, not a bitmap index
FILLER = ["hello", "naïve", "über", "日本語", "😀", "<b>bold</b>", "data: x", "id: 9",
          "event: fake", "\"quoted\"", "a\\b", "&amp;", "line\nbreak"]


@dataclass
class Post:
    room: str
    message: dict  # the POST's 200 body: id, from, date, text
    sent_at: float  # perf_counter just before the request was written
    answered_at: float  # perf_counter when the answer had been read


class Poster:
    """One person posting to one room on a timetable, as the chat page posts."""

    def __init__(self, index, room, port, rng):
        self.name, self.room, self.port, self.rng = f"poster{index}", room, port, rng
        self.path = f"/rooms/{room}/messages/"
        self.accepted = []
        self.rejected = Counter()  # final status (or error) of posts that got no 200
        self.retried = 0
        self.done_at = None  # perf_counter when its last post was answered

    async def run(self, start, count, rate):
        client = Client(self.port)
        try:
            for k in range(count):
                await sleep_until(start + k / rate)
                await self._post(client, k)
        finally:
            client.close()
            self.done_at = time.perf_counter()

    def _text(self, k):
        words = self.rng.choices(FILLER, k=self.rng.randint(1, 12))
        return f"{self.name} #{k}: " + " ".join(words)

    async def _post(self, client, k):
        body = urllib.parse.urlencode({"from": self.name, "text": self._text(k)}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        for attempt in range(RETRIES_503 + 1):
            try:
                resp, sent_at = await client.request("POST", self.path, body, headers)
            except (OSError, asyncio.TimeoutError, WireError) as e:
                self.rejected[type(e).__name__] += 1
                return
            if resp.status == 200:
                self.accepted.append(Post(self.room, json.loads(resp.body), sent_at, time.perf_counter()))
                return
            if resp.status != 503 or attempt == RETRIES_503:
                self.rejected[_why(resp)] += 1
                return
            self.retried += 1
            await asyncio.sleep(_retry_after(resp))


def _retry_after(resp):
    """Retry-After in seconds (1 if absent or an HTTP date), at most RETRY_AFTER_MAX."""
    try:
        return min(float(resp.headers.get("retry-after", 1)), RETRY_AFTER_MAX)
    except ValueError:
        return 1.0


def _why(resp):
    """A refused post's status and the service's error code, e.g. "400 invalid_field"."""
    try:
        return f"{resp.status} {json.loads(resp.body)['error']}"
    except (ValueError, KeyError, TypeError):
        return str(resp.status)


class Subscriber:
    """One EventSource-like reader of a room (see the module doc)."""

    def __init__(self, room, port, content, rng):
        self.room, self.port, self.rng = room, port, rng
        self.content = content  # id -> set of distinct data bytes seen, shared by the room
        self.last_id = "0"
        self.seen = bytearray(1024)
        self.first_ids, self.first_times = array("q"), array("d")
        self.max_id = 0
        self.duplicated = self.out_of_order = 0
        self.examples = {"duplicated": [], "out of order": []}  # the first few ids of each
        self.resets = self.errors = self.malformed = 0
        self.streams = self.refused = 0  # 200 streams opened / attempts that got none
        self.opened = asyncio.Event()  # the first stream-open arrived
        self.stream = None  # the current connection
        self.stopped = False

    def request(self):
        return build_request("GET", f"/rooms/{self.room}/events/", self.port, headers={
            "Accept": "text/event-stream", "Cache-Control": "no-cache",
            "Last-Event-ID": self.last_id})

    async def run(self):
        """Connects, and reconnects whenever a stream ends or an attempt fails, until stop()."""
        loop = asyncio.get_running_loop()
        while not self.stopped:
            stream = self.stream = _Stream(self, loop)
            try:
                if await self._open(loop, stream) == 200:
                    self.streams += 1
                    await stream.closed
                else:
                    self.refused += 1
            finally:
                stream.close()
            await asyncio.sleep(self.rng.uniform(*RECONNECT_DELAY))

    def stop(self):
        """Ends the loop in run() and the current stream. A flag as well as the task's
        cancellation: Python 3.11's wait_for can swallow a cancellation that arrives as the
        awaited operation completes, and this loop would then reconnect for ever."""
        self.stopped = True
        if self.stream is not None:
            self.stream.close()

    async def _open(self, loop, stream):
        """The status code of a new stream's response, or None if none came."""
        try:
            await asyncio.wait_for(loop.create_connection(lambda: stream, HOST, self.port), IO_TIMEOUT)
            return await asyncio.wait_for(asyncio.shield(stream.answered), IO_TIMEOUT)
        except (OSError, asyncio.TimeoutError):
            return None

    def on_event(self, event, event_id, data, t):
        if event_id is not None and event_id.isdigit():
            self.last_id = event_id.decode()  # EventSource resumes from the last id it saw
        if event == b"message":
            self._on_message(event_id, data, t)
        elif event == b"stream-open":
            self.opened.set()
        elif event == b"stream-reset":
            self.resets += 1
        elif event == b"stream-error":
            self.errors += 1

    def _on_message(self, event_id, data, t):
        if event_id is None or not event_id.isdigit() or int(event_id) > MAX_ID:
            self.malformed += 1
            return
        n = int(event_id)
        if n >= len(self.seen):
            self.seen.extend(bytes(max(n + 1 - len(self.seen), len(self.seen))))
        if self.seen[n]:
            self.duplicated += 1
            self._example("duplicated", n)
            return
        self.seen[n] = 1
        if n < self.max_id:
            self.out_of_order += 1
            self._example("out of order", n)
        else:
            self.max_id = n
        self.first_ids.append(n)
        self.first_times.append(t)
        variants = self.content.setdefault(n, set())
        if data not in variants:
            variants.add(data)

    def _example(self, kind, n):
        if len(self.examples[kind]) < EXAMPLES:
            self.examples[kind].append(n)

    def has_all(self, ids):
        """Whether every id in ids (a sequence of message ids) has arrived."""
        seen = self.seen
        return len(self.first_ids) >= len(ids) and all(i < len(seen) and seen[i] for i in ids)


class _Stream(asyncio.Protocol):
    """One connection of a subscriber: head, then a (chunked) event stream."""

    def __init__(self, sub, loop):
        self.sub = sub
        self.answered = loop.create_future()  # the status code, or None if none came
        self.closed = loop.create_future()
        self.head = b""
        self.status = None
        self.dechunker = None
        self.parser = SseParser()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.sub.request())

    def data_received(self, data):
        t = time.perf_counter()  # first thing: this is when the event was read
        if self.status is None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            (_, status, *_), headers = parse_head(self.head[:end])
            self.status, data = int(status), self.head[end + 4:]
            self.answered.set_result(self.status)
            if self.status != 200:
                self.transport.close()
                return
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self.dechunker = Dechunker()
        if self.dechunker is not None:
            data = self.dechunker.feed(data)
        for event, event_id, payload in self.parser.feed(data):
            self.sub.on_event(event, event_id, payload, t)
        if self.dechunker is not None and self.dechunker.ended:
            self.transport.close()

    def connection_lost(self, exc):
        if not self.answered.done():
            self.answered.set_result(None)
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self):
        if self.transport is not None:
            self.transport.close()
