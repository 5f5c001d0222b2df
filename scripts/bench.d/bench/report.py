"""The bench's one table, from a results.Run: every number next to its floor and target.
Times are the median over repetitions of each repetition's p50/p99."""

import datetime
import statistics
import textwrap
from collections import Counter

from .delivery import PACE_GAP
from .measure import med, mode, pct
from .kv_latency import report as kv_latency_report
from .presence import report as presence_report
from .round_trips import report as round_trips_report
from .results import shaper_name

SESSION_TARGET = 0.0001  # what the session check may add to a p50 (s)
LIMITER_TARGET = 0.0002  # what the post rate limiter may add to a POST's p50 (s)
CEREMONY_TARGET = 0.005  # register and login /verify p50 (s)
AUTH_WASM_TARGET = 80 * 1024  # bytes auth may add to the wasm

DELIVERY_TARGET_SUBS = 1000
PATHS = {"floor": "raw Pushpin ← POST /publish/ (floor b)",
         "app": "app: POST → Viceroy/KV → publish → Pushpin",
         "handoff": "app, subscribers via Viceroy handoff proxy",
         "ws": "app over WebSocket (WebSocket-over-HTTP)"}


def mark(ok):
    return "met" if ok else "MISSED"


def ms(x):
    return "—" if x != x else (f"{x * 1000:.2f}" if x < 0.1 else f"{x * 1000:.1f}")


def render(run, machine, versions):
    """-> the table as one string."""
    out = []
    header(out.append, run, machine, versions)
    requests(out.append, run)
    kv_latency_report(out.append, run.kv_latency, run.params)
    round_trips_report(out.append, run.round_trips, run.params)
    session(out.append, run)
    ceremonies(out.append, run)
    moderation(out.append, run)
    delivery(out.append, run)
    presence_report(out.append, run.presence)
    load_check(out.append, run)
    sizes(out.append, run)
    kv_ops(out.append, run)
    heap(out.append, run)
    out.append(f"total bench time {run.elapsed:.0f}s")
    return "\n".join(out)


def header(w, run, machine, v):
    p = run.params
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    w(f"edge-chat bench — {now} — {'QUICK' if p.quick else 'full'} run, {p.reps} repetition(s); "
      f"times are the median over repetitions of each repetition's p50/p99")
    w(f"machine: {machine}")
    modes = " and ".join(shaper_name(m.message_rate) for m in run.delivery)
    w(f"tools:   {v['viceroy']}; fastly CLI {v['fastly']}; Pushpin {v['pushpin']}; {v['python']}")
    w("pushpin: publish shaper off (message_rate unset, as Fastly Fanout) for request scenarios; delivery measured")
    w(f"         with the shaper {modes}, app stacks and floor alike")
    l0, l1 = run.load
    w(f"load:    before {l0[0]:.2f} {l0[1]:.2f} {l0[2]:.2f}; after {l1[0]:.2f} {l1[1]:.2f} {l1[2]:.2f} "
      f"(1/5/15 min; 2 cores shared with the load generator and anyone else's tests)")
    w("stacks:  a fresh stack (Pushpin + Viceroy, empty KV) per POST repetition, one for history/KV ops, one per")
    w("         subscriber count and shaper mode: Viceroy's KV list walks every key of the store under a write lock,")
    w("         so a store grown by earlier scenarios would slow later ones")
    w("")


