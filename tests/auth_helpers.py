"""Clients for the passkey end-to-end tests (test_auth.py, test_auth_attacks.py).

`Browser` is what a person's browser does against a stack in passkey mode: it keeps the
session cookie the service sets (and drops it when told to), sends `Origin` and
`Sec-Fetch-Site` on unsafe requests as fetch() does, and carries a software authenticator
(softauthn.py) whose knobs make the dishonest responses the attack tests need. Requests go to
the stack's 127.0.0.1 port; the page origin is http://localhost:<port>, the one stack.py puts
in `rp_origins`, since browsers refuse an IP address as a WebAuthn RP ID.

`forge_session` signs session tokens the way the service does (HS256, issuer
`edge-chat-session`, subject `<user id>:<name>`), with the dev `session_key` from
fastly.toml or any other key, so the cookie attacks are built from a token that is known to
work and changed in one way each.
"""

import hashlib
import os
import hmac
import json
import time
import tomllib
import uuid
from urllib.parse import urlencode

import pytest

from helpers import Response, request
from softauthn import SoftAuthenticator, b64url
from stack import MANIFEST, SECRET_STORE

COOKIE = "edge_chat_session"
SESSION_ISSUER = "edge-chat-session"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# What every refusal of a passkey that cannot sign in says, whatever the reason (unknown,
# removed, another account's, a signature its key does not verify): issue 18 item 7.
UNUSABLE = "cannot sign in here"


def random_name(prefix="u"):
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def dev_session_key() -> bytes:
    """The `session_key` the local stacks sign cookies with (fastly.toml)."""
    local = tomllib.loads(MANIFEST.read_text())["local_server"]
    entry = next(e for e in local["secret_stores"][SECRET_STORE] if e["key"] == "session_key")
    return entry["data"].encode()


