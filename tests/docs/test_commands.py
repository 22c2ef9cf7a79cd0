"""Every command in a ```sh block of README.md and docs/*.md runs, exactly as written.

Each document runs in its own temporary home and directory (the checkout's .venv linked into it,
as README's `.venv/bin/qos` lines expect), against one solo node this test starts: `QOS_NODE`
points at it and its genesis funds the account of the `abandon ... about` mnemonic the docs use.
A line carrying `# manual: REASON` (hardware, a running device, a server that runs until stopped,
a long build), or every line of a block that starts with one, is skipped and counted. A fence
with no language whose lines look like commands fails the test: it must say `sh` (run it) or
`text` (a synopsis), so no command escapes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from host.core.keys import Account
from tests.cli.node import solo_node

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MANUAL = "# manual:"
COMMAND_START = re.compile(r"(\.venv/bin/)?(qos|qosd|make|hil|curl|pip)\b")
FUNDED_WORDS = " ".join(["abandon"] * 11 + ["about"])
PASSPHRASE = "docs test passphrase"


@dataclass(frozen=True)
class Command:
    doc: Path
    line: int
    text: str
    block_manual: bool  # the block's first line is `# manual: REASON`

    @property
    def manual(self) -> bool:
        return self.block_manual or MANUAL in self.text

    def __str__(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}: {self.text}"


def fenced_blocks(doc: Path) -> list[tuple[str, int, list[str]]]:
    """(language, first line number, lines) of each fenced block."""
    blocks, current = [], None
    for number, line in enumerate(doc.read_text().splitlines(), 1):
        fence = re.match(r"\s*```(\S*)", line)
        if fence and current is None:
            current = (fence.group(1), number + 1, [])
        elif fence:
            blocks.append(current)
            current = None
        elif current is not None:
            current[2].append(line)
    return blocks


def commands_of(doc: Path) -> list[Command]:
    found = []
    for language, first, lines in fenced_blocks(doc):
        if language not in ("sh", "bash"):
            continue
        pending, start = "", 0
        block_manual = any(line.strip().startswith(MANUAL) for line in lines[:1])
        for offset, line in enumerate(lines):
            if not pending:
                start = first + offset
            stripped = line.rstrip()
            if stripped.endswith("\\"):  # a command continued on the next line
                pending += stripped[:-1] + " "
                continue
            text, pending = (pending + stripped).strip(), ""
            if text and not text.startswith("#"):
                found.append(Command(doc, start, text, block_manual))
    return found


def test_every_fence_with_commands_says_what_it_is():
    untagged = [f"{doc.relative_to(ROOT)}:{first}" for doc in DOCS
                for language, first, lines in fenced_blocks(doc)
                if not language and any(COMMAND_START.match(line.strip()) for line in lines)]
    assert not untagged, f"fences with commands but no language (sh or text): {untagged}"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    funded = Account.from_mnemonic(FUNDED_WORDS).address_string
    with solo_node(tmp_path_factory.mktemp("docs-node"), {funded: 1000 * 10_000}) as url:
        yield url


def _environment(home: Path, node: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("QOS_", "QOSD_")) and k != "HOME"}
    env.update(HOME=str(home), QOS_NODE=node, QOS_KEYRING_PASSPHRASE=PASSPHRASE,
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return env


@pytest.mark.parametrize("doc", [d for d in DOCS if commands_of(d)],
                         ids=lambda d: d.name)
def test_the_commands_of_a_document_run_as_written(doc, node, tmp_path):
    commands = commands_of(doc)
    (tmp_path / "home").mkdir()
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = _environment(tmp_path / "home", node)
    failures, ran = [], 0
    for command in commands:
        if command.manual:
            continue
        ran += 1
        result = subprocess.run(["bash", "-c", command.text], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            failures.append(f"{command}\n  exit {result.returncode}\n  {result.stderr[-800:]}")
    skipped = len(commands) - ran
    print(f"{doc.name}: ran {ran} commands, skipped {skipped} marked manual")
    assert not failures, "\n".join(failures)
    shutil.rmtree(tmp_path / "home", ignore_errors=True)


def test_the_docs_run_some_commands_and_mark_the_rest():
    """Counts for the report, and a guard that the extraction finds what the docs hold."""
    commands = [c for doc in DOCS for c in commands_of(doc)]
    manual = [c for c in commands if c.manual]
    print(f"docs: {len(commands)} commands, {len(commands) - len(manual)} run, "
          f"{len(manual)} marked manual")
    assert len(commands) - len(manual) >= 10
