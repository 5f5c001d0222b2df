"""Reactions, replies and mentions in the page (issue 21 item 5), in Debian's Chromium:
one person reacts, replies and mentions, and the other's page shows each live (the
reaction's count and pressed state, the reply's quote linking to the original, the
mention marked, and a badge on another room in the room list fed by GET /me/events/);
the emoji picker and the `@` autocomplete work from the keyboard.

Passkey mode for the whole story (mention notifications exist only there); open mode for
reactions arriving live over WebSocket and long-poll too.
"""

from playwright.sync_api import expect

from helpers import post_form, post_ok, random_room
from test_browser import tabs  # noqa: F401
from test_browser_auth import browser, people, random_name  # noqa: F401


def post(person, room, text, **fields):
    """A post from the person's page (its cookie): the stored message's JSON."""
    return person.page.evaluate(
        """async ([room, fields]) => {
             const res = await fetch(`/rooms/${room}/messages/`, {method: 'POST',
               headers: {'Content-Type': 'application/json'}, body: JSON.stringify(fields)});
             return [res.status, await res.json()];
           }""",
        [room, {"text": text, **fields}])


def bar(person, text):
    """The reaction bar of the message whose text is `text`."""
    return person.message(text).locator(".react")


def reaction(person, text, emoji):
    return bar(person, text).locator(f'.reaction[data-emoji="{emoji}"]')


def pick_with_keyboard(person, text, steps):
    """Opens the message's picker from the keyboard and picks the emoji `steps` to the
    right of the first."""
    add = bar(person, text).get_by_role("button", name="Add reaction")
    add.focus()
    person.page.keyboard.press("Enter")
    menu = person.message(text).get_by_role("menu")
    expect(menu).to_be_visible()
    items = menu.get_by_role("menuitem")
    expect(items.first).to_be_focused()
    for _ in range(steps):
        person.page.keyboard.press("ArrowRight")
    expect(items.nth(steps)).to_be_focused()
    person.page.keyboard.press("Enter")
    expect(menu).to_have_count(0)


def test_one_reacts_replies_and_mentions_and_the_other_sees_each_live(people):
    room, elsewhere, unlisted = random_room("cv"), random_room("cv2"), random_room("cv3")
    ann_name, bob_name = random_name("ann"), random_name("bob")
    bob = people()
    bob.open(f"/{elsewhere}")
    bob.sign_up(bob_name)
    bob.at(f"/{elsewhere}")
    bob.wait_live()
    bob.open(f"/{room}")  # Bob's room list: this room and `elsewhere`
    bob.wait_live()
    bob.send("Who is coming tonight?")
    ann = people()
    ann.open(f"/{room}")
    ann.sign_up(ann_name)
    ann.at(f"/{room}")
    ann.wait_live()
    question = "Who is coming tonight?"
    expect(ann.message(question)).to_have_count(1)
    question_id = int(ann.message(question).get_attribute("data-id"))

    # Ann reacts with ❤️ from the picker, by keyboard: Bob sees it live, not pressed.
    pick_with_keyboard(ann, question, 1)
    expect(reaction(ann, question, "❤️")).to_have_attribute("aria-pressed", "true")
    expect(reaction(bob, question, "❤️")).to_have_text("❤️ 1")
    expect(reaction(bob, question, "❤️")).to_have_attribute("aria-pressed", "false")
    expect(reaction(bob, question, "❤️")).to_have_attribute("title", ann_name)
    # Bob adds his: 2, pressed for him; Ann sees 2, still pressed for her.
    reaction(bob, question, "❤️").click()
    expect(reaction(bob, question, "❤️")).to_have_attribute("aria-pressed", "true")
    expect(reaction(ann, question, "❤️")).to_have_text("❤️ 2")
    expect(reaction(ann, question, "❤️")).to_have_attribute("title", f"{ann_name}, {bob_name}")
    # Ann takes hers back: 1 on both pages, not pressed for her.
    reaction(ann, question, "❤️").click()
    expect(reaction(bob, question, "❤️")).to_have_text("❤️ 1")
    expect(reaction(ann, question, "❤️")).to_have_attribute("aria-pressed", "false")
    # Escape closes the picker and gives the focus back.
    add = bar(ann, question).get_by_role("button", name="Add reaction")
    add.click()
    expect(ann.message(question).get_by_role("menu")).to_be_visible()
    ann.page.keyboard.press("Escape")
    expect(ann.message(question).get_by_role("menu")).to_have_count(0)
    expect(add).to_be_focused()

    # Ann replies: the quote shows above her composer, then above her reply on both pages.
    bar(ann, question).get_by_role("button", name=f"Reply to {bob_name}").click()
    expect(ann.page.locator("#replying")).to_contain_text(f"Replying to {bob_name}: {question}")
    expect(ann.page.locator("#text")).to_be_focused()
    ann.send("Me!")
    expect(ann.page.locator("#replying")).to_be_hidden()
    for person in (ann, bob):
        quoted = person.message("Me!").locator("a.quote")
        expect(quoted).to_contain_text(bob_name)
        expect(quoted).to_contain_text(question)
    # The quote leads to the original: scrolled to, focused and highlighted.
    original = bob.message(question)
    bob.message("Me!").locator("a.quote").click()
    expect(original).to_be_focused()
    expect(original).to_be_in_viewport()
    # A reply can be cancelled (Escape): the next post is no reply.
    bar(ann, question).get_by_role("button", name=f"Reply to {bob_name}").click()
    expect(ann.page.locator("#replying")).to_be_visible()
    ann.page.locator("#text").press("Escape")
    expect(ann.page.locator("#replying")).to_be_hidden()

    # Ann mentions Bob through the autocomplete, by keyboard.
    box = ann.page.locator("#text")
    box.fill("")
    box.press_sequentially(f"See you @{bob_name[:4]}")
    listbox = ann.page.get_by_role("listbox", name="People to mention")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    option = listbox.get_by_role("option", name=bob_name)
    expect(option).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", option.get_attribute("id"))
    box.press("Enter")  # picks; does not send
    expect(listbox).to_be_hidden()
    expect(box).to_have_value(f"See you @{bob_name} ")
    # Escape closes an open list and keeps the text.
    box.press_sequentially("and @")
    expect(listbox).to_be_visible()
    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value(f"See you @{bob_name} and @")
    box.fill(f"See you @{bob_name} there")
    box.press("Enter")
    mention = bob.message(f"@{bob_name} there")
    expect(mention).to_have_class("msg mentions-me")
    expect(mention.locator(".mention-tag")).to_have_text("@ you")
    expect(ann.message(f"@{bob_name} there")).to_have_class("msg own")  # not hers

    # A mention in another room of Bob's list: a badge there; one in a room he has
    # not listed: the room joins the list, with its badge.
    assert post(ann, elsewhere, f"@{bob_name} over here")[0] == 200
    badge = bob.page.locator("#room-list li", has=bob.page.locator(f'a[href="/{elsewhere}"]')).locator(".mention-badge")
    expect(badge).to_have_text("@1")
    assert post(ann, unlisted, f"ping @{bob_name}")[0] == 200
    new = bob.page.locator("#room-list li", has=bob.page.locator(f'a[href="/{unlisted}"]'))
    expect(new.locator(".mention-badge")).to_have_text("@1")
    # Opening the room clears its badge; the other room's stays.
    bob.page.locator(f'#room-list a[href="/{elsewhere}"]').click()
    bob.at(f"/{elsewhere}")
    bob.wait_live()
    expect(bob.message(f"@{bob_name} over here")).to_have_class("msg mentions-me")
    expect(bob.page.locator("#room-list .mention-badge")).to_have_count(1)
    expect(bob.page.locator("#room-list li", has=bob.page.locator(f'a[href="/{unlisted}"]'))
           .locator(".mention-badge")).to_have_text("@1")

    # Bob deletes his question: Ann's reply quotes a deleted message, live, and following
    # the quote says the original is not there.
    status = bob.page.evaluate(
        "async ([room, id]) => (await fetch(`/rooms/${room}/messages/${id}`, {method: 'DELETE'})).status",
        [room, question_id])
    assert status == 200, status
    quoted = ann.message("Me!").locator("a.quote")
    expect(quoted).to_have_text("deleted message")
    quoted.click()
    expect(quoted.locator(".quote-note")).to_contain_text("not in the log")


