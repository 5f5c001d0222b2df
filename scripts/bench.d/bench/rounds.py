"""Interleaved request loops for comparisons between variants of one request (open vs passkey
mode, with or without a rate limit, a delete of the newest message vs one 60 back, a ceremony
vs the hello-world floor): each round sends one request of every variant, the variant that goes
first rotating from round to round, so load from anyone sharing the machine falls on all alike.

A variant is a callable(i) doing round i's request(s) on keep-alive connections of its own and
returning the measured one as (seconds, status, headers).
"""

from .http import Client, build_request
from .results import Interleaved

WARM_ROUNDS = 20  # untimed rounds before a measured comparison


def rounds(variants, n):
    """n rounds over variants ({name: callable(i)}) -> {name: [(seconds, status, headers)]}."""
    names = list(variants)
    got = {name: [] for name in names}
    for i in range(n):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            got[name].append(variants[name](i))
    return got


def measure(variants, n, reps, labels=None, warm=WARM_ROUNDS, into=None):
    """warm untimed rounds, then reps repetitions of n rounds -> Interleaved (labels: name ->
    what the table calls it), or added to into, an Interleaved of earlier repetitions."""
    rounds(variants, warm)
    res = into or Interleaved(n=n, labels=dict(labels))
    for _ in range(reps):
        for name, samples in rounds(variants, n).items():
            res.variant(name).add(samples)
    return res


class Sender:
    """callable(i): one request per call on its own keep-alive connection; raw(i) -> bytes."""

    def __init__(self, port, raw):
        self.client = Client(port)
        self.raw = raw

    def __call__(self, i):
        dt, st, hd, _ = self.client.send(self.raw(i))
        return dt, st, hd

    def close(self):
        self.client.close()


def get_sender(port, path, headers=None):
    raw = build_request("GET", path, port, b"", headers)
    return Sender(port, lambda i: raw)
