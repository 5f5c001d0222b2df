"""Private rooms and direct messages (issue 19), first part: making rooms, members, DMs, and
the gate every room path passes: an outsider gets the same 404 as for a room that does not
exist, on history, one message, posts, the page, SSE, the multi-room stream, the socket
handshake, long-poll, presence and moderation; site admins moderate but do not read.
"""

import json
import threading
import time

import pytest

from auth_helpers import Browser, random_name, signed_up
from budget import cost
from conftest import _start, _stop
from helpers import SSEClient, post_json, request
from wsclient import WSClient


HANDSHAKE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
             "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


@pytest.fixture(scope="module")
def admin_name():
    return random_name("admin")


@pytest.fixture(scope="module")
def private_stack(admin_name):
    s = _start(config={"auth_mode": "passkey", "admins": admin_name})
    yield s
    _stop(s)


def new_room(owner, title="Plans"):
    r = owner.post("/rooms/", {"title": title, "private": True})
    assert r.status == 201, r
    return r.json()


def paths(room):
    return {
        "history": ("GET", f"/rooms/{room}/messages/"),
        "one message": ("GET", f"/rooms/{room}/messages/1"),
        "post": ("POST", f"/rooms/{room}/messages/"),
        "long-poll": ("GET", f"/rooms/{room}/messages/?after=0&wait=1"),
        "SSE": ("GET", f"/rooms/{room}/events/"),
        "multi-room stream": ("GET", f"/events/?channel=lobby&channel={room}"),
        "presence": ("POST", f"/rooms/{room}/presence/"),
        "members": ("GET", f"/rooms/{room}/members/"),
        "delete a message": ("DELETE", f"/rooms/{room}/messages/1"),
        "clear": ("DELETE", f"/rooms/{room}/messages/"),
    }


def assert_hidden(browser, room):
    """Every path answers the 404 of a room that does not exist."""
    for what, (method, path) in paths(room).items():
        body = {"text": "hi"} if what == "post" else {"state": "here"} if what == "presence" else None
        r = (browser.post(path, body) if method == "POST" else browser.request(method, path))
        assert r.status == 404 and r.json()["error"] == "not_found", (what, r)
    page = browser.get(f"/{room}", headers={"Accept": "text/html"})
    assert page.status == 404, page
    socket = browser.get(f"/rooms/{room}/ws", headers=HANDSHAKE)
    assert socket.status == 404 and socket.json()["error"] == "not_found", socket


def test_a_private_room_is_made_with_an_unguessable_id(private_stack):
    ann = signed_up(private_stack)
    room = new_room(ann, "  Plans for Friday ")
    assert room["title"] == "Plans for Friday" and room["private"] is True, room
    assert room["id"].startswith("p_") and len(room["id"]) == 22, room
    assert new_room(ann)["id"] != room["id"]
    assert ann.get(f"/rooms/{room['id']}/members/").json() == {
        "members": [{"name": ann.name, "role": "owner"}]}
    for bad in ({"title": "x", "private": False}, {"title": "", "private": True},
                {"private": True}, {"title": "a\nb", "private": True}):
        r = ann.post("/rooms/", bad)
        assert r.status == 400, (bad, r)
    assert Browser(private_stack).post("/rooms/", {"title": "x", "private": True}).status == 401


def test_outsiders_see_a_room_that_does_not_exist(private_stack):
    ann, eve = signed_up(private_stack), signed_up(private_stack)
    room = new_room(ann)["id"]
    assert ann.post(f"/rooms/{room}/messages/", {"text": "secret"}).status == 200
    assert_hidden(eve, room)
    assert_hidden(eve, "p_" + "a" * 20)  # a room id of the shape that names no room
    assert_hidden(Browser(private_stack), room)
    # The member reads it all.
    assert [m["text"] for m in ann.get(f"/rooms/{room}/messages/").json()["messages"]] == ["secret"]
    assert ann.get(f"/{room}", headers={"Accept": "text/html"}).status == 200


