"""The debug link of emulator and debug builds (UDP port+1 on the emulator): it presses buttons,
reads the screen and loads fixture seeds. Production devices have no debug link.
"""

from __future__ import annotations

from typing import Any

from host.bridge.client import (
    DEFAULT_TIMEOUT,
    USER_TIMEOUT,
    Link,
    check_pin,
    debug_path_for,
    default_path,
    optional_params,
    reply_map,
)
from host.bridge.exceptions import WrongState
from host.bridge.transport import open_transport
from host.bridge.transport.base import Transport


class DebugLink:
    """The debug link of emulator and debug builds (UDP port+1 on the emulator)."""

    def __init__(self, transport: Transport, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.link = Link(transport)
        self.timeout = timeout

    @classmethod
    def open(cls, path: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> DebugLink:
        return cls(open_transport(path or debug_path_for(default_path())), timeout)

    def close(self) -> None:
        self.link.close()

    def __enter__(self) -> DebugLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.link.call(method, params or {}, self.timeout)

    def press(self, button: str = "confirm", seq: int | None = None) -> None:
        """Presses `button` on the dialog waiting now. With `seq` (a debug_screen's seq) the
        press counts only if that very screen is the one waiting; without it, only once the
        dialog has been shown for the device's guard time. Otherwise the device refuses
        (WrongState) and nothing is pressed."""
        if button not in ("confirm", "cancel"):
            raise ValueError("button must be 'confirm' or 'cancel'")
        params: dict[str, Any] = {"button": button}
        if seq is not None:
            params["seq"] = seq
        self.call("debug_press", params)

    def answer(self, button: str = "confirm") -> bool:
        """Presses `button` on the dialog on screen now, if one waits for a button. False when
        none does, or when it went before the press arrived (nothing was pressed then)."""
        screen = self.screen(fb=False)
        if not str(screen.get("footer", "")).startswith("cancel"):
            return False
        try:
            self.press(button, screen["seq"])
        except WrongState:
            return False
        return True

    def screen(self, fb: bool = True) -> dict[str, Any]:
        """The screen as text (title, lines, footer, seq) and, unless fb=False, its pixels."""
        return reply_map(self.call("debug_screen", {"fb": fb}), "debug_screen")

    def screen_text(self) -> str:
        screen = self.screen(fb=False)
        return "\n".join([screen.get("title", ""), *screen.get("lines", [])])

    def load(
        self,
        mnemonic: str,
        pin: str,
        passphrase: str | None = None,
        label: str | None = None,
        nfkd: bool | None = None,
    ) -> None:
        params = optional_params(
            {"mnemonic": mnemonic, "pin": check_pin(pin)},
            passphrase=passphrase,
            label=label,
            nfkd=nfkd,
        )
        self.link.call("debug_load", params, USER_TIMEOUT)

    def wipe(self) -> None:
        self.call("debug_wipe")

    def rng(self, source: str, mode: str) -> None:
        if mode not in ("constant", "normal"):
            raise ValueError("mode must be 'constant' or 'normal'")
        self.call("debug_rng", {"source": source, "mode": mode})

    def state(self) -> dict[str, Any]:
        return reply_map(self.call("debug_state"), "debug_state")
