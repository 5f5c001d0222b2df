"""The two floors every target is read against, run the way the app is run:

  (a) hello_service: a hello-world wasm (scripts/bench.d/hello) under `fastly compute serve`
      with the same Viceroy: what any request costs before the app does anything;
  (b) pushpin_floor: Pushpin with the very config stack.py writes (same message_rate), its
      route pointed at grip_stub.py, which holds every stream the way edge-chat's call-back
      does: what fan-out costs with no app in the path.
"""

import contextlib
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import procs
import stack as stackmod

from . import APP_WASM, GRIP_STUB, HELLO_WASM
from .http import Client
from .sse import sse_request

START_TIMEOUT = 60
STREAMS_TIMEOUT = 20


def wait_http(port, proc, timeout=START_TIMEOUT):
    """Until port answers an HTTP request (any status); fails early if proc exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            c = Client(port)
            c.request("GET", "/")
            c.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} did not answer within {timeout}s")


@contextlib.contextmanager
def hello_service(workdir):
    """-> (port, its viceroy.log, its session id)."""
    d = Path(tempfile.mkdtemp(prefix="bench-hello-", dir=workdir))
    (d / "fastly.toml").write_text('manifest_version = 3\nname = "bench-hello"\nlanguage = "rust"\n')
    port = stackmod.free_port()
    env = dict(os.environ, FASTLY_WASM_METADATA_DISABLE="true")
    proc = procs.start([str(stackmod.FASTLY_CLI), "compute", "serve", "--non-interactive", "--quiet",
                        "--dir", str(d), "--file", str(HELLO_WASM), "--addr", f"127.0.0.1:{port}",
                        "--viceroy-path", str(stackmod.VICEROY)], d / "viceroy.log", cwd=d, env=env)
    try:
        wait_http(port, proc)
        yield port, d / "viceroy.log", proc.pid
    finally:
        procs.stop(proc)
        shutil.rmtree(d, ignore_errors=True)


class PushpinOnly(stackmod.Stack):
    """A stack's Pushpin (the very config stack.py generates, same message_rate) whose route
    points at the GRIP stub instead of the service; no Viceroy."""

    def __init__(self, grip_port, message_rate):
        super().__init__(APP_WASM, message_rate=message_rate)
        self.grip_port = grip_port

    def _write_files(self):
        super()._write_files()
        self._write_routes(self.grip_port)

    def _start_service(self):
        pass


def stream_status(port, path):
    """Status of a held stream request via Pushpin's route (head only, then hang up)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(sse_request(port, path, pushpin_route=True))
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                if not chunk:
                    return None
                head += chunk
            return int(head.split(None, 2)[1])
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def pushpin_floor(workdir, message_rate):
    """-> a started PushpinOnly whose streams are held."""
    grip_port = stackmod.free_port()
    stub = procs.start([sys.executable, str(GRIP_STUB), str(grip_port)], Path(workdir) / "grip-stub.log")
    pp = None
    try:
        wait_http(grip_port, stub)
        pp = PushpinOnly(grip_port, message_rate).start()
        # Pushpin says "started" before its parts are connected: its first requests answer
        # 500. Wait until a stream is actually held.
        deadline = time.monotonic() + STREAMS_TIMEOUT
        while stream_status(pp.pushpin_port, "/bench/probe/") != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"raw Pushpin floor: streams not held within {STREAMS_TIMEOUT}s")
            time.sleep(0.2)
        yield pp
    finally:
        if pp is not None:
            pp.stop()
        procs.stop(stub)
