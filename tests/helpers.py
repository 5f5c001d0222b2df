"""Small HTTP and SSE clients over the standard library, so the tests see exactly what goes
over the wire (no client-side redirects, retries, header normalisation or JSON leniency)."""

import http.client
import json
import socket
import threading
import urllib.parse
import uuid

TIMEOUT = 10


def random_room(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage: case-insensitive .get()
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8")

    @property
    def media_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {dict(self.headers)} {self.body[:300]!r}>"


def _split(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port


def request(url, method, path, body=b"", headers=None, timeout=TIMEOUT):
    """One request on a fresh connection, with exactly the given path (already encoded),
    headers and body. No Content-Type is added; Content-Length is, when there is a body."""
    host, port = _split(url)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn.request(method, path, body=body or None, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def get(url, path, **kw):
    return request(url, "GET", path, **kw)


def get_json(url, path, **kw):
    """GET that must answer 200 application/json; returns the parsed body."""
    r = get(url, path, **kw)
    assert r.status == 200, r
    assert r.media_type == "application/json", r
    return r.json()


def post_form(url, path, fields, **kw):
    """fields: dict or list of pairs; values are str (UTF-8 percent-encoded)."""
    body = urllib.parse.urlencode(fields, encoding="utf-8")
    return request(url, "POST", path, body,
                   {"Content-Type": "application/x-www-form-urlencoded"}, **kw)


def post_json(url, path, obj, **kw):
    body = obj if isinstance(obj, (bytes, str)) else json.dumps(obj, ensure_ascii=False)
    return request(url, "POST", path, body, {"Content-Type": "application/json"}, **kw)


def publish_to_pushpin(stack, item):
    """Publishes one GRIP item straight to the stack's Pushpin, as the service would."""
    r = post_json(f"http://127.0.0.1:{stack.publish_port}", "/publish/", {"items": [item]})
    assert r.status == 200, r


def post_ok(url, room, sender, text, kind="form"):
    """Posts a message (as a form, or kind="json") that must be accepted: 200 with JSON.
    Returns the stored message."""
    post = post_form if kind == "form" else post_json
    r = post(url, f"/rooms/{room}/messages/", {"from": sender, "text": text})
    assert r.status == 200, r
    assert r.media_type == "application/json", r
    return r.json()


class Recording:
    """What SSEClient and wsclient.WSClient share: a reader thread that records what
    arrives under a condition, and use as a context manager (start on entry unless
    started, close on exit)."""

    def __init__(self):
        self.closed = False  # the server ended the stream
        self._cond = threading.Condition()
        self._thread = None

    def __enter__(self):
        return self if self._thread else self.start()

    def __exit__(self, *exc):
        self.close()

    def _wait(self, records, predicate, timeout, what):
        """Waits until predicate(records) is true; returns a copy of them. Raises
        AssertionError with what(), a description of the connection as it is then, and
        what arrived if the timeout passes or the connection ends first."""
        with self._cond:
            ok = self._cond.wait_for(lambda: predicate(records) or self.closed, timeout)
            if ok and predicate(records):
                return list(records)
            why = "closed" if self.closed else f"timed out after {timeout}s"
            raise AssertionError(f"{what()}: {why}; got {records!r}")


class SSEClient(Recording):
    """Reads a text/event-stream in a background thread and records every frame as an
    (event, id, data) tuple; event defaults to "message", id is None when the frame has none.
    Frames with no data (keep-alives) are recorded too.

        with SSEClient(stack.url, "/rooms/r/events/") as sse:
            sse.wait_for(lambda evs: len(evs) >= 2, timeout=10)
    """

    def __init__(self, url, path, headers=None, timeout=TIMEOUT):
        super().__init__()
        self.url, self.path = url, path
        self.headers = {"Accept": "text/event-stream", **(headers or {})}
        self.timeout = timeout
        self.status = None
        self.response_headers = None
        self.events = []
        self.error = None
        self._conn = None
        self._sock = None

    def start(self):
        """Connects and waits for the response head (bounded by timeout)."""
        host, port = _split(self.url)
        self._conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        self._conn.request("GET", self.path, headers=self.headers)
        # Kept because http.client forgets it when the response says Connection: close.
        self._sock = self._conn.sock
        resp = self._conn.getresponse()
        self.status, self.response_headers = resp.status, resp.headers
        # From here the reader blocks without a timeout (a timeout mid-chunk would corrupt
        # http.client's chunked decoding); close() unblocks it by shutting the socket down.
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._read, args=(resp,), daemon=True)
        self._thread.start()
        return self

    def _read(self, resp):
        event, event_id, data = None, None, []
        try:
            while True:
                line = resp.readline()
                if not line:
                    break
                line = line.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if event is not None or event_id is not None or data:
                        self._add((event or "message", event_id, "\n".join(data)))
                    event, event_id, data = None, None, []
                    continue
                if line.startswith(":"):
                    continue  # comment (padding)
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    event = value
                elif field == "id":
                    event_id = value
                elif field == "data":
                    data.append(value)
        except Exception as e:  # noqa: BLE001 - reported through .error, read by the test
            self.error = e
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    def _add(self, frame):
        with self._cond:
            self.events.append(frame)
            self._cond.notify_all()

    def wait_for(self, predicate, timeout=TIMEOUT):
        """Waits until predicate(events) is true; returns a copy of the events."""
        return self._wait(self.events, predicate, timeout,
                          lambda: f"SSE {self.path}" + (f" (error {self.error!r})" if self.error else ""))

    def wait_for_event(self, event, count=1, timeout=TIMEOUT):
        """Waits for `count` frames of type `event`; returns those frames."""
        evs = self.wait_for(lambda es: sum(e[0] == event for e in es) >= count, timeout)
        return [e for e in evs if e[0] == event]

    def close(self):
        if self._sock:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._conn:
            self._conn.close()
        if self._thread:
            self._thread.join(timeout=5)
