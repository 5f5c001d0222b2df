"""What one request cost, read from its `Server-Timing` header, and Fastly's per-execution
limits on a trial account, which every request of the service must stay within.

The service reports, per response:

    Server-Timing: kv;desc="N ops";dur=<ms>, backend;desc="N requests", config;desc="N lookups"

`kv` counts KV Store operations, `backend` requests sent to backends (the publish API,
the service itself), `config` Config Store and Secret Store lookups. Fastly documents 32
backend requests per execution (10 on trial accounts) and 32 dictionary/config lookups;
it documents no KV operation limit, so 200 is this project's own bound (issue 17).
"""

import re

TRIAL_LIMITS = {"kv": 200, "backend": 10, "config": 32}

_ENTRY = re.compile(r'(?:^|,)\s*(kv|backend|config);desc="(\d+) [a-z]+"')


def cost(resp_or_header):
    """{"kv": n, "backend": n, "config": n} from a response (or a Server-Timing value).
    Fails when the header or any of the three entries is missing: a budget that is not
    reported cannot be checked."""
    header = resp_or_header
    if not isinstance(header, str):
        header = resp_or_header.headers.get("Server-Timing")
    assert header, f"no Server-Timing on {resp_or_header!r}"
    found = {name: int(n) for name, n in _ENTRY.findall(header)}
    missing = set(TRIAL_LIMITS) - set(found)
    assert not missing, f"Server-Timing {header!r} does not report {sorted(missing)}"
    return found


def assert_within_trial_limits(resp_or_header, what=""):
    """The request stayed within Fastly's trial-account limits; returns its cost."""
    spent = cost(resp_or_header)
    over = {k: (spent[k], limit) for k, limit in TRIAL_LIMITS.items() if spent[k] > limit}
    assert not over, f"{what or 'request'} over budget (spent, limit): {over}"
    return spent
