"""Moderation events (delete, edit, clear) reach every transport, not only SSE: a socket gets
them as frames with their ids, a long-poll under "events" with its position moved past them,
and a multi-room stream with the room named and a composite id."""

import json

from helpers import get, post_ok
from moderation_helpers import admin_key_holder, delete
from test_multiroom import open_multi, positions
from test_websocket import live_socket


def test_a_delete_reaches_a_socket_a_poll_and_a_multi_room_stream(stack, room):
    kept = post_ok(stack.url, room, "ann", "kept")
    doomed = post_ok(stack.url, room, "ann", "doomed")
    with live_socket(stack, room) as ws, open_multi(stack.url, [room], query=f"&lastEventId={room}:2") as multi:
        r = delete(admin_key_holder(stack), room, doomed["id"])
        assert r.status in (200, 204), r
        (frame,) = ws.wait_event("delete")
        assert frame["data"] == {"id": doomed["id"]} and int(frame["id"]) == 3
        (event,) = multi.wait_for_event("delete")
        assert json.loads(event[2]) == {"room": room, "id": doomed["id"]}
        assert positions(event[1]) == {room: 3}
    # A poll from before the delete sees it under "events" and moves past it.
    body = get(stack.url, f"/rooms/{room}/messages/?after=1&wait=5").json()
    assert [m["id"] for m in body["messages"]] == [] and body["last-event-id"] == "3", body
    assert body["events"][0]["event"] == "delete" and body["events"][0]["data"] == {"id": 2}
    assert kept["id"] == 1
