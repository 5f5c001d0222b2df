"""What a run measures, as dataclasses: the scenarios fill them in, report.py prints them.
Latencies are seconds; p50/p99 lists hold one value per repetition (the table shows their
median)."""

from collections import Counter
from dataclasses import dataclass, field

from .measure import CpuMeter, kv_ops, pct
from .viceroy_log import ViceroyLog

FANOUT_LIKE = None  # message_rate unset: Pushpin's publish shaper off, as Fastly Fanout


def shaper_name(message_rate):
    return "off" if message_rate is FANOUT_LIKE else f"on (message_rate={message_rate})"


@dataclass
class Params:
    """How much a run does (--quick or full), in which shaper modes it measures delivery, and
    the revision whose build it compares sizes with (--size-baseline, or None)."""
    quick: bool
    message_rates: list[int | None]  # delivery modes: FANOUT_LIKE or deliveries/s for Pushpin's shaper
    size_baseline: str | None
    reps: int
    seq_posts: int
    posters: int
    posts_each: int
    history_seed: int
    history_n: int
    delivery: dict[int, int]  # subscribers -> messages per repetition
    handoff_subs: list[int]  # subscriber counts that also measure the handoff path
    resume_k: list[int]  # resume with this many messages missed
    auth_get_n: int  # history GETs per variant per repetition (session check, identity.py)
    auth_post_n: int  # POSTs per variant per repetition (session check, rate limiter)
    ceremonies: int  # sign-ups and sign-ins per repetition
    moderation_rounds: int  # changes per variant per repetition (moderation.py)
    presence_secs: int = 60  # real seconds of typing in the presence-cost scenario (presence.py): one cap window
    round_trips_n: int = 150  # requests per kind and delay (round_trips.py)
    round_trips_cold: int = 20  # cold history GETs: one room each

    @classmethod
    def of(cls, quick, message_rates, size_baseline=None):
        if quick:
            return cls(quick, message_rates, size_baseline, reps=1, seq_posts=60, posters=20, posts_each=5,
                       history_seed=210, history_n=150, delivery={1: 30, 100: 15, 1000: 8},
                       handoff_subs=[100], resume_k=[0, 1, 50, 100], auth_get_n=500, auth_post_n=150,
                       ceremonies=30, moderation_rounds=30, round_trips_n=40, round_trips_cold=10)
        return cls(quick, message_rates, size_baseline, reps=3, seq_posts=300, posters=20, posts_each=25,
                   history_seed=250, history_n=500, delivery={1: 100, 100: 60, 1000: 30},
                   handoff_subs=[1, 100, 1000], resume_k=[0, 1, 10, 49, 50, 51, 100], auth_get_n=1000,
                   auth_post_n=500, ceremonies=100, moderation_rounds=60)


@dataclass
class Latency:
    p50: float
    p99: float
    n: int


@dataclass
class Percentiles:
    """p50 and p99 of each repetition's latencies."""
    p50: list = field(default_factory=list)
    p99: list = field(default_factory=list)

    def add(self, latencies):
        self.p50.append(pct(latencies, 50))
        self.p99.append(pct(latencies, 99))


@dataclass
class KvFigures:
    """KV operations and KV ms per request, from Server-Timing (a request without it is left out)."""
    ops: list = field(default_factory=list)
    dur: list = field(default_factory=list)

    def add(self, headers):
        ops, dur = kv_ops(headers)
        if ops is not None:
            self.ops.append(ops)
            self.dur.append(dur)


@dataclass
class History:
    """History GET interleaved with the hello-world floor (a), on one stack."""
    n: int
    room_size: int
    app: Percentiles = field(default_factory=Percentiles)
    hello: Percentiles = field(default_factory=Percentiles)
    kv: KvFigures = field(default_factory=KvFigures)
    cpu_hello: float = float("nan")  # server CPU seconds per request
    cpu_app: float = float("nan")


@dataclass
class KvSample:
    """A few identical GETs: their KV figures and how many messages each returned."""
    kv: KvFigures
    messages: int


@dataclass
class Resume:
    """An SSE resume with Last-Event-ID = newest - k: the call-back's KV figures and how many
    message events were replayed."""
    ops: int
    dur: float
    replayed: int


@dataclass
class KvCosts:
    paged: KvSample  # ?before=newest-100&limit=100
    hist100: KvSample  # ?limit=100
    resume: dict[int, Resume]  # by messages missed
    post_first: KvFigures  # the first POST to an empty room


