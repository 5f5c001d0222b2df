"""The wire side of scripts/smoke: one service (base URL, identity, timeout), its requests,
and the SSE and WebSocket readers whose frames a check waits for. Standard library plus the
`websockets` package; every wait is bounded by the service's timeout."""

import http.client
import json
import ssl
import threading
import urllib.parse
import uuid

from websockets.sync.client import connect as ws_connect

# Longest observation shown in the table.
OBSERVATION_MAX = 110


class CheckFailed(Exception):
    pass


class Service:
    """The service under test: its base URL, identity and timeout."""

    def __init__(self, base, api_key, timeout):
        url = urllib.parse.urlsplit(base)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise SystemExit(f"smoke: {base!r} is not an http(s) URL")
        self.scheme, self.host, self.port = url.scheme, url.hostname, url.port
        self.base = f"{url.scheme}://{url.netloc}"
        self.api_key = api_key
        self.timeout = timeout
        self.nick = f"smoke-{uuid.uuid4().hex[:6]}"

    def connection(self):
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def headers(self, extra=None):
        sent = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        sent.update(extra or {})
        return sent

    def request(self, method, path, body=None, headers=None):
        """(status, parsed JSON or text) of one request on a fresh connection."""
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=self.headers(headers))
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw.decode("utf-8", "replace")

    def post(self, room, text):
        """Posts a message; returns it as stored (its id, its from)."""
        fields = {"text": text} if self.api_key else {"from": self.nick, "text": text}
        status, body = self.request("POST", f"/rooms/{room}/messages/",
                                    urllib.parse.urlencode(fields),
                                    {"Content-Type": "application/x-www-form-urlencoded"})
        expect(status == 200 and isinstance(body, dict) and "id" in body,
               f"POST /rooms/{room}/messages/ -> {status} {brief(body)}")
        return body

    def stream(self, path, last_event_id=None):
        extra = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            extra["Last-Event-ID"] = last_event_id
        return Stream(self, path, extra)

    def socket(self, room):
        scheme = "wss" if self.scheme == "https" else "ws"
        uri = f"{scheme}://{urllib.parse.urlsplit(self.base).netloc}/rooms/{room}/ws"
        return Socket(ws_connect(uri, additional_headers=self.headers(),
                                 open_timeout=self.timeout, close_timeout=2), self.timeout)


def expect(ok, observation):
    if not ok:
        raise CheckFailed(observation)


def brief(value):
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= OBSERVATION_MAX else text[:OBSERVATION_MAX - 1] + "…"


def room_name():
    return f"smoke-{uuid.uuid4().hex[:10]}"


class Recorder:
    """Frames a reader thread collects, and waiting for one that matches."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.frames = []
        self.ended = None
        self.cond = threading.Condition()

    def add(self, frame):
        with self.cond:
            self.frames.append(frame)
            self.cond.notify_all()

    def end(self, why):
        with self.cond:
            self.ended = why
            self.cond.notify_all()

    def wait(self, predicate, what):
        with self.cond:
            self.cond.wait_for(lambda: any(map(predicate, self.frames)) or self.ended,
                               self.timeout)
            found = [f for f in self.frames if predicate(f)]
            if found:
                return found[0]
            why = f"ended ({self.ended})" if self.ended else f"nothing in {self.timeout:g} s"
            raise CheckFailed(f"{what}: {why}; got {brief(self.frames[-4:])}")


class Stream(Recorder):
    """An SSE stream read in a thread: frames are dicts {event, id, data}."""

    def __init__(self, service, path, headers):
        super().__init__(service.timeout)
        self.conn = service.connection()
        self.conn.request("GET", path, headers=service.headers(headers))
        self.sock = self.conn.sock
        resp = self.conn.getresponse()
        if resp.status != 200:
            body = resp.read()
            self.conn.close()
            raise CheckFailed(f"GET {path} -> {resp.status} {brief(body.decode('utf-8', 'replace'))}")
        # A timeout mid-chunk would break http.client's decoding: block, and let close()
        # end the read by shutting the socket down.
        self.sock.settimeout(None)
        threading.Thread(target=self._read, args=(resp,), daemon=True).start()

    def _read(self, resp):
        frame, data = {}, []
        try:
            while line := resp.readline():
                line = line.decode("utf-8").rstrip("\r\n")
                if not line:
                    if frame or data:
                        frame.setdefault("event", "message")
                        frame["data"] = "\n".join(data)
                        self.add(frame)
                    frame, data = {}, []
                elif not line.startswith(":"):
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "data":
                        data.append(value)
                    elif field in ("event", "id"):
                        frame[field] = value
            self.end("the server closed it")
        except Exception as e:  # noqa: BLE001 - shows in the table as why it ended
            self.end(repr(e))

    def event(self, name, predicate=lambda f: True, what=None):
        return self.wait(lambda f: f["event"] == name and predicate(f), what or f"event {name}")

    def close(self):
        try:
            self.sock.shutdown(2)
        except OSError:
            pass
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Socket(Recorder):
    """A WebSocket whose JSON frames a thread collects."""

    def __init__(self, ws, timeout):
        super().__init__(timeout)
        self.ws = ws
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for message in self.ws:
                try:
                    self.add(json.loads(message))
                except ValueError:
                    self.add({"event": "not-json", "data": message})
            self.end(f"closed {self.ws.close_code} {self.ws.close_reason!r}")
        except Exception as e:  # noqa: BLE001
            self.end(repr(e))

    def send(self, frame):
        self.ws.send(json.dumps(frame))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.ws.close()


def data(frame):
    try:
        return json.loads(frame["data"]) if isinstance(frame["data"], str) else frame["data"]
    except ValueError:
        return {}
