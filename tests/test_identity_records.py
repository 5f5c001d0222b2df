"""Records you can trust (issue 18 item 5): a passkey or API key works only while its own
record exists and its owner's record lists it; removal deletes the record first and unlists
it second; a failed sign-up never frees a name while its credential could sign in.

Each test breaks one KV step with the local-only fault switch (`kv_fault_header`: the
header's value names the operations to fail, e.g. `delete:cred:`) and shows that nothing
usable is left behind: whatever works is listed (so it can be seen and revoked), and
whatever is not listed does not work.
"""

import pytest

from auth_helpers import UNUSABLE, Browser, assert_error, bearer, random_name, signed_up
from conftest import _start, _stop
from helpers import request
from softauthn import SoftAuthenticator

FAULT_HEADER = "Edge-Chat-Test-Kv-Fault"


def failing(rules):
    return {FAULT_HEADER: rules}


@pytest.fixture(scope="module")
def faulty_stack():
    s = _start(config={"auth_mode": "passkey", "kv_fault_header": FAULT_HEADER})
    yield s
    _stop(s)


def key_works(stack, key):
    return request(stack.url, "GET", "/auth/me", headers=bearer(key)).status == 200


def listed_keys(browser):
    return [k["id"] for k in browser.get("/auth/api-keys").json()["api_keys"]]


def assert_unavailable(r):
    assert_error(r, 503)


def test_the_switch_is_a_no_op_without_the_header_and_unknown_elsewhere(faulty_stack,
                                                                          passkey_stack):
    ann = signed_up(faulty_stack)
    assert_unavailable(ann.post("/auth/api-keys", {"name": "k"}, headers=failing("add:apikey:")))
    assert listed_keys(ann) == []
    assert ann.post("/auth/api-keys", {"name": "k"}).status == 201
    # A stack without `kv_fault_header` ignores the header.
    bob = signed_up(passkey_stack)
    r = bob.post("/auth/api-keys", {"name": "k"}, headers=failing("add:apikey:"))
    assert r.status == 201, r


def test_a_key_whose_record_delete_fails_stays_listed_and_revocable(faulty_stack):
    ann = signed_up(faulty_stack)
    key = ann.create_api_key()
    assert_unavailable(ann.delete(f"/auth/api-keys/{key['id']}",
                                  headers=failing("delete:apikey:")))
    # It still works, so it is still listed, and revoking it again finishes the job.
    assert key_works(faulty_stack, key["key"])
    assert listed_keys(ann) == [key["id"]]
    assert ann.delete(f"/auth/api-keys/{key['id']}").status == 204
    assert not key_works(faulty_stack, key["key"])
    assert listed_keys(ann) == []


def test_a_key_whose_unlisting_fails_is_dead_at_once_and_can_be_removed_again(faulty_stack):
    ann = signed_up(faulty_stack)
    key = ann.create_api_key()
    assert_unavailable(ann.delete(f"/auth/api-keys/{key['id']}",
                                  headers=failing("replace:user:")))
    assert not key_works(faulty_stack, key["key"])
    assert listed_keys(ann) == [key["id"]]
    assert ann.delete(f"/auth/api-keys/{key['id']}").status == 204
    assert listed_keys(ann) == []


def test_a_key_whose_listing_fails_is_not_kept(faulty_stack):
    ann = signed_up(faulty_stack)
    assert_unavailable(ann.post("/auth/api-keys", {"name": "k"}, headers=failing("replace:user:")))
    assert listed_keys(ann) == []


def add_phone(browser):
    phone = SoftAuthenticator(browser.origin)
    assert browser.add_passkey(phone).status == 200
    return phone, browser.passkey_ids()[-1]


def test_a_passkey_whose_record_delete_fails_stays_listed_and_usable(faulty_stack):
    ann = signed_up(faulty_stack)
    phone, phone_id = add_phone(ann)
    assert_unavailable(ann.delete(f"/auth/passkeys/{phone_id}", headers=failing("delete:cred:")))
    assert phone_id in ann.passkey_ids()
    assert Browser(faulty_stack, phone).sign_in().status == 200
    assert ann.delete(f"/auth/passkeys/{phone_id}").status == 204
    assert phone_id not in ann.passkey_ids()


def test_a_passkey_whose_unlisting_fails_cannot_sign_in(faulty_stack):
    ann = signed_up(faulty_stack)
    phone, phone_id = add_phone(ann)
    assert_unavailable(ann.delete(f"/auth/passkeys/{phone_id}", headers=failing("replace:user:")))
    body = assert_error(Browser(faulty_stack, phone).sign_in(), 400, "passkey_rejected")
    assert UNUSABLE in body["message"], body
    # Still listed, so it can be seen and removed again.
    assert phone_id in ann.passkey_ids()
    assert ann.delete(f"/auth/passkeys/{phone_id}").status == 204
    left = ann.passkey_ids()
    assert phone_id not in left and len(left) == 1
    assert ann.sign_in().status == 200


def failed_sign_up(stack, name, rules):
    browser = Browser(stack)
    r = browser.post("/auth/register/verify", browser.registration(name), headers=failing(rules))
    assert_unavailable(r)
    assert browser.cookie is None
    return browser


def test_a_failed_sign_up_frees_its_name_once_its_passkey_is_gone(faulty_stack):
    name = random_name()
    browser = failed_sign_up(faulty_stack, name, "add:user:")
    body = assert_error(browser.sign_in(), 400, "passkey_rejected")
    assert UNUSABLE in body["message"], body
    assert Browser(faulty_stack).post("/auth/register/options", {"name": name}).status == 200


def test_a_failed_sign_up_whose_passkey_record_stays_keeps_its_name_and_cannot_sign_in(
        faulty_stack):
    name = random_name()
    browser = failed_sign_up(faulty_stack, name, "add:user:,delete:cred:")
    # The credential's record outlived the failure, but no account lists it.
    body = assert_error(browser.sign_in(), 400, "passkey_rejected")
    assert UNUSABLE in body["message"], body
    # And the name is not free for someone else to take while it exists.
    r = Browser(faulty_stack).post("/auth/register/options", {"name": name})
    assert_error(r, 409, "conflict")
