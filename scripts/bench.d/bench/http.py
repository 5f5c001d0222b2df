"""HTTP/1.1 on raw sockets, stdlib only: a blocking keep-alive client for sequential
requests (little Python between the timestamp and the wire, so sequential latencies are the
server's, not the client's) and an asyncio one for concurrent clients.

Bodies come as Content-Length or chunked; ChunkDecoder is the one chunked decoder, fed bytes
as they arrive, by both clients here and by the SSE subscribers (sse.py), whose streams never
end.
"""

import asyncio
import contextlib
import socket
import time

IO_TIMEOUT = 15  # any single blocking read
READ_SIZE = 65536

SIZE, DATA, DATA_END, TRAILER, DONE = range(5)


def build_request(method, path, port, body=b"", headers=None):
    """The raw bytes of one request (Content-Length on every POST, even an empty one)."""
    h = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    h += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        h.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


def parse_head(head):
    """Status line and headers (CRLF-separated, without the blank line) -> (status, headers);
    header names lower-cased, repeated headers joined with ", "."""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            k = k.strip().lower()
            headers[k] = (headers[k] + ", " if k in headers else "") + v.strip()
    return status, headers


def is_chunked(headers):
    return "chunked" in headers.get("transfer-encoding", "")


class ChunkDecoder:
    """Chunked transfer coding, incrementally: feed() takes bytes as they arrive and returns
    the payload completed by them; done turns true after the last chunk and its trailer."""

    def __init__(self):
        self.state = SIZE
        self.left = 0  # payload bytes still to come in the current chunk
        self.rest = b""  # an incomplete size or CRLF line

    @property
    def done(self):
        return self.state == DONE

    def feed(self, data):
        """Empty data means the connection closed: an error unless the body is complete."""
        if not data and not self.done:
            raise ConnectionError("connection closed inside a chunked body")
        buf, pos, out = self.rest + data, 0, []
        while self.state != DONE:
            if self.state == DATA:
                take = min(self.left, len(buf) - pos)
                out.append(buf[pos:pos + take])
                pos, self.left = pos + take, self.left - take
                if self.left:
                    break
                self.state = DATA_END
                continue
            end = buf.find(b"\r\n", pos)
            if end < 0:
                break
            line, pos = buf[pos:end], end + 2
            if self.state == SIZE:
                self.left = int(line.split(b";")[0], 16)
                self.state = DATA if self.left else TRAILER
            elif self.state == DATA_END:
                self.state = SIZE
            elif not line:  # TRAILER: a blank line ends it
                self.state = DONE
        self.rest = buf[pos:]
        return b"".join(out)


class Client:
    """Blocking HTTP/1.1 keep-alive client on one socket."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb")

    def request(self, method, path, body=b"", headers=None):
        return self.send(build_request(method, path, self.port, body, headers))

    def send(self, raw):
        """-> (seconds, status, headers, body); the clock runs from just before the write
        to the last byte of the body."""
        t0 = time.perf_counter()
        self.sock.sendall(raw)
        head = b""
        while True:
            line = self.f.readline()
            if not line:
                raise ConnectionError("connection closed")
            if line == b"\r\n":
                break
            head += line
        status, headers = parse_head(head)
        body = self._body(headers)
        return time.perf_counter() - t0, status, headers, body

    def _body(self, headers):
        if "content-length" in headers:
            return self.f.read(int(headers["content-length"]))
        if not is_chunked(headers):
            return b""
        dec, parts = ChunkDecoder(), []
        while not dec.done:
            parts.append(dec.feed(self.f.read1(READ_SIZE)))
        return b"".join(parts)

    def close(self):
        with contextlib.suppress(OSError):
            self.f.close()
            self.sock.close()


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status, headers = parse_head(head[:-4])
    if "content-length" in headers:
        return status, headers, await reader.readexactly(int(headers["content-length"]))
    if not is_chunked(headers):
        return status, headers, b""
    dec, parts = ChunkDecoder(), []
    while not dec.done:
        parts.append(dec.feed(await reader.read(READ_SIZE)))
    return status, headers, b"".join(parts)


class AsyncClient:
    """asyncio HTTP/1.1 keep-alive client; connects on first use and again after the server
    said Connection: close."""

    def __init__(self, port):
        self.port = port
        self.r = self.w = None

    async def send(self, raw):
        """-> (t0, seconds, status, headers, body). t0 is taken just before the write."""
        if self.w is None:
            self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port)
            self.w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.perf_counter()
        self.w.write(raw)
        status, headers, body = await asyncio.wait_for(read_response(self.r), IO_TIMEOUT)
        dt = time.perf_counter() - t0
        if headers.get("connection", "").lower() == "close":
            self.close()
        return t0, dt, status, headers, body

    def close(self):
        if self.w is not None:
            self.w.close()
        self.r = self.w = None
