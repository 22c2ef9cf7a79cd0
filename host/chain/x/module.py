"""What an application module is (Cosmos SDK's AppModule), and the router of its messages.

The application builds its modules once, in host/chain/app.py, and hands each what it declares in
its constructor: the keepers of other modules it uses, and the message router (x/qcp runs relayed
payloads through it). No module reaches into the application or another module's state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from host.chain.types import BlockInfo, ValidatorUpdate
from host.chain.x.context import Ctx
from host.core.tx import Msg

Handler = Callable[[Ctx, Msg], None]
Query = Callable[[Ctx, bytes], tuple[bytes, Any]]  # -> (the store key behind it, JSON-able value)
AdmissionCheck = Callable[[Ctx, Msg, dict[Any, Any]], None]  # (ctx, msg, its mempool view)


class AppModule:
    """A module overrides what it has; the hooks run in the application's module order."""

    name = ""

    def handlers(self) -> dict[str, Handler]:
        """Message type -> handler."""
        return {}

    def queries(self) -> dict[str, Query]:
        """Query path -> handler."""
        return {}

    def admission_checks(self) -> dict[str, AdmissionCheck]:
        """Message type -> a mempool-only check that refuses a tx which would surely fail."""
        return {}

    def init_genesis(self, ctx: Ctx, genesis: Any) -> list[ValidatorUpdate]:
        return []

    def begin_block(self, ctx: Ctx, block: BlockInfo) -> None:
        return None

    def end_block(self, ctx: Ctx, block: BlockInfo) -> list[ValidatorUpdate]:
        return []

    def invariants(self, ctx: Ctx) -> list[str]:
        """What is wrong with this module's state ([] when all holds)."""
        return []


class Router:
    """Message type -> handler, filled by the application from its modules."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def add(self, handlers: dict[str, Handler]) -> None:
        taken = set(handlers) & set(self._handlers)
        if taken:
            raise ValueError(f"message types handled twice: {sorted(taken)}")
        self._handlers.update(handlers)

    def handler(self, msg_type: str) -> Handler | None:
        return self._handlers.get(msg_type)

    def __contains__(self, msg_type: object) -> bool:
        return msg_type in self._handlers

    def __getitem__(self, msg_type: str) -> Handler:
        return self._handlers[msg_type]
