"""Mentions (issue 21, item 3): `@name` listed in a message's JSON as "mentions", and in
passkey mode a `mention` event on the mentioned person's own stream, GET /me/events/:
live and after a resume, for rooms they never opened, members only in private rooms,
never for their own mentions or from people they block; what a post with mentions costs.
"""

import json
import random

import pytest

from auth_helpers import Browser, random_name, signed_up
from budget import assert_within_trial_limits
from helpers import SSEClient, get_json, post_form, random_room, request


def mention_stream(stack, browser, last_event_id=None):
    """`browser`'s /me/events/, straight to Pushpin as Fanout holds it."""
    path = "/me/events/" + ("" if last_event_id is None else f"?lastEventId={last_event_id}")
    headers = {"Pushpin-Route": "self", **browser.session_header()}
    return SSEClient(f"http://127.0.0.1:{stack.pushpin_port}", path, headers=headers)


def mentions_until(sse, marker):
    """The `mention` events' data up to and including one whose text holds `marker`."""
    evs = sse.wait_for(lambda es: any(e[0] == "mention" and marker in e[2] for e in es),
                       timeout=15)
    return [json.loads(e[2]) for e in evs if e[0] == "mention"]


def post(browser, room, text):
    r = browser.post(f"/rooms/{room}/messages/", {"text": text})
    assert r.status == 200, r
    return r


@pytest.fixture(scope="module")
def people(passkey_stack):
    """Four accounts; the last has a name with a space in it."""
    ann, bob, cy = (signed_up(passkey_stack, random_name(p)) for p in ("ann", "bob", "cy"))
    dee = signed_up(passkey_stack, random_name("dee") + " lee")
    return ann, bob, cy, dee


def test_open_mode_lists_every_nickname_mentioned(stack):
    room = random_room()
    text = "hi @ann, @Bob! (@cy) @ann again, mail x@y.example and @[ann lee]."
    r = post_form(stack.url, f"/rooms/{room}/messages/", {"from": "zed", "text": text})
    assert r.status == 200, r
    assert r.json()["mentions"] == ["ann", "Bob", "cy", "ann lee"]
    # Field order: the message's own fields, then mentions.
    assert list(r.json()) == ["id", "from", "date", "text", "mentions"]
    plain = post_form(stack.url, f"/rooms/{room}/messages/", {"from": "zed", "text": "no one"})
    assert "mentions" not in plain.json()
    history = get_json(stack.url, f"/rooms/{room}/messages/")["messages"]
    assert [m.get("mentions") for m in history] == [None, ["ann", "Bob", "cy", "ann lee"]]
    # Open mode has no accounts: no stream of one's own.
    r = request(stack.url, "GET", "/me/events/")
    assert r.status == 404 and r.json()["error"] == "not_found", r


def test_passkey_mode_lists_registered_names_as_their_owners_spell_them(passkey_stack, people):
    ann, bob, _, dee = people
    room = random_room()
    nobody = random_name("nobody")
    text = (f"@{bob.name.upper()}: see @{nobody}, @{bob.name} and @[{dee.name}]; "
            f"me: @{ann.name}.")
    r = post(ann, room, text)
    message = r.json()
    assert message["mentions"] == [bob.name, dee.name, ann.name], message
    assert message["text"] == text
    assert_within_trial_limits(r, "a post with mentions")
    # The message as read back, and an edit that finds them again (and tells nobody).
    one = ann.get(f"/rooms/{room}/messages/{message['id']}").json()
    assert one["mentions"] == message["mentions"]
    r = ann.request("PATCH", f"/rooms/{room}/messages/{message['id']}",
                    json.dumps({"text": f"only @{dee.name.split()[0]} @[{dee.name}]"}),
                    {"Content-Type": "application/json"})
    assert r.status == 200, r
    assert r.json()["mentions"] == [dee.name], r.json()
    r = ann.request("PATCH", f"/rooms/{room}/messages/{message['id']}",
                    json.dumps({"text": "nobody now"}), {"Content-Type": "application/json"})
    assert "mentions" not in r.json(), r.json()


def test_mentions_reach_their_stream_live_and_after_a_resume(passkey_stack, people):
    ann, bob, _, _ = people
    room = random_room()  # a room bob never opens
    with mention_stream(passkey_stack, bob) as live:
        live.wait_for_event("stream-open")
        r = post(ann, room, f"ping @{bob.name} (live)")
        got = mentions_until(live, "(live)")
        assert got[-1] == {"room": room, "id": r.json()["id"], "from": ann.name,
                           "text": f"ping @{bob.name} (live)"}
        seen = [e for e in live.events if e[0] == "mention"][-1][1]
    # Missed while away: the stream opens with them, after the position it resumes from.
    post(ann, room, f"@{bob.name} while away 1")
    post(ann, room, f"@{bob.name} while away 2")
    with mention_stream(passkey_stack, bob, last_event_id=seen) as resumed:
        got = mentions_until(resumed, "while away 2")
        assert [m["text"] for m in got] == [f"@{bob.name} while away 1",
                                           f"@{bob.name} while away 2"]
        ids = [int(e[1]) for e in resumed.events if e[0] == "mention"]
        assert ids == [int(seen) + 1, int(seen) + 2]
    # The Last-Event-ID header, as EventSource resumes, takes precedence over the query.
    headers = {"Pushpin-Route": "self", "Last-Event-ID": str(int(seen) + 1),
               **bob.session_header()}
    with SSEClient(f"http://127.0.0.1:{passkey_stack.pushpin_port}", "/me/events/?lastEventId=0",
                   headers=headers) as header_resume:
        got = mentions_until(header_resume, "while away 2")
        assert [m["text"] for m in got] == [f"@{bob.name} while away 2"]
    # A position it cannot resume from: a reset to the newest, then live.
    with mention_stream(passkey_stack, bob, last_event_id="999999") as ahead:
        [reset] = ahead.wait_for_event("stream-reset")
        assert reset[1] == str(int(seen) + 2), reset
    with mention_stream(passkey_stack, bob, last_event_id="x1") as bad:
        [error] = bad.wait_for_event("stream-error")
        assert json.loads(error[2])["condition"] == "bad-request"


