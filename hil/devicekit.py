"""Helpers for the device test suite (hil/): the known seeds, PINs and the simulated user.

Kept out of conftest.py so test modules can import them by a name no other conftest shares.
"""

from __future__ import annotations

import os

import pytest

from host.bridge.scripted_user import (  # noqa: F401 - re-exported for the tests
    Decide,
    Interaction,
    ScriptedUser,
    always,
    quiz_answers,
    quiz_lies,
)
from host.bridge.transport.udp import free_port_pair  # noqa: F401 - used by the tests

# BIP39 test vector 2 (12 words) and an all-"abandon" 24-word mnemonic.
MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
MNEMONIC_24 = "abandon " * 23 + "art"
PIN = "1234"
OTHER_PIN = "98765432"
CHAIN = "qos-test"
# The emulator's PIN stretching target for the suite: below what the floor of iterations takes,
# so every PIN try costs the floor (10,000 PBKDF2 iterations) rather than a board's 1 s.
FAST_KDF_MS = 1

REAL_DEVICE = bool(os.environ.get("QOS_DEVICE"))
emulator_only = pytest.mark.skipif(REAL_DEVICE, reason="needs the emulator (QOS_DEVICE is set)")


# The person at the device; it lives with the bridge because the demo uses it too.
User = ScriptedUser
