#!/usr/bin/env python3
"""edge-chat fuzz run: thousands of generated, mostly-malformed requests straight at the
service (Viceroy) and through Pushpin (standing in for Fanout), then proof that the stored
messages survived.

Why: the service is the only code between the internet and the KV store, and every request
instantiates it afresh, so a panic is a 500 with a wasm backtrace for that client and a
malformed input that stores something is permanent. The goal is 0 5xx and 0 panics from the
service's own code, 0 hangs on the service port, and stored messages exactly as posted.

How: requests start from valid templates of every route and get a few mutations each
(scripts/fuzz.d/fuzz_gen.py and fuzz_mut.py, fuzz_body.py); they go over raw sockets
(fuzz_wire.py) so anything can be sent; each answer is attributed to whoever produced it and
checked by a few oracles (fuzz_report.py); panics are read from viceroy.log and replayed to a
minimal request (fuzz_panic.py); seeded rooms are read back in full (fuzz_check.py).

Run through scripts/fuzz (which builds first). `run_fuzz(stack, count, seed)` is the same run
against a stack someone else started (tests/test_fuzz.py).
"""

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "fuzz.d")]
import fuzz_check  # noqa: E402
import fuzz_gen  # noqa: E402
import fuzz_grip  # noqa: E402
import fuzz_panic  # noqa: E402
import fuzz_report  # noqa: E402
import fuzz_wire  # noqa: E402
import stack as stackmod  # noqa: E402

ROOT = HERE.parent
WASM = Path(os.environ.get("EDGE_CHAT_WASM", ROOT / "bin/main.wasm"))
SEED_ROOMS = (3, 7, 130)  # messages per seeded room; 130 spans more than one backlog page
POOL_ROOMS = 6  # other rooms the requests aim at, so posts pile up where reads look
PROGRESS_EVERY = 1000


@dataclass
class Report:
    seed: int
    count: int
    commit: str
    wasm: str
    seconds: float
    targets: list[fuzz_report.TargetStats]
    panics: fuzz_panic.PanicReport
    integrity: fuzz_check.Integrity

    @property
    def panic_count(self):
        return self.panics.count

    def target(self, name):
        return next((t for t in self.targets if t.name == name), None)

    def failures(self):
        found = [f"{t.service_5xx} 5xx from the service ({t.name} port)"
                 for t in self.targets if t.service_5xx]
        service = self.target("service")
        if service:
            found += [f"{service.outcomes[o]} {o} on the service port"
                      for o in ("hang", "refused") if service.outcomes[o]]
        if self.panic_count:
            found.append(f"{self.panic_count} service panics/traps in viceroy.log")
        if not self.integrity.intact:
            found.append("stored messages changed")
        return found

    @property
    def ok(self):
        return not self.failures()

    def text(self):
        out = [f"edge-chat fuzz: seed {self.seed}, {self.count} requests per target, "
               f"commit {self.commit}, {self.seconds:.0f} s\nwasm {self.wasm}", "", fuzz_report.table(self)]
        for t in self.targets:
            for kind, examples in sorted(t.examples.items()):
                limit = fuzz_report.EXAMPLE_LIMIT if kind in ("5xx from service", "5xx from trap") else 2
                out.append(f"\n{t.name} port, {kind} ({min(limit, len(examples))} shown of "
                           f"{t.example_counts[kind]}):")
                out += [e.describe() for e in examples[:limit]]
        if self.panics.panics:
            out += ["\npanics and traps:", self.panics.describe()]
        if self.integrity.problems:
            out.append("\nstored-message problems:")
            out += [f"  {p}" for p in self.integrity.problems[:20]]
        verdict = self.failures()
        out.append("\n" + ("FAIL: " + "; ".join(verdict) if verdict else "PASS"))
        return "\n".join(out)


@dataclass
class _Sink:
    """What the checks after the run need from the exchanges."""
    accepted: list[fuzz_check.Accepted] = field(default_factory=list)
    answers_by_tag: dict[str, str] = field(default_factory=dict)
    candidates: list[fuzz_panic.Candidate] = field(default_factory=list)

    def note(self, stats, port, spec, answer, source):
        tag = spec.tag.strip("[]")
        if tag:
            self.answers_by_tag[tag] = f"{answer.outcome} {answer.status or ''}".strip()
        if source == "trap" or answer.outcome == "wait":
            self.candidates.append(fuzz_panic.Candidate(stats.name, port, spec, source == "trap"))
        if spec.method == b"POST" and source == "service" and 200 <= answer.status < 300:
            self._accept(stats, spec, answer, tag)

    def _accept(self, stats, spec, answer, tag):
        try:
            message = json.loads(answer.body)
            message["id"]
        except (ValueError, TypeError, KeyError):
            return  # an oracle counts it (fuzz_report.violations)
        stats.stored += 1
        self.accepted.append(fuzz_check.Accepted(tag, fuzz_check.literal_room(spec.target), message))


