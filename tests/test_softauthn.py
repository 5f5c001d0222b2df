"""Host-only checks of the software authenticator (softauthn.py): what it writes must read
back as valid WebAuthn, read here with a separate CBOR decoder and `cryptography`, so the
end-to-end tests' attacks fail at the service for the reason each one names and no other."""

import hashlib
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from softauthn import (AT, EDDSA, ES256, RS256, SoftAuthenticator, UP, UV, creation_options,
                       request_options, unb64url)

ORIGIN = "http://localhost:7676"
CREATION = creation_options(b"user-1", b"registration-challenge")
REQUEST = request_options(b"sign-in-challenge")


def cbor_decode(data: bytes):
    """Enough of RFC 8949 to read what an authenticator writes; returns (value, rest)."""
    initial, data = data[0], data[1:]
    major, info = initial >> 5, initial & 0x1F
    if info < 24:
        arg = info
    else:
        size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
        arg, data = int.from_bytes(data[:size], "big"), data[size:]
    if major == 0:
        return arg, data
    if major == 1:
        return -1 - arg, data
    if major in (2, 3):
        raw, data = data[:arg], data[arg:]
        return (raw if major == 2 else raw.decode()), data
    if major in (4, 5):
        items = []
        for _ in range(arg * (2 if major == 5 else 1)):
            item, data = cbor_decode(data)
            items.append(item)
        return (items if major == 4 else dict(zip(items[::2], items[1::2]))), data
    return {20: False, 21: True, 22: None}[info], data


def parse_auth_data(auth_data: bytes):
    out = {"rp_id_hash": auth_data[:32], "flags": auth_data[32],
           "count": int.from_bytes(auth_data[33:37], "big")}
    if out["flags"] & AT:
        n = int.from_bytes(auth_data[53:55], "big")
        out["aaguid"], out["id"] = auth_data[37:53], auth_data[55:55 + n]
        out["cose"], rest = cbor_decode(auth_data[55 + n:])
        assert rest == b""
    else:
        assert len(auth_data) == 37
    return out


def public_key(cose: dict):
    """The `cryptography` key of a COSE_Key, read independently of softauthn's writer."""
    if cose[1] == 1:
        assert (cose[3], cose[-1], len(cose[-2])) == (EDDSA, 6, 32) and len(cose) == 4
        return ed25519.Ed25519PublicKey.from_public_bytes(cose[-2])
    if cose[1] == 3:
        assert cose[3] == RS256 and len(cose) == 4
        n, e = int.from_bytes(cose[-1], "big"), int.from_bytes(cose[-2], "big")
        assert cose[-1][0] != 0 and cose[-2][0] != 0, "no leading zero bytes"
        return rsa.RSAPublicNumbers(e, n).public_key()
    assert (cose[1], cose[3], cose[-1]) == (2, ES256, 1)
    x, y = int.from_bytes(cose[-2], "big"), int.from_bytes(cose[-3], "big")
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def verifies(key, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def registered(auth=None, **knobs):
    auth = auth or SoftAuthenticator(ORIGIN)
    reg = json.loads(json.dumps(auth.register(CREATION, **knobs)))
    r = reg["response"]
    obj, rest = cbor_decode(unb64url(r["attestationObject"]))
    assert rest == b""
    return auth, reg, obj, parse_auth_data(obj["authData"])


def client_data(response):
    return json.loads(unb64url(response["response"]["clientDataJSON"]))


def test_registration_is_valid_webauthn():
    auth, reg, obj, data = registered()
    assert reg["id"] == reg["rawId"] and reg["type"] == "public-key"
    assert (obj["fmt"], obj["attStmt"]) == ("none", {})
    assert list(obj) == ["fmt", "attStmt", "authData"]
    assert data["rp_id_hash"] == hashlib.sha256(b"localhost").digest()
    assert data["flags"] == UP | UV | AT and data["count"] == 1
    assert data["id"] == unb64url(reg["id"])
    key = public_key(data["cose"])
    spki = key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)
    assert spki == unb64url(reg["response"]["publicKey"])
    assert client_data(reg) == {"type": "webauthn.create", "challenge": CREATION["challenge"],
                                "origin": ORIGIN, "crossOrigin": False}
    assert auth.credential(reg["id"]).user_handle == b"user-1"


def test_packed_self_attestation_signs_auth_data_and_client_data_hash():
    for fmt, valid in (("packed", True), ("packed-bad", False)):
        _, reg, obj, data = registered(fmt=fmt)
        assert obj["fmt"] == "packed" and obj["attStmt"]["alg"] == -7
        signed = obj["authData"] + hashlib.sha256(unb64url(reg["response"]["clientDataJSON"])).digest()
        assert verifies(public_key(data["cose"]), obj["attStmt"]["sig"], signed) is valid


def test_sign_in_is_signed_by_the_registered_key():
    auth, reg, _, data = registered()
    key = public_key(data["cose"])
    for expected_count in (2, 3):
        a = auth.assert_(REQUEST)
        r = a["response"]
        auth_data = unb64url(r["authenticatorData"])
        parsed = parse_auth_data(auth_data)
        assert a["id"] == reg["id"] and unb64url(r["userHandle"]) == b"user-1"
        assert parsed["flags"] == UP | UV and parsed["count"] == expected_count
        assert client_data(a)["type"] == "webauthn.get"
        signed = auth_data + hashlib.sha256(unb64url(r["clientDataJSON"])).digest()
        assert verifies(key, unb64url(r["signature"]), signed)


