"""Where the project's shared material (official vectors, pinned toolchain sources) is found.

A checkout from the release tarball has it in ../shared beside the clone; CI and other layouts
name it with QOS_SHARED; this workplace keeps it at /work/shared.
"""

import os
from pathlib import Path

_BESIDE_CHECKOUT = Path(__file__).resolve().parents[3] / "shared"
_WORKPLACE = Path("/work/shared")


def shared_dir() -> Path | None:
    """The first shared folder that exists, in the order QOS_SHARED, ../shared, /work/shared."""
    candidates = [Path(p) for p in [os.environ.get("QOS_SHARED", "")] if p]
    candidates += [_BESIDE_CHECKOUT, _WORKPLACE]
    for candidate in candidates:
        if (candidate / "vectors").is_dir() or (candidate / "toolchains").is_dir():
            return candidate
    return None


def shared_path(*parts: str) -> Path | None:
    """A file or folder inside the shared folder, or None when it is not on this machine."""
    root = shared_dir()
    if root is None:
        return None
    path = root.joinpath(*parts)
    return path if path.exists() else None
