"""--size-baseline REV: the release wasm of another revision (e.g. 79b5e73, before passkeys),
built in a temporary git worktree with a target dir of its own under /tmp, then packed like the
current build. The worktree is removed afterwards; the target dir is kept, so a second run only
rebuilds the crate itself. Nothing in the repository's own checkout changes.

parts() splits a wasm into what grew: its code and data sections, and of the data the static/
files build.rs embeds (each raw, gzipped and brotli'd), read from the build's OUT_DIR.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

from . import ROOT, log
from .results import WasmParts

CODE, DATA = 10, 11  # wasm section ids
WORKTREE = Path("/tmp/bench-base")
TARGET = Path("/tmp/bench-base-target")
BUILD_TIMEOUT = 1800


def git(*args, check=True):
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=check)


def remove_worktree():
    """Removes WORKTREE (left behind by an interrupted run too) and its registration."""
    git("worktree", "remove", "--force", str(WORKTREE), check=False)
    shutil.rmtree(WORKTREE, ignore_errors=True)
    git("worktree", "prune", check=False)


def build(rev, workdir):
    """-> (commit line, commits since it, wasm path, fastly.toml path), both copied into workdir."""
    commit = git("log", "-1", "--format=%h %s", rev).stdout.strip()
    since = int(git("rev-list", "--count", f"{rev}..HEAD").stdout.strip() or 0)
    remove_worktree()
    git("worktree", "add", "--detach", str(WORKTREE), rev)
    try:
        log(f"bench: building {commit[:60]} in {WORKTREE} (target dir {TARGET})")
        started = time.monotonic()
        env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET))
        r = subprocess.run(["cargo", "build", "--release", "--quiet", "--locked"], cwd=WORKTREE, env=env,
                           capture_output=True, text=True, timeout=BUILD_TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError(f"cargo build of {rev} failed:\n{r.stderr[-2000:]}")
        log(f"bench: built {rev} in {time.monotonic() - started:.0f}s")
        wasm, manifest = Path(workdir) / "baseline.wasm", Path(workdir) / "baseline-fastly.toml"
        shutil.copy(TARGET / "wasm32-wasip1/release/edge-chat.wasm", wasm)
        shutil.copy(WORKTREE / "fastly.toml", manifest)
        return commit, since, wasm, manifest
    finally:
        remove_worktree()


def leb128(b, i):
    """An unsigned LEB128 at b[i] -> (value, index after it)."""
    value = shift = 0
    while True:
        byte = b[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def parts(wasm, target_dir):
    """-> WasmParts of a release wasm built in target_dir."""
    b, i, size = Path(wasm).read_bytes(), 8, {}
    while i < len(b):
        n, j = leb128(b, i + 1)
        size[b[i]] = size.get(b[i], 0) + j + n - i
        i = j + n
    outs = sorted(Path(target_dir).glob("wasm32-wasip1/release/build/edge-chat-*/out/static"),
                  key=lambda d: d.stat().st_mtime)
    assets = sum(f.stat().st_size for f in outs[-1].iterdir()) if outs else 0
    return WasmParts(size.get(CODE, 0), size.get(DATA, 0), assets)
