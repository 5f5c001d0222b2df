"""scripts/smoke, the after-deploy check (issue 17, item 6), run against the local stack so
that it stays true: in open mode without a key, in passkey mode with an API key, and once
where it must fail."""

import os
import subprocess

from conftest import ROOT
from auth_helpers import signed_up

SMOKE = ROOT / "scripts/smoke"
CHECKS = ["post and read", "SSE live", "SSE resume (Last-Event-ID)", "multi-room stream",
          "WebSocket", "long-poll", "presence join"]
# Generous for a loaded 2-core machine; a healthy run takes about a second.
RUN_TIMEOUT = 120


def smoke(url, *args, env=None):
    """(exit code, {check: (result, observation)}) of one run."""
    run = subprocess.run([str(SMOKE), url, *args], capture_output=True, text=True,
                         timeout=RUN_TIMEOUT, env={**os.environ, **(env or {})})
    rows = {}
    for line in run.stdout.splitlines():
        for check in CHECKS:
            rest = line[len(check):].split(None, 1) if line.startswith(check + " ") else None
            if rest:
                rows[check] = (rest[0], rest[1] if len(rest) > 1 else "")
    return run.returncode, rows, run.stdout + run.stderr


def assert_all_ok(code, rows, output):
    assert sorted(rows) == sorted(CHECKS), output
    assert all(result == "ok" for result, _ in rows.values()), output
    assert code == 0, output


def test_smoke_passes_in_open_mode(stack):
    assert_all_ok(*smoke(stack.url))


def test_smoke_passes_in_passkey_mode_with_an_api_key(passkey_stack):
    key = signed_up(passkey_stack).create_api_key("smoke")["key"]
    code, rows, output = smoke(passkey_stack.url, "--api-key", key)
    assert_all_ok(code, rows, output)
    # The posts were the key owner's, not a nickname's.
    assert "from 'smoke-" not in rows["post and read"][1], output


def test_smoke_fails_and_says_where(passkey_stack):
    """A revoked or mistyped key (here from the environment): every check fails with the
    service's 401 in its row, and the exit code says so."""
    code, rows, output = smoke(passkey_stack.url, "--timeout", "3",
                               env={"EDGE_CHAT_API_KEY": "ec_not-a-key"})
    assert code != 0, output
    assert sorted(rows) == sorted(CHECKS), output
    assert rows["post and read"][0] == "FAIL" and "401" in rows["post and read"][1], output
    assert all(result == "FAIL" for result, _ in rows.values()), output
