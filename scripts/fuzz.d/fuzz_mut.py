"""Mutations of the request line, Host and headers, and of the body's framing, for
scripts/fuzz (bodies, resume points and Grip-Sig are in fuzz_body).

Each mutator changes one aspect of a Spec and records what it did as "aspect:kind", so a
report can say which kinds of damage led to which answers. The values aim at places where
parsers disagree: the URL parser that turns Host and the request target into the URL the
SDK hands the service, percent-decoding, header folding, and Content-Length versus
Transfer-Encoding.
"""

import fuzz_body

METHODS = [b"GET", b"POST", b"HEAD", b"DELETE", b"PATCH", b"PUT", b"OPTIONS", b"TRACE",
           b"CONNECT", b"PROPFIND", b"MKCOL", b"M-SEARCH", b"get", b"post", b"Post", b"BREW",
           b"G ET", b"GET\t", b"\xffGET", b"", b"A" * 10_000, b"GET/", b"POST\x00"]

VERSIONS = [b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.2", b"HTTP/9.9", b"http/1.1", b"HTTP/1",
            b"HTTP/1.1 x", b"", b"HTTP/1.1\x00", b"HTTP/01.1", b"HTTP/1.10"]

# Headers the service reads. A value with obs-text bytes (legal in HTTP/1.1, not UTF-8) must
# not matter more than any other bad value.
READ_HEADERS = [b"Origin", b"Sec-Fetch-Site", b"Content-Type", b"Accept", b"Grip-Sig",
                b"Last-Event-ID", b"Grip-Last", b"If-None-Match", b"Accept-Encoding", b"Referer"]

HOSTS = [b"x:abc", b"x:99999", b"x:-1", b"x:", b":80", b"a.1", b"x.0x7f", b"1.2.3.4.5",
         b"256.1.1.1", b"0x7f.1", b"[::1]", b"[::1", b"[fe80::1%25eth0]", b"x@y", b"u:p@x",
         b"ex%41mple", b"x..y", b"_", b"-x-", b"xn--", b"xn--zz-garbage", b"a" * 300,
         b"(" * 3, b"\xc3\xa9.example", b"x y", b"x/y", b"x?y", b"x#y", b"x\\y", b"", b"*",
         b"127.0.0.1:0", b"localhost:65535", b"LOCALHOST", b"x.", b".x", b"x:80:80"]


def _name(spec, aspect, kind):
    spec.mutations.append(f"{aspect}:{kind}")


def _pick(rng, options):
    kind = rng.choice(sorted(options))
    return kind, options[kind]


# ------------------------------------------------------------------ request line

def m_method(rng, spec, ctx):
    spec.method = rng.choice(METHODS)
    _name(spec, "method", spec.method[:12].decode("latin-1"))


def m_version(rng, spec, ctx):
    spec.version = rng.choice(VERSIONS)
    _name(spec, "version", spec.version.decode("latin-1"))


def _path_and_query(target):
    path, _, query = target.partition(b"?")
    return path, (b"?" + query if query else b"")


def _percent(rng, path):
    choices = [b"%FF", b"%00", b"%C0%AE", b"%2F", b"%2E%2E", b"%", b"%G1", b"%E2%80%AE",
               b"%2e", b"%20", b"%0A", b"%ED%A0%80", b"%%", b"%" + rng.randbytes(1).hex().encode()]
    at = rng.randint(0, len(path))
    return path[:at] + rng.choice(choices) + path[at:]


