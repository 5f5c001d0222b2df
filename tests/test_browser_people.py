"""The people in a room (static/presence.js) in a real browser (Debian's Chromium through
Playwright, as test_browser.py) against the real local stack: a count that opens the list
on demand, so that 40 people keep a phone's header to one line; the list's order; and a
visitor without a nickname seeing who is here. Other people are made cheaply, with
presence heartbeats over HTTP (as test_presence.py)."""

from playwright.sync_api import expect

from browser_helpers import screenshot
from helpers import post_ok
from test_browser import browser, tabs  # noqa: F401 - fixtures shared with the chat tests
from test_presence import say

LIVE = 10_000
PHONE = {"width": 390, "height": 844}


def people(tab):
    return tab.page.locator("#here-list .name")


def test_forty_people_keep_a_phones_header_to_one_line(stack, tabs, room):  # noqa: F811
    for n in range(1, 40):
        say(stack.url, room, f"person-{n}", "here")
    # A visitor who has not chosen a nickname already sees who is here, and is not one
    # of them (says nothing until named).
    visitor = tabs()
    visitor.page.set_viewport_size(PHONE)
    visitor.goto(f"{stack.url}/{room}")
    expect(visitor.page.locator("#nick-form")).to_be_visible()
    expect(visitor.page.locator("#here-count")).to_have_text("39 here", timeout=LIVE)
    assert len(say(stack.url, room, "person-1", "here")["here"]) == 39

    tab = tabs()
    tab.page.set_viewport_size(PHONE)
    tab.goto(f"{stack.url}/{room}?user=person-40")
    tab.wait_live()
    count = tab.page.locator("#here-count")
    expect(count).to_have_text("40 here", timeout=LIVE)
    screenshot(tab.page, "people-390.png")

    # The people take one line, in a row the header has anyway: without them it is not a
    # line shorter (a line is 20 px). The message list keeps at least 70% of the height.
    header = tab.page.locator("header.bar")
    height = header.bounding_box()["height"]
    assert tab.page.locator("#presence").bounding_box()["height"] <= count.bounding_box()["height"] + 1
    tab.page.locator("#presence").evaluate("e => { e.hidden = true; }")
    assert header.bounding_box()["height"] >= height - 2
    tab.page.locator("#presence").evaluate("e => { e.hidden = false; }")
    scroller = tab.page.locator("#scroller").bounding_box()
    assert scroller["height"] >= 0.7 * PHONE["height"], (scroller, height)
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The list opens on demand, scrolls within the screen, and closes on Escape.
    expect(tab.page.locator("#here-list")).to_be_hidden()
    count.click()
    listed = tab.page.locator("#here-list")
    expect(listed).to_be_visible()
    expect(count).to_have_attribute("aria-expanded", "true")
    expect(people(tab)).to_have_count(40)
    box = listed.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert box["y"] + box["height"] <= PHONE["height"], box
    assert listed.evaluate("e => e.scrollHeight > e.clientHeight"), "scrolls: 40 names"
    names = people(tab).all_inner_texts()
    assert names[0] == "person-40"
    assert names[1:] == [f"person-{n}" for n in range(1, 40)], "natural order"
    screenshot(tab.page, "people-390-open.png")
    tab.page.keyboard.press("Escape")
    expect(listed).to_be_hidden()
    expect(count).to_have_attribute("aria-expanded", "false")
    # A click elsewhere closes it too.
    count.click()
    expect(listed).to_be_visible()
    tab.page.locator("#text").click()
    expect(listed).to_be_hidden()
    tab.assert_clean()
    visitor.assert_clean()


def test_the_list_puts_you_first_then_typists_then_the_most_recently_active(stack, tabs, room):  # noqa: F811
    for name in ("person-10", "person-2", "person-1", "bob", "dan"):
        say(stack.url, room, name, "here")
    post_ok(stack.url, room, "dan", "an older message")
    post_ok(stack.url, room, "bob", "the newest message in the history")
    tab = tabs()
    tab.goto(f"{stack.url}/{room}?user=ann")
    tab.wait_live()
    expect(tab.page.locator("#here-count")).to_have_text("6 here", timeout=LIVE)
    tab.page.locator("#here-count").click()
    # Spoke in the history: bob more recently than dan; the rest in natural order.
    expect(people(tab)).to_have_text(["ann", "bob", "dan", "person-1", "person-2", "person-10"])
    expect(tab.page.locator("#here-list li").first).to_contain_text("you")

    # The list follows changes while open: a join is the most recent activity, a typist
    # goes before everyone else but you.
    say(stack.url, room, "cy", "here")
    expect(people(tab)).to_have_text(
        ["ann", "cy", "bob", "dan", "person-1", "person-2", "person-10"], timeout=LIVE)
    say(stack.url, room, "person-10", "typing")
    expect(tab.page.locator("#typing")).to_have_text("person-10 is typing…", timeout=LIVE)
    expect(people(tab)).to_have_text(
        ["ann", "person-10", "cy", "bob", "dan", "person-1", "person-2"])
    expect(tab.page.locator("#here-list li").nth(1)).to_contain_text("typing…")
    # Open mode: no "Message" buttons (the page passes onPerson in passkey mode only).
    expect(tab.page.locator("#here-list button")).to_have_count(0)
    # Speaking is the most recent activity (after the typist).
    post_ok(stack.url, room, "person-1", "hello")
    expect(people(tab)).to_have_text(
        ["ann", "person-10", "person-1", "cy", "bob", "dan", "person-2"], timeout=LIVE)
    tab.assert_clean()


def test_on_person_puts_a_message_button_by_everyone_else(stack, tabs, room):  # noqa: F811
    """startPresence's optional onPerson (the lead wires it to DMs in passkey mode), and
    the list's order, on the module itself with elements of its own."""
    tab = tabs()
    tab.goto(f"{stack.url}/{room}")
    got = tab.page.evaluate("""async (base) => {
        const { order, startPresence } = await import('/static/presence.js');
        const make = (tag) => document.body.appendChild(document.createElement(tag));
        const els = { bar: make('div'), count: make('button'), list: make('ul'), typing: make('p'), note: make('p') };
        els.list.popover = 'auto';
        const asked = [];
        // signedIn in an open-mode stack: its heartbeats are refused, so the roster
        // below stays.
        const presence = startPresence({
            base, heartbeatSecs: 30, who: () => 'me', signedIn: true, els, onPerson: (name) => asked.push(name),
        });
        presence.presence({ change: 'roster', here: ['me', 'person-10', 'person-9'] });
        els.list.showPopover();
        const shown = [...els.list.children].map((li) => li.textContent);
        const labels = [...els.list.querySelectorAll('button')].map((b) => b.getAttribute('aria-label'));
        els.list.querySelectorAll('button')[1].click();
        const sorted = order(['x10', 'Zed', 'x9', 'b2c10', 'ann', 'b2c9', 'ty', 'me', 'new'], {
            me: 'me', typing: new Set(['ty']), active: new Map([['new', 2], ['Zed', 1]]),
        });
        return { count: els.count.textContent, shown, labels, asked, open: els.list.matches(':popover-open'), sorted };
    }""", f"/rooms/{room}")
    assert got == {
        "count": "3 here",
        "shown": ["me you", "person-9Message", "person-10Message"],
        "labels": ["Message person-9", "Message person-10"],
        "asked": ["person-10"],
        "open": False,
        "sorted": ["me", "ty", "new", "Zed", "ann", "b2c9", "b2c10", "x9", "x10"],
    }
    assert tab.errors == []
