#!/usr/bin/env python3
"""The local edge-chat stack: Pushpin 1.36 (standing in for Fastly Fanout) plus the service
running under Viceroy via `fastly compute serve`. scripts/dev and the end-to-end tests both
use this one implementation, so what the tests exercise is what a developer runs.

Why not `fastly compute serve --experimental-enable-pushpin`: the CLI writes a config for
Pushpin >= 1.40 (service names connmgr/proxy/handler); Debian's 1.36 starts nothing with it
and the CLI hangs. So Pushpin is started here with a 1.36 config, and Viceroy is told its
port with --local-pushpin-proxy-port (README: "Running locally, by hand").

Each Stack gets a private directory holding a generated fastly.toml (the repo's manifest
with this stack's ports, config overrides and absolute seed paths), the Pushpin config,
routes, run dir and all logs, so several stacks can run side by side.

It runs under the project's venv, where scripts/setup installs tomli-w (the TOML writer);
process start/stop is scripts/procs.py, shared with scripts/bench.

CLI: .tools/venv/bin/python scripts/stack.py --wasm bin/main.wasm
"""

import argparse
import atexit
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from urllib.parse import urlsplit, urlunsplit
from pathlib import Path

import procs

try:
    import tomli_w
except ModuleNotFoundError as e:
    raise ModuleNotFoundError(f"{e}: scripts/stack.py runs under .tools/venv/bin/python, "
                              "where scripts/setup installs tomli-w") from e

ROOT = Path(__file__).resolve().parent.parent
FASTLY_CLI = ROOT / ".tools/npm/node_modules/.bin/fastly"
VICEROY = ROOT / ".tools/bin/viceroy"
MANIFEST = ROOT / "fastly.toml"
CONFIG_STORE = "edge_chat_config"
SECRET_STORE = "edge_chat_secrets"
READY_PATH = "/rooms/lobby/messages/"

PUSHPIN_START_TIMEOUT = 30
SERVICE_START_TIMEOUT = 60


class StackError(RuntimeError):
    pass


def free_ports(n):
    """n distinct loopback ports nobody is listening on right now (the kernel picks them;
    the sockets are held together so it cannot hand out the same port twice)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    return free_ports(1)[0]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# ------------------------------------------------------------------ fastly.toml

def dump_toml(data):
    """fastly.toml's text for data. Parsed back and compared: cheap, and a value that TOML
    cannot hold as given would fail here, loudly, not in the Fastly CLI."""
    text = tomli_w.dumps(data)
    if tomllib.loads(text) != data:
        raise StackError("fastly.toml does not read back as written (scripts/stack.py)")
    return text


def _absolutize_files(node, base):
    """Seed files (kv/secret/config stores) are relative to the repo, not the stack dir."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "file" and isinstance(v, str):
                node[k] = str((base / v).resolve())
            else:
                _absolutize_files(v, base)
    elif isinstance(node, list):
        for x in node:
            _absolutize_files(x, base)


def local_manifest(port, publish_url, config=None, manifest=MANIFEST, backends=None):
    """The repo's fastly.toml, pointed at this stack (backends: {name: url} overrides)."""
    data = tomllib.loads(Path(manifest).read_text())
    local = data["local_server"]
    local["backends"]["self"]["url"] = f"http://127.0.0.1:{port}/"
    local["backends"]["publisher"]["url"] = publish_url
    for name, url in (backends or {}).items():
        local["backends"][name]["url"] = url
    contents = local["config_stores"][CONFIG_STORE]["contents"]
    if "publish_url" in contents:
        # Only its path reaches Pushpin (Viceroy swaps in the backend's host), but a
        # host that matches the stack keeps logs from pointing at the wrong port.
        contents["publish_url"] = urlunsplit(urlsplit(contents["publish_url"])
                                             ._replace(netloc=urlsplit(publish_url).netloc))
    if "rp_origins" in contents:
        # Passkeys are bound to the page's origin: the one this stack serves, on localhost
        # (browsers refuse an IP address as RP ID).
        contents["rp_origins"] = f"http://localhost:{port}"
    for key, value in (config or {}).items():
        contents[key] = str(value)
    for section in ("kv_stores", "secret_stores", "config_stores"):
        _absolutize_files(local.get(section, {}), Path(manifest).resolve().parent)
    return data