def test_members_are_added_by_the_owner_and_leave_or_are_removed(private_stack):
    ann, bob, eve = (signed_up(private_stack) for _ in range(3))
    room = new_room(ann)["id"]
    members = f"/rooms/{room}/members/"
    assert ann.post(members, {"name": bob.name}).status == 200
    assert ann.post(members, {"name": bob.name}).status == 409
    assert ann.post(members, {"name": random_name("nobody")}).status == 404
    assert bob.post(f"/rooms/{room}/messages/", {"text": "hi"}).status == 200
    # A member cannot add or remove others; the owner cannot be removed.
    assert bob.post(members, {"name": eve.name}).status == 403
    assert bob.delete(f"{members}{ann.name}").status == 403
    assert ann.delete(f"{members}{ann.name}").status == 403
    # Leaving, then being added again and removed by the owner: 404 everywhere after.
    assert bob.delete(f"{members}{bob.name}").status == 200
    assert_hidden(bob, room)
    assert ann.post(members, {"name": bob.name}).status == 200
    assert ann.delete(f"{members}{bob.name}").status == 200
    assert_hidden(bob, room)
    assert ann.get(members).json() == {"members": [{"name": ann.name, "role": "owner"}]}


def test_admins_moderate_any_room_but_are_not_members(private_stack, admin_name):
    ann = signed_up(private_stack)
    admin = signed_up(private_stack, admin_name)
    room = new_room(ann)["id"]
    msg = ann.post(f"/rooms/{room}/messages/", {"text": "spam"}).json()
    assert admin.get(f"/rooms/{room}/messages/").status == 404
    assert admin.delete(f"/rooms/{room}/messages/{msg['id']}").status == 200
    assert ann.get(f"/rooms/{room}/messages/").json()["messages"] == []


def test_a_direct_message_is_one_room_for_the_pair(private_stack):
    ann, bob, eve = (signed_up(private_stack) for _ in range(3))
    r = ann.post("/dms/", {"name": bob.name})
    assert r.status == 200, r
    dm = r.json()["id"]
    assert dm.startswith("dm_"), dm
    assert bob.post("/dms/", {"name": ann.name}).json() == {"id": dm}
    assert ann.post("/dms/", {"name": bob.name}).json() == {"id": dm}
    assert ann.post("/dms/", {"name": eve.name}).json()["id"] != dm
    assert bob.post(f"/rooms/{dm}/messages/", {"text": "hi ann"}).status == 200
    names = {m["name"] for m in ann.get(f"/rooms/{dm}/members/").json()["members"]}
    assert names == {ann.name, bob.name}
    assert ann.post(f"/rooms/{dm}/members/", {"name": eve.name}).status == 403
    assert_hidden(eve, dm)
    assert ann.post("/dms/", {"name": ann.name}).status == 400
    assert ann.post("/dms/", {"name": random_name("nobody")}).status == 404


def test_open_mode_has_no_private_rooms(stack):
    assert post_json(stack.url, "/rooms/", {"title": "x", "private": True}).status == 404
    assert post_json(stack.url, "/dms/", {"name": "bob"}).status == 404
    room = "p_" + "b" * 20
    assert request(stack.url, "GET", f"/rooms/{room}/messages/").status == 404
    assert request(stack.url, "GET", f"/rooms/{room}/members/").status == 404


def test_invite_links_join_until_they_expire_or_are_revoked(private_stack, make_stack):
    ann, bob, eve, zed = (signed_up(private_stack) for _ in range(4))
    room = new_room(ann, "Party")["id"]
    r = ann.post(f"/rooms/{room}/invites/")
    assert r.status == 201, r
    link = r.json()
    assert link["url"].startswith(f"http://") and "/invites/" in link["url"], link
    assert link["expires"].endswith("Z"), link
    path = "/invites/" + link["url"].rsplit("/invites/", 1)[1]
    # Only the owner makes links; outsiders see no room.
    assert bob.post(f"/rooms/{room}/invites/").status == 404
    r = bob.post(path)
    assert r.status == 200 and r.json() == {"id": room, "title": "Party"}, r
    assert bob.post(path).status == 200, "joining twice is joining"
    assert bob.get(f"/rooms/{room}/messages/").status == 200
    assert bob.post(f"/rooms/{room}/invites/").status == 403, "members do not make links"
    # Forged, tampered and revoked links are the same 404.
    token = path.rsplit("/", 1)[1]
    room_part, expires, epoch, sig = token.split(".")
    for forged in (f"{room_part}.{int(expires) + 3600}.{epoch}.{sig}",
                   f"{room_part}.{expires}.{epoch}.{sig[:-2]}AA", "garbage", "a.b.c.d"):
        r = eve.post(f"/invites/{forged}")
        assert r.status == 404 and r.json()["error"] == "not_found", (forged, r)
    assert ann.delete(f"/rooms/{room}/invites/").status == 204
    assert eve.post(path).status == 404
    fresh = ann.post(f"/rooms/{room}/invites/").json()["url"]
    assert zed.post("/invites/" + fresh.rsplit("/invites/", 1)[1]).status == 200
    assert Browser(private_stack).post(path).status == 401
    # An expired link: a stack whose links last an hour, seen from two hours on is not
    # possible without waiting, so the signature check is what refuses a stretched expiry
    # (above); here the hour itself is shown in the link.
    short = make_stack(config={"auth_mode": "passkey", "invite_hours": "1"})
    owner = signed_up(short)
    quick_room = new_room(owner)["id"]
    made = owner.post(f"/rooms/{quick_room}/invites/").json()
    expiry = int(made["url"].rsplit("/invites/", 1)[1].split(".")[1])
    assert abs(expiry - (time.time() + 3600)) < 120, made


