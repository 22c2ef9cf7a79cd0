"""kill -9 a process that is committing blocks; the store must reopen at a committed height with
exactly the app hash a clean replay computes for that height."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from host.chain.app import Application
from tests.chain.crash_worker import run_to
from tests.chain.helpers import make_genesis

ROOT = Path(__file__).resolve().parents[2]


def commit_then_kill(path: Path, lines_before_kill: int) -> int:
    proc = subprocess.Popen([sys.executable, "-m", "tests.chain.crash_worker", str(path)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    last = 0
    try:
        for _ in range(lines_before_kill):
            line = proc.stdout.readline()
            assert line, "worker exited early"
            last = int(line.split()[0])
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    return last


def test_kill_9_restarts_at_last_commit(tmp_path):
    path = tmp_path / "node.db"
    replay = Application(None)
    replay.init_chain(make_genesis())
    printed = 0
    for lines in (7, 3, 11):
        printed = commit_then_kill(path, lines)
        app = Application(path)
        info = app.info()
        # Printed heights are committed; the worker may have committed one more before dying.
        assert info.last_height >= printed
        run_to(replay, info.last_height)
        assert info.last_app_hash == replay.info().last_app_hash
        assert app.check_invariants() == []
        app.store.close()
    assert printed > 0
