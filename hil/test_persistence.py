"""Power cuts: the emulator is killed with SIGKILL at random moments while the device writes its
flash, then restarted on the same flash image. Every time the state must be the old one or the new
one, whole: never a corrupt wallet, never a lost one, never a PIN that opens nothing."""

from __future__ import annotations

import random

import pytest
from devicekit import (
    MNEMONIC,
    MNEMONIC_24,
    OTHER_PIN,
    PIN,
    clear_delay,
    emulator_only,
    kill_during,
    restart,
    timed,
    unlocks_with,
)

from host.bridge.exceptions import WrongPin
from host.core import keys

pytestmark = emulator_only

ADDRESS = keys.Account.from_mnemonic(MNEMONIC).address_string
ADDRESS_24 = keys.Account.from_mnemonic(MNEMONIC_24).address_string
TRIALS = 8


@pytest.fixture
def rng() -> random.Random:
    return random.Random(0x51F)


def test_kill_during_change_pin_keeps_old_or_new_pin(target, device, debug, user, rng):
    duration = timed(lambda: user.confirm(lambda: device.change_pin(PIN, OTHER_PIN)))
    user.confirm(lambda: device.change_pin(OTHER_PIN, PIN))
    outcomes = []
    for _ in range(TRIALS):
        debug.load(MNEMONIC, PIN)
        change = lambda c: c.change_pin(PIN, OTHER_PIN)  # noqa: E731
        kill_during(target, change, rng.uniform(0, duration), duration + 1, confirm=True)
        info = device.get_info()
        assert info["initialized"] is True and info["locked"] is True
        outcomes.append(unlocks_with(device, debug, [PIN, OTHER_PIN]))
        assert device.get_address(0, 0) == ADDRESS
    assert set(outcomes) <= {PIN, OTHER_PIN}


def test_kill_during_recover_leaves_no_wallet_or_the_whole_wallet(target, blank, user, debug, rng):
    duration = timed(lambda: user.confirm(lambda: blank.recover(MNEMONIC_24, PIN)))
    for _ in range(TRIALS):
        debug.wipe()
        recover = lambda c: c.recover(MNEMONIC_24, PIN)  # noqa: E731
        kill_during(target, recover, rng.uniform(0, duration), duration + 1, confirm=True)
        info = blank.get_info()
        if info["initialized"]:
            unlocks_with(blank, debug, [PIN])
            assert blank.get_address(0, 0) == ADDRESS_24
        else:
            assert info["locked"] is True


def test_kill_during_wipe_leaves_the_wallet_or_nothing(target, device, user, debug, rng):
    duration = timed(lambda: user.confirm(device.wipe))
    for _ in range(TRIALS):
        debug.load(MNEMONIC, PIN)
        kill_during(target, lambda c: c.wipe(), rng.uniform(0, duration), duration + 1, True)
        info = device.get_info()
        if info["initialized"]:
            unlocks_with(device, debug, [PIN])
            assert device.get_address(0, 0) == ADDRESS


def test_kill_during_a_wrong_pin_try_never_gives_a_free_try(target, device, debug, rng):
    device.lock()
    duration = timed(lambda: pytest.raises(WrongPin, device.unlock, "0000"))
    clear_delay(debug)
    device.unlock(PIN)
    device.lock()
    for _ in range(TRIALS):
        before = device.get_info()["pin_retries_left"]
        clear_delay(debug)
        guess = lambda c: c.unlock("0000")  # noqa: E731
        kill_during(target, guess, rng.uniform(0, duration), duration + 1)
        after = device.get_info()["pin_retries_left"]
        # The try is counted on flash before the PIN is checked, so killing the check at any
        # point may cost the try but can never give one back.
        assert after in (before, before - 1)
        assert after > 0
    unlocks_with(device, debug, [PIN])
    assert device.get_address(0, 0) == ADDRESS
    assert device.get_info()["pin_retries_left"] == 10


def test_restart_keeps_the_wallet_and_locks_it(target, device, debug):
    restart(target, device, debug)
    info = device.get_info()
    assert info["initialized"] is True and info["locked"] is True
    device.unlock(PIN)
    assert device.get_address(0, 0) == ADDRESS
