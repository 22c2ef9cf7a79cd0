import json
from pathlib import Path

import pytest

from host.devtools.shared import shared_path


def shared_vectors(name: str) -> Path | None:
    """The official vectors (QOS_SHARED, ../shared or /work/shared); tests use them when present."""
    return shared_path("vectors", name)


@pytest.fixture
def bip39_vectors():
    path = shared_vectors("bip39-vectors.json")
    if path is None:
        pytest.skip("shared/vectors/bip39-vectors.json not found (set QOS_SHARED)")
    return json.loads(path.read_text())["english"]
