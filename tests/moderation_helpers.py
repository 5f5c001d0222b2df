"""Shared by the moderation tests (test_moderation*.py, test_rate_limits.py): clients for both
modes with one interface, the moderation calls, and a room's whole observable state, so that
every refusal can be shown to have changed nothing.

A client is anything with `request(method, path, body=b"", headers=None)`: `Anyone`, a
program (optionally holding the admin key or an API key), or auth_helpers.Browser in passkey
mode (cookie, Origin and Sec-Fetch-Site as a page's fetch sends them).
"""

import contextlib
import json
import time
import tomllib

import pytest

from auth_helpers import (Browser, ann, assert_error, bearer, bob, random_name,  # noqa: F401
                          signed_up)
from conftest import _start, _stop
from helpers import SSEClient, request
from stack import MANIFEST, SECRET_STORE


def dev_admin_key() -> str:
    """The `admin_key` secret of the local stacks (fastly.toml)."""
    local = tomllib.loads(MANIFEST.read_text())["local_server"]
    return next(e["data"] for e in local["secret_stores"][SECRET_STORE] if e["key"] == "admin_key")


ADMIN_KEY = dev_admin_key()


class Anyone:
    """A program (no cookie, no Origin); `key` is sent as a bearer token: the admin key, an
    API key, or none."""

    def __init__(self, stack, key=None):
        self.url = stack.url
        self.headers = bearer(key) if key else {}

    def request(self, method, path, body=b"", headers=None):
        return request(self.url, method, path, body, {**self.headers, **(headers or {})})


def admin_key_holder(stack):
    return Anyone(stack, ADMIN_KEY)


# Fixtures for the test modules that import them. `passkey_stack` overrides conftest's shared
# one there with a stack of the module's own that has an admin by name and a word filter (no
# rate limits), so auth_helpers' `ann` and `bob` sign up on it too.

ADMIN = random_name("admin")
BLOCKED = "darn, Heck"


@pytest.fixture(scope="module")
def passkey_stack():
    s = _start(config={"auth_mode": "passkey", "admins": f"someone-else, {ADMIN}",
                       "blocked_words": BLOCKED})
    yield s
    _stop(s)


@pytest.fixture(scope="module")
def admin(passkey_stack):
    return signed_up(passkey_stack, ADMIN)


def messages_path(room):
    return f"/rooms/{room}/messages/"


def message_path(room, id_):
    return f"/rooms/{room}/messages/{id_}"


def events_path(room):
    return f"/rooms/{room}/events/"


JSON = {"Content-Type": "application/json"}


def post(client, room, text, sender="anyone"):
    """A message the client posts, which must be stored; `sender` is the open-mode `from`
    (passkey mode: the client's own name, which is what a page sends)."""
    sender = getattr(client, "user", None) and client.name or sender
    r = client.request("POST", messages_path(room), json.dumps({"from": sender, "text": text}), JSON)
    assert r.status == 200, r
    return r.json()


def delete(client, room, id_):
    return client.request("DELETE", message_path(room, id_))


def edit(client, room, id_, text):
    return client.request("PATCH", message_path(room, id_), json.dumps({"text": text}), JSON)


def clear(client, room, query=""):
    return client.request("DELETE", messages_path(room) + query)


def history(client, room):
    """(every message of the room newest first, read page by page; last-event-id).
    Deleted messages and moderation events take ids, so a page of 100 ids holds fewer
    messages: paging goes on from the oldest one seen until a page is empty."""
    r = client.request("GET", messages_path(room) + "?limit=100")
    assert r.status == 200, r
    body = r.json()
    out, last = list(body["messages"]), body["last-event-id"]
    page = body["messages"]
    while page and page[-1]["id"] > 1:
        r = client.request("GET", messages_path(room) + f"?before={page[-1]['id']}&limit=100")
        assert r.status == 200, r
        page = r.json()["messages"]
        out += page
    return out, last


def texts(client, room):
    return [m["text"] for m in history(client, room)[0]]


@contextlib.contextmanager
def unchanged(client, room):
    """`with unchanged(client, room):` the room's messages and newest event id are the same
    afterwards: a refusal stored nothing, took no id and published nothing."""
    before = history(client, room)
    yield
    assert history(client, room) == before


def assert_refused(r, status, code=None, field=None):
    """A JSON refusal (never a 5xx, never a cookie)."""
    assert 400 <= status < 500
    return assert_error(r, status, code, field)


def subscribe(url, room, headers=None):
    """A live SSE client (its stream-open arrived, so Pushpin holds it)."""
    sse = SSEClient(url, events_path(room), headers=headers).start()
    assert sse.status == 200, (sse.status, sse.response_headers)
    sse.wait_for_event("stream-open")
    return sse


def frames(sse, count, timeout=10):
    """The first `count` frames after stream-open (keep-alives and the opening presence
    roster left out), as (event, id as int, parsed data)."""
    def real(evs):
        return [e for e in evs if e[0] not in ("stream-open", "keep-alive", "presence")]
    evs = real(sse.wait_for(lambda evs: len(real(evs)) >= count, timeout))
    return [(e, int(i), json.loads(d)) for e, i, d in evs]


def fresh_window(per, need):
    """Waits, if need be, until at least `need` seconds of the current aligned `per`-second
    rate window are left (limits.rs counts in windows aligned to the clock), so that a
    test's requests all fall in one window."""
    left = per - time.time() % per
    if left < need:
        time.sleep(left + 0.05)
