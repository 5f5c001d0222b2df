"""Passkey identity in a real browser: the sign-in, chat and account pages of a stack in
passkey mode, driven in Debian's Chromium (Playwright as the client only), each person with
their own browser context and a CDP virtual authenticator as their device.

Pages are opened at http://localhost:<port>: the stack's `rp_origins` names that origin,
and browsers refuse an IP address as a WebAuthn RP ID.

Conditional mediation, as observed in Chromium: the sign-in page asks for a passkey through
the name field's autofill as soon as it loads. A real browser answers only when the person
picks one from the autofill list; the virtual authenticator with automatic presence answers
at once, so a page that can sign in signs in by itself (test_autofill_signs_in_...). Tests
that press the buttons switch automatic presence off first: the autofill request then waits,
as it would for a person, and the buttons must withdraw it before their own request.
"""

import re
import uuid
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from browser_helpers import Tab, VirtualAuthenticator, chromium, screenshot, web_id
from helpers import get, random_room

# After the sign-in page's autofill options arrive: time for its WebAuthn request to reach
# the virtual authenticator (it takes a few milliseconds).
AUTOFILL_SETTLE_MS = 500
HTML_ACCEPT = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
PHONE = {"width": 390, "height": 844}


def random_name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Person(Tab):
    """Someone on the passkey stack: a browser context and one device (authenticator)."""

    def __init__(self, browser, stack):
        super().__init__(browser)
        self.base = f"http://localhost:{stack.port}"
        self.device = VirtualAuthenticator(self)

    def open(self, path):
        return self.goto(self.base + path)

    def at(self, path, timeout=10_000):
        """Waits until the page is `path` (and its query) on this site."""
        expect(self.page).to_have_url(self.base + path, timeout=timeout)

    def error(self):
        return self.page.locator("#auth-error")

    def sign_up(self, name):
        self.page.fill("#signup-name", name)
        self.page.click("#signup button")

    def sign_in(self, device=None, name=""):
        """The explicit button, with `name` typed or none. `device` (default: the
        person's own) answers again from here on; the autofill request made while it did
        not is still waiting there, and the page must withdraw it first."""
        (device or self.device).set_presence(True)
        self.page.locator("#signin-name").fill(name)
        self.page.get_by_role("button", name="Sign in with a passkey").click()

    def autofill_waiting(self, navigate):
        """Runs `navigate`, which leads to the sign-in page, and returns once that page's
        autofill request has its options and has had time to reach the devices."""
        with self.page.expect_response(lambda r: r.url.endswith("/auth/login/options")):
            navigate()
        expect(self.page).to_have_title("Sign in · edge-chat")
        self.page.wait_for_timeout(AUTOFILL_SETTLE_MS)

    def open_sign_in(self, path):
        """Opens `path` while signed out: the sign-in page, with `next` set to it."""
        self.autofill_waiting(lambda: self.open(path))
        self.at(f"/?next={quote(path, safe='')}")

    def sign_out(self, *devices):
        """Signs out with automatic presence off on the person's devices, so that sign-in
        pages wait for the person as with a real device (see the module's docstring)."""
        for device in (self.device, *devices):
            device.set_presence(False)
        # A page reached by a redirect may still be loading its modules, which wire the
        # button: a click before then does nothing.
        self.page.wait_for_load_state()
        self.autofill_waiting(self.page.get_by_role("button", name="sign out").click)
        self.at("/")

    def me(self):
        """GET /auth/me with this browser's cookies: (status, body)."""
        r = self.page.request.get(self.base + "/auth/me")
        return r.status, (r.json() if r.ok else None)

    def assert_fits(self):
        """Nothing wider than the viewport (no sideways scrolling on a phone)."""
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= self.page.viewport_size["width"], width


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def people(browser, passkey_stack):
    """people() is a new person with an empty device; all are checked for script errors
    and CSP refusals, and closed, after the test."""
    opened = []

    def person():
        opened.append(Person(browser, passkey_stack))
        return opened[-1]

    yield person
    for p in opened:
        p.close()
    for p in opened:
        p.assert_clean()


# ------------------------------------------------------------------ sign-up, sign-in

