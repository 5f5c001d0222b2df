"""A small fuzz run in the suite: a few hundred generated, mostly malformed requests (fixed
seed, so a failure reproduces) straight at the service and through Pushpin, on the session's
stack. scripts/fuzz is the full-size run; both share scripts/fuzz.py's run_fuzz.

Why in the suite: a panic in the service is a 500 with a wasm backtrace for whoever sent the
request, and input parsing changes often. Asserts: no 5xx and no panic from the service, no
hang on the service port, seeded history intact."""

from fuzz import run_fuzz

COUNT = 400  # per target
SEED = 20261123


def test_malformed_requests_get_no_5xx_panic_or_hang_and_leave_history_intact(stack):
    report = run_fuzz(stack, COUNT, SEED, seed_rooms=(2, 5))
    text = report.text()
    service = report.target("service")
    # The run must have reached the service's code, not died in a parser up front.
    assert service.outcomes["answered"] >= 0.8 * COUNT, text
    assert service.stored > 0 and service.statuses[400] > 0, text
    assert [t.service_5xx for t in report.targets] == [0, 0], text
    assert report.panic_count == 0, text
    assert service.outcomes["hang"] == 0 and service.outcomes["refused"] == 0, text
    assert report.integrity.intact, text
