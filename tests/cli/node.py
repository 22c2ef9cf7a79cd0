"""A solo node in a subprocess, started as a user starts one (`qosd init`, `qosd start`)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from host.devtools.ports import free_port_pair


@contextmanager
def solo_node(home: Path, balances: dict[str, int]) -> Iterator[str]:
    """Yields the node's REST URL; ``balances``: address -> genesis units."""
    port = free_port_pair()
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "qosd", "init", "--home", home, "--chain-id", "cli-test",
                    "--block-interval", "0.2", "--api", f"127.0.0.1:{port}",
                    *(f"--account={a}={units}" for a, units in balances.items())],
                   check=True, capture_output=True)
    with (home / "node.log").open("w") as log:
        process = subprocess.Popen([bin_dir / "qosd", "start", "--home", home], stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for(url, process, home / "node.log")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60  # not a measured duration: how long to wait before failing
    while True:
        try:
            urllib.request.urlopen(f"{url}/status", timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the node did not come up:\n{log.read_text()}")
            time.sleep(0.2)
