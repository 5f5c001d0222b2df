"""WebAssembly heap and Viceroy-measured execution time per kind of request, read from the
lines Viceroy logs for every request: nothing in the service has to report them, and the
figures are Viceroy's, not the client's."""

import re
from collections import defaultdict
from pathlib import Path

REQ_RE = re.compile(r"request\{id=(\d+)\}: handling request (\S+) (\S+)")
HEAP_RE = re.compile(r"request\{id=(\d+)\}: request completed using ([\d.]+) (KiB|MiB|GiB) of WebAssembly heap")
DUR_RE = re.compile(r"request\{id=(\d+)\}: request completed in ([\d.]+)(µs|ms|s)\b")
UNIT = {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "µs": 1e-3, "ms": 1, "s": 1000}


class ViceroyLog:
    """Heap (MiB) and duration (ms) per request kind, over every log added."""

    def __init__(self):
        self.heap = defaultdict(list)
        self.dur = defaultdict(list)

    def add(self, path, classify):
        """Reads one viceroy.log; classify(method, url) names the kind of each request."""
        try:
            text = Path(path).read_text(errors="replace")
        except OSError:
            return
        kinds = {}
        for line in text.splitlines():
            if m := REQ_RE.search(line):
                kinds[m.group(1)] = classify(m.group(2), m.group(3))
            elif m := HEAP_RE.search(line):
                if k := kinds.get(m.group(1)):
                    self.heap[k].append(float(m.group(2)) * UNIT[m.group(3)])
            elif m := DUR_RE.search(line):
                if k := kinds.get(m.group(1)):
                    self.dur[k].append(float(m.group(2)) * UNIT[m.group(3)])


def app_classifier(pushpin_port):
    """Kinds of edge-chat requests; an SSE request from Pushpin's port is the signed
    call-back, any other is the client's request that Viceroy hands off."""
    def classify(method, url):
        hostport, _, path = url.split("://", 1)[-1].partition("/")
        path = "/" + path
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
