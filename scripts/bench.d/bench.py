#!/usr/bin/env python3
"""edge-chat benchmark: the real local stack (Pushpin 1.36 + the release wasm in Viceroy),
measured next to two floors taken in the same run on the same machine:

  (a) a hello-world Compute service in the same Viceroy: the per-request floor;
  (b) raw Pushpin: subscribers held by a stub GRIP origin, messages published straight to
      Pushpin's /publish/: the fan-out floor, with no app in the path.

Run through scripts/bench (which builds first). Prints one table on stdout; progress goes to
stderr. Not part of scripts/test: nothing here asserts on time.

Where a target compares with a floor, the two are measured interleaved (request by request,
message by message), so load from others sharing the machine falls on both alike.

Clients are stdlib only: blocking keep-alive sockets for sequential requests, asyncio for
concurrent posters and SSE subscribers (one asyncio Protocol per connection, callbacks rather
than a task each, which is cheaper: data_received takes the timestamp first thing, then
de-chunks and parses `id:` lines). The bench reports its own CPU next to Pushpin's and
Viceroy's so a saturated load generator would show.
"""

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import stack as stackmod  # noqa: E402  (scripts/stack.py: the one local-stack implementation)

APP_WASM = ROOT / "target/wasm32-wasip1/release/edge-chat.wasm"
HELLO_WASM = ROOT / "target/bench-hello/wasm32-wasip1/release/bench-hello.wasm"
GRIP_STUB = HERE / "grip_stub.py"
FASTLY_CLI = stackmod.FASTLY_CLI
VICEROY = stackmod.VICEROY

MESSAGE_RATE = 1_000_000  # Pushpin deliveries/s, for the app's stacks and the floor alike
IO_TIMEOUT = 15  # any single blocking read
DELIVERY_TIMEOUT = 5.0  # per message: all subscribers must have it by then, or it is missing
GRACE = 1.0  # after a batch, how long stragglers may still arrive
# Pause after every subscriber has a message, before the next is sent. Pushpin's publish
# shaper (handler/publishshaper.cpp, ratelimiter.cpp: MIN_BATCH_INTERVAL 25 ms whenever
# message_rate > 0) sends the first batch at once but keeps a 25 ms timer running until one
# pass finds nothing: a message published within ~25 ms of the previous delivery waits for
# the next tick (measured: 1 subscriber, 5 ms apart -> ~26 ms instead of ~1 ms). 50 ms lets
# the timer stop, so each message's latency is its own, for the app and the floor alike.
PACE_GAP = 0.05
SCENARIO_DEADLINE = 150  # seconds, any one delivery scenario (bounds every load loop in time)
PAD = "x" * 60  # message text padding: ~150-byte events, like a short chat line

ST_RE = re.compile(r'kv;desc="(\d+) ops?";dur=([\d.]+)')


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def pct(values, q):
    """Percentile q (0..100) of values, linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * q / 100
    f = int(k)
    c = min(f + 1, len(s) - 1)
    return s[f] + (s[c] - s[f]) * (k - f)


def med(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def kv_ops(headers):
    m = ST_RE.search(headers.get("server-timing", ""))
    return (int(m.group(1)), float(m.group(2))) if m else (None, None)


def cpu_self():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


TICK = os.sysconf("SC_CLK_TCK")


def group_cpu(sids):
    """CPU seconds used so far by every live process in the given sessions (each stack
    child is started in a new session; Pushpin's runner puts each of its parts in its own
    process group, but they stay in its session)."""
    total = 0
    sids = set(sids)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        f = stat[stat.rfind(")") + 2:].split()
        if int(f[3]) in sids:
            total += int(f[11]) + int(f[12])
    return total / TICK


class CpuMeter:
    """Wall and CPU time of the bench process and of server processes (by session)."""

    def __init__(self, groups):
        self.groups = groups  # name -> [session id]

    def __enter__(self):
        self.t0, self.c0 = time.monotonic(), cpu_self()
        self.g0 = {k: group_cpu(v) for k, v in self.groups.items()}
        return self

    def __exit__(self, *exc):
        self.wall = time.monotonic() - self.t0
        self.bench = cpu_self() - self.c0
        self.procs = {k: group_cpu(v) - self.g0[k] for k, v in self.groups.items()}

    def summary(self):
        parts = [f"bench {self.bench:.2f}s ({100 * self.bench / self.wall:.0f}% of one core)"]
        parts += [f"{k} {v:.2f}s" for k, v in self.procs.items()]
        return f"wall {self.wall:.2f}s; CPU " + ", ".join(parts)


class ServerCpu:
    """CPU per request of server processes (by session), less their idle background
    (Viceroy's own threads burn ~0.1 core doing nothing), measured for 1 s before each use."""

    def __init__(self, sessions):
        self.sessions = sessions
        self.used = Counter()

    def __enter__(self):
        base = {k: group_cpu(v) for k, v in self.sessions.items()}
        time.sleep(1)
        self.idle = {k: group_cpu(v) - base[k] for k, v in self.sessions.items()}
        self.t0 = time.monotonic()
        self.c0 = {k: group_cpu(v) for k, v in self.sessions.items()}
        return self

    def __exit__(self, *exc):
        wall = time.monotonic() - self.t0
        for k, v in self.sessions.items():
            self.used[k] += group_cpu(v) - self.c0[k] - self.idle[k] * wall

    def per_request(self, name, n):
        return self.used[name] / n


# ------------------------------------------------------------------ processes

class Proc:
    """A child in its own session, stopped by its process-group id (the pid)."""

    def __init__(self, cmd, log_path, cwd=None, env=None):
        with open(log_path, "ab") as logf:
            self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                      stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                      start_new_session=True)
        self.pid = self.p.pid

    def stop(self):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                self.p.poll()
                try:
                    os.killpg(self.pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.05)


def wait_http(port, path="/", timeout=60, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.p.poll() is not None:
            raise RuntimeError(f"process exited with {proc.p.returncode}")
        try:
            c = Client(port)
            c.request("GET", path)
            c.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} did not answer within {timeout}s")


