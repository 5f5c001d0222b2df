"""What the bench measures, scenario by scenario, each returning a results dataclass.

A fresh app stack (empty KV) per POST repetition, one for history and KV operations, one per
subscriber count and shaper mode: Viceroy's KV list walks every key of the store under a write
lock, so a store grown by earlier scenarios would slow later ones.
"""

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
import tomllib
import uuid
from pathlib import Path

import stack as stackmod

from . import APP_WASM, HELLO_WASM, ROOT, baseline, log
from .app import app_stack, post_raw, room, sessions_of
from .delivery import AppPublisher, PushpinPublisher, Target, delivery
from .floors import hello_service, pushpin_floor
from .presence import presence_cost
from .http import AsyncClient, Client, build_request
from .measure import ServerCpu, kv_ops, med, pct
from .results import (History, KvCosts, KvFigures, KvSample, Latency, PostConc, PostSeq, Resume,
                      ShaperMode, SizeBaseline, Sizes, shaper_name)
from .sse import Hub, sse_request, subscribe
from .viceroy_log import hello_classifier
from .ws import connect_ws_subs

WARM_REQUESTS = 50  # untimed rounds before the history GET is measured
RESUME_WAIT = 3  # seconds for a resumed stream's replay to arrive


# ------------------------------------------------------------------ request loops

def seq_latency(port, method, path, n):
    """n sequential requests on one keep-alive connection -> (latencies s, [(status, headers, body)])."""
    c = Client(port)
    lat, resps = [], []
    try:
        for _ in range(n):
            dt, st, hd, bd = c.request(method, path)
            lat.append(dt)
            resps.append((st, hd, bd))
    finally:
        c.close()
    return lat, resps


def seq_posts(port, room_id, n, kv=None):
    """n POSTs back to back on one connection, KV figures into kv (KvFigures) if given
    -> (latencies, non-200 count)."""
    c = Client(port)
    lat, bad = [], 0
    try:
        for i in range(n):
            dt, st, hd, _ = c.send(post_raw(port, room_id, i))
            lat.append(dt)
            bad += st != 200
            if kv is not None:
                kv.add(hd)
    finally:
        c.close()
    return lat, bad


def interleaved_gets(a, b, n):
    """n rounds of one GET on each of two keep-alive connections, a and b as (port, path),
    alternating which goes first: both see the same background load.
    -> ({"a"|"b": latencies}, {"a"|"b": responses})."""
    targets = {"a": a, "b": b}
    conns = {name: Client(port) for name, (port, _) in targets.items()}
    lat, resps = {"a": [], "b": []}, {"a": [], "b": []}
    try:
        for i in range(n):
            for name in (("a", "b") if i % 2 == 0 else ("b", "a")):
                dt, st, hd, bd = conns[name].request("GET", targets[name][1])
                lat[name].append(dt)
                resps[name].append((st, hd, bd))
    finally:
        for c in conns.values():
            c.close()
    return lat, resps


async def concurrent_gets(port, path, clients, each):
    lat = []

    async def client():
        c = AsyncClient(port)
        try:
            for _ in range(each):
                _, dt, st, _, _ = await c.send(build_request("GET", path, port))
                assert st == 200
                lat.append(dt)
        finally:
            c.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return lat


async def concurrent_posts(port, rooms, each, res):
    """One keep-alive connection per entry of rooms, each posting `each` messages to its room
    back to back, all at once; latencies and KV figures go into res (PostConc).
    -> (latencies, wall seconds)."""
    lat = []

    async def poster(p, r):
        c = AsyncClient(port)
        try:
            for i in range(each):
                _, dt, st, hd, _ = await c.send(post_raw(port, r, p * 1000 + i))
                lat.append(dt)
                res.kv.add(hd)
                res.status[st] += 1
        finally:
            c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(poster(p, r) for p, r in enumerate(rooms)))
    return lat, time.perf_counter() - t0


async def resume(s, room_id, newest, k):
    """SSE resume through the service URL with Last-Event-ID = newest - k (handoff -> Pushpin
    -> signed call-back, whose Server-Timing Pushpin passes on) -> Resume."""
    raw = sse_request(s.port, f"/rooms/{room_id}/events/", False, {"Last-Event-ID": str(newest - k)})
    sub = await subscribe(Hub(), s.port, raw)
    try:
        end = time.monotonic() + RESUME_WAIT
        while len(sub.got) < k and time.monotonic() < end:
            await asyncio.sleep(0.01)
        return Resume(*kv_ops(sub.headers), len(sub.got))
    finally:
        sub.close()


