"""Records what the software authenticator (tests/softauthn.py) sends, honest and not, with
the error each dishonest response must get from the Rust verifier.

The end-to-end tests trust softauthn's knobs to make exactly one thing wrong; the Rust unit
tests (src/auth/webauthn/registration/tests.rs, assertion.rs) read these files and check that
each knob is refused for the reason named here, so the two sides cannot drift apart unnoticed.

One file per algorithm offered (issue 18): softauthn.json from an ES256 authenticator,
softauthn-eddsa.json from an Ed25519-only one, softauthn-rs256.json from an RS256-only one
(the last also with the RSA keys the service must refuse). Keys are new each run.

    .tools/venv/bin/python tests/webauthn_vectors/record_softauthn.py [OUT_DIR]
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from softauthn import (EDDSA, ES256, RS256, SoftAuthenticator, b64url,  # noqa: E402
                       creation_options, request_options)

OUT = ROOT / "src" / "auth" / "webauthn" / "vectors"
FILES = {ES256: "softauthn.json", EDDSA: "softauthn-eddsa.json", RS256: "softauthn-rs256.json"}
ORIGIN = "http://localhost:7676"

CREATION = creation_options(b"user-id-of-ann-0", b"registration-challenge-of-32-byt")
REQUEST = request_options(b"authentication-challenge-of-32-b")

# knob -> the WebAuthnError variant the verifier must answer with.
REGISTRATION_ATTACKS = {
    "origin": ({"origin": "https://evil.example"}, "WrongOrigin"),
    "rp_id": ({"rp_id": "evil.example"}, "WrongRelyingParty"),
    "up": ({"up": False}, "UserNotPresent"),
    "uv": ({"uv": False}, "UserNotVerified"),
    "type": ({"type_": "webauthn.get"}, "WrongCeremony"),
    "challenge": ({"challenge": b64url(b"another challenge")}, "WrongChallenge"),
    "cross_origin": ({"cross_origin": True}, "CrossOrigin"),
    "no_attested_data": ({"attested": False}, "NoCredential"),
    "packed_bad_signature": ({"fmt": "packed-bad"}, "InvalidAttestation"),
    "unsupported_format": ({"fmt": "tpm"}, "UnsupportedAttestation"),
}
ASSERTION_ATTACKS = {
    "origin": ({"origin": "https://evil.example"}, "WrongOrigin"),
    "rp_id": ({"rp_id": "evil.example"}, "WrongRelyingParty"),
    "up": ({"up": False}, "UserNotPresent"),
    "uv": ({"uv": False}, "UserNotVerified"),
    "type": ({"type_": "webauthn.create"}, "WrongCeremony"),
    "challenge": ({"challenge": b64url(b"another challenge")}, "WrongChallenge"),
    "cross_origin": ({"cross_origin": True}, "CrossOrigin"),
    "bad_signature": ({"bad_signature": True}, "InvalidSignature"),
    "sign_count_backwards": ({"sign_count": 1}, "CounterNotIncreased"),
    "other_user_handle": ({"user_handle": b"user-id-of-bob-0"}, "WrongUser"),
    # A handler finds no stored passkey for this id (UnknownCredential); verified against
    # ann's key anyway, the signature by another key fails.
    "unknown_credential": ({"unknown_credential": True}, "InvalidSignature"),
}
# RSA keys an RS256-only authenticator could make that the service refuses (rs256.rs).
REFUSED_RSA_KEYS = {
    "rsa_1024_bits": ({"rsa_bits": 1024}, "UnsupportedKey"),
    "rsa_exponent_3": ({"rsa_exponent": 3}, "UnsupportedKey"),
}


def record(out: Path, alg: int):
    def authenticator(**knobs):
        return SoftAuthenticator(ORIGIN, algorithms=(alg,), **knobs)

    auth = authenticator()
    registration = auth.register(CREATION)
    reg_attacks = {name: {"knobs": repr(knobs), "expected": expected,
                          "response": authenticator().register(CREATION, **knobs)}
                   for name, (knobs, expected) in REGISTRATION_ATTACKS.items()}
    refused_keys = {name: {"knobs": repr(knobs), "expected": expected,
                           "response": authenticator(**knobs).register(CREATION)}
                    for name, (knobs, expected) in REFUSED_RSA_KEYS.items() if alg == RS256}
    honest = auth.assert_(REQUEST)
    # Each attack starts from the honest counter, so only its own knob is wrong.
    count = auth.credentials[-1].sign_count
    auth_attacks = {}
    for name, (knobs, expected) in ASSERTION_ATTACKS.items():
        auth.credentials[-1].sign_count = count
        auth_attacks[name] = {"knobs": repr(knobs), "expected": expected,
                              "response": auth.assert_(REQUEST, **knobs)}
    vectors = {
        "about": "Recorded by tests/webauthn_vectors/record_softauthn.py from tests/softauthn.py.",
        "algorithm": alg,
        "rp_id": "localhost",
        "origin": ORIGIN,
        "registration": {"options": CREATION, "response": registration},
        "packed_registration": {"options": CREATION,
                                "response": authenticator().register(CREATION, fmt="packed")},
        "authentication": {"options": REQUEST, "response": honest},
        "registration_attacks": reg_attacks,
        "authentication_attacks": auth_attacks,
        "refused_keys": refused_keys,
    }
    out.write_text(json.dumps(vectors, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    for alg, name in FILES.items():
        record(out_dir / name, alg)