def m_target(rng, spec, ctx):
    path, query = _path_and_query(spec.target)
    room = rng.choice(ctx.rooms).encode()
    kinds = {
        "asterisk": lambda: b"*",
        "absolute": lambda: b"http://" + ctx.authority.encode() + spec.target,
        "absolute-other": lambda: b"http://evil.example" + spec.target,
        "absolute-https": lambda: b"https://" + ctx.authority.encode() + spec.target,
        "absolute-userinfo": lambda: b"http://u:p@" + ctx.authority.encode() + spec.target,
        "absolute-bad-port": lambda: b"http://x:abc" + spec.target,
        "authority": lambda: rng.choice([ctx.authority.encode(), b"127.0.0.1:80", b"x:1"]),
        "percent": lambda: _percent(rng, path) + query,
        "percent-room": lambda: path.replace(room, b"".join(b"%%%02X" % c for c in room)) + query,
        "dot-segments": lambda: rng.choice([b"/rooms/x/../", b"/./", b"/rooms/../", b"/%2e%2e/"])
        + path.lstrip(b"/") + query,
        "dots-room": lambda: b"/rooms/" + rng.choice([b".", b"..", b"...", b"%2E"]) + b"/messages/",
        "double-slash": lambda: path.replace(b"/", b"//", rng.randint(1, 3)) + query,
        "no-trailing-slash": lambda: path.rstrip(b"/") + query,
        "backslash": lambda: path.replace(b"/", b"\\", 2) + query,
        "long-room": lambda: b"/rooms/" + (room + b"-" + b"r" * 8000)[:rng.choice([64, 65, 1000, 8000])]
        + b"/messages/",
        "long-path": lambda: b"/" + b"a/" * rng.choice([100, 4000, 40_000]) + query,
        "unicode": lambda: path.replace(room, room + rng.choice(
            ["é", "😀", "\u202e", "\u200b", "\uff0e"]).encode()) + query,
        "raw-bytes": lambda: path + rng.randbytes(rng.randint(1, 8)).replace(b" ", b"") + query,
        "space": lambda: path.replace(b"/", b" /", 1) + query,
        "fragment": lambda: spec.target + b"#frag",
        "empty": lambda: b"",
        "query": lambda: path + _query(rng),
    }
    kind, make = _pick(rng, kinds)
    spec.target = make()
    _name(spec, "target", kind)


def _query(rng):
    values = [b"", b"-1", b"0", b"101", b"1e3", b"%FF", b"18446744073709551616", b"abc", b"1&limit=2"]
    names = [b"before", b"limit", b"lastEventId", b"link", b"recover", b"user", b"room", b""]
    pairs = [rng.choice(names) + b"=" + rng.choice(values) for _ in range(rng.randint(1, 4))]
    return rng.choice([b"?", b"??", b"?&&"]) + b"&".join(pairs)


# ------------------------------------------------------------------ Host and headers

def m_host(rng, spec, ctx):
    kind = rng.choice(["replace", "replace", "drop", "duplicate"])
    value = rng.choice(HOSTS)
    if kind == "drop":
        spec.drop_header(b"Host")
    elif kind == "duplicate":
        spec.headers.append((b"Host", value))
    else:
        spec.set_header(b"Host", value)
    _name(spec, "host", kind if kind == "drop" else f"{kind} {value[:20].decode('latin-1')}")


def m_duplicate(rng, spec, ctx):
    if not spec.headers:
        return
    name, value = rng.choice(spec.headers)
    spec.headers.append((name, rng.choice([value, value + b"x", b""])))
    _name(spec, "duplicate", name.decode("latin-1"))


