"""End-to-end attacks on passkey identity (issue 11) on the real local stack, in passkey mode.

Each attack must be a 4xx JSON error (`{"error", "message"}`) that stores nothing: no
cookie is set, the name asked for is still free, the passkey is not kept (it cannot sign in
later), the victim's /auth/me (passkeys, last use) is unchanged, and no message is posted.

* Ceremony responses that lie (softauthn.py's knobs): another origin, RP ID or rpIdHash, UP or
  UV cleared, the other ceremony's type, a cross-origin frame, a challenge never issued, a bad
  signature or attestation, an unknown credential, another user's handle; on sign-up, on
  sign-in and when adding a passkey.
* Replays and late answers: a sign-up or sign-in response sent twice, a challenge answered after
  it expired (a private stack with `challenge_secs=1`), a response or challenge of one ceremony
  used for another, a named sign-in answered with another account's passkey, another account's
  add-a-passkey request, a credential id registered already.
* Cloned authenticators: a signature counter going backwards or standing still; a refused
  sign-in does not move the stored counter; authenticators without a counter still work.
* Cookies: tampered, renamed, expired, not yet valid, `alg: none`, stripped, wrongly signed,
  another issuer, no expiry or issuer. A token forged with the real key is a session (the
  control that shows the forgeries fail for their one change).
* Cross-site requests with the cookie (Origin or Sec-Fetch-Site), spoofed `from` in forms and
  JSON, and another user's passkey or API key ids.
"""

import base64
import json
import os
import threading
import time

import pytest

from auth_helpers import (UNUSABLE, Browser, ann, assert_error, assert_name_free, bearer,  # noqa: F401
                          bob, forge_session, random_name, signed_up)
from helpers import get, random_room, request
from softauthn import SoftAuthenticator, b64url

# What a replayed, late or misdirected answer to a challenge is told.
USED = "expired or was already used"
# A lie for each check of a ceremony response (softauthn knobs), common to both ceremonies,
# with what the refusal must say (so each fails for its own reason, not an earlier one).
LIES = {
    "another origin": ({"origin": "http://evil.example"}, "came from a different website"),
    "another RP ID": ({"rp_id": "evil.example"}, "is for a different website"),
    "a zero rpIdHash": ({"rp_id_hash": bytes(32)}, "is for a different website"),
    "UP cleared": ({"up": False}, "did not confirm that you are present"),
    "UV cleared": ({"uv": False}, "did not verify you"),
    "a cross-origin frame": ({"cross_origin": True}, "inside a frame of another website"),
    "a challenge never issued": ({"challenge": b64url(os.urandom(32))}, USED),
    "an oversized challenge": ({"challenge": b64url(os.urandom(1000))}, USED),
}
SIGN_UP_LIES = {
    **LIES,
    "the sign-in type": ({"type_": "webauthn.get"}, "different step"),
    "no credential data": ({"attested": False}, "did not create a passkey"),
    "a bad self attestation": ({"fmt": "packed-bad"}, "attestation signature is invalid"),
    "an unchecked attestation format": ({"fmt": "tpm"}, "does not check"),
}
SIGN_IN_LIES = {
    **LIES,
    "the sign-up type": ({"type_": "webauthn.create"}, "different step"),
    # Every unusable passkey gets one refusal (issue 18 item 7): see test_identity_enumeration.
    "a bad signature": ({"bad_signature": True}, UNUSABLE),
    "an unknown credential": ({"unknown_credential": True}, UNUSABLE),
    "another user's handle": ({"user_handle": os.urandom(16)}, UNUSABLE),
}


def lies(table):
    return pytest.mark.parametrize("knobs, reason", list(table.values()), ids=list(table))


def messages_path(room):
    return f"/rooms/{room}/messages/"


def assert_rejected(r, reason=None):
    """A passkey response refused: 400 `passkey_rejected`, saying `reason` if given."""
    body = assert_error(r, 400, "passkey_rejected")
    assert reason is None or reason in body["message"], body
    return body


def assert_signed_out(browser):
    assert browser.cookie is None
    assert_error(browser.me(), 401, "unauthorized")


def assert_not_kept(stack, authenticator):
    """None of the authenticator's passkeys (the newest is the one just refused) signs in."""
    assert_rejected(Browser(stack, authenticator).sign_in(), UNUSABLE)


