"""Reactions (issue 21 item 1) on the real local stack: adding and taking back, one per person
per emoji, the limits, reads, every live transport and a resume, private rooms, the post rate
limit, and fuzzed requests that are never a server error."""

import json
import random
import urllib.parse

from auth_helpers import assert_error, signed_up
from budget import assert_within_trial_limits, cost
from helpers import SSEClient, get, get_json, post_form, post_json, post_ok, request
from moderation_helpers import admin_key_holder, delete, fresh_window, subscribe
from test_multiroom import open_multi, positions
from test_websocket import live_socket

THUMBS = "👍"


def reactions_path(room, id_, emoji=None):
    path = f"/rooms/{room}/messages/{id_}/reactions/"
    return path + urllib.parse.quote(emoji, safe="") if emoji is not None else path


def react(url, room, id_, emoji, sender, kind="json"):
    if kind == "form":
        return post_form(url, reactions_path(room, id_), {"emoji": emoji, "from": sender})
    return post_json(url, reactions_path(room, id_), {"emoji": emoji, "from": sender})


def unreact(url, room, id_, emoji, sender):
    query = "?" + urllib.parse.urlencode({"from": sender})
    return request(url, "DELETE", reactions_path(room, id_, emoji) + query)


def react_ok(url, room, id_, emoji, sender, kind="json"):
    r = react(url, room, id_, emoji, sender, kind)
    assert r.status == 200 and r.media_type == "application/json", r
    return r.json()


def summary(reactions):
    return {r["emoji"]: (r["count"], r["names"]) for r in reactions}


def one_message(url, room, id_):
    return get_json(url, f"/rooms/{room}/messages/{id_}")


def test_add_take_back_and_read_everywhere(stack, room):
    m = post_ok(stack.url, room, "ann", "react to me")
    assert "reactions" not in m, "no reactions: no field"
    first = react(stack.url, room, m["id"], THUMBS, "bob")
    body = first.json()
    assert body["id"] == m["id"] and body["last-event-id"] == "2", body
    assert body["reactions"] == [{"emoji": THUMBS, "count": 1, "names": ["bob"]}]
    assert_within_trial_limits(first, "a reaction")
    assert cost(first)["kv"] <= 20, "a reaction to a message just posted is a few operations"
    # The same reaction again changes nothing: no second count, no event.
    again = react_ok(stack.url, room, m["id"], THUMBS, "bob")
    assert "last-event-id" not in again and summary(again["reactions"]) == {THUMBS: (1, ["bob"])}
    react_ok(stack.url, room, m["id"], THUMBS, "cat", kind="form")
    body = react_ok(stack.url, room, m["id"], "🎉", "bob")
    assert summary(body["reactions"]) == {THUMBS: (2, ["bob", "cat"]), "🎉": (1, ["bob"])}
    # History and the single-message read show it, with the fields in their order.
    history = get_json(stack.url, f"/rooms/{room}/messages/")
    (read,) = history["messages"]
    assert list(read) == ["id", "from", "date", "text", "reactions"], read
    assert history["last-event-id"] == "4"
    assert one_message(stack.url, room, m["id"]) == read
    # Taking one back; taking back one you do not have is a success that changes nothing.
    r = unreact(stack.url, room, m["id"], THUMBS, "bob")
    assert r.status == 200, r
    assert summary(r.json()["reactions"]) == {THUMBS: (1, ["cat"]), "🎉": (1, ["bob"])}
    assert r.json()["last-event-id"] == "5"
    r = unreact(stack.url, room, m["id"], THUMBS, "bob")
    assert r.status == 200 and "last-event-id" not in r.json(), r
    unreact(stack.url, room, m["id"], "🎉", "bob")
    unreact(stack.url, room, m["id"], THUMBS, "cat")
    assert "reactions" not in one_message(stack.url, room, m["id"]), "the last one gone: no field"


