"""The CometBFT the project builds (third_party/cometbft): its patch applies to the pinned module
source and fixes what it says; a binary built by `make setup` says it is patched."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from host.chain.engine import abci_proto
from host.devtools import testnet

REPO = Path(__file__).resolve().parents[2]
PATCH = REPO / "third_party/cometbft/socket-client-flush-throttle.patch"
CLIENT = "abci/client/socket_client.go"


def pinned_client() -> Path:
    source = abci_proto.cometbft_module_dir() / CLIENT
    if not source.is_file():
        pytest.skip(f"CometBFT {abci_proto.COMETBFT_VERSION} source not in the Go module cache")
    return source


def test_the_flush_throttle_patch_applies_and_makes_it_a_millisecond(tmp_path):
    source = pinned_client()
    stock = source.read_text()
    # the bug: an untyped 20 handed to NewThrottleTimer(name, time.Duration) is 20 ns
    assert "flushThrottleMS = 20 " in stock
    assert 'NewThrottleTimer("socketClient", flushThrottleMS)' in stock
    copy = tmp_path / CLIENT
    copy.parent.mkdir(parents=True)
    shutil.copyfile(source, copy)
    subprocess.run(["git", "apply", "-p1", str(PATCH)], cwd=tmp_path, check=True)
    patched = copy.read_text()
    assert "flushThrottleMS = time.Millisecond" in patched
    assert patched.replace("flushThrottleMS = time.Millisecond", "").count("flushThrottleMS") == 1


def test_the_built_cometbft_says_it_is_patched():
    binary = testnet.cometbft_binary()
    if binary is None or Path(binary) != REPO / ".venv/bin/cometbft":
        pytest.skip("cometbft not built by make setup here")
    out = subprocess.run([binary, "version"], capture_output=True, text=True, check=True).stdout
    version = abci_proto.COMETBFT_VERSION.removeprefix("v")
    assert out.strip() == f"{version}+qos.{PATCH.stem}"
