"""A WebSocket test client (the `websockets` package's sync client) that records every
frame in a background thread, as helpers.SSEClient does for streams.

    with WSClient(stack.url, f"/rooms/{room}/ws") as ws:
        ws.send({"type": "message", "from": "ann", "text": "hi"})
        ws.wait_for(lambda frames: any(f["event"] == "message" for f in frames))
"""

import json
import threading

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from helpers import Recording

TIMEOUT = 10


class WSClient(Recording):
    def __init__(self, url, path, headers=None, timeout=TIMEOUT):
        super().__init__()
        self.uri = url.replace("http://", "ws://", 1) + path
        self.headers = headers or {}
        self.timeout = timeout
        self.frames = []  # parsed JSON frames (or the raw text of a frame that is not JSON)
        self.close_code = None
        self.close_reason = None
        self._ws = None

    def start(self):
        self._ws = connect(self.uri, additional_headers=self.headers, open_timeout=self.timeout,
                           close_timeout=5)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def _read(self):
        try:
            for message in self._ws:
                try:
                    frame = json.loads(message)
                except (TypeError, ValueError):
                    frame = message
                with self._cond:
                    self.frames.append(frame)
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                self.closed = True
                self.close_code = self._ws.close_code
                self.close_reason = self._ws.close_reason
                self._cond.notify_all()

    def round_trip(self):
        """A ping answered through Fanout and the service: Fanout applies the subscribe
        control messages of the socket's OPEN answer a moment after sending its frames, so a
        client that must not miss the next publish waits for one round trip after those."""
        assert self._ws.ping().wait(self.timeout), f"WS {self.uri}: no pong"

    def send(self, frame):
        self._ws.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))

    def wait_for(self, predicate, timeout=TIMEOUT):
        return self._wait(self.frames, predicate, timeout,
                          lambda: f"WS {self.uri} (close {self.close_code} {self.close_reason!r})")

    def events(self, name):
        return [f for f in self.frames if isinstance(f, dict) and f.get("event") == name]

    def wait_event(self, name, count=1, timeout=TIMEOUT):
        self.wait_for(lambda fs: len([f for f in fs if isinstance(f, dict) and f.get("event") == name]) >= count,
                      timeout)
        return self.events(name)

    def wait_closed(self, timeout=TIMEOUT):
        with self._cond:
            self._cond.wait_for(lambda: self.closed, timeout)
        assert self.closed, f"still open; got {self.frames!r}"
        return self.close_code, self.close_reason

    def close(self, code=1000):
        if self._ws is not None:
            self._ws.close(code)
        if self._thread:
            self._thread.join(timeout=5)


def message_ids(frames):
    """The ids of the message frames, as ints, in arrival order (acks excluded)."""
    return [int(f["id"]) for f in frames if isinstance(f, dict) and f.get("event") == "message"]