@contextlib.contextmanager
def hello_service(workdir):
    """The hello-world wasm under `fastly compute serve` with the same Viceroy."""
    d = Path(tempfile.mkdtemp(prefix="bench-hello-", dir=workdir))
    (d / "fastly.toml").write_text('manifest_version = 3\nname = "bench-hello"\nlanguage = "rust"\n')
    port = stackmod.free_port()
    env = dict(os.environ, FASTLY_WASM_METADATA_DISABLE="true")
    proc = Proc([str(FASTLY_CLI), "compute", "serve", "--non-interactive", "--quiet",
                 "--dir", str(d), "--file", str(HELLO_WASM), "--addr", f"127.0.0.1:{port}",
                 "--viceroy-path", str(VICEROY)], d / "viceroy.log", cwd=d, env=env)
    try:
        wait_http(port, proc=proc)
        yield port, d / "viceroy.log", proc.pid
    finally:
        proc.stop()
        shutil.rmtree(d, ignore_errors=True)


class PushpinOnly(stackmod.Stack):
    """A stack's Pushpin (the very config stack.py generates, same message_rate) whose route
    points at the GRIP stub instead of the service; no Viceroy."""

    def __init__(self, grip_port, message_rate):
        super().__init__(APP_WASM, message_rate=message_rate)
        self.grip_port = grip_port

    def _write_files(self):
        super()._write_files()
        (self.dir / "routes").write_text(f"id=self 127.0.0.1:{self.grip_port},over_http\n")

    def _start_service(self):
        pass


def stream_status(port, path):
    """Status of a held stream request via Pushpin's route (head only, then hang up)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(sse_request(port, path, pushpin_route=True))
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                if not chunk:
                    return None
                head += chunk
            return int(head.split(None, 2)[1])
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def pushpin_floor(workdir):
    grip_port = stackmod.free_port()
    stub = Proc([sys.executable, str(GRIP_STUB), str(grip_port)],
                Path(workdir) / "grip-stub.log")
    pp = None
    try:
        wait_http(grip_port, proc=stub)
        pp = PushpinOnly(grip_port, MESSAGE_RATE).start()
        # Pushpin says "started" before its parts are connected: its first requests answer
        # 500. Wait until a stream is actually held.
        deadline = time.monotonic() + 20
        while stream_status(pp.pushpin_port, "/bench/probe/") != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("raw Pushpin floor: streams not held within 20s")
            time.sleep(0.2)
        yield pp
    finally:
        if pp is not None:
            pp.stop()
        stub.stop()


# ------------------------------------------------------------------ viceroy.log

REQ_RE = re.compile(r"request\{id=(\d+)\}: handling request (\S+) (\S+)")
HEAP_RE = re.compile(r"request\{id=(\d+)\}: request completed using ([\d.]+) (KiB|MiB|GiB) of WebAssembly heap")
DUR_RE = re.compile(r"request\{id=(\d+)\}: request completed in ([\d.]+)(µs|ms|s)\b")
UNIT = {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "µs": 1e-3, "ms": 1, "s": 1000}


class ViceroyLog:
    """Heap and Viceroy-measured duration per request kind, from Viceroy's own log lines."""

    def __init__(self):
        self.heap = defaultdict(list)  # kind -> MiB
        self.dur = defaultdict(list)  # kind -> ms

    def add(self, path, classify):
        try:
            text = Path(path).read_text(errors="replace")
        except OSError:
            return
        kinds = {}
        for line in text.splitlines():
            if m := REQ_RE.search(line):
                kinds[m.group(1)] = classify(m.group(2), m.group(3))
            elif m := HEAP_RE.search(line):
                if k := kinds.get(m.group(1)):
                    self.heap[k].append(float(m.group(2)) * UNIT[m.group(3)])
            elif m := DUR_RE.search(line):
                if k := kinds.get(m.group(1)):
                    self.dur[k].append(float(m.group(2)) * UNIT[m.group(3)])


def app_classifier(pushpin_port):
    def classify(method, url):
        u = url.split("://", 1)[-1]
        hostport, _, path = u.partition("/")
        path = "/" + path
        if "/events/" in path:
            return "SSE call-back (Grip-Sig)" if hostport.endswith(f":{pushpin_port}") else "SSE handoff"
        if "/messages/" in path:
            if method == "POST":
                return "POST message"
            return "GET history (paged)" if "before=" in path else "GET history"
        return f"{method} other"
    return classify


# ------------------------------------------------------------------ HTTP clients

def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            k = k.strip().lower()
            headers[k] = (headers[k] + ", " if k in headers else "") + v.strip()
    return status, headers


