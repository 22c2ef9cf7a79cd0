"""A scripted peer device on a UDP socket, for testing the host side without firmware.

It speaks the real framing and CBOR; only the device's *behaviour* is scripted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from host.bridge import framing
from host.core import cbor
from host.devtools.loopback import LoopbackPeer

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
        self._peer = LoopbackPeer(self._frames)
        self.path = self._peer.path

    def _frames(self, payload: bytes) -> list[bytes]:
        return [
            reply if isinstance(reply, bytes) else framing.encode_frame(cbor.dumps(reply))
            for reply in self._answer(payload)
        ]

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

    def close(self) -> None:
        self._peer.close()


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
