"""Mutations of what the service itself parses, for scripts/fuzz: Content-Type, form and
JSON bodies, the 16 KiB body limit, resume points and Grip-Sig.

The HTTP layer in front (Viceroy's hyper, Pushpin) never looks inside these, so they are
where the service's own parsers meet hostile input: serde_json with deep nesting, lone
surrogates and duplicate keys; percent-decoding of forms into invalid UTF-8; trimming and
control-character rules on the fields; u64 parsing of message ids; JWT verification.
"""

import json
import urllib.parse

import fuzz_grip

BODY_MAX = 16 * 1024

CONTENT_TYPES = [
    b"application/json", b"application/x-www-form-urlencoded", b"APPLICATION/JSON",
    b"application/json; charset=utf-16", b"application/json;", b"application/json;;;=",
    b"application/x-www-form-urlencoded ; charset=latin1", b"application/json, text/plain",
    b"text/plain", b"multipart/form-data; boundary=zz", b"application/*", b"*/*", b"",
    b"application/jsonx", b" application/json", b"application/json\t", b"json",
    b"application/vnd.api+json", b"application/x-www-form-urlencoded; charset=\xff",
    b"application/json; boundary=" + b"b" * 5000, b"\xff\xfe",
]


def _tag(spec):
    return spec.tag or "[x]"


def _form(**fields):
    return urllib.parse.urlencode(fields).encode()


def _json(obj):
    return json.dumps(obj, ensure_ascii=False).encode()


def _bodies(rng, spec):
    """name -> (content type or None to keep, body)."""
    tag = _tag(spec)
    form, js = b"application/x-www-form-urlencoded", b"application/json"
    depth = rng.choice([100, 128, 129, 1000, 50_000])
    return {
        "json-invalid": (js, rng.choice([b"{", b"{'from':'a'}", b'{"from":"a",}', b"NaN", b"[1,]",
                                         b'{"from":"a" "text":"b"}', b"/* c */ {}", b'{"a":1}x'])),
        "json-array": (js, _json([{"from": "a", "text": tag}])),
        "json-scalar": (js, rng.choice([b"1", b'"str"', b"null", b"true", b"-0.0e-999", b"1e999"])),
        "json-wrong-types": (js, rng.choice([_json({"from": 1, "text": tag}),
                                             _json({"from": "a", "text": ["x"]}),
                                             _json({"from": None, "text": tag}),
                                             _json({"from": {"a": 1}, "text": tag})])),
        "json-deep": (js, b"[" * depth + b"]" * depth),
        "json-deep-object": (js, b'{"a":' * depth + b"1" + b"}" * depth),
        "json-text-len": (js, _json({"from": "a", "text": tag + "x" * rng.choice(
            [990 - len(tag), 1000 - len(tag), 1001 - len(tag), 16000])})),
        "json-surrogate": (js, b'{"from":"a\\ud800","text":"' + tag.encode() + b'"}'),
        "json-nul": (js, b'{"from":"a\\u0000","text":"' + tag.encode() + b'"}'),
        "json-duplicate-keys": (js, b'{"from":"a","from":"b","text":"' + tag.encode() + b'","text":"y"}'),
        "json-bom": (js, b"\xef\xbb\xbf" + _json({"from": "a", "text": tag})),
        "json-bidi": (js, _json({"from": rng.choice(["\u202eann", "a\u200bnn", "\u2066x", "\ufeff"]),
                                 "text": tag})),
        "json-blank": (js, _json({"from": " \t ", "text": "\r\n\r\n"})),
        "json-crlf": (js, _json({"from": "a", "text": tag + "\r\n\rline\n\x85"})),
        "json-extra-fields": (js, _json({"from": "a", "text": tag, "id": 1, "date": "x"})),
        "json-raw-utf8": (js, b'{"from":"\xc0\xae","text":"' + tag.encode() + b'"}'),
        "form-broken-percent": (form, rng.choice([b"from=%&text=%ZZ", b"text=%FF&from=a",
                                                  b"from=a&text=%E2%82", b"from=%C0%AE&text=x"])),
        "form-shapes": (form, rng.choice([b"=", b"&&&", b"from==a&text==b", b"from&text",
                                          b"from=a&from=b&text=" + tag.encode(), b"+&+=+"])),
        "form-many-pairs": (form, b"a=b&" * 4000 + b"from=a&text=x"),
        "form-invalid-utf8": (form, b"from=\xff\xfe&text=" + tag.encode()),
        "form-control": (form, _form(**{"from": rng.choice(["a\x07", "a\x00", "\x1b[31m"]), "text": tag})),
        "form-bidi": (form, _form(**{"from": rng.choice(["\u202eann", "a\u200bnn"]), "text": tag})),
        "form-plus": (form, b"from=a+b&text=" + tag.encode() + b"+%2B+"),
        "form-limit": (form, _padded(tag, BODY_MAX + rng.choice([-1, 0, 1]))),
        "multipart": (b"multipart/form-data; boundary=zz",
                      b"--zz\r\nContent-Disposition: form-data; name=\"from\"\r\n\r\na\r\n--zz--\r\n"),
        "empty": (None, b""),
        "big": (None, b"x" * rng.choice([BODY_MAX * 4, 1 << 20])),
        "binary": (None, rng.randbytes(rng.randint(1, 3000))),
    }


