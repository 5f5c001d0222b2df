"""End-to-end tests of passkey identity (issue 11) on the real local stack: what a person and
a program can do, and what the modes, names and costs are.

Covered here, in passkey mode unless said otherwise:
* the account's life: sign-up options and verify (cookie attributes), /auth/me, posting under
  one's own name, history, the live stream handed to Fanout only with a session, sign-out,
  discoverable sign-in (no name) and named sign-in, a second passkey added, used and removed,
  the last passkey kept;
* API keys: created and shown once, listed without secrets, acting as their owner on the
  message API, revoked at once, unknown ones refused, and unable to manage the account;
* modes: anonymous pages redirect to sign-in (with a `next` that never leaves the site),
  anonymous API calls are 401; in open mode /auth/* does not exist and the chat is as before;
* names: taken without regard to ASCII case (also when two sign-ups race), invalid names
  refused, page names refused as rooms;
* KV cost: a cookie session reads nothing from KV, an API key one lookup (Server-Timing).

Attacks on the ceremonies, cookies and cross-site requests are in test_auth_attacks.py. Every
refusal is checked for its JSON shape and for having stored nothing: the name still free, no
cookie set, /auth/me and the room unchanged.
"""

import json
import re
from urllib.parse import quote

import pytest

from auth_helpers import (UNUSABLE, COOKIE, Browser, ann, assert_error, bearer, kv_ops,  # noqa: F401
                          random_name, set_cookies, signed_up)
from helpers import SSEClient, get, post_json, post_ok, random_room, request
from softauthn import SoftAuthenticator, b64url

SESSION_SECONDS = 24 * 3600
RESERVED_ROOMS = ["account", "auth", "events", "rooms", "static"]
# Where the sign-in page goes on to when `next` is missing or not a path on this site.
FRONT_DOOR_NEXT = "/lobby"


def messages_path(room):
    return f"/rooms/{room}/messages/"


def events_path(room):
    return f"/rooms/{room}/events/"


def history(browser, room):
    r = browser.get(messages_path(room))
    assert r.status == 200, r
    return r.json()["messages"]


def cookie_attributes(r):
    """The session Set-Cookie of a response as {attribute (lowercase): value}."""
    [line] = [c for c in set_cookies(r) if c.startswith(f"{COOKIE}=")]
    pairs = [part.strip().partition("=") for part in line.split(";")[1:]]
    return {k.lower(): v for k, _, v in pairs}


@pytest.fixture
def ann_key(ann):
    """One of ann's API keys (the secret)."""
    return ann.create_api_key()["key"]


# ------------------------------------------------------------------ signing up

def test_sign_up_options_ask_for_a_discoverable_verified_passkey(passkey_stack):
    name = random_name()
    browser = Browser(passkey_stack)
    first, second = (browser.options("/auth/register/options", {"name": name}) for _ in range(2))
    assert first["rp"] == {"id": "localhost", "name": "edge-chat (local)"}
    assert first["user"]["name"] == first["user"]["displayName"] == name
    # The user handle is random, never derived from the name.
    assert first["user"]["id"] != second["user"]["id"]
    assert first["challenge"] != second["challenge"]
    # ES256, EdDSA, RS256 (issue 18 item 4; test_identity_algorithms.py uses each).
    assert [p["alg"] for p in first["pubKeyCredParams"]] == [-7, -8, -257]
    assert first["authenticatorSelection"]["residentKey"] == "required"
    assert first["authenticatorSelection"]["userVerification"] == "required"
    assert first["attestation"] == "none"
    assert first["excludeCredentials"] == []
    assert first["timeout"] == 300_000