def requests(w, run):
    p, h, hc = run.params, run.history, run.hello_conc
    ps, pc, pr = run.post_seq, run.post_conc, run.post_conc_rooms
    hp50, hp99 = med(h.hello.p50), med(h.hello.p99)
    p50, p99 = med(h.app.p50), med(h.app.p99)
    hr = p50 / hp50
    rows = [
        ("hello-world GET (floor a), same Viceroy", f"{h.n}", hp50, hp99, "", "", ""),
        (f"history GET, 50 newest of {h.room_size} (interleaved with floor a)", f"{h.n}", p50, p99,
         f"{hr:.2f}× / {p99 / hp99:.2f}×", "p50 ≤ 2× hello", mark(hr <= 2)),
        ("POST, sequential (fresh stack per repetition)", f"{ps.n}", med(ps.lat.p50), med(ps.lat.p99), "",
         "p50 ≤ 5 ms", mark(med(ps.lat.p50) <= 0.005)),
        (f"hello-world GET (floor a), {p.posters} concurrent clients", f"{hc.n}", hc.p50, hc.p99, "", "", ""),
        (f"POST, {p.posters} concurrent posters × {p.posts_each}, ONE room", f"{pc.n}", med(pc.lat.p50),
         med(pc.lat.p99), "", "p50 ≤ 5 ms", mark(med(pc.lat.p50) <= 0.005)),
        (f"POST, {p.posters} concurrent posters × {p.posts_each}, a room each", f"{pr.n}", med(pr.lat.p50),
         med(pr.lat.p99), "", "(control)", ""),
    ]
    w("REQUEST LATENCY (client: write → last byte, keep-alive connections; ms)")
    w(f"  {'':<62} {'n/rep':>6} {'p50':>7} {'p99':>7}  {'vs floor p50/p99':<17} {'target':<15} status")
    for name, n, a_, b_, ratio, tgt, st in rows:
        w(f"  {name:<62} {n:>6} {ms(a_):>7} {ms(b_):>7}  {ratio:<17} {tgt:<15} {st}")
    w(f"  KV time inside the request (Server-Timing dur, median): history GET {med(h.kv.dur):.2f} ms; POST "
      f"sequential {med(ps.kv.dur):.2f} ms, one room {med(pc.kv.dur):.2f} ms, a room each {med(pr.kv.dur):.2f} ms")
    for name, c in (("one room", pc), ("a room each", pr)):
        w(f"  concurrent, {name}: statuses {dict(c.status)}, {med(c.rate):.0f} posts/s, KV ops/post mean "
          f"{statistics.mean(c.kv.ops):.1f}, p99 {pct(c.kv.ops, 99):.0f}, max {max(c.kv.ops)}; room heads "
          f"{dict(Counter(c.heads))} (each = its posts: ids 1..n, no gaps)")
    w(f"  sequential: {ps.bad} non-200")
    w(f"  server CPU per request (session CPU less idle background, /proc; 10 ms ticks, so ±): hello GET "
      f"{h.cpu_hello * 1000:.2f} ms, history GET {h.cpu_app * 1000:.2f} ms (Viceroy + fastly CLI); POST "
      f"{ps.cpu_viceroy * 1000:.2f} ms in Viceroy + {ps.cpu_pushpin * 1000:.2f} ms in Pushpin (its publish)")
    for name, c in (("one room", pc), ("a room each", pr)):
        w(f"  Little's law, {name}: {p.posters} in flight ÷ {med(c.rate):.0f} posts/s = "
          f"{p.posters / med(c.rate) * 1000:.1f} ms mean latency")
    w("")


def signed_ms(x):
    return "—" if x != x else f"{x * 1000:+.3f}"


def kv_mode(v):
    o, x = mode(Counter(v.kv.ops))
    return "—" if o == "?" else f"{o}{x}"


def delta(res, name, ref):
    """Variant name's client p50 minus ref's: the median of per-repetition differences (s)."""
    v, r = res.variants[name], res.variants[ref]
    return med([a - b for a, b in zip(v.lat.p50, r.lat.p50)])


def interleaved(w, res, ref=None, targets=None):
    """One row per variant of an Interleaved: client p50/p99 (median over repetitions), p50 minus
    the reference variant's, the server's median time to answer (Viceroy's log) and its
    difference, KV ops; targets: name -> (text, check(Δp50, Δserver, variant) -> status)."""
    w(f"  {'':<58} {'n/rep':>5} {'p50':>6} {'p99':>6} {'Δp50':>7} {'server':>6} {'Δserver':>7}  "
      f"{'KV ops':<8} {'target':<22} status")
    r = res.variants.get(ref)
    for name, label in res.labels.items():
        v = res.variants[name]
        d50 = dsrv = float("nan")
        if r is not None and name != ref:
            d50, dsrv = delta(res, name, ref), (med(v.server_ms) - med(r.server_ms)) / 1000
        tgt, check = (targets or {}).get(name, ("", None))
        st = check(d50, dsrv, v) if check else ""
        bad = sum(c for code, c in v.status.items() if code >= 300)
        w(f"  {label:<58} {res.n:>5} {ms(med(v.lat.p50)):>6} {ms(med(v.lat.p99)):>6} {signed_ms(d50):>7} "
          f"{med(v.server_ms):>6.2f} {signed_ms(dsrv):>7}  {kv_mode(v):<8} {tgt:<22} {st}"
          + (f"  {bad} non-2xx: {dict(v.status)}" if bad else ""))


