"""One process per node home: an exclusive flock on <home>/data/LOCK held for the process's life.

Two nodes on one home would sign two chains with one validator key (double signing), so the lock
is taken before any key file is read and released only when the node stops (or its process dies:
the kernel drops a flock with the process, so a kill -9 never leaves a stale lock behind).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class HomeLocked(RuntimeError):
    """Another process holds the home."""


class HomeLock:
    def __init__(self, home: Path) -> None:
        self.path = home / "data" / "LOCK"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise HomeLocked(
                f"{self.path.parent.parent} is in use by another node (pid {holder}); "
                "refusing to start a second one on the same validator key"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None