@dataclass
class PostSeq:
    n: int
    lat: Percentiles = field(default_factory=Percentiles)
    kv: KvFigures = field(default_factory=KvFigures)
    bad: int = 0  # non-200 answers
    cpu_viceroy: float = float("nan")  # seconds per POST
    cpu_pushpin: float = float("nan")


@dataclass
class PostConc:
    """Concurrent posters: one room for all, or a room each."""
    n: int
    lat: Percentiles = field(default_factory=Percentiles)
    kv: KvFigures = field(default_factory=KvFigures)
    status: Counter = field(default_factory=Counter)
    rate: list = field(default_factory=list)  # posts/s per repetition
    heads: list = field(default_factory=list)  # each room's newest id afterwards


@dataclass
class Variant:
    """One way of sending a request, measured interleaved with the others (rounds.py)."""
    lat: Percentiles = field(default_factory=Percentiles)
    kv: KvFigures = field(default_factory=KvFigures)
    status: Counter = field(default_factory=Counter)
    server_ms: list = field(default_factory=list)  # Viceroy's execution time per request (its log)

    def add(self, samples):
        """One repetition's [(seconds, status, headers)]."""
        self.lat.add([s[0] for s in samples])
        for _, st, hd in samples:
            self.status[st] += 1
            self.kv.add(hd)


@dataclass
class Interleaved:
    """Variants of a request measured round by round, one of each per round."""
    n: int  # requests per variant per repetition
    labels: dict[str, str]  # variant name -> what the table calls it, in table order
    variants: dict[str, Variant] = field(default_factory=dict)

    def variant(self, name):
        return self.variants.setdefault(name, Variant())


@dataclass
class PathResult:
    """One delivery path (floor, app, handoff) at one subscriber count, all repetitions."""
    kind: str
    wanted: int = 0
    subs: int = 0  # connected
    connect_s: float = 0.0
    errors: list = field(default_factory=list)
    warmup_ok: bool = False
    lat: Percentiles = field(default_factory=Percentiles)
    first: list = field(default_factory=list)
    spread: list = field(default_factory=list)
    missing: int = 0  # (message, subscriber) pairs
    dups: int = 0
    sent: int = 0  # messages per subscriber
    bench_cpu: float = 0.0
    lost_conns: int = 0

    @property
    def deliveries(self):
        return self.sent * self.subs - self.missing


@dataclass
class DeliveryRun:
    """Every path at one subscriber count, measured interleaved."""
    paths: dict[str, PathResult]  # by kind
    cpu: CpuMeter  # over the measured rounds
    load: tuple  # 1-minute load average before and after


@dataclass
class ShaperMode:
    message_rate: int | None  # FANOUT_LIKE or deliveries/s
    runs: dict[int, DeliveryRun] = field(default_factory=dict)  # by subscribers


@dataclass
class WasmParts:
    """What a wasm's bytes are: its code and data sections, and the static/ files embedded in
    the data (raw, gzip and brotli copies)."""
    code: int
    data: int
    assets: int


@dataclass
class SizeBaseline:
    """The build of another revision (--size-baseline), packed the same way."""
    rev: str
    commit: str  # its short hash and subject
    since: int  # commits from it to HEAD
    wasm: int
    pkg: int
    parts: WasmParts


@dataclass
class Sizes:
    wasm: int
    hello_wasm: int
    pkg: int
    pkg_name: str
    parts: WasmParts
    baseline: SizeBaseline | None = None


@dataclass
class Run:
    params: Params
    sizes: Sizes
    history: History
    hello_conc: Latency
    kv: KvCosts
    post_seq: PostSeq
    post_conc: PostConc
    post_conc_rooms: PostConc
    delivery: list[ShaperMode]  # in the order of params.message_rates
    session_get: Interleaved  # identity.py: history GET by mode and credential
    session_post: Interleaved  # ... and POST, with the rate limiter's variant
    ceremonies: Interleaved
    moderation: Interleaved
    vlog: ViceroyLog  # of every app stack
    hello_log: ViceroyLog
    load: tuple  # os.getloadavg() before and after
    elapsed: float
    presence: object = None  # presence.PresenceCost
    kv_latency: list = field(default_factory=list)  # kv_latency.AtDelay per delay
    round_trips: list = field(default_factory=list)  # round_trips.AtDelay per delay