def newest_id(port, room_id):
    _, resps = seq_latency(port, "GET", f"/rooms/{room_id}/messages/?limit=1", 1)
    return int(json.loads(resps[0][2])["last-event-id"])


# ------------------------------------------------------------------ scenarios

class Scenarios:
    """The scenarios of one run: its Params, a work dir, and the ViceroyLog every app stack's
    log goes into (keep: leave each stack's dir behind)."""

    def __init__(self, params, workdir, vlog, keep):
        self.p, self.workdir, self.vlog, self.keep = params, workdir, vlog, keep

    def stack(self, message_rate=None):
        return app_stack(self.vlog, self.keep, message_rate)

    def sizes(self):
        """The current build's, and with --size-baseline the other revision's, built now."""
        pkg, name = package_size(self.workdir)
        sizes = Sizes(APP_WASM.stat().st_size, HELLO_WASM.stat().st_size, pkg, name,
                      baseline.parts(APP_WASM, ROOT / "target"))
        if rev := self.p.size_baseline:
            commit, since, wasm, manifest = baseline.build(rev, self.workdir)
            sizes.baseline = SizeBaseline(rev, commit, since, wasm.stat().st_size,
                                          package_size(self.workdir, wasm, manifest)[0],
                                          baseline.parts(wasm, baseline.TARGET))
        return sizes

    def history(self, hello_log):
        """History GET against floor (a), floor (a) under concurrency, and the KV costs of
        paging, resume and a first post. -> (History, Latency, KvCosts)."""
        p = self.p
        with self.stack() as s, hello_service(self.workdir) as (hport, hlog, hsid):
            r = room()
            _, bad = seq_posts(s.port, r, p.history_seed)
            assert bad == 0, "seeding posts failed"
            path = f"/rooms/{r}/messages/"
            interleaved_gets((hport, "/"), (s.port, path), WARM_REQUESTS)
            h = History(n=p.history_n, room_size=p.history_seed)
            cpu = ServerCpu({"hello": [hsid], "app": [s.service.pid]})
            for _ in range(p.reps):
                with cpu:
                    lat, resps = interleaved_gets((hport, "/"), (s.port, path), p.history_n)
                self._add_history(h, lat, resps)
            h.cpu_hello = cpu.per_request("hello", p.reps * p.history_n)
            h.cpu_app = cpu.per_request("app", p.reps * p.history_n)
            # Floor (a) under concurrency: what as many clients as posters cost the same Viceroy.
            lat = asyncio.run(concurrent_gets(hport, "/", p.posters, p.posts_each * 2))
            hello_log.add(hlog, hello_classifier)
            return h, Latency(pct(lat, 50), pct(lat, 99), len(lat)), self._kv_costs(s, r)

    @staticmethod
    def _add_history(h, lat, resps):
        assert all(x[0] == 200 for x in resps["a"] + resps["b"])
        assert len(json.loads(resps["b"][0][2])["messages"]) == 50
        h.hello.add(lat["a"])
        h.app.add(lat["b"])
        for x in resps["b"]:
            h.kv.add(x[1])

    def _kv_costs(self, s, r):
        newest = self.p.history_seed
        path = f"/rooms/{r}/messages/"

        def sample(p):
            _, resps = seq_latency(s.port, "GET", p, 5)
            kv = KvFigures()
            for x in resps:
                kv.add(x[1])
            return KvSample(kv, len(json.loads(resps[0][2])["messages"]))
        paged, hist100 = sample(f"{path}?before={newest - 100}&limit=100"), sample(f"{path}?limit=100")
        resumes = {k: asyncio.run(resume(s, r, newest, k)) for k in self.p.resume_k}
        first = KvFigures()
        seq_posts(s.port, room(), 1, first)
        return KvCosts(paged, hist100, resumes, first)

    def post_sequential(self):
        p = self.p
        res, cpus = PostSeq(n=p.seq_posts), []
        for _ in range(p.reps):
            with self.stack() as s:
                r = room()
                seq_posts(s.port, "warmup-" + r, 5)
                cpu = ServerCpu({"viceroy": [s.service.pid], "pushpin": [s.pushpin.pid]})
                with cpu:
                    lat, bad = seq_posts(s.port, r, p.seq_posts, res.kv)
                cpus.append((cpu.per_request("viceroy", p.seq_posts), cpu.per_request("pushpin", p.seq_posts)))
                res.lat.add(lat)
                res.bad += bad
        res.cpu_viceroy, res.cpu_pushpin = med([c[0] for c in cpus]), med([c[1] for c in cpus])
        return res

    def post_concurrent(self, room_each):
        """posters concurrent keep-alive connections × posts_each sequential POSTs, a fresh
        stack per repetition; one shared room, or one room per poster."""
        p = self.p
        res = PostConc(n=p.posters * p.posts_each)
        for _ in range(p.reps):
            with self.stack() as s:
                base = room()
                seq_posts(s.port, "warmup-" + base, 5)
                rooms = [f"{base}-{i}" for i in range(p.posters)] if room_each else [base] * p.posters
                lat, wall = asyncio.run(concurrent_posts(s.port, rooms, p.posts_each, res))
                res.lat.add(lat)
                res.rate.append(len(lat) / wall)
                # Every 200 must own an id: each room's head equals the posts it got (ids 1..n).
                res.heads += [newest_id(s.port, r) for r in sorted(set(rooms))]
        return res

    def delivery(self, message_rate):
        """Every subscriber count with Pushpin's shaper as message_rate says, app and floor
        alike. A fresh app stack per size: connections and store from one size do not load
        the next. The floor's Pushpin is shared, with a channel per size (its id cache,
        id_cache_ttl, would drop reused ids). -> ShaperMode."""
        mode = ShaperMode(message_rate)
        with pushpin_floor(self.workdir, message_rate) as pp:
            for n, msgs in self.p.delivery.items():
                with self.stack(message_rate) as s:
                    targets = self._targets(pp, s, n in self.p.handoff_subs)
                    log(f"bench: delivery, shaper {shaper_name(message_rate)}, {n} subscriber(s) per path "
                        f"({', '.join(t.res.kind for t in targets)}), {self.p.reps}×{msgs} messages each, "
                        f"interleaved")
                    sessions = {"floor pushpin": [pp.pushpin.pid], **sessions_of(s)}
                    mode.runs[n] = asyncio.run(delivery(n, targets, self.p.reps, msgs, sessions))
        return mode

    def presence(self):
        return presence_cost(self.p.presence_secs)

    @staticmethod
    def _targets(pp, s, handoff):
        chan = f"bench-{uuid.uuid4().hex[:8]}"
        targets = [Target("floor", pp.pushpin_port, f"/bench/{chan}/", True, PushpinPublisher(pp, chan))]
        paths = [("app", s.pushpin_port, True)] + ([("handoff", s.port, False)] if handoff else [])
        for kind, port, via_pushpin in paths:
            r = room()
            seq_posts(s.port, r, 1)
            targets.append(Target(kind, port, f"/rooms/{r}/events/", via_pushpin, AppPublisher(s, r)))
        # The same app path over a WebSocket (WebSocket-over-HTTP), beside SSE.
        r = room()
        seq_posts(s.port, r, 1)
        targets.append(Target("ws", s.pushpin_port, f"/rooms/{r}/ws", True, AppPublisher(s, r), connect_ws_subs))
        return targets


def package_size(workdir, wasm=APP_WASM, manifest=ROOT / "fastly.toml"):
    """`fastly compute pack --wasm-binary` in a temp dir: the real package file."""
    d = Path(tempfile.mkdtemp(prefix="bench-pack-", dir=workdir))
    shutil.copy(manifest, d / "fastly.toml")
    name = tomllib.loads(Path(manifest).read_text())["name"]
    r = subprocess.run([str(stackmod.FASTLY_CLI), "compute", "pack", "--wasm-binary", str(wasm),
                        "--non-interactive"], cwd=d, env=dict(os.environ, FASTLY_WASM_METADATA_DISABLE="true"),
                       capture_output=True, text=True, timeout=120)
    pkg = d / "pkg" / f"{name}.tar.gz"
    if r.returncode != 0 or not pkg.exists():
        raise RuntimeError(f"fastly compute pack failed: {r.stdout[-500:]} {r.stderr[-500:]}")
    return pkg.stat().st_size, f"pkg/{name}.tar.gz"
