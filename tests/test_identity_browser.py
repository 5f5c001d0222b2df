"""The account page's step-up prompt in a real browser (issue 18 item 2): when an account
change answers 403 reauth_required, the page asks for the passkey (the person's virtual
authenticator answers) and then carries on with the change, with no error shown.

The session is made old by swapping the browser's cookie for one whose passkey check
(`iat`) is long past, signed with the stack's dev key as the service signs them.
"""

import time

from playwright.sync_api import expect

from auth_helpers import COOKIE, forge_session
from test_browser_auth import browser, people, random_name  # noqa: F401


def age_session(person, seconds):
    status, me = person.me()
    assert status == 200, status
    now = int(time.time())
    token = forge_session(me["id"], me["name"], claims={"iat": now - seconds, "nbf": now - seconds})
    person.context.add_cookies([{"name": COOKIE, "value": token, "url": person.base}])


def test_an_old_session_is_asked_for_the_passkey_and_the_change_goes_through(people):
    ivy = people()
    ivy.open("/account")
    ivy.sign_up(random_name("ivy"))
    ivy.at("/account")
    age_session(ivy, 3600)
    with ivy.page.expect_response(lambda r: r.url.endswith("/auth/reauth/verify")) as checked:
        ivy.page.get_by_label("New key's name").fill("after step-up")
        ivy.page.get_by_role("button", name="Create key").click()
    assert checked.value.status == 200
    expect(ivy.page.locator("#new-key-secret")).to_be_visible()
    expect(ivy.page.locator("#api-keys > li")).to_have_count(1)
    expect(ivy.page.locator("#api-keys > li")).to_contain_text("after step-up")
    expect(ivy.error()).to_be_hidden()
