"""Private rooms and direct messages in a real browser (issue 19 item 7), on the shared
passkey stack: two people, each with their own browser context and virtual authenticator.

One story covers the flow the issue asks for, in order, so the sign-ups and rooms are
made once: ann makes a private room from the join page, copies an invite link, bob opens
it and joins, both chat live, each opens the same direct message from the other's name,
the room list counts what arrives in the room and the DM while one is elsewhere, ann
removes bob (whose pages then say he lost access, over SSE, a WebSocket and long-poll),
and the revoked link's page says it no longer works. The invite page's other states are checked over plain HTTP.
"""

import re
import uuid

from playwright.sync_api import expect

from auth_helpers import signed_up as api_user
from helpers import get
from test_browser_auth import HTML_ACCEPT, PHONE, browser, people, random_name  # noqa: F401

# A valid-looking token nobody signed: the shape of a real one, a made-up signature.
FORGED = "p_aaaaaaaaaaaaaaaaaaaa.9999999999.0.AAAAAAAAAAAAAAAAAAAAAA"


def signed_up(people, prefix):
    """A new person, signed up and on the default room's page."""
    person = people()
    person.page.on("dialog", lambda d: d.accept())  # "Remove bob?" and the like
    name = random_name(prefix)
    person.open("/")
    person.sign_up(name)
    person.at("/lobby")
    person.name = name
    return person


def room_path(person):
    """The path of the page the person is on."""
    return person.page.url.removeprefix(person.base)


def cookie(person):
    """The person's cookies as a Cookie header, for a request outside the browser."""
    return "; ".join(f"{c['name']}={c['value']}" for c in person.context.cookies())


def room_entry(person, text):
    """The room list's entry (an <li>) whose link says `text`."""
    return person.page.locator("#room-list > li", has=person.page.get_by_role("link", name=text))


