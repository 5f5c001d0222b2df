"""WebAssembly heap and Viceroy-measured execution time per kind of request, read from the
lines Viceroy logs for every request: nothing in the service has to report them, and the
figures are Viceroy's, not the client's.

Viceroy prints "completed in" in whole milliseconds from 1 ms up, too coarse to compare two
variants of a request; `resp` is therefore taken from the lines' microsecond timestamps: from
"handling request" to "response status", the time the service took to answer (without what a
POST does after answering, such as finishing its publish)."""

import datetime
import re
from collections import defaultdict
from pathlib import Path

REQ_RE = re.compile(r"request\{id=(\d+)\}: handling request (\S+) (\S+)")
HEAP_RE = re.compile(r"request\{id=(\d+)\}: request completed using ([\d.]+) (KiB|MiB|GiB) of WebAssembly heap")
DUR_RE = re.compile(r"request\{id=(\d+)\}: request completed in ([\d.]+)(µs|ms|s)\b")
RESP_RE = re.compile(r"request\{id=(\d+)\}: response status")
UNIT = {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "µs": 1e-3, "ms": 1, "s": 1000}


class ViceroyLog:
    """Heap (MiB), duration and time to the response (ms) per request kind, over every log
    added."""

    def __init__(self):
        self.heap = defaultdict(list)
        self.dur = defaultdict(list)
        self.resp = defaultdict(list)

    def add(self, path, classify):
        """Reads one viceroy.log; classify(method, url) names the kind of each request."""
        try:
            text = Path(path).read_text(errors="replace")
        except OSError:
            return
        kinds, began = {}, {}
        for line in text.splitlines():
            if m := REQ_RE.search(line):
                kinds[m.group(1)] = classify(m.group(2), m.group(3))
                began[m.group(1)] = stamp(line)
            elif m := RESP_RE.search(line):
                if (k := kinds.get(m.group(1))) and began.get(m.group(1)) and (t := stamp(line)):
                    self.resp[k].append((t - began[m.group(1)]).total_seconds() * 1000)
            elif m := HEAP_RE.search(line):
                if k := kinds.get(m.group(1)):
                    self.heap[k].append(float(m.group(2)) * UNIT[m.group(3)])
            elif m := DUR_RE.search(line):
                if k := kinds.get(m.group(1)):
                    self.dur[k].append(float(m.group(2)) * UNIT[m.group(3)])


def stamp(line):
    """The timestamp a log line starts with, or None."""
    try:
        return datetime.datetime.fromisoformat(line.split(None, 1)[0])
    except (ValueError, IndexError):
        return None


def split_url(url):
    """A logged URL -> (host:port, path with its query)."""
    hostport, _, path = url.split("://", 1)[-1].partition("/")
    return hostport, "/" + path


def pattern_classifier(rules):
    """Names a request by the first (method, regex, kind) rule whose regex matches its whole
    path and query; a request no rule matches is left out."""
    compiled = [(method, re.compile(rx), kind) for method, rx, kind in rules]

    def classify(method, url):
        path = split_url(url)[1]
        return next((kind for m, rx, kind in compiled if m == method and rx.fullmatch(path)), None)
    return classify


def app_classifier(pushpin_port):
    """Kinds of edge-chat requests; an SSE request from Pushpin's port is the signed
    call-back, any other is the client's request that Viceroy hands off."""
    def classify(method, url):
        hostport, path = split_url(url)
        if "/events/" in path:
            return "SSE call-back (Grip-Sig)" if hostport.endswith(f":{pushpin_port}") else "SSE handoff"
        if "/messages/" in path:
            if method == "POST":
                return "POST message"
            return "GET history (paged)" if "before=" in path else "GET history"
        return f"{method} other"
    return classify


def hello_classifier(method, url):
    return "hello GET"