def test_a_new_user_signs_up_with_a_passkey_and_posts(people):
    ann = people()
    ann.open("/")
    expect(ann.page).to_have_title("Sign in · edge-chat")
    name_field = ann.page.locator("#signin-name")
    expect(name_field).to_be_focused()
    expect(name_field).to_have_attribute("autocomplete", "username webauthn")
    screenshot(ann.page, "sign-in.png")

    # Signing in with a device that holds no passkey for the site: told so, in place.
    ann.sign_in()
    expect(ann.error()).to_contain_text("No passkey was used")
    expect(ann.error()).to_have_attribute("role", "alert")
    expect(name_field).to_be_focused()

    name = random_name("ann")
    ann.sign_up(name)
    ann.at("/lobby")  # no `next`: on to the default room
    expect(ann.page.locator("#me")).to_have_text(name)
    ann.wait_live()
    [passkey] = ann.device.credentials()
    assert passkey["isResidentCredential"] and passkey["rpId"] == "localhost", passkey
    assert passkey["userName"] == name, passkey
    status, me = ann.me()
    assert status == 200 and me["name"] == name, me
    assert [p["id"] for p in me["passkeys"]] == [web_id(passkey)], (me, passkey)

    text = f"hello from a passkey {uuid.uuid4().hex[:6]}"
    ann.send(text)
    expect(ann.message(text)).to_have_count(1)
    expect(ann.message(text)).to_have_class(re.compile(r"\bown\b"))
    expect(ann.message(text).locator(".from")).to_have_text(name)
    expect(ann.page.locator("#send-error")).to_have_text("")

    # The front door, signed in, picks a room.
    ann.page.get_by_role("link", name="join another room").click()
    ann.at("/")
    expect(ann.page.locator("#me")).to_have_text(name)
    room = random_room("pk")
    ann.page.get_by_label("Room").fill(room)
    ann.page.get_by_label("Room").press("Enter")
    ann.at(f"/{room}")
    ann.wait_live()


def test_sign_out_then_sign_in_with_no_name_typed(people):
    bob = people()
    bob.open("/")
    name = random_name("bob")
    bob.sign_up(name)
    bob.at("/lobby")
    expect(bob.page.locator("#me")).to_have_text(name)

    bob.sign_out()
    assert bob.me()[0] == 401
    bob.open_sign_in("/lobby")  # signed out for the pages too

    verifies = []
    bob.page.on("request", lambda r: verifies.append(r) if "/auth/login/verify" in r.url else None)
    bob.sign_in()
    bob.at("/lobby")
    expect(bob.page.locator("#me")).to_have_text(name)
    assert len(verifies) == 1, verifies  # the button's request, not also the autofill one
    [passkey] = bob.device.credentials()
    assert passkey["signCount"] == 2, passkey  # registration, then this one sign-in
    assert bob.me()[1]["name"] == name


def test_autofill_signs_in_and_an_ended_session_comes_back_through_it(people):
    """Observed: Chromium's virtual authenticator answers the page's conditional
    (autofill) request by itself when it holds a passkey for the site, so loading the
    sign-in page is enough to sign in and go on to `next`."""
    cy = people()
    room = random_room("pk")
    cy.open(f"/{room}")
    name = random_name("cy")
    cy.sign_up(name)
    cy.at(f"/{room}")
    cy.wait_live()

    # The session ends behind the page's back (here its cookie is dropped): the next post
    # is refused with 401, the page goes through sign-in, and autofill brings it back.
    visited = []
    cy.page.on("framenavigated", lambda f: visited.append(f.url) if f == cy.page.main_frame else None)
    cy.context.clear_cookies()
    with cy.page.expect_response(lambda r: "/auth/login/verify" in r.url) as verified:
        cy.send("after my session ended")
    assert verified.value.ok, verified.value
    cy.at(f"/{room}")
    assert visited == [f"{cy.base}/?next=%2F{room}", f"{cy.base}/{room}"], visited
    expect(cy.page.locator("#me")).to_have_text(name)
    cy.wait_live()
    expect(cy.message("after my session ended")).to_have_count(0)
    cy.send("signed in again")
    expect(cy.message("signed in again")).to_have_count(1)