def test_signing_up_answers_the_user_and_sets_an_http_only_lax_session_cookie(passkey_stack):
    browser = Browser(passkey_stack)
    name = random_name("Ann")
    response = browser.registration(name)
    r = browser.finish_sign_up(response)
    assert r.status == 200, r
    assert r.json() == {"user": {"id": browser.user["id"], "name": name}}
    assert r.headers.get("Cache-Control") == "no-store"
    attributes = cookie_attributes(r)
    assert {"httponly", "path", "samesite", "max-age"} <= set(attributes), attributes
    assert attributes["path"] == "/"
    assert attributes["samesite"] == "Lax"
    assert attributes["max-age"] == str(SESSION_SECONDS)
    # Plain http (local dev): neither Secure nor the __Host- prefix.
    assert "secure" not in attributes
    assert browser.me().json()["name"] == name


def test_me_lists_the_account_and_when_each_passkey_was_last_used(passkey_stack, ann):
    r = ann.me()
    assert r.status == 200, r
    me = r.json()
    assert set(me) == {"id", "name", "passkeys"}
    assert (me["id"], me["name"]) == (ann.user["id"], ann.name)
    [passkey] = me["passkeys"]
    assert set(passkey) == {"id", "created", "last_used"}
    assert passkey["id"] == b64url(ann.authenticator.credentials[0].id)
    assert passkey["last_used"] is None
    assert ann.sign_in().status == 200
    [used] = ann.me().json()["passkeys"]
    assert used["id"] == passkey["id"] and used["created"] == passkey["created"]
    assert used["last_used"] >= passkey["created"]


# ------------------------------------------------------------------ chatting

def test_a_signed_in_user_posts_under_their_own_name_and_reads_history(ann):
    room = random_room()
    as_json = ann.post(messages_path(room), {"text": "hello"})
    as_form = ann.post_form(messages_path(room), {"text": "again"})
    same_name = ann.post_form(messages_path(room), {"from": ann.name, "text": "me"})
    for r in (as_json, as_form, same_name):
        assert r.status == 200, r
        assert r.json()["from"] == ann.name
    assert [(m["from"], m["text"]) for m in history(ann, room)] == [
        (ann.name, "me"), (ann.name, "again"), (ann.name, "hello")]


def test_the_live_stream_is_handed_to_fanout_only_for_someone_signed_in(passkey_stack, ann):
    room = random_room()
    with SSEClient(passkey_stack.url, events_path(room), headers=ann.session_header()) as sse:
        assert sse.status == 200, (sse.status, sse.response_headers)
        assert sse.response_headers.get("Content-Type") == "text/event-stream"
        sse.wait_for_event("stream-open")
        sent = ann.post(messages_path(room), {"text": "live"}).json()
        [(_, event_id, data)] = sse.wait_for_event("message")
        assert (int(event_id), json.loads(data)) == (sent["id"], sent)
    anonymous = get(passkey_stack.url, events_path(room), headers={"Accept": "text/event-stream"})
    assert_error(anonymous, 401, "unauthorized")


# ------------------------------------------------------------------ signing out and in

def test_signing_out_clears_the_cookie(ann):
    room = random_room()
    r = ann.sign_out()
    assert r.status == 200, r
    assert cookie_attributes(r)["max-age"] == "0"
    assert ann.cookie is None
    assert_error(ann.me(), 401, "unauthorized")
    assert_error(ann.get(messages_path(room)), 401, "unauthorized")


def test_signing_in_again_needs_no_name(ann):
    me = ann.me().json()
    ann.sign_out()
    options = ann.options("/auth/login/options")
    assert options["allowCredentials"] == []
    assert options["userVerification"] == "required"
    assert options["rpId"] == "localhost"
    r = ann.finish_sign_in(ann.authenticator.assert_(options))
    assert r.status == 200, r
    assert r.json() == {"user": {"id": me["id"], "name": me["name"]}}
    assert cookie_attributes(r)["max-age"] == str(SESSION_SECONDS)
    assert ann.me().json()["id"] == me["id"]


