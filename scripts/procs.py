"""Starting and stopping the local stack's child processes: Pushpin and `fastly compute serve`
for scripts/stack.py, the floors' services and stubs for scripts/bench. One implementation, so
how a child is stopped (and what could be left running when it is not) is decided once.

Every child gets a new session, which makes it the leader of a process group holding what it
spawns (Pushpin's condure/zurl/proxy/handler, the CLI's Viceroy): stopping the group stops
them all, and a tool can find everything a child runs by that session id.
"""

import os
import signal
import subprocess
import time

STOP_TIMEOUT = 5  # seconds per signal


def start(cmd, log_path, cwd=None, env=None):
    """Popen of cmd in a new session, stdout and stderr appended to log_path."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=cwd, env=env, start_new_session=True)


def stop(proc):
    """Stops proc's whole process group: SIGTERM, then SIGKILL, each with a bounded wait
    (Pushpin 1.36 sometimes ignores the first SIGTERM). None is a no-op."""
    if proc is None or not running(proc):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            if not running(proc):
                return
            time.sleep(0.05)
    proc.poll()


def running(proc):
    """Whether proc, or anything left in its process group, is still alive (reaps proc)."""
    return proc.poll() is None or _group_alive(proc.pid)


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
