"""Helpers for the device test suite (hil/): the known seed, the simulated user, raw links.

Kept out of conftest.py so test modules can import them by a name no other conftest shares.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from host.bridge.client import DebugLink

# BIP39 test vector 2 (12 words) and an all-"abandon" 24-word mnemonic.
MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
MNEMONIC_24 = "abandon " * 23 + "art"
PIN = "1234"
OTHER_PIN = "98765432"
CHAIN = "qos-test"

REAL_DEVICE = bool(os.environ.get("QOS_DEVICE"))
emulator_only = pytest.mark.skipif(REAL_DEVICE, reason="needs the emulator (QOS_DEVICE is set)")


def free_port_pair() -> int:
    """A port P with P and P+1 both free for UDP (the emulator's wire and debug link)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            if port >= 65535:
                continue
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second:
                    second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    raise RuntimeError("no free UDP port pair")


# ------------------------------------------------------------------ the person at the device


Decide = Callable[[dict[str, Any], dict[str, Any]], str]


def always(button: str) -> Decide:
    return lambda screen, state: button


@dataclass
class Interaction:
    """What happened while the user handled one call."""

    screens: list[dict[str, Any]] = field(default_factory=list)
    presses: list[str] = field(default_factory=list)

    def text(self) -> str:
        """Every dialog screen seen, as text (title, lines, footer)."""
        return "\n".join(
            "\n".join([s["title"], *s["lines"], s.get("footer", "")]) for s in self.screens
        )


class User:
    """Acts as the person holding the device, through the debug link.

    ``run(call, decide)`` starts ``call`` (a client call that waits for the user) in a thread and,
    while it runs, answers every dialog the device shows with ``decide(screen, state)`` ->
    "confirm" or "cancel". A dialog is a screen whose hint bar starts with "cancel" (progress
    bars show a percentage instead). The call's result is returned, its exception re-raised.
    """

    def __init__(self, link: DebugLink) -> None:
        self.link = link
        self.last = Interaction()

    def run(
        self, call: Callable[[], Any], decide: Decide | None = None, timeout: float = 120
    ) -> Any:
        decide = decide or always("confirm")
        outcome: dict[str, Any] = {}

        def worker() -> None:
            try:
                outcome["result"] = call()
            except BaseException as exc:  # noqa: BLE001 - handed back to the test thread
                outcome["error"] = exc

        self.last = Interaction()
        thread = threading.Thread(target=worker, daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        answered: tuple | None = None
        answered_at = 0.0
        while thread.is_alive():
            if time.monotonic() > deadline:
                raise TimeoutError("the call did not finish while the user kept answering")
            screen = self.link.screen()
            key = (screen["title"], tuple(screen["lines"]), screen.get("footer", ""))
            waiting = str(screen.get("footer", "")).startswith("cancel")
            # The same dialog twice in a row is possible (a word quiz can repeat a question), so
            # a screen that stays put for a while after our press is answered again.
            stale = key == answered and time.monotonic() - answered_at < 0.5
            if waiting and not stale:
                state = self.link.state()
                if state.get("busy"):
                    button = decide(screen, state)
                    self.last.screens.append(screen)
                    self.last.presses.append(button)
                    self.link.press(button)
                    answered, answered_at = key, time.monotonic()
            thread.join(0.005)
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("result")

    def confirm(self, call: Callable[[], Any]) -> Any:
        return self.run(call, always("confirm"))

    def cancel(self, call: Callable[[], Any]) -> Any:
        return self.run(call, always("cancel"))


def quiz_answers(screen: dict[str, Any], state: dict[str, Any]) -> str:
    """Confirms every page and answers the word check truthfully from the debug state."""
    if screen["title"] != "Check words":
        return "confirm"
    words = str(state.get("mnemonic") or "").split()
    position = int(screen["lines"][0].split("#")[1]) - 1
    proposed = screen["lines"][2].strip()
    return "confirm" if words and words[position] == proposed else "cancel"


def quiz_lies(screen: dict[str, Any], state: dict[str, Any]) -> str:
    """Confirms pages but answers every word check wrongly (a user who did not write them down)."""
    truthful = quiz_answers(screen, state)
    if screen["title"] != "Check words":
        return truthful
    return "cancel" if truthful == "confirm" else "confirm"


def raw_link(path: str):
    """A bare transport to inject bytes the client would never send."""
    from host.bridge.transport import open_transport

    return open_transport(path)
