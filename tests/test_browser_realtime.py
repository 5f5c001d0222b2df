"""Presence, typing, the transport setting and the room list in a real browser (Debian's
Chromium through Playwright, as test_browser.py) against the real local stack."""

import time

from playwright.sync_api import expect

from helpers import post_ok, random_room
from test_browser import browser, tabs  # noqa: F401 - fixtures shared with the chat tests

LIVE = 10_000


def open_chat(tab, url, room, user, transport=None):
    query = f"?user={user}" + (f"&transport={transport}" if transport else "")
    tab.goto(f"{url}/{room}{query}")
    tab.wait_live()


def test_two_pages_see_each_others_presence_and_typing(stack, tabs):  # noqa: F811
    room = random_room()
    ann, bob = tabs(), tabs()
    open_chat(ann, stack.url, room, "ann")
    open_chat(bob, stack.url, room, "bob")
    for tab, names in ((ann, ["ann", "bob"]), (bob, ["bob", "ann"])):
        expect(tab.page.locator("#here-count")).to_have_text("2 here", timeout=LIVE)
        tab.page.locator("#here-count").click()  # the list: yourself first
        expect(tab.page.locator("#here-list .name")).to_have_text(names)
        tab.page.keyboard.press("Escape")
    expect(ann.page.locator("#presence-note")).to_have_text("bob joined")

    bob.page.locator("#text").press_sequentially("hel")
    expect(ann.page.locator("#typing")).to_have_text("bob is typing…", timeout=LIVE)
    expect(bob.page.locator("#typing")).to_have_text("")  # not yourself
    bob.page.locator("#text").press_sequentially("lo")
    bob.page.locator("#text").press("Enter")
    expect(ann.message("hello")).to_have_count(1, timeout=LIVE)
    expect(ann.page.locator("#typing")).to_have_text("")

    # Leaving (the pagehide beacon) takes ann off bob's list at once.
    ann.page.goto(f"{stack.url}/")
    expect(bob.page.locator("#here-count")).to_have_text("1 here", timeout=LIVE)
    expect(bob.page.locator("#presence-note")).to_have_text("ann left")
    # Presence never enters the log: only the message is there.
    assert [m[2] for m in bob.messages()] == ["hello"]
    bob.assert_clean()


def test_every_transport_delivers_the_same_messages(stack, tabs):  # noqa: F811
    room = random_room()
    post_ok(stack.url, room, "carol", "before anyone came")
    ann, bob = tabs(), tabs()
    open_chat(ann, stack.url, room, "ann", transport="ws")
    open_chat(bob, stack.url, room, "bob", transport="poll")
    expect(ann.page.locator("#transport")).to_have_value("ws")
    expect(bob.page.locator("#transport")).to_have_value("poll")

    ann.send("from the socket side")
    expect(bob.message("from the socket side")).to_have_count(1, timeout=LIVE)
    bob.send("from the polling side")
    expect(ann.message("from the polling side")).to_have_count(1, timeout=LIVE)
    # Someone typing reaches a poll too. The server publishes a typist starting: after a
    # pause of 6 s (TYPING_PAUSE_SECS) since ann's last keystroke, in her message.
    time.sleep(6.2)
    ann.page.locator("#text").press_sequentially("x")
    expect(bob.page.locator("#typing")).to_have_text("ann is typing…", timeout=LIVE)
    ann.page.locator("#text").fill("")

    # Switching transport keeps the place: nothing lost, nothing twice.
    ann.page.select_option("#transport", "poll")
    ann.wait_live()
    post_ok(stack.url, room, "carol", "while ann polls")
    expect(ann.message("while ann polls")).to_have_count(1, timeout=LIVE)
    bob.page.select_option("#transport", "ws")
    bob.wait_live()
    post_ok(stack.url, room, "carol", "while bob has a socket")
    expect(bob.message("while bob has a socket")).to_have_count(1, timeout=LIVE)
    ann.page.select_option("#transport", "sse")
    ann.wait_live()
    ann.send("back on SSE")
    expect(bob.message("back on SSE")).to_have_count(1, timeout=LIVE)

    for tab in (ann, bob):
        expect(tab.log_items()).to_have_count(6, timeout=LIVE)
    time.sleep(0.5)
    assert ann.messages() == bob.messages()
    assert [m[0] for m in ann.messages()] == list(range(1, 7))
    # The choice is remembered for the next visit (without ?transport=).
    ann.page.goto(f"{stack.url}/{room}?user=ann")
    expect(ann.page.locator("#transport")).to_have_value("sse")
    bob.page.goto(f"{stack.url}/{room}?user=bob")
    expect(bob.page.locator("#transport")).to_have_value("ws")
    bob.wait_live()
    ann.assert_clean()
    bob.assert_clean()


def test_the_room_list_counts_unread_messages(stack, tabs):  # noqa: F811
    first, second = random_room(), random_room()
    tab = tabs()
    open_chat(tab, stack.url, first, "dora")
    open_chat(tab, stack.url, second, "dora")
    rooms = tab.page.locator("#room-list li")
    expect(rooms).to_have_count(2)
    expect(tab.page.locator("#room-list a[aria-current=page]")).to_have_text(f"#{second}")
    for n in range(3):
        post_ok(stack.url, first, "eve", f"unread {n}")
    post_ok(stack.url, second, "eve", "seen here")
    badge = tab.page.locator("#room-list li", has_text=f"#{first}").locator(".unread")
    expect(badge).to_have_text("3", timeout=LIVE)
    # Back in the first room, it is read; the second room's message was seen there.
    tab.page.locator("#room-list a", has_text=f"#{first}").click()
    tab.wait_live()
    expect(tab.page.locator("#room-list .unread")).to_have_count(0)
    expect(tab.message("unread 2")).to_have_count(1)
    tab.assert_clean()
