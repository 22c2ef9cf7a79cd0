"""The node's hot modules compiled by mypyc, loaded only while they match their sources.

mypyc compiles the type-annotated modules in MODULES to C extensions: the same code, ~9% less
CPU per tx in a validator (docs/benchmarks.md). `make setup` builds them (host.devtools.native)
into the venv, apart from the sources, with the SHA-256 of each source they were compiled from.
`enable()` loads them only if every source still has that hash, so an edited module never runs
as its stale build: it runs as Python until the next `make setup`.

`qosd` enables them (QOSD_PURE_PYTHON=1 keeps it on Python). In-process tests do not: they
patch module functions, which compiled callers do not see. tests/chain/test_native.py holds a
compiled node to the Python one on the same blocks and hostile input.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import sys
import sysconfig
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

# Where a validator's CheckTx, FinalizeBlock and Commit spend their Python time: the tx codec, the
# handlers' context, the store, the ABCI server and the explorer's index at commit. Not yet the app,
# its types and the keepers: see "Compiled modules" in docs/operations.md.
MODULES = (
    "host.core.cbor",
    "host.core.tx",
    "host.chain.x.context",
    "host.chain.store.cache",
    "host.chain.store.db",
    "host.chain.store.smt",
    "host.chain.engine.abci_server",
    "host.chain.indexer.decode",
    "host.chain.indexer.index",
)
NATIVE_DIR = Path(sys.prefix) / "qos-native"
MANIFEST = "manifest.json"
ROOT = Path(__file__).resolve().parents[2]  # where the sources are


def source_path(module: str) -> Path:
    return ROOT / (module.replace(".", "/") + ".py")


def source_digests() -> dict[str, str]:
    return {m: hashlib.sha256(source_path(m).read_bytes()).hexdigest() for m in MODULES}


def build_problem(directory: Path = NATIVE_DIR) -> str | None:
    """None if the build in `directory` matches the sources and this Python, else why not."""
    return _matching_manifest(directory)[1]


def _matching_manifest(directory: Path) -> tuple[dict, None] | tuple[None, str]:
    """The build's manifest, read once, if it matches the sources and this Python; else why not."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        return None, "not built (make setup builds it where a C compiler is installed)"
    except (OSError, ValueError) as exc:
        return None, f"unreadable build manifest: {exc}"
    if manifest.get("ext_suffix") != sysconfig.get_config_var("EXT_SUFFIX"):
        return None, "built for another Python"
    built = manifest.get("sources", {})
    if set(built) != set(MODULES):
        return None, "built from another list of modules (make setup builds it again)"
    try:
        stale = [m for m, digest in source_digests().items() if built[m] != digest]
    except OSError as exc:
        return None, f"a source is unreadable: {exc}"
    if stale:
        return None, f"stale build: {stale[0]} changed since (make setup builds it again)"
    return manifest, None


def enable(directory: Path = NATIVE_DIR) -> str | None:
    """Loads MODULES from the build from now on; returns None, or why they stay Python."""
    loaded = [m for m in MODULES if m in sys.modules]
    if loaded:  # a compiled module calling into the Python copy of another would crash
        return f"{loaded[0]} was already imported as Python"
    manifest, reason = _matching_manifest(directory)
    if manifest is not None:
        files = manifest["files"]
        sys.meta_path.insert(0, _Finder({name: directory / f for name, f in files.items()}))
    return reason


def compiled_now() -> list[str]:
    """Which of MODULES this process has loaded compiled, sorted."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    files = {m: getattr(sys.modules.get(m), "__file__", None) or "" for m in MODULES}
    return sorted(m for m, file in files.items() if file.endswith(suffixes))


class _Finder(importlib.abc.MetaPathFinder):
    """Each compiled module (and mypyc's shared library) from its file in the build."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        file = self.files.get(fullname)
        return None if file is None else importlib.util.spec_from_file_location(fullname, file)
