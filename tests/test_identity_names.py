"""Names nobody can imitate (issue 18 item 3).

Account names (and open mode's nicknames) are stored in NFC, refuse characters that hide
or fake text, and are unique by a key (case-folded NFKC, then the UTS #39 confusables
skeleton): a look-alike of a taken name is 409 like the name itself, and so is any
spelling of a reserved name. Names are random per test: the stacks are shared.
"""

import uuid

import pytest

from auth_helpers import Browser, assert_error, assert_name_free, signed_up
from helpers import post_json, post_ok, random_room

CYRILLIC = str.maketrans("aeo", "\u0430\u0435\u043e")
FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in map(chr, range(0x21, 0x7F))}

# One character of each refused class, and what it is.
REFUSED = {
    "\u200b": "format (zero width space)",
    "\u202e": "format (right-to-left override)",
    "\ue000": "private use",
    "\U000f0000": "private use (plane 15)",
    "\u0378": "unassigned",
    "\ufe0f": "variation selector",
    "\U000e0100": "variation selector supplement",
    "\u2800": "braille pattern blank",
    "\u034f": "default ignorable (combining grapheme joiner)",
    "\u115f": "default ignorable (Hangul choseong filler)",
}


def letters(n=8):
    """Random lowercase letters outside the ones UTS #39 maps to others ("l", "m", "o")."""
    alphabet = "abcdefghjknpqrstuvwxyz"
    return "".join(alphabet[b % len(alphabet)] for b in uuid.uuid4().bytes[:n])


def ask_for(stack, name):
    return Browser(stack).post("/auth/register/options", {"name": name})


def test_each_look_alike_of_a_taken_name_is_409(passkey_stack):
    base = f"ann{letters()}"
    signed_up(passkey_stack, base)
    for look_alike in (
        base.upper(),
        base.capitalize(),
        base.translate(CYRILLIC),
        base + "\ufe0e",
        "".join(FULLWIDTH[c] for c in base),
        base.replace("n", "\u0578"),  # Armenian vo, the skeleton's "n"
    ):
        body = assert_error(ask_for(passkey_stack, look_alike), 409, "conflict")
        assert "taken" in body["message"], (look_alike, body)
    # A name that only looks similar is another name.
    assert_name_free(passkey_stack, base + "e")


def test_rn_is_m(passkey_stack):
    base = letters()
    signed_up(passkey_stack, f"{base}rn")
    assert_error(ask_for(passkey_stack, f"{base}m"), 409, "conflict")


def test_an_nfd_sign_up_is_stored_and_shown_in_nfc(passkey_stack):
    suffix = letters()
    nfd, nfc = f"Zoe\u0301{suffix}", f"Zo\u00e9{suffix}"
    zoe = signed_up(passkey_stack, nfd)
    assert zoe.user["name"] == nfc
    r = zoe.me()
    assert r.status == 200, r
    assert r.json()["name"] == nfc
    # Either spelling, in any case, is now taken, and signs in to this account.
    for other in (nfd, nfc, nfc.upper()):
        assert_error(ask_for(passkey_stack, other), 409, "conflict")
    again = Browser(passkey_stack, zoe.authenticator)
    assert again.sign_in(nfd).status == 200
    assert again.user == zoe.user


@pytest.mark.parametrize("spelling", [
    "admin", "Admin", "ＡＤＭＩＮ", "\u0430dmin", "adrnin", "Administrator", "MODERATOR",
    "Syst\u0435m", "r00t", "ROOT", "Support", "Edge-Chat", "edge\uff0dchat",
])
def test_reserved_names_are_refused_in_every_spelling(passkey_stack, spelling):
    body = assert_error(ask_for(passkey_stack, spelling), 409, "conflict")
    assert "reserved" in body["message"], body


def test_names_around_the_reserved_ones_are_free(passkey_stack):
    for name in (f"admin{letters()}", f"{letters()}root"):
        assert_name_free(passkey_stack, name)


@pytest.mark.parametrize("char", REFUSED, ids=REFUSED.values())
def test_each_refused_character_class_is_400(passkey_stack, char):
    name = f"{letters(4)}{char}{letters(4)}"
    body = assert_error(ask_for(passkey_stack, name), 400, "invalid_field", field="name")
    assert f"U+{ord(char):04X}" in body["message"], body


@pytest.mark.parametrize("char", REFUSED, ids=REFUSED.values())
def test_open_mode_nicknames_refuse_the_same_characters(stack, char):
    r = post_json(stack.url, f"/rooms/{random_room()}/messages/",
                  {"from": f"ann{char}", "text": "hi"})
    assert r.status == 400, r
    body = r.json()
    assert body["error"] == "invalid_field" and body["field"] == "from", body
    assert f"U+{ord(char):04X}" in body["message"], body


def test_open_mode_nicknames_are_stored_in_nfc(stack):
    message = post_ok(stack.url, random_room(), "Zoe\u0301", "hi", kind="json")
    assert message["from"] == "Zo\u00e9"
