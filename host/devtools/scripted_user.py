"""A scripted person at the device: answers its dialogs through the debug link.

The HIL suite, the signer benchmark and the demo all need someone to press the buttons of an
emulator (or a debug build). ``ScriptedUser.run(call, decide)`` runs a client call that waits for
the user in a thread and answers each dialog the device shows with ``decide(screen, state)``.
Only debug builds have a debug link; a production device needs a human.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from host.bridge.debuglink import DebugLink
from host.bridge.exceptions import NoReply, WrongState

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


class ScriptedUser:
    """Acts as the person holding the device, through the debug link.

    ``run(call, decide)`` starts ``call`` (a client call that waits for the user) in a thread and,
    while it runs, answers every dialog the device shows with ``decide(screen, state)`` ->
    "confirm" or "cancel". A dialog is a screen whose hint bar starts with "cancel" (progress
    bars show a percentage instead). The call's result is returned, its exception re-raised.
    """

    def __init__(self, link: DebugLink) -> None:
        self.link = link
        self.last = Interaction()
        self.on_press: Callable[[dict[str, Any], str], None] | None = None  # e.g. to narrate

    def run(
        self, call: Callable[[], Any], decide: Decide | None = None, timeout: float = 120
    ) -> Any:
        decide = decide or always("confirm")
        outcome: dict[str, Any] = {}

        def worker() -> None:
            try:
                outcome["result"] = call()
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
                outcome["error"] = exc

        self.last = Interaction()
        thread = threading.Thread(target=worker, daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        answered = -1  # the seq of the last dialog we pressed a button on
        while thread.is_alive():
            if time.monotonic() > deadline:
                raise TimeoutError("the call did not finish while the user kept answering")
            try:
                screen = self.link.screen(fb=False)
            except NoReply:  # the device restarts as the call ends (an installed update)
                continue
            waiting = str(screen.get("footer", "")).startswith("cancel")
            # Every draw has its own seq, so a dialog identical to the one just answered (a word
            # check can ask the same question twice) is still told apart from it.
            if waiting and screen["seq"] != answered:
                state = self.link.state()
                if state.get("busy"):
                    button = decide(screen, state)
                    self.last.screens.append(screen)
                    self.last.presses.append(button)
                    if self.on_press is not None:
                        self.on_press(screen, button)
                    try:
                        self.link.press(button, screen["seq"])
                    except WrongState:
                        pass  # that screen went before the press arrived: look again
                    answered = screen["seq"]
            thread.join(0.02)  # the device polls its links every 20 ms while it waits
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
