"""What identity and the post rate limit cost a request (issues 11 and 12), each measured
against the same request without it, interleaved request by request (rounds.py) on stacks
running side by side:

* session check: history GET and POST on a passkey-mode stack with a session cookie (the GET
  with a fresh token reads no KV; the POST checks its session, one lookup), and on one with an
  API key (two lookups), vs the same on an open-mode stack; a second
  open-mode stack is the A/A control: how far two identical stacks differ;
* rate limiter: POST on an open-mode stack whose post_rate is so high it never limits vs the
  open stack, where it is unset;
* passkey ceremonies: the register and login /verify requests (tests/softauthn.py as the
  authenticator, passkey.py), interleaved with floor (a), the hello-world GET.

One stack per variant, each holding the same keys (a history room of history_seed messages,
a POST room, and in passkey mode one account with an API key): Viceroy's KV list walks the
whole store, so the stores must not differ in size. Viceroy's own execution time per request
comes from each stack's log, the client's latency from the bench.
"""

import contextlib
import re

from .app import app_stack, post_raw, room
from .floors import hello_service
from .passkey import Person
from .results import Interleaved
from .rounds import Sender, get_sender, measure
from .viceroy_log import ViceroyLog, hello_classifier, pattern_classifier

NEVER_LIMITS = "1000000/10"  # post_rate: counted like any limit, never reached
CEREMONY_WARM = 3
PASSKEY = {"auth_mode": "passkey"}

# name -> (what the table calls it, config-store overrides, credential); in table order
VARIANTS = {
    "open": ("open mode (auth_mode=open)", {}, None),
    "control": ("open mode, a second stack (A/A control)", {}, None),
    "cookie": ("passkey mode, session cookie (a write checks its session: +1 KV lookup)",
               PASSKEY, "cookie"),
    "key": ("passkey mode, API key (Bearer; +1 KV lookup)", PASSKEY, "key"),
    "limited": (f"open mode, post_rate={NEVER_LIMITS} (never limits)", {"post_rate": NEVER_LIMITS}, None),
}
GET_VARIANTS = ["open", "control", "cookie", "key"]  # post_rate counts posts only
CEREMONIES = {"register": ("passkey sign-up: POST /auth/register/verify", "/auth/register/verify"),
              "login": ("passkey sign-in: POST /auth/login/verify", "/auth/login/verify"),
              "hello": ("hello-world GET (floor a), same rounds", None)}


class Caller:
    """A variant's stack and how its requests say who is asking."""

    def __init__(self, name, stack, person):
        self.port = stack.port
        credential = VARIANTS[name][2]
        self.sender = person.name if person else "bench"
        self.get_headers = self.post_headers = {}
        if credential == "cookie":
            self.get_headers, self.post_headers = person.headers("GET"), person.headers("POST")
        elif credential == "key":
            self.get_headers = self.post_headers = {"Authorization": f"Bearer {person.api_key()}"}

    def poster(self, room_id):
        return Sender(self.port, lambda i: post_raw(self.port, room_id, i, self.post_headers, self.sender))


def session_and_limits(sc):
    """-> (history GET, POST) as Interleaved, by variant name. Fresh stacks per repetition,
    started in a rotating order: two identical stacks differ by about as much as the session
    check may cost (the A/A control shows by how much), so no stack's luck repeats."""
    p = sc.p
    get_room, post_room = room(), room()
    paths = {"GET": f"/rooms/{get_room}/messages/", "POST": f"/rooms/{post_room}/messages/"}
    classify = pattern_classifier([(m, re.escape(path), m) for m, path in paths.items()])
    logs = {name: ViceroyLog() for name in VARIANTS}
    get = Interleaved(p.auth_get_n, {n: VARIANTS[n][0] for n in GET_VARIANTS})
    post = Interleaved(p.auth_post_n, {n: v[0] for n, v in VARIANTS.items()})
    for rep in range(p.reps):
        with contextlib.ExitStack() as es:
            names = list(VARIANTS)[rep % len(VARIANTS):] + list(VARIANTS)[:rep % len(VARIANTS)]
            callers = {name: caller(es, sc, name, logs[name], classify) for name in names}
            senders = [c.poster(get_room) for c in callers.values()]
            es.callback(lambda: [x.close() for x in senders])
            for name, seed in zip(callers, senders):
                bad = sum(seed(i)[1] != 200 for i in range(p.history_seed))
                assert bad == 0, f"{name}: seeding posts failed"
            gets = {n: get_sender(callers[n].port, paths["GET"], callers[n].get_headers) for n in GET_VARIANTS}
            posts = {n: callers[n].poster(post_room) for n in VARIANTS}
            senders += [*gets.values(), *posts.values()]
            measure(gets, p.auth_get_n, 1, into=get)
            measure(posts, p.auth_post_n, 1, into=post)
    # The stacks' logs are read as they stop.
    for res, kind in ((get, "GET"), (post, "POST")):
        for name, v in res.variants.items():
            v.server_ms = logs[name].resp.get(kind, [])
    return get, post


def caller(es, sc, name, vlog, classify):
    """A started stack for variant name (stopped by es), signed in if the variant is -> Caller."""
    _, config, credential = VARIANTS[name]
    s = es.enter_context(app_stack(vlog, sc.keep, config=config, classify=classify))
    person = None
    if credential:
        person = Person(s.port)
        person.sign_up()
        es.callback(person.close)
    return Caller(name, s, person)


def ceremonies(sc):
    """Register and login /verify against floor (a), on a passkey-mode stack whose log goes
    into the run's ViceroyLog (heap and execution time per ceremony) -> Interleaved."""
    p = sc.p
    kinds = {name: f"POST {path}" for name, (_, path) in CEREMONIES.items() if path}
    classify = pattern_classifier([("POST", re.escape(path), kinds[name])
                                   for name, (_, path) in CEREMONIES.items() if path])
    hello_log = ViceroyLog()
    with app_stack(sc.vlog, sc.keep, config=PASSKEY, classify=classify) as s, \
            hello_service(sc.workdir) as (hport, hlog, _):
        person, hello = Person(s.port), get_sender(hport, "/")
        try:
            variants = {"register": lambda i: person.sign_up(), "login": lambda i: person.sign_in(),
                        "hello": hello}
            res = measure(variants, p.ceremonies, p.reps, {n: c[0] for n, c in CEREMONIES.items()},
                          warm=CEREMONY_WARM)
        finally:
            person.close()
            hello.close()
        hello_log.add(hlog, hello_classifier)
    for name, kind in kinds.items():
        res.variants[name].server_ms = sc.vlog.resp.get(kind, [])
    res.variants["hello"].server_ms = hello_log.resp.get("hello GET", [])
    return res
