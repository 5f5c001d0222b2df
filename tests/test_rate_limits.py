"""Rate limits (issue 12, rule 6) on the real local stack: posts per identity (`post_rate`),
sign-up and sign-in ceremonies per client address (`auth_rate`), deletes and edits per
identity (`moderation_rate`, admins exempt). Over a limit: 429 JSON {"error": "rate_limited"}
with Retry-After, and nothing stored. The limits are counted in the Core Cache, which Viceroy
implements (limits.rs); each test runs its own stack with small limits.

Windows are aligned to the clock (every `per` seconds), so each test first waits, if need be,
until enough of the current window is left for its requests (`fresh_window`).
"""

import json
import time

from moderation_helpers import (ADMIN_KEY, JSON, Anyone, Browser, admin_key_holder,
                                assert_refused, clear, delete, edit, history, messages_path,
                                post, random_name, signed_up, texts, unchanged, fresh_window)


def retry_after(r, per):
    seconds = int(r.headers["Retry-After"])
    assert 1 <= seconds <= per, r
    return seconds


def test_the_fourth_post_in_ten_seconds_is_429_and_stores_nothing(make_stack, room):
    s = make_stack(config={"post_rate": "3/10"})
    anyone = Anyone(s)
    fresh_window(10, 6)
    sent = [post(anyone, room, f"m{n}", sender="ann") for n in range(3)]
    with unchanged(anyone, room):
        # In open mode the budget is the address's: another nickname does not help.
        for sender in ("ann", "bob"):
            r = anyone.request("POST", messages_path(room),
                               json.dumps({"from": sender, "text": "one too many"}), JSON)
            body = assert_refused(r, 429, "rate_limited")
            assert "Slow down" in body["message"], body
            wait = retry_after(r, 10)
        # Reading is not limited.
        assert anyone.request("GET", messages_path(room)).status == 200
    assert history(anyone, room) == (sent[::-1], "3")
    time.sleep(wait)
    assert post(anyone, room, "after the wait", sender="ann")["id"] == 4


def test_each_person_has_one_budget_that_their_api_keys_share(make_stack, room):
    s = make_stack(config={"auth_mode": "passkey", "post_rate": "2/10"})
    ann, bob = signed_up(s), signed_up(s)
    anns_key = Anyone(s, ann.create_api_key()["key"])
    fresh_window(10, 6)
    post(ann, room, "ann")
    post(anns_key, room, "ann's bot", sender=ann.name)
    with unchanged(ann, room):
        # Issue 18 item 6: a key counts as its owner, so minting keys adds no budget.
        for client in (ann, anns_key):
            r = client.request("POST", messages_path(room),
                               json.dumps({"from": ann.name, "text": "once more"}), JSON)
            assert_refused(r, 429, "rate_limited")
            retry_after(r, 10)
    post(bob, room, "bob is not limited by ann")
    assert texts(ann, room) == ["bob is not limited by ann", "ann's bot", "ann"]


def test_ceremonies_are_limited_per_address_and_finishing_one_is_not(make_stack):
    s = make_stack(config={"auth_mode": "passkey", "auth_rate": "2/60"})
    fresh_window(60, 20)
    browser, name = Browser(s), random_name()
    options = browser.options("/auth/register/options", {"name": name})   # 1
    browser.options("/auth/login/options")                                  # 2
    for path, body in (("/auth/register/options", {"name": random_name()}),
                       ("/auth/login/options", {}),
                       ("/auth/login/options", {"name": name})):
        r = Browser(s).post(path, body)  # another browser, the same address
        assert_refused(r, 429, "rate_limited")
        retry_after(r, 60)
    assert browser.me().status == 401
    # Answering a challenge already issued is not a new ceremony.
    r = browser.finish_sign_up(browser.authenticator.register(options))
    assert r.status == 200 and browser.me().status == 200, r
    # Adding a passkey starts one: limited too.
    assert_refused(browser.post("/auth/passkeys/options"), 429, "rate_limited")
    # Everything else goes on: posting, reading.
    room = f"rl-{name}"
    post(browser, room, "signed up despite the limit")
    assert texts(browser, room) == ["signed up despite the limit"]


def test_deletes_and_edits_are_limited_except_for_admins(make_stack, room):
    admin_name = random_name("admin")
    s = make_stack(config={"auth_mode": "passkey", "moderation_rate": "2/30",
                           "admins": admin_name})
    ann, admin = signed_up(s), signed_up(s, admin_name)
    ids = [post(ann, room, f"m{n}")["id"] for n in range(6)]
    fresh_window(30, 12)
    assert delete(ann, room, ids[0]).status == 200                 # 1
    assert edit(ann, room, ids[1], "m1, edited").status == 200    # 2
    with unchanged(ann, room):
        for r in (delete(ann, room, ids[2]), edit(ann, room, ids[3], "no")):
            assert_refused(r, 429, "rate_limited")
            retry_after(r, 30)
    # Admins clean up after abuse however fast: by name and by key.
    for id_ in ids[2:5]:
        assert delete(admin, room, id_).status == 200
    holder = admin_key_holder(s)
    assert holder.headers["Authorization"] == f"Bearer {ADMIN_KEY}"
    assert delete(holder, room, ids[5]).status == 200
    assert clear(admin, room).status == 200
    assert texts(ann, room) == []