def snapshot(browser):
    """What an attack on this account must not change: who it is, its passkeys (with
    their last use) and its API keys."""
    return browser.me().json(), browser.get("/auth/api-keys").json()


@pytest.fixture
def thief(passkey_stack, ann):
    """A browser without ann's cookie but with her authenticator: anyone who can make it
    sign whatever they like."""
    return Browser(passkey_stack, ann.authenticator)


# ------------------------------------------------------------------ lying ceremonies

@lies(SIGN_UP_LIES)
def test_a_dishonest_sign_up_is_refused_and_stores_nothing(passkey_stack, knobs, reason):
    name = random_name()
    browser = Browser(passkey_stack)
    assert_rejected(browser.sign_up(name, **knobs), reason)
    assert_signed_out(browser)
    assert_name_free(passkey_stack, name)
    assert_not_kept(passkey_stack, browser.authenticator)


@lies(SIGN_IN_LIES)
def test_a_dishonest_sign_in_is_refused_and_stores_nothing(ann, thief, knobs, reason):
    before = snapshot(ann)
    assert_rejected(thief.sign_in(**knobs), reason)
    assert_signed_out(thief)
    assert snapshot(ann) == before
    assert thief.sign_in().status == 200


@lies(SIGN_UP_LIES)
def test_a_dishonest_added_passkey_is_refused_and_stores_nothing(passkey_stack, ann, knobs,
                                                                  reason):
    before = snapshot(ann)
    phone = SoftAuthenticator(ann.origin)
    assert_rejected(ann.add_passkey(phone, **knobs), reason)
    assert snapshot(ann) == before
    assert_not_kept(passkey_stack, phone)


def test_a_packed_self_attested_passkey_is_accepted(passkey_stack):
    # The control for "a bad self attestation": the same format, signed right.
    browser = Browser(passkey_stack)
    assert browser.sign_up(random_name(), fmt="packed").status == 200


# ------------------------------------------------------------------ replays and late answers

def test_a_replayed_sign_up_is_refused(passkey_stack):
    first = Browser(passkey_stack)
    response = first.registration(random_name())
    assert first.finish_sign_up(response).status == 200
    before = snapshot(first)
    again = Browser(passkey_stack, first.authenticator)
    assert_rejected(again.finish_sign_up(response), USED)
    assert_signed_out(again)
    assert snapshot(first) == before


def test_a_replayed_sign_in_is_refused(ann, thief):
    response = ann.assertion()
    assert ann.finish_sign_in(response).status == 200
    before = snapshot(ann)
    assert_rejected(thief.finish_sign_in(response), USED)
    assert_signed_out(thief)
    assert snapshot(ann) == before


def at_once(calls):
    """Runs the calls in parallel threads, released together; returns their results."""
    results, barrier = [None] * len(calls), threading.Barrier(len(calls))

    def run(i):
        barrier.wait(timeout=10)
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_a_sign_in_response_sent_many_times_at_once_signs_in_once(passkey_stack, ann):
    response = ann.assertion()
    browsers = [Browser(passkey_stack) for _ in range(6)]
    statuses = at_once([lambda b=b: b.finish_sign_in(response).status for b in browsers])
    assert sorted(statuses) == [200] + [400] * 5
    assert sum(b.cookie is not None for b in browsers) == 1


def test_of_sign_ups_racing_for_one_name_at_once_one_wins(passkey_stack):
    name = random_name()
    browsers = [Browser(passkey_stack) for _ in range(4)]
    responses = [b.registration(name) for b in browsers]
    statuses = at_once([lambda b=b, r=r: b.finish_sign_up(r).status
                        for b, r in zip(browsers, responses)])
    assert sorted(statuses) == [200, 409, 409, 409]
    [winner] = [b for b in browsers if b.cookie is not None]
    for loser in browsers:
        if loser is not winner:
            assert_not_kept(passkey_stack, loser.authenticator)
    assert winner.me().json()["name"] == name


