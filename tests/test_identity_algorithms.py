"""The authenticators people own (issue 18 item 4): sign-up offers ES256, EdDSA and RS256,
and an authenticator that can do only one of them signs up, signs in (named and
discoverable), re-authenticates and adds a passkey; RSA keys too weak to trust are refused
with a 400 that says why, leaving the name free and nothing stored.

The authenticators are softauthn.py's, told which algorithms they support: each creates its
credential with the first offered algorithm it has, as a real one does.
"""

import pytest

from auth_helpers import Browser, assert_error, assert_name_free, random_name, signed_up
from softauthn import EDDSA, ES256, RS256, SoftAuthenticator, unb64url

ONLY = {"RS256": (RS256,), "EdDSA": (EDDSA,)}


def authenticator(stack, algorithms, **knobs):
    return SoftAuthenticator(f"http://localhost:{stack.port}", algorithms=algorithms, **knobs)


def cose_alg(registration: dict) -> int:
    """The algorithm of the COSE_Key inside the attestation object, read from its bytes:
    label 3 (0x03) followed by -7 (0x26), -8 (0x27) or -257 (0x39 0x01 0x00)."""
    auth_data = unb64url(registration["response"]["authenticatorData"])
    for alg, encoded in ((ES256, b"\x03\x26"), (EDDSA, b"\x03\x27"), (RS256, b"\x03\x39\x01\x00")):
        if encoded in auth_data[55:]:
            return alg
    raise AssertionError("no known algorithm in the credential public key")


def test_sign_up_offers_all_three_algorithms_in_order(passkey_stack):
    options = Browser(passkey_stack).options("/auth/register/options", {"name": random_name()})
    assert options["pubKeyCredParams"] == [
        {"type": "public-key", "alg": ES256},
        {"type": "public-key", "alg": EDDSA},
        {"type": "public-key", "alg": RS256},
    ]
    # An authenticator that has them all keeps making ES256 passkeys, as before issue 18.
    everything = authenticator(passkey_stack, (RS256, EDDSA, ES256))
    assert cose_alg(everything.register(options)) == ES256


@pytest.mark.parametrize("kind", ONLY)
def test_a_single_algorithm_authenticator_does_everything(passkey_stack, kind):
    algorithms = ONLY[kind]
    browser = Browser(passkey_stack, authenticator(passkey_stack, algorithms))
    name = random_name(kind.lower())
    registration = browser.registration(name)
    assert cose_alg(registration) == algorithms[0]
    assert registration["response"]["publicKeyAlgorithm"] == algorithms[0]
    r = browser.finish_sign_up(registration)
    assert r.status == 200, r
    assert browser.user["name"] == name
    [passkey] = browser.passkey_ids()

    # Sign out, then sign in by name and discoverably.
    assert browser.sign_out().status in (200, 204)
    assert browser.me().status == 401
    r = browser.sign_in(name)
    assert r.status == 200, r
    assert browser.sign_out().status in (200, 204)
    r = browser.sign_in()
    assert r.status == 200, r
    assert browser.user["name"] == name

    # Re-authentication (step-up) with the same passkey.
    options = browser.options("/auth/reauth/options")
    assert [c["id"] for c in options["allowCredentials"]] == [passkey]
    r = browser.post("/auth/reauth/verify", browser.authenticator.assert_(options))
    assert r.status == 200, r

    # A second passkey on another authenticator of the same kind, which then signs in.
    other = authenticator(passkey_stack, algorithms)
    r = browser.add_passkey(other)
    assert r.status == 200, r
    both = browser.passkey_ids()
    assert len(both) == 2 and both[0] == passkey
    second = Browser(passkey_stack, other)
    r = second.sign_in()
    assert r.status == 200, r
    assert second.user == browser.user

    # A tampered signature from this authenticator is refused, and nothing changes.
    r = Browser(passkey_stack, browser.authenticator).sign_in(name, bad_signature=True)
    assert_error(r, 400, "passkey_rejected")
    assert browser.passkey_ids() == both


@pytest.mark.parametrize("knobs, says", [
    ({"rsa_bits": 1024}, "1024-bit RSA key"),
    ({"rsa_exponent": 3}, "exponent other than 65537"),
])
def test_weak_rsa_keys_are_refused(passkey_stack, knobs, says):
    name = random_name("weak")
    browser = Browser(passkey_stack, authenticator(passkey_stack, (RS256,), **knobs))
    body = assert_error(browser.sign_up(name), 400, "passkey_rejected")
    assert says in body["message"] and "RS256" in body["message"], body
    assert browser.cookie is None
    assert_name_free(passkey_stack, name)


def test_weak_rsa_passkey_cannot_be_added(passkey_stack):
    ann = signed_up(passkey_stack)
    before = ann.passkey_ids()
    weak = authenticator(passkey_stack, (RS256,), rsa_bits=1024)
    body = assert_error(ann.add_passkey(weak), 400, "passkey_rejected")
    assert "1024-bit RSA key" in body["message"], body
    assert ann.passkey_ids() == before

