"""Request generation for scripts/fuzz: valid templates of every route, then mutations.

Pure garbage mostly dies in the HTTP parser; a valid request with one or two parts broken
reaches the service's own code and finds more. So each request starts from a template of a
real route (pages, static files, history, form and JSON posts, streams, signed Fanout
call-backs) and gets 0-3 mutations from fuzz_mut. Generation is a pure function of
(seed, index, context): the same seed gives the same requests to both targets, and any
request in a report can be generated again.

Message texts carry a tag, "[s17]" = request 17 sent straight to the service, "[p17]" =
through Pushpin, so every stored message can be traced to the request that stored it.
"""

import json
import random
import urllib.parse
from dataclasses import dataclass, field

import fuzz_grip
import fuzz_mut


@dataclass
class Context:
    """What the generator needs to know about the stack and the run."""
    authority: str  # Host of the target, e.g. 127.0.0.1:7676
    label: str  # "s" (service) or "p" (Pushpin): prefix of the text tag
    rooms: list[str]  # rooms the requests aim at (the seeded ones among them)
    assets: list[str]  # /static/... paths the join page links
    signing: fuzz_grip.Signing
    extra_headers: list[tuple[bytes, bytes]] = field(default_factory=list)


@dataclass
class Spec:
    """One request, kept structured until it is rendered to bytes."""
    index: int
    template: str
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    version: bytes = b"HTTP/1.1"
    eol: bytes = b"\r\n"
    mutations: list[str] = field(default_factory=list)
    framed: bool = False  # a mutation wrote Content-Length / Transfer-Encoding itself
    incomplete: bool = False  # declares more than it sends: the server may wait
    grip: fuzz_grip.Token | None = None
    tag: str = ""  # "[s17]" in the message text, if it posts one
    raw: bytes | None = None  # replaces everything (garbage mutations)

    def header(self, name):
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def set_header(self, name, value):
        self.drop_header(name)
        self.headers.append((name, value))

    def drop_header(self, name):
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]

    def render(self):
        if self.raw is not None:
            return self.raw
        line = b" ".join(p for p in (self.method, self.target, self.version) if p)
        lines = [line] + [k + b": " + v for k, v in self.headers]
        return self.eol.join(lines) + self.eol + self.eol + self.body


# ------------------------------------------------------------------ templates

def _room(rng, ctx):
    if rng.random() < 0.9:
        return rng.choice(ctx.rooms)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
    return "fz-" + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 61)))


def _base(index, name, method, target, *headers):
    return Spec(index, name, method, target.encode(), [*headers])


def t_join(rng, ctx, i):
    query = rng.choice(["", "?user=ann", f"?user=ann&room={_room(rng, ctx)}", "?room=lobby"])
    return _base(i, "join", b"GET", "/" + query, (b"Accept", b"text/html"))


def t_chat(rng, ctx, i):
    query = rng.choice(["", "?user=ann", "?user=" + urllib.parse.quote("\u202eann")])
    return _base(i, "chat", b"GET", f"/{_room(rng, ctx)}{query}", (b"Accept", b"text/html"))


def t_static(rng, ctx, i):
    path = rng.choice(ctx.assets + ["/robots.txt", "/favicon.ico", "/static/missing.0000.js"])
    spec = _base(i, "static", b"GET", path, (b"Accept-Encoding", b"br, gzip"))
    if rng.random() < 0.3:
        spec.headers.append((b"If-None-Match", rng.choice([b'"x"', b"*", b'W/"a", "b"'])))
    return spec


def t_history(rng, ctx, i):
    params = []
    if rng.random() < 0.5:
        params.append(f"before={rng.randint(1, 300)}")
    if rng.random() < 0.5:
        params.append(f"limit={rng.randint(1, 100)}")
    query = "?" + "&".join(params) if params else ""
    return _base(i, "history", b"GET", f"/rooms/{_room(rng, ctx)}/messages/{query}",
                 (b"Accept", b"application/json"))


def _draft(ctx, i):
    return "fuzzer", f"hello [{ctx.label}{i}]"


def t_post_form(rng, ctx, i):
    sender, text = _draft(ctx, i)
    spec = _base(i, "post-form", b"POST", f"/rooms/{_room(rng, ctx)}/messages/",
                 (b"Content-Type", b"application/x-www-form-urlencoded"))
    spec.body = urllib.parse.urlencode({"from": sender, "text": text}).encode()
    spec.tag = f"[{ctx.label}{i}]"
    return spec


