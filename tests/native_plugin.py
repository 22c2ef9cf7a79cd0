"""`pytest -p tests.native_plugin ...`: the tests run on host.chain.native's compiled modules.

Loaded as a plugin, it enables them before any test module imports one (tests/chain/test_native.py
runs the codec and application suites this way)."""

import pytest

from host.chain import native

NOT_LOADED = native.enable()


def pytest_configure(config: pytest.Config) -> None:
    if NOT_LOADED:
        raise pytest.UsageError(f"the compiled modules are not loaded: {NOT_LOADED}")


def pytest_report_header() -> str:
    return f"host.chain.native: compiled modules from {native.NATIVE_DIR}"