def test_two_people_share_a_private_room_until_one_is_removed(people):
    ann = signed_up(people, "ann")
    bob = signed_up(people, "bob")
    title = f"Plans {uuid.uuid4().hex[:4]}"

    # ann makes the room from the join page and lands in it, its owner.
    ann.open("/")
    ann.page.get_by_text("New private room").click()
    ann.page.get_by_label("Title").fill(title)
    ann.page.get_by_role("button", name="Create").click()
    expect(ann.page).to_have_url(re.compile(r"/p_[a-z0-9]{20}$"))
    room = room_path(ann)
    expect(ann.page.locator(".bar h1")).to_have_text(title)
    ann.wait_live()
    # Another can be made from beside the room list too.
    expect(ann.page.locator("#rooms").get_by_text("New private room")).to_be_visible()

    # The invite link: copied, and shown too with when it stops working.
    ann.page.get_by_text("Members (1)").click()
    ann.page.get_by_role("button", name="Copy invite link").click()
    link = ann.page.get_by_label("Invite link")
    expect(link).to_have_value(re.compile(r"/invites/p_"))
    expect(ann.page.locator(".members")).to_contain_text("works until")
    invite = link.input_value().removeprefix(ann.base)

    # bob opens it: "Join <title>", then the room.
    bob.open(invite)
    expect(bob.page.locator("h2")).to_have_text(f"You are invited to {title}")
    bob.page.get_by_role("button", name=f"Join {title}").click()
    bob.at(room)
    bob.wait_live()

    # Both chat, each seeing the other's message live.
    ann.send("welcome bob")
    expect(bob.message("welcome bob")).to_have_count(1)
    bob.send("thanks ann")
    expect(ann.message("thanks ann")).to_have_count(1)

    # "Message <name>" from a name in a message: the same DM for both.
    bob.message("welcome bob").locator(".from").click()
    bob.page.get_by_role("button", name=f"Message {ann.name}").click()
    expect(bob.page).to_have_url(re.compile(r"/dm_[a-z0-9]{20}$"))
    dm = room_path(bob)
    ann.message("thanks ann").locator(".from").click()
    ann.page.get_by_role("button", name=f"Message {bob.name}").click()
    ann.at(dm)
    expect(ann.page.locator(".bar h1")).to_have_text(f"Direct message with {bob.name}")
    ann.wait_live()

    # The room list: the private room and the DM, each counting what arrives elsewhere.
    bob.open(room)
    bob.wait_live()
    expect(room_entry(ann, title)).to_contain_text("(private)")
    bob.send("back in the room")
    expect(room_entry(ann, title).locator(".unread")).to_have_text("1")
    expect(room_entry(bob, ann.name)).to_contain_text("(DM)")
    ann.send("over here")
    expect(room_entry(bob, ann.name).locator(".unread")).to_have_text("1")

    # bob also reads the room over a WebSocket and by long-polling, in two more tabs.
    # In a context of their own with bob's cookies: each page holds three streams (the room,
    # the room list's, /me/events/), and Chromium opens at most six HTTP/1.1 connections per
    # host in one context, which the local stack speaks (Fastly speaks HTTP/2 to browsers).
    extra = bob.context.browser.new_context()
    extra.add_cookies(bob.context.cookies())
    others = []
    for transport in ("ws", "poll"):
        tab = extra.new_page()
        tab.goto(f"{bob.base}{room}?transport={transport}")
        expect(tab.locator("#status")).to_have_attribute("data-state", "live")
        others.append(tab)

    # ann, back in the room on a phone-sized screen, removes bob: his pages say so.
    ann.page.set_viewport_size(PHONE)
    ann.open(room)
    ann.page.get_by_text("Members (2)").click()
    ann.assert_fits()
    ann.page.get_by_role("button", name=f"Remove {bob.name}").click()
    expect(ann.page.get_by_text("Members (1)")).to_be_visible()
    lost = bob.page.locator("#lost")
    expect(lost).to_contain_text("You no longer have access to this room")
    expect(lost).to_have_attribute("role", "alert")
    expect(bob.page.locator("#text")).to_be_disabled()
    expect(room_entry(bob, title)).to_have_count(0)
    for tab in others:
        expect(tab.locator("#lost")).to_contain_text("You no longer have access to this room")
        expect(tab.locator("#text")).to_be_disabled()
    extra.close()

    # Revoked, the link bob used is dead: its page says so, with a way home.
    ann.page.get_by_role("button", name="Revoke invite links").click()
    expect(ann.page.locator(".members")).to_contain_text("no longer works")
    resp = bob.page.goto(bob.base + invite)
    assert resp.status == 404, resp.status
    expect(bob.page.locator("h1")).to_have_text("This invite link no longer works")
    expect(bob.page.get_by_role("link", name="Back to the start")).to_be_visible()

    # Added back by name, bob reads the room again, and leaves it himself.
    ann.page.get_by_label("Add a member by name").fill(bob.name)
    ann.page.get_by_role("button", name="Add", exact=True).click()
    expect(ann.page.get_by_text("Members (2)")).to_be_visible()
    bob.open(room)
    bob.page.get_by_text("Members (2)").click()
    expect(bob.page.get_by_role("button", name=f"Remove {ann.name}")).to_have_count(0)
    bob.page.get_by_role("button", name="Leave room").click()
    bob.at("/")
    assert get(bob.base, room, headers={**HTML_ACCEPT, "Cookie": cookie(bob)}).status == 404


def test_open_mode_has_no_invite_page(stack):
    r = get(stack.url, f"/invites/{FORGED}", headers=HTML_ACCEPT)
    assert r.status == 404 and r.json()["error"] == "not_found", r


def test_invite_pages_over_http(passkey_stack):
    """A working link signed out asks to sign in first and come back; signed in, the
    page offers to join; a forged link's page is a 404 saying it no longer works; the
    POST API is as it was."""
    owner = api_user(passkey_stack)
    r = owner.post("/rooms/", {"title": "Book club", "private": True})
    assert r.status == 201, r
    room = r.json()["id"]
    r = owner.post(f"/rooms/{room}/invites/", {})
    assert r.status == 201, r
    token = r.json()["url"].rsplit("/", 1)[1]

    r = get(passkey_stack.url, f"/invites/{token}", headers=HTML_ACCEPT)
    assert r.status == 200, r
    assert "You are invited to Book club" in r.text, r.text
    assert f'href="/?next=%2Finvites%2F{token}"' in r.text, r.text
    assert 'id="accept"' not in r.text
    r = owner.get(f"/invites/{token}", headers=HTML_ACCEPT)
    assert r.status == 200 and 'id="accept">Join Book club</button>' in r.text, r.text

    r = owner.get(f"/invites/{FORGED}", headers=HTML_ACCEPT)
    assert r.status == 404, r
    assert r.headers["Content-Type"].startswith("text/html"), r.headers
    assert "This invite link no longer works" in r.text, r.text
    assert '<a href="/">' in r.text
    r = owner.post(f"/invites/{FORGED}", {})
    assert r.status == 404 and r.json()["error"] == "not_found", r
    r = owner.post(f"/invites/{token}", {})
    assert r.status == 200 and r.json() == {"id": room, "title": "Book club"}, r
