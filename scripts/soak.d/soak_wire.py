"""HTTP/1.1 and Server-Sent Events over asyncio, just enough for the soak.

Why not a library: the soak must see exactly what crosses the wire (no client retries or
redirects of its own), time an event at the moment its bytes are read, and run on the
standard library alone (scripts/setup installs nothing for it). Every read is bounded by a
timeout, and only 127.0.0.1 is ever contacted.
"""

import asyncio
import time
from dataclasses import dataclass

IO_TIMEOUT = 10.0  # any single request, from write to the end of the body
HOST = "127.0.0.1"


async def sleep_until(t):
    """Sleeps until perf_counter time t (at once if it has passed)."""
    await asyncio.sleep(max(0.0, t - time.perf_counter()))


class WireError(Exception):
    """A response that is not HTTP/1.1 as we speak it."""


@dataclass
class Response:
    status: int
    headers: dict  # lower-case name -> value (the last one when repeated)
    body: bytes


def parse_head(head: bytes):
    """(first line's words, headers) of a request or response head."""
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return lines[0].split(" ", 2), headers


def build_request(method, path, port, body=b"", headers=None):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def read_head(reader):
    """The head up to its blank line, or None when the peer closed before sending any."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise WireError(f"connection closed inside a head: {e.partial[:80]!r}") from None


async def read_body(reader, headers, to_eof=False):
    """A body by chunked encoding or Content-Length; to_eof for a response without either."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    return await reader.read() if to_eof else b""


class Client:
    """One keep-alive connection to a loopback port, reopened after any failure. Requests on
    it are sequential, as a browser's on one connection."""

    def __init__(self, port):
        self.port = port
        self.reader = self.writer = None

    async def request(self, method, path, body=b"", headers=None):
        """(Response, perf_counter just before the request was written). Raises OSError,
        asyncio.TimeoutError or WireError; the connection is then dropped."""
        try:
            return await asyncio.wait_for(self._exchange(method, path, body, headers), IO_TIMEOUT)
        except BaseException:
            self.close()
            raise

    async def _exchange(self, method, path, body, headers):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        raw = build_request(method, path, self.port, body, headers)
        sent_at = time.perf_counter()
        self.writer.write(raw)
        head = await read_head(self.reader)
        if head is None:
            raise WireError("connection closed before the response")
        (_, status, *_), resp_headers = parse_head(head)
        close = resp_headers.get("connection", "").lower() == "close"
        resp = Response(int(status), resp_headers, await read_body(self.reader, resp_headers, close))
        if close:
            self.close()
        return resp, sent_at

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Dechunker:
    """Incremental decoder of a chunked body, fed whatever the socket delivered."""

    def __init__(self):
        self.buf = b""
        self.left = 0  # bytes still to come of the current chunk's data
        self.crlf = False  # the CRLF after a chunk's data is still to come
        self.ended = False  # the zero-size chunk arrived

    def feed(self, data):
        buf, pos, out = self.buf + data, 0, []
        while not self.ended:
            if self.left:
                take = buf[pos:pos + self.left]
                out.append(take)
                pos += len(take)
                self.left -= len(take)
                if self.left:
                    break
                self.crlf = True
            if self.crlf:
                if len(buf) - pos < 2:
                    break
                pos += 2
                self.crlf = False
            end = buf.find(b"\r\n", pos)
            if end < 0:
                break
            self.left = int(buf[pos:end].split(b";")[0], 16)
            pos = end + 2
            self.ended = self.left == 0
        self.buf = buf[pos:]
        return b"".join(out)


class SseParser:
    """Incremental text/event-stream parser (LF or CRLF line ends). feed() returns the
    complete events as (event type, id or None, data) with bytes values."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        buf = self.buf + data
        if b"\r" in buf:
            # A CR at the very end may be half of a CRLF: keep it for the next read.
            keep = b"\r" if buf.endswith(b"\r") else b""
            buf = buf[:len(buf) - len(keep)].replace(b"\r\n", b"\n") + keep
        *blocks, self.buf = buf.split(b"\n\n")
        return [parse_event(block) for block in blocks if block]


def parse_event(block):
    event, event_id, data = b"message", None, []
    for line in block.split(b"\n"):
        if line.startswith(b":"):
            continue  # comment
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            data.append(value)
        elif field == b"id":
            event_id = value
        elif field == b"event":
            event = value
    return event, event_id, b"\n".join(data)