def test_a_named_sign_in_offers_that_users_passkeys(ann):
    ids = ann.passkey_ids()
    for name in (ann.name, ann.name.upper()):
        options = ann.options("/auth/login/options", {"name": name})
        assert [c["id"] for c in options["allowCredentials"]] == ids
        assert {c["type"] for c in options["allowCredentials"]} == {"public-key"}
    # Unknown names get made-up passkeys: see test_identity_enumeration.py.
    assert ann.sign_in(ann.name).status == 200


def test_an_overlong_name_at_sign_in_gets_the_discoverable_options(passkey_stack):
    options = Browser(passkey_stack).options("/auth/login/options", {"name": "x" * 1000})
    assert options["allowCredentials"] == []


# ------------------------------------------------------------------ more passkeys

def test_a_second_passkey_is_added_used_and_removed(passkey_stack, ann):
    [first] = ann.passkey_ids()
    options = ann.options("/auth/passkeys/options")
    assert [c["id"] for c in options["excludeCredentials"]] == [first]
    assert options["user"]["id"] == ann.user["id"] and options["user"]["name"] == ann.name
    # The browser's own authenticator holds an excluded passkey: it refuses, as browsers do.
    with pytest.raises(ValueError, match="InvalidStateError"):
        ann.authenticator.register(options)

    phone = SoftAuthenticator(ann.origin)
    r = ann.add_passkey(phone)
    assert r.status == 200, r
    second = r.json()["id"]
    assert ann.passkey_ids() == [first, second]
    assert [c["id"] for c in ann.options("/auth/login/options", {"name": ann.name})
            ["allowCredentials"]] == [first, second]

    on_phone = Browser(passkey_stack, phone)
    assert on_phone.sign_in().status == 200
    assert on_phone.user == ann.user

    r = ann.delete(f"/auth/passkeys/{second}")
    assert r.status == 204, r
    assert ann.passkey_ids() == [first]
    removed = assert_error(Browser(passkey_stack, phone).sign_in(), 400, "passkey_rejected")
    assert UNUSABLE in removed["message"]
    assert ann.sign_in().status == 200


def test_the_last_passkey_cannot_be_removed(ann):
    before = ann.me().json()
    [only] = ann.passkey_ids()
    assert_error(ann.delete(f"/auth/passkeys/{only}"), 409, "conflict")
    assert ann.me().json() == before
    assert ann.sign_in().status == 200


def test_an_unknown_passkey_id_is_not_found(ann):
    before = ann.me().json()
    assert_error(ann.delete("/auth/passkeys/AAAA"), 404, "not_found")
    assert ann.me().json() == before


# ------------------------------------------------------------------ API keys

def test_an_api_key_is_shown_once_and_listed_without_its_secret(ann):
    created = ann.create_api_key("my bot")
    assert set(created) == {"id", "name", "created", "key"}
    assert created["name"] == "my bot"
    assert re.fullmatch(r"ec_[A-Za-z0-9_-]{43}", created["key"]), created
    r = ann.get("/auth/api-keys")
    assert r.status == 200, r
    assert r.json() == {"api_keys": [{k: created[k] for k in ("id", "name", "created")}]}
    assert created["key"] not in r.text and created["key"][3:] not in r.text


def test_an_api_key_reads_and_posts_as_its_owner(passkey_stack, ann, ann_key):
    room = random_room()
    # A program: no cookie, no Origin.
    r = post_json(passkey_stack.url, messages_path(room), {"text": "beep"})
    assert_error(r, 401, "unauthorized")
    r = request(passkey_stack.url, "POST", messages_path(room), "text=beep",
                {"Content-Type": "application/x-www-form-urlencoded", **bearer(ann_key)})
    assert r.status == 200, r
    assert r.json()["from"] == ann.name
    r = get(passkey_stack.url, messages_path(room), headers=bearer(ann_key))
    assert r.status == 200, r
    assert [m["text"] for m in r.json()["messages"]] == ["beep"]
    r = get(passkey_stack.url, "/auth/me", headers=bearer(ann_key))
    assert r.status == 200 and r.json()["id"] == ann.user["id"], r
    with SSEClient(passkey_stack.url, events_path(room), headers=bearer(ann_key)) as sse:
        assert sse.status == 200, (sse.status, sse.response_headers)
        sse.wait_for_event("stream-open")


