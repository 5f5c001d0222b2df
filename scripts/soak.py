#!/usr/bin/env python3
"""edge-chat fault soak (issue 9): many posters and EventSource-like subscribers on the real
local stack (Pushpin 1.36 standing in for Fanout, the release wasm in Viceroy) while Pushpin is
restarted and the publish API answers 503, then one table of what every subscriber got.

Why: storage can be perfect while live delivery loses, repeats or freezes messages under
faults, and only many subscribers resuming at once show it. The acceptance figures (every post
accepted, history == the accepted set, 0 missing / duplicated / out of order, every subscriber
complete within the deadline) decide the exit status, so the soak can gate a change.

Run through scripts/soak (which builds first):
  scripts/soak                        20 posters x 250 messages, 200 subscribers, in 1 room
                                      and then in 10 rooms (a fresh stack each), faults on
  scripts/soak --rooms 10 --no-faults one configuration, no faults
  scripts/soak --quick                the small version scripts/test runs (seconds)
  scripts/soak --kv-delay-ms 30       every KV operation at Fastly's latency (~30 ms)
The table goes to stdout, progress to stderr. Exit status: 0 every run passed, 1 some
acceptance figure failed, 2 the soak itself could not run.

The code is in scripts/soak.d/: soak_run (timeline, history, recovery-fetch count),
soak_load (posters, subscribers), soak_faults (Pushpin restart, publish proxy),
soak_result (verdict, table), soak_wire (HTTP and SSE).
"""

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "soak.d"))
sys.path.insert(0, str(HERE))

from soak_result import table, run_line  # noqa: E402
from soak_run import Params, run_soak  # noqa: E402
from stack import ROOT, StackError  # noqa: E402

WASM = ROOT / "bin/main.wasm"
# The small version: what tests/test_soak.py runs and --quick means. Faults sit early enough
# that posting goes on after both (see soak_run); at 40 messages/s per room the 3 s outage
# leaves every subscriber over 100 messages behind, so recovery has to page.
QUICK = dict(posters=4, messages=160, rate=20.0, rooms=2, subscribers=20, pushpin_stop_secs=1.0,
             pushpin_at=0.2, outage_secs=3.0, outage_at=0.45, deadline=15.0)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    d = Params()
    ap.add_argument("--posters", type=int, help=f"concurrent posters (default {d.posters})")
    ap.add_argument("--messages", type=int, help=f"messages per poster (default {d.messages})")
    ap.add_argument("--rooms", help="rooms, or a comma list for one run each (default 1,10)")
    ap.add_argument("--subscribers", type=int, help=f"SSE subscribers (default {d.subscribers})")
    ap.add_argument("--rate", type=float, help=f"messages/s per poster (default {d.rate:g})")
    ap.add_argument("--faults", choices=["on", "off"],
                    help="Pushpin restart and publish outage (default on)")
    ap.add_argument("--no-faults", dest="faults", action="store_const", const="off",
                    help="same as --faults off")
    ap.add_argument("--pushpin-stop-secs", type=float,
                    help=f"how long Pushpin stays stopped (default {d.pushpin_stop_secs:g})")
    ap.add_argument("--outage-secs", type=float, help=f"publish 503 window (default {d.outage_secs:g})")
    ap.add_argument("--deadline", type=float, help="seconds after the last fault / last post "
                    f"for every subscriber to be complete (default {d.deadline:g})")
    ap.add_argument("--recovery-margin", type=float, help="seconds after a fault still "
                    f"excluded from delivery latency (default {d.recovery_margin:g})")
    ap.add_argument("--seed", type=int, help=f"default {d.seed}")
    ap.add_argument("--kv-delay-ms", type=int,
                    help="pause every KV operation this long, as Fastly's KV round trip (default 0)")
    ap.add_argument("--keep", action="store_true",
                    help="keep each stack's dir (viceroy.log, Pushpin logs)")
    ap.add_argument("--quick", action="store_true", help="the small version scripts/test runs")
    ap.add_argument("--wasm", type=Path, default=WASM, help="default: the release build")
    return ap.parse_args(argv)


def plans(args):
    """(Params per run): defaults, then --quick, then every option given."""
    base = dict(QUICK) if args.quick else {}
    for name in ("posters", "messages", "subscribers", "rate", "pushpin_stop_secs", "outage_secs",
                 "deadline", "recovery_margin", "seed", "kv_delay_ms"):
        if getattr(args, name) is not None:
            base[name] = getattr(args, name)
    if args.faults is not None:
        base["faults"] = args.faults == "on"
    base["keep"] = args.keep
    quick_rooms = base.pop("rooms", None)
    rooms = args.rooms or str(quick_rooms or "1,10")
    return [Params(rooms=int(r), **base) for r in rooms.split(",")]


def describe(p, wasm):
    faults = (f"Pushpin stopped {p.pushpin_stop_secs:g} s at {p.pushpin_at:.0%} of posting, "
              f"publish 503 for {p.outage_secs:g} s at {p.outage_at:.0%}") if p.faults else "no faults"
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(wasm.stat().st_mtime))
    return (f"soak: {p.posters} posters x {p.messages} messages at {p.rate:g}/s each, "
            f"{p.subscribers} subscribers; {faults}; deadline {p.deadline:g} s after settling; "
            f"latency excludes posts from 0.5 s before a fault to {p.recovery_margin:g} s after; "
            f"seed {p.seed}; KV delay {p.kv_delay_ms} ms/op; wasm built {built} in repo {git_describe()}")


def git_describe():
    try:
        return subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                              capture_output=True, text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def main(argv=None):
    args = parse_args(argv)
    try:
        runs = plans(args)
        for p in runs:
            p.check()
    except ValueError as e:
        print(f"soak: {e}", file=sys.stderr)
        return 2

    # SIGTERM/SIGHUP unwind like Ctrl-C, so every stack started is stopped.
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)

    results = []
    try:
        for p in runs:
            results.append(run_soak(args.wasm, p))
    except (StackError, RuntimeError) as e:
        print(f"soak: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 2
    print(describe(runs[0], args.wasm))
    for r in results:
        print(run_line(r))
    print(table(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
