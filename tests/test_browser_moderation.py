"""Moderation in a real browser (issue 12, item 8): Debian's Chromium driven by Playwright,
each person signed up with a passkey in their own browser context (CDP virtual
authenticator), on a passkey-mode stack with an admin and a small post rate.

* Authors edit in place (the "edit" control, or Up arrow in an empty composer; Enter saves,
  Escape cancels) and delete their own messages (confirmed); the other person's page applies
  each change live, and a reload shows the same "edited" mark the script drew.
* An admin deletes anyone's message and clears the room; every page updates.
* A post over `post_rate` shows a short "slow down" notice for Retry-After seconds and keeps
  the text.
* In open mode there are no controls at all.

Screenshots go to target/screenshots/moderation-*.png.
"""

import re
import uuid

import pytest
from playwright.sync_api import expect

from browser_helpers import Tab, chromium, screenshot
from conftest import _start, _stop
from helpers import post_ok, random_room
from moderation_helpers import admin_key_holder, delete, fresh_window
from test_browser_auth import Person

ADMIN = f"admin-{uuid.uuid4().hex[:8]}"
POST_RATE = 5
RATE_WINDOW_SECS = 10


def random_name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def mod_stack():
    s = _start(config={"auth_mode": "passkey", "admins": ADMIN, "post_rate": f"{POST_RATE}/{RATE_WINDOW_SECS}"})
    yield s
    _stop(s)


@pytest.fixture
def person(browser, mod_stack):
    """person(name) signs up `name` (a new account) in a new context and opens `room`;
    every page is checked for script errors and CSP refusals afterwards."""
    opened = []

    def open_as(name, room):
        p = Person(browser, mod_stack)
        opened.append(p)
        p.dialogs = []
        # confirm() is answered as the person would: yes, unless a test says otherwise.
        p.answer = True
        p.page.on("dialog", lambda d: (p.dialogs.append(d.message),
                                       d.accept() if p.answer else d.dismiss()))
        p.open(f"/{room}")
        p.sign_up(name)
        p.at(f"/{room}")
        p.wait_live()
        return p

    yield open_as
    for p in opened:
        p.close()
    for p in opened:
        p.assert_clean()


def acts(tab, text):
    return tab.message(text).locator(".acts button")


def test_an_author_edits_and_deletes_and_the_other_page_follows_live(person):
    room = random_room("mod")
    ann, bob = person(random_name("ann"), room), person(random_name("bob"), room)
    ann.send("first from ann")
    ann.send("this has a *tpyo*")  # formatted: editing starts from the text as sent
    bob.send("hi from bob")
    for tab in (ann, bob):
        expect(tab.log_items()).to_have_count(3)
    # Controls only where the action is possible: ann's on her own, none on bob's.
    expect(acts(ann, "this has a tpyo")).to_have_text(["edit", "delete"])
    expect(acts(ann, "this has a tpyo").first).to_have_attribute("aria-label", "Edit message")
    expect(acts(ann, "hi from bob")).to_have_count(0)
    expect(acts(bob, "this has a tpyo")).to_have_count(0)

    # Up arrow in the empty composer edits the last own message in place; Escape cancels.
    box = ann.page.locator("#text")
    box.focus()
    box.press("ArrowUp")
    editor = ann.page.get_by_role("textbox", name="Edit message")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("this has a *tpyo*")
    editor.fill("never saved")
    editor.press("Escape")
    expect(editor).to_have_count(0)
    expect(box).to_be_focused()
    expect(ann.message("this has a tpyo")).to_have_count(1)

    # Again, and Enter saves: both pages show the new text, marked edited.
    box.press("ArrowUp")
    editor.fill("this had a typo, *fixed*")
    screenshot(ann.page, "moderation-editing.png")
    editor.press("Enter")
    expect(box).to_be_focused()
    for tab in (ann, bob):
        fixed = tab.message("this had a typo, fixed")
        expect(fixed).to_have_count(1)
        expect(fixed.locator(".text strong")).to_have_text("fixed")
        expect(fixed.locator(".edited")).to_have_text("edited")
        expect(fixed.locator(".edited")).to_have_attribute("title", re.compile("^Edited "))
        expect(tab.message("this has a tpyo")).to_have_count(0)

    # Delete by keyboard from the message's own control; declined first, then confirmed.
    delete = acts(ann, "first from ann").last
    delete.focus()
    expect(delete).to_be_visible()  # controls show on focus
    ann.answer = False
    delete.press("Enter")
    assert ann.dialogs == ["Delete your message? This cannot be undone."], ann.dialogs
    expect(ann.message("first from ann")).to_have_count(1)
    ann.answer = True
    delete.press("Enter")
    for tab in (ann, bob):
        expect(tab.message("first from ann")).to_have_count(0)
        expect(tab.log_items()).to_have_count(2)
    # Focus stays in the log, on the next message's controls.
    expect(acts(ann, "this had a typo, fixed").first).to_be_focused()
    screenshot(bob.page, "moderation-live.png")

    # The server renders what the script drew.
    live = [m for m in bob.messages()]
    marks = bob.page.locator("#log .edited").evaluate_all("els => els.map(e => e.outerHTML)")
    bob.page.reload()
    bob.wait_live()
    assert bob.messages() == live
    expect(bob.page.locator("#log .edited")).to_have_count(1)
    assert [re.sub(r' title="[^"]*"', "", m) for m in marks] == ['<span class="edited">edited</span>']
    assert bob.page.locator("#log .edited").evaluate("e => e.outerHTML").startswith(
        '<span class="edited" title="Edited ')


