"""edge-chat as the bench drives it: fresh app stacks (scripts/stack.py, the one local-stack
implementation) and the requests every scenario sends."""

import contextlib
import json
import uuid

import stack as stackmod

from . import APP_WASM, log
from .http import build_request
from .viceroy_log import app_classifier

PAD = "x" * 60  # message text padding: ~150-byte events, like a short chat line


def room(kind="bench"):
    return f"{kind}-{uuid.uuid4().hex[:10]}"


def post_body(n, sender="bench"):
    return json.dumps({"from": sender, "text": f"bench message {n} {PAD}"}).encode()


def post_raw(port, room_id, n, headers=None, sender="bench"):
    """A POST of message n; headers (a cookie, a bearer key) and sender (the name it is from)
    for passkey mode."""
    return build_request("POST", f"/rooms/{room_id}/messages/", port, post_body(n, sender),
                         {"Content-Type": "application/json", **(headers or {})})


@contextlib.contextmanager
def app_stack(vlog, keep, message_rate=None, config=None, classify=None):
    """A fresh stack (empty KV) for the release wasm; its viceroy.log goes into vlog, each
    request named by classify (default: app_classifier). config overrides config-store keys."""
    # Open mode unless config says otherwise: the request rows measure the Django contract
    # (anyone posts with `from`).
    s = stackmod.Stack(APP_WASM, message_rate=message_rate, keep_dir=keep,
                       config={"auth_mode": "open", **(config or {})})
    s.start()
    try:
        yield s
    finally:
        if s.dir:
            vlog.add(s.dir / "viceroy.log", classify or app_classifier(s.pushpin_port))
            if keep:
                log(f"  (stack dir kept: {s.dir})")
        s.stop()


def sessions_of(s):
    """The stack's server processes by session id, for CPU accounting (measure.py)."""
    return {"app pushpin": [s.pushpin.pid], "viceroy": [s.service.pid]}
