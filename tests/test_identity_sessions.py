"""Sessions that end (issue 18 item 1).

A session's cookie is a signed token naming the session (id, the account's session epoch,
its end) that is believed without KV only while fresh (`session_check_secs`) and only for
reads; a write, or a read with a stale token, checks the account's record, and a stale
token that still stands comes back renewed. Signing out lists the session as ended (a copy
of the cookie stops writing at once and reading within one check period); "everywhere" and
removing a passkey raise the account's epoch. Held streams carry a signed pass in the links
Fanout fetches on a timer, and sockets ask for keep-alive call-backs, so they end within a
check period too. The stacks here shorten `session_check_secs` and `session_secs`.
"""

import json
import time

import pytest

from auth_helpers import Browser, assert_error, bearer, kv_ops, signed_up
from helpers import SSEClient, random_room
from softauthn import SoftAuthenticator
from wsclient import WSClient


def messages_path(room):
    return f"/rooms/{room}/messages/"


def events_path(room):
    return f"/rooms/{room}/events/"


def copy_of(browser):
    """Another client holding a copy of the browser's cookie (a thief's)."""
    copy = Browser.__new__(Browser)
    copy.__dict__.update(browser.__dict__)
    return copy


def second_browser(stack, browser):
    """The same person signed in on another device with the same passkey."""
    other = Browser(stack, browser.authenticator)
    assert other.sign_in().status == 200
    assert other.cookie != browser.cookie
    return other


def posts(browser, room, text="hi"):
    return browser.post(messages_path(room), {"text": text})


def assert_ended(r):
    """401 `session_ended`, with the ended session's cookie cleared."""
    assert r.status == 401 and r.json()["error"] == "session_ended", r
    assert "sign in" in r.json()["message"], r
    assert any("Max-Age=0" in c for c in r.headers.get_all("Set-Cookie") or []), r


@pytest.fixture(scope="module")
def quick(request):
    """A passkey stack whose tokens are believed without a check for one second only."""
    from conftest import _start, _stop
    s = _start(config={"auth_mode": "passkey", "session_check_secs": "1"})
    request.addfinalizer(lambda: _stop(s))
    return s


def test_signing_out_ends_that_session_for_good(passkey_stack, room):
    ann = signed_up(passkey_stack)
    elsewhere = second_browser(passkey_stack, ann)
    stolen = copy_of(ann)
    r = ann.sign_out()
    assert r.status == 200 and r.json() == {"signed_out": True, "everywhere": False}, r
    assert ann.cookie is None
    # The copy stops writing at once, and /auth/me (which reads the record anyway) too.
    cookie = stolen.cookie
    assert_ended(posts(stolen, room))
    stolen.cookie = cookie  # a thief keeps the copy, whatever the answer says
    r = stolen.me()
    assert r.status == 401 and r.json()["error"] == "session_ended", r
    # Ann's other session is untouched.
    assert posts(elsewhere, room).status == 200
    assert elsewhere.me().status == 200


def test_sign_out_everywhere_ends_every_session_of_the_account(passkey_stack, room):
    ann = signed_up(passkey_stack)
    phone, laptop = second_browser(passkey_stack, ann), second_browser(passkey_stack, ann)
    bob = signed_up(passkey_stack)
    r = phone.post("/auth/logout", {"everywhere": True})
    assert r.status == 200 and r.json() == {"signed_out": True, "everywhere": True}, r
    assert phone.cookie is None
    for browser in (ann, laptop):
        assert_ended(posts(browser, room))
    # Someone else's session is not touched; signing in again starts a new one.
    assert posts(bob, room).status == 200
    assert ann.sign_in().status == 200
    assert posts(ann, room).status == 200


def test_sign_out_everywhere_needs_a_session(passkey_stack):
    assert_error(Browser(passkey_stack).post("/auth/logout", {"everywhere": True}), 401)
    r = Browser(passkey_stack).post("/auth/logout")
    assert r.status == 200, r
    ann = signed_up(passkey_stack)
    assert_error(ann.post("/auth/logout", {"everywhere": "yes"}), 400, "invalid_field",
                 field="everywhere")
    assert posts(ann, random_room()).status == 200, "a refused sign-out ends nothing"