class Client:
    """Blocking HTTP/1.1 keep-alive client on one socket: little Python between the
    timestamp and the wire, so sequential latencies are the server's, not the client's."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb")

    @staticmethod
    def build(method, path, port, body=b"", headers=None):
        h = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        for k, v in (headers or {}).items():
            h.append(f"{k}: {v}")
        if body or method == "POST":
            h.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(h) + "\r\n\r\n").encode() + body

    def request(self, method, path, body=b"", headers=None):
        return self.send(self.build(method, path, self.port, body, headers))

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
        if "content-length" in headers:
            body = self.f.read(int(headers["content-length"]))
        elif "chunked" in headers.get("transfer-encoding", ""):
            parts = []
            while True:
                size = int(self.f.readline().split(b";")[0], 16)
                if size == 0:
                    self.f.readline()
                    break
                parts.append(self.f.read(size))
                self.f.readline()
            body = b"".join(parts)
        else:
            body = b""
        return time.perf_counter() - t0, status, headers, body

    def close(self):
        with contextlib.suppress(OSError):
            self.f.close()
            self.sock.close()


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status, headers = parse_head(head[:-4])
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif "chunked" in headers.get("transfer-encoding", ""):
        parts = []
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                break
            parts.append(await reader.readexactly(size))
            await reader.readline()
        body = b"".join(parts)
    else:
        body = b""
    return status, headers, body


class AsyncClient:
    def __init__(self, port):
        self.port = port
        self.r = self.w = None

    async def connect(self):
        if self.w is None:
            self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port)
            self.w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def send(self, raw, on_sent=None):
        """-> (t0, seconds, status, headers, body). t0 is taken just before the write."""
        await self.connect()
        t0 = time.perf_counter()
        if on_sent:
            on_sent(t0)
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


def post_body(n):
    return json.dumps({"from": "bench", "text": f"bench message {n} {PAD}"}).encode()


def post_raw(port, room, n):
    return Client.build("POST", f"/rooms/{room}/messages/", port, post_body(n),
                        {"Content-Type": "application/json"})


# ------------------------------------------------------------------ SSE subscribers

class Hub:
    """What all subscribers of one scenario received: per id, how many have it."""

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
        fut = asyncio.get_running_loop().create_future()
        if self.counts[ident] >= n:
            fut.set_result(None)
        self.waiters[ident] = (n, fut)
        return fut


class Sub(asyncio.Protocol):
    """One SSE subscriber on a raw socket. data_received timestamps first, then de-chunks
    and scans complete lines for `id: <n>`."""

    def __init__(self, hub, request):
        self.hub, self.request = hub, request
        self.buf = b""
        self.status = None
        self.headers = {}
        self.head_done = asyncio.get_running_loop().create_future()
        self.chunked = False
        self.cbuf = b""
        self.need = -1  # >0: bytes left in chunk; -1: want size line; -2: want CRLF
        self.text = b""
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
            self.buf += data
            i = self.buf.find(b"\r\n\r\n")
            if i < 0:
                return
            self.status, self.headers = parse_head(self.buf[:i])
            self.chunked = "chunked" in self.headers.get("transfer-encoding", "")
            data, self.buf = self.buf[i + 4:], b""
            if not self.head_done.done():
                self.head_done.set_result(self.status)
        payload = self.dechunk(data) if self.chunked else data
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

    def dechunk(self, data):
        buf, pos, out = self.cbuf + data, 0, []
        while True:
            if self.need > 0:
                take = min(self.need, len(buf) - pos)
                out.append(buf[pos:pos + take])
                pos += take
                self.need -= take
                if self.need > 0:
                    break
                self.need = -2
            if self.need == -2:
                if len(buf) - pos < 2:
                    break
                pos += 2
                self.need = -1
            k = buf.find(b"\r\n", pos)
            if k < 0:
                break
            size = int(buf[pos:k].split(b";")[0], 16)
            pos = k + 2
            if size == 0:
                self.need = -3  # end of stream
                break
            self.need = size
        self.cbuf = buf[pos:]
        return b"".join(out)

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
    return Client.build("GET", path, port, b"", h)


async def connect_subs(hub, n, port, path, pushpin_route, parallel=50):
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(parallel)
    raw = sse_request(port, path, pushpin_route)
    failed = []

    async def one():
        async with sem:
            sub = Sub(hub, raw)
            try:
                await loop.create_connection(lambda: sub, "127.0.0.1", port)
                status = await asyncio.wait_for(sub.head_done, IO_TIMEOUT)
                if status != 200:
                    raise ConnectionError(f"status {status}")
                hub.subs.append(sub)
            except (OSError, asyncio.TimeoutError, ConnectionError) as e:
                sub.close()
                failed.append(repr(e))

    await asyncio.gather(*(one() for _ in range(n)))
    return failed


# ------------------------------------------------------------------ measurements

def seq_latency(port, method, path, n, body=b"", headers=None):
    """n sequential requests on one keep-alive connection -> (latencies s, [(status, headers, body)])."""
    c = Client(port)
    lat, resps = [], []
    try:
        for _ in range(n):
            dt, st, hd, bd = c.request(method, path, body, headers)
            lat.append(dt)
            resps.append((st, hd, bd))
    finally:
        c.close()
    return lat, resps


def seq_posts(port, room, n):
    c = Client(port)
    lat, ops, kvdur, bad = [], [], [], 0
    try:
        for i in range(n):
            dt, st, hd, _ = c.send(post_raw(port, room, i))
            lat.append(dt)
            o, d = kv_ops(hd)
            ops.append(o)
            kvdur.append(d)
            bad += st != 200
    finally:
        c.close()
    return lat, ops, kvdur, bad


async def concurrent_gets(port, path, clients, each):
    lat = []

    async def client():
        c = AsyncClient(port)
        try:
            for _ in range(each):
                _, dt, st, _, _ = await c.send(Client.build("GET", path, port))
                assert st == 200
                lat.append(dt)
        finally:
            c.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return lat


async def concurrent_posts(port, rooms, each):
    """One keep-alive connection per entry of rooms, each posting `each` messages to its room
    back to back, all at once."""
    lat, ops, kvdur, statuses = [], [], [], Counter()

    async def poster(p, r):
        c = AsyncClient(port)
        try:
            for i in range(each):
                _, dt, st, hd, _ = await c.send(post_raw(port, r, p * 1000 + i))
                lat.append(dt)
                o, d = kv_ops(hd)
                ops.append(o)
                kvdur.append(d)
                statuses[st] += 1
        finally:
            c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(poster(p, r) for p, r in enumerate(rooms)))
    return lat, ops, kvdur, statuses, time.perf_counter() - t0


class Publisher:
    """Sends one message and says which SSE id it will carry."""

    async def prime(self):
        """-> the id of the next message."""
        raise NotImplementedError

    async def send(self, ident):
        """Sends message `ident`; -> t0 (just before the write)."""
        raise NotImplementedError


class AppPublisher(Publisher):
    def __init__(self, stack, room):
        self.port, self.room = stack.port, room
        self.c = AsyncClient(stack.port)
        self.n = 0

    async def prime(self):
        c = AsyncClient(self.port)
        _, _, st, _, body = await c.send(Client.build("GET", f"/rooms/{self.room}/messages/?limit=1", self.port))
        c.close()
        assert st == 200, body
        return int(json.loads(body)["last-event-id"]) + 1

    async def send(self, ident):
        self.n += 1
        t0, _, st, _, body = await self.c.send(post_raw(self.port, self.room, self.n))
        if st != 200:
            raise RuntimeError(f"POST answered {st}: {body[:200]!r}")
        got = json.loads(body)["id"]
        if got != ident:
            raise RuntimeError(f"expected id {ident}, the POST got {got} (someone else posting?)")
        return t0


class PushpinPublisher(Publisher):
    """Publishes the event the app would publish (same shape and size) to Pushpin directly."""

    def __init__(self, pp, channel, prev_id=False):
        self.port, self.channel, self.prev_id = pp.publish_port, channel, prev_id
        self.c = AsyncClient(pp.publish_port)
        self.next = 1

    async def prime(self):
        return self.next

    async def send(self, ident):
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        data = json.dumps({"id": ident, "from": "bench", "date": date,
                           "text": f"bench message {ident} {PAD}"}, separators=(",", ":"))
        item = {"channel": self.channel, "id": str(ident),
                "formats": {"http-stream": {"content": f"event: message\nid: {ident}\ndata: {data}\n\n"}}}
        if self.prev_id:
            item["prev-id"] = str(ident - 1)
        raw = Client.build("POST", "/publish/", self.port, json.dumps({"items": [item]}).encode(),
                           {"Content-Type": "application/json"})
        t0, _, st, _, body = await self.c.send(raw)
        if st != 200:
            raise RuntimeError(f"publish answered {st}: {body[:200]!r}")
        self.next = ident + 1
        return t0


class Target:
    """One delivery path under test: where its subscribers connect and how its messages are
    sent. Its results accumulate over repetitions."""

    def __init__(self, kind, port, path, pushpin_route, publisher):
        self.kind, self.port, self.path = kind, port, path
        self.pushpin_route, self.publisher = pushpin_route, publisher
        self.hub = Hub()
        self.ident = None
        self.wanted = 0
        self.connect_s = 0.0
        self.errors = []
        self.warmup_ok = False
        self.p50, self.p99, self.first, self.spread = [], [], [], []
        self.missing = self.dups = self.sent = 0
        self.cpu = 0.0  # bench CPU while this target's messages were in flight
        self.sent_at = {}

    @property
    def n(self):
        return len(self.hub.subs)

    async def connect(self, n):
        self.wanted = n
        t = time.monotonic()
        failed = await connect_subs(self.hub, n, self.port, self.path, self.pushpin_route)
        self.connect_s = time.monotonic() - t
        self.errors = failed[:3]

    async def warm_up(self):
        """A subscription is live once a message reaches it; until every subscriber has had
        one, measured messages could be lost to subscribe races, not to the system."""
        self.ident = await self.publisher.prime()
        for _ in range(5):
            fut = self.hub.wait_all(self.ident, self.n)
            await self.publisher.send(self.ident)
            self.ident += 1
            try:
                await asyncio.wait_for(fut, 10)
                self.warmup_ok = True
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
        self.cpu += cpu_self() - c0

    def pending(self):
        return any(self.hub.counts[i] < self.n for i in self.sent_at)

    def close_rep(self):
        lat = []
        per_msg = defaultdict(list)
        for sub in self.hub.subs:
            for i, t0 in self.sent_at.items():
                t = sub.got.get(i)
                if t is None:
                    self.missing += 1
                else:
                    lat.append(t - t0)
                    per_msg[i].append(t - t0)
            self.dups += sub.dups
            sub.got.clear()
            sub.dups = 0
        self.sent += len(self.sent_at)
        self.p50.append(pct(lat, 50))
        self.p99.append(pct(lat, 99))
        self.first.append(med([min(v) for v in per_msg.values()]))
        self.spread.append(med([max(v) - min(v) for v in per_msg.values()]))
        self.hub.counts.clear()
        self.sent_at = {}

    def close(self):
        for sub in self.hub.subs:
            sub.close()

    def result(self):
        return {"kind": self.kind, "subs": self.n, "wanted": self.wanted, "connect_s": self.connect_s,
                "errors": self.errors, "warmup_ok": self.warmup_ok, "p50": self.p50, "p99": self.p99,
                "first": self.first, "spread": self.spread, "missing": self.missing, "dups": self.dups,
                "sent": self.sent, "deliveries": self.sent * self.n - self.missing, "bench_cpu": self.cpu,
                "lost_conns": sum(sub.lost for sub in self.hub.subs)}


async def delivery(n_subs, targets, reps, msgs, groups):
    """n_subs subscribers on each target; then reps batches of msgs rounds. A round sends one
    message per target, one target at a time (rotating which goes first), each only when every
    subscriber of the previous one has it: the app and the floor are measured interleaved, so
    background load from others on the machine falls on both alike."""
    deadline = time.monotonic() + SCENARIO_DEADLINE
    try:
        for t in targets:
            await t.connect(n_subs)
        live = [t for t in targets if t.n]
        for t in live:
            await t.warm_up()
        load = os.getloadavg()[0]
        with CpuMeter(groups) as cpu:
            for _ in range(reps):
                for i in range(msgs):
                    if time.monotonic() > deadline:
                        break
                    for t in live[i % len(live):] + live[:i % len(live)]:
                        await t.one()
                        await asyncio.sleep(PACE_GAP)
                if any(t.pending() for t in live):
                    await asyncio.sleep(GRACE)
                for t in live:
                    t.close_rep()
        out = {t.kind: t.result() for t in targets}
        out["_cpu"], out["_load"] = cpu, (load, os.getloadavg()[0])
        return out
    finally:
        for t in targets:
            t.close()
        await asyncio.sleep(0.2)


async def resume_ops(stack, room, newest, k):
    """SSE resume through the service URL with Last-Event-ID = newest - k: the call-back's
    Server-Timing (Pushpin passes it on) and how many message events arrived."""
    hub = Hub()
    raw = sse_request(stack.port, f"/rooms/{room}/events/", False,
                      {"Last-Event-ID": str(newest - k)})
    sub = Sub(hub, raw)
    loop = asyncio.get_running_loop()
    try:
        await loop.create_connection(lambda: sub, "127.0.0.1", stack.port)
        await asyncio.wait_for(sub.head_done, IO_TIMEOUT)
        end = time.monotonic() + 3
        while len(sub.got) < k and time.monotonic() < end:
            await asyncio.sleep(0.01)
        ops, dur = kv_ops(sub.headers)
        return ops, dur, len(sub.got)
    finally:
        sub.close()


# ------------------------------------------------------------------ the run

def machine():
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return f"{os.cpu_count()} CPUs ({model}), {mem} RAM, Linux {platform.release()}"


def versions():
    def out(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    return {"viceroy": out([str(VICEROY), "--version"]),
            "fastly": out([str(FASTLY_CLI), "version"]),
            "pushpin": out(["pushpin", "--version"]),
            "python": f"Python {platform.python_version()} asyncio ({type(asyncio.new_event_loop()).__name__})"}


def package_size(workdir):
    """`fastly compute pack --wasm-binary` in a temp dir: the real package file."""
    d = Path(tempfile.mkdtemp(prefix="bench-pack-", dir=workdir))
    shutil.copy(ROOT / "fastly.toml", d / "fastly.toml")
    name = tomllib.loads((ROOT / "fastly.toml").read_text())["name"]
    env = dict(os.environ, FASTLY_WASM_METADATA_DISABLE="true")
    r = subprocess.run([str(FASTLY_CLI), "compute", "pack", "--wasm-binary", str(APP_WASM),
                        "--non-interactive"], cwd=d, env=env, capture_output=True, text=True,
                       timeout=120)
    pkg = d / "pkg" / f"{name}.tar.gz"
    if r.returncode != 0 or not pkg.exists():
        raise RuntimeError(f"fastly compute pack failed: {r.stdout[-500:]} {r.stderr[-500:]}")
    return pkg.stat().st_size, f"pkg/{name}.tar.gz"


@contextlib.contextmanager
def app_stack(workdir, vlog, keep):
    s = stackmod.Stack(APP_WASM, message_rate=MESSAGE_RATE, keep_dir=keep)
    s.start()
    try:
        yield s
    finally:
        if s.dir:
            vlog.add(s.dir / "viceroy.log", app_classifier(s.pushpin_port))
            if keep:
                log(f"  (stack dir kept: {s.dir})")
        s.stop()


def groups_of(stack):
    return {"app pushpin": [stack.pushpin.pid], "viceroy": [stack.service.pid]}


def room():
    return f"bench-{uuid.uuid4().hex[:10]}"


def ms(x):
    return "—" if x != x else (f"{x * 1000:.2f}" if x < 0.1 else f"{x * 1000:.1f}")


def interleaved_gets(a, b, n):
    """n rounds of one GET on each of two keep-alive connections, alternating which goes
    first: both see the same background load. -> ({name: latencies}, {name: responses})."""
    conns = {name: Client(port) for name, (port, _) in (("a", a), ("b", b))}
    lat, resps = {"a": [], "b": []}, {"a": [], "b": []}
    try:
        for i in range(n):
            for name in (("a", "b") if i % 2 == 0 else ("b", "a")):
                path = (a if name == "a" else b)[1]
                dt, st, hd, bd = conns[name].request("GET", path)
                lat[name].append(dt)
                resps[name].append((st, hd, bd))
    finally:
        for c in conns.values():
            c.close()
    return lat, resps


def post_scenario(workdir, vlog, keep, reps, posters, each, rooms_per_poster):
    """posters concurrent keep-alive connections × each sequential POSTs, a fresh stack per
    repetition; one shared room, or one room per poster."""
    out = dict(p50=[], p99=[], ops=[], kvdur=[], status=Counter(), rate=[], heads=[])
    for _ in range(reps):
        with app_stack(workdir, vlog, keep) as s:
            base = room()
            seq_posts(s.port, "warmup-" + base, 5)
            rooms = [f"{base}-{p}" for p in range(posters)] if rooms_per_poster else [base] * posters
            lat, ops, kvdur, sts, wall = asyncio.run(concurrent_posts(s.port, rooms, each))
            out["p50"].append(pct(lat, 50))
            out["p99"].append(pct(lat, 99))
            out["ops"] += [o for o in ops if o is not None]
            out["kvdur"] += [d for d in kvdur if d is not None]
            out["status"] += sts
            out["rate"].append(len(lat) / wall)
            # Every 200 must own an id: each room's head equals the posts it got (ids 1..n).
            for r in sorted(set(rooms)):
                _, resps = seq_latency(s.port, "GET", f"/rooms/{r}/messages/?limit=1", 1)
                out["heads"].append(int(json.loads(resps[0][2])["last-event-id"]))
    out["n"] = posters * each
    return out


def run(args):
    quick = args.quick
    P = dict(
        reps=1 if quick else 3,
        seq_posts=60 if quick else 300,
        conc=(20, 5) if quick else (20, 25),
        history_seed=210 if quick else 250,
        history_n=150 if quick else 500,
        delivery={1: 30, 100: 15, 1000: 8} if quick else {1: 100, 100: 60, 1000: 30},
        handoff_subs=[100] if quick else [1, 100, 1000],
        resume_k=[0, 1, 50, 100] if quick else [0, 1, 10, 49, 50, 51, 100],
    )
    reps = P["reps"]
    workdir = Path(tempfile.mkdtemp(prefix="edge-chat-bench-"))
    started = time.monotonic()
    load0 = os.getloadavg()
    R = {}
    vlog = ViceroyLog()
    hello_log = ViceroyLog()
    try:
        # ---------------------------------------------------------- sizes
        log("bench: sizes")
        R["wasm"] = APP_WASM.stat().st_size
        R["hello_wasm"] = HELLO_WASM.stat().st_size
        R["pkg"], R["pkg_name"] = package_size(workdir)

        # ---------------------------------------------------------- history GET vs floor (a)
        log("bench: history GET interleaved with floor (a), the hello-world service; KV operations")
        with app_stack(workdir, vlog, args.keep) as s, hello_service(workdir) as (hport, hlog, hsid):
            r = room()
            _, ops, _, b = seq_posts(s.port, r, P["history_seed"])
            assert b == 0, "seeding posts failed"
            newest = P["history_seed"]
            path = f"/rooms/{r}/messages/"
            interleaved_gets((hport, "/"), (s.port, path), 50)  # warm both
            H = dict(hello_p50=[], hello_p99=[], p50=[], p99=[], ops=Counter(), kvdur=[])
            cpu = ServerCpu({"hello": [hsid], "app": [s.service.pid]})
            for _ in range(reps):
                with cpu:
                    lat, resps = interleaved_gets((hport, "/"), (s.port, path), P["history_n"])
                assert all(x[0] == 200 for x in resps["a"] + resps["b"])
                assert len(json.loads(resps["b"][0][2])["messages"]) == 50
                H["hello_p50"].append(pct(lat["a"], 50))
                H["hello_p99"].append(pct(lat["a"], 99))
                H["p50"].append(pct(lat["b"], 50))
                H["p99"].append(pct(lat["b"], 99))
                for x in resps["b"]:
                    o, d = kv_ops(x[1])
                    H["ops"][o] += 1
                    H["kvdur"].append(d)
            H.update(n=P["history_n"], room_size=newest)
            H["cpu_hello"] = cpu.per_request("hello", reps * P["history_n"])
            H["cpu_app"] = cpu.per_request("app", reps * P["history_n"])
            R["history"] = H
            # Floor (a) under concurrency: what 20 clients at once cost the same Viceroy.
            posters, each = P["conc"]
            lat = asyncio.run(concurrent_gets(hport, "/", posters, each * 2))
            R["hello_conc"] = dict(p50=pct(lat, 50), p99=pct(lat, 99), n=len(lat))
            hello_log.add(hlog, lambda m, u: "hello GET")

            def ops_of(p):
                _, resps = seq_latency(s.port, "GET", p, 5)
                return (Counter(kv_ops(x[1])[0] for x in resps), med([kv_ops(x[1])[1] for x in resps]),
                        len(json.loads(resps[0][2])["messages"]))
            R["paged"] = ops_of(f"{path}?before={newest - 100}&limit=100")
            R["hist100"] = ops_of(f"{path}?limit=100")
            # Resume with k missed messages (SSE through the service: handoff -> Pushpin ->
            # call-back; the call-back's Server-Timing reaches the client).
            R["resume"] = {k: asyncio.run(resume_ops(s, r, newest, k)) for k in P["resume_k"]}
            _, first = seq_latency(s.port, "POST", f"/rooms/{room()}/messages/", 1, post_body(0),
                                   {"Content-Type": "application/json"})
            R["post_first"] = kv_ops(first[0][1])

        # ---------------------------------------------------------- POST
        log(f"bench: POST sequential ({reps} fresh stacks × {P['seq_posts']})")
        p50s, p99s, ops_all, kvd, bad, cpus = [], [], [], [], 0, []
        for _ in range(reps):
            with app_stack(workdir, vlog, args.keep) as s:
                r = room()
                seq_posts(s.port, "warmup-" + r, 5)
                cpu = ServerCpu({"viceroy": [s.service.pid], "pushpin": [s.pushpin.pid]})
                with cpu:
                    lat, ops, kvdur, b = seq_posts(s.port, r, P["seq_posts"])
                cpus.append((cpu.per_request("viceroy", P["seq_posts"]), cpu.per_request("pushpin", P["seq_posts"])))
                p50s.append(pct(lat, 50))
                p99s.append(pct(lat, 99))
                ops_all += ops
                kvd += kvdur
                bad += b
        R["post_seq"] = dict(p50=p50s, p99=p99s, ops=Counter(ops_all), kvdur=kvd, bad=bad, n=P["seq_posts"],
                             cpu_viceroy=med([c[0] for c in cpus]), cpu_pushpin=med([c[1] for c in cpus]))
        posters, each = P["conc"]
        log(f"bench: POST {posters} concurrent posters × {each}, one room ({reps} fresh stacks)")
        R["post_conc"] = post_scenario(workdir, vlog, args.keep, reps, posters, each, False)
        log(f"bench: POST {posters} concurrent posters × {each}, a room each ({reps} fresh stacks)")
        R["post_conc_rooms"] = post_scenario(workdir, vlog, args.keep, reps, posters, each, True)

        # ---------------------------------------------------------- delivery
        R["delivery"] = {}
        with pushpin_floor(workdir) as pp:
            for n, msgs in P["delivery"].items():
                # A fresh app stack per size: connections and store from one size do not load
                # the next. The floor's Pushpin is shared, with a channel per size (its id
                # cache, id_cache_ttl, would drop reused ids).
                with app_stack(workdir, vlog, args.keep) as s:
                    kinds = ["floor", "app"] + (["handoff"] if n in P["handoff_subs"] else [])
                    log(f"bench: delivery, {n} subscriber(s) per path ({', '.join(kinds)}), "
                        f"{reps}×{msgs} messages each, interleaved")
                    chan = f"bench-{uuid.uuid4().hex[:8]}"
                    targets = [Target("floor", pp.pushpin_port, f"/bench/{chan}/", True,
                                      PushpinPublisher(pp, chan))]
                    r = room()
                    seq_posts(s.port, r, 1)
                    targets.append(Target("app", s.pushpin_port, f"/rooms/{r}/events/", True,
                                          AppPublisher(s, r)))
                    if "handoff" in kinds:
                        r = room()
                        seq_posts(s.port, r, 1)
                        targets.append(Target("handoff", s.port, f"/rooms/{r}/events/", False,
                                              AppPublisher(s, r)))
                    groups = {"floor pushpin": [pp.pushpin.pid], **groups_of(s)}
                    R["delivery"][n] = asyncio.run(delivery(n, targets, reps, msgs, groups))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    R["elapsed"] = time.monotonic() - started
    R["load"] = (load0, os.getloadavg())
    R["vlog"], R["hello_log"] = vlog, hello_log
    report(R, P, args)


# ------------------------------------------------------------------ the table

def mark(ok):
    return "met" if ok else "MISSED"


def mode(c):
    """The most common value of a Counter, and the full distribution when it is not unique."""
    c = Counter({k: v for k, v in c.items() if k is not None})
    if not c:
        return "?", ""
    top = c.most_common(1)[0][0]
    other = "" if len(c) == 1 else " (" + ", ".join(f"{k}: {v}×" for k, v in sorted(c.items())) + ")"
    return top, other


def report(R, P, args):
    reps = P["reps"]
    out = []
    w = out.append
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    v = versions()
    w(f"edge-chat bench — {now} — {'QUICK' if args.quick else 'full'} run, {reps} repetition(s); "
      f"times are the median over repetitions of each repetition's p50/p99")
    w(f"machine: {machine()}")
    w(f"tools:   {v['viceroy']}; fastly CLI {v['fastly']}; Pushpin {v['pushpin']} with "
      f"message_rate={MESSAGE_RATE} (app stacks and floor alike); {v['python']}")
    l0, l1 = R["load"]
    w(f"load:    before {l0[0]:.2f} {l0[1]:.2f} {l0[2]:.2f}; after {l1[0]:.2f} {l1[1]:.2f} {l1[2]:.2f} "
      f"(1/5/15 min; 2 cores shared with the load generator and anyone else's tests)")
    w("stacks:  a fresh stack (Pushpin + Viceroy, empty KV) per POST repetition, one for history/KV ops, one per")
    w("         subscriber count: Viceroy's KV list walks every key of the store under a write lock, so a store grown")
    w("         by earlier scenarios would slow later ones")
    w("")

    h = R["history"]
    hp50, hp99 = med(h["hello_p50"]), med(h["hello_p99"])
    p50, p99 = med(h["p50"]), med(h["p99"])
    ps, pc, pr = R["post_seq"], R["post_conc"], R["post_conc_rooms"]
    hr = p50 / hp50
    rows = [
        ("hello-world GET (floor a), same Viceroy", f"{h['n']}", hp50, hp99, "", "", ""),
        (f"history GET, 50 newest of {h['room_size']} (interleaved with floor a)", f"{h['n']}", p50, p99,
         f"{hr:.2f}× / {p99 / hp99:.2f}×", "p50 ≤ 2× hello", mark(hr <= 2)),
        ("POST, sequential (fresh stack per repetition)", f"{ps['n']}", med(ps["p50"]), med(ps["p99"]), "",
         "p50 ≤ 5 ms", mark(med(ps["p50"]) <= 0.005)),
        (f"hello-world GET (floor a), {P['conc'][0]} concurrent clients", f"{R['hello_conc']['n']}",
         R["hello_conc"]["p50"], R["hello_conc"]["p99"], "", "", ""),
        (f"POST, {P['conc'][0]} concurrent posters × {P['conc'][1]}, ONE room", f"{pc['n']}", med(pc["p50"]),
         med(pc["p99"]), "", "p50 ≤ 5 ms", mark(med(pc["p50"]) <= 0.005)),
        (f"POST, {P['conc'][0]} concurrent posters × {P['conc'][1]}, a room each", f"{pr['n']}", med(pr["p50"]),
         med(pr["p99"]), "", "(control)", ""),
    ]
    w("REQUEST LATENCY (client: write → last byte, keep-alive connections; ms)")
    w(f"  {'':<62} {'n/rep':>6} {'p50':>7} {'p99':>7}  {'vs floor p50/p99':<17} {'target':<15} status")
    for name, n, a_, b_, ratio, tgt, st in rows:
        w(f"  {name:<62} {n:>6} {ms(a_):>7} {ms(b_):>7}  {ratio:<17} {tgt:<15} {st}")
    w(f"  KV time inside the request (Server-Timing dur, median): history GET {med(h['kvdur']):.2f} ms; POST "
      f"sequential {med(ps['kvdur']):.2f} ms, one room {med(pc['kvdur']):.2f} ms, a room each {med(pr['kvdur']):.2f} ms")
    for name, c in (("one room", pc), ("a room each", pr)):
        heads = Counter(c["heads"])
        w(f"  concurrent, {name}: statuses {dict(c['status'])}, {med(c['rate']):.0f} posts/s, KV ops/post mean "
          f"{statistics.mean(c['ops']):.1f}, p99 {pct(c['ops'], 99):.0f}, max {max(c['ops'])}; room heads "
          f"{dict(heads)} (each = its posts: ids 1..n, no gaps)")
    w(f"  sequential: {ps['bad']} non-200")
    w(f"  server CPU per request (session CPU less idle background, /proc; 10 ms ticks, so ±): hello GET "
      f"{h['cpu_hello'] * 1000:.2f} ms, history GET {h['cpu_app'] * 1000:.2f} ms (Viceroy + fastly CLI); POST "
      f"{ps['cpu_viceroy'] * 1000:.2f} ms in Viceroy + {ps['cpu_pushpin'] * 1000:.2f} ms in Pushpin (its publish)")
    for name, c in (("one room", pc), ("a room each", pr)):
        w(f"  Little's law, {name}: {P['conc'][0]} in flight ÷ {med(c['rate']):.0f} posts/s = "
          f"{P['conc'][0] / med(c['rate']) * 1000:.1f} ms mean latency")
    w("")

    w("DELIVERY LATENCY (message sent → its `id:` line read at the subscriber; ms; one room/channel; every message to")
    w(f"every subscriber; the paths of one size are measured interleaved, message by message, {PACE_GAP * 1000:.0f} ms apart)")
    w(f"  {'subs':>5}  {'path':<46} {'msgs':>5} {'p50':>7} {'p99':>7} {'first':>7} {'spread':>7} {'missing':>7} "
      f"{'dups':>4}  {'p50/p99 vs floor':<16} {'target':<27} status")
    D = R["delivery"]
    paths = {"floor": "raw Pushpin ← POST /publish/ (floor b)",
             "app": "app: POST → Viceroy/KV → publish → Pushpin",
             "handoff": "app, subscribers via Viceroy handoff proxy"}
    for n in P["delivery"]:
        floor = D[n].get("floor")
        for kind in ("floor", "app", "handoff"):
            d = D[n].get(kind)
            if not d:
                continue
            p50, p99 = med(d["p50"]), med(d["p99"])
            ratio = tgt = st = ""
            if kind != "floor" and floor:
                f50, f99 = p50 / med(floor["p50"]), p99 / med(floor["p99"])
                ratio = f"{f50:.2f}× / {f99:.2f}×"
                if kind == "app" and n == 1000:
                    tgt = "p99 ≤ 1.2× floor, 0 missing"
                    st = mark(f99 <= 1.2 and d["missing"] == 0 and d["subs"] == n)
            subs = f"{d['subs']}" + ("" if d["subs"] == d["wanted"] else f"/{d['wanted']}!")
            w(f"  {subs:>5}  {paths[kind]:<46} {d['sent']:>5} {ms(p50):>7} {ms(p99):>7} {ms(med(d['first'])):>7} "
              f"{ms(med(d['spread'])):>7} {d['missing']:>7} {d['dups']:>4}  {ratio:<16} {tgt:<27} {st}")
    w("  msgs: messages per subscriber, all repetitions; missing/dups: (message, subscriber) pairs; first: median over")
    w("  messages of the fastest subscriber's latency (what happens before fan-out starts); spread: median of slowest")
    w("  minus fastest (the fan-out itself). 'app' subscribers attach to Pushpin with Pushpin-Route: self, as Fanout")
    w("  sits in front in production, where the service is not in the stream path; the handoff rows connect to")
    w("  Viceroy, which hands off and then proxies every stream's bytes itself (local-only).")
    w("")

    w("LOAD GENERATOR CHECK (delivery phases, from the first measured message to the last)")
    for n in P["delivery"]:
        dn = D[n]
        c = dn["_cpu"]
        w(f"  {n:>5} subs: {c.summary()}; load avg {dn['_load'][0]:.2f} → {dn['_load'][1]:.2f}")
        for kind in ("floor", "app", "handoff"):
            d = dn.get(kind)
            if not d:
                continue
            per = d["bench_cpu"] / max(d["deliveries"], 1) * 1e6
            w(f"         {kind:<8} bench {per:.0f} µs CPU per delivery ({d['deliveries']} deliveries); "
              f"subscribing took {d['connect_s']:.1f}s; warm-up {'ok' if d['warmup_ok'] else 'INCOMPLETE'}"
              + (f"; {d['lost_conns']} streams closed" if d.get("lost_conns") else "")
              + (f"; connect errors {d['errors']}" if d["errors"] else ""))
    w("  (viceroy includes its idle background threads, ~0.1 core here; bench = this process: subscribers,")
    w("   senders and parsing on one asyncio loop)")
    w("")

    w("SIZES")
    w(f"  {'release wasm (target/wasm32-wasip1/release/edge-chat.wasm)':<66} {R['wasm']:>10,} B")
    w(f"  {'package: fastly compute pack --wasm-binary → ' + R['pkg_name']:<66} {R['pkg']:>10,} B   "
      f"target ≤ 1 MB (1,000,000 B)  {mark(R['pkg'] <= 1_000_000)}")
    w(f"  {'hello-world floor wasm (for scale)':<66} {R['hello_wasm']:>10,} B")
    w("")

    w("KV OPERATIONS PER REQUEST (Server-Timing: kv;desc=\"N ops\";dur=D — ops, and median KV time in ms)")

    def kvrow(label, ops, dur, target=None, ok=None, extra=""):
        t = f"target ≤ {target:<3} {mark(ok)}" if target is not None else ""
        d = "" if dur is None or dur != dur else f"{dur:.2f}"
        w(f"  {label:<54} {ops!s:<6} {d:>6}   {t:<17} {extra}")

    ho, hx = mode(h["ops"])
    kvrow("GET history (50 newest)", ho, med(h["kvdur"]), 2, ho != "?" and ho <= 2, hx)
    po, px = mode(ps["ops"])
    kvrow("POST, uncontended (sequential, room not empty)", po, med(ps["kvdur"]), 3, po != "?" and po <= 3, px)
    kvrow("POST, first message of an empty room", R["post_first"][0], R["post_first"][1])
    kvrow(f"POST, {P['conc'][0]} concurrent posters, one room", f"{statistics.mean(pc['ops']):.1f}",
          med(pc["kvdur"]), extra=f"mean; p99 {pct(pc['ops'], 99):.0f}, max {max(pc['ops'])}")
    for label, (c, dur, cnt) in (("GET history ?before=newest-100&limit=100", R["paged"]),
                                  ("GET history ?limit=100", R["hist100"])):
        o, x = mode(c)
        kvrow(label, o, dur, extra=f"{cnt} messages{x}")
    for k, (ops, dur, got) in R["resume"].items():
        limit = 2 + -(-k // 50)
        kvrow(f"SSE resume, Last-Event-ID = newest-{k} (missed {k})", ops, dur, limit,
              ops is not None and ops <= limit and got == k, f"{got} message events replayed")
    w("  (resume: GET /rooms/<r>/events/ at the service → handoff → Pushpin → signed call-back; the header is the")
    w("   call-back's, passed on by Pushpin)")
    w("")

    w("WEBASSEMBLY HEAP PER REQUEST (Viceroy log: \"request completed using X MiB of WebAssembly heap\"; "
      "Viceroy-measured execution time)")
    vl, hl = R["vlog"], R["hello_log"]
    for name, lg in (("hello GET", hl), *[(k, vl) for k in sorted(vl.heap)]):
        hs, ds = lg.heap.get(name, []), lg.dur.get(name, [])
        if not hs:
            continue
        w(f"  {name:<28} heap median {med(hs):.1f} MiB, max {max(hs):.1f} MiB; "
          f"execution median {med(ds):.2f} ms, p99 {pct(ds, 99):.2f} ms   ({len(hs)} requests)")
    w("")
    w(f"total bench time {R['elapsed']:.0f}s")
    print("\n".join(out), flush=True)


def main():
    ap = argparse.ArgumentParser(description="edge-chat benchmark (see scripts/bench)")
    ap.add_argument("--quick", action="store_true", help="small run: 1 repetition, fewer requests")
    ap.add_argument("--keep", action="store_true", help="keep each stack's directory (logs)")
    args = ap.parse_args()

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 8192:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    try:
        run(args)
    except KeyboardInterrupt:
        log("bench: interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
