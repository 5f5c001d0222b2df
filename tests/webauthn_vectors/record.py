"""Records WebAuthn test vectors from Chromium's virtual authenticator.

The Rust unit tests of src/auth/webauthn.rs check real browser output, not only what our own
software authenticator (tests/softauthn.py) makes: both could share a misreading of the spec.
This script serves an empty page on http://localhost:<port> (RP ID `localhost`; browsers refuse
an IP address as RP ID), attaches a CDP virtual authenticator like the browser tests will
(ctap2, internal, resident key, user verification, automatic presence), and runs the same
ceremonies the sign-up and sign-in pages will run: options from JSON through
`PublicKeyCredential.parse*OptionsFromJSON`, the result through `credential.toJSON()`.

Run it with the test venv (Playwright as a client library; Debian's /usr/bin/chromium, never a
downloaded browser) and commit the output:

    .tools/venv/bin/python tests/webauthn_vectors/record.py [OUT]

`record.py algorithms [OUT]` records chromium-algorithms.json instead: an EdDSA and an RS256
passkey made by the same virtual authenticator (which picks the first algorithm of
`pubKeyCredParams` it supports, so each sign-up offers one alone), each with a sign-in.

Challenges and user ids are fixed so the vectors read well; keys and signatures are new each
run. Everything here is test data: the virtual authenticator's keys never leave this file.
"""

import base64
import http.server
import json
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from browser_helpers import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

VECTORS = ROOT / "src" / "auth" / "webauthn" / "vectors"
OUT = VECTORS / "chromium.json"
OUT_ALGORITHMS = VECTORS / "chromium-algorithms.json"
RP_ID = "localhost"

PAGE = b"""<!doctype html><meta charset="utf-8"><title>webauthn vectors</title>
<script>
async function create(json) {
  const cred = await navigator.credentials.create(
    {publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(json)});
  return cred.toJSON();
}
async function get(json) {
  const cred = await navigator.credentials.get(
    {publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(json)});
  return cred.toJSON();
}
</script>"""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def challenge(label: str) -> str:
    """32 bytes that say what they are for when decoded."""
    return b64url(label.encode().ljust(32, b".")[:32])


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


def creation_options(name: str, user_id: bytes, label: str, attestation: str = "none", alg=-7):
    return {
        "rp": {"id": RP_ID, "name": "edge-chat"},
        "user": {"id": b64url(user_id), "name": name, "displayName": name},
        "challenge": challenge(label),
        "pubKeyCredParams": [{"type": "public-key", "alg": alg}],
        "timeout": 60000,
        "authenticatorSelection": {
            "residentKey": "required",
            "requireResidentKey": True,
            "userVerification": "required",
        },
        "attestation": attestation,
    }


def request_options(label: str, allow=()):
    return {
        "challenge": challenge(label),
        "rpId": RP_ID,
        "allowCredentials": [{"type": "public-key", "id": i} for i in allow],
        "userVerification": "required",
        "timeout": 60000,
    }


def vectors_of(origin, browser, ceremony):
    """chromium.json: ES256 sign-up, two sign-ins, a sign-up with direct attestation."""
    return {
        "about": "Recorded by tests/webauthn_vectors/record.py from Chromium's virtual "
                 "authenticator (CDP WebAuthn domain: ctap2, internal, resident key, "
                 "user verification, automatic presence).",
        "browser": browser.version,
        "rp_id": RP_ID,
        "origin": origin,
        # attestation "none": what edge-chat asks for.
        "registration": ceremony("create", creation_options(
            "ann", b"user-id-of-ann-0", "registration")),
        # Two sign-ins with the same passkey, discoverable (no allowCredentials).
        "authentications": [
            ceremony("get", request_options("authentication-1")),
            ceremony("get", request_options("authentication-2")),
        ],
        # attestation "direct": the browser passes the authenticator's own statement
        # through, which edge-chat does not verify and must refuse clearly.
        "registration_direct": ceremony("create", creation_options(
            "bob", b"user-id-of-bob-0", "registration-direct", "direct")),
    }


def algorithm_vectors_of(origin, browser, ceremony):
    """chromium-algorithms.json: per algorithm, a sign-up offering it alone and a sign-in."""
    by_alg = {}
    for alg, name in ((-8, "eve"), (-257, "rsa")):
        registration = ceremony("create", creation_options(
            name, f"user-id-of-{name}-0".encode(), f"registration-{alg}", alg=alg))
        credential = registration["response"]["id"]
        by_alg[str(alg)] = {
            "registration": registration,
            "authentication": ceremony("get", request_options(f"authentication{alg}", [credential])),
        }
    return {
        "about": "Recorded by tests/webauthn_vectors/record.py algorithms from Chromium's "
                 "virtual authenticator (as chromium.json), one algorithm offered per sign-up.",
        "browser": browser.version,
        "rp_id": RP_ID,
        "origin": origin,
        "algorithms": by_alg,
    }


def record(out: Path, make=vectors_of):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://localhost:{server.server_address[1]}"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context().new_page()
            page.goto(origin + "/")
            cdp = page.context.new_cdp_session(page)
            cdp.send("WebAuthn.enable", {"enableUI": False})
            cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }})

            def ceremony(fn, options):
                response = page.evaluate(f"options => {fn}(options)", options)
                return {"options": options, "response": response}

            vectors = make(origin, browser, ceremony)
            browser.close()
    finally:
        server.shutdown()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(vectors, indent=2) + "\n")
    print(f"wrote {out} ({vectors['browser']}, {origin})")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["algorithms"]:
        record(Path(args[1]) if len(args) > 1 else OUT_ALGORITHMS, algorithm_vectors_of)
    else:
        record(Path(args[0]) if args else OUT)
