"""Admins by account (issue 18 item 8), and HSTS.

`admins` may list account ids (the account page shows yours) beside names. A listed id is
that account whatever its name; a listed name is compared exactly and counts only for the
account that holds exactly that name, never for a look-alike or for another account
presenting the same name. Sessions for a chosen account id are signed with the stack's dev
`session_key` as the service signs them (`forge_session`): an account's id is only known
after its sign-up, and a stack's config is fixed when it starts. The listed id's account
record is seeded into the stack's KV, as a write checks that its session's account stands.
"""

import os
import socket

import pytest

from auth_helpers import Browser, assert_error, forge_session, random_name, signed_up
from conftest import _start, _stop
from moderation_helpers import delete, post, texts
from softauthn import b64url


def session_for(stack, user_id, name):
    browser = Browser(stack)
    browser.cookie = forge_session(user_id, name)
    return browser


def is_admin_page(browser, room):
    """Whether the chat page offers the admin controls (`data-admin`)."""
    r = browser.get(f"/{room}")
    assert r.status == 200, r
    return "data-admin" in r.text


@pytest.fixture(scope="module")
def admins():
    return {"id": b64url(os.urandom(16)), "name": random_name("Mod"),
            "ghost": random_name("Ghost"), "impostor": b64url(os.urandom(16)),
            "ghost_impostor": b64url(os.urandom(16))}


def account(user_id, name):
    return {"id": user_id, "name": name, "created": "2026-12-05", "passkeys": [],
            "api_keys": []}


@pytest.fixture(scope="module")
def admin_stack(admins):
    # Accounts whose records claim a listed name without holding it (no `name:` record):
    # what a session presenting someone else's name would be.
    seeded = [account(admins["id"], "listed"), account(admins["impostor"], admins["name"]),
              account(admins["ghost_impostor"], admins["ghost"])]
    s = _start(config={"auth_mode": "passkey",
                       "admins": f"{admins['id']}, {admins['name']}, {admins['ghost']}"},
               kv={f"user:{a['id']}": a for a in seeded})
    yield s
    _stop(s)


def test_the_account_page_shows_the_account_id(admin_stack):
    ann = signed_up(admin_stack)
    r = ann.get("/account")
    assert r.status == 200, r
    assert f'<code id="account-id">{ann.user["id"]}</code>' in r.text


def test_an_account_listed_by_id_is_an_admin_whatever_its_name(admin_stack, admins, room):
    ann = signed_up(admin_stack)
    id_ = post(ann, room, "hello")["id"]
    for name in ("anyone", random_name()):
        assert is_admin_page(session_for(admin_stack, admins["id"], name), room)
    assert not is_admin_page(ann, room)
    assert delete(session_for(admin_stack, admins["id"], "anyone"), room, id_).status == 200
    assert texts(ann, room) == []


def test_a_listed_name_is_an_admin_only_as_the_account_holding_it(admin_stack, admins, room):
    ann = signed_up(admin_stack)
    ids = [post(ann, room, f"m{n}")["id"] for n in range(2)]
    name = admins["name"]
    impostors = [
        # Another account presenting the admin's exact name.
        session_for(admin_stack, admins["impostor"], name),
        # A listed name nobody holds yet.
        session_for(admin_stack, admins["ghost_impostor"], admins["ghost"]),
    ]
    moderator = signed_up(admin_stack, name)
    # Look-alikes (Cyrillic о; a variation selector) cannot sign up once the name is held
    # (item 3: one key); the admin check compares names exactly besides (src/auth/admins.rs).
    for look_alike in (name.replace("o", "\u043e"), name + "\ufe0e"):
        r = Browser(admin_stack).post("/auth/register/options", {"name": look_alike})
        assert r.status == 409, r
    for impostor in impostors:
        assert_error(delete(impostor, room, ids[0]), 403)
    assert len(texts(ann, room)) == 2
    assert is_admin_page(moderator, room)
    assert delete(moderator, room, ids[0]).status == 200
    assert texts(ann, room) == ["m1"]


def raw_get(stack, target):
    """The response head of `GET <target>`, sent as is (an absolute https:// target is how
    a request reaches Viceroy as if it came over https)."""
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as c:
        c.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := c.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n")[0].decode().lower()
    assert head.startswith("http/1.1 200"), head
    return head


def test_https_responses_carry_hsts_and_http_ones_do_not(passkey_stack):
    assert "strict-transport-security: max-age=31536000\r\n" in raw_get(
        passkey_stack, "https://localhost/robots.txt")
    assert "strict-transport-security" not in raw_get(passkey_stack, "/robots.txt")
