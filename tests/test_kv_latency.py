"""The service at Fastly's KV latency, and with a KV store that lists keys in no order.

Viceroy's KV answers in microseconds and lists keys lexicographically; Fastly's is a round
trip to the store's primary (20-50 ms) and documents no list order. Two local-only switches
(config `kv_delay_ms`, `kv_list_order`; see README "Configuration") make the local stack
behave that way, and these tests hold the append's promises under them: ids 1..n without
gaps or repeats, each poster told its own id, history and streams equal to what was
accepted, and any refusal a clean 503 with Retry-After.
"""

import re
from concurrent.futures import ThreadPoolExecutor

from budget import assert_within_trial_limits
from helpers import SSEClient, get, get_json, post_form, random_room

DELAY_MS = 30
POSTERS = 20
KV_TIMING = re.compile(r'kv;desc="(\d+) ops?";dur=([\d.]+)')


def kv_timing(resp):
    """(KV operations, KV milliseconds) from a response's Server-Timing."""
    m = KV_TIMING.search(resp.headers.get("Server-Timing", ""))
    assert m, resp
    return int(m.group(1)), float(m.group(2))


def post_all(url, room, texts, workers):
    """Posts every text at once from `workers` threads -> {text: response}."""
    def one(text):
        return text, post_form(url, f"/rooms/{room}/messages/", {"from": "kv", "text": text})
    with ThreadPoolExecutor(workers) as pool:
        return dict(pool.map(one, texts))


def accepted_ids(answers):
    """{id: text} of the accepted posts; fails on any answer but 200 or a clean 503."""
    ids = {}
    for text, r in answers.items():
        if r.status == 503:
            assert r.headers.get("Retry-After", "").isdigit(), r
            assert r.json()["error"] == "unavailable", r
            continue
        assert r.status == 200, r
        msg = r.json()
        assert msg["text"] == text, r
        assert msg["id"] not in ids, f"id {msg['id']} given twice"
        ids[msg["id"]] = text
    return ids


def history(url, room):
    """(id, text) of the room's messages, oldest first (the API lists newest first)."""
    messages = get_json(url, f"/rooms/{room}/messages/?limit=100")["messages"]
    return [(m["id"], m["text"]) for m in reversed(messages)]


def test_posts_and_reads_at_fastly_kv_latency(make_stack):
    s = make_stack(config={"kv_delay_ms": str(DELAY_MS)})
    room = random_room("kv-slow")
    first = post_form(s.url, f"/rooms/{room}/messages/", {"from": "kv", "text": "hello"})
    assert first.status == 200, first
    ops, dur = kv_timing(first)
    # Every KV call of the post (list, add; no batches) paused for the delay.
    assert ops >= 2 and dur >= DELAY_MS * ops, first.headers.get("Server-Timing")
    # The post left this POP a copy of the room's head: reading it waits for no KV.
    read = get(s.url, f"/rooms/{room}/messages/")
    assert read.status == 200 and [m["text"] for m in read.json()["messages"]] == ["hello"]
    assert kv_timing(read) == (0, 0.0), read.headers.get("Server-Timing")

    # 20 posters at once into one room: they queue at this POP, and the turn's holder
    # appends what is queued together (group commit).
    busy = random_room("kv-slow-busy")
    answers = post_all(s.url, busy, [f"poster {i}" for i in range(POSTERS)], POSTERS)
    ids = accepted_ids(answers)
    refused = POSTERS - len(ids)
    print(f"\n{POSTERS} concurrent posters at {DELAY_MS} ms/op: {len(ids)} accepted, "
          f"{refused} refused with 503")
    assert refused <= POSTERS // 4, f"{refused} of {POSTERS} refused"
    assert sorted(ids) == list(range(1, len(ids) + 1)), "ids 1..n, no gaps"
    stored = history(s.url, busy)
    assert stored == sorted(ids.items()), "history is what was accepted"
    for r in answers.values():
        assert_within_trial_limits(r, "a post at 30 ms per KV operation")


def test_an_unordered_kv_list_still_gives_contiguous_ids(make_stack):
    # Every listed page reaches the code shuffled: finding a room's head by list order
    # alone would reuse or skip ids.
    s = make_stack(config={"kv_list_order": "shuffle"})
    room = random_room("kv-shuffled")
    texts = [f"m{i}" for i in range(60)]  # more than a window (50) and a head page (5)
    with SSEClient(s.url, f"/rooms/{room}/events/") as sse:
        ids = accepted_ids(post_all(s.url, room, texts, 6))
        assert sorted(ids) == list(range(1, 61)), "every post accepted, ids 1..60"
        frames = sse.wait_for_event("message", 60)
    assert [int(f[1]) for f in frames] == list(range(1, 61)), "the stream, in order"
    assert history(s.url, room) == sorted(ids.items())
    # Resuming from 55 replays 56..60.
    with SSEClient(s.url, f"/rooms/{room}/events/", {"Last-Event-ID": "55"}) as resumed:
        frames = resumed.wait_for_event("message", 5)
    assert [int(f[1]) for f in frames] == [56, 57, 58, 59, 60]