def _padded(tag, size):
    """A valid form body of exactly size bytes (padding in an ignored field)."""
    head = _form(**{"from": "a", "text": tag}) + b"&pad="
    return head + b"p" * (size - len(head))


def m_body(rng, spec, ctx):
    bodies = _bodies(rng, spec)
    kind = rng.choice(sorted(bodies))
    content_type, body = bodies[kind]
    spec.body = body
    if content_type is not None and rng.random() < 0.9:
        spec.set_header(b"Content-Type", content_type)
    if spec.method == b"GET" and rng.random() < 0.7:
        spec.method = b"POST"
        spec.target = spec.target.replace(b"/events/", b"/messages/")
    spec.tag = spec.tag if spec.tag.encode() in body else ""
    spec.mutations.append(f"body:{kind}")


def m_content_type(rng, spec, ctx):
    kind = rng.choice(["replace", "replace", "drop", "duplicate"])
    if kind == "drop":
        spec.drop_header(b"Content-Type")
    elif kind == "duplicate":
        spec.headers.append((b"Content-Type", rng.choice(CONTENT_TYPES)))
    else:
        spec.set_header(b"Content-Type", rng.choice(CONTENT_TYPES))
    value = spec.header(b"Content-Type") or b""
    spec.mutations.append(f"content-type:{kind} {value[:40].decode('latin-1')}")


def m_resume(rng, spec, ctx):
    value = fuzz_grip.resume_value(rng)
    room = rng.choice(ctx.rooms)
    where = rng.choice(["header", "query", "grip-last", "all"])
    if where in ("header", "all"):
        spec.set_header(b"Last-Event-ID", value.encode())
    if where in ("query", "all"):
        sep = b"&" if b"?" in spec.target else b"?"
        spec.target += sep + b"lastEventId=" + urllib.parse.quote(value).encode()
        if rng.random() < 0.5:
            spec.target += b"&link=next"
    if where in ("grip-last", "all"):
        spec.set_header(b"Grip-Last", fuzz_grip.grip_last(rng, room, value).encode())
    spec.mutations.append(f"resume:{where}")


def m_grip(rng, spec, ctx):
    spec.grip = fuzz_grip.token(rng, ctx.signing)
    spec.set_header(b"Grip-Sig", spec.grip.value)
    if b"/events/" not in spec.target and rng.random() < 0.7:
        spec.method = b"GET"
        spec.target = spec.target.split(b"?")[0].replace(b"/messages/", b"/events/")
    spec.mutations.append(f"grip:{spec.grip.kind}")


MUTATIONS = [(m_body, 10), (m_content_type, 5), (m_resume, 6), (m_grip, 8)]