def test_each_knob_breaks_exactly_one_thing():
    auth, reg, _, data = registered()
    key = public_key(data["cose"])

    def signed_ok(a):
        r = a["response"]
        signed = unb64url(r["authenticatorData"]) + hashlib.sha256(unb64url(r["clientDataJSON"])).digest()
        return verifies(key, unb64url(r["signature"]), signed)

    flags = lambda a: parse_auth_data(unb64url(a["response"]["authenticatorData"]))  # noqa: E731
    assert flags(auth.assert_(REQUEST, up=False))["flags"] == UV
    assert flags(auth.assert_(REQUEST, uv=False))["flags"] == UP
    assert flags(auth.assert_(REQUEST, rp_id="evil.example"))["rp_id_hash"] == \
        hashlib.sha256(b"evil.example").digest()
    assert flags(auth.assert_(REQUEST, sign_count=1))["count"] == 1
    assert client_data(auth.assert_(REQUEST, origin="https://evil.example"))["origin"] == \
        "https://evil.example"
    assert client_data(auth.assert_(REQUEST, type_="webauthn.create"))["type"] == "webauthn.create"
    assert client_data(auth.assert_(REQUEST, cross_origin=True))["crossOrigin"] is True
    for knobs in ({"up": False}, {"uv": False}, {"rp_id": "evil.example"}, {"sign_count": 1},
                  {"origin": "https://evil.example"}, {"type_": "webauthn.create"}):
        assert signed_ok(auth.assert_(REQUEST, **knobs)), knobs
    assert not signed_ok(auth.assert_(REQUEST, bad_signature=True))
    unknown = auth.assert_(REQUEST, unknown_credential=True)
    assert unknown["id"] != reg["id"] and not signed_ok(unknown)
    with pytest.raises(KeyError):
        auth.credential(unknown["id"])
    _, _, _, tampered = registered(auth, up=False, uv=False)
    assert tampered["flags"] == AT


def test_browser_rules_and_resident_credentials():
    auth, first, _, _ = registered()
    with pytest.raises(ValueError, match="InvalidStateError"):
        auth.register({**CREATION, "excludeCredentials": [{"type": "public-key", "id": first["id"]}]})
    with pytest.raises(ValueError, match="NotSupportedError"):
        auth.register({**CREATION, "pubKeyCredParams": [{"type": "public-key", "alg": -8}]})
    with pytest.raises(ValueError, match="rp.id"):
        auth.register({**CREATION, "rp": {"id": "example.com", "name": "x"}})
    second = auth.register({"publicKey": CREATION})
    # Discoverable sign-in picks the newest; allowCredentials or an id picks another.
    assert auth.assert_(REQUEST)["id"] == second["id"]
    allow = {**REQUEST, "allowCredentials": [{"type": "public-key", "id": first["id"]}]}
    assert auth.assert_(allow)["id"] == first["id"]
    assert auth.assert_(REQUEST, credential_id=first["id"])["id"] == first["id"]
    with pytest.raises(ValueError, match="NotAllowedError"):
        SoftAuthenticator(ORIGIN).assert_(REQUEST)


def test_an_authenticator_without_a_counter_always_sends_zero():
    auth, _, _, data = registered(SoftAuthenticator(ORIGIN, counter=False))
    assert data["count"] == 0
    a = auth.assert_(REQUEST)
    assert parse_auth_data(unb64url(a["response"]["authenticatorData"]))["count"] == 0


@pytest.mark.parametrize("alg", [ES256, EDDSA, RS256])
def test_each_algorithm_registers_and_signs(alg):
    """An authenticator that supports only `alg` picks it from the three offered, writes its
    COSE_Key, and signs self attestation and sign-ins with it."""
    auth, reg, obj, data = registered(SoftAuthenticator(ORIGIN, algorithms=(alg,)), fmt="packed")
    assert data["cose"][3] == alg == reg["response"]["publicKeyAlgorithm"]
    key = public_key(data["cose"])
    spki = key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)
    assert spki == unb64url(reg["response"]["publicKey"])
    assert obj["attStmt"]["alg"] == alg
    signed = obj["authData"] + hashlib.sha256(unb64url(reg["response"]["clientDataJSON"])).digest()
    assert verifies(key, obj["attStmt"]["sig"], signed)
    for bad in (True, False):
        r = auth.assert_(REQUEST, bad_signature=bad)["response"]
        signed = unb64url(r["authenticatorData"]) + hashlib.sha256(unb64url(r["clientDataJSON"])).digest()
        assert verifies(key, unb64url(r["signature"]), signed) is not bad


def test_algorithm_choice_follows_the_offer_order():
    both = SoftAuthenticator(ORIGIN, algorithms=(RS256, EDDSA))
    # Offered ES256, EdDSA, RS256: the first it supports is EdDSA, whatever its own order.
    assert registered(both)[3]["cose"][3] == EDDSA
    only_rsa = {**CREATION, "pubKeyCredParams": [{"type": "public-key", "alg": RS256}]}
    assert both.register(only_rsa)["response"]["publicKeyAlgorithm"] == RS256
    with pytest.raises(ValueError, match="NotSupportedError"):
        SoftAuthenticator(ORIGIN, algorithms=(RS256,)).register(
            {**CREATION, "pubKeyCredParams": [{"type": "public-key", "alg": ES256}]})


def test_weak_rsa_keys_on_request():
    weak = SoftAuthenticator(ORIGIN, algorithms=(RS256,), rsa_bits=1024, rsa_exponent=3)
    key = public_key(registered(weak)[3]["cose"])
    assert key.key_size == 1024 and key.public_numbers().e == 3
