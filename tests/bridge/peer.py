"""A scripted peer device on a UDP socket, for testing the host side without firmware.

It speaks the real framing and CBOR; only the device's *behaviour* is scripted.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

from host.bridge import framing
from host.core import cbor

MNEMONIC = "abandon " * 11 + "about"
Handler = Callable[[str, dict[str, Any]], Any]


class PeerDevice:
    """A UDP peer answering requests with ``handler(method, params)``.

    The handler returns a result, raises PeerError for an error reply, or returns a list of raw
    reply maps to send instead (to script stale or malformed replies).
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[dict[str, Any]] = []
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
                    for reply in self._answer(event.payload):
                        self._send(reply, address)

    def _answer(self, payload: bytes) -> list[Any]:
        request = cbor.loads(payload)
        self.requests.append(request)
        try:
            result = self.handler(request["method"], request["params"])
        except PeerError as exc:
            return [{"id": request["id"], "error": exc.error}]
        if isinstance(result, Raw):
            return [_with_id(reply, request["id"]) for reply in result.replies]
        return [{"id": request["id"], "result": result}]

    def _send(self, reply: Any, address: Any) -> None:
        data = reply if isinstance(reply, bytes) else framing.encode_frame(cbor.dumps(reply))
        for report in framing.to_reports(data):
            self.socket.sendto(report, address)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


def _with_id(reply: Any, request_id: Any) -> Any:
    if isinstance(reply, dict) and reply.get("id") is Raw.SAME_ID:
        return {**reply, "id": request_id}
    return reply


class PeerError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.error = {"code": code, "message": message, **({"data": data} if data else {})}


class Raw:
    SAME_ID = object()

    def __init__(self, *replies: Any) -> None:
        self.replies = replies