def kv_plus(res, k):
    """Whether a variant's usual KV operation count is open mode's plus k."""
    base = mode(Counter(res.variants["open"].kv.ops))[0]
    return lambda v: base != "?" and mode(Counter(v.kv.ops))[0] == base + k


def within(res, limit):
    """A target: what a variant adds to open mode's p50 under limit (s), with no KV operation
    added, judged on the server's time to answer (Viceroy's log) and on the client's p50. Two
    identical stacks differ too (the A/A control): a difference over the limit by less than
    theirs is noise, neither met nor missed."""
    control, ref = res.variants["control"], res.variants["open"]
    aa = abs(delta(res, "control", "open"))
    aa_server = abs(med(control.server_ms) - med(ref.server_ms)) / 1000
    same_kv = kv_plus(res, 0)

    def check(d, dsrv, v):
        client_noise, server_noise = d - aa < limit, dsrv - aa_server < limit
        if not same_kv(v):
            return "MISSED (KV ops)"
        if dsrv < limit and d < limit:
            return "met"
        if dsrv < limit and client_noise:
            return "met on server; client: A/A noise"
        return "within A/A noise" if server_noise and client_noise else "MISSED"
    return f"Δ < {limit * 1000:.1f} ms, KV +0", check


def kv_one(res):
    """The API key's target: one KV lookup more than open mode."""
    plus_one = kv_plus(res, 1)
    return "KV +1", lambda d, dsrv, v: mark(plus_one(v))


def session(w, run):
    g, pst = run.session_get, run.session_post
    w("SESSION CHECK AND RATE LIMITER (a stack per variant, side by side, the same keys in each store; one request")
    w("of each variant per round, the first one rotating; ms. Δp50: minus open mode's, median of per-repetition")
    w("differences. server: Viceroy's log, request received → response status, median; Δserver: minus open mode's)")
    w(f"  history GET, 50 newest of {run.params.history_seed}")
    interleaved(w, g, "open", {"cookie": within(g, SESSION_TARGET), "key": kv_one(g)})
    w("  POST, sequential")
    interleaved(w, pst, "open", {"cookie": within(pst, SESSION_TARGET), "key": kv_one(pst),
                                 "limited": within(pst, LIMITER_TARGET)})
    w("  (A/A control: two identical open-mode stacks. A target is met when Δserver and Δp50 are under it; a")
    w("   difference over it by less than the A/A control's own difference is noise ('within A/A noise'). Fresh")
    w("   stacks per repetition, started in a rotating order. Passkey POSTs send the signed-in name as `from`;")
    w("   cookie POSTs send Origin and Sec-Fetch-Site as a page's fetch does)")
    w("")


def ceremonies(w, run):
    w("PASSKEY CEREMONIES (tests/softauthn.py as the authenticator; only the /verify request is timed, not the")
    w("options before it nor the authenticator's work; interleaved round by round with floor a; server as above; ms)")
    targets = {n: (f"p50 ≤ {CEREMONY_TARGET * 1000:.0f} ms", lambda d, dsrv, v: mark(med(v.lat.p50) <= CEREMONY_TARGET))
               for n in ("register", "login")}
    interleaved(w, run.ceremonies, None, targets)
    w("")


def moderation(w, run):
    w("MODERATION (a delete by the admin key's bearer in open mode, an edit by its author's session in passkey mode,")
    w("each round posting to the change's room first, untimed; a change of the newest message rewrites 1 window, of")
    w("one 60 back 50 (src/store/moderation.rs); interleaved round by round with a POST; server as above; ms)")
    interleaved(w, run.moderation)
    w("")


