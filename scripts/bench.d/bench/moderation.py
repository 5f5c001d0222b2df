"""What a moderation change costs (issue 12): a delete by the admin key's bearer (open mode,
where nothing else may delete) and an edit by the message's author (passkey mode with a session
cookie: in open mode nobody may edit), each of the newest message and of one BACK messages back,
interleaved round by round with a plain POST (rounds.py).

Each round of a change posts a message to the change's own room (not timed) and then deletes or
edits the newest message, or the one BACK messages back. A change appends an event and rewrites
every window that copies the message, t..t+49 (src/store/moderation.rs): one for the newest,
fifty for one BACK back. KV operations come from each answer's Server-Timing.
"""

import contextlib
import json
import tomllib

import stack as stackmod

from .app import PAD, app_stack, post_raw, room
from .http import Client, build_request
from .identity import PASSKEY
from .passkey import Person
from .rounds import Sender, measure
from .viceroy_log import pattern_classifier

BACK = 60

# name -> (what the table calls it, method, messages back); in table order. DELETE and the POST
# go to the open-mode stack, PATCH to the passkey-mode one.
VARIANTS = {
    "post": ("POST, open mode (reference, same rounds)", "POST", None),
    "delete-newest": ("delete the newest message (admin key, open mode)", "DELETE", 0),
    "delete-back": (f"delete a message {BACK} back (admin key, open mode)", "DELETE", BACK),
    "edit-newest": ("edit the newest message (its author's cookie, passkey mode)", "PATCH", 0),
    "edit-back": (f"edit a message {BACK} back (its author's cookie, passkey mode)", "PATCH", BACK),
}


def kind(name):
    """How the run's ViceroyLog names a variant's measured requests."""
    _, method, back = VARIANTS[name]
    return f"{method} message, " + {None: "moderation", 0: "newest"}.get(back, f"{back} back")


def classifier(rooms):
    """Names the measured requests of each variant (by its room); leaves out the rest."""
    return pattern_classifier([(v[1], rf"/rooms/{rooms[name]}/messages/" + ("" if v[2] is None else r"\d+"),
                                kind(name)) for name, v in VARIANTS.items()])


def admin_key():
    """The `admin_key` secret of the local stacks (fastly.toml), as the tests read it."""
    local = tomllib.loads(stackmod.MANIFEST.read_text())["local_server"]
    return next(e["data"] for e in local["secret_stores"][stackmod.SECRET_STORE] if e["key"] == "admin_key")


class Change:
    """callable(i): posts message i to its room, then sends change(target id, i) for the message
    `back` messages back (0: the one just posted) -> the change's (seconds, status, headers)."""

    def __init__(self, port, post, change, back):
        self.client, self.post, self.change, self.back = Client(port), post, change, back
        self.ids = []

    def posted(self, i):
        _, st, _, bd = self.client.send(self.post(i))
        assert st == 200, f"post for a change: {st} {bd[:200]!r}"
        self.ids.append(json.loads(bd)["id"])

    def __call__(self, i):
        self.posted(i)
        dt, st, hd, _ = self.client.send(self.change(self.ids[-1 - self.back], i))
        return dt, st, hd

    def close(self):
        self.client.close()


def moderation(sc):
    """-> Interleaved by variant name; each change's heap and execution time go into the run's
    ViceroyLog."""
    p = sc.p
    rooms = {name: room(f"bench-{name}") for name in VARIANTS}
    admin = {"Authorization": f"Bearer {admin_key()}"}
    with contextlib.ExitStack() as es:
        open_ = es.enter_context(app_stack(sc.vlog, sc.keep, classify=classifier(rooms)))
        passkey = es.enter_context(app_stack(sc.vlog, sc.keep, config=PASSKEY, classify=classifier(rooms)))
        author = Person(passkey.port)
        author.sign_up()
        es.callback(author.close)

        def requests(r, method):
            """(port, post(i), change(target, i)) -> request bytes, for a room and a method."""
            path = f"/rooms/{r}/messages/"
            if method == "PATCH":
                return (passkey.port, lambda i: post_raw(passkey.port, r, i, author.headers("POST"), author.name),
                        lambda t, i: author.raw("PATCH", f"{path}{t}", {"text": f"edited {i} {PAD}"}))
            return (open_.port, lambda i: post_raw(open_.port, r, i),
                    lambda t, i: build_request("DELETE", f"{path}{t}", open_.port, b"", admin))

        variants = {}
        es.callback(lambda: [v.close() for v in variants.values()])
        for name, (_, method, back) in VARIANTS.items():
            port, post, change = requests(rooms[name], method)
            if back is None:
                variants[name] = Sender(port, post)
                continue
            variants[name] = c = Change(port, post, change, back)
            for i in range(back):
                c.posted(i)
        res = measure(variants, p.moderation_rounds, p.reps, {n: v[0] for n, v in VARIANTS.items()})
    for name, v in res.variants.items():
        v.server_ms = sc.vlog.resp.get(kind(name), [])
    return res