def test_a_revoked_api_key_is_refused_at_once(passkey_stack, ann):
    created = ann.create_api_key()
    room = random_room()
    assert get(passkey_stack.url, messages_path(room), headers=bearer(created["key"])).status == 200
    r = ann.delete(f"/auth/api-keys/{created['id']}")
    assert r.status == 204, r
    assert ann.get("/auth/api-keys").json() == {"api_keys": []}
    r = get(passkey_stack.url, messages_path(room), headers=bearer(created["key"]))
    body = assert_error(r, 401, "unauthorized")
    assert "revoked" in body["message"]
    r = request(passkey_stack.url, "POST", messages_path(room), '{"text": "x"}',
                {"Content-Type": "application/json", **bearer(created["key"])})
    assert_error(r, 401, "unauthorized")
    assert history(ann, room) == []
    assert_error(ann.delete(f"/auth/api-keys/{created['id']}"), 404, "not_found")


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "bot\u202e"}, {"name": "x" * 65}])
def test_an_api_key_needs_a_valid_label(ann, body):
    assert_error(ann.post("/auth/api-keys", body), 400, "invalid_field", field="name")
    assert ann.get("/auth/api-keys").json() == {"api_keys": []}


@pytest.mark.parametrize("key", ["ec_" + "A" * 43, "ec_short", "garbage", "ec_" + "A" * 44])
def test_an_unknown_or_malformed_api_key_is_refused_even_with_a_session(ann, key):
    # A bad key is refused, never ignored in favour of the cookie beside it.
    r = ann.get(messages_path(random_room()), headers=bearer(key))
    assert_error(r, 401, "unauthorized")


@pytest.mark.parametrize("method, path", [
    ("GET", "/auth/api-keys"),
    ("POST", "/auth/api-keys"),
    ("DELETE", "/auth/api-keys/{key_id}"),
    ("POST", "/auth/passkeys/options"),
    ("POST", "/auth/passkeys/verify"),
    ("DELETE", "/auth/passkeys/{passkey_id}"),
])
def test_an_api_key_cannot_manage_keys_or_passkeys(passkey_stack, ann, method, path):
    created = ann.create_api_key()
    before = (ann.me().json(), ann.get("/auth/api-keys").json())
    path = path.format(key_id=created["id"], passkey_id=ann.passkey_ids()[0])
    r = request(passkey_stack.url, method, path, "{}" if method == "POST" else b"",
                {"Content-Type": "application/json", **bearer(created["key"])})
    assert_error(r, 403, "forbidden")
    assert (ann.me().json(), ann.get("/auth/api-keys").json()) == before


@pytest.mark.parametrize("path, allowed", [
    ("/auth/register/options", "POST"),
    ("/auth/register/verify", "POST"),
    ("/auth/login/options", "POST"),
    ("/auth/login/verify", "POST"),
    ("/auth/logout", "POST"),
    ("/auth/me", "GET"),
    ("/auth/passkeys/options", "POST"),
    ("/auth/passkeys/verify", "POST"),
    ("/auth/passkeys/AAAA", "DELETE"),
    ("/auth/api-keys", "GET, POST"),
    ("/auth/api-keys/AAAA", "DELETE"),
])
def test_each_auth_route_refuses_other_methods_naming_its_own(ann, path, allowed):
    for method in {"GET", "POST", "PUT", "DELETE"} - set(allowed.split(", ")):
        r = ann.request(method, path, b"{}" if method != "GET" else b"",
                        {"Content-Type": "application/json"})
        assert_error(r, 405, "method_not_allowed")
        assert r.headers.get("Allow") == allowed, (method, r)


