"""End-to-end tests of moderation (issue 12) on the real local stack: who may delete, edit and
clear, what bad input gets, the word filter and the edit window.

| action | passkey mode | open mode |
|---|---|---|
| delete a message | its author, an admin (config `admins`), the admin key | the admin key |
| edit a message | its author, within `edit_minutes` | nobody |
| clear a room, or one person's messages in it | an admin, the admin key | the admin key |

A second delete of the same id is 404 (the message no longer exists). Every refusal is a 4xx
JSON error and is shown to have changed nothing: the room's messages (every page) and its
newest event id are the same afterwards (`unchanged`). Live events, resume and what a delete
leaves behind are in test_moderation_live.py; rate limits in test_rate_limits.py.
"""

import json
import re
import time
from datetime import datetime

import pytest

from moderation_helpers import (ADMIN_KEY, JSON, Anyone, admin, admin_key_holder,  # noqa: F401
                                ann, assert_refused, bearer, bob, clear, delete, edit, history,
                                message_path, messages_path, passkey_stack, post, signed_up,
                                texts, unchanged)
from helpers import random_room

DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def key_holder(passkey_stack):
    return admin_key_holder(passkey_stack)


# ------------------------------------------------------------------ delete


def test_an_author_deletes_their_own_message_once(ann, room):
    first, second = post(ann, room, "one"), post(ann, room, "two")
    r = delete(ann, room, first["id"])
    assert r.status == 200 and r.media_type == "application/json", r
    # The deletion is the room's next event.
    assert r.json() == {"deleted": first["id"], "last-event-id": str(second["id"] + 1)}
    assert history(ann, room) == ([second], str(second["id"] + 1))
    assert_refused(ann.get(message_path(room, first["id"])), 404, "not_found")
    # A second delete finds nothing: 404, and no event is added.
    with unchanged(ann, room):
        body = assert_refused(delete(ann, room, first["id"]), 404, "not_found")
        assert "deleted" in body["message"]


def test_someone_else_can_neither_delete_nor_edit(ann, bob, room):
    mine = post(ann, room, "mine")
    with unchanged(ann, room):
        body = assert_refused(delete(bob, room, mine["id"]), 403, "forbidden")
        assert "author or an admin" in body["message"]
        assert_refused(edit(bob, room, mine["id"], "bob was here"), 403, "forbidden")
    assert ann.get(message_path(room, mine["id"])).json() == mine


def test_an_admin_by_name_deletes_anyones_message_but_edits_only_their_own(admin, ann, room):
    mine, theirs = post(ann, room, "ann's"), post(admin, room, "the admin's")
    with unchanged(ann, room):
        assert_refused(edit(admin, room, mine["id"], "rewritten"), 403, "forbidden")
    assert delete(admin, room, mine["id"]).status == 200
    assert texts(ann, room) == ["the admin's"]
    r = edit(admin, room, theirs["id"], "the admin's, edited")
    assert r.status == 200 and r.json()["text"] == "the admin's, edited", r


def test_the_admin_key_deletes_and_clears_without_an_account(key_holder, ann, room):
    mine = post(ann, room, "ann's")
    other = post(ann, room, "another")
    r = delete(key_holder, room, mine["id"])
    assert r.status == 200 and r.json()["deleted"] == mine["id"], r
    with unchanged(ann, room):
        # The admin key edits nothing: it is nobody's message.
        assert_refused(edit(key_holder, room, other["id"], "x"), 403, "forbidden")
    r = clear(key_holder, room)
    assert r.status == 200 and r.json()["cleared"] == 1, r
    assert texts(ann, room) == []


def test_a_wrong_admin_key_or_no_one_at_all_is_unauthorized(passkey_stack, ann, room):
    mine = post(ann, room, "mine")
    nobody, wrong = Anyone(passkey_stack), Anyone(passkey_stack, ADMIN_KEY + "x")
    with unchanged(ann, room):
        for client in (nobody, wrong):
            assert_refused(delete(client, room, mine["id"]), 401, "unauthorized")
            assert_refused(edit(client, room, mine["id"], "x"), 401, "unauthorized")
            assert_refused(clear(client, room), 401, "unauthorized")


def test_an_api_key_acts_as_its_owner(passkey_stack, ann, bob, room):
    mine, other = post(ann, room, "first"), post(ann, room, "second")
    anns_key = Anyone(passkey_stack, ann.create_api_key()["key"])
    bobs_key = Anyone(passkey_stack, bob.create_api_key()["key"])
    with unchanged(ann, room):
        assert_refused(delete(bobs_key, room, mine["id"]), 403, "forbidden")
        assert_refused(clear(anns_key, room), 403, "forbidden")
    assert edit(anns_key, room, other["id"], "second, by key").status == 200
    assert delete(anns_key, room, mine["id"]).status == 200
    assert texts(ann, room) == ["second, by key"]


