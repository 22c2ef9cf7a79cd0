"""What the host bridge needs from a PIN server: its key (to give the device at setup) and the
relay of one opaque request to it. The host cannot read either message (docs/security.md)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from host.pinserver import protocol

TIMEOUT_S = 20.0


class PinServerError(RuntimeError):
    """The PIN server could not be reached, or answered something else than the protocol."""


@dataclass(frozen=True)
class ServerInfo:
    url: str
    pubkey: bytes

    @property
    def fingerprint(self) -> str:
        return protocol.fingerprint(self.pubkey)


def _endpoint(url: str, path: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise PinServerError(f"PIN server URL must start with http:// or https://: {url!r}")
    return url.rstrip("/") + path


def fetch_info(url: str, timeout: float = TIMEOUT_S) -> ServerInfo:
    try:
        with urllib.request.urlopen(_endpoint(url, "/v1/info"), timeout=timeout) as response:
            info = json.loads(response.read(4096))
        pubkey = bytes.fromhex(info["pubkey"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PinServerError(f"no PIN server at {url}: {exc}") from exc
    if info.get("protocol") != 1 or len(pubkey) != 32:
        raise PinServerError(f"{url} does not speak PIN server protocol 1")
    return ServerInfo(url, pubkey)


def relay(url: str, request: bytes, timeout: float = TIMEOUT_S) -> bytes:
    """Posts the device's request; returns the server's reply for the device (a refused replay
    is a reply too: the device reads why)."""
    post = urllib.request.Request(
        _endpoint(url, "/v1/pin"),
        data=request,
        headers={"Content-Type": "application/octet-stream"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(post, timeout=timeout) as response:
            return response.read(protocol.REPLY_SIZE + 1)
    except urllib.error.HTTPError as exc:
        body = exc.read(1024)
        if exc.code == 409:
            return body
        refused = f"PIN server {url} refused the request ({exc.code}): {body!r}"
        raise PinServerError(refused) from exc
    except OSError as exc:
        raise PinServerError(f"PIN server {url} cannot be reached: {exc}") from exc