def test_my_rooms_are_listed_on_every_device(private_stack):
    ann, bob = signed_up(private_stack), signed_up(private_stack)
    room = new_room(ann, "Book club")["id"]
    dm = ann.post("/dms/", {"name": bob.name}).json()["id"]
    assert ann.post(f"/rooms/{room}/messages/", {"text": "first"}).status == 200
    listed = {r["id"]: r for r in ann.get("/me/rooms").json()["rooms"]}
    assert listed[room] == {"id": room, "title": "Book club", "dm": False, "newest": "1"}
    assert listed[dm] == {"id": dm, "title": bob.name, "dm": True, "newest": "0"}
    other_device = Browser(private_stack, ann.authenticator)
    assert other_device.sign_in().status == 200
    assert {r["id"] for r in other_device.get("/me/rooms").json()["rooms"]} == {room, dm}
    # Bob sees the DM under Ann's name; added, then removed, the room comes and goes.
    assert {r["title"] for r in bob.get("/me/rooms").json()["rooms"]} == {ann.name}
    assert ann.post(f"/rooms/{room}/members/", {"name": bob.name}).status == 200
    assert room in {r["id"] for r in bob.get("/me/rooms").json()["rooms"]}
    assert ann.delete(f"/rooms/{room}/members/{bob.name}").status == 200
    assert room not in {r["id"] for r in bob.get("/me/rooms").json()["rooms"]}


def test_a_blocked_person_cannot_open_a_direct_message(private_stack):
    ann, bob = signed_up(private_stack), signed_up(private_stack)
    assert ann.post("/me/blocks/", {"name": bob.name}).status == 204
    assert ann.get("/me/blocks/").json() == {"blocks": [bob.name]}
    assert bob.post("/dms/", {"name": ann.name}).status == 403
    assert ann.post("/me/blocks/", {"name": ann.name}).status == 400
    assert ann.post("/me/blocks/", {"name": random_name("nobody")}).status == 404
    assert ann.delete(f"/me/blocks/{bob.name}").status == 204
    assert ann.get("/me/blocks/").json() == {"blocks": []}
    assert bob.post("/dms/", {"name": ann.name}).status == 200


def test_your_pages_hide_the_messages_of_people_you_block(private_stack):
    ann, bob, carl = (signed_up(private_stack) for _ in range(3))
    room = f"blk-{random_name('r')}"
    for who, text in ((bob, "bob-was-here"), (carl, "carl-was-here")):
        assert who.post(f"/rooms/{room}/messages/", {"text": text}).status == 200
    # Blocked by another spelling of the name: the block keeps the name as it is.
    assert ann.post("/me/blocks/", {"name": bob.name.upper()}).status == 204
    r = ann.get("/me/blocks/")
    assert r.json() == {"blocks": [bob.name]} and cost(r)["kv"] <= 2, r
    page = ann.get(f"/{room}", headers={"Accept": "text/html"}).text
    assert "carl-was-here" in page and "bob-was-here" not in page
    assert "bob-was-here" in carl.get(f"/{room}", headers={"Accept": "text/html"}).text
    assert ann.delete(f"/me/blocks/{bob.name}").status == 204
    assert "bob-was-here" in ann.get(f"/{room}", headers={"Accept": "text/html"}).text


