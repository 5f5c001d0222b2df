"""A person on a passkey-mode stack, as tests/auth_helpers.py's Browser is one (session cookie
kept, Origin and Sec-Fetch-Site on unsafe requests as fetch() sends them), but over the bench's
keep-alive Client, so a ceremony's /verify request is timed like every other request. The
authenticator is tests/softauthn.py, imported from tests/ (ES256 keys from `cryptography`,
which the venv has): the bench signs in exactly as the end-to-end tests do.

The page origin is http://localhost:<port>, which stack.py puts in `rp_origins`; requests go
to 127.0.0.1:<port>.
"""

import json
import sys
import uuid

from . import ROOT
from .http import Client, build_request

sys.path.append(str(ROOT / "tests"))
from softauthn import SoftAuthenticator  # noqa: E402  (tests/ is on the path only now)

COOKIE = "edge_chat_session"
JSON = {"Content-Type": "application/json"}
SAFE = {"GET", "HEAD"}


class CeremonyError(RuntimeError):
    pass


def expect(status, want, what, body):
    if status != want:
        raise CeremonyError(f"{what}: {status} {body[:300]!r}")


class Person:
    """One browser with one software authenticator. `cookie` is the session it holds."""

    def __init__(self, port):
        self.port = port
        self.origin = f"http://localhost:{port}"
        self.authenticator = SoftAuthenticator(self.origin)
        self.client = Client(port)
        self.cookie = None
        self.name = None

    def headers(self, method):
        """What this browser's fetch() sends: the cookie, and on an unsafe request its origin."""
        h = {} if method in SAFE else {"Origin": self.origin, "Sec-Fetch-Site": "same-origin"}
        if self.cookie:
            h["Cookie"] = f"{COOKIE}={self.cookie}"
        return h

    def raw(self, method, path, obj=None):
        """The bytes of one request as this browser sends it (obj: a JSON body)."""
        body = b"" if obj is None else json.dumps(obj).encode()
        return build_request(method, path, self.port, body, {**self.headers(method), **(JSON if body else {})})

    def call(self, method, path, obj=None):
        """-> (seconds, status, headers, body); keeps a session cookie the answer sets."""
        dt, st, hd, bd = self.client.send(self.raw(method, path, obj))
        self._keep_cookie(hd.get("set-cookie", ""))
        return dt, st, hd, bd

    def _keep_cookie(self, line):
        pair = line.split(";", 1)[0]
        name, _, value = pair.partition("=")
        if name.strip() == COOKIE:
            self.cookie = value or None

    def _options(self, path, obj):
        _, st, _, bd = self.call("POST", path, obj)
        expect(st, 200, path, bd)
        return json.loads(bd)

    def _verify(self, path, response):
        """The timed half of a ceremony -> (seconds, status, headers)."""
        dt, st, hd, bd = self.call("POST", path, response)
        expect(st, 200, path, bd)
        self.name = json.loads(bd)["user"]["name"]
        return dt, st, hd

    def sign_up(self, name=None):
        """A new account with a new passkey -> the /verify request's (seconds, status, headers)."""
        options = self._options("/auth/register/options", {"name": name or f"b{uuid.uuid4().hex[:10]}"})
        return self._verify("/auth/register/verify", self.authenticator.register(options))

    def sign_in(self):
        """A discoverable sign-in (no name typed) with the newest passkey -> as sign_up."""
        options = self._options("/auth/login/options", {})
        return self._verify("/auth/login/verify", self.authenticator.assert_(options))

    def api_key(self):
        """A new API key of this person's (POST /auth/api-keys, shown once)."""
        _, st, _, bd = self.call("POST", "/auth/api-keys", {"name": "bench"})
        expect(st, 201, "/auth/api-keys", bd)
        return json.loads(bd)["key"]

    def close(self):
        self.client.close()
