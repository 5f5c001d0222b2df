"""Records you can trust (issue 18 item 5): a passkey or API key works only while its own
record exists and its owner's record lists it (not marked as being removed); removal marks
the entry, deletes the record, then unlists it; a failed sign-up never frees a name while its
credential could sign in.

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


# The three steps of a removal, each failed on its own: marking the entry (the first
# rewrite of the user's record), deleting the record, unlisting (the second rewrite).
STEPS = {"marking": "replace:user:@1", "the record's delete": "delete:{record}:",
         "unlisting": "replace:user:@2"}


def steps(record):
    return pytest.mark.parametrize("step", [v.format(record=record) for v in STEPS.values()],
                                   ids=list(STEPS))


@steps("apikey")
def test_a_key_revocation_failing_at_any_step_leaves_nothing_usable_unlisted(faulty_stack,
                                                                              step):
    ann = signed_up(faulty_stack)
    key = ann.create_api_key()
    assert_unavailable(ann.delete(f"/auth/api-keys/{key['id']}", headers=failing(step)))
    # Still listed; dead unless nothing happened at all (the marking failed).
    assert listed_keys(ann) == [key["id"]]
    assert key_works(faulty_stack, key["key"]) == (step == STEPS["marking"])
    # Revoking it again finishes the job.
    assert ann.delete(f"/auth/api-keys/{key['id']}").status == 204
    assert listed_keys(ann) == []
    assert not key_works(faulty_stack, key["key"])


def test_a_key_whose_listing_fails_is_not_kept(faulty_stack):
    ann = signed_up(faulty_stack)
    assert_unavailable(ann.post("/auth/api-keys", {"name": "k"}, headers=failing("replace:user:")))
    assert listed_keys(ann) == []


def add_phone(browser):
    phone = SoftAuthenticator(browser.origin)
    assert browser.add_passkey(phone).status == 200
    return phone, browser.passkey_ids()[-1]


def signs_in(stack, device):
    r = Browser(stack, device).sign_in()
    if r.status != 200:
        body = assert_error(r, 400, "passkey_rejected")
        assert UNUSABLE in body["message"], body
    return r.status == 200


@steps("cred")
def test_a_passkey_removal_failing_at_any_step_leaves_nothing_usable_unlisted(faulty_stack,
                                                                               step):
    ann = signed_up(faulty_stack)
    [first] = ann.passkey_ids()
    phone, phone_id = add_phone(ann)
    assert_unavailable(ann.delete(f"/auth/passkeys/{phone_id}", headers=failing(step)))
    assert ann.passkey_ids() == [first, phone_id]
    assert signs_in(faulty_stack, phone) == (step == STEPS["marking"])
    assert ann.delete(f"/auth/passkeys/{phone_id}").status == 204
    assert ann.passkey_ids() == [first]
    assert not signs_in(faulty_stack, phone)
    assert ann.sign_in().status == 200


def test_a_half_removed_passkey_is_not_one_to_keep(faulty_stack):
    # Two removals racing must not both pass "not your last passkey": a passkey being
    # removed already no longer counts as one left.
    ann = signed_up(faulty_stack)
    [first] = ann.passkey_ids()
    phone, phone_id = add_phone(ann)
    assert_unavailable(ann.delete(f"/auth/passkeys/{phone_id}", headers=failing("delete:cred:")))
    assert_error(ann.delete(f"/auth/passkeys/{first}"), 409, "conflict")
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