def t_post_json(rng, ctx, i):
    sender, text = _draft(ctx, i)
    spec = _base(i, "post-json", b"POST", f"/rooms/{_room(rng, ctx)}/messages/",
                 (b"Content-Type", b"application/json"))
    spec.body = json.dumps({"from": sender, "text": text}).encode()
    spec.tag = f"[{ctx.label}{i}]"
    return spec


def t_events(rng, ctx, i):
    spec = _base(i, "events", b"GET", f"/rooms/{_room(rng, ctx)}/events/",
                 (b"Accept", b"text/event-stream"))
    if rng.random() < 0.3:
        spec.headers.append((b"Last-Event-ID", str(rng.randint(0, 200)).encode()))
    return spec


def t_callback(rng, ctx, i):
    """Fanout's signed call-back, as Pushpin sends it (valid signature, resume headers)."""
    room = _room(rng, ctx)
    query = rng.choice(["", "?link=next&recover=true", f"?link=next&lastEventId={rng.randint(0, 200)}"])
    spec = _base(i, "callback", b"GET", f"/rooms/{room}/events/{query}",
                 (b"Accept", b"text/event-stream"))
    spec.grip = fuzz_grip.Token("valid", fuzz_grip.token_valid(ctx.signing), True)
    spec.headers.append((b"Grip-Sig", spec.grip.value))
    if rng.random() < 0.5:
        spec.headers.append((b"Grip-Last", f"room-{room}; last-id={rng.randint(0, 200)}".encode()))
    return spec


def t_private(rng, ctx, i):
    """The private-room routes (issue 19): in the open mode the fuzz stack runs, every one is
    a JSON 404, whatever the id, token or body; the mutations test their routing and parsing."""
    room = rng.choice([_room(rng, ctx), "p_" + "".join(rng.choice("abcdef0123456789") for _ in range(20))])
    token = "".join(rng.choice("ABCDEFabcdef0123456789-_.") for _ in range(rng.randint(1, 120)))
    method, path, body = rng.choice([
        (b"POST", "/rooms/", {"title": "plans", "private": True}),
        (b"GET", f"/rooms/{room}/members/", None),
        (b"POST", f"/rooms/{room}/members/", {"name": "bob"}),
        (b"DELETE", f"/rooms/{room}/members/bob", None),
        (b"POST", f"/rooms/{room}/invites/", None),
        (b"POST", f"/invites/{token}", None),
        (b"POST", "/dms/", {"name": "bob"}),
        (b"GET", "/me/rooms", None),
        (b"POST", "/me/blocks/", {"name": "bob"}),
    ])
    spec = _base(i, "private", method, path, (b"Content-Type", b"application/json"))
    spec.body = b"" if body is None else json.dumps(body).encode()
    return spec


TEMPLATES = [(t_post_form, 3), (t_post_json, 3), (t_history, 3), (t_events, 2),
             (t_callback, 3), (t_join, 1), (t_chat, 1), (t_static, 1), (t_private, 1)]


# ------------------------------------------------------------------ generation

def generate(seed, index, ctx):
    """Request number index of the run with this seed."""
    rng = random.Random(f"{seed}:{index}")
    make = rng.choices([t for t, _ in TEMPLATES], weights=[w for _, w in TEMPLATES])[0]
    spec = make(rng, ctx, index)
    spec.headers.insert(0, (b"Host", ctx.authority.encode()))
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
        mutate = rng.choices(fuzz_mut.MUTATORS, weights=fuzz_mut.WEIGHTS)[0]
        mutate(rng, spec, ctx)
    _finish(spec, ctx)
    return spec


def _finish(spec, ctx):
    """Framing and routing the mutations did not take over, and whether the request, as it
    ended up after every mutation, declares more body than it carries."""
    if not spec.framed and (spec.body or spec.method in (b"POST", b"PUT", b"PATCH")):
        spec.headers.append((b"Content-Length", str(len(spec.body)).encode()))
    lengths = [int(v) for k, v in spec.headers if k.lower() == b"content-length" and v.strip().isdigit()]
    chunked = any(k.lower() == b"transfer-encoding" for k, _ in spec.headers)
    spec.incomplete = spec.incomplete or any(n > len(spec.body) for n in lengths) or (
        chunked and not spec.body.endswith(b"\r\n\r\n"))
    if spec.header(b"Connection") is None:
        spec.headers.append((b"Connection", b"close"))
    spec.headers[1:1] = ctx.extra_headers
