"""Grip-Sig tokens and resume points for scripts/fuzz.

A Grip-Sig is the only thing between an anonymous client and the GRIP instructions Fanout
obeys, so every token here says whether the service must accept it: `valid` is True for a
correctly signed, current token, False for one that must get 403 and no Grip-* headers, and
None where the outcome is a matter of taste (surrounding blanks, say). The fuzzer's oracle
flags any False token that was answered with GRIP headers.

Resume points (Last-Event-ID, ?lastEventId=, Grip-Last) are message ids: the values below
are the edges of u64 parsing, sign and radix tricks, Unicode digits and plain junk.
"""

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Signing:
    """The local HS256 key and issuer Pushpin signs with (fastly.toml [local_server])."""
    iss: str
    key: str


@dataclass(frozen=True)
class Token:
    kind: str
    value: bytes
    valid: bool | None


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _jwt(header, claims, key, digest=hashlib.sha256):
    """header and claims: dicts (JSON-encoded) or bytes (used as they are)."""
    enc = lambda part: _b64(part if isinstance(part, bytes) else json.dumps(part).encode())  # noqa: E731
    signing_input = enc(header) + b"." + enc(claims)
    sig = hmac.new(key.encode(), signing_input, digest).digest() if key is not None else b""
    return signing_input + b"." + _b64(sig)


def _hs(claims, key):
    return _jwt({"alg": "HS256", "typ": "JWT"}, claims, key)


def token_valid(signing):
    return _hs({"iss": signing.iss, "exp": int(time.time()) + 300}, signing.key)


def token(rng, signing):
    """One Grip-Sig, valid about a quarter of the time."""
    now = int(time.time())
    iss, key = signing.iss, signing.key
    ok = {"iss": iss, "exp": now + 300}
    kinds = {
        "valid": lambda: (token_valid(signing), True),
        "alg-none": lambda: (_jwt({"alg": "none", "typ": "JWT"}, ok, None), False),
        "alg-none-signed": lambda: (_jwt({"alg": "none"}, ok, key), False),
        "alg-lowercase": lambda: (_jwt({"alg": "hs256"}, ok, key), None),
        "hs512": lambda: (_jwt({"alg": "HS512"}, ok, key, hashlib.sha512), False),
        "wrong-key": lambda: (_hs(ok, key + "x"), False),
        "empty-key": lambda: (_hs(ok, ""), False),
        "wrong-iss": lambda: (_hs({**ok, "iss": "pushpin"}, key), False),
        "iss-array": lambda: (_hs({**ok, "iss": [iss]}, key), False),
        "iss-nul": lambda: (_hs({**ok, "iss": iss + "\u0000"}, key), False),
        "no-iss": lambda: (_hs({"exp": now + 300}, key), False),
        "expired": lambda: (_hs({**ok, "exp": now - 3600}, key), False),
        "exp-1e30": lambda: (_hs({**ok, "exp": 10 ** 30}, key), False),
        "exp-u64-max": lambda: (_hs({**ok, "exp": 2 ** 64 - 1}, key), False),
        "exp-1y": lambda: (_hs({**ok, "exp": now + 365 * 86400}, key), False),
        "exp-float": lambda: (_hs({**ok, "exp": 1e30}, key), False),
        "exp-string": lambda: (_hs({**ok, "exp": str(now + 300)}, key), False),
        "exp-negative": lambda: (_hs({**ok, "exp": -1}, key), False),
        "no-exp": lambda: (_hs({"iss": iss}, key), False),
        "nbf-future": lambda: (_hs({**ok, "nbf": now + 3600}, key), False),
        "claims-array": lambda: (_hs([iss, now + 300], key), False),
        "claims-not-utf8": lambda: (_jwt({"alg": "HS256"}, b'{"iss":"\xff"}', key), False),
        "claims-deep": lambda: (_hs({**ok, "x": json.loads("[" * 200 + "]" * 200)}, key), None),
        "es256-garbage": lambda: (_jwt({"alg": "ES256"}, ok, None) + _b64(rng.randbytes(64)), False),
        "truncated": lambda: (_truncate(rng, _hs(ok, key)), False),
        "huge": lambda: (_hs({**ok, "pad": "x" * rng.choice([4000, 16000, 70000])}, key), None),
        "non-base64": lambda: (b"!!!.@@@.###", False),
        "extra-part": lambda: (_hs(ok, key) + b".e30", False),
        "two-parts": lambda: (_hs(ok, key).rsplit(b".", 1)[0], False),
        "empty": lambda: (b"", False),
        "dots": lambda: (b"..", False),
        "padded-b64": lambda: (b".".join(p + b"==" for p in _hs(ok, key).split(b".")), None),
        "blank-around": lambda: (b" " + _hs(ok, key) + b" ", None),
        "bearer": lambda: (b"Bearer " + _hs(ok, key), False),
        "binary": lambda: (rng.randbytes(rng.randint(1, 200)).replace(b"\r", b"").replace(b"\n", b""), False),
    }
    kind = "valid" if rng.random() < 0.2 else rng.choice(sorted(kinds))
    value, valid = kinds[kind]()
    return Token(kind, value, valid)


def _truncate(rng, tok):
    return tok[:rng.randint(0, len(tok) - 1)]


RESUME_VALUES = [
    "", " ", "0", "1", "2", "7", "49", "50", "51", "99", "100", "101", "150", "250",
    "-1", "+1", "-0", "1.0", "1e3", "0x10", "010", " 5 ", "\t5", "5 6", "5,6",
    "9999999999", "10000000000", "18446744073709551615", "18446744073709551616",
    "9" * 40, "1" * 5000, "NaN", "inf", "null", "error", "undefined",
    "\u0663", "\uff11", "\u00b9", "5\u200b", "\U0001F600", "%35", "5%00",
]


def resume_value(rng):
    if rng.random() < 0.15:
        return str(rng.randint(0, 300))
    return rng.choice(RESUME_VALUES)


def grip_last(rng, room, value):
    """A Grip-Last header: mostly well-formed for the right channel, sometimes not."""
    other = f"room-{room}x"
    forms = [
        f"room-{room}; last-id={value}",
        f"room-{room};last-id={value}",
        f"room-{room}; last-id=\"{value}\"",
        f"{other}; last-id={value}",
        f"{other}; last-id=1, room-{room}; last-id={value}",
        f"room-{room}; last-id={value}, room-{room}; last-id=1",
        f"room-{room}",
        f"; last-id={value}",
        f"last-id={value}",
        f"room-{room}; last-id",
        f"room-{room}; lastid={value}",
        value,
    ]
    return rng.choice(forms)