def delivery(w, run):
    w("DELIVERY LATENCY (message sent → its `id:` line read at the subscriber; ms; one room/channel; every message to")
    w(f"every subscriber; the paths of one size are measured interleaved, message by message, {PACE_GAP * 1000:.0f} ms apart)")
    w(f"  {'subs':>5}  {'path':<46} {'msgs':>5} {'p50':>7} {'p99':>7} {'first':>7} {'spread':>7} {'missing':>7} "
      f"{'dups':>4}  {'p50/p99 vs floor':<16} {'target':<27} status")
    for m in run.delivery:
        w(f"  Pushpin publish shaper {shaper_name(m.message_rate)}"
          + (": Fastly Fanout does not shape" if m.message_rate is None else ""))
        for n, dr in m.runs.items():
            for kind in PATHS:
                if kind in dr.paths:
                    w(delivery_row(n, kind, dr.paths[kind], dr.paths.get("floor")))
    w("  msgs: messages per subscriber, all repetitions; missing/dups: (message, subscriber) pairs; first: median over")
    w("  messages of the fastest subscriber's latency (what happens before fan-out starts); spread: median of slowest")
    w("  minus fastest (the fan-out itself). 'app' subscribers attach to Pushpin with Pushpin-Route: self, as Fanout")
    w("  sits in front in production, where the service is not in the stream path; the handoff rows connect to")
    w("  Viceroy, which hands off and then proxies every stream's bytes itself (local-only). Shaper on: Pushpin holds")
    w("  a message published within ~25 ms of the previous delivery until its next tick (the pause above avoids that).")
    w("")


def delivery_row(n, kind, d, floor):
    p50, p99 = med(d.lat.p50), med(d.lat.p99)
    ratio = tgt = st = ""
    if kind != "floor" and floor:
        f50, f99 = p50 / med(floor.lat.p50), p99 / med(floor.lat.p99)
        ratio = f"{f50:.2f}× / {f99:.2f}×"
        if kind == "app" and n == DELIVERY_TARGET_SUBS:
            tgt = "p99 ≤ 1.2× floor, 0 missing"
            st = mark(f99 <= 1.2 and d.missing == 0 and d.subs == n)
    subs = f"{d.subs}" + ("" if d.subs == d.wanted else f"/{d.wanted}!")
    return (f"  {subs:>5}  {PATHS[kind]:<46} {d.sent:>5} {ms(p50):>7} {ms(p99):>7} {ms(med(d.first)):>7} "
            f"{ms(med(d.spread)):>7} {d.missing:>7} {d.dups:>4}  {ratio:<16} {tgt:<27} {st}")


def load_check(w, run):
    w("LOAD GENERATOR CHECK (delivery phases, from the first measured message to the last)")
    for m in run.delivery:
        w(f"  shaper {shaper_name(m.message_rate)}")
        for n, dr in m.runs.items():
            w(f"  {n:>5} subs: {dr.cpu.summary()}; load avg {dr.load[0]:.2f} → {dr.load[1]:.2f}")
            for kind in PATHS:
                if kind in dr.paths:
                    w(load_row(dr.paths[kind]))
    w("  (viceroy includes its idle background threads, ~0.1 core here; bench = this process: subscribers,")
    w("   senders and parsing on one asyncio loop)")
    w("")


def load_row(d):
    per = d.bench_cpu / max(d.deliveries, 1) * 1e6
    return (f"         {d.kind:<8} bench {per:.0f} µs CPU per delivery ({d.deliveries} deliveries); "
            f"subscribing took {d.connect_s:.1f}s; warm-up {'ok' if d.warmup_ok else 'INCOMPLETE'}"
            + (f"; {d.lost_conns} streams closed" if d.lost_conns else "")
            + (f"; connect errors {d.errors}" if d.errors else ""))


def parts(x):
    return f"code {x.code:,}, data {x.data:,} (of it static/ assets {x.assets:,})"


