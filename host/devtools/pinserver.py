"""A PIN server in its own process, on a free loopback port: for tests, the HIL suite and the
demo, which need the real service (and kill -9 it to see that it keeps its word)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from host.devtools import ports
from host.pinserver.client import PinServerError, ServerInfo, fetch_info


class PinServerProcess:
    def __init__(self, data_dir: Path | None = None, port: int | None = None) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(tempfile.mkdtemp(prefix="qos-pin-")) if data_dir is None else data_dir
        self.port = port or ports.free_block(1)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.data_dir / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self.info: ServerInfo | None = None  # its key, once started

    def __enter__(self) -> PinServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, timeout: float = 30) -> ServerInfo:
        cmd = [sys.executable, "-m", "host.cli.qos", "pin-server", "--data", str(self.data_dir)]
        cmd += ["--port", str(self.port)]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.info = fetch_info(self.url, timeout=1)
                return self.info
            except PinServerError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.kill()
                    raise PinServerError(f"the PIN server did not start:\n{self.log()}") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to finish anything."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()
        self._proc = None

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""