def m_huge_header(rng, spec, ctx):
    size = rng.choice([8 * 1024, 64 * 1024, 200 * 1024])
    kind = rng.choice(["value", "many", "cookie"])
    if kind == "value":
        spec.headers.append((b"X-Fuzz", b"v" * size))
    elif kind == "many":
        spec.headers += [(b"X-F%d" % n, b"1") for n in range(size // 64)]
    else:
        spec.headers.append((b"Cookie", b"; ".join(b"c%d=x" % n for n in range(size // 8))))
    _name(spec, "huge-header", f"{kind} {size // 1024}K")


def m_bad_header(rng, spec, ctx):
    kinds = {
        "nul": (b"X-Fuzz", b"a\x00b"),
        "cr": (b"X-Fuzz", b"a\rb"),
        "high-bytes": (b"X-Fuzz", b"\xff\xfe\x80"),
        "utf8": (b"X-Fuzz", "é😀\u202e".encode()),
        "space-before-colon": (b"X-Fuzz ", b"1"),
        "empty-name": (b"", b"x"),
        "name-unicode": ("Ä".encode(), b"1"),
        "name-token-chars": (b"X(Fuzz)", b"1"),
        "obs-fold": (b"X-Fuzz", b"a\r\n folded"),
        "no-colon": (b"X-Fuzz-line-without-colon\r\nX-Fuzz", b"1"),
        "ct-nul": (b"Content-Type", b"application/json\x00"),
        "lei-nul": (b"Last-Event-ID", b"1\x00"),
    }
    if rng.random() < 0.3:
        name = rng.choice(READ_HEADERS)
        spec.set_header(name, (spec.header(name) or b"") + rng.choice([b"\xff", b"\xe9", b"\xc3("]))
        _name(spec, "bad-header", f"obs-text {name.decode()}")
        return
    kind, header = _pick(rng, kinds)
    spec.headers.append(header)
    _name(spec, "bad-header", kind)


def m_eol(rng, spec, ctx):
    spec.eol = rng.choice([b"\n", b"\r", b"\r\r\n", b"\n\r"])
    _name(spec, "eol", repr(spec.eol)[2:-1])


def m_expect(rng, spec, ctx):
    values = [b"100-continue", b"100-Continue", b"200-ok", b"", b"100-continue, x"]
    spec.set_header(b"Expect", rng.choice(values))
    _name(spec, "expect", spec.header(b"Expect").decode())


def m_accept(rng, spec, ctx):
    values = [b"text/html", b"*/*", b"text/event-stream", b"application/json", b"", b"text/html;q=0",
              b"garbage", b"text/*, application/*;q=0.5", b"\xff", b"x" * 5000]
    spec.set_header(b"Accept", rng.choice(values))
    _name(spec, "accept", spec.header(b"Accept")[:30].decode("latin-1"))


def m_origin(rng, spec, ctx):
    kinds = {
        "evil": [(b"Origin", b"http://evil.example")],
        "null": [(b"Origin", b"null")],
        "same": [(b"Origin", b"http://" + ctx.authority.encode())],
        "cross-site": [(b"Sec-Fetch-Site", b"cross-site")],
        "same-origin": [(b"Sec-Fetch-Site", b"same-origin")],
        "garbage": [(b"Origin", b"\xff://"), (b"Sec-Fetch-Site", b"???")],
        "referer-evil": [(b"Referer", b"http://evil.example/x")],
    }
    kind, headers = _pick(rng, kinds)
    spec.headers += headers
    _name(spec, "origin", kind)


def m_misc(rng, spec, ctx):
    kinds = {  # picked from in sorted order: the listing order is free
        "keep-alive": (b"Connection", b"keep-alive"),
        "upgrade-ws": (b"Upgrade", b"websocket"),
        "upgrade-h2c": (b"Upgrade", b"h2c"),
        "conn-garbage": (b"Connection", b"close, Host, Content-Length"),
        "if-none-match-huge": (b"If-None-Match", b'"' + b"a" * 6000 + b'"'),
        "range": (b"Range", b"bytes=0-1,5-"),
        "accept-encoding": (b"Accept-Encoding", b"br;q=2, gzip;q=-1, \xff"),
        "content-encoding": (b"Content-Encoding", b"gzip"),
        "x-forwarded-for": (b"X-Forwarded-For", b"1.2.3.4, ::1, garbage"),
        "range-bad": (b"Range", b"bytes=" + b"9" * 20 + b"-"),
        "fastly-ff": (b"Fastly-FF", b"x"),
        "grip-headers": (b"Grip-Hold", b"stream"),
        "pushpin-route": (b"Pushpin-Route", b"nope"),
    }
    kind, header = _pick(rng, kinds)
    spec.set_header(*header)
    _name(spec, "header", kind)


# ------------------------------------------------------------------ framing

def m_content_length(rng, spec, ctx):
    n = len(spec.body)
    kinds = {
        "longer": [str(n + rng.randint(1, 100)).encode()],
        "shorter": [str(max(0, n - rng.randint(1, 10))).encode()],
        "zero": [b"0"],
        "negative": [b"-1"],
        "text": [b"abc"],
        "plus": [b"+%d" % n],
        "hex": [b"0x%x" % n],
        "padded": [b" %d " % n],
        "huge": [b"99999999999999999999"],
        "over-limit": [b"16385"],
        "duplicate-same": [b"%d" % n, b"%d" % n],
        "duplicate-differ": [b"%d" % n, b"%d" % (n + 1)],
        "list": [b"%d, %d" % (n, n)],
    }
    kind, values = _pick(rng, kinds)
    spec.drop_header(b"Content-Length")
    spec.headers += [(b"Content-Length", v) for v in values]
    spec.framed = True
    spec.incomplete = spec.incomplete or kind in ("longer", "over-limit", "huge") or (
        kind == "duplicate-differ")
    if rng.random() < 0.3:  # chunked wins over Content-Length; the body is not chunked
        spec.headers.append((b"Transfer-Encoding", b"chunked"))
        spec.incomplete = True
        kind += "+te"
    _name(spec, "content-length", kind)


def _chunks(body, size):
    return b"".join(b"%x\r\n" % len(body[i:i + size]) + body[i:i + size] + b"\r\n"
                    for i in range(0, len(body), size))


def m_chunked(rng, spec, ctx):
    body = spec.body
    chunks = _chunks(body, rng.randint(1, 64))
    kinds = {
        "valid": (b"chunked", chunks + b"0\r\n\r\n", False),
        "bad-hex": (b"chunked", b"zz\r\n" + body + b"\r\n0\r\n\r\n", False),
        "size-overflow": (b"chunked", b"ffffffffffffffffffff\r\n" + body + b"\r\n0\r\n\r\n", True),
        "negative": (b"chunked", b"-1\r\n" + body + b"\r\n0\r\n\r\n", False),
        "too-long": (b"chunked", b"%x\r\n" % (len(body) + 50) + body + b"\r\n0\r\n\r\n", True),
        "no-last-chunk": (b"chunked", chunks, True),
        "extension": (b"chunked", chunks + b"0;ext=\xff\r\n\r\n", False),
        "trailer": (b"chunked", chunks + b"0\r\nX-Trailer: 1\r\nContent-Length: 5\r\n\r\n", False),
        "lf-only": (b"chunked", chunks.replace(b"\r\n", b"\n") + b"0\n\n", True),
        "gzip-chunked": (b"gzip, chunked", chunks + b"0\r\n\r\n", False),
        "gzip": (b"gzip", body, True),
        "xchunked": (b"xchunked", body, True),
        "chunked-twice": (b"chunked, chunked", chunks + b"0\r\n\r\n", False),
        "space": (b" chunked ", chunks + b"0\r\n\r\n", False),
    }
    kind, (te, new_body, incomplete) = _pick(rng, kinds)
    spec.drop_header(b"Content-Length")
    spec.headers.append((b"Transfer-Encoding", te))
    spec.body = new_body
    spec.framed = True
    spec.incomplete = spec.incomplete or incomplete
    _name(spec, "chunked", kind)


def m_garbage(rng, spec, ctx):
    kinds = {
        "random": lambda: rng.randbytes(rng.randint(1, 2000)) + b"\r\n\r\n",
        "truncated-head": lambda: spec.render()[:rng.randint(1, 40)],
        "tls-hello": lambda: bytes.fromhex("16030100a5010000a10303") + rng.randbytes(60),
        "h2-preface": lambda: b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "pipelined": lambda: spec.render() + b"GET * HTTP/1.1\r\nHost: x:abc\r\n\r\n",
        "leading-crlf": lambda: b"\r\n\r\n" + spec.render(),
    }
    kind, make = _pick(rng, kinds)
    spec.raw = make()
    spec.incomplete = spec.incomplete or kind in ("truncated-head", "tls-hello")
    _name(spec, "garbage", kind)


MUTATIONS = [
    (m_method, 6), (m_version, 3), (m_target, 12), (m_host, 5), (m_duplicate, 3),
    (m_huge_header, 2), (m_bad_header, 4), (m_eol, 1), (m_expect, 2), (m_accept, 2),
    (m_origin, 2), (m_misc, 3), (m_content_length, 5), (m_chunked, 5), (m_garbage, 1),
    *fuzz_body.MUTATIONS,
]
MUTATORS = [m for m, _ in MUTATIONS]
WEIGHTS = [w for _, w in MUTATIONS]