def test_an_answer_after_the_challenge_expired_is_refused(make_stack):
    stack = make_stack(config={"auth_mode": "passkey", "challenge_secs": "1"})
    amy = signed_up(stack)  # answered at once: fine
    name, newcomer = random_name(), Browser(stack)
    thief = Browser(stack, amy.authenticator)
    late = {
        "sign-up": (newcomer.finish_sign_up, newcomer.registration(name)),
        "sign-in": (thief.finish_sign_in, thief.assertion()),
        "new passkey": (lambda r: amy.post("/auth/passkeys/verify", r),
                        amy.enrolment(SoftAuthenticator(amy.origin))),
    }
    before = snapshot(amy)
    time.sleep(2.1)  # challenge_secs=1, counted in whole seconds
    for send, response in late.values():
        assert_rejected(send(response), "expired")
    assert_signed_out(newcomer)
    assert_signed_out(thief)
    assert_name_free(stack, name)
    assert snapshot(amy) == before


def test_a_sign_up_response_sent_to_sign_in_is_refused(passkey_stack):
    name = random_name()
    browser = Browser(passkey_stack)
    assert_rejected(browser.finish_sign_in(browser.registration(name)), "malformed")
    assert_signed_out(browser)
    assert_name_free(passkey_stack, name)


def test_a_sign_in_response_sent_to_sign_up_is_refused(ann, thief):
    before = snapshot(ann)
    assert_rejected(thief.finish_sign_up(thief.assertion()), "malformed")
    assert_signed_out(thief)
    assert snapshot(ann) == before


def test_a_sign_in_challenge_cannot_create_an_account(passkey_stack):
    name = random_name()
    browser = Browser(passkey_stack)
    sign_in = browser.options("/auth/login/options")
    assert_rejected(browser.sign_up(name, challenge=sign_in["challenge"]), USED)
    assert_signed_out(browser)
    assert_name_free(passkey_stack, name)


def test_a_sign_up_challenge_cannot_sign_in(ann, thief):
    sign_up = thief.options("/auth/register/options", {"name": random_name()})
    assert_rejected(thief.sign_in(challenge=sign_up["challenge"]), USED)
    assert_signed_out(thief)


def test_a_named_sign_in_answered_with_another_accounts_passkey_is_refused(passkey_stack,
                                                                            ann, bob):
    options = bob.options("/auth/login/options", {"name": ann.name})
    # Bob's authenticator ignores the allow list and answers with his own passkey.
    response = bob.authenticator.assert_({**options, "allowCredentials": []})
    stranger = Browser(passkey_stack)
    assert_rejected(stranger.finish_sign_in(response), UNUSABLE)
    assert_signed_out(stranger)


def test_another_accounts_add_a_passkey_request_cannot_be_answered(ann, bob):
    before = snapshot(ann), snapshot(bob)
    response = bob.enrolment(SoftAuthenticator(bob.origin))
    assert_rejected(ann.post("/auth/passkeys/verify", response), "for another account")
    assert (snapshot(ann), snapshot(bob)) == before


def test_a_credential_id_registered_already_cannot_sign_up_again(passkey_stack, ann):
    taken = ann.authenticator.credentials[0].id
    name, mallory = random_name(), Browser(passkey_stack)
    assert_rejected(mallory.sign_up(name, credential_id=taken), "registered already")
    assert_signed_out(mallory)
    assert_name_free(passkey_stack, name)
    # Ann's passkey record still holds her account and key, not mallory's.
    assert_rejected(mallory.sign_in(), UNUSABLE)
    handle = ann.authenticator.credentials[0].user_handle
    assert_rejected(mallory.sign_in(user_handle=handle), UNUSABLE)
    assert ann.sign_in().status == 200


def test_a_credential_id_registered_already_cannot_be_added_to_another_account(ann, bob):
    before = snapshot(ann), snapshot(bob)
    taken = ann.authenticator.credentials[0].id
    assert_rejected(bob.add_passkey(SoftAuthenticator(bob.origin), credential_id=taken),
                    "registered already")
    assert (snapshot(ann), snapshot(bob)) == before
    assert ann.sign_in().status == 200


def test_a_discoverable_sign_in_must_say_whose_passkey_it_is(ann, thief):
    # WebAuthn L3 §7.2 step 6: with no user named before the ceremony, userHandle is required.
    response = thief.assertion()
    del response["response"]["userHandle"]
    assert_rejected(thief.finish_sign_in(response), "did not say")
    assert_signed_out(thief)
    # After a named start the user is known, and the handle may be left out.
    named = thief.assertion(ann.name)
    named["response"]["userHandle"] = None
    assert thief.finish_sign_in(named).status == 200