def test_names_stop_at_twenty_and_the_count_goes_on(stack, room):
    m = post_ok(stack.url, room, "ann", "popular")
    for n in range(22):
        body = react_ok(stack.url, room, m["id"], THUMBS, f"fan{n}")
    (r,) = body["reactions"]
    assert r["count"] == 22 and r["names"] == [f"fan{n}" for n in range(20)], r
    # Fan 21 is not listed but is counted once: reacting again changes nothing.
    assert react_ok(stack.url, room, m["id"], THUMBS, "fan21")["reactions"][0]["count"] == 22
    assert unreact(stack.url, room, m["id"], THUMBS, "fan0").json()["reactions"][0]["names"][-1] == "fan20"


def test_bad_reactions_are_refused_and_change_nothing(stack, room):
    m = post_ok(stack.url, room, "ann", "limits")
    emoji = [chr(0x1F600 + n) for n in range(20)]
    for e in emoji:
        react_ok(stack.url, room, m["id"], e, "bob")
    body = assert_error(react(stack.url, room, m["id"], THUMBS, "bob"), 409, "conflict")
    assert "20" in body["message"], body
    react_ok(stack.url, room, m["id"], emoji[0], "cat")  # one already there is fine
    for bad in ["", "x", "👍👍", "👍 x", "🇫", "\u200d", "👍" * 600, "<b>"]:
        assert_error(react(stack.url, room, m["id"], bad, "bob"), 400, field="emoji")
        if bad:
            assert_error(unreact(stack.url, room, m["id"], bad, "bob"), 400, field="emoji")
    assert_error(post_json(stack.url, reactions_path(room, m["id"]), {"emoji": 5, "from": "bob"}),
                 400, field="emoji")
    assert_error(post_json(stack.url, reactions_path(room, m["id"]), {"emoji": THUMBS}), 400, field="from")
    assert_error(react(stack.url, room, m["id"], THUMBS, "x" * 65), 400, field="from")
    assert_error(request(stack.url, "DELETE", reactions_path(room, m["id"]) + "%F0%9F"), 400, field="emoji")
    for id_ in (999, 0, "abc", "-1", "99999999999999999999"):
        assert_error(react(stack.url, room, id_, THUMBS, "bob"), 404, "not_found")
    assert_error(react(stack.url, "bad%20room", 1, THUMBS, "bob"), 400)
    assert_error(request(stack.url, "GET", reactions_path(room, m["id"])), 405)
    assert_error(request(stack.url, "POST", reactions_path(room, m["id"], THUMBS)), 405)
    r = request(stack.url, "POST", reactions_path(room, m["id"]), "emoji=x", {"Content-Type": "text/plain"})
    assert_error(r, 415)
    # A deleted message takes no reactions.
    assert delete(admin_key_holder(stack), room, m["id"]).status in (200, 204)
    assert_error(react(stack.url, room, m["id"], THUMBS, "bob"), 404, "not_found")
    assert_error(unreact(stack.url, room, m["id"], emoji[0], "bob"), 404, "not_found")
    assert get_json(stack.url, f"/rooms/{room}/messages/")["messages"] == []


def test_a_reaction_is_live_on_every_transport_and_after_a_resume(stack, room):
    m = post_ok(stack.url, room, "ann", "watch this")
    with subscribe(stack.url, room) as sse, live_socket(stack, room) as ws, \
            open_multi(stack.url, [room]) as multi:
        react_ok(stack.url, room, m["id"], THUMBS, "bob")
        want = {"id": m["id"], "reactions": [{"emoji": THUMBS, "count": 1, "names": ["bob"]}]}
        (event,) = sse.wait_for_event("reaction")
        assert event[1] == "2" and json.loads(event[2]) == want, event
        (frame,) = ws.wait_event("reaction")
        assert frame["id"] == "2" and frame["data"] == want, frame
        (event,) = multi.wait_for_event("reaction")
        assert json.loads(event[2]) == {"room": room, **want} and positions(event[1]) == {room: 2}
    # A long-poll from before it gets it under "events" and moves past it.
    body = get_json(stack.url, f"/rooms/{room}/messages/?after=1&wait=5")
    assert body["last-event-id"] == "2" and body["messages"] == [], body
    assert body["events"] == [{"event": "reaction", "id": "2", "data": want}], body
    # A resume from before it replays it, summary as it is now.
    react_ok(stack.url, room, m["id"], THUMBS, "cat")
    with SSEClient(stack.url, f"/rooms/{room}/events/", headers={"Last-Event-ID": "1"}) as resumed:
        evs = resumed.wait_for_event("reaction", count=2)
        assert [e[1] for e in evs] == ["2", "3"], evs
        assert json.loads(evs[1][2])["reactions"][0]["names"] == ["bob", "cat"]


