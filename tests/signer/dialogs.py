"""Drives a request's dialogs through the debug link, as a user at the device would."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from host.bridge.client import Client
from host.bridge.debuglink import DebugLink
from host.bridge.exceptions import NoReply

PATIENCE_S = 120  # a deadline against a hung device, not a duration under test


def answer_dialogs(
    client: Client, debug: DebugLink, rid: int, answer: Callable[[dict], str]
) -> Any:
    """Presses answer(screen) ("confirm" or "cancel") once on each new dialog, in order, until
    the request answers; returns its result. A device error raises at once. Not ScriptedUser:
    it reads the debug state at each dialog, a reply whose allocations in the middle of a
    16-message sign_tx ran the stock-board heap out of memory now and then."""
    last: dict = {}
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        try:
            return client.link.receive(rid, 0.02)
        except NoReply:
            pass
        screen = debug.screen(fb=False)
        if screen["seq"] == last.get("seq") or not screen["footer"].startswith("cancel"):
            continue  # the last press is not processed yet, or no dialog waits
        last = screen
        debug.press(answer(screen), screen["seq"])
    state = debug.state()
    raise AssertionError(f"the request never finished; last dialog: {last}; "
                         f"busy: {state['busy']}, requests: {state['requests']}")
