"""The package scripts/build leaves is what `fastly compute deploy` would upload: it holds
the very wasm these tests run, and stays within 512 KiB with everything in it (issue 9)."""

import os
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pkg/edge-chat.tar.gz"
WASM = ROOT / "bin/main.wasm"


@pytest.mark.skipif("EDGE_CHAT_WASM" in os.environ, reason="testing another wasm than scripts/build's")
def test_package_is_the_tested_wasm_within_512_kib():
    assert PACKAGE.exists(), "run scripts/build"
    size = PACKAGE.stat().st_size
    print(f"\npackage {size:,} B ({size / 1024:.1f} KiB), wasm {WASM.stat().st_size:,} B")
    assert size <= 512 * 1024, size
    with tarfile.open(PACKAGE) as tar:
        names = tar.getnames()
        assert "edge-chat/fastly.toml" in names, names
        assert tar.extractfile("edge-chat/bin/main.wasm").read() == WASM.read_bytes()