def _b64json(obj) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def forge_session(user_id, name, *, key=None, alg="HS256", issuer=SESSION_ISSUER,
                  expires_in=3600, session_id=None, epoch=0, claims=None) -> str:
    """A session token as the service issues one; each keyword changes one thing about it.
    The session (`jti`: id, account epoch, end) ends `expires_in` from now, fresh until
    then; a new random id unless `session_id` names one. `alg="none"` leaves the
    signature empty; `claims` adds or replaces claims (a None value removes one)."""
    now = int(time.time())
    sid = session_id or b64url(os.urandom(12))
    body = {"iat": now, "exp": now + expires_in, "iss": issuer, "sub": f"{user_id}:{name}",
            "jti": f"{sid}.{epoch}.{now + expires_in}"}
    for claim, value in (claims or {}).items():
        if value is None:
            body.pop(claim, None)
        else:
            body[claim] = value
    signing_input = f"{_b64json({'alg': alg, 'typ': 'JWT'})}.{_b64json(body)}"
    if alg == "none":
        return signing_input + "."
    mac = hmac.new(key or dev_session_key(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def set_cookies(r: Response) -> list[str]:
    return r.headers.get_all("Set-Cookie") or []


def assert_error(r: Response, status: int, code: str | None = None, field=None) -> dict:
    """An API refusal: `status`, JSON `{"error", "message"[, "field"]}`, never a cookie."""
    assert r.status == status, r
    assert r.media_type == "application/json", r
    body = r.json()
    assert set(body) <= {"error", "message", "field"} and {"error", "message"} <= set(body), body
    assert isinstance(body["message"], str) and body["message"], body
    if code is not None:
        assert body["error"] == code, body
    if field is not None:
        assert body.get("field") == field, body
    assert not set_cookies(r), r
    return body


def kv_ops(r: Response) -> int:
    """The KV operation count in a response's `Server-Timing: kv;desc="N ops";dur=…`."""
    value = r.headers.get("Server-Timing", "")
    assert value.startswith('kv;desc="'), r
    return int(value.split('"')[1].split()[0])


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


class Browser:
    """One person's browser on a passkey-mode stack. `cookie` is the session token it holds
    (None when signed out); `user` is who the last successful ceremony said it is."""

    def __init__(self, stack, authenticator=None):
        self.url = stack.url
        self.origin = f"http://localhost:{stack.port}"
        self.authenticator = authenticator or SoftAuthenticator(self.origin)
        self.cookie = None
        self.user = None

    @property
    def name(self):
        return self.user["name"]

    # ------------------------------------------------------------------ HTTP

    def request(self, method, path, body=b"", headers=None) -> Response:
        sent = {"Origin": self.origin, "Sec-Fetch-Site": "same-origin"} if method in UNSAFE else {}
        sent.update(self.session_header())
        # A header given as None is left out (e.g. a request without Origin).
        sent.update(headers or {})
        r = request(self.url, method, path, body, {k: v for k, v in sent.items() if v is not None})
        self._keep_cookie(r)
        return r

    def session_header(self) -> dict:
        """The `Cookie` header this browser sends ({} when signed out)."""
        return {} if self.cookie is None else {"Cookie": f"{COOKIE}={self.cookie}"}

    def _keep_cookie(self, r):
        for line in set_cookies(r):
            pair, _, attributes = line.partition(";")
            name, _, value = pair.partition("=")
            if name.strip() != COOKIE:
                continue
            cleared = "max-age=0" in attributes.lower().replace(" ", "")
            self.cookie = None if cleared or not value else value

    def get(self, path, headers=None) -> Response:
        return self.request("GET", path, headers=headers)

    def post(self, path, obj=None, headers=None) -> Response:
        return self.request("POST", path, json.dumps({} if obj is None else obj),
                            {"Content-Type": "application/json", **(headers or {})})

    def post_form(self, path, fields, headers=None) -> Response:
        return self.request("POST", path, urlencode(fields),
                            {"Content-Type": "application/x-www-form-urlencoded",
                             **(headers or {})})

    def delete(self, path, headers=None) -> Response:
        return self.request("DELETE", path, headers=headers)

    def options(self, path, obj=None) -> dict:
        """A ceremony's options, which must be granted."""
        r = self.post(path, obj)
        assert r.status == 200, r
        return r.json()

    def me(self) -> Response:
        return self.get("/auth/me")

    # ------------------------------------------------------------------ ceremonies

    def registration(self, name, **knobs) -> dict:
        """The authenticator's answer to fresh sign-up options for `name` (not sent)."""
        options = self.options("/auth/register/options", {"name": name})
        return self.authenticator.register(options, **knobs)

    def finish_sign_up(self, response) -> Response:
        return self._signed_in_by(self.post("/auth/register/verify", response))

    def sign_up(self, name, **knobs) -> Response:
        return self.finish_sign_up(self.registration(name, **knobs))

    def assertion(self, name=None, credential_id=None, **knobs) -> dict:
        """The authenticator's answer to fresh sign-in options (named or discoverable)."""
        options = self.options("/auth/login/options", {} if name is None else {"name": name})
        return self.authenticator.assert_(options, credential_id, **knobs)

    def finish_sign_in(self, response) -> Response:
        return self._signed_in_by(self.post("/auth/login/verify", response))

    def sign_in(self, name=None, credential_id=None, **knobs) -> Response:
        return self.finish_sign_in(self.assertion(name, credential_id, **knobs))

    def _signed_in_by(self, r):
        if r.status == 200:
            self.user = r.json()["user"]
        return r

    def enrolment(self, device, **knobs) -> dict:
        """Another authenticator's (`device`) answer to fresh add-a-passkey options (not
        sent): the browser's own holds a passkey the options exclude."""
        return device.register(self.options("/auth/passkeys/options"), **knobs)

    def add_passkey(self, device, **knobs) -> Response:
        return self.post("/auth/passkeys/verify", self.enrolment(device, **knobs))

    def sign_out(self) -> Response:
        return self.post("/auth/logout")

    def passkey_ids(self) -> list[str]:
        r = self.me()
        assert r.status == 200, r
        return [p["id"] for p in r.json()["passkeys"]]

    def create_api_key(self, label="bot") -> dict:
        r = self.post("/auth/api-keys", {"name": label})
        assert r.status == 201, r
        return r.json()


def signed_up(stack, name=None, authenticator=None) -> Browser:
    """A new account, signed in, in a browser of its own."""
    browser = Browser(stack, authenticator)
    r = browser.sign_up(name or random_name())
    assert r.status == 200, r
    assert browser.cookie, r
    return browser


def assert_name_free(stack, name):
    """Nobody has `name`: a sign-up may ask for it."""
    r = Browser(stack).post("/auth/register/options", {"name": name})
    assert r.status == 200, r


# Fixtures for the test modules that import them: two people with an account each.

@pytest.fixture
def ann(passkey_stack):
    return signed_up(passkey_stack)


@pytest.fixture
def bob(passkey_stack):
    return signed_up(passkey_stack)