def test_a_held_long_poll_is_released_by_a_reaction(stack, room):
    import threading
    m = post_ok(stack.url, room, "ann", "poll me")
    answer = {}
    poller = threading.Thread(target=lambda: answer.setdefault(
        "r", get(stack.url, f"/rooms/{room}/messages/?after=1&wait=20", timeout=30)))
    poller.start()
    # The poll is held once Pushpin has it; reacting until it answers needs no sleep.
    for n in range(40):
        if not poller.is_alive():
            break
        react_ok(stack.url, room, m["id"], THUMBS, f"p{n}")
        poller.join(0.25)
    poller.join(30)
    body = answer["r"].json()
    assert body["events"][0]["event"] == "reaction" and body["events"][0]["data"]["id"] == m["id"], body


def test_private_rooms_hide_reactions_from_outsiders(passkey_stack):
    owner, outsider = signed_up(passkey_stack), signed_up(passkey_stack)
    r = owner.post("/rooms/", {"title": "Reacts", "private": True})
    assert r.status == 201, r
    room = r.json()["id"]
    m = owner.post(f"/rooms/{room}/messages/", {"text": "members only"}).json()
    for r in (outsider.post(reactions_path(room, m["id"]), {"emoji": THUMBS}),
              outsider.delete(reactions_path(room, m["id"], THUMBS))):
        assert_error(r, 404, "not_found")
    # In passkey mode the account reacts; a `from` naming someone else is refused.
    body = owner.post(reactions_path(room, m["id"]), {"emoji": THUMBS}).json()
    assert body["reactions"] == [{"emoji": THUMBS, "count": 1, "names": [owner.name]}], body
    assert_error(owner.post(reactions_path(room, m["id"]), {"emoji": THUMBS, "from": outsider.name}), 403)
    assert owner.delete(reactions_path(room, m["id"], THUMBS)).json()["reactions"] == []


def test_reactions_count_against_the_post_rate_limit(make_stack, room):
    s = make_stack(config={"post_rate": "3/10"})
    fresh_window(10, 6)
    m = post_ok(s.url, room, "ann", "one")
    react_ok(s.url, room, m["id"], THUMBS, "bob")
    react_ok(s.url, room, m["id"], "🎉", "bob")
    assert_error(react(s.url, room, m["id"], "😀", "bob"), 429, "rate_limited")
    r = post_form(s.url, f"/rooms/{room}/messages/", {"from": "ann", "text": "two"})
    assert_error(r, 429, "rate_limited")
    assert len(one_message(s.url, room, m["id"])["reactions"]) == 2


def test_fuzzed_reactions_are_never_a_server_error(stack, room):
    m = post_ok(stack.url, room, "ann", "fuzz")
    rng = random.Random(21)
    alphabet = ["👍", "\u200d", "\ufe0f", "🏽", "🇫", "#", "\u20e3", "a", "%", "\u0000", "/", "é", "{"]
    for _ in range(60):
        emoji = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        bodies = [json.dumps({"emoji": emoji, "from": "fz"}), json.dumps([emoji]), emoji, "{",
                  json.dumps({"emoji": {"x": 1}, "from": "fz"})]
        r = request(stack.url, "POST", reactions_path(room, m["id"]), rng.choice(bodies),
                    {"Content-Type": rng.choice(["application/json", "application/x-www-form-urlencoded"])})
        assert r.status < 500 and r.media_type == "application/json", r
        raw = "".join(rng.choice(["%F0", "%9F", "%91", "%8D", "x", "%", "%ZZ", "%E2%80%8D"]) for _ in range(4))
        r = request(stack.url, "DELETE", reactions_path(room, rng.choice([m["id"], 77, "x"])) + raw + "?from=fz")
        assert r.status < 500 and r.media_type == "application/json", r
