"""A software passkey authenticator for the end-to-end tests.

It plays both the browser and the authenticator of a WebAuthn ceremony: it takes the options
JSON the service sends (PublicKeyCredentialCreationOptionsJSON / ...RequestOptionsJSON) and
returns what `credential.toJSON()` would (RegistrationResponseJSON / AuthenticationResponseJSON),
with keys from `cryptography` and just enough CBOR to write an attestation object. Like a real
authenticator it supports some algorithms (ES256 alone by default; `algorithms=(RS256,)` makes
a TPM-like RS256-only one, `(EDDSA,)` an Ed25519 one) and creates each credential with the
first algorithm of `pubKeyCredParams` it supports; `rsa_bits`/`rsa_exponent` make weak RSA keys.
Credentials are discoverable (resident): each keeps its user handle, and a sign-in without
`allowCredentials` picks one, as a platform authenticator does.

Unlike Chromium's virtual authenticator it can lie, one knob per attack the service must refuse:

    auth = SoftAuthenticator("http://localhost:7676")           # RP ID from the origin's host
    reg = auth.register(options)                                 # a valid sign-up response
    auth.register(options, origin="https://evil.example")        # phishing page
    auth.assert_(options, rp_id="evil.example")                  # rpIdHash of another site
    auth.assert_(options, up=False) / (uv=False)                 # flags cleared
    auth.assert_(options, bad_signature=True)                    # valid DER, wrong message
    auth.assert_(options, sign_count=1)                          # counter going backwards
    auth.assert_(options, type_="webauthn.create")               # the other ceremony's type
    auth.assert_(options, unknown_credential=True)               # a passkey never registered
    auth.assert_(options, cross_origin=True)                     # inside a cross-origin frame

Replays need no knob: send the same response twice. Responses are plain dicts, ready for
`json.dumps`; every binary field is base64url without padding, as browsers send it.
"""

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

# COSE algorithm identifiers.
ES256, EDDSA, RS256 = -7, -8, -257

# Authenticator data flags (WebAuthn L3 §6.1).
UP, UV, BE, BS, AT, ED = 0x01, 0x04, 0x08, 0x10, 0x40, 0x80


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cbor(value) -> bytes:
    """Definite-length CBOR for the types WebAuthn uses (ints, bytes, text, lists, maps,
    bools, None). Map keys keep the caller's order: pass them in CTAP2 canonical order."""
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if n < 1 << (8 * struct.calcsize(fmt)):
                return bytes([major << 5 | info]) + struct.pack(fmt, n)
        raise ValueError("integer too large for CBOR")

    if value is False or value is True or value is None:
        return {False: b"\xf4", True: b"\xf5", None: b"\xf6"}[value]
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, bytes):
        return head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode()
        return head(3, len(raw)) + raw
    if isinstance(value, list):
        return head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(f"no CBOR for {type(value).__name__}")


def cose_key(public_key) -> bytes:
    """The COSE_Key of a public key, labels in canonical order: EC2 P-256 for ES256
    (§6.5.1.1), OKP Ed25519 for EdDSA (RFC 9053 §7.2), RSA n/e for RS256 (RFC 8230 §4)."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        numbers = public_key.public_numbers()
        return cbor({1: 2, 3: ES256, -1: 1,
                     -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return cbor({1: 1, 3: EDDSA, -1: 6, -2: raw})
    numbers = public_key.public_numbers()
    return cbor({1: 3, 3: RS256, -1: numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big"),
                 -2: numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")})


def algorithm(key) -> int:
    """The COSE algorithm of a private key."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return ES256
    return EDDSA if isinstance(key, ed25519.Ed25519PrivateKey) else RS256


def sign(key, data: bytes) -> bytes:
    """A signature as authenticators make it: ES256 DER encoded, Ed25519 raw (over the data
    itself), RS256 PKCS#1 v1.5 with SHA-256."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def creation_options(user_id: bytes, challenge: bytes) -> dict:
    """Creation options as edge-chat's /auth/register/options gives them for ann on localhost."""
    return {
        "rp": {"id": "localhost", "name": "edge-chat"},
        "user": {"id": b64url(user_id), "name": "ann", "displayName": "ann"},
        "challenge": b64url(challenge),
        "pubKeyCredParams": [{"type": "public-key", "alg": alg} for alg in (ES256, EDDSA, RS256)],
        "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
        "attestation": "none",
    }


