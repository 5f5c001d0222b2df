"""Moderation events in a room's own sequence, end to end on the real local stack (issue 12,
rules 4 and 5): a delete, an edit or a clear takes the room's next id and is published like a
message, so

* a subscriber connected live receives `delete` {"id": <deleted id>}, `edit` (the edited
  message) and `clear` {"before", "from"} with ids following the messages one by one;
* a client resuming with a Last-Event-ID from before them receives them too, and never the
  deleted text; Fanout's prev-id gap recovery still works across a delete;
* once a delete returns, the text is in no history page, SSR page or stream; history's
  last-event-id is the newest event id, and resuming from it misses nothing.
"""

import json
import re
import threading
import time

import pytest

from helpers import SSEClient, get, publish_to_pushpin
from moderation_helpers import (admin, admin_key_holder, ann, clear, delete, edit,  # noqa: F401
                                events_path, frames, history, passkey_stack, post, subscribe, texts)
from stack import free_port

def stream(stack, browser, room, last_event_id=None):
    """`browser`'s live stream of `room`, resuming after `last_event_id` if given."""
    headers = dict(browser.session_header())
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    return subscribe(stack.url, room, headers)


def raw(sse):
    """Everything a stream delivered, as text (to look for text that must not be there)."""
    return json.dumps(sse.events)


def test_a_live_subscriber_receives_each_change_as_the_next_event(passkey_stack, admin, ann, room):
    with stream(passkey_stack, ann, room) as sse:
        one, two, three = (post(ann, room, t) for t in ("one", "two (typo)", "three"))
        edited = edit(ann, room, two["id"], "two").json()
        assert delete(ann, room, one["id"]).json()["last-event-id"] == "5"
        assert clear(admin, room, f"?from={ann.name}").json()["last-event-id"] == "6"
        assert clear(admin, room).json()["last-event-id"] == "7"
        got = frames(sse, 7)
    assert got == [
        ("message", 1, one), ("message", 2, two), ("message", 3, three),
        ("edit", 4, edited),
        ("delete", 5, {"id": 1}),
        ("clear", 6, {"before": 6, "from": ann.name}),
        ("clear", 7, {"before": 7, "from": None}),
    ]
    assert edited["text"] == "two" and "edited" in edited


def test_a_resuming_client_receives_the_changes_and_never_the_deleted_text(passkey_stack, ann, room):
    secret = "my secret, posted by mistake"
    first = post(ann, room, "hello")
    post(ann, room, secret)
    third = post(ann, room, "third (typo)")
    edited = edit(ann, room, third["id"], "third").json()   # 4
    assert delete(ann, room, 2).status == 200                # 5
    # From before everything: the messages as they are now, then the changes in order.
    with stream(passkey_stack, ann, room, last_event_id=0) as sse:
        assert frames(sse, 4) == [("message", 1, first), ("message", 3, edited),
                                  ("edit", 4, edited), ("delete", 5, {"id": 2})]
        later = post(ann, room, "live again")
        assert frames(sse, 5)[-1] == ("message", 6, later)
        assert secret not in raw(sse) and "typo" not in raw(sse)
    # From between the message and its deletion: only what came after.
    with stream(passkey_stack, ann, room, last_event_id=3) as sse:
        assert frames(sse, 3) == [("edit", 4, edited), ("delete", 5, {"id": 2}),
                                  ("message", 6, later)]


def test_a_resume_after_a_clear_gets_the_clear_and_nothing_it_removed(passkey_stack, admin, ann, room):
    for n in range(3):
        post(ann, room, f"before the clear {n}")
    assert clear(admin, room).status == 200                  # 4
    after = post(ann, room, "after the clear")
    with stream(passkey_stack, ann, room, last_event_id=1) as sse:
        assert frames(sse, 2) == [("clear", 4, {"before": 4, "from": None}),
                                  ("message", 5, after)]
        assert "before the clear" not in raw(sse)


def test_an_edit_of_a_message_older_than_the_resume_page_is_sent_as_it_is_now(passkey_stack, ann, room):
    """The edit event of a message outside the entries being replayed is looked up."""
    old = post(ann, room, "old")
    for n in range(60):
        post(ann, room, f"filler {n}")
    edited = edit(ann, room, old["id"], "old, edited").json()  # 62
    with stream(passkey_stack, ann, room, last_event_id=61) as sse:
        assert frames(sse, 1) == [("edit", 62, edited)]


