"""PIN: unlock/lock, change, the retry counter, 2^n-1 s delays, the wipe after 10 failures."""

from __future__ import annotations

import pytest
from devicekit import MNEMONIC, OTHER_PIN, PIN, emulator_only, restart, several_senders

from host.bridge.exceptions import BadParams, DeviceLocked, PinDelay, UserCancelled, WrongPin
from host.core import keys

WRONG = "0000"
EXPECTED_ADDRESS = keys.Account.from_mnemonic(MNEMONIC).address_string


def fail_once(device, debug, pin: str = WRONG) -> WrongPin:
    """One wrong try, after letting the debug clock run past any pending delay."""
    wait = debug.state()["pin_wait_s"]
    if wait:
        debug.call("debug_time", {"advance_s": wait})
    with pytest.raises(WrongPin) as caught:
        device.unlock(pin)
    return caught.value


def test_lock_then_unlock(device):
    device.lock()
    info = device.get_info()
    assert info["locked"] is True and info["initialized"] is True
    with pytest.raises(DeviceLocked):
        device.get_public_key(0, 0)
    device.unlock(PIN)
    assert device.get_address(0, 0) == EXPECTED_ADDRESS


def test_wrong_pin_counts_down_and_a_right_one_resets(device, debug):
    device.lock()
    assert fail_once(device, debug).retries_left == 9
    assert fail_once(device, debug).retries_left == 8
    assert device.get_info()["pin_retries_left"] == 8
    debug.call("debug_time", {"advance_s": debug.state()["pin_wait_s"]})
    device.unlock(PIN)
    assert device.get_info()["pin_retries_left"] == 10
    assert debug.state()["pin_failures"] == 0


def test_delays_grow_as_two_to_the_n_minus_one(device, debug):
    device.lock()
    for failures in range(1, 6):
        fail_once(device, debug)
        expected = 2**failures - 1
        # Trying again at once is refused without costing a try, and says how long to wait.
        with pytest.raises(PinDelay) as delay:
            device.unlock(PIN)
        assert expected - 1 <= delay.value.wait_s <= expected
        assert debug.state()["pin_failures"] == failures
    debug.call("debug_time", {"advance_s": 2**5})
    device.unlock(PIN)


def test_ten_wrong_pins_wipe_the_device(device, debug):
    device.lock()
    for tries in range(1, 10):
        assert fail_once(device, debug).retries_left == 10 - tries
    last = fail_once(device, debug)
    assert last.retries_left == 0 and "wiped" in last.message
    info = device.get_info()
    assert info["initialized"] is False and info["locked"] is True
    assert debug.state()["mnemonic"] is None
    # The wallet is gone for good: the right PIN no longer opens anything.
    with pytest.raises(Exception) as gone:
        device.unlock(PIN)
    assert gone.value.code == -32005


def test_a_pin_change_the_user_refuses_on_the_device_changes_nothing(device, debug, user):
    """Attacker's test: a host knows the PIN (it sends it) and asks for a new one. The person at
    the device says no: the old PIN still opens the wallet, the new one does not, no try spent."""
    with pytest.raises(UserCancelled):
        user.cancel(lambda: device.change_pin(PIN, OTHER_PIN))
    assert "Change PIN" in user.last.text() and user.last.presses == ["cancel"]
    assert debug.state()["pin_failures"] == 0
    device.lock()
    fail_once(device, debug, OTHER_PIN)
    debug.call("debug_time", {"advance_s": 1})
    device.unlock(PIN)
    assert device.get_address(0, 0) == EXPECTED_ADDRESS


def test_change_pin(device, debug, user):
    user.confirm(lambda: device.change_pin(PIN, OTHER_PIN))
    assert "Change PIN" in user.last.text()
    device.lock()
    with pytest.raises(WrongPin):
        device.unlock(PIN)
    debug.call("debug_time", {"advance_s": 1})
    device.unlock(OTHER_PIN)
    assert device.get_address(0, 0) == EXPECTED_ADDRESS


def test_change_pin_with_a_wrong_pin_costs_a_try_and_changes_nothing(device, debug, user):
    with pytest.raises(WrongPin) as wrong:
        user.confirm(lambda: device.change_pin(WRONG, OTHER_PIN))
    assert wrong.value.retries_left == 9
    debug.call("debug_time", {"advance_s": 1})
    device.lock()
    device.unlock(PIN)


@pytest.mark.parametrize("pin", ["123", "1" * 51, "12a4", "", 1234, None])
def test_malformed_pins_are_bad_params_and_cost_nothing(device, debug, pin):
    device.lock()
    params = {} if pin is None else {"pin": pin}
    with pytest.raises(BadParams):
        device.call("unlock", params)
    assert debug.state()["pin_failures"] == 0


@emulator_only
def test_failures_and_delay_survive_a_restart(device, debug, target):
    device.lock()
    for _ in range(3):
        fail_once(device, debug)
    restart(target, device, debug)
    assert device.get_info()["pin_retries_left"] == 7
    # The delay counts from boot: a power cycle does not skip it.
    with pytest.raises(PinDelay):
        device.unlock(PIN)
    debug.call("debug_time", {"advance_s": 8})
    device.unlock(PIN)
    assert device.get_address(0, 0) == EXPECTED_ADDRESS


def test_ping_answers_while_the_seed_is_derived(device, debug, target):
    several_senders(target.wire_path)
    import threading

    from host.bridge.client import Client

    device.lock()
    unlocking = threading.Thread(target=device.unlock, args=(PIN,), daemon=True)
    answered_while_busy = 0
    with Client.open(target.wire_path) as other:
        unlocking.start()
        while unlocking.is_alive():
            if debug.state()["busy"] != "unlock":
                continue
            echoed = other.ping(b"are you there")
            if debug.state()["busy"] == "unlock":  # still deriving after the ping came back
                assert echoed == b"are you there"
                answered_while_busy += 1
        unlocking.join()
    assert answered_while_busy > 0
    assert device.get_address(0, 0) == EXPECTED_ADDRESS
