"""Output shared by the command groups: rich consoles (created on first use, so importing a group
for `qos --help` does not import rich), ``--json`` or human output, and a spinner on stderr.

Human output goes to stdout through ``out``; progress and errors go to stderr through ``err``, so
stdout stays clean for scripts in both modes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class _LazyConsole:
    """A rich Console made on first use."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def print(self, *objects: Any, **kwargs: Any) -> None:
        self.console.print(*objects, **kwargs)

    @property
    def is_terminal(self) -> bool:
        return self.console.is_terminal


class CommandError(Exception):
    """A user-facing failure (bad arguments, an unreachable node, a rejected tx): `qos` prints
    it as one line and exits 1."""


class UsageError(CommandError):
    """Bad input (an argument, a file, a passphrase that does not open a key): exit status 2,
    nothing was sent or changed."""


# soft_wrap: a long line (a hex signature) is printed whole, not folded at the terminal's width
# (80 columns when piped), so scripts and copy-paste get it in one piece.
out = _LazyConsole(highlight=False, emoji=False, soft_wrap=True)
err = _LazyConsole(stderr=True, highlight=False, emoji=False, soft_wrap=True)


def escape(text: str) -> str:
    """Text with rich markup characters escaped, to print untrusted strings."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def print_json(doc: object) -> None:
    print(json.dumps(doc, indent=2, sort_keys=True))


def emit(args: argparse.Namespace, data: dict[str, Any], human: Callable[[], None]) -> int:
    """Prints ``data`` as one JSON object with --json, else calls ``human``; returns 0."""
    if args.json:
        print(json.dumps(data, sort_keys=True))
    else:
        human()
    return 0


@contextlib.contextmanager
def working(message: str) -> Iterator[None]:
    """A spinner with the elapsed time on stderr while the device works or waits for a press."""
    if not err.is_terminal:
        err.print(message)
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err.console, transient=True) as progress:
        progress.add_task(message, total=None)
        yield
