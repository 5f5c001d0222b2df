"""Passkey verify time per algorithm (issue 18 item 4): POST /auth/login/verify round trips
for an ES256, an EdDSA and an RS256 (2048-bit) passkey, one account each on one passkey-mode
stack, taking turns request by request (so the machine's drift hits all three alike),
`params.ceremonies` sign-ins per algorithm and repetition after CEREMONY_WARM unmeasured
ones. Each sign-in gets fresh options first (not timed). The authenticators are
tests/softauthn.py's, told which algorithm they support (passkey.py's Person otherwise).

The round trip is everything a sign-in costs the service (parse, KV reads and writes, the
signature check, the session cookie), so the differences between the rows are the
algorithms' verify times; the Rust unit tests cannot time, and nothing here asserts.

Run alone with `scripts/bench --only verify`.
"""

from dataclasses import dataclass, field

from .app import app_stack
from .identity import CEREMONY_WARM, PASSKEY
from .measure import med, pct
from .passkey import Person, SoftAuthenticator

ALGORITHMS = {"ES256 (P-256)": -7, "EdDSA (Ed25519)": -8, "RS256 (RSA 2048)": -257}


@dataclass
class Verify:
    name: str
    alg: int
    seconds: list = field(default_factory=list)


def verify_times(sc):
    """-> [Verify] in ALGORITHMS' order (sc: scenarios.Scenarios, for params and logs)."""
    p = sc.p
    rows = [Verify(name, alg) for name, alg in ALGORITHMS.items()]
    for _ in range(p.reps):
        with app_stack(sc.vlog, sc.keep, config=PASSKEY) as s:
            people = []
            try:
                for row in rows:
                    person = Person(s.port)
                    people.append(person)
                    person.authenticator = SoftAuthenticator(person.origin, algorithms=(row.alg,))
                    person.sign_up()
                for i in range(CEREMONY_WARM + p.ceremonies):
                    for row, person in zip(rows, people):
                        dt, _, _ = person.sign_in()
                        if i >= CEREMONY_WARM:
                            row.seconds.append(dt)
            finally:
                for person in people:
                    person.close()
    return rows


def report(w, rows, params):
    """The rows as a table (ms), w: a line writer."""
    if not rows:
        return
    base = med(rows[0].seconds)
    w("PASSKEY SIGN-IN PER ALGORITHM: POST /auth/login/verify round trip, the three taking turns "
      "on one passkey-mode stack (ms)")
    w(f"  {'algorithm':<20} {'n':>6} {'p50':>8} {'p90':>8} {'p99':>8} {'p50 - ES256':>12}")
    for row in rows:
        s = row.seconds
        w(f"  {row.name:<20} {len(s):>6} {med(s) * 1000:>8.2f} {pct(s, 90) * 1000:>8.2f} "
          f"{pct(s, 99) * 1000:>8.2f} {(med(s) - base) * 1000:>+12.2f}")
    w("")
