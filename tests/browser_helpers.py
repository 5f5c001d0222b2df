"""Driving the Debian Chromium (/usr/bin/chromium) with Python Playwright, for
test_browser.py. No browser is ever downloaded: Playwright is only the client library.

Pages are checked with locators and `expect` (which poll inside Playwright's own script):
the pages' CSP has no 'unsafe-eval', so `page.wait_for_function("...")` would be refused.
"""

import base64
import os
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic",
]
VIEWPORT = {"width": 1000, "height": 700}

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "target" / "screenshots"
# The committed copy the README shows; rewritten only when asked, so that running the
# tests leaves the work tree clean.
README_SCREENSHOT = ROOT / "tests" / "screenshots" / "chat.png"
UPDATE_SCREENSHOTS = os.environ.get("EDGE_CHAT_UPDATE_SCREENSHOTS") == "1"


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class Tab:
    """One page in its own browser context (own localStorage), with the console and
    page errors it produced, so tests can assert that nothing was refused or thrown."""

    def __init__(self, browser, **context_options):
        self.context = browser.new_context(viewport=VIEWPORT, **context_options)
        self.page = self.context.new_page()
        self.console = []
        self.errors = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def close(self):
        self.context.close()

    def goto(self, url):
        resp = self.page.goto(url)
        assert resp is not None and resp.status == 200, resp
        return resp

    # ------------------------------------------------------------ chat page

    def status(self):
        return self.page.locator("#status")

    def wait_live(self, timeout=10_000):
        expect(self.status()).to_have_attribute("data-state", "live", timeout=timeout)

    def log_items(self):
        return self.page.locator("#log > li.msg")

    def messages(self):
        """[(id, from, text)] as shown, top to bottom."""
        return [(int(li.get_attribute("data-id")),
                 li.locator(".from").inner_text(),
                 li.locator(".text").inner_text())
                for li in self.log_items().all()]

    def message(self, text):
        """The message elements whose text is exactly `text`."""
        return self.page.locator("#log > li.msg", has=self.page.locator(
            ".text", has_text=text))

    def send(self, text):
        box = self.page.locator("#text")
        box.fill(text)
        box.press("Enter")

    def csp_violations(self):
        return [line for line in self.console if "Content Security Policy" in line]

    def assert_clean(self):
        """No script errors and nothing refused by the CSP."""
        assert self.errors == [], self.errors
        assert self.csp_violations() == [], self.console


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    return path


# ------------------------------------------------------------ passkeys (test_browser_auth.py)

@contextmanager
def chromium():
    """The browser for a test module, closed afterwards."""
    with sync_playwright() as p:
        browser = launch(p)
        try:
            yield browser
        finally:
            browser.close()


# A platform authenticator that holds discoverable credentials, verifies its user and is
# touched at once: what the sign-in pages expect of a phone or laptop.
AUTHENTICATOR = {
    "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
    "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True,
}


class VirtualAuthenticator:
    """Chromium's CDP virtual authenticator in one tab (it stays through navigations):
    the device whose passkeys that tab's WebAuthn calls create and use."""

    def __init__(self, tab, cdp=None, **options):
        """`cdp`: the session of another authenticator in the same tab, for a second."""
        self.cdp = cdp
        if cdp is None:
            self.cdp = tab.context.new_cdp_session(tab.page)
            self.cdp.send("WebAuthn.enable", {"enableUI": False})
        self.id = self.cdp.send("WebAuthn.addVirtualAuthenticator",
                                {"options": {**AUTHENTICATOR, **options}})["authenticatorId"]

    def _send(self, method, **params):
        return self.cdp.send(f"WebAuthn.{method}", {"authenticatorId": self.id, **params})

    def credentials(self):
        """The passkeys it holds; `credentialId` is standard base64."""
        return self._send("getCredentials")["credentials"]

    def remove_credential(self, credential_id):
        self._send("removeCredential", credentialId=credential_id)

    def add_credential(self, credential):
        self._send("addCredential", credential=credential)

    def set_presence(self, automatic):
        """Off, a request waits for a touch that never comes: as a pending autofill
        request (conditional mediation) does until the person picks a passkey."""
        self._send("setAutomaticPresenceSimulation", enabled=automatic)


def web_id(credential):
    """A virtual authenticator credential's id as the service names it (base64url)."""
    raw = base64.b64decode(credential["credentialId"])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