def test_reactions_arrive_live_on_every_transport(stack, tabs):
    room = random_room("cvt")
    m = post_ok(stack.url, room, "carol", "React to me")
    ann = tabs()
    ann.goto(f"{stack.url}/{room}?user=ann")
    ann.wait_live()
    watchers = {}
    for transport in ("sse", "ws", "poll"):
        watchers[transport] = tabs()
        watchers[transport].goto(f"{stack.url}/{room}?user=w-{transport}&transport={transport}")
        watchers[transport].wait_live()
    # Ann reacts with 👍 (the picker's first) by clicking; each transport shows it.
    bar(ann, "React to me").get_by_role("button", name="Add reaction").click()
    ann.message("React to me").get_by_role("menuitem", name="👍").click()
    expect(reaction(ann, "React to me", "👍")).to_have_attribute("aria-pressed", "true")
    for transport, tab in watchers.items():
        expect(reaction(tab, "React to me", "👍"), transport).to_have_text("👍 1")
        expect(reaction(tab, "React to me", "👍"), transport).to_have_attribute("aria-pressed", "false")
    # A reply to a message the page has not loaded: the quote loads older pages to find it.
    for i in range(50):  # the page renders the newest 50 ids: the original is not among them
        post_ok(stack.url, room, "carol", f"filler {i}")
    r = post_form(stack.url, f"/rooms/{room}/messages/",
                  {"from": "carol", "text": "Late answer", "reply_to": str(m["id"])})
    assert r.status == 200, r
    fresh = tabs()
    fresh.goto(f"{stack.url}/{room}?user=dan")
    fresh.wait_live()
    expect(fresh.message("React to me")).to_have_count(0)
    fresh.message("Late answer").locator("a.quote").click()
    expect(fresh.message("React to me")).to_be_focused()
    expect(reaction(fresh, "React to me", "👍")).to_have_text("👍 1")

    # A long press (touch) shows who reacted under the bar, as hover shows the title.
    thumbs = reaction(fresh, "React to me", "👍")
    thumbs.dispatch_event("pointerdown", {"pointerType": "touch", "bubbles": True})
    expect(fresh.message("React to me").locator(".reacted-by")).to_have_text("👍 ann")
    thumbs.dispatch_event("pointerup", {"pointerType": "touch", "bubbles": True})

    # On a phone: the bar, the picker and the quote fit the width.
    phone = tabs()
    phone.page.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{stack.url}/{room}?user=eve")
    phone.wait_live()
    bar(phone, "Late answer").get_by_role("button", name="Add reaction").click()
    expect(phone.message("Late answer").get_by_role("menuitem")).to_have_count(8)
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.page.evaluate("document.getElementById('scroller').scrollWidth") <= 390
    for tab in (ann, fresh, phone, *watchers.values()):
        tab.assert_clean()