def test_a_removed_member_loses_held_streams_polls_and_sockets_at_once(private_stack):
    ann, bob = signed_up(private_stack), signed_up(private_stack)
    room = new_room(ann)["id"]
    other = new_room(bob, "Bob's own")["id"]
    assert ann.post(f"/rooms/{room}/members/", {"name": bob.name}).status == 200
    results = {}

    def long_poll():
        results["poll"] = bob.get(f"/rooms/{room}/messages/?after=1&wait=20")

    # Streams straight to Pushpin, as Fanout holds them: Viceroy's handoff proxy can lose
    # the last bytes of a stream that Pushpin closes right after writing them.
    fanout = f"http://127.0.0.1:{private_stack.pushpin_port}"
    headers = {"Pushpin-Route": "self", **bob.session_header()}
    with SSEClient(fanout, f"/rooms/{room}/events/", headers=headers) as sse, \
            SSEClient(fanout, f"/rooms/{other}/events/", headers=headers) as own:
        sse.wait_for_event("stream-open")
        own.wait_for_event("stream-open")
        ws = WSClient(f"http://127.0.0.1:{private_stack.pushpin_port}", f"/rooms/{room}/ws",
                      headers={"Pushpin-Route": "self", **bob.session_header()}).start()
        poller = threading.Thread(target=long_poll)
        try:
            ws.wait_event("stream-open")
            ws.round_trip()
            # Both subscriptions are live once a post reaches them.
            assert ann.post(f"/rooms/{room}/messages/", {"text": "ready?"}).status == 200
            sse.wait_for(lambda evs: any("ready?" in e[2] for e in evs), timeout=10)
            ws.wait_for(lambda fs: any("ready?" in json.dumps(f) for f in fs), timeout=10)
            poller.start()
            time.sleep(1)  # the poll is held
            assert ann.delete(f"/rooms/{room}/members/{bob.name}").status == 200
            # Published at once; the waits allow for a loaded machine (no timed assertion).
            [error] = sse.wait_for_event("stream-error", timeout=10)
            assert json.loads(error[2])["condition"] == "removed", error
            sse.wait_for(lambda _: sse.closed, timeout=10)
            code, reason = ws.wait_closed(timeout=10)
            assert code == 1008 and "no longer a member" in reason, (code, reason)
            poller.join(timeout=10)
            assert results["poll"].status == 404, results["poll"]
        finally:
            ws.close()
        # Their other room keeps streaming; the next request to this one is 404.
        assert bob.post(f"/rooms/{other}/messages/", {"text": "still mine"}).status == 200
        own.wait_for(lambda evs: any("still mine" in e[2] for e in evs), timeout=5)
        assert_hidden(bob, room)


def test_fuzzed_ids_tokens_and_bodies_are_never_a_server_error(private_stack):
    import random
    from urllib.parse import quote
    rng = random.Random(20261205)
    ann = signed_up(private_stack)
    room = new_room(ann)["id"]
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789._-~%/:é\u202e\u0000 "

    def junk(n=None):
        return "".join(rng.choice(alphabet) for _ in range(n or rng.randint(0, 80)))

    bodies = [b"", b"{", b"[]", b"null", b'{"name": 5}', b'{"title": null, "private": true}',
              b'{"name": "' + b"x" * 5000 + b'"}', b'{"everywhere": "yes"}']
    for _ in range(150):
        kind = rng.randrange(6)
        if kind == 0:
            r = ann.post(f"/invites/{quote(junk(), safe='')}")
        elif kind == 1:
            r = ann.request("DELETE", f"/rooms/{room}/members/{quote(junk(), safe='')}")
        elif kind == 2:
            r = ann.request("GET", f"/rooms/{quote('p_' + junk(20), safe='')}/members/")
        elif kind == 3:
            r = ann.request("POST", rng.choice(["/rooms/", "/dms/", "/me/blocks/",
                                                f"/rooms/{room}/members/"]),
                            rng.choice(bodies), {"Content-Type": "application/json"})
        elif kind == 4:
            token = f"{room}.{rng.randint(-2**40, 2**40)}.{rng.randint(0, 2**33)}.{junk(22)}"
            r = ann.post(f"/invites/{quote(token, safe='')}")
        else:
            r = ann.request(rng.choice(["GET", "PUT", "PATCH"]),
                            rng.choice(["/me/rooms", "/me/blocks/", f"/rooms/{room}/invites/"]))
        assert r.status < 500, r
    assert ann.get(f"/rooms/{room}/members/").status == 200, "nothing stored was lost"