def test_removing_a_passkey_ends_every_session_and_the_remover_carries_on(passkey_stack,
                                                                         room):
    ann = signed_up(passkey_stack)
    device = SoftAuthenticator(ann.origin)
    added = ann.add_passkey(device)
    assert added.status == 200, added
    phone = Browser(passkey_stack, device)
    assert phone.sign_in().status == 200
    before = copy_of(ann)
    r = ann.delete(f"/auth/passkeys/{added.json()['id']}")
    assert r.status == 204, r
    assert ann.cookie not in (None, before.cookie), "the remover gets a fresh cookie"
    assert posts(ann, room).status == 200
    # The fresh session keeps the passkey check: more account changes need no step-up.
    assert ann.post("/auth/api-keys", {"name": "after"}).status == 201
    for ended in (phone, before):
        assert_ended(posts(ended, room))


def test_a_stale_token_is_checked_once_and_renewed(quick, room):
    ann = signed_up(quick)
    assert ann.get(messages_path(room)).status == 200  # this POP's copy of the head, warm
    fresh = ann.get(messages_path(room))
    assert fresh.status == 200 and not fresh.headers.get_all("Set-Cookie"), fresh
    time.sleep(1.2)
    stale = ann.get(messages_path(room))
    assert stale.status == 200, stale
    assert stale.headers.get_all("Set-Cookie"), "a checked stale token comes back renewed"
    # The check is the one lookup of the account's record.
    assert kv_ops(stale) == kv_ops(fresh) + 1, (stale, fresh)
    again = ann.get(messages_path(room))
    assert kv_ops(again) == kv_ops(fresh), again


def test_a_signed_out_copy_stops_reading_within_one_check_period(quick, room):
    ann = signed_up(quick)
    stolen = copy_of(ann)
    assert ann.sign_out().status == 200
    time.sleep(1.2)
    cookie = stolen.cookie
    assert_ended(stolen.get(messages_path(room)))
    stolen.cookie = cookie  # a thief keeps the copy, whatever the answer says
    assert_ended(stolen.get(f"{messages_path(room)}?after=0&wait=1"))


def test_a_stream_ends_when_its_session_ends(make_stack, room):
    stack = make_stack(config={"auth_mode": "passkey", "session_secs": "6"})
    ann = signed_up(stack)
    with SSEClient(stack.url, events_path(room), headers=ann.session_header()) as sse:
        sse.wait_for_event("stream-open")
        [error] = sse.wait_for_event("stream-error", timeout=30)
        assert json.loads(error[2])["condition"] == "session-ended", error
        sse.wait_for(lambda _: sse.closed, timeout=10)


def test_a_stream_ends_after_its_session_is_signed_out(quick, room):
    ann = signed_up(quick)
    elsewhere = second_browser(quick, ann)
    with SSEClient(quick.url, events_path(room), headers=ann.session_header()) as mine, \
            SSEClient(quick.url, events_path(room), headers=elsewhere.session_header()) as other:
        mine.wait_for_event("stream-open")
        other.wait_for_event("stream-open")
        assert ann.sign_out().status == 200
        [error] = mine.wait_for_event("stream-error", timeout=30)
        assert json.loads(error[2])["condition"] == "session-ended", error
        mine.wait_for(lambda _: mine.closed, timeout=10)
        # The other session's stream carries on, and still receives.
        assert posts(elsewhere, room, "still here").status == 200
        other.wait_for(lambda evs: any("still here" in e[2] for e in evs), timeout=10)
        assert not other.closed


def test_a_stream_ends_after_its_api_key_is_revoked(quick, room):
    ann = signed_up(quick)
    key = ann.create_api_key()
    with SSEClient(quick.url, events_path(room), headers=bearer(key["key"])) as sse:
        sse.wait_for_event("stream-open")
        assert ann.delete(f"/auth/api-keys/{key['id']}").status == 204
        [error] = sse.wait_for_event("stream-error", timeout=30)
        assert json.loads(error[2])["condition"] == "key-revoked", error
        sse.wait_for(lambda _: sse.closed, timeout=10)


def test_a_socket_closes_after_its_session_is_signed_out(quick, room):
    ann = signed_up(quick)
    # Straight to Pushpin, as Fanout holds sockets (tests/test_websocket.py says why).
    ws = WSClient(f"http://127.0.0.1:{quick.pushpin_port}", f"/rooms/{room}/ws",
                  headers={"Pushpin-Route": "self", **ann.session_header()}).start()
    try:
        ws.wait_event("stream-open")
        assert ann.sign_out().status == 200
        # Fanout calls back at least every 20 s (its floor for Keep-Alive-Interval).
        code, reason = ws.wait_closed(timeout=45)
        assert code == 1008 and "session has ended" in reason, (code, reason)
    finally:
        ws.close()
