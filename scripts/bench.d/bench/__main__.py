"""CLI: scripts/bench runs `python -m bench` with the venv's python (stack.py needs tomli_w)
and scripts/ plus scripts/bench.d on PYTHONPATH. The order of scenarios is here; what each
measures is in scenarios.py, the table in report.py."""

import argparse
import asyncio
import contextlib
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import stack as stackmod

from . import identity, kv_latency, log, membership, mentions, moderation, round_trips, verify
from .report import render
from .results import FANOUT_LIKE, Params, Run
from .scenarios import Scenarios
from .viceroy_log import ViceroyLog

SHAPED_RATE = 1_000_000  # deliveries/s: the shaper-on mode, as the bench measured before
OPEN_FILES = 8192  # 1,000 subscribers per path, three paths, plus the servers' side
# --only NAME: the scenario's function (Scenarios -> rows) and report (writer, rows, Params)
ONLY = {"kv-latency": (kv_latency.kv_latency, kv_latency.report),
        "round-trips": (round_trips.round_trips, round_trips.report),
        "verify": (verify.verify_times, verify.report),
        "membership": (membership.membership_costs, membership.report),
        "mentions": (mentions.mentions_cost, mentions.report)}


def message_rate(text):
    return FANOUT_LIKE if text == "off" else int(text)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="scripts/bench", description="edge-chat benchmark (see scripts/bench)")
    ap.add_argument("--quick", action="store_true", help="small run: 1 repetition, fewer requests")
    ap.add_argument("--keep", action="store_true", help="keep each stack's directory (logs)")
    ap.add_argument("--size-baseline", metavar="REV",
                    help="also build REV (e.g. 79b5e73, before passkeys) in a temporary git worktree and "
                         "report its wasm and package sizes beside the current build's")
    ap.add_argument("--message-rate", type=message_rate, action="append", metavar="off|N",
                    help="Pushpin publish shaper for the delivery rows: 'off' (message_rate unset, as "
                         f"Fanout) or N deliveries/s; repeatable (default: off and {SHAPED_RATE})")
    ap.add_argument("--only", choices=list(ONLY),
                    help="run one scenario alone: kv-latency = posts at 0 and 30 ms per KV operation; "
                         "round-trips = KV round trips and latency per request kind at 0 and 30 ms; "
                         "verify = passkey sign-in time per algorithm (ES256, EdDSA, RS256); "
                         "membership = history and post in a public and a private room (the gate's cost); "
                         "mentions = a signed-in post with 0, 1 and 5 mentions")
    args = ap.parse_args(argv)
    args.message_rate = args.message_rate or [FANOUT_LIKE, SHAPED_RATE]
    return args


def run(params, keep):
    workdir = Path(tempfile.mkdtemp(prefix="edge-chat-bench-"))
    started, load0 = time.monotonic(), os.getloadavg()
    vlog, hello_log = ViceroyLog(), ViceroyLog()
    sc = Scenarios(params, workdir, vlog, keep)
    try:
        log("bench: sizes")
        sizes = sc.sizes()
        log("bench: history GET interleaved with floor (a), the hello-world service; KV operations")
        history, hello_conc, kv = sc.history(hello_log)
        log(f"bench: POST sequential ({params.reps} fresh stacks × {params.seq_posts})")
        post_seq = sc.post_sequential()
        conc = f"{params.posters} concurrent posters × {params.posts_each}"
        log(f"bench: POST {conc}, one room ({params.reps} fresh stacks)")
        post_conc = sc.post_concurrent(room_each=False)
        log(f"bench: POST {conc}, a room each ({params.reps} fresh stacks)")
        post_conc_rooms = sc.post_concurrent(room_each=True)
        log(f"bench: POST at {' and '.join(map(str, kv_latency.DELAYS_MS))} ms per KV operation")
        at_latency = kv_latency.kv_latency(sc)
        log(f"bench: KV round trips per request kind at {' and '.join(map(str, round_trips.DELAYS_MS))} ms "
            "per KV operation")
        trips = round_trips.round_trips(sc)
        log(f"bench: session check and rate limiter: {len(identity.VARIANTS)} stacks side by side, "
            "history GET and POST interleaved")
        session_get, session_post = identity.session_and_limits(sc)
        log("bench: passkey ceremonies (register and login /verify) interleaved with floor (a)")
        ceremonies = identity.ceremonies(sc)
        log("bench: moderation: deletes (admin key) and edits (author), newest and "
            f"{moderation.BACK} back, interleaved with a POST")
        mod = moderation.moderation(sc)
        delivery = [sc.delivery(rate) for rate in params.message_rates]
        log(f"bench: presence cost (idle rooms of 10, 100 and 1,000 people, then {params.presence_secs} s "
            "of 10 people typing)")
        presence = sc.presence()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return Run(params, sizes, history, hello_conc, kv, post_seq, post_conc, post_conc_rooms, delivery,
               session_get, session_post, ceremonies, mod, vlog, hello_log, (load0, os.getloadavg()),
               time.monotonic() - started, presence=presence, kv_latency=at_latency,
               round_trips=trips)


def run_only(name, params, keep):
    """`--only NAME`: the one scenario, with the run's date and load around it."""
    measure, report = ONLY[name]
    workdir = Path(tempfile.mkdtemp(prefix="edge-chat-bench-"))
    load0 = os.getloadavg()
    try:
        rows = measure(Scenarios(params, workdir, ViceroyLog(), keep))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    load1 = os.getloadavg()
    out = [f"edge-chat bench --only {name} — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} — "
           f"{'QUICK' if params.quick else 'full'} run, {params.reps} repetition(s)",
           f"load: before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; after {load1[0]:.2f} {load1[1]:.2f} "
           f"{load1[2]:.2f} (1/5/15 min)", ""]
    report(out.append, rows, params)
    return "\n".join(out)


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
    return {"viceroy": out([str(stackmod.VICEROY), "--version"]),
            "fastly": out([str(stackmod.FASTLY_CLI), "version"]),
            "pushpin": out(["pushpin", "--version"]),
            "python": f"Python {platform.python_version()} asyncio ({type(asyncio.new_event_loop()).__name__})"}


def main(argv=None):
    args = parse_args(argv)

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < OPEN_FILES:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, OPEN_FILES), hard))
    params = Params.of(args.quick, args.message_rate, args.size_baseline)
    try:
        if args.only:
            print(run_only(args.only, params, args.keep), flush=True)
            return 0
        result = run(params, args.keep)
    except KeyboardInterrupt:
        log("bench: interrupted")
        return 130
    print(render(result, machine(), versions()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
