"""End-to-end tests of the message API (GET/POST /rooms/{room}/messages/) against the real
local stack. Every test uses its own random room, so tests are independent and order-free."""

import contextlib
import json
import re
import threading
import time
from datetime import datetime, timezone

import pytest

from helpers import get, get_json, post_form, post_json, post_ok, random_room, request
from stack import free_port

DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# One Server-Timing metric, e.g. kv;desc="3 ops";dur=1.2
SERVER_TIMING_RE = re.compile(r'^kv;desc="\d+ ops?";dur=\d+(\.\d+)?$')
MAX_BODY = 16 * 1024


def path(room):
    return f"/rooms/{room}/messages/"


def history(url, room):
    """Every message in the room, newest first, by paging with before/limit=100."""
    page = get_json(url, path(room) + "?limit=100")["messages"]
    out = list(page)
    while len(page) == 100:
        page = get_json(url, path(room) + f"?before={page[-1]['id']}&limit=100")["messages"]
        out += page
    return out


def assert_error(r, status, code, field=None):
    assert r.status == status, r
    assert r.media_type == "application/json", r
    body = r.json()
    assert body.get("error") == code, body
    assert isinstance(body.get("message"), str) and body["message"], body
    if field is not None:
        assert body.get("field") == field, body
    return body


@pytest.fixture
def seeded_room(stack, room):
    """A room holding one message, to show bad requests leave history alone."""
    post_ok(stack.url, room, "seed", "first")
    return room


@pytest.fixture
def unchanged(stack):
    """`with unchanged(room):` asserts the room's history is the same afterwards."""
    @contextlib.contextmanager
    def check(room):
        before = history(stack.url, room)
        yield
        assert history(stack.url, room) == before

    return check


# ------------------------------------------------------------------ reading

def test_seeded_lobby_has_welcome_message(stack):
    body = get_json(stack.url, path("lobby"))
    assert set(body) == {"messages", "last-event-id"}
    ids = [m["id"] for m in body["messages"]]
    assert ids == sorted(ids, reverse=True)
    assert body["last-event-id"] == str(ids[0])
    welcome = [m for m in body["messages"] if m["id"] == 1]
    assert welcome and welcome[0]["from"] == "edge-chat"
    assert list(welcome[0]) == ["id", "from", "date", "text"]


def test_unknown_room_is_empty(stack, room):
    assert get_json(stack.url, path(room)) == {"messages": [], "last-event-id": "0"}


def test_unknown_room_is_not_created_by_reading(stack, room):
    get_json(stack.url, path(room))
    assert post_ok(stack.url, room, "a", "b")["id"] == 1


# ------------------------------------------------------------------ posting

