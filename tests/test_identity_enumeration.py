"""Nothing to enumerate (issue 18 item 7), on the shared passkey stack.

`login/options {"name"}` answers a name nobody has as it answers a real account: the same
JSON shape, made-up credential ids of the same count and size (HMAC of the name under the
server's key, so stable across calls), and the same KV cost in `Server-Timing`. And
`login/verify` refuses every passkey that cannot sign in (unknown, someone else's, removed,
a made-up one, a bad signature) with one and the same error.
"""

import base64

from auth_helpers import (UNUSABLE, Browser, ann, assert_error, bob, kv_ops,  # noqa: F401
                          random_name, signed_up)
from softauthn import SoftAuthenticator

OPTIONS = "/auth/login/options"


def raw_len(b64):
    return len(base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)))


def named_options(stack, name):
    """(the options JSON, its KV operation count) of a named sign-in start."""
    r = Browser(stack).post(OPTIONS, {"name": name})
    assert r.status == 200, r
    return r.json(), kv_ops(r)


def shape(options):
    """Everything about sign-in options but the values that differ on every call."""
    return {key: (type(value).__name__ if key == "challenge" else value)
            for key, value in options.items() if key != "allowCredentials"}


def test_an_unknown_name_is_answered_like_a_real_account(passkey_stack, ann):
    real, real_cost = named_options(passkey_stack, ann.name)
    nobody = random_name()
    made_up, made_up_cost = named_options(passkey_stack, nobody)
    assert shape(made_up) == shape(real)
    assert made_up_cost == real_cost
    real_ids = [c["id"] for c in real["allowCredentials"]]
    made_up_ids = [c["id"] for c in made_up["allowCredentials"]]
    assert len(made_up_ids) == len(real_ids) == 1
    assert [raw_len(i) for i in made_up_ids] == [raw_len(i) for i in real_ids]
    assert [set(c) for c in made_up["allowCredentials"]] == [set(c) for c in real["allowCredentials"]]
    assert {c["type"] for c in made_up["allowCredentials"]} == {"public-key"}
    # Stable, as a real account's are: asking again (in any ASCII case) shows the same ids.
    again, _ = named_options(passkey_stack, nobody.upper())
    assert [c["id"] for c in again["allowCredentials"]] == made_up_ids
    # Another unknown name gets other ids; nobody gets a real account's.
    other, _ = named_options(passkey_stack, random_name())
    assert [c["id"] for c in other["allowCredentials"]] != made_up_ids
    assert not set(made_up_ids) & set(real_ids)


def test_the_made_up_passkeys_of_an_unknown_name_sign_nobody_in(passkey_stack, ann):
    stranger, nobody = Browser(passkey_stack), random_name()

    def options():
        return stranger.options(OPTIONS, {"name": nobody})

    # An authenticator holding none of the ids, and Ann's, which ignores the allow list.
    refused = [
        stranger.finish_sign_in(stranger.authenticator.assert_(options(), unknown_credential=True)),
        stranger.finish_sign_in(ann.authenticator.assert_({**options(), "allowCredentials": []})),
    ]
    for r in refused:
        body = assert_error(r, 400, "passkey_rejected")
        assert UNUSABLE in body["message"], body
    assert stranger.cookie is None
    assert ann.sign_in().status == 200


def test_every_unusable_passkey_gets_the_same_refusal(passkey_stack, ann, bob):
    # Ann's second passkey, removed again.
    phone = SoftAuthenticator(ann.origin)
    assert ann.add_passkey(phone).status == 200
    removed_id = ann.passkey_ids()[-1]
    assert ann.delete(f"/auth/passkeys/{removed_id}").status == 204

    def refusal(browser, **knobs):
        r = browser.sign_in(**knobs)
        return assert_error(r, 400, "passkey_rejected")

    def named_by_ann(browser):
        """Bob's passkey answering a sign-in started for Ann's name."""
        options = browser.options(OPTIONS, {"name": ann.name})
        response = bob.authenticator.assert_({**options, "allowCredentials": []})
        return assert_error(browser.finish_sign_in(response), 400, "passkey_rejected")

    stranger = Browser(passkey_stack)
    bodies = {
        "unknown": refusal(stranger, unknown_credential=True),
        "removed": refusal(Browser(passkey_stack, phone)),
        "someone else's": named_by_ann(stranger),
        "a bad signature": refusal(Browser(passkey_stack, ann.authenticator), bad_signature=True),
        "another account's handle": refusal(Browser(passkey_stack, bob.authenticator),
                                            user_handle=ann.authenticator.credentials[0].user_handle),
    }
    assert len({(b["error"], b["message"]) for b in bodies.values()}) == 1, bodies
    assert UNUSABLE in bodies["unknown"]["message"]
    assert ann.sign_in().status == 200 and bob.sign_in().status == 200


def test_a_name_no_one_can_have_gets_the_discoverable_options(passkey_stack):
    options = Browser(passkey_stack).options(OPTIONS, {"name": "x" * 1000})
    assert options["allowCredentials"] == []
