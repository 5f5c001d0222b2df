"""Step-up for account changes (issue 18 item 2): adding or removing a passkey and minting
or revoking an API key need a passkey check no older than `reauth_secs` (300 by default; a
sign-up or sign-in counts), else 403 {"error": "reauth_required"}; `reauth/options` and
`reauth/verify` (a sign-in for the signed-in person only) renew it.

A session's passkey check is when it was issued (its `iat`), so an old session is one signed
with the stack's dev key and an `iat` in the past (`forge_session`), the rest of it real.
"""

import time

from auth_helpers import (UNUSABLE, Browser, ann, assert_error, bearer, bob,  # noqa: F401
                          forge_session, signed_up)
from helpers import request
from softauthn import SoftAuthenticator


def aged(browser, seconds):
    """The browser's session, as if its passkey check were `seconds` old."""
    now = int(time.time())
    browser.cookie = forge_session(browser.user["id"], browser.name,
                                   claims={"iat": now - seconds, "nbf": now - seconds})
    return browser


def snapshot(browser):
    return browser.me().json(), browser.get("/auth/api-keys").json()


def assert_reauth_required(r):
    body = assert_error(r, 403, "reauth_required")
    assert "passkey" in body["message"], body


def test_account_changes_need_a_recent_passkey_check(passkey_stack, ann):
    key = ann.create_api_key("kept")
    phone = SoftAuthenticator(ann.origin)
    assert ann.add_passkey(phone).status == 200      # just signed up: recent enough
    [first, second] = ann.passkey_ids()
    aged(ann, 301)
    before = snapshot(ann)
    assert_reauth_required(ann.post("/auth/api-keys", {"name": "new"}))
    assert_reauth_required(ann.delete(f"/auth/api-keys/{key['id']}"))
    assert_reauth_required(ann.post("/auth/passkeys/options"))
    assert_reauth_required(ann.delete(f"/auth/passkeys/{second}"))
    # Reading the account needs no step-up; nothing was changed.
    assert snapshot(ann) == before
    assert request(passkey_stack.url, "GET", "/auth/me", headers=bearer(key["key"])).status == 200


def test_reauthentication_renews_the_check_and_then_changes_go_through(ann):
    [passkey] = ann.passkey_ids()
    aged(ann, 1000)
    stale = ann.cookie
    options = ann.options("/auth/reauth/options")
    assert [c["id"] for c in options["allowCredentials"]] == [passkey]
    assert options["userVerification"] == "required"
    r = ann.post("/auth/reauth/verify", ann.authenticator.assert_(options))
    assert r.status == 200, r
    assert r.json() == {"user": {"id": ann.user["id"], "name": ann.name}}
    assert ann.cookie != stale
    assert ann.post("/auth/api-keys", {"name": "after the check"}).status == 201


def test_reauthentication_is_for_the_signed_in_persons_own_passkey(passkey_stack, ann, bob):
    aged(ann, 1000)
    options = ann.options("/auth/reauth/options")
    # Bob's passkey, ignoring the allow list, cannot renew Ann's check.
    response = bob.authenticator.assert_({**options, "allowCredentials": []})
    body = assert_error(ann.post("/auth/reauth/verify", response), 400, "passkey_rejected")
    assert UNUSABLE in body["message"], body
    assert_reauth_required(ann.post("/auth/api-keys", {"name": "no"}))
    # Bob's own check cannot answer a challenge issued to Ann either.
    options = ann.options("/auth/reauth/options")
    r = bob.post("/auth/reauth/verify", ann.authenticator.assert_(options))
    assert_error(r, 400, "passkey_rejected")
    # Nobody signed in, or an API key: no check to renew.
    assert_error(Browser(passkey_stack).post("/auth/reauth/options"), 401, "unauthorized")
    key = bob.create_api_key()["key"]
    r = request(passkey_stack.url, "POST", "/auth/reauth/options", b"{}",
                {"Content-Type": "application/json", **bearer(key)})
    assert_error(r, 403)


def test_reauth_secs_sets_how_recent_the_check_must_be(make_stack, passkey_stack):
    short = make_stack(config={"auth_mode": "passkey", "reauth_secs": "5"})
    for stack, allowed in ((passkey_stack, True), (short, False)):
        browser = aged(signed_up(stack), 10)
        r = browser.post("/auth/api-keys", {"name": "k"})
        if allowed:
            assert r.status == 201, r
        else:
            assert_reauth_required(r)
    assert aged(signed_up(short), 0).post("/auth/api-keys", {"name": "k"}).status == 201
