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


SESSIONLESS = ("ping", "get_info", "acquire")


class PeerDevice:
    """A UDP peer answering requests with ``handler(method, params)``.

    The handler returns a result, raises PeerError for an error reply, or returns a list of raw
    reply maps to send instead (to script stale or malformed replies). Sessions are kept as the
    device keeps them: ``acquire`` and ``release`` are answered here and listed in ``sessions``,
    not in ``requests``, and other methods need the current session.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[dict[str, Any]] = []
        self.sessions: list[str] = []  # "acquire" / "release", in order
        self.session: bytes | None = None
        self.late: list[dict[str, Any]] = []  # sent (with the request's id) before the next reply
        self._peer = LoopbackPeer(self._frames)
        self.path = self._peer.path

    def _frames(self, payload: bytes) -> list[bytes]:
        replies = self._answer(payload)
        request_id = cbor.loads(payload)["id"]
        late, self.late = [_with_id(reply, request_id) for reply in self.late], []
        return [
            reply if isinstance(reply, bytes) else framing.encode_frame(cbor.dumps(reply))
            for reply in late + replies
        ]

    def _answer(self, payload: bytes) -> list[Any]:
        request = cbor.loads(payload)
        echo = {"session": request["session"]} if "session" in request else {}
        try:
            result = self._session_step(request)
            if result is None:
                self.requests.append(request)
                result = self.handler(request["method"], request["params"])
        except PeerError as exc:
            return [{"id": request["id"], "error": exc.error, **echo}]
        if isinstance(result, Raw):
            return [_with_id(reply, request["id"]) for reply in result.replies]
        if request["method"] == "acquire":
            echo = {"session": self.session}
        return [{"id": request["id"], "result": result, **echo}]

    def _session_step(self, request: dict[str, Any]) -> dict[str, Any] | None:
        method = request["method"]
        if method == "acquire":
            self.sessions.append(method)
            self.session = b"peer%04d" % len(self.sessions)
            return {"session": self.session}
        if method not in SESSIONLESS and request.get("session") != self.session:
            raise PeerError(-32010, "not the current session: acquire again")
        if method == "release":
            self.sessions.append(method)
            self.session = None
            return {}
        return None

    def steal(self) -> None:
        """Another host acquires the device: this peer's holder loses its session."""
        self.sessions.append("acquire")
        self.session = b"other%03d" % len(self.sessions)

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
