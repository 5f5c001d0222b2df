"""Panics and traps of the guest, read from the stack's viceroy.log, each with a request that
reproduces it. Viceroy's own panics (its tokio threads, not the guest's 'main') are listed
apart: they are the local runtime's defects, not the service's.

Concurrent requests interleave in the log, so the log alone cannot say which request
panicked. Instead every request that was answered with a trap is a candidate; candidates
are replayed one at a time, shortest first, until one makes the same panic appear in the
log again, and that one is shrunk (headers and body dropped while the panic persists).
A panic no candidate reproduces (say, one after the answer was sent) is reported with the
method and URL Viceroy logged for the request it trapped in.
"""

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import fuzz_wire

PANIC = re.compile(r"thread '([^']*)'[^\n]* panicked at ([^\n]+?):\n([^\n]*)")
TRAP = re.compile(r"request\{id=(\d+)\}: WebAssembly trapped:.*?Caused by:\n\s*([^\n]+)", re.S)
HANDLING = re.compile(r"request\{id=(\d+)\}: handling request ([^\n]*)")
REPLAYS_PER_PANIC = 12
HOST_REPLAYS = 3  # each costs a wait: the request is one the server waits on
LOG_WAIT = 0.5  # after the answer, for the panic to reach the log


@dataclass
class Panic:
    where: str
    message: str
    count: int
    guest: bool = True  # False: Viceroy itself panicked
    seen_on: str = ""  # "METHOD URL" Viceroy logged for one request it happened in
    reproduction: bytes = b""  # a minimal request that reproduces it
    target: str = ""

    @property
    def signature(self):
        return f"{self.message} (at {self.where})" + ("" if self.guest else " [Viceroy]")


@dataclass
class Candidate:
    """A request that was answered with a trap (for guest panics), or one the server waited
    on until the fuzzer gave up (for Viceroy's)."""
    target: str
    port: int
    spec: object  # fuzz_gen.Spec
    trapped: bool


@dataclass
class LogWindow:
    path: Path
    start: int = 0

    def text(self):
        with open(self.path, "rb") as f:
            f.seek(self.start)
            return f.read().decode("utf-8", "replace")

    def size(self):
        return self.path.stat().st_size


def panics_in(text):
    """Distinct panics, plus traps that were not panics (stack overflow, out of memory)."""
    counts = Counter(PANIC.findall(text))
    found = [Panic(where, msg, n, thread == "main", _seen_on(text, where, msg) if thread == "main" else "")
             for (thread, where, msg), n in counts.items()]
    causes = Counter(cause for _, cause in TRAP.findall(text) if "unreachable" not in cause)
    found += [Panic("wasm trap", cause, n) for cause, n in causes.items()]
    return found


def _seen_on(text, where, message):
    at = text.find(f" panicked at {where}:\n{message}")
    trap = TRAP.search(text, at)
    if not trap:
        return ""
    handled = {rid: what for rid, what in HANDLING.findall(text[:trap.start()])}
    return handled.get(trap.group(1), "")


async def _reproduces(window, port, request, panic, timeout):
    start = window.size()
    await fuzz_wire.exchange(port, request, timeout, incomplete=not panic.guest)
    deadline = time.monotonic() + LOG_WAIT
    needle = f" panicked at {panic.where}:\n{panic.message}" if panic.where != "wasm trap" else panic.message
    while time.monotonic() < deadline:
        if needle in LogWindow(window.path, start).text():
            return True
        await asyncio.sleep(0.05)
    return False


def _named_header(panic):
    match = re.search(r"header: ([\w-]+)", panic.message)
    return match.group(1).encode() if match else None


def _short_body(spec):
    """A request whose body is shorter than its Content-Length (Viceroy buffers such bodies)."""
    return spec.raw is None and spec.header(b"Content-Length") and not spec.header(b"Transfer-Encoding")


async def _shrink(window, cand, panic, timeout):
    """Drops headers (Host last) and the body while the panic still reproduces."""
    spec = cand.spec
    for name, value in sorted(spec.headers, key=lambda h: h[0].lower() == b"host"):
        trial = [h for h in spec.headers if h != (name, value)]
        saved, spec.headers = spec.headers, trial
        if not await _reproduces(window, cand.port, spec.render(), panic, timeout):
            spec.headers = saved
    if spec.body and spec.raw is None:
        saved = spec.body, spec.headers
        spec.body = b""
        framing = (b"content-length", b"transfer-encoding")
        spec.headers = [h for h in spec.headers if h[0].lower() not in framing]
        if not await _reproduces(window, cand.port, spec.render(), panic, timeout):
            spec.body, spec.headers = saved
    return spec.render()


async def reproduce(window, panics, candidates, timeout):
    """Fills in each panic's reproduction from the candidates (sequential replays)."""
    ordered = sorted(candidates, key=lambda c: len(c.spec.render()))
    for panic in panics:
        fitting = [c for c in ordered if c.trapped == panic.guest and (panic.guest or _short_body(c.spec))]
        named = _named_header(panic)  # "non-UTF-8 ... for header: origin": try those first
        fitting.sort(key=lambda c: named is not None and c.spec.header(named) is None)
        for cand in fitting[:REPLAYS_PER_PANIC if panic.guest else HOST_REPLAYS]:
            if await _reproduces(window, cand.port, cand.spec.render(), panic, timeout):
                # Not Viceroy's panics: each try costs a wait.
                shrunk = await _shrink(window, cand, panic, timeout) if panic.guest else None
                panic.reproduction = shrunk or cand.spec.render()
                panic.target = cand.target
                break


@dataclass
class PanicReport:
    panics: list[Panic] = field(default_factory=list)

    @property
    def count(self):
        """Panics and traps of the service (the guest)."""
        return sum(p.count for p in self.panics if p.guest)

    @property
    def viceroy_count(self):
        return sum(p.count for p in self.panics if not p.guest)

    def describe(self):
        lines = []
        for p in self.panics:
            lines.append(f"  {p.count} x {p.signature}")
            if p.seen_on:
                lines.append(f"    logged for: {p.seen_on}")
            if p.reproduction:
                lines.append(f"    reproduce ({p.target} port): {p.reproduction[:400]!r}")
            else:
                lines.append("    no candidate request reproduced it")
        return "\n".join(lines)
