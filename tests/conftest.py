"""End-to-end fixtures: the real local stack (Pushpin + Viceroy) from scripts/stack.py.

`stack` is one shared stack for the session (default config, in open mode); tests keep out
of each other's way by using their own random rooms. `passkey_stack` is a shared one in
passkey mode (accounts, sessions, API keys). `make_stack(**kwargs)` starts a private stack (custom
config, dead publish port, ...) that is stopped after the test. The wasm is
bin/main.wasm (scripts/build) unless EDGE_CHAT_WASM says otherwise.
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from stack import Stack, StackError  # noqa: E402

from helpers import random_room  # noqa: E402

WASM = Path(os.environ.get("EDGE_CHAT_WASM", ROOT / "bin/main.wasm"))

# Stacks started by this session and not yet stopped, for failure reports.
_running = []


def _start(config=None, **kwargs):
    """A stack in open mode (the Django contract every older test was written for)
    unless the config asks for passkeys."""
    if not WASM.exists():
        pytest.exit(f"{WASM} not found: run scripts/build (or set EDGE_CHAT_WASM)", returncode=1)
    s = Stack(WASM, config={"auth_mode": "open", **(config or {})}, **kwargs)
    _running.append(s)
    try:
        return s.start()
    except BaseException:
        _running.remove(s)
        raise


def _stop(s):
    try:
        s.stop()
    finally:
        if s in _running:
            _running.remove(s)


@pytest.fixture(scope="session")
def stack():
    try:
        s = _start()
    except StackError as e:
        # Every test would fail the same way, each repeating the logs: stop once instead.
        pytest.exit(f"the local stack did not start: {e}", returncode=1)
    yield s
    _stop(s)


@pytest.fixture(scope="session")
def passkey_stack():
    try:
        s = _start(config={"auth_mode": "passkey"})
    except StackError as e:
        pytest.exit(f"the local stack did not start: {e}", returncode=1)
    yield s
    _stop(s)


@pytest.fixture
def make_stack():
    mine = []

    def make(**kwargs):
        mine.append(_start(**kwargs))
        return mine[-1]

    yield make
    for s in mine:
        _stop(s)


@pytest.fixture
def room():
    return random_room()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report carries the tails of the service's and Pushpin handler's
    logs (short: with many failures the full logs would bury the assertions)."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and call.when == "call":
        for s in _running:
            rep.sections.append((f"stack {s.url} logs",
                                 s.logs(lines=15, names=("viceroy.log", "pushpin-handler.log"))))
