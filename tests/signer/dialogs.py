"""Drives a request's dialogs through the debug link, as a user at the device would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from host.bridge.client import Client
from host.bridge.debuglink import DebugLink
from host.devtools.scripted_user import ScriptedUser

PATIENCE_S = 120  # a deadline against a hung device, not a duration under test


def answer_dialogs(
    client: Client, debug: DebugLink, rid: int, answer: Callable[[dict], str]
) -> Any:
    """Presses answer(screen) ("confirm" or "cancel") once on each new dialog of the request
    already sent as `rid`, until it answers; returns its result. A device error raises."""
    return ScriptedUser(debug).run(
        lambda: client.link.receive(rid, PATIENCE_S),
        lambda screen, state: answer(screen),
        timeout=PATIENCE_S,
    )