def test_two_signed_in_users_chat_live(people):
    room = random_room("pk")
    ann, bob = people(), people()
    ann_name, bob_name = random_name("ann"), random_name("bob")
    ann.open(f"/{room}")
    ann.sign_up(ann_name)
    ann.at(f"/{room}")

    bob.open(f"/{room}")
    bob.sign_up(ann_name)  # taken: said so, and the name can be changed at once
    expect(bob.error()).to_contain_text("taken")
    expect(bob.page.locator("#signup-name")).to_be_focused()
    assert bob.device.credentials() == []
    bob.sign_up(bob_name)
    bob.at(f"/{room}")
    expect(bob.error()).to_be_hidden()

    ann.wait_live()
    bob.wait_live()
    ann.send("Hi Bob, signed in?")
    expect(bob.message("Hi Bob, signed in?")).to_have_count(1, timeout=3000)
    bob.send("Yes, with a passkey.")
    expect(ann.message("Yes, with a passkey.")).to_have_count(1, timeout=3000)
    for tab, me, other in ((ann, ann_name, bob_name), (bob, bob_name, ann_name)):
        expect(tab.log_items()).to_have_count(2)
        assert [m[1] for m in tab.messages()] == [ann_name, bob_name]
        expect(tab.page.locator("#log > li.msg.own .from")).to_have_text(me)
        expect(tab.page.locator("#log > li.msg:not(.own) .from")).to_have_text(other)
    screenshot(bob.page, "chat-signed-in.png")


def test_an_anonymous_visit_to_a_room_signs_in_and_comes_back(people, passkey_stack):
    room, later = random_room("pk"), random_room("pk")
    r = get(passkey_stack.url, f"/{room}", headers=HTML_ACCEPT)
    assert r.status == 303 and r.headers["Location"] == f"/?next=%2F{room}", r

    dora = people()
    dora.open_sign_in(f"/{room}")
    name = random_name("dora")
    # The keyboard alone: the sign-up form submits with Enter.
    dora.page.locator("#signup-name").fill(name)
    dora.page.locator("#signup-name").press("Enter")
    dora.at(f"/{room}")
    expect(dora.page.locator("#me")).to_have_text(name)

    dora.sign_out()
    dora.open_sign_in(f"/{later}")
    dora.sign_in(name=name)  # typed this time: the options name her passkeys
    dora.at(f"/{later}")
    expect(dora.page.locator("#me")).to_have_text(name)
    dora.wait_live()


def test_the_sign_in_page_on_a_phone(people):
    eve = people()
    eve.page.set_viewport_size(PHONE)
    eve.open("/?next=%2Fsomewhere")
    eve.assert_fits()
    screenshot(eve.page, "sign-in-phone.png")
    # Keyboard order: name for sign-in, its button, name for sign-up, its button.
    order = []
    for _ in range(4):
        order.append(eve.page.evaluate("document.activeElement.id || document.activeElement.textContent"))
        eve.page.keyboard.press("Tab")
    assert order == ["signin-name", "Sign in with a passkey", "signup-name",
                     "Create account with a passkey"], order
    eve.sign_up("   ")  # the browser's own check: a name needs a visible character
    expect(eve.error()).to_be_hidden()
    eve.sign_up(random_name("eve"))
    eve.at("/somewhere")
    eve.assert_fits()
    screenshot(eve.page, "chat-phone.png")


def test_an_ip_address_is_explained(people, passkey_stack):
    """Opened at 127.0.0.1, the RP ID (localhost) does not match: said at once, since the
    autofill request fails the same way, and again on trying."""
    ivy = people()
    ivy.goto(f"{passkey_stack.url}/")
    expect(ivy.error()).to_contain_text("open this site by its name, not its IP address")
    ivy.error().evaluate("e => { e.textContent = ''; }")
    ivy.sign_up(random_name("ivy"))
    expect(ivy.error()).to_contain_text("open this site by its name, not its IP address")
    assert ivy.device.credentials() == []


# ------------------------------------------------------------------ account page