# ------------------------------------------------------------------ modes

@pytest.mark.parametrize("path", ["/{room}", "/account"])
def test_an_anonymous_page_visit_goes_to_sign_in_and_back(passkey_stack, path):
    path = path.format(room=random_room())
    r = get(passkey_stack.url, path, headers={"Accept": "text/html"})
    assert r.status == 303, r
    assert r.headers.get("Location") == "/?next=" + path.replace("/", "%2F")
    assert not set_cookies(r)


def test_anonymous_api_calls_are_unauthorized_and_post_nothing(passkey_stack, ann):
    room = random_room()
    url = passkey_stack.url
    for r in (get(url, messages_path(room)),
              post_json(url, messages_path(room), {"from": "ann", "text": "x"}),
              get(url, events_path(room), headers={"Accept": "text/event-stream"}),
              get(url, "/auth/me"),
              get(url, "/auth/api-keys"),
              post_json(url, "/auth/api-keys", {"name": "bot"}),
              post_json(url, "/auth/passkeys/options", {}),
              request(url, "DELETE", f"/auth/passkeys/{ann.passkey_ids()[0]}")):
        assert_error(r, 401, "unauthorized")
    assert history(ann, room) == []


@pytest.mark.parametrize("next_, honoured", [
    (None, FRONT_DOOR_NEXT),
    ("/", FRONT_DOOR_NEXT),
    ("/r-1", "/r-1"),
    ("/r-1?x=1", "/r-1?x=1"),
    ("//evil.example", FRONT_DOOR_NEXT),
    ("https://evil.example", FRONT_DOOR_NEXT),
    ("/\\evil.example", FRONT_DOOR_NEXT),
    ("evil.example", FRONT_DOOR_NEXT),
])
def test_the_sign_in_page_goes_on_only_to_paths_on_this_site(passkey_stack, next_, honoured):
    query = "" if next_ is None else "?next=" + quote(next_, safe="")
    r = get(passkey_stack.url, "/" + query, headers={"Accept": "text/html"})
    assert r.status == 200, r
    assert r.media_type == "text/html", r
    assert re.findall(r'data-next="([^"]*)"', r.text) == [honoured]


def test_a_signed_in_browser_gets_its_room_page(ann):
    room = random_room()
    ann.post(messages_path(room), {"text": "hi"})
    r = ann.get(f"/{room}", headers={"Accept": "text/html"})
    assert r.status == 200, r
    assert ann.name in r.text and "hi" in r.text


@pytest.mark.parametrize("method, path", [
    ("POST", "/auth/register/options"),
    ("POST", "/auth/login/options"),
    ("POST", "/auth/login/verify"),
    ("GET", "/auth/me"),
    ("GET", "/auth/api-keys"),
    ("DELETE", "/auth/passkeys/AAAA"),
])
def test_open_mode_has_no_auth_routes(stack, method, path):
    r = request(stack.url, method, path, "{}" if method == "POST" else b"",
                {"Content-Type": "application/json"})
    assert_error(r, 404, "not_found")


def test_open_mode_chats_as_before_with_any_nickname(stack):
    room = random_room()
    sent = post_ok(stack.url, room, "anyone", "hello")
    assert sent["from"] == "anyone"
    r = get(stack.url, messages_path(room))
    assert r.status == 200 and r.json()["messages"] == [sent], r
    assert get(stack.url, f"/{room}", headers={"Accept": "text/html"}).status == 200
    with SSEClient(stack.url, events_path(room)) as sse:
        assert sse.status == 200
        sse.wait_for_event("stream-open")


# ------------------------------------------------------------------ names

def test_a_name_is_taken_whatever_its_ascii_case(passkey_stack):
    owner = signed_up(passkey_stack, random_name("Ann"))
    for name in (owner.name, owner.name.lower(), owner.name.upper(), f"  {owner.name} "):
        r = Browser(passkey_stack).post("/auth/register/options", {"name": name})
        assert_error(r, 409, "conflict")