def request_options(challenge: bytes) -> dict:
    """Request options for a discoverable sign-in on localhost."""
    return {"challenge": b64url(challenge), "rpId": "localhost", "allowCredentials": [],
            "userVerification": "required"}


@dataclass
class Credential:
    id: bytes
    key: object  # ec / ed25519 / rsa private key
    rp_id: str
    user_handle: bytes
    user_name: str
    sign_count: int = 0


def _credential_json(cred, response: dict) -> dict:
    """A PublicKeyCredential as credential.toJSON() gives it, around `response`."""
    return {"id": b64url(cred.id), "rawId": b64url(cred.id), "type": "public-key",
            "response": response, "authenticatorAttachment": "platform",
            "clientExtensionResults": {}}


def _public_key_options(options: dict) -> dict:
    """Accepts the options JSON bare or wrapped as {"publicKey": ...}."""
    return options.get("publicKey", options)


class SoftAuthenticator:
    def __init__(self, origin: str, rp_id: str | None = None, *, counter: bool = True,
                 aaguid: bytes = bytes(16), algorithms=(ES256,), rsa_bits: int = 2048,
                 rsa_exponent: int = 65537):
        """`counter=False` makes an authenticator without a signature counter (always 0).
        `algorithms` are the COSE algorithms it can create keys for; RSA keys have
        `rsa_bits` and `rsa_exponent` (1024 bits or exponent 3 make keys the service refuses)."""
        self.origin = origin
        self.rp_id = rp_id or urlsplit(origin).hostname
        self.counter = counter
        self.aaguid = aaguid
        self.algorithms = tuple(algorithms)
        self.rsa_bits, self.rsa_exponent = rsa_bits, rsa_exponent
        self.credentials: list[Credential] = []

    def new_key(self, alg: int):
        if alg == ES256:
            return ec.generate_private_key(ec.SECP256R1())
        if alg == EDDSA:
            return ed25519.Ed25519PrivateKey.generate()
        return rsa.generate_private_key(public_exponent=self.rsa_exponent, key_size=self.rsa_bits)

    # ------------------------------------------------------------------ helpers

    def credential(self, credential_id) -> Credential:
        cid = unb64url(credential_id) if isinstance(credential_id, str) else credential_id
        for c in self.credentials:
            if c.id == cid:
                return c
        raise KeyError(f"no credential {b64url(cid)}")

    def _next_count(self, credential: Credential, override):
        if override is not None:
            credential.sign_count = override
        elif self.counter:
            credential.sign_count += 1
        return credential.sign_count

    def _client_data(self, ty, challenge, origin, cross_origin) -> bytes:
        # Key order and spacing as Chromium writes it.
        data = {"type": ty, "challenge": challenge, "origin": origin, "crossOrigin": cross_origin}
        return json.dumps(data, separators=(",", ":")).encode()

    def _auth_data(self, rp_id, rp_id_hash, flags, count, attested=b"") -> bytes:
        rp_hash = rp_id_hash if rp_id_hash is not None else hashlib.sha256(rp_id.encode()).digest()
        return rp_hash + bytes([flags]) + struct.pack(">I", count) + attested

    @staticmethod
    def _flags(up, uv, extra=0):
        return (UP if up else 0) | (UV if uv else 0) | extra

    # ------------------------------------------------------------------ ceremonies

    def register(self, creation_options: dict, *, origin=None, rp_id=None, rp_id_hash=None,
                 type_="webauthn.create", challenge=None, cross_origin=False, up=True, uv=True,
                 attested=True, fmt="none", credential_id=None, sign_count=None) -> dict:
        """navigator.credentials.create(): a new resident credential, with the first algorithm
        of `pubKeyCredParams` this authenticator supports.

        Like a browser it refuses options it cannot honour (another RP ID, no algorithm it
        supports, an excluded credential it holds) with ValueError. The knobs make a dishonest response:
        another `origin`, `rp_id` or raw `rp_id_hash`, `type_`, `challenge` (base64url),
        `cross_origin`, `up`/`uv` cleared, `attested=False` (AT flag and credential data
        left out), `fmt="packed"` (self attestation; `fmt="packed-bad"` signs the wrong
        bytes), a chosen `credential_id` (bytes) or `sign_count`.
        """
        opts = _public_key_options(creation_options)
        if opts.get("rp", {}).get("id", self.rp_id) != self.rp_id:
            raise ValueError(f"rp.id {opts['rp']['id']!r} is not {self.rp_id!r}")
        offered = [p.get("alg") for p in opts.get("pubKeyCredParams", [])]
        alg = next((a for a in offered if a in self.algorithms), None)
        if alg is None:
            raise ValueError(f"NotSupportedError: pubKeyCredParams {offered} offers none of "
                             f"{list(self.algorithms)}")
        excluded = {unb64url(c["id"]) for c in opts.get("excludeCredentials", [])}
        if any(c.id in excluded and c.rp_id == self.rp_id for c in self.credentials):
            raise ValueError("InvalidStateError: an excluded credential is on this authenticator")

        user = opts["user"]
        cred = Credential(id=credential_id or os.urandom(32),
                          key=self.new_key(alg),
                          rp_id=self.rp_id, user_handle=unb64url(user["id"]),
                          user_name=user.get("name", ""))
        count = self._next_count(cred, sign_count)
        public_key = cose_key(cred.key.public_key())
        attested_data = (self.aaguid + struct.pack(">H", len(cred.id)) + cred.id + public_key
                         if attested else b"")
        auth_data = self._auth_data(rp_id or self.rp_id, rp_id_hash,
                                    self._flags(up, uv, AT if attested else 0), count, attested_data)
        client_data = self._client_data(type_, challenge or opts["challenge"],
                                        origin or self.origin, cross_origin)
        client_data_hash = hashlib.sha256(client_data).digest()
        if fmt == "none":
            statement = {}
        elif fmt in ("packed", "packed-bad"):
            signed = auth_data + (client_data_hash if fmt == "packed" else bytes(32))
            statement = {"alg": alg, "sig": sign(cred.key, signed)}
            fmt = "packed"
        else:
            statement = {"sig": b"\x00"}
        attestation_object = cbor({"fmt": fmt, "attStmt": statement, "authData": auth_data})
        # Keep the credential only once it has been handed out, as a real authenticator does.
        self.credentials.append(cred)
        spki = cred.key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        return _credential_json(cred, {
            "clientDataJSON": b64url(client_data),
            "attestationObject": b64url(attestation_object),
            "authenticatorData": b64url(auth_data),
            "transports": ["internal"],
            "publicKey": b64url(spki),
            "publicKeyAlgorithm": alg,
        })

    def assert_(self, request_options: dict, credential_id=None, *, origin=None, rp_id=None,
                rp_id_hash=None, type_="webauthn.get", challenge=None, cross_origin=False,
                up=True, uv=True, sign_count=None, bad_signature=False,
                unknown_credential=False, user_handle=None) -> dict:
        """navigator.credentials.get(): sign in with one of this authenticator's credentials.

        The credential is `credential_id` (bytes or base64url) if given, else the first of
        `allowCredentials` held here, else the newest discoverable one for the RP ID. Knobs as
        for `register`, plus `sign_count` (the counter to report: set it to one already used
        to go backwards), `bad_signature` (a valid DER signature over other bytes),
        `unknown_credential` (a fresh key and id the service never saw, with the user handle
        of this authenticator's newest credential) and `user_handle`.
        """
        opts = _public_key_options(request_options)
        if unknown_credential:
            # A passkey the service never registered, claiming a known user when there is one.
            known = [c for c in self.credentials if c.rp_id == self.rp_id]
            cred = Credential(id=os.urandom(32), key=self.new_key(self.algorithms[0]),
                              rp_id=self.rp_id, user_name="",
                              user_handle=known[-1].user_handle if known else os.urandom(16))
        else:
            cred = self._pick(opts, credential_id)
        count = self._next_count(cred, sign_count)
        auth_data = self._auth_data(rp_id or self.rp_id, rp_id_hash, self._flags(up, uv), count)
        client_data = self._client_data(type_, challenge or opts["challenge"],
                                        origin or self.origin, cross_origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = sign(cred.key, b"not the signed bytes" if bad_signature else signed)
        handle = cred.user_handle if user_handle is None else user_handle
        return _credential_json(cred, {
            "clientDataJSON": b64url(client_data),
            "authenticatorData": b64url(auth_data),
            "signature": b64url(signature),
            "userHandle": b64url(handle),
        })

    def _pick(self, opts, credential_id) -> Credential:
        if credential_id is not None:
            return self.credential(credential_id)
        rp_id = opts.get("rpId", self.rp_id)
        mine = [c for c in self.credentials if c.rp_id == rp_id]
        allowed = [unb64url(c["id"]) for c in opts.get("allowCredentials", [])]
        if allowed:
            mine = [c for c in mine if c.id in allowed]
        if not mine:
            raise ValueError("NotAllowedError: no credential for this request")
        return mine[-1]
