"""RS256 and EdDSA passkeys made and used by Chromium itself (issue 18 item 4), through the
sign-up and sign-in pages, with the CDP virtual authenticator as the device.

Chromium's virtual authenticator (ctap2) can create ES256, EdDSA and RS256 credentials and,
like a real one, uses the first algorithm of `pubKeyCredParams` it supports; the CDP has no
option to take algorithms away from it. So to get an RS256 (or EdDSA) passkey out of it,
the test narrows the offered list in the sign-up options as the page receives them (a
Playwright route on /auth/register/options), the browser-side stand-in for an authenticator
that supports only that algorithm. Everything else is the real page, the real service and
Chromium's own key, attestation and signatures; the test then checks the credential's key
type from the authenticator's PKCS#8 private key and signs in with it.
"""

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_private_key
from playwright.sync_api import expect

from browser_helpers import web_id
from test_browser_auth import browser, people, random_name  # noqa: F401

KINDS = {"RS256": (-257, rsa.RSAPrivateKey), "EdDSA": (-8, ed25519.Ed25519PrivateKey)}


def offer_only(person, alg):
    """The sign-up options the page gets offer `alg` alone."""
    def narrow(route):
        response = route.fetch()
        options = response.json()
        offered = [p["alg"] for p in options["pubKeyCredParams"]]
        assert offered == [-7, -8, -257], offered
        options["pubKeyCredParams"] = [{"type": "public-key", "alg": alg}]
        route.fulfill(response=response, body=json.dumps(options))

    person.page.route("**/auth/register/options", narrow)


@pytest.mark.parametrize("kind", KINDS)
def test_chromium_signs_up_and_in_with_a_passkey_of_each_algorithm(people, kind):
    alg, key_type = KINDS[kind]
    dee = people()
    offer_only(dee, alg)
    dee.open("/")
    name = random_name(kind.lower())
    with dee.page.expect_response(lambda r: r.url.endswith("/auth/register/verify")) as made:
        dee.sign_up(name)
    assert made.value.status == 200, made.value.text()
    sent = json.loads(made.value.request.post_data)
    assert sent["response"]["publicKeyAlgorithm"] == alg, sent
    dee.at("/lobby")
    expect(dee.page.locator("#me")).to_have_text(name)
    [passkey] = dee.device.credentials()
    private_key = load_der_private_key(base64.b64decode(passkey["privateKey"]), None)
    assert isinstance(private_key, key_type), type(private_key)
    assert [p["id"] for p in dee.me()[1]["passkeys"]] == [web_id(passkey)]

    dee.sign_out()
    assert dee.me()[0] == 401
    dee.open_sign_in("/lobby")
    with dee.page.expect_response(lambda r: r.url.endswith("/auth/login/verify")) as used:
        dee.sign_in()
    assert used.value.status == 200, used.value.text()
    dee.at("/lobby")
    expect(dee.page.locator("#me")).to_have_text(name)
    [passkey] = dee.device.credentials()
    assert passkey["signCount"] == 2, passkey


DEFAULT_ALGORITHMS_WARNING = "pubKeyCredParams is missing at least one of the default algorithm"


def test_sign_up_offers_chromiums_default_algorithms(people):
    """The console warning quoted in issue 18 ("... missing at least one of the default
    algorithm identifiers: ES256 and RS256 ...") is gone from a plain sign-up; offering
    RS256 alone, as above, still brings it (so this test would see it)."""
    plain, narrowed = people(), people()
    offer_only(narrowed, -257)
    for person in (plain, narrowed):
        person.open("/")
        person.sign_up(random_name("warn"))
        person.at("/lobby")
    assert not [m for m in plain.console if DEFAULT_ALGORITHMS_WARNING in m], plain.console
    assert [m for m in narrowed.console if DEFAULT_ALGORITHMS_WARNING in m], narrowed.console