async def _fuzz_target(stats, port, ctx, count, seed, concurrency, timeout, sink, progress):
    indices = iter(range(count))

    async def worker():
        for i in indices:
            spec = fuzz_gen.generate(seed, i, ctx)
            request = spec.render()
            answer = await fuzz_wire.exchange(port, request, timeout, spec.method == b"HEAD",
                                              spec.incomplete)
            source = fuzz_report.record(stats, spec, request, answer)
            sink.note(stats, port, spec, answer, source)
            if progress and stats.sent % PROGRESS_EVERY == 0:
                progress(f"fuzz: {stats.name} {stats.sent}/{count}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def run_fuzz(stack, count, seed, targets=("service", "pushpin"), concurrency=8, timeout=5.0,
             seed_rooms=SEED_ROOMS, progress=None):
    """Fuzzes a running stack.Stack; returns the Report (nothing is printed but progress)."""
    started, commit = time.monotonic(), _commit()
    window = fuzz_panic.LogWindow(Path(stack.dir) / "viceroy.log")
    window.start = window.size()
    seeded = fuzz_check.seed(stack.url, {f"fz{seed}-seed{k}": n for k, n in enumerate(seed_rooms)})
    rooms = [f"fz{seed}-r{k}" for k in range(POOL_ROOMS)] + list(seeded)
    assets, signing = _assets(stack.url), _signing()
    sink, all_stats = _Sink(), []
    for name in targets:
        port = stack.port if name == "service" else stack.pushpin_port
        route = [(b"Pushpin-Route", b"self")] if name == "pushpin" else []
        ctx = fuzz_gen.Context(f"127.0.0.1:{port}", name[0], rooms, assets, signing, route)
        stats = fuzz_report.TargetStats(name)
        asyncio.run(_fuzz_target(stats, port, ctx, count, seed, concurrency, timeout, sink, progress))
        all_stats.append(stats)
    panics = fuzz_panic.PanicReport(fuzz_panic.panics_in(window.text()))
    if panics.panics:
        asyncio.run(fuzz_panic.reproduce(window, panics.panics, sink.candidates, timeout))
    integrity = fuzz_check.verify(stack.url, seeded, sink.accepted, sink.answers_by_tag)
    return Report(seed, count, commit, str(getattr(stack, "wasm", "?")), time.monotonic() - started,
                  all_stats, panics, integrity)


def _assets(base_url):
    with urllib.request.urlopen(base_url + "/", timeout=10) as resp:
        return sorted(set(re.findall(r'/static/[^"\s>]+', resp.read().decode())))


def _signing():
    with open(stackmod.MANIFEST, "rb") as f:
        return fuzz_grip.Signing(*stackmod.grip_signing(tomllib.load(f)))


def _commit():
    git = lambda *a: subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True,  # noqa: E731
                                    text=True).stdout.strip()
    dirty = git("status", "--porcelain", "--", "src", "build.rs", "Cargo.toml", "static")
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{head} + uncommitted source changes" if dirty else head


# ------------------------------------------------------------------ CLI

def main(argv=None):
    ap = argparse.ArgumentParser(description="Fuzz edge-chat's local stack with malformed requests.")
    ap.add_argument("--count", type=int, default=10_000, help="requests per target (default 10000)")
    ap.add_argument("--seed", type=int, help="generator seed (default: random, printed)")
    ap.add_argument("--target", choices=("service", "pushpin", "both"), default="both")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=5.0,
                    help="seconds an answer may take after the request was sent; longer is a hang")
    ap.add_argument("--keep", action="store_true", help="keep the stack's directory (logs)")
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    targets = ("service", "pushpin") if args.target == "both" else (args.target,)

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)

    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    # Open mode, as the test suite's shared stack: the fuzz templates post with `from`.
    stack = stackmod.Stack(WASM, keep_dir=args.keep, config={"auth_mode": "open"})
    try:
        log(f"fuzz: seed {seed}; starting the local stack")
        stack.start()
        report = run_fuzz(stack, args.count, seed, targets, args.concurrency, args.timeout,
                          progress=log)
    except KeyboardInterrupt:
        return 130
    finally:
        stack.stop()
        if args.keep and stack.dir:
            log(f"fuzz: stack logs kept in {stack.dir}")
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
