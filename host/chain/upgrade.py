"""Software upgrades, in the spirit of Cosmos x/upgrade.

A passed gov/upgrade proposal stores a plan (name, height, info). Before the application executes
the block at that height it looks up the plan's name in its table of upgrade handlers (HANDLERS,
in code: what makes a binary "new"):

- no handler (the old binary): it refuses the block, raising UpgradeNeeded, and nothing of the
  block is executed. The solo engine stops producing (the block stays in its block store, so a
  restart of the old binary halts again at the same block); under CometBFT FinalizeBlock answers
  an exception, so every validator halts at that height. `qosd start` exits with HALT_EXIT_CODE.
- a handler (the new binary): it runs the handler's state migration in that block, records the
  upgrade as done and goes on from the same state, so the app hash chain continues unbroken.

A binary holding a handler for a plan whose height is not reached yet refuses to run too
(started too early, it would execute the old chain's blocks with new rules).

Keys:
    upgrade/plan            {"name", "height", "info", "proposal"}: the plan waiting for its height
    upgrade/done/<name>     the height at which that upgrade ran (a name is used once)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from host.chain.x.context import Ctx
from host.core.errors import Code, TxError

PLAN = b"upgrade/plan"
DONE = b"upgrade/done/"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HALT_EXIT_CODE = 3  # qosd start's exit status when it halts for an upgrade (docs/operations.md)

UpgradeHandler = Callable[[Ctx], None]  # migrates the state in the upgrade block; may do nothing
HANDLERS: dict[str, UpgradeHandler] = {}  # this binary's upgrades, by plan name


class UpgradeNeeded(RuntimeError):
    """The chain reached a plan this binary has no handler for: run the binary that has it."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        info = f" ({plan['info']})" if plan["info"] else ""
        super().__init__(f"UPGRADE {plan['name']!r} NEEDED at height {plan['height']}{info}: "
                         "this binary halts here; start the binary that handles it")


class UpgradedTooEarly(RuntimeError):
    """This binary handles a plan whose height is not reached: run the old binary until then."""


def check_plan(ctx: Ctx, name: Any, height: Any) -> None:
    """A plan a proposal may carry: a fresh name and a height still ahead (TxError if not)."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise TxError(Code.BAD_ENCODING, "plan must be 1..64 of A-Z a-z 0-9 . _ - "
                      "(starting with a letter or digit)")
    if ctx.get(DONE + name.encode()) is not None:
        raise TxError(Code.ALREADY_EXISTS, f"upgrade {name!r} already ran")
    if isinstance(height, bool) or not isinstance(height, int) or height <= ctx.height:
        raise TxError(Code.INVALID_REQUEST, f"upgrade height {height} is not after the current "
                      f"height {ctx.height}")


def schedule(ctx: Ctx, plan: dict[str, Any]) -> str:
    """Store a passed plan (replacing any earlier one); '' when done, else why not."""
    try:
        check_plan(ctx, plan["name"], plan["height"])
    except TxError as err:
        return err.log
    ctx.put(PLAN, plan)
    ctx.emit("upgrade_scheduled", name=plan["name"], height=plan["height"])
    return ""


def cancel(ctx: Ctx, name: str) -> str:
    plan = ctx.get(PLAN)
    if plan is None or plan["name"] != name:
        return f"no upgrade {name!r} is scheduled"
    ctx.delete(PLAN)
    ctx.emit("upgrade_cancelled", name=name)
    return ""


def run_due(ctx: Ctx, handlers: dict[str, UpgradeHandler]) -> None:
    """Before the block at ctx.height: halt (UpgradeNeeded) or run the plan due now."""
    plan = ctx.get(PLAN)
    if plan is None:
        return
    handler = handlers.get(plan["name"])
    if plan["height"] != ctx.height:
        if handler is not None:
            raise UpgradedTooEarly(f"this binary handles upgrade {plan['name']!r}, planned for "
                                   f"height {plan['height']}, not {ctx.height}: run the old one")
        return
    if handler is None:
        raise UpgradeNeeded(plan)
    handler(ctx)
    ctx.delete(PLAN)
    ctx.put(DONE + plan["name"].encode(), ctx.height)
    ctx.emit("upgrade", name=plan["name"], height=ctx.height)


def query_plan(ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
    """The scheduled plan (None when there is none)."""
    return PLAN, ctx.get(PLAN)
