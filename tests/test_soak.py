"""The fault soak in small (scripts/soak --quick, about 30 s): posters and EventSource-like
subscribers in two rooms while Pushpin restarts and the publish API answers 503, on a stack of
its own. Its publish outage leaves subscribers more than 100 messages behind, so recovery has
to page. The full soak (scripts/soak) is the same code at issue 9's size."""

import os
from pathlib import Path

from soak import QUICK, WASM, Params, run_soak, table
from soak_wire import Dechunker, SseParser


def test_a_small_soak_delivers_every_message_once_in_order_across_faults():
    wasm = Path(os.environ.get("EDGE_CHAT_WASM", WASM))
    result = run_soak(wasm, Params(**QUICK))
    report = "\n" + table([result])
    # The faults happened: publishes were refused, and every subscriber lost its stream once.
    assert result.publishes["refused"] > 0, report
    assert result.streams >= 2 * result.subscribers, report
    assert result.accepted == result.planned, report
    assert result.history_ok, report
    assert (result.missing.total, result.duplicated.total, result.out_of_order.total) == (0, 0, 0), report
    assert result.incomplete == 0, report
    assert result.ok, report


def test_the_soak_reads_events_split_anywhere_in_a_chunked_stream():
    """The soak's own SSE reader, on every split point: its counts are only as good as it."""
    events = (b"event: stream-open\ndata:\n\n"
              b"event: message\nid: 7\ndata: {\"text\":\"a\\nb\"}\n\n"
              b": comment\r\nevent: message\r\nid: 8\r\ndata: x\r\ndata: y\r\n\r\n")
    raw = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (events[:30], events[30:]))
    raw += b"0\r\n\r\n"
    want = [(b"stream-open", None, b""), (b"message", b"7", b'{"text":"a\\nb"}'),
            (b"message", b"8", b"x\ny")]
    for cut in range(1, len(raw)):
        dechunker, parser = Dechunker(), SseParser()
        got = parser.feed(dechunker.feed(raw[:cut])) + parser.feed(dechunker.feed(raw[cut:]))
        assert got == want, cut
        assert dechunker.ended