def test_an_admin_deletes_anyones_message_and_clears_the_room(person):
    room = random_room("mod")
    ann = person(random_name("ann"), room)
    ann.send("spam one")
    ann.send("spam two")
    admin = person(ADMIN, room)
    expect(admin.log_items()).to_have_count(2)
    # The admin may delete anyone's message (not edit it), and clear the room.
    expect(acts(admin, "spam one")).to_have_text(["delete"])
    clear = admin.page.get_by_role("button", name="clear room")
    expect(clear).to_be_visible()
    expect(ann.page.get_by_role("button", name="clear room")).to_have_count(0)

    acts(admin, "spam one").click()
    assert admin.dialogs[-1].startswith("Delete this message from ann-"), admin.dialogs
    for tab in (ann, admin):
        expect(tab.message("spam one")).to_have_count(0)
        expect(tab.message("spam two")).to_have_count(1)

    clear.click()
    assert admin.dialogs[-1] == f"Remove every message in #{room} for everyone? This cannot be undone."
    for tab in (ann, admin):
        expect(tab.log_items()).to_have_count(0)
        expect(tab.page.locator("#empty")).to_be_visible()
    expect(ann.page.locator("#log .notice")).to_have_text(["An admin cleared the room."])
    expect(admin.page.locator("#log .notice")).to_have_text(
        ["You cleared the room: 1 message removed."])
    expect(clear).to_be_focused()
    screenshot(ann.page, "moderation-cleared.png")
    # Life goes on after a clear.
    ann.send("after the clear")
    expect(admin.message("after the clear")).to_have_count(1)


def test_a_post_over_the_rate_limit_says_slow_down_and_keeps_the_text(person):
    room = random_room("mod")
    cy = person(random_name("cy"), room)
    # A burst that straddled two aligned rate windows would get a fresh budget halfway and
    # never be limited: the browser's posts need a few seconds of one window (8 under load).
    fresh_window(RATE_WINDOW_SECS, 8)
    for n in range(POST_RATE):
        cy.send(f"quick {n}")
        expect(cy.log_items()).to_have_count(n + 1)
    cy.send("one too many")
    error = cy.page.locator("#send-error")
    expect(error).to_have_text(re.compile(r"^Slow down: try again in \d+ s\.$"))
    expect(cy.page.locator("#text")).to_have_value("one too many")
    expect(cy.message("one too many")).to_have_count(0)
    screenshot(cy.page, "moderation-slow-down.png")
    # The notice goes once the window has passed, and the same text can be sent.
    expect(error).to_have_text("", timeout=12_000)
    cy.page.locator("#text").press("Enter")
    expect(cy.message("one too many")).to_have_count(1)


def test_open_mode_pages_have_no_controls(browser, stack, room):
    tab = Tab(browser)
    try:
        tab.goto(f"{stack.url}/{room}?user=ann")
        tab.wait_live()
        tab.send("no controls here")
        expect(tab.message("no controls here")).to_have_count(1)
        expect(tab.page.locator("#log .acts")).to_have_count(0)
        expect(tab.page.get_by_role("button", name="clear room")).to_have_count(0)
        tab.page.locator("#text").press("ArrowUp")
        expect(tab.page.locator("#log form")).to_have_count(0)
        tab.assert_clean()
    finally:
        tab.close()


def test_load_older_reads_past_a_run_of_deleted_messages(browser, stack, room):
    """Deleted messages and their deletions take ids: the 50 newest ids can hold no message
    at all while older ones exist. The page offers them, and "load older" reads on."""
    post_ok(stack.url, room, "ann", "the oldest")
    holder = admin_key_holder(stack)
    for n in range(80):
        spam = post_ok(stack.url, room, "spammer", f"spam {n}")
        assert delete(holder, room, spam["id"]).status == 200
    post_ok(stack.url, room, "ann", "the newest")  # 162: ids 113..162 hold only this one
    tab = Tab(browser)
    try:
        tab.goto(f"{stack.url}/{room}?user=bob")
        tab.wait_live()
        assert tab.messages() == [(162, "ann", "the newest")]
        expect(tab.page.locator("#empty")).to_be_hidden()
        older = tab.page.locator("#older")
        older.click()  # three pages: 63..112 and 13..62 hold no message, 1..12 one
        expect(tab.log_items()).to_have_count(2)
        assert tab.messages() == [(1, "ann", "the oldest"), (162, "ann", "the newest")]
        expect(older).to_be_hidden()
        expect(tab.page.locator("#empty")).to_be_hidden()
        tab.assert_clean()
    finally:
        tab.close()