def test_a_cross_site_delete_is_refused(ann, room):
    mine = post(ann, room, "mine")
    with unchanged(ann, room):
        r = ann.request("DELETE", message_path(room, mine["id"]),
                        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
        assert_refused(r, 403, "forbidden")


def test_in_open_mode_only_the_admin_key_deletes_and_nobody_edits(stack, room):
    anyone = Anyone(stack)
    mine = post(anyone, room, "from ann", sender="ann")
    keeper = post(anyone, room, "kept", sender="ann")
    with unchanged(anyone, room):
        # No accounts: saying you are the author proves nothing.
        for client in (anyone, Anyone(stack, "not-the-admin-key-at-all")):
            assert_refused(delete(client, room, mine["id"]), 403, "forbidden")
            assert_refused(edit(client, room, mine["id"], "x"), 403, "forbidden")
            assert_refused(clear(client, room), 403, "forbidden")
        assert_refused(edit(admin_key_holder(stack), room, mine["id"], "x"), 403, "forbidden")
    r = delete(admin_key_holder(stack), room, mine["id"])
    assert r.status == 200 and r.json() == {"deleted": mine["id"], "last-event-id": "3"}, r
    assert history(anyone, room) == ([keeper], "3")


# ------------------------------------------------------------------ bad input


@pytest.fixture
def open_room(stack, room):
    """An open-mode room of two messages, and the admin key holder."""
    holder = admin_key_holder(stack)
    post(holder, room, "one")
    post(holder, room, "two")
    return holder, room


BAD_IDS = ["abc", "-1", "0", "1.5", "1e3", "0x1", "+1", "%201", "1%20", "%D9%A3",
           "99999999999999999999999", "18446744073709551616", "10000000000", "9999999999"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_ids_that_name_no_message_are_404_json(open_room, bad):
    holder, room = open_room
    with unchanged(holder, room):
        for r in (delete(holder, room, bad), edit(holder, room, bad, "x"),
                  holder.request("GET", message_path(room, bad))):
            assert_refused(r, 404, "not_found")


def test_an_unknown_id_is_404_for_author_and_admin(ann, admin, room):
    mine = post(ann, room, "only")
    with unchanged(ann, room):
        for client in (ann, admin):
            for r in (delete(client, room, mine["id"] + 1), edit(client, room, mine["id"] + 5, "x")):
                assert_refused(r, 404, "not_found")
    # In a room that does not exist at all, too.
    assert_refused(delete(admin, random_room(), 1), 404, "not_found")


@pytest.mark.parametrize("path", ["/rooms/bad%20room/messages/1", "/rooms/x/messages/1/",
                                  "/rooms/x/messages/1/2"])
def test_bad_paths_are_4xx_json(open_room, path):
    holder, room = open_room
    with unchanged(holder, room):
        r = holder.request("DELETE", path)
        assert 400 <= r.status < 500 and r.media_type == "application/json", r


@pytest.mark.parametrize("method", ["POST", "PUT", "OPTIONS", "TRACE"])
def test_other_methods_on_a_message_are_405_with_allow(open_room, method):
    holder, room = open_room
    with unchanged(holder, room):
        r = holder.request(method, message_path(room, 1), b'{"text":"x"}', JSON)
        assert_refused(r, 405, "method_not_allowed")
        assert r.headers["Allow"] == "GET, DELETE, PATCH"


@pytest.mark.parametrize("body,content_type,status", [
    ("{", "application/json", 400),
    ("", "application/json", 400),
    ("null", "application/json", 400),
    ("[]", "application/json", 400),
    ('"text"', "application/json", 400),
    ('{"text": 5}', "application/json", 400),
    ('{"text": ["x"]}', "application/json", 400),
    ('{"text": "x"', "application/json", 400),
    (b'{"text": "\xff"}', "application/json", 400),
    ("text=x", "application/x-www-form-urlencoded", 415),
    ('{"text": "x"}', "text/plain", 415),
])
def test_a_malformed_edit_is_refused(ann, room, body, content_type, status):
    mine = post(ann, room, "mine")
    with unchanged(ann, room):
        r = ann.request("PATCH", message_path(room, mine["id"]), body, {"Content-Type": content_type})
        assert_refused(r, status)


# ------------------------------------------------------------------ edit


def test_an_author_edits_and_gets_the_message_with_its_edited_date(ann, room):
    mine = post(ann, room, "teh typo")
    other = post(ann, room, "after it")
    before = time.time()
    r = edit(ann, room, mine["id"], "  the typo, fixed  ")
    assert r.status == 200 and r.media_type == "application/json", r
    edited = r.json()
    assert list(edited) == ["id", "from", "date", "text", "edited"], edited
    assert {k: edited[k] for k in ("id", "from", "date")} == {k: mine[k] for k in ("id", "from", "date")}
    assert edited["text"] == "the typo, fixed"  # trimmed, as a new message is
    assert DATE_RE.match(edited["edited"]) and edited["edited"] >= mine["date"], edited
    assert abs(datetime.fromisoformat(edited["edited"]).timestamp() - before) < 30
    assert ann.get(message_path(room, mine["id"])).json() == edited
    # The edit took the next id; the message keeps its own and its place.
    assert history(ann, room) == ([other, edited], str(other["id"] + 1))
    # Edited again: the newest text wins.
    again = edit(ann, room, mine["id"], "the typo, fixed twice").json()
    assert texts(ann, room) == ["after it", "the typo, fixed twice"] and again["edited"] >= edited["edited"]


@pytest.mark.parametrize("text", ["", "   ", "\n", "x" * 1001, "a\x00b", "a\x1bb", "a\rb\x7f"])
def test_an_edit_is_validated_as_a_new_message_is(ann, room, text):
    mine = post(ann, room, "mine")
    with unchanged(ann, room):
        assert_refused(edit(ann, room, mine["id"], text), 400, "invalid_field", "text")
    assert edit(ann, room, mine["id"], "x" * 1000).status == 200  # the limit itself is fine


def test_a_deleted_message_cannot_be_edited(ann, room):
    mine = post(ann, room, "going")
    assert delete(ann, room, mine["id"]).status == 200
    with unchanged(ann, room):
        assert_refused(edit(ann, room, mine["id"], "back"), 404, "not_found")


def test_the_edit_window_closes_after_edit_minutes(make_stack, room):
    s = make_stack(config={"auth_mode": "passkey", "edit_minutes": "0.05"})  # 3 s
    ann = signed_up(s)
    mine = post(ann, room, "quick")
    assert edit(ann, room, mine["id"], "quick fix").status == 200
    time.sleep(3.5)
    with unchanged(ann, room):
        body = assert_refused(edit(ann, room, mine["id"], "too late"), 403, "forbidden")
        assert "3 seconds" in body["message"], body
    # Deleting has no window.
    assert delete(ann, room, mine["id"]).status == 200


# ------------------------------------------------------------------ word filter


def test_blocked_words_are_masked_in_posts_and_edits(ann, room):
    masked = post(ann, room, "Darn it, HECK! darned heckle x-darn-y")
    assert masked["text"] == "**** it, ****! darned heckle x-****-y"
    r = edit(ann, room, masked["id"], "oh heck, darn")
    assert r.status == 200 and r.json()["text"] == "oh ****, ****", r
    assert texts(ann, room) == ["oh ****, ****"]
    page = ann.get(f"/{room}")
    assert page.status == 200 and "oh ****, ****" in page.text, page
    assert not re.search(r"\b(darn|heck)\b", page.text, re.IGNORECASE)


def test_without_blocked_words_nothing_is_masked(stack, room):
    assert post(Anyone(stack), room, "darn heck")["text"] == "darn heck"


# ------------------------------------------------------------------ clear


def test_an_admin_clears_one_persons_messages_then_the_room(admin, ann, bob, room):
    for n in range(3):
        post(ann, room, f"ann {n}")
        post(bob, room, f"bob {n}")
    r = clear(admin, room, f"?from={bob.name}")
    assert r.status == 200, r
    assert r.json() == {"cleared": 3, "from": bob.name, "last-event-id": "7"}
    assert texts(ann, room) == ["ann 2", "ann 1", "ann 0"]
    post(bob, room, "bob, after")  # 8: after the clear, so it stays
    r = clear(admin, room)
    assert r.status == 200 and r.json() == {"cleared": 4, "from": None, "last-event-id": "9"}, r
    assert history(ann, room) == ([], "9")
    # Clearing an empty room (or nobody's messages) is allowed, and says so.
    r = clear(admin, room, f"?from={ann.name}")
    assert r.status == 200 and r.json()["cleared"] == 0, r


def test_only_an_admin_clears(ann, bob, room):
    post(ann, room, "ann's")
    post(bob, room, "bob's")
    with unchanged(ann, room):
        for client, query in ((ann, ""), (bob, ""), (bob, f"?from={bob.name}")):
            body = assert_refused(clear(client, room, query), 403, "forbidden")
            assert "admin" in body["message"]


@pytest.mark.parametrize("query", ["?from=", "?from=%20", "?from=" + "x" * 65, "?from=a%0Ab",
                                   "?from=%FF", "?from=a%E2%80%AEb", "?form=bob", "?everyone",
                                   "?from=ann&from=bob", "?from=ann&x=1"])
def test_a_clear_naming_nobody_valid_is_400_and_clears_nothing(admin, ann, room, query):
    post(ann, room, "stays")
    with unchanged(ann, room):
        assert_refused(clear(admin, room, query), 400, "invalid_field", "from")


def test_the_admin_key_clears_in_open_mode(stack, room):
    anyone = Anyone(stack)
    for sender in ("ann", "bob", "ann"):
        post(anyone, room, f"by {sender}", sender=sender)
    r = clear(admin_key_holder(stack), room, "?from=ann")
    assert r.status == 200 and r.json() == {"cleared": 2, "from": "ann", "last-event-id": "4"}, r
    assert texts(anyone, room) == ["by bob"]
    r = anyone.request("DELETE", messages_path(room), headers=bearer(ADMIN_KEY))
    assert r.status == 200 and r.json()["cleared"] == 1, r
    assert json.loads(anyone.request("GET", messages_path(room)).body) == {
        "messages": [], "last-event-id": "5"}
