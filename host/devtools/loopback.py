"""A scripted peer on a loopback UDP socket: the bench's no-device reference, the tests' device."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable

from host.bridge import framing


class LoopbackPeer:
    """A peer on a loopback UDP socket that answers each frame it receives.

    ``answer(payload)`` returns the wire bytes to send back (whole frames, or anything else a test
    wants the host to see); they go out as 64-byte reports. Benchmarks use it as the no-device
    reference and tests as a scripted device, so the host side is exercised without firmware.
    """

    def __init__(self, answer: Callable[[bytes], Iterable[bytes]]) -> None:
        self.answer = answer
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.1)
        self.path = f"udp:127.0.0.1:{self.socket.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        decoder = framing.FrameDecoder()
        while not self._stop.is_set():
            try:
                report, address = self.socket.recvfrom(4096)
            except TimeoutError:
                continue
            for event in decoder.feed(framing.from_report(report)):
                if isinstance(event, framing.Frame):
                    for data in self.answer(event.payload):
                        for out in framing.to_reports(data):
                            self.socket.sendto(out, address)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()