@pytest.mark.parametrize("kind", ["form", "json"])
def test_post_returns_stored_message(stack, room, kind):
    before = datetime.now(timezone.utc)
    msg = post_ok(stack.url, room, "alice", "hello", kind)
    assert list(msg) == ["id", "from", "date", "text"]
    assert msg["id"] == 1 and msg["from"] == "alice" and msg["text"] == "hello"
    assert isinstance(msg["id"], int)
    assert DATE_RE.match(msg["date"]), msg["date"]
    date = datetime.strptime(msg["date"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((date - before).total_seconds()) < 60
    assert get_json(stack.url, path(room)) == {"messages": [msg], "last-event-id": "1"}


def test_raw_post_response_keys_are_in_order(stack, room):
    r = post_form(stack.url, path(room), {"from": "a", "text": "b"})
    assert re.match(rb'^\{\s*"id"\s*:.*"from"\s*:.*"date"\s*:.*"text"\s*:', r.body), r.body


@pytest.mark.parametrize("content_type", [
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded;charset=UTF-8",  # what browsers' fetch(URLSearchParams) sends
])
def test_content_type_parameters_are_accepted(stack, room, content_type):
    fields = {"from": "a", "text": "b"}
    body = json.dumps(fields) if "json" in content_type else "from=a&text=b"
    r = request(stack.url, "POST", path(room), body, {"Content-Type": content_type})
    assert r.status == 200, r
    assert r.json()["text"] == "b"


def test_ids_are_sequential_and_history_is_newest_first(stack, room):
    sent = [post_ok(stack.url, room, f"u{i}", f"message {i}", ["form", "json"][i % 2])
            for i in range(1, 6)]
    assert [m["id"] for m in sent] == [1, 2, 3, 4, 5]
    body = get_json(stack.url, path(room))
    assert body["messages"] == sent[::-1]
    assert body["last-event-id"] == "5"


def test_fields_are_trimmed(stack, room):
    msg = post_ok(stack.url, room, "  alice \t", " \n  hi there \n ")
    assert (msg["from"], msg["text"]) == ("alice", "hi there")
    assert get_json(stack.url, path(room))["messages"][0] == msg


@pytest.mark.parametrize("kind", ["form", "json"])
def test_newlines_are_kept_and_crlf_normalised(stack, room, kind):
    msg = post_ok(stack.url, room, "a", "line 1\nline 2\r\nline 3\n\nline 5", kind)
    assert msg["text"] == "line 1\nline 2\nline 3\n\nline 5"
    assert get_json(stack.url, path(room))["messages"][0]["text"] == msg["text"]


TRICKY_TEXTS = [
    "emoji 😀🎉 family 👨‍👩‍👧 flag 🇳🇴",
    "CJK 你好，世界 こんにちは 안녕하세요",
    "RTL مرحبا بالعالم שלום עולם",
    "combining é (e\u0301), zero width\u200bspace, \u2028 line separator",
    "<img src=x onerror=alert(1)>",
    "&amp; &lt;b&gt; \"double\" 'single' `back` \\ backslash </script>",
    "% %25 %zz + & = ? # /",
    "{\"json\": [1, 2]} null",
]


@pytest.mark.parametrize("kind", ["form", "json"])
@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_text_round_trips_unchanged(stack, room, kind, text):
    msg = post_ok(stack.url, room, "ünï 名前 <b>", text, kind)
    assert (msg["from"], msg["text"]) == ("ünï 名前 <b>", text)
    assert get_json(stack.url, path(room))["messages"] == [msg]


def test_rooms_are_isolated(stack):
    a, b = random_room(), random_room()
    ma = post_ok(stack.url, a, "alice", "in a")
    mb = post_ok(stack.url, b, "bob", "in b")
    assert ma["id"] == 1 and mb["id"] == 1
    assert get_json(stack.url, path(a))["messages"] == [ma]
    assert get_json(stack.url, path(b))["messages"] == [mb]


@pytest.mark.parametrize("template", ["a.b.{r}", "a-b-{r}", "a_b_{r}", "A.Z-0_9.{r}",
                                      "x" * 52 + "{r}", "1", "-"])
def test_valid_room_names(stack, template):
    room = template.format(r=random_room()[-12:])  # "x"*52 + 12 = the 64-char maximum
    before = get_json(stack.url, path(room))["messages"]
    msg = post_ok(stack.url, room, "a", "b")
    assert msg["id"] == len(before) + 1
    assert get_json(stack.url, path(room))["messages"][0] == msg


# ------------------------------------------------------------------ limits and validation

def test_text_of_1000_chars_is_accepted(stack, room):
    for text in ("x" * 1000, "😀" * 1000, "  " + "é" * 1000 + "\n"):
        msg = post_ok(stack.url, room, "a", text, "json")
        assert msg["text"] == text.strip()


@pytest.mark.parametrize("text", ["x" * 1001, "😀" * 1001])
def test_text_of_1001_chars_is_rejected(stack, seeded_room, unchanged, text):
    with unchanged(seeded_room):
        r = post_json(stack.url, path(seeded_room), {"from": "a", "text": text})
        assert_error(r, 400, "invalid_field", "text")


def test_from_of_64_chars_is_accepted(stack, room):
    for sender in ("a" * 64, "é" * 64, " " + "b" * 64 + " "):
        assert post_ok(stack.url, room, sender, "hi")["from"] == sender.strip()


BAD_FIELDS = [
    ("from", "", "hi"),
    ("from", "   ", "hi"),
    ("from", "a" * 65, "hi"),
    ("from", "a\nb", "hi"),
    ("from", "a\tb", "hi"),
    ("from", "a\x00b", "hi"),
    ("from", "a\x1bb", "hi"),
    ("from", "a\x7fb", "hi"),
    ("text", "alice", ""),
    ("text", "alice", " \n\r\n\t "),
    ("text", "alice", "a\x00b"),
    ("text", "alice", "a\x07b"),
    ("text", "alice", "a\tb"),
    ("text", "alice", "a\rb"),
    ("text", "alice", "a\x1b[31mred"),
    ("text", "alice", "a\x85b"),
]


@pytest.mark.parametrize("kind", ["form", "json"])
@pytest.mark.parametrize("field,sender,text", BAD_FIELDS)
def test_invalid_fields_are_rejected(stack, seeded_room, unchanged, kind, field, sender, text):
    post = post_form if kind == "form" else post_json
    with unchanged(seeded_room):
        r = post(stack.url, path(seeded_room), {"from": sender, "text": text})
        assert_error(r, 400, "invalid_field", field)


@pytest.mark.parametrize("kind", ["form", "json"])
@pytest.mark.parametrize("fields,field", [
    ({"text": "hi"}, "from"),
    ({"from": "alice"}, "text"),
])
def test_missing_fields_are_rejected(stack, seeded_room, unchanged, kind, fields, field):
    post = post_form if kind == "form" else post_json
    with unchanged(seeded_room):
        r = post(stack.url, path(seeded_room), fields)
        assert r.status == 400, r
        body = r.json()
        assert body["error"] in ("invalid_field", "invalid_body"), body
        if body["error"] == "invalid_field":
            assert body["field"] == field, body


@pytest.mark.parametrize("obj", [
    {"from": 5, "text": "hi"},
    {"from": "alice", "text": ["hi"]},
    {"from": None, "text": "hi"},
    ["alice", "hi"],
    "alice: hi",
])
def test_json_of_the_wrong_shape_is_rejected(stack, seeded_room, unchanged, obj):
    with unchanged(seeded_room):
        r = post_json(stack.url, path(seeded_room), json.dumps(obj))
        assert r.status == 400, r
        assert r.json()["error"] in ("invalid_field", "invalid_body"), r


@pytest.mark.parametrize("body", [b"", b"{", b"{\"from\": \"a\", \"text\": \"b\"", b"nope",
                                  b"{\"from\": \"a\", \"text\": \"\xff\"}"])
def test_invalid_json_is_rejected(stack, seeded_room, unchanged, body):
    with unchanged(seeded_room):
        r = request(stack.url, "POST", path(seeded_room), body, {"Content-Type": "application/json"})
        assert_error(r, 400, "invalid_body")


@pytest.mark.parametrize("body", [b"from=a&text=%FF", b"from=%E2%82&text=b"])
def test_form_with_invalid_utf8_is_rejected(stack, seeded_room, unchanged, body):
    with unchanged(seeded_room):
        r = request(stack.url, "POST", path(seeded_room), body,
                    {"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status == 400, r
        assert r.json()["error"] in ("invalid_body", "invalid_field"), r


@pytest.mark.parametrize("content_type", [None, "text/plain", "multipart/form-data; boundary=x",
                                          "application/xml", "application/jsonx", "json"])
def test_unsupported_content_type_is_415(stack, seeded_room, unchanged, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    with unchanged(seeded_room):
        r = request(stack.url, "POST", path(seeded_room), b"from=a&text=b", headers)
        assert_error(r, 415, "unsupported_media_type")


def _json_body_of_size(size, text="hi"):
    # JSON allows trailing whitespace, so the body size is exact while the fields stay valid.
    body = json.dumps({"from": "a", "text": text}).encode()
    return body + b" " * (size - len(body))


def test_body_of_16_kib_is_accepted(stack, room):
    r = request(stack.url, "POST", path(room), _json_body_of_size(MAX_BODY),
                {"Content-Type": "application/json"})
    assert r.status == 200, r


@pytest.mark.parametrize("kind", ["form", "json"])
def test_body_over_16_kib_is_413(stack, seeded_room, unchanged, kind):
    with unchanged(seeded_room):
        if kind == "json":
            r = request(stack.url, "POST", path(seeded_room), _json_body_of_size(MAX_BODY + 1),
                        {"Content-Type": "application/json"})
        else:
            r = post_form(stack.url, path(seeded_room), {"from": "a", "text": "x" * 20000})
        assert_error(r, 413, "payload_too_large")


def test_huge_body_is_413_not_5xx(stack, seeded_room, unchanged):
    with unchanged(seeded_room):
        r = request(stack.url, "POST", path(seeded_room), b"x" * (1024 * 1024),
                    {"Content-Type": "application/json"})
        assert_error(r, 413, "payload_too_large")


@pytest.mark.parametrize("name", ["x" * 65, "%20", "a%20b", "caf%C3%A9", "a%2Fb", "a%00b", "a+b",
                                  "a:b", "%2E%2E%2F"])
def test_invalid_room_names_are_rejected(stack, name):
    for r in (get(stack.url, path(name)), post_form(stack.url, path(name), {"from": "a", "text": "b"})):
        assert_error(r, 400, "invalid_field", "room")


@pytest.mark.parametrize("raw_path", ["/rooms/room/x/messages/", "/rooms//messages/"])
def test_room_paths_that_are_not_one_segment_are_rejected(stack, raw_path):
    for r in (get(stack.url, raw_path), post_form(stack.url, raw_path, {"from": "a", "text": "b"})):
        assert r.status in (400, 404), r
        body = r.json()
        assert body["error"] in ("invalid_field", "not_found"), body


# ------------------------------------------------------------------ paging

@pytest.fixture(scope="module")
def room_of_55(stack):
    room = random_room("page")
    sent = [post_ok(stack.url, room, "p", f"m{i}") for i in range(1, 56)]
    assert [m["id"] for m in sent] == list(range(1, 56))
    return room, sent


def test_history_returns_at_most_50_newest(stack, room_of_55):
    room, sent = room_of_55
    body = get_json(stack.url, path(room))
    assert body["messages"] == sent[::-1][:50]
    assert body["last-event-id"] == "55"


@pytest.mark.parametrize("query,ids", [
    ("?limit=5", range(55, 50, -1)),
    ("?limit=100", range(55, 0, -1)),
    ("?limit=1", [55]),
    ("?before=10&limit=5", range(9, 4, -1)),
    ("?before=3", [2, 1]),
    ("?before=1", []),
    ("?before=56", range(55, 5, -1)),
    ("?before=1000&limit=3", [55, 54, 53]),
    ("?limit=3&before=20", [19, 18, 17]),
])
def test_paging(stack, room_of_55, query, ids):
    room, sent = room_of_55
    body = get_json(stack.url, path(room) + query)
    assert body["messages"] == [sent[i - 1] for i in ids]
    assert body["last-event-id"] == "55"  # the room's newest id, whatever the page


@pytest.mark.parametrize("query,field", [
    ("?limit=0", "limit"), ("?limit=101", "limit"), ("?limit=-1", "limit"),
    ("?limit=abc", "limit"), ("?limit=1.5", "limit"), ("?limit=99999999999999999999", "limit"),
    ("?before=abc", "before"), ("?before=-1", "before"), ("?before=1.5", "before"),
    ("?before=99999999999999999999", "before"),
])
def test_invalid_paging_parameters(stack, room_of_55, query, field):
    room, _ = room_of_55
    assert_error(get(stack.url, path(room) + query), 400, "invalid_field", field)


# ------------------------------------------------------------------ other methods and routes

@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_other_methods_on_messages_are_405(stack, seeded_room, unchanged, method):
    with unchanged(seeded_room):
        r = request(stack.url, method, path(seeded_room), b"from=a&text=b",
                    {"Content-Type": "application/x-www-form-urlencoded"})
        assert_error(r, 405, "method_not_allowed")
        # DELETE clears a room (moderation), for an admin only.
        assert r.headers.get("Allow") == "GET, POST, DELETE"


def test_clearing_a_room_needs_an_admin(stack, seeded_room, unchanged):
    with unchanged(seeded_room):
        assert_error(request(stack.url, "DELETE", path(seeded_room)), 403, "forbidden")


# Single-segment paths like /nope may be a room's HTML page, so they are not used here.
@pytest.mark.parametrize("raw_path", ["/rooms/x/messages/extra", "/rooms/x/nope/",
                                      "/api/rooms/x/messages/", "/nope/nope/nope"])
def test_unknown_routes_are_404(stack, raw_path):
    assert_error(get(stack.url, raw_path), 404, "not_found")


# ------------------------------------------------------------------ Server-Timing

def _server_timing_ok(r):
    value = r.headers.get("Server-Timing")
    assert value, f"no Server-Timing on {r!r}"
    assert any(SERVER_TIMING_RE.match(m.strip()) for m in value.split(",")), value


def test_every_api_response_has_server_timing(stack, room):
    responses = [
        post_form(stack.url, path(room), {"from": "a", "text": "b"}),        # 200 POST
        get(stack.url, path(room)),                                         # 200 GET
        get(stack.url, path(random_room())),                                # 200 empty
        post_form(stack.url, path(room), {"from": "", "text": "b"}),        # 400 field
        get(stack.url, path(room) + "?limit=0"),                            # 400 query
        post_json(stack.url, path(room), "{"),                              # 400 body
        get(stack.url, "/rooms/x/nope/"),                                   # 404
        request(stack.url, "PUT", path(room)),                              # 405
        request(stack.url, "POST", path(room), b"x" * (MAX_BODY + 1),
                {"Content-Type": "application/json"}),                      # 413
        request(stack.url, "POST", path(room), b"x", {"Content-Type": "text/plain"}),  # 415
    ]
    assert [r.status for r in responses] == [200, 200, 200, 400, 400, 400, 404, 405, 413, 415]
    for r in responses:
        _server_timing_ok(r)


# ------------------------------------------------------------------ concurrency

def test_concurrent_posters_get_unique_gapless_ids(stack, room):
    posters, per_poster = 20, 25
    results, errors = [], []
    lock = threading.Lock()
    start = threading.Barrier(posters)

    def poster(n):
        start.wait()
        for i in range(per_poster):
            text = f"poster {n} message {i}"
            try:
                r = post_form(stack.url, path(room), {"from": f"p{n}", "text": text}, timeout=30)
                assert r.status == 200, r
                result = (r.json(), f"p{n}", text)
            except Exception as e:  # noqa: BLE001 - collected and asserted below
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                results.append(result)

    threads = [threading.Thread(target=poster, args=(n,)) for n in range(posters)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    elapsed = time.monotonic() - t0
    assert not any(t.is_alive() for t in threads), "posters did not finish within 120 s"
    assert errors == [], f"{len(errors)} failed posts, first: {errors[:3]}"

    total = posters * per_poster
    ids = [m["id"] for m, _, _ in results]
    assert len(ids) == total
    assert len(set(ids)) == total, "duplicate ids returned to different posters"
    assert sorted(ids) == list(range(1, total + 1))
    for msg, sender, text in results:
        assert (msg["from"], msg["text"]) == (sender, text)

    stored = history(stack.url, room)
    assert [m["id"] for m in stored] == list(range(total, 0, -1))
    by_id = {m["id"]: (s, t) for m, s, t in results}
    assert {m["id"]: (m["from"], m["text"]) for m in stored} == by_id
    assert get_json(stack.url, path(room))["last-event-id"] == str(total)
    print(f"{total} concurrent posts in {elapsed:.1f}s ({total / elapsed:.0f}/s)")


# ------------------------------------------------------------------ publishing outages

def test_posting_works_while_the_publish_endpoint_is_down(make_stack, room):
    dead = make_stack(publish_url=f"http://127.0.0.1:{free_port()}/")
    sent = [post_ok(dead.url, room, "a", f"m{i}") for i in range(1, 4)]
    assert [m["id"] for m in sent] == [1, 2, 3]
    assert get_json(dead.url, path(room))["messages"] == sent[::-1]


def test_posting_works_while_pushpin_restarts(make_stack, room):
    own = make_stack()
    first = post_ok(own.url, room, "a", "before")
    own.stop_pushpin()
    during = post_ok(own.url, room, "a", "during")
    own.start_pushpin()
    after = post_ok(own.url, room, "a", "after")
    assert [m["id"] for m in (first, during, after)] == [1, 2, 3]
    assert get_json(own.url, path(room))["messages"] == [after, during, first]
