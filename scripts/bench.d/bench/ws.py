"""WebSocket subscribers for the delivery scenarios, beside the SSE ones (sse.py): up to a
thousand per path on one asyncio loop, each an asyncio Protocol that timestamps a read first
thing, then parses the server's (unmasked) frames and records the `"id"` of each message
frame in the Hub that SSE subscribers use.

Frames are the service's JSON: {"data":{…},"event":"message","id":"5"} (live::ws)."""

import base64
import os
import re

from .sse import Sub, connect_subs

MESSAGE_ID = re.compile(rb'"event":"message","id":"(\d+)"')


def ws_request(port, path, pushpin_route):
    key = base64.b64encode(os.urandom(16)).decode()
    h = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket", "Connection: Upgrade",
         f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    if pushpin_route:
        h.append("Pushpin-Route: self")  # what Fanout in front would do: straight to the route
    return ("\r\n".join(h) + "\r\n\r\n").encode()


class WsSub(Sub):
    """One WebSocket subscriber: an SSE subscriber (sse.Sub: head, hub, close) that reads
    frames instead of lines; got maps each message id to the time its frame arrived."""

    def __init__(self, hub, request):
        super().__init__(hub, request)
        self.buf = b""

    def _payload(self, data, t):
        self.buf += data
        while True:
            payload = self._frame()
            if payload is None:
                return
            m = MESSAGE_ID.search(payload)
            if m:
                self.hub.record(self, int(m.group(1)), t)

    def _frame(self):
        """The next complete frame's payload (None until one is complete)."""
        b = self.buf
        if len(b) < 2:
            return None
        n, at = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, at = int.from_bytes(b[2:4], "big"), 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, at = int.from_bytes(b[2:10], "big"), 10
        if len(b) < at + n:
            return None
        self.buf = b[at + n:]
        return b[at:at + n]


async def connect_ws_subs(hub, n, port, path, pushpin_route):
    """n WebSocket subscribers; those answered 101 join the hub. -> the errors of the others."""
    return await connect_subs(hub, n, port, path, pushpin_route, kind=WsSub, request=ws_request, status=101)
