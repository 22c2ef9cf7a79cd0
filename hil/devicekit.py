"""Helpers for the device test suite (hil/): the known seeds, PINs and the simulated user.

Kept out of conftest.py so test modules can import them by a name no other conftest shares.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from host.bridge import framing
from host.bridge.client import Client, Link
from host.bridge.debuglink import DebugLink
from host.bridge.exceptions import DeviceError, NoReply, PinDelay, TransportError, WrongPin
from host.bridge.transport import open_transport
from host.bridge.transport.base import Transport
from host.core import cbor
from host.devtools.ports import free_port_pair  # noqa: F401 - used by the tests
from host.devtools.scripted_user import (  # noqa: F401 - re-exported for the tests
    Decide,
    Interaction,
    ScriptedUser,
    always,
    quiz_answers,
    quiz_lies,
)

# BIP39 test vector 2 (12 words) and an all-"abandon" 24-word mnemonic.
MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
MNEMONIC_24 = "abandon " * 23 + "art"
PIN = "1234"
OTHER_PIN = "98765432"
CHAIN = "qos-test"
# The emulator's PIN stretching target for the suite: below what the floor of iterations takes,
# so every PIN try costs the floor (10,000 PBKDF2 iterations) rather than a board's 1 s.
FAST_KDF_MS = 1

REAL_DEVICE = bool(os.environ.get("QOS_DEVICE"))
emulator_only = pytest.mark.skipif(REAL_DEVICE, reason="needs the emulator (QOS_DEVICE is set)")


# The person at the device; it lives with the bridge because the demo uses it too.
User = ScriptedUser


# ---------------------------------------------------------------- power cuts (the emulator)


def timed(call) -> float:
    start = time.monotonic()
    call()
    return time.monotonic() - start


def restart(target, *connections: Client | DebugLink, while_off=None) -> None:
    """Kills the emulator or QEMU board and starts it again (a power cut), running
    ``while_off()`` in between. The QEMU board comes back on new ptys: the clients and debug links
    given follow it there."""
    target.emulator.kill()
    if while_off is not None:
        while_off()
    target.emulator.start()
    if not target.wire_path.startswith("serial:"):
        return
    for connection in connections:
        path = target.debug_path if isinstance(connection, DebugLink) else target.wire_path
        connection.link.transport.close()
        connection.link.transport = open_transport(path)
        connection.link.session = None


def kill_during(target, action, delay: float, limit: float, confirm: bool = False) -> None:
    """Runs ``action(client)`` (which writes flash) on a fresh client, SIGKILLs the emulator
    after ``delay`` s and restarts it. With ``confirm`` a fresh simulated user presses confirm.
    Everything started here gives up within ``limit`` s, so nothing outlives the trial."""
    several_senders(target.wire_path)  # the fresh client is a second host on the link
    client = Client.open(target.wire_path, timeout=limit)
    client.user_timeout = limit
    link = DebugLink.open(target.debug_path, timeout=limit) if confirm else None

    def worker() -> None:
        try:
            if link is not None:
                User(link).run(lambda: action(client), timeout=limit)
            else:
                action(client)
        except (DeviceError, TransportError, TimeoutError):
            pass  # the device died under it (the scripted user times out then): that is the point

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    time.sleep(delay)
    target.emulator.kill()
    target.emulator.start()
    thread.join(limit + 5)
    assert not thread.is_alive()
    client.close()
    if link is not None:
        link.close()


def clear_delay(debug: DebugLink) -> None:
    wait = debug.state()["pin_wait_s"]
    if wait:
        debug.call("debug_time", {"advance_s": wait})


def unlocks_with(client: Client, debug: DebugLink, pins: list[str]) -> str:
    """The one PIN (of ``pins``) that opens the wallet now; wrong tries along the way are fine."""
    for pin in pins:
        clear_delay(debug)
        try:
            client.unlock(pin)
            return pin
        except (WrongPin, PinDelay):
            continue
    raise AssertionError(f"none of {pins} opens the wallet: the PIN state is corrupt")


class RawPeer:
    """Injects bytes and collects whatever the device answers, decoded.

    ``replies()`` waits until the link has been quiet for longer than the device's 400 ms
    partial-frame timeout, so a frame sent afterwards never lands inside leftover garbage.
    """

    def __init__(self, path: str | Transport) -> None:
        # A transport is borrowed (a serial link has one host: the device client's), not closed.
        self.owned = isinstance(path, str)
        self.link = Link(open_transport(path) if isinstance(path, str) else path)

    def send(self, data: bytes) -> None:
        self.link.transport.write(data)

    def send_payload(self, payload: bytes) -> None:
        self.send(framing.encode_frame(payload))

    def replies(self, quiet: float = 0.5, at_least: int = 0) -> list[dict]:
        """Replies until none came for ``quiet`` seconds (waiting longer for the first ones)."""
        found = []
        while True:
            try:
                wait = 5.0 if len(found) < at_least else quiet
                payload = self.link.read_frame(wait)
            except NoReply:
                return found
            reply = cbor.loads(payload)
            assert isinstance(reply, dict) and set(reply) - {"session"} in (
                {"id", "result"},
                {"id", "error"},
            )
            found.append(reply)

    def acquire(self) -> bytes:
        """Takes the device (as any host does before requests that need a session)."""
        self.link.session = None
        session = self.link.call("acquire", {}, 5.0)["session"]
        self.link.session = session
        return session

    def close(self) -> None:
        if self.owned:
            self.link.close()


def several_senders(wire_path: str) -> None:
    """Skips a test that needs senders of its own beside the device client's: on a serial link
    (the QEMU board) one host holds the port; per-sender reassembly is a datagram-link matter."""
    if wire_path.startswith("serial:"):
        pytest.skip("needs several senders: a datagram link (the emulator's UDP port)")


def request(rid, method="ping", params=None, session: bytes | None = None) -> bytes:
    body = {"id": rid, "method": method, "params": params or {}}
    if session is not None:
        body["session"] = session
    return cbor.dumps(body)