def test_the_deleted_text_is_in_no_history_page_ssr_page_or_stream(stack, room):
    holder = admin_key_holder(stack)
    secret = "the one that must go"
    sent = [post(holder, room, f"message {n}") for n in range(1, 131)]
    target = post(holder, room, secret)["id"]                 # 131
    sent += [post(holder, room, f"message {n}") for n in range(132, 141)]
    assert delete(holder, room, 5).status == 200              # a message far back: 141
    assert delete(holder, room, target).status == 200         # 142
    messages, last = history(holder, room)                    # two pages of 100
    assert last == "142"
    assert [m["id"] for m in messages] == [m["id"] for m in reversed(sent) if m["id"] != 5]
    assert secret not in json.dumps(messages) and "message 5\"" not in json.dumps(messages)
    page = get(stack.url, f"/{room}")
    assert page.status == 200 and 'data-last-event-id="142"' in page.text
    assert secret not in page.text and "message 139" in page.text
    assert f'data-id="{target}"' not in page.text
    with subscribe(stack.url, room, {"Last-Event-ID": "0"}) as sse:
        got = frames(sse, 140)  # 130 + 9 messages (one deleted), then two deletes
        assert [(e, i) for e, i, _ in got[-2:]] == [("delete", 141), ("delete", 142)]
        assert [i for e, i, _ in got if e == "message"] == [m["id"] for m in sent if m["id"] != 5]
        assert secret not in raw(sse) and '"message 5"' not in raw(sse)


def test_history_last_event_id_is_the_newest_event_and_resuming_from_it_misses_nothing(
        passkey_stack, ann, room):
    post(ann, room, "one")
    two = post(ann, room, "two")
    assert delete(ann, room, 1).status == 200
    messages, last = history(ann, room)
    assert (messages, last) == ([two], "3")
    page = ann.get(f"/{room}")
    assert 'data-last-event-id="3"' in page.text
    with stream(passkey_stack, ann, room, last_event_id=last) as sse:
        edited = edit(ann, room, two["id"], "two, edited").json()
        three = post(ann, room, "three")
        assert delete(ann, room, three["id"]).status == 200
        assert frames(sse, 3) == [("edit", 4, edited), ("message", 5, three),
                                  ("delete", 6, {"id": 5})]


def test_the_page_shows_edited_messages_as_edited(passkey_stack, ann, room):
    plain = post(ann, room, "as posted")
    fixed = post(ann, room, "fixde")
    edit(ann, room, fixed["id"], "fixed")
    page = ann.get(f"/{room}").text
    item = re.compile(r'<li class="msg own" data-id="(\d+)"[^>]*>(.*?)</li>', re.S)
    shown = {int(i): body for i, body in item.findall(page)}
    assert set(shown) == {plain["id"], fixed["id"]}
    assert "edited" not in shown[plain["id"]]
    assert re.search(r'<span class="edited" title="Edited [^"]+">edited</span>', shown[fixed["id"]])
    assert ">fixed</div>" in shown[fixed["id"]]


def publish(stack, room, event, id_, data):
    """Publishes one event straight to Pushpin, as the service would have."""
    content = f"event: {event}\nid: {id_}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
    item = {"channel": f"room-{room}", "id": str(id_), "prev-id": str(id_ - 1),
            "formats": {"http-stream": {"content": content}}}
    publish_to_pushpin(stack, item)


def test_a_lost_publish_is_recovered_through_prev_id_across_a_delete(make_stack, room):
    """The service cannot publish (its publish URL is dead) while a message is posted,
    another posted and deleted: none of that reaches the subscriber. The deletion's item then
    arrives (published here) with prev-id=2 while Pushpin last saw 0: it fetches the recovery
    link and the subscriber gets message 1, then the delete, never the deleted text."""
    own = make_stack(publish_url=f"http://127.0.0.1:{free_port()}/")
    holder = admin_key_holder(own)
    with SSEClient(own.url, events_path(room)) as sse:
        sse.wait_for_event("stream-open")
        first = post(holder, room, "kept")
        post(holder, room, "deleted while publishing was down")
        assert delete(holder, room, 2).status == 200
        publish(own, room, "delete", 3, {"id": 2})
        assert frames(sse, 2, timeout=20) == [("message", 1, first), ("delete", 3, {"id": 2})]
        time.sleep(1)  # anything extra (a second copy of the delete) would be here by now
        assert len(frames(sse, 2)) == 2
        later = post(holder, room, "after")  # not published either: resumed below
    with subscribe(own.url, room, {"Last-Event-ID": "3"}) as again:
        assert frames(again, 1) == [("message", 4, later)]
    assert "deleted while" not in raw(sse) + raw(again)
    assert texts(holder, room) == ["after", "kept"]


def test_racing_deletes_of_one_message_delete_it_once_among_racing_posts(stack, room):
    """Ten deletes of one message and ten posts at once: one delete succeeds, the others
    find nothing (404, never a hang or 5xx); the room's ids stay one after another."""
    holder = admin_key_holder(stack)
    target = post(holder, room, "everyone wants this gone")
    results = []

    def delete_it():
        results.append(delete(holder, room, target["id"]).status)

    def post_one(n):
        results.append(post(holder, room, f"racing {n}") and 200)

    threads = [threading.Thread(target=delete_it) for _ in range(10)]
    threads += [threading.Thread(target=post_one, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == [200] * 11 + [404] * 9, results
    with subscribe(stack.url, room, {"Last-Event-ID": "0"}) as sse:
        got = frames(sse, 11)
    assert [i for _, i, _ in got] == list(range(2, 13)), got  # 1 is gone, no gaps after it
    assert [e for e, _, _ in got].count("delete") == 1
    assert "everyone wants" not in raw(sse)
