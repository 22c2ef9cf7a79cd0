import json
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_vectors(name: str) -> Path | None:
    """The official vectors live in ../shared beside the clone; tests use them when present."""
    path = SHARED / "vectors" / name
    return path if path.exists() else None


@pytest.fixture
def bip39_vectors():
    path = shared_vectors("bip39-vectors.json")
    if path is None:
        pytest.skip("shared/vectors/bip39-vectors.json not beside this clone")
    return json.loads(path.read_text())["english"]
