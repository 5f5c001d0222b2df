#!/usr/bin/env python3
"""The origin behind scripts/bench's raw-Pushpin floor: answers every request with the
GRIP instructions edge-chat's call-back gives (hold a stream on one channel, same keep-alive),
so Pushpin holds the subscriber and publishes reach it with no app in the path.

Usage: grip_stub.py PORT   (loopback only; runs until killed)
GET /<anything>/<channel>/ holds the stream on <channel>; with ?prev-id=N the channel gets
`prev-id=N` and a `Grip-Link` rel=next, as edge-chat's hold does (Pushpin then sequences
published items by prev-id).
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
BODY = b"event: stream-open\ndata:\n\n"


class Grip(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path, _, query = self.path.partition("?")
        channel = ([p for p in path.split("/") if p][-1:] or ["bench"])[0]
        params = dict(kv.partition("=")[::2] for kv in query.split("&") if kv)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Grip-Hold", "stream")
        if "prev-id" in params:
            self.send_header("Grip-Channel", f"{channel}; prev-id={params['prev-id']}")
            self.send_header("Grip-Link", f"<{path}?link=next>; rel=next")
        else:
            self.send_header("Grip-Channel", channel)
        # The same keep-alive instruction edge-chat sends (sse.rs KEEP_ALIVE_CSTRING).
        self.send_header("Grip-Keep-Alive",
                         "event: keep-alive\\ndata:\\n\\n; format=cstring; timeout=20")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


if __name__ == "__main__":
    Server(("127.0.0.1", PORT), Grip).serve_forever()
