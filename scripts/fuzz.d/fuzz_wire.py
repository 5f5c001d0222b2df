"""One raw HTTP/1.x exchange over a fresh loopback connection, for scripts/fuzz.

Why not http.client or asyncio streams: the fuzzer must send bytes no client library would
(bad request lines, NULs in headers, lying Content-Length), and it must keep whatever the
server answered even when the server then resets the connection (asyncio's StreamReader
raises the reset before handing over buffered bytes). So this is a bare asyncio Protocol that
collects every byte, plus a response parser that only decides when an answer is complete:
a status line and head, then Content-Length bytes, a chunked body up to its last chunk, or
end of stream. A text/event-stream answer without Content-Length is complete at its head:
the stream stays open by design, so holding it would measure nothing but the timeout.
"""

import asyncio
import time
from dataclasses import dataclass, field

HEAD_MAX = 1 << 20  # a head longer than this is garbage, not a slow server
# How long a server may keep reading the request itself (a huge body) before the answer
# clock starts; beyond it the request was never read: a hang.
SEND_GRACE = 10.0
# A request that declares more body than it sends may be waited on forever, rightly: give it
# this long (it still shows whether the server answers early or falls over), not the timeout.
WAIT_LIMIT = 1.0


@dataclass
class Answer:
    """What came back for one request."""
    outcome: str  # answered | hang | wait | reset | closed | truncated | garbled | h2 | refused
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased, last wins
    raw_names: list[str] = field(default_factory=list)  # header names as sent
    body: bytes = b""
    stream: bool = False
    latency: float = 0.0  # request fully sent -> answer complete (or given up)


@dataclass
class _Head:
    status: int
    headers: dict[str, str]
    raw_names: list[str]
    body_at: int


class _Collector(asyncio.Protocol):
    def __init__(self):
        self.data = bytearray()
        self.changed = asyncio.Event()
        self.lost = False
        self.reset = False
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.data += data
        self.changed.set()

    def eof_received(self):
        return False  # close our side too

    def connection_lost(self, exc):
        self.lost = True
        self.reset = isinstance(exc, ConnectionResetError)
        self.changed.set()


def _parse_head(buf):
    """The final (non-1xx) response head in buf, None while incomplete, or "garbled"."""
    start = 0
    while True:
        end = buf.find(b"\r\n\r\n", start)
        if end < 0:
            return "garbled" if len(buf) - start > HEAD_MAX or not _looks_http(buf[start:]) else None
        lines = bytes(buf[start:end]).split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            return "garbled"
        status = int(parts[1])
        if 100 <= status < 200 and status != 101:
            start = end + 4
            continue
        headers, names = {}, []
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            names.append(name.decode("latin-1"))
            headers[name.decode("latin-1").strip().lower()] = value.strip().decode("latin-1")
        return _Head(status, headers, names, end + 4)


def _not_http(proto, started):
    """Bytes that are no HTTP/1 answer; an HTTP/2 SETTINGS frame is a server speaking h2c."""
    data = proto.data
    h2 = len(data) >= 9 and data[3] == 0x04 and data[5:9] == b"\0\0\0\0"
    return _answer("h2" if h2 else "garbled", None, bytes(data[:2000]), started)


def _looks_http(prefix):
    probe = bytes(prefix[:5])
    return b"HTTP/".startswith(probe) or probe.startswith(b"HTTP/")


def _dechunk(data):
    """The decoded body once the last chunk (and trailers) arrived, else None."""
    out, pos = bytearray(), 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return None
        size_text = bytes(data[pos:eol]).split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return b""  # unparseable framing: take what we have, the status is what counts
        if size == 0:
            return bytes(out) if data.find(b"\r\n\r\n", eol) >= 0 else None
        if len(data) < eol + 2 + size + 2:
            return None
        out += data[eol + 2:eol + 2 + size]
        pos = eol + 2 + size + 2


def _complete(buf, head, head_request):
    """The body if the answer in buf is complete, else None (needs more bytes or EOF)."""
    if head_request or head.status in (101, 204, 304):
        return b""
    rest = buf[head.body_at:]
    if "chunked" in head.headers.get("transfer-encoding", "").lower():
        return _dechunk(rest)
    length = head.headers.get("content-length")
    if length is not None and length.isdigit():
        return bytes(rest[:int(length)]) if len(rest) >= int(length) else None
    return None


def _answer(outcome, head, body, started, stream=False):
    latency = time.monotonic() - started
    if head is None or head == "garbled":
        return Answer(outcome, body=body, latency=latency)
    return Answer(outcome, head.status, head.headers, head.raw_names, body, stream, latency)


async def exchange(port, request, timeout, head_request=False, incomplete=False):
    """Sends request (bytes) to 127.0.0.1:port on a new connection and waits for the answer.
    incomplete: the request declares more body than it carries, so a server that waits for
    the rest is within its rights: that is a "wait", not a "hang"."""
    loop = asyncio.get_running_loop()
    try:
        transport, proto = await asyncio.wait_for(
            loop.create_connection(_Collector, "127.0.0.1", port), timeout)
    except (OSError, asyncio.TimeoutError):
        return Answer("refused")
    try:
        transport.write(request)
        started = await _sent(transport, proto)
        limit = min(timeout, WAIT_LIMIT) if incomplete else timeout
        return await _read(proto, started, limit, head_request, incomplete)
    finally:
        transport.abort()


async def _sent(transport, proto):
    """When the request finished leaving our buffer (the answer clock starts there)."""
    deadline = time.monotonic() + SEND_GRACE
    while transport.get_write_buffer_size() and not proto.lost and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    return time.monotonic()


async def _read(proto, started, timeout, head_request, incomplete):
    head = None
    while True:
        head = head if isinstance(head, _Head) else _parse_head(proto.data)
        if head == "garbled":
            return _not_http(proto, started)
        if isinstance(head, _Head):
            if "text/event-stream" in head.headers.get("content-type", "") and (
                    "content-length" not in head.headers):
                return _answer("answered", head, bytes(proto.data[head.body_at:]), started, True)
            body = _complete(proto.data, head, head_request)
            if body is not None:
                return _answer("answered", head, body, started)
        if proto.lost:
            return _lost(proto, head, started)
        remaining = started + timeout - time.monotonic()
        if remaining <= 0:
            return _answer("wait" if incomplete else "hang", head, bytes(proto.data), started)
        proto.changed.clear()
        try:
            await asyncio.wait_for(proto.changed.wait(), remaining)
        except asyncio.TimeoutError:
            pass


def _lost(proto, head, started):
    if isinstance(head, _Head):
        framed = "content-length" in head.headers or "chunked" in head.headers.get(
            "transfer-encoding", "")
        body = bytes(proto.data[head.body_at:])
        return _answer("truncated" if framed else "answered", head, body, started)
    if _parse_head(proto.data) == "garbled":  # not just a 100 Continue before closing
        return _not_http(proto, started)
    return _answer("reset" if proto.reset else "closed", None, b"", started)