# ------------------------------------------------------------------ cloned authenticators

@pytest.mark.parametrize("step", [-1, 0], ids=["backwards", "standing still"])
def test_a_signature_counter_that_does_not_move_forward_is_refused(ann, thief, step):
    assert ann.sign_in().status == 200
    stored = ann.authenticator.credentials[0].sign_count
    before = snapshot(ann)
    assert_rejected(thief.sign_in(sign_count=stored + step), "cloned")
    assert_signed_out(thief)
    assert snapshot(ann) == before
    assert thief.sign_in(sign_count=stored + 1).status == 200


def test_a_refused_sign_in_does_not_move_the_stored_counter(ann, thief):
    stored = ann.authenticator.credentials[0].sign_count
    assert_rejected(thief.sign_in(sign_count=stored + 100, bad_signature=True), UNUSABLE)
    assert thief.sign_in(sign_count=stored + 1).status == 200


def test_an_authenticator_without_a_counter_signs_in_again_and_again(passkey_stack):
    browser = Browser(passkey_stack)
    browser.authenticator.counter = False
    assert browser.sign_up(random_name()).status == 200
    for _ in range(2):
        assert browser.sign_in().status == 200
    assert browser.authenticator.credentials[0].sign_count == 0


# ------------------------------------------------------------------ cookies

def _payload(token):
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def _with_payload(token, payload):
    """The token with another payload and its original signature."""
    head, _, signature = token.split(".")
    return f"{head}.{b64url(json.dumps(payload, separators=(',', ':')).encode())}.{signature}"


def _flip_payload_char(token):
    head, payload, signature = token.split(".")
    at = len(payload) // 2
    flipped = "A" if payload[at] != "A" else "B"
    return f"{head}.{payload[:at]}{flipped}{payload[at + 1:]}.{signature}"


FORGERIES = {
    "a payload character flipped": lambda ann: _flip_payload_char(ann.cookie),
    "another name in the payload": lambda ann: _with_payload(
        ann.cookie, {**_payload(ann.cookie), "sub": f"{ann.user['id']}:mallory"}),
    "a later expiry in the payload": lambda ann: _with_payload(
        ann.cookie, {**_payload(ann.cookie), "exp": _payload(ann.cookie)["exp"] + 86400}),
    "the signature stripped": lambda ann: ann.cookie.rsplit(".", 1)[0] + ".",
    "expired": lambda ann: forge_session(ann.user["id"], ann.name, expires_in=-60),
    "not yet valid": lambda ann: forge_session(ann.user["id"], ann.name,
                                               claims={"nbf": int(time.time()) + 3600}),
    "alg none": lambda ann: forge_session(ann.user["id"], ann.name, alg="none"),
    "signed with another key": lambda ann: forge_session(ann.user["id"], ann.name,
                                                         key=os.urandom(32)),
    "another issuer": lambda ann: forge_session(ann.user["id"], ann.name,
                                                issuer="edge-chat-local"),
    "no issuer": lambda ann: forge_session(ann.user["id"], ann.name, claims={"iss": None}),
    "no expiry": lambda ann: forge_session(ann.user["id"], ann.name, claims={"exp": None}),
    "no subject": lambda ann: forge_session(ann.user["id"], ann.name, claims={"sub": None}),
}


def cookie_thief(stack, token):
    """A browser holding `token` as its session cookie."""
    thief = Browser(stack)
    thief.cookie = token
    return thief


def test_a_token_forged_with_the_session_key_is_a_session(passkey_stack, ann):
    # The control for every forgery below: the real key makes a working token.
    forged = cookie_thief(passkey_stack, forge_session(ann.user["id"], ann.name))
    r = forged.me()
    assert r.status == 200 and r.json()["id"] == ann.user["id"], r


@pytest.mark.parametrize("forge", list(FORGERIES.values()), ids=list(FORGERIES))
def test_a_forged_cookie_is_no_session(passkey_stack, ann, forge):
    room = random_room()
    forged = cookie_thief(passkey_stack, forge(ann))
    assert forged.cookie != ann.cookie
    assert_error(forged.me(), 401, "unauthorized")
    assert_error(forged.get(messages_path(room)), 401, "unauthorized")
    assert_error(forged.post(messages_path(room), {"text": "forged"}), 401, "unauthorized")
    page = forged.get(f"/{room}", headers={"Accept": "text/html"})
    assert page.status == 303, page
    assert ann.get(messages_path(room)).json()["messages"] == []