def test_no_notice_of_ones_own_mention_or_from_someone_blocked(passkey_stack, people):
    ann, bob, cy, _ = people
    room = random_room()
    assert cy.post("/me/blocks/", {"name": ann.name}).status == 204
    try:
        post(ann, room, f"@{ann.name} @{cy.name} blocked and self")
        post(bob, room, f"@{ann.name} @{cy.name} from bob")
    finally:
        assert cy.delete(f"/me/blocks/{ann.name}").status == 204
    with mention_stream(passkey_stack, ann, last_event_id="0") as own:
        texts = [m["text"] for m in mentions_until(own, "from bob")]
        assert "blocked and self" not in " ".join(texts), texts
    with mention_stream(passkey_stack, cy, last_event_id="0") as blocked:
        texts = [m["text"] for m in mentions_until(blocked, "from bob")]
        assert "blocked and self" not in " ".join(texts), texts


def test_private_room_mentions_reach_members_only(passkey_stack, people):
    ann, bob, cy, _ = people
    r = ann.post("/rooms/", {"title": "Mentions", "private": True})
    assert r.status == 201, r
    room = r.json()["id"]
    assert ann.post(f"/rooms/{room}/members/", {"name": bob.name}).status == 200
    secret = random_name("secret")
    post(ann, room, f"@{bob.name} @{cy.name} {secret}")
    post(bob, random_room(), f"@{cy.name} marker {secret}")
    with mention_stream(passkey_stack, bob, last_event_id="0") as member:
        [got] = [m for m in mentions_until(member, secret) if secret in m["text"]]
        assert got["room"] == room
    with mention_stream(passkey_stack, cy, last_event_id="0") as outsider:
        got = [m for m in mentions_until(outsider, f"marker {secret}") if secret in m["text"]]
        assert [m["text"] for m in got] == [f"@{cy.name} marker {secret}"], got


def test_the_stream_is_for_someone_signed_in(passkey_stack, people):
    ann = people[0]
    r = request(passkey_stack.url, "GET", "/me/events/")
    assert r.status == 401 and r.json()["error"] == "unauthorized", r
    r = ann.post("/me/events/", {})
    assert r.status == 405, r
    for path in ("/me/events/next/", "/me/events/next/1/2/", "/me/events/x"):
        assert ann.get(path).status == 404, path
    # A link carries the stream's pass: without one it is no session's.
    r = request(f"http://127.0.0.1:{passkey_stack.pushpin_port}", "GET",
                "/me/events/next/3/?link=next", headers={"Pushpin-Route": "self"})
    assert "session-ended" in r.text, r


def test_a_post_mentioning_many_stays_within_the_budget(passkey_stack, people):
    ann, bob, cy, dee = people
    extra = [signed_up(passkey_stack, random_name("many")) for _ in range(3)]
    named = [bob, cy, dee, *extra]
    text = " ".join(f"@[{p.name}]" for p in named) + " " + " ".join(
        f"@{random_name('ghost')}" for _ in range(6))
    r = post(ann, random_room(), text)
    spent = assert_within_trial_limits(r, "a post mentioning 6 people and 6 unknown names")
    # 8 names looked up at most (3 reads each), the append, 5 people notified (3 each cold).
    assert r.json()["mentions"] == [p.name for p in named][:6], r.json()
    assert spent["kv"] <= 1 + 8 * 3 + 3 + 5 * 3, spent
    assert spent["backend"] <= 10, spent


def test_fuzzed_mentions_are_never_a_server_error(stack, passkey_stack, people):
    ann = people[0]
    rng = random.Random(21)
    pieces = ["@", "@[", "]", " ", "\n", ".", ",", "@@", ann.name, "é", "\u0301", "\u200b",
              "\u202e", "😀", "x" * 70, "@" + "y" * 65, "[", "@[a\nb]", "\\", '"', "<b>"]
    room = random_room()
    for _ in range(40):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        r = post_form(stack.url, f"/rooms/{room}/messages/", {"from": "fuzz", "text": text})
        assert r.status < 500, (text, r)
        r = ann.post(f"/rooms/{room}/messages/", {"text": text})
        assert r.status < 500, (text, r)
        if r.status == 200:
            assert all(isinstance(n, str) for n in r.json().get("mentions", [])), r.json()
