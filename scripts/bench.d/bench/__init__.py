"""edge-chat benchmark: the real local stack (Pushpin 1.36 + the release wasm in Viceroy),
measured next to two floors taken in the same run on the same machine:

  (a) a hello-world Compute service in the same Viceroy: the per-request floor;
  (b) raw Pushpin: subscribers held by a stub GRIP origin, messages published straight to
      Pushpin's /publish/: the fan-out floor, with no app in the path.

Run through scripts/bench (which builds first). Prints one table on stdout; progress goes to
stderr. Not part of scripts/test: nothing here asserts on time.

Where a target compares with a floor, the two are measured interleaved (request by request,
message by message), so load from others sharing the machine falls on both alike.

Delivery is measured twice: with Pushpin's publish shaper off (message_rate unset, the
stack's default, because Fastly Fanout does not shape) and with it on (--message-rate), as
the bench measured before; each mode has its own floor. Request scenarios run with the
stack's default: with no subscribers the shaper has nothing to hold.

Clients are stdlib only (http.py, sse.py). The bench reports its own CPU next to Pushpin's
and Viceroy's so a saturated load generator would show.

Identity and moderation costs compare variants of one request (open vs passkey mode, with and
without a rate limit, a change of the newest message vs one 60 back, a ceremony vs floor a)
round by round, each on a stack of its own where modes differ; an A/A control (two identical
open-mode stacks) shows how far stacks differ by themselves.

Modules: __main__ (CLI and the order of scenarios), scenarios (what is measured), identity
(session check, rate limiter, passkey ceremonies), moderation (delete, edit), rounds
(interleaved variants), kv_latency (posts at Fastly's KV latency), passkey (a signed-in browser over tests/softauthn.py), baseline
(--size-baseline build), delivery (fan-out rounds), floors (hello service, raw Pushpin), http
and sse (clients), measure (percentiles, CPU), viceroy_log (heap and time per request), results
(dataclasses), report (the table).
Process start/stop is scripts/procs.py and the stack is scripts/stack.py, shared with
scripts/dev and the tests.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
APP_WASM = ROOT / "bin/main.wasm"
HELLO_WASM = ROOT / "target/bench-hello/wasm32-wasip1/release/bench-hello.wasm"
GRIP_STUB = ROOT / "scripts/bench.d/grip_stub.py"


def log(*a):
    print(*a, file=sys.stderr, flush=True)
