"""Limits keyed right (issue 18 item 6): one person is one budget however many API keys
they mint (posting in test_rate_limits.py, moderation here), a person holds at most 20
keys, and minting a key counts against the address's `auth_rate` as a ceremony does.
IPv6 addresses are counted per /64: the local stack listens on 127.0.0.1 only, so that
is checked by the unit tests of `http::throttle`.
"""

from auth_helpers import assert_error, random_name, signed_up
from moderation_helpers import (Anyone, assert_refused, delete, fresh_window, post,
                                unchanged)

MAX_API_KEYS = 20


def test_the_21st_api_key_is_refused_until_one_is_revoked(passkey_stack):
    ann = signed_up(passkey_stack)
    keys = [ann.create_api_key(f"k{n}") for n in range(MAX_API_KEYS)]
    before = ann.get("/auth/api-keys").json()
    r = ann.post("/auth/api-keys", {"name": "one too many"})
    body = assert_error(r, 409, "too_many_api_keys")
    assert str(MAX_API_KEYS) in body["message"], body
    # Nothing was kept: the list is as it was, and every listed key still works.
    assert ann.get("/auth/api-keys").json() == before
    assert len(before["api_keys"]) == MAX_API_KEYS
    assert ann.delete(f"/auth/api-keys/{keys[0]['id']}").status == 204
    again = ann.create_api_key("room again")
    assert Anyone(passkey_stack, again["key"]).request("GET", "/auth/me").status == 200
    assert len(ann.get("/auth/api-keys").json()["api_keys"]) == MAX_API_KEYS


def test_minting_keys_counts_against_auth_rate(make_stack):
    s = make_stack(config={"auth_mode": "passkey", "auth_rate": "3/60"})
    fresh_window(60, 20)
    ann = signed_up(s)                       # 1: register/options
    ann.create_api_key("a")                  # 2
    ann.create_api_key("b")                  # 3
    r = ann.post("/auth/api-keys", {"name": "c"})
    assert_refused(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 60, r
    assert [k["name"] for k in ann.get("/auth/api-keys").json()["api_keys"]] == ["a", "b"]
    # The same address's ceremonies share the budget.
    assert_refused(ann.post("/auth/login/options"), 429, "rate_limited")


def test_moderation_budget_is_per_person_across_api_keys(make_stack, room):
    s = make_stack(config={"auth_mode": "passkey", "moderation_rate": "2/30"})
    ann = signed_up(s, random_name("ann"))
    first, second = (Anyone(s, ann.create_api_key(n)["key"]) for n in ("one", "two"))
    ids = [post(ann, room, f"m{n}")["id"] for n in range(4)]
    fresh_window(30, 12)
    assert delete(first, room, ids[0]).status == 200     # 1
    assert delete(second, room, ids[1]).status == 200    # 2
    with unchanged(ann, room):
        for client in (first, second, ann):
            assert_refused(delete(client, room, ids[2]), 429, "rate_limited")
    # Another person is not limited by Ann's keys.
    bob = signed_up(s)
    mine = post(bob, room, "bob's")["id"]
    assert delete(Anyone(s, bob.create_api_key()["key"]), room, mine).status == 200