# ------------------------------------------------------------------ cross-site requests

CROSS_SITE = {
    "another origin": {"Origin": "http://evil.example"},
    "an opaque origin": {"Origin": "null"},
    "another port on the same host": {"Origin": "http://localhost:1"},
    "cross-site without Origin": {"Origin": None, "Sec-Fetch-Site": "cross-site"},
    "same-site without Origin": {"Origin": None, "Sec-Fetch-Site": "same-site"},
}


@pytest.mark.parametrize("headers", list(CROSS_SITE.values()), ids=list(CROSS_SITE))
@pytest.mark.parametrize("kind", ["form", "json"])
def test_a_cross_site_post_with_the_cookie_is_refused(ann, headers, kind):
    room = random_room()
    send = ann.post_form if kind == "form" else ann.post
    assert_error(send(messages_path(room), {"text": "csrf"}, headers=headers), 403, "forbidden")
    assert ann.get(messages_path(room)).json()["messages"] == []


def _account_changes(ann):
    key = ann.create_api_key()
    phone = SoftAuthenticator(ann.origin)
    assert ann.add_passkey(phone).status == 200
    return {
        "create an API key": ("POST", "/auth/api-keys", {"name": "stolen"}),
        "revoke an API key": ("DELETE", f"/auth/api-keys/{key['id']}", None),
        "remove a passkey": ("DELETE", f"/auth/passkeys/{ann.passkey_ids()[1]}", None),
        "add a passkey": ("POST", "/auth/passkeys/verify", ann.enrolment(
            SoftAuthenticator(ann.origin))),
        "sign out": ("POST", "/auth/logout", None),
    }


def test_cross_site_account_changes_are_refused(ann):
    changes = _account_changes(ann)
    before = snapshot(ann)
    for what, (method, path, body) in changes.items():
        headers = {"Origin": "http://evil.example", "Content-Type": "application/json"}
        r = ann.request(method, path, json.dumps(body) if body is not None else b"", headers)
        assert r.status == 403, what
        assert_error(r, 403, "forbidden")
    assert ann.cookie is not None
    assert snapshot(ann) == before


# ------------------------------------------------------------------ spoofed names, others' ids

@pytest.mark.parametrize("kind", ["form", "json"])
def test_a_spoofed_from_is_refused(ann, bob, kind):
    room = random_room()
    send = ann.post_form if kind == "form" else ann.post
    for spoof in (bob.name, ann.name.upper(), " "):
        r = send(messages_path(room), {"from": spoof, "text": "as someone else"})
        assert_error(r, 403, "forbidden")
    assert ann.get(messages_path(room)).json()["messages"] == []


def test_a_spoofed_from_with_an_api_key_is_refused(passkey_stack, ann, bob):
    room = random_room()
    key = ann.create_api_key()["key"]
    r = request(passkey_stack.url, "POST", messages_path(room),
                json.dumps({"from": bob.name, "text": "x"}),
                {"Content-Type": "application/json", **bearer(key)})
    assert_error(r, 403, "forbidden")
    assert get(passkey_stack.url, messages_path(room), headers=bearer(key)).json()["messages"] == []


def test_another_users_passkey_id_is_not_found(ann, bob):
    before = snapshot(ann), snapshot(bob)
    [bobs] = bob.passkey_ids()
    assert_error(ann.delete(f"/auth/passkeys/{bobs}"), 404, "not_found")
    assert (snapshot(ann), snapshot(bob)) == before
    assert bob.sign_in().status == 200


def test_another_users_api_key_id_is_not_found(passkey_stack, ann, bob):
    key = bob.create_api_key()
    before = snapshot(ann), snapshot(bob)
    assert_error(ann.delete(f"/auth/api-keys/{key['id']}"), 404, "not_found")
    assert (snapshot(ann), snapshot(bob)) == before
    assert get(passkey_stack.url, messages_path(random_room()),
               headers=bearer(key["key"])).status == 200