def grip_signing(data):
    """Pushpin must sign Grip-Sig with exactly what the service verifies against."""
    local = data["local_server"]
    iss = local["config_stores"][CONFIG_STORE]["contents"]["grip_iss"]
    for entry in local["secret_stores"][SECRET_STORE]:
        if entry.get("key") == "grip_key":
            if "data" not in entry:
                raise StackError("stack.py only supports grip_key given inline as data = ...")
            return iss, entry["data"]
    raise StackError(f"fastly.toml: no grip_key in [local_server.secret_stores] {SECRET_STORE}")


def tail(path, lines=40):
    try:
        text = Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return f"({path}: no such file)"
    return "\n".join(text.splitlines()[-lines:])


class Stack:
    """Pushpin + Viceroy for one wasm. Ports default to free loopback ports.

    publish_url overrides where the service publishes (e.g. a dead port for outage tests);
    by default it is this stack's Pushpin publish endpoint. config overrides values in the
    edge_chat_config config store (e.g. {"keep_alive_secs": "2"}). backends overrides local
    backends' URLs (e.g. {"self": "http://replace-with-your-domain.edgecompute.app/"}: locally
    Pushpin's routes, not backend self, carry the call-backs, so only the service's own
    deployment check sees it).

    message_rate (deliveries/s) turns on Pushpin's publish shaper. Off by default: with it,
    Pushpin holds every delivery published less than ~25 ms after the previous one until
    publishing pauses, which Fastly's Fanout does not do, so it would hide real latencies
    and starve live delivery. The bench sets it only to report both."""

    def __init__(self, wasm, port=None, pushpin_port=None, publish_port=None, config=None,
                 publish_url=None, message_rate=None, keep_dir=False, backends=None, kv=None):
        self.wasm = Path(wasm).resolve()
        auto = iter(free_ports(3))
        self.port = port or next(auto)
        self.pushpin_port = pushpin_port or next(auto)
        self.publish_port = publish_port or next(auto)
        self.config = dict(config or {})
        self.backends = dict(backends or {})
        self.kv = dict(kv or {})  # records added to the KV seed: {key: JSON-able value}
        self.publish_url = publish_url or f"http://127.0.0.1:{self.publish_port}/"
        self.message_rate = message_rate
        self.keep_dir = keep_dir or bool(os.environ.get("EDGE_CHAT_KEEP_STACK"))
        self.dir = None
        self.pushpin = None
        self.service = None

    url = property(lambda self: f"http://127.0.0.1:{self.port}")
    # Pushpin's own publish endpoint (where tests can publish directly).
    pushpin_publish_url = property(lambda self: f"http://127.0.0.1:{self.publish_port}/publish/")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -------------------------------------------------------------- lifecycle

    def start(self):
        for tool in (FASTLY_CLI, VICEROY):
            if not tool.exists():
                raise StackError(f"{tool} missing: run scripts/setup")
        if not self.wasm.exists():
            raise StackError(f"{self.wasm} missing: run scripts/build")
        ports = {self.port, self.pushpin_port, self.publish_port}
        if len(ports) != 3:
            raise StackError("service, Pushpin and publish ports must differ")
        busy = [p for p in sorted(ports) if port_open(p)]
        if busy:
            raise StackError(f"port(s) {busy} already in use: is another stack running?")

        self.dir = Path(tempfile.mkdtemp(prefix="edge-chat-stack-"))
        atexit.register(self.stop)
        try:
            self._write_files()
            self.start_pushpin()
            self._start_service()
        except BaseException:
            self.stop(keep_dir=True)
            raise
        return self

    def stop(self, keep_dir=False):
        procs.stop(self.service)
        self.service = None
        self.stop_pushpin()
        if self.dir and not (keep_dir or self.keep_dir):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def stop_pushpin(self):
        procs.stop(self.pushpin)
        self.pushpin = None

    def start_pushpin(self):
        """(Re)starts Pushpin alone; Viceroy keeps running (for Fanout-outage tests)."""
        if self.pushpin is not None:
            raise StackError("Pushpin already running")
        log = self.dir / "pushpin.log"
        start_at = log.stat().st_size if log.exists() else 0
        self.pushpin = procs.start(["pushpin", f"--config={self.dir / 'pushpin.conf'}"] + (["--verbose"] if os.environ.get("EDGE_CHAT_PUSHPIN_VERBOSE") else []), log)
        deadline = time.monotonic() + PUSHPIN_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.pushpin.poll() is not None:
                self._fail(f"pushpin exited with {self.pushpin.returncode}")
            with open(log, "rb") as f:
                f.seek(start_at)
                started = b"started" in f.read()
            if started and port_open(self.pushpin_port) and port_open(self.publish_port):
                return
            time.sleep(0.1)
        self._fail(f"pushpin not ready within {PUSHPIN_START_TIMEOUT}s")

    # -------------------------------------------------------------- internals

    def _write_routes(self, port):
        # Every host (`*`) as well as the id that Viceroy's handoff names (Pushpin-Route:
        # self): Pushpin can look up a request it retries (a held long-poll's recovery) by
        # host alone, and 1.36's proxy aborts (`!route.isNull()`) when that finds none.
        (self.dir / "routes").write_text(f"*,id=self 127.0.0.1:{port},over_http\n")

    def _write_files(self):
        manifest = local_manifest(self.port, self.publish_url, self.config,
                                  backends=self.backends)
        iss, key = grip_signing(manifest)
        if self.kv:
            chat = manifest["local_server"]["kv_stores"]["chat"]
            seed = json.loads(Path(chat["file"]).read_text())
            seed.update({k: json.dumps(v) for k, v in self.kv.items()})
            chat["file"] = str(self.dir / "kv-seed.json")
            Path(chat["file"]).write_text(json.dumps(seed))
        (self.dir / "fastly.toml").write_text(dump_toml(manifest))
        self._write_routes(self.port)
        (self.dir / "run").mkdir()
        (self.dir / "pushpin-logs").mkdir()
        # Pushpin 1.36 layout: ipc between its parts (nothing extra on TCP), zurl moved off
        # Debian's /var/run/zurl, loopback only, no update check phoning home.
        shaper = f"message_rate={self.message_rate}\n" if self.message_rate else ""
        (self.dir / "pushpin.conf").write_text(f"""\
[global]
include={{libdir}}/internal.conf
rundir={self.dir / 'run'}
ipc_prefix=edge-chat-{os.getpid()}-{self.port}-
port_offset=0

[runner]
services=condure,zurl,pushpin-proxy,pushpin-handler
http_port=127.0.0.1:{self.pushpin_port}
logdir={self.dir / 'pushpin-logs'}

[proxy]
routesfile={self.dir / 'routes'}
accept_pushpin_route=true
sig_iss={iss}
sig_key={key}
updates_check=off
zurl_out_specs=ipc://{{rundir}}/{{ipc_prefix}}zurl-in
zurl_out_stream_specs=ipc://{{rundir}}/{{ipc_prefix}}zurl-in-stream
zurl_in_specs=ipc://{{rundir}}/{{ipc_prefix}}zurl-out

[handler]
push_in_spec=ipc://{{rundir}}/{{ipc_prefix}}push-in
push_in_sub_specs=ipc://{{rundir}}/{{ipc_prefix}}push-in-sub
push_in_http_addr=127.0.0.1
push_in_http_port={self.publish_port}
stats_spec=ipc://{{rundir}}/{{ipc_prefix}}stats
command_spec=ipc://{{rundir}}/{{ipc_prefix}}command
{shaper}message_wait=5000
id_cache_ttl=60
connection_subscription_max=20
""")

    def _start_service(self):
        cmd = [
            str(FASTLY_CLI), "compute", "serve", "--non-interactive", "--quiet",
            "--dir", str(self.dir), "--file", str(self.wasm),
            "--addr", f"127.0.0.1:{self.port}",
            "--viceroy-path", str(VICEROY),
            f"--viceroy-args=--local-pushpin-proxy-port={self.pushpin_port}",
        ]
        # No first-run metadata notice (it sleeps 5 s); everything else the CLI would
        # fetch is skipped by --file (no build) and --viceroy-path (no Viceroy download).
        env = dict(os.environ, FASTLY_WASM_METADATA_DISABLE="true")
        self.service = procs.start(cmd, self.dir / "viceroy.log", cwd=self.dir, env=env)
        deadline = time.monotonic() + SERVICE_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.service.poll() is not None:
                self._fail(f"fastly compute serve exited with {self.service.returncode}")
            try:
                with urllib.request.urlopen(self.url + READY_PATH, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answered; whether the answer is right is for the tests to judge
            except OSError:
                time.sleep(0.2)
        self._fail(f"{self.url}{READY_PATH} did not answer within {SERVICE_START_TIMEOUT}s")

    def logs(self, lines=40, names=None):
        """Tails of the logs this stack wrote (all, or those whose file name is in names),
        for failure reports."""
        if not self.dir:
            return ""
        paths = [self.dir / "viceroy.log", self.dir / "pushpin.log",
                 *sorted((self.dir / "pushpin-logs").glob("*.log"))]
        paths = [p for p in paths if names is None or p.name in names]
        return "\n".join(f"----- {p}\n{tail(p, lines)}" for p in paths if p.exists())

    def _fail(self, why):
        raise StackError(f"{why}\n{self.logs()}")


# ------------------------------------------------------------------ CLI

def _env_port(name, default):
    return int(os.environ.get(name, default))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run edge-chat's local stack (Pushpin + Viceroy) "
                                 "in the foreground until Ctrl-C / SIGTERM. Port 0 = any free port.")
    ap.add_argument("--wasm", required=True)
    ap.add_argument("--port", type=int, default=_env_port("EDGE_CHAT_PORT", 7676))
    ap.add_argument("--pushpin-port", type=int, default=_env_port("PUSHPIN_PORT", 7999))
    ap.add_argument("--publish-port", type=int, default=_env_port("PUBLISH_PORT", 5561))
    ap.add_argument("--publish-url", help="where the service publishes (default: this Pushpin)")
    ap.add_argument("--message-rate", type=int, default=None,
                    help="turn on Pushpin's publish shaper at this many deliveries/s (default: off, as Fanout)")
    ap.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                    help="override an edge_chat_config value (repeatable)")
    ap.add_argument("--keep-dir", action="store_true", help="keep the stack dir (logs) on exit")
    args = ap.parse_args(argv)
    config = dict(kv.split("=", 1) for kv in args.config)

    # SIGTERM/SIGHUP take the same path as Ctrl-C so children are always stopped. SIGINT is
    # set explicitly because a shell starts background jobs with it ignored.
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)

    stack = Stack(args.wasm, args.port, args.pushpin_port, args.publish_port, config,
                  args.publish_url, args.message_rate, args.keep_dir)
    try:
        t0 = time.monotonic()
        stack.start()
        print(f"edge-chat is running at {stack.url}\n"
              f"Passkeys need a host name, not an IP: open http://localhost:{stack.port}\n"
              f"(Pushpin {stack.pushpin_port}, publish {stack.publish_port}, started in "
              f"{time.monotonic() - t0:.1f}s, logs in {stack.dir}; Ctrl-C stops)", flush=True)
        # Echo the service log so the terminal shows requests and guest logging.
        log = open(stack.dir / "viceroy.log", "rb")
        while True:
            chunk = log.read()
            if chunk:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
            for name, proc in (("Viceroy", stack.service), ("Pushpin", stack.pushpin)):
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}\n{stack.logs()}", file=sys.stderr)
                    return 1
            time.sleep(0.3)
    except KeyboardInterrupt:
        return 0
    except StackError as e:
        print(f"stack.py: {e}", file=sys.stderr)
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        stack.stop()
        print("stack stopped", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