def sizes(w, run):
    s = run.sizes
    w("SIZES (code/data: the wasm's sections; static/ assets: the files build.rs embeds, each raw, gzip and brotli)")
    w(f"  {'release wasm (bin/main.wasm: cargo, then scripts/shrink)':<66} {s.wasm:>10,} B   {parts(s.parts)}")
    w(f"  {'package: fastly compute pack --wasm-binary → ' + s.pkg_name:<66} {s.pkg:>10,} B   "
      f"target ≤ 512 KiB (524,288 B)  {mark(s.pkg <= 524_288)}")
    w(f"  {'hello-world floor wasm (for scale)':<66} {s.hello_wasm:>10,} B")
    if b := s.baseline:
        dw, dp = s.wasm - b.wasm, s.pkg - b.pkg
        w(f"  --size-baseline {b.rev}: {textwrap.shorten(b.commit, 100, placeholder=' …')}")
        w(f"  {'  its release wasm':<66} {b.wasm:>10,} B   {parts(b.parts)}")
        w(f"  {'  its package':<66} {b.pkg:>10,} B")
        w(f"  {f'wasm added since {b.rev} ({dw / 1024:+.1f} KiB)':<66} {dw:>+10,} B   "
          f"target: auth < {AUTH_WASM_TARGET // 1024} KiB  {mark(dw < AUTH_WASM_TARGET)}")
        w(f"  {'  of it code / data / static/ assets':<66} {s.parts.code - b.parts.code:>+10,} B   "
          f"{s.parts.data - b.parts.data:+,} B / {s.parts.assets - b.parts.assets:+,} B")
        w(f"  {f'package added since {b.rev} ({dp / 1024:+.1f} KiB)':<66} {dp:>+10,} B")
        w(f"  (the difference is all that changed since {b.rev}, {b.since} commit(s) and the working tree's changes:")
        w("   an upper bound for what auth alone adds)")
    w("")


def kv_ops(w, run):
    p, h, ps, pc, kv = run.params, run.history, run.post_seq, run.post_conc, run.kv
    w("KV OPERATIONS PER REQUEST (Server-Timing: kv;desc=\"N ops\";dur=D — ops, and median KV time in ms)")

    def row(label, ops, dur, target=None, ok=None, extra=""):
        t = f"target ≤ {target:<3} {mark(ok)}" if target is not None else ""
        d = "" if dur is None or dur != dur else f"{dur:.2f}"
        w(f"  {label:<54} {ops!s:<6} {d:>6}   {t:<17} {extra}")

    ho, hx = mode(Counter(h.kv.ops))
    row("GET history (50 newest)", ho, med(h.kv.dur), 2, ho != "?" and ho <= 2, hx)
    po, px = mode(Counter(ps.kv.ops))
    row("POST, uncontended (sequential, room not empty)", po, med(ps.kv.dur), 3, po != "?" and po <= 3, px)
    row("POST, first message of an empty room", mode(Counter(kv.post_first.ops))[0], med(kv.post_first.dur))
    row(f"POST, {p.posters} concurrent posters, one room", f"{statistics.mean(pc.kv.ops):.1f}",
        med(pc.kv.dur), extra=f"mean; p99 {pct(pc.kv.ops, 99):.0f}, max {max(pc.kv.ops)}")
    for label, sample in (("GET history ?before=newest-100&limit=100", kv.paged),
                          ("GET history ?limit=100", kv.hist100)):
        o, x = mode(Counter(sample.kv.ops))
        row(label, o, med(sample.kv.dur), extra=f"{sample.messages} messages{x}")
    for k, r in kv.resume.items():
        limit = 2 + -(-k // 50)
        row(f"SSE resume, Last-Event-ID = newest-{k} (missed {k})", r.ops, r.dur, limit,
            r.ops is not None and r.ops <= limit and r.replayed == k, f"{r.replayed} message events replayed")
    w("  (resume: GET /rooms/<r>/events/ at the service → handoff → Pushpin → signed call-back; the header is the")
    w("   call-back's, passed on by Pushpin)")
    w("")


def heap(w, run):
    w("WEBASSEMBLY HEAP PER REQUEST (Viceroy log: \"request completed using X MiB of WebAssembly heap\"; "
      "Viceroy-measured execution time)")
    vl, hl = run.vlog, run.hello_log
    for name, lg in (("hello GET", hl), *[(k, vl) for k in sorted(vl.heap)]):
        hs, ds = lg.heap.get(name, []), lg.dur.get(name, [])
        if not hs:
            continue
        w(f"  {name:<28} heap median {med(hs):.1f} MiB, max {max(hs):.1f} MiB; "
          f"execution median {med(ds):.2f} ms, p99 {pct(ds, 99):.2f} ms   ({len(hs)} requests)")
    w("")
