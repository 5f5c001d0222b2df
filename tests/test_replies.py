"""Replies (issue 21 item 2) on the real local stack: `reply_to` on a post (form or JSON)
quotes the original's author and first 100 characters; reads show the original as it is now,
edited or deleted, near or far back in the room; a `reply_to` that is not a message of the
room is a 400."""

import json

from auth_helpers import ann, assert_error, bob  # noqa: F401 - fixtures
from budget import assert_within_trial_limits
from helpers import get, get_json, post_form, post_json, post_ok
from moderation_helpers import admin_key_holder, delete, edit, subscribe


def reply(url, room, sender, text, reply_to, kind="form"):
    post = post_form if kind == "form" else post_json
    return post(url, f"/rooms/{room}/messages/", {"from": sender, "text": text, "reply_to": reply_to})


def reply_ok(url, room, sender, text, reply_to, kind="form"):
    r = reply(url, room, sender, text, reply_to, kind)
    assert r.status == 200, r
    return r.json()


def history_by_id(url, room):
    r = get(url, f"/rooms/{room}/messages/")
    assert r.status == 200, r
    assert_within_trial_limits(r, "a history read")
    return {m["id"]: m for m in r.json()["messages"]}


def test_a_reply_quotes_its_original_live_and_in_reads(stack, room):
    long_text = "é" * 90 + "0123456789abcdef"
    original = post_ok(stack.url, room, "ann", long_text)
    with subscribe(stack.url, room) as sse:
        m = reply_ok(stack.url, room, "bob", "agreed", str(original["id"]))
        quote = {"id": original["id"], "from": "ann", "text": long_text[:100]}
        assert m["reply_to"] == quote and list(m) == ["id", "from", "date", "text", "reply_to"], m
        (event,) = sse.wait_for_event("message")
        assert json.loads(event[2])["reply_to"] == quote, event
    # JSON takes the id as a number or a string.
    assert reply_ok(stack.url, room, "cat", "me too", original["id"], kind="json")["reply_to"] == quote
    assert reply_ok(stack.url, room, "cat", "and me", " 1 ", kind="json")["reply_to"] == quote
    assert history_by_id(stack.url, room)[m["id"]]["reply_to"] == quote
    assert get_json(stack.url, f"/rooms/{room}/messages/{m['id']}")["reply_to"] == quote
    assert "reply_to" not in get_json(stack.url, f"/rooms/{room}/messages/{original['id']}")


def test_a_reply_to_what_is_not_a_message_of_the_room_is_refused(stack, room):
    first = post_ok(stack.url, room, "ann", "first")
    doomed = post_ok(stack.url, room, "ann", "doomed")
    assert delete(admin_key_holder(stack), room, doomed["id"]).status in (200, 204)
    elsewhere = post_ok(stack.url, room + "-x", "ann", "another room")
    for bad in ["999", "0", "-1", "abc", "1.5", str(doomed["id"]), "3",
                str(elsewhere["id"] + 5), "99999999999999999999"]:
        for kind in ("form", "json"):
            assert_error(reply(stack.url, room, "bob", "hm", bad, kind), 400, field="reply_to")
    for bad in [True, {"id": 1}, [1], 1.5, -1]:
        assert_error(reply(stack.url, room, "bob", "hm", bad, "json"), 400, field="reply_to")
    ids = sorted(history_by_id(stack.url, room))
    assert ids == [first["id"]], "nothing refused was stored"
    # An empty reply_to (a form's unused field) is no reply.
    assert "reply_to" not in reply_ok(stack.url, room, "bob", "plain", " ")


def test_reads_show_a_later_deleted_original_near_and_far(stack, room):
    far = post_ok(stack.url, room, "ann", "said long ago")
    for n in range(55):
        post_ok(stack.url, room, "ann", f"filler {n}")
    near = post_ok(stack.url, room, "ann", "said just now")
    to_far = reply_ok(stack.url, room, "bob", "re: long ago", far["id"])
    to_near = reply_ok(stack.url, room, "bob", "re: just now", near["id"])
    for original in (far, near):
        assert delete(admin_key_holder(stack), room, original["id"]).status in (200, 204)
    messages = history_by_id(stack.url, room)
    assert messages[to_near["id"]]["reply_to"] == {"id": near["id"], "deleted": True}
    assert messages[to_far["id"]]["reply_to"] == {"id": far["id"], "deleted": True}
    for m in (to_far, to_near):
        one = get_json(stack.url, f"/rooms/{room}/messages/{m['id']}")
        assert one["reply_to"] == {"id": m["reply_to"]["id"], "deleted": True}, one


def test_reads_show_a_later_edited_original(passkey_stack, ann, bob, room):
    original = ann.post(f"/rooms/{room}/messages/", {"text": "see you at 5"}).json()
    r = bob.post(f"/rooms/{room}/messages/", {"text": "ok", "reply_to": original["id"]})
    assert r.status == 200, r
    m = r.json()
    assert m["reply_to"] == {"id": original["id"], "from": ann.name, "text": "see you at 5"}
    assert edit(ann, room, original["id"], "see you at 6").status == 200
    assert bob.get(f"/rooms/{room}/messages/").json()["messages"][0]["reply_to"]["text"] == "see you at 6"
    one = bob.get(f"/rooms/{room}/messages/{m['id']}").json()
    assert one["reply_to"] == {"id": original["id"], "from": ann.name, "text": "see you at 6"}
