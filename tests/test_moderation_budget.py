"""Moderation's worst cases fit one request's budget (issue 17 item 2): deleting and editing
the oldest message of a 5,000-message room, and clearing that room (one person's messages,
then everyone's). A clear costs what a post costs and takes effect at once in every read;
its text is erased afterwards in bounded steps the service asks itself for, until
`GET /rooms/{room}/erasure` says nothing is pending.

One room is shared by the tests below, in file order, and cleared last: seeding 5,000
messages is most of this module's time. Run with -s to see the costs and times measured.
"""

import http.client
import json
import threading
import time

import pytest

from auth_helpers import kv_ops, random_name, signed_up
from budget import assert_within_trial_limits
from helpers import SSEClient, random_room, request
from moderation_helpers import (JSON, admin_key_holder, clear, delete, edit, message_path,
                                messages_path)

ROOM_SIZE = 5000
# How long the erasure of the room may take here before the test gives up (a bound on the
# wait, not a timing assertion: it takes a few seconds, see README "Storage").
ERASURE_WAIT = 300


# Posting threads while seeding, each on a keep-alive connection of its own: measured here
# (1,000 posts, 2 loaded cores) 9.8 s with one, 6.1 s with four.
SEEDERS = 4


def seed(stack, room, authors, count):
    """`count` messages, posted by `authors` in turn from `SEEDERS` threads."""
    host, port = stack.url.split("//")[1].split(":")
    errors = []

    def poster(author, numbers):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {**JSON, **author.session_header(), "Origin": author.origin,
                   "Sec-Fetch-Site": "same-origin"}
        for n in numbers:
            body = json.dumps({"text": f"seed {n} by {author.name}"})
            conn.request("POST", messages_path(room), body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors.append((n, resp.status))
        conn.close()

    threads = [threading.Thread(target=poster,
                                args=(authors[i % len(authors)], range(i, count, SEEDERS)))
               for i in range(SEEDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]


@pytest.fixture(scope="module")
def big(passkey_stack):
    ann = signed_up(passkey_stack, random_name("ann"))
    bob = signed_up(passkey_stack, random_name("bob"))
    room = random_room("big")
    started = time.monotonic()
    seed(passkey_stack, room, [ann, bob], ROOM_SIZE)
    print(f"\nseeded {ROOM_SIZE} messages in {time.monotonic() - started:.1f} s")
    return {"stack": passkey_stack, "room": room, "ann": ann, "bob": bob,
            "admin": admin_key_holder(passkey_stack)}


def on_screen(reader, room):
    """The messages among the room's newest 49 entries: those a clear's own window copies,
    which its answer counts as `cleared`."""
    r = reader.request("GET", messages_path(room) + "?limit=49")
    assert r.status == 200, r
    return r.json()["messages"]


def timed(what, call):
    started = time.monotonic()
    r = call()
    took = (time.monotonic() - started) * 1000
    spent = assert_within_trial_limits(r, what)
    print(f"{what}: {r.status}, {spent}, {took:.0f} ms")
    return r


def history_pages(client, room, newest):
    """Every message of the room, read 100 ids at a time from the newest down to id 1, so
    that every `before=` page is read, however few messages each holds."""
    out = []
    before = newest + 1
    while before > 1:
        r = client.request("GET", messages_path(room) + f"?before={before}&limit=100")
        assert r.status == 200, r
        out += r.json()["messages"]
        before -= 100
    return out


def replayed(stack, client, room, after, until):
    """The events a stream resuming after `after` replays, up to event `until`."""
    headers = {**client.session_header(), "Last-Event-ID": str(after)}
    sse = SSEClient(stack.url, f"/rooms/{room}/events/", headers=headers).start()
    try:
        assert sse.status == 200, sse.status
        events = sse.wait_for(lambda evs: any(i == str(until) for _, i, _ in evs), timeout=60)
    finally:
        sse.close()
    # Presence and typing events carry no id: they are not the room's sequence.
    return [(e, int(i), json.loads(d)) for e, i, d in events
            if e not in ("stream-open", "keep-alive") and i is not None]


def erasure(big):
    r = big["admin"].request("GET", f"/rooms/{big['room']}/erasure")
    assert r.status == 200, r
    return r.json()


def wait_erased(big, since):
    deadline = time.monotonic() + ERASURE_WAIT
    state = erasure(big)
    while not state["done"]:
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
        state = erasure(big)
    print(f"erasure done {time.monotonic() - since:.1f} s after the clear: {state}")
    return state


def test_editing_and_deleting_the_oldest_message_fit_the_budget(big):
    room = big["room"]
    oldest = big["ann"].request("GET", message_path(room, 1)).json()
    big["first"] = oldest["from"]
    author = big["ann"] if oldest["from"] == big["ann"].name else big["bob"]
    r = timed("edit of the oldest message", lambda: edit(author, room, 1, "edited, oldest"))
    assert r.status == 200 and r.json()["text"] == "edited, oldest", r
    r = timed("delete of the oldest message", lambda: delete(big["admin"], room, 1))
    assert r.status == 200 and r.json()["deleted"] == 1, r
    assert big["ann"].request("GET", message_path(room, 1)).status == 404


def test_clearing_one_persons_messages_hides_them_at_once_and_erases_them(big):
    room, admin, bob = big["room"], big["admin"], big["bob"]
    shown = [m for m in on_screen(big["ann"], room) if m["from"] == bob.name]
    r = timed("clear of one person in 5,000", lambda: clear(admin, room, f"?from={bob.name}"))
    since = time.monotonic()
    assert r.status == 200, r
    body = r.json()
    assert body["from"] == bob.name and body["cleared"] == len(shown), body
    event = int(body["last-event-id"])
    # At once: no page, no message, no resumed stream shows bob's messages.
    everything = history_pages(big["ann"], room, event)
    assert everything and all(m["from"] != bob.name for m in everything)
    assert len(everything) == ROOM_SIZE // 2 - (big.get("first") == big["ann"].name)
    bobs = [n for n in range(2, 200) if n not in {m["id"] for m in everything}]
    for n in bobs[:20]:
        assert big["ann"].request("GET", message_path(room, n)).status == 404
    events = replayed(big["stack"], bob, room, event - 150, event)
    assert all(d["from"] != bob.name for e, _, d in events if e == "message")
    assert events[-1] == ("clear", event, {"before": event, "from": bob.name})
    state = wait_erased(big, since)
    assert state["erased"] >= ROOM_SIZE // 2 - 49 - 1, state


def test_clearing_the_room_hides_everything_at_once_and_erases_it(big):
    room, admin, ann = big["room"], big["admin"], big["ann"]
    shown = on_screen(ann, room)
    r = timed("clear of a 5,000-message room", lambda: clear(admin, room))
    since = time.monotonic()
    assert r.status == 200, r
    body = r.json()
    assert body["from"] is None and body["cleared"] == len(shown), body
    event = int(body["last-event-id"])
    # At once, before any erasure step could have got far.
    assert history_pages(ann, room, event) == []
    for n in range(2, ROOM_SIZE, 97):
        assert ann.request("GET", message_path(room, n)).status == 404, n
    page = request(big["stack"].url, "GET", f"/{room}", headers=ann.session_header())
    assert page.status == 200 and "seed " not in page.text
    events = replayed(big["stack"], ann, room, 0, event)
    assert [e for e, _, _ in events if e == "message"] == []
    assert ("clear", event, {"before": event, "from": None}) in events
    wait_erased(big, since)
    # Erased: still nothing anywhere, and the step the service would take next has nothing
    # to do.
    assert history_pages(ann, room, event) == []
    events = replayed(big["stack"], ann, room, 0, event)
    assert [e for e, _, _ in events if e == "message"] == []
    r = admin.request("POST", f"/rooms/{room}/erasure")
    assert r.status == 200 and r.json()["done"] and kv_ops(r) == 3, r


def test_only_the_service_or_an_admin_drives_an_erasure(big):
    room, ann = big["room"], big["ann"]
    path = f"/rooms/{room}/erasure"
    assert ann.request("GET", path).status == 403
    r = request(big["stack"].url, "POST", path, headers={"Erasure-Step": "forged"})
    assert r.status == 401, r
    r = ann.request("POST", path, headers={"Erasure-Step": "forged"})
    assert r.status == 403, r
    assert big["admin"].request("PUT", path).status == 405