def test_of_two_sign_ups_racing_for_a_name_the_second_is_refused(passkey_stack):
    name = random_name()
    first, second = Browser(passkey_stack), Browser(passkey_stack)
    responses = [b.registration(n) for b, n in ((first, name), (second, name.upper()))]
    assert first.finish_sign_up(responses[0]).status == 200
    assert_error(second.finish_sign_up(responses[1]), 409, "conflict")
    assert second.cookie is None
    # The loser's passkey was not kept.
    kept = assert_error(second.sign_in(), 400, "passkey_rejected")
    assert UNUSABLE in kept["message"]
    assert first.me().json()["name"] == name


@pytest.mark.parametrize("name", [
    "", "   ", "x" * 65, "a\x01b", "a\nb", "ann\u202e", "a\u200bnn", "\u2066ann\u2069", "\ufeff",
])
def test_an_invalid_name_is_refused(passkey_stack, name):
    r = Browser(passkey_stack).post("/auth/register/options", {"name": name})
    assert_error(r, 400, "invalid_field", field="name")


def test_a_name_of_64_characters_is_fine(passkey_stack):
    name = random_name()
    browser = signed_up(passkey_stack, name + "x" * (64 - len(name)))
    assert len(browser.name) == 64


@pytest.mark.parametrize("body", [{}, {"name": None}, {"name": 7}, [], "x"])
def test_a_sign_up_without_a_name_is_refused(passkey_stack, body):
    r = Browser(passkey_stack).post("/auth/register/options", body)
    assert_error(r, 400)


@pytest.mark.parametrize("room", RESERVED_ROOMS)
def test_page_names_are_refused_as_rooms(ann, room):
    assert_error(ann.get(messages_path(room)), 400, "invalid_field", field="room")
    assert_error(ann.post(messages_path(room), {"text": "x"}), 400, "invalid_field", field="room")


# ------------------------------------------------------------------ KV cost

def test_a_session_costs_no_kv_and_an_api_key_two_lookups(stack, passkey_stack, ann, ann_key):
    # An API key: its record, and its owner's, which must still list it (issue 18 item 5).
    open_room, room = random_room(), random_room()
    post_ok(stack.url, open_room, "anyone", "hi")
    assert ann.post(messages_path(room), {"text": "hi"}).status == 200
    in_open_mode = kv_ops(get(stack.url, messages_path(open_room)))
    with_cookie = kv_ops(ann.get(messages_path(room)))
    with_key = kv_ops(get(passkey_stack.url, messages_path(room), headers=bearer(ann_key)))
    # History comes from this POP's copy of the room's head (the posts just wrote it):
    # no KV at all, but an API key's two lookups (its record, its owner's).
    assert (in_open_mode, with_cookie, with_key) == (0, 0, 2)


def test_a_post_with_a_session_costs_one_lookup_more_than_in_open_mode(stack, passkey_stack,
                                                                       ann, ann_key):
    """A write checks that its session still stands (the account's record: one lookup);
    an API key's check is two (the key's record and its owner's)."""
    open_room, room = random_room(), random_room()
    post_ok(stack.url, open_room, "anyone", "first")
    assert ann.post(messages_path(room), {"text": "first"}).status == 200
    # Each a room's second or later message: list + lookup + add.
    in_open_mode = kv_ops(post_json(stack.url, messages_path(open_room),
                                    {"from": "anyone", "text": "again"}))
    with_cookie = kv_ops(ann.post(messages_path(room), {"text": "again"}))
    with_key = kv_ops(request(passkey_stack.url, "POST", messages_path(room), '{"text": "bot"}',
                              {"Content-Type": "application/json", **bearer(ann_key)}))
    assert (with_cookie, with_key) == (in_open_mode + 1, in_open_mode + 2)