def test_account_page_passkeys_and_api_keys(people, passkey_stack):
    fay = people()
    fay.page.on("dialog", lambda dialog: dialog.accept())  # confirm() before removing
    fay.open("/account")
    fay.at("/?next=%2Faccount")
    name = random_name("fay")
    fay.sign_up(name)
    fay.at("/account")
    expect(fay.page.locator("h1")).to_have_text("Your account")
    expect(fay.page.locator("#me")).to_have_text(name)
    passkeys = fay.page.locator("#passkeys > li")
    expect(passkeys).to_have_count(1)
    expect(passkeys.get_by_role("button")).to_have_count(0)  # the only one stays

    # The same device again: it already holds one (excludeCredentials), and says so.
    add = fay.page.get_by_role("button", name="Add a passkey")
    add.click()
    expect(fay.error()).to_contain_text("already holds a passkey")
    expect(passkeys).to_have_count(1)

    # A second device: a security key. The phone waits for a touch that does not come
    # (it would refuse, holding an excluded passkey), so the key answers.
    security_key = VirtualAuthenticator(fay, cdp=fay.device.cdp, transport="usb")
    fay.device.set_presence(False)
    add.click()
    expect(passkeys).to_have_count(2)
    expect(fay.error()).to_be_hidden()
    held = fay.device.credentials() + security_key.credentials()
    assert len(held) == 2 and all(c["isResidentCredential"] for c in held), held
    listed = [p["id"] for p in fay.me()[1]["passkeys"]]
    assert listed == [web_id(c) for c in held], (listed, held)

    # Signed in again with the key alone; then the phone's passkey is removed.
    fay.sign_out(security_key)
    fay.open_sign_in("/account")
    fay.sign_in(security_key)
    fay.at("/account")
    expect(passkeys.nth(1)).not_to_contain_text("last used never")
    fay.page.get_by_role("button", name="Remove passkey 1").click()
    expect(passkeys).to_have_count(1)
    expect(passkeys.get_by_role("button")).to_have_count(0)
    assert [p["id"] for p in fay.me()[1]["passkeys"]] == [web_id(security_key.credentials()[0])]

    # An API key: shown once, works as Bearer, revoked.
    fay.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=fay.base)
    fay.page.get_by_label("New key's name").fill("ci bot")
    fay.page.get_by_role("button", name="Create key").click()
    secret = fay.page.locator("#new-key-secret")
    expect(secret).to_be_visible()
    api_key = secret.inner_text()
    assert len(api_key) >= 32, api_key
    copy = fay.page.locator("#copy-key")
    expect(copy).to_have_text("Copy")
    expect(copy).to_be_focused()
    copy.click()
    expect(copy).to_have_text("Copied")
    assert fay.page.evaluate("navigator.clipboard.readText()") == api_key
    keys = fay.page.locator("#api-keys > li")
    expect(keys).to_have_count(1)
    expect(keys).to_contain_text("ci bot")
    assert api_key not in keys.inner_text()
    # The name field is empty for the next key, and not marked as wrongly so.
    expect(fay.page.get_by_label("New key's name")).to_have_value("")
    assert not fay.page.get_by_label("New key's name").evaluate("e => e.matches(':user-invalid')")
    screenshot(fay.page, "account.png")

    room = random_room("pk")
    path = f"/rooms/{room}/messages/"
    assert get(passkey_stack.url, path).status == 401
    bearer = {"Authorization": f"Bearer {api_key}"}
    r = get(passkey_stack.url, path, headers=bearer)
    assert r.status == 200 and r.json()["messages"] == [], r

    fay.page.reload()
    expect(keys).to_have_count(1)
    expect(secret).to_be_hidden()  # shown once
    expect(secret).to_have_text("")
    fay.page.get_by_role("button", name="Revoke key ci bot").click()
    expect(keys).to_have_count(0)
    assert get(passkey_stack.url, path, headers=bearer).status == 401

    fay.page.set_viewport_size(PHONE)
    fay.assert_fits()
    screenshot(fay.page, "account-phone.png")


# ------------------------------------------------------------------ no WebAuthn JSON

NO_JSON_PARSE = "delete PublicKeyCredential.parseCreationOptionsFromJSON;"


def test_a_browser_without_the_json_methods_is_told(people):
    gil = people()
    gil.context.add_init_script(NO_JSON_PARSE)  # before the page's own scripts
    gil.open("/")
    expect(gil.error()).to_be_visible()
    expect(gil.error()).to_contain_text("cannot use passkeys")
    for button in ("Sign in with a passkey", "Create account with a passkey"):
        expect(gil.page.get_by_role("button", name=button)).to_be_disabled()
    gil.page.locator("#signup-name").fill("gil")
    gil.page.locator("#signup-name").press("Enter")
    gil.at("/")  # nothing was submitted
    assert gil.device.credentials() == []


def test_the_account_page_without_the_json_methods_still_manages_keys(people):
    hal = people()
    hal.open("/")
    hal.sign_up(random_name("hal"))
    hal.at("/lobby")
    hal.context.add_init_script(NO_JSON_PARSE)
    hal.open("/account")
    expect(hal.error()).to_contain_text("cannot use passkeys")
    expect(hal.page.get_by_role("button", name="Add a passkey")).to_be_disabled()
    expect(hal.page.locator("#passkeys > li")).to_have_count(1)
    hal.page.get_by_label("New key's name").fill("script")
    hal.page.get_by_role("button", name="Create key").click()
    expect(hal.page.locator("#api-keys > li")).to_have_count(1)
    expect(hal.error()).to_contain_text("cannot use passkeys")  # still said
    expect(hal.page.get_by_role("button", name="Add a passkey")).to_be_disabled()
