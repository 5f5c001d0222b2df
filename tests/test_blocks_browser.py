"""Blocking in the page (issue 19 item 5): the page of someone who blocks Bob leaves out
Bob's messages, those the server renders and those that arrive live or by "load older",
while everyone else's still show.
"""

from playwright.sync_api import expect

from auth_helpers import signed_up
from helpers import random_room
from test_browser_auth import browser, people, random_name  # noqa: F401


def block(person, name):
    """POST /me/blocks/ from the person's page (its cookie, its origin)."""
    return person.page.evaluate(
        """async (name) => (await fetch('/me/blocks/', {method: 'POST',
             headers: {'Content-Type': 'application/json'}, body: JSON.stringify({name})})).status""",
        name)


def test_the_page_leaves_out_the_messages_of_someone_you_block(people, passkey_stack):
    room = random_room("blk")
    bob, carl = signed_up(passkey_stack), signed_up(passkey_stack)
    assert bob.post(f"/rooms/{room}/messages/", {"text": "bob before"}).status == 200
    assert carl.post(f"/rooms/{room}/messages/", {"text": "carl before"}).status == 200
    ann = people()
    ann.open(f"/{room}")
    ann.sign_up(random_name("ann"))
    ann.at(f"/{room}")
    expect(ann.message("bob before")).to_have_count(1)
    assert block(ann, bob.name) == 204

    ann.page.reload()
    ann.wait_live()
    expect(ann.message("carl before")).to_have_count(1)
    expect(ann.message("bob before")).to_have_count(0)
    # Live: Carl's message comes after Bob's on the stream, so once it shows, Bob's
    # has been and gone.
    assert bob.post(f"/rooms/{room}/messages/", {"text": "bob live"}).status == 200
    assert carl.post(f"/rooms/{room}/messages/", {"text": "carl live"}).status == 200
    expect(ann.message("carl live")).to_have_count(1)
    expect(ann.message("bob live")).to_have_count(0)
    assert [m[1] for m in ann.messages()] == [carl.name, carl.name]
