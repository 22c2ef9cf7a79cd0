"""Presses belong to the dialog they were made on, and a dialog nobody answers cancels itself.

The attacker here is a stray or early input: a key pressed while nothing was asked (it used to
wait in a queue and confirm the next dialog), a press aimed at the screen a new dialog replaced,
and a host that vanishes while the device waits for the user.
"""

from __future__ import annotations

import time

import pytest
from devicekit import several_senders

from host.bridge.client import Client
from host.bridge.exceptions import DeviceBusy, NoReply, UserCancelled, WrongState
from host.core import cbor
from host.core import tx as txlib

DIALOG_TIMEOUT_S = 120


def wait_for_dialog(debug, after: int = -1) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        screen = debug.screen(fb=False)
        if screen["footer"].startswith("cancel") and screen["seq"] > after:
            return screen
        time.sleep(0.01)
    raise AssertionError("no dialog appeared")


def still_waiting(device, request_id: int, debug) -> bool:
    try:
        device.link.receive(request_id, 0.3)
    except NoReply:
        return bool(debug.state().get("busy"))
    return False


def transfer_tx() -> bytes:
    msg = txlib.transfer(bytes(range(20)), 5)
    return cbor.dumps({"chain": "qos-test", "nonce": 1, "fee": 1, "memo": "", "msgs": [msg]})


def test_a_press_made_while_nothing_is_asked_is_refused_and_never_confirms_later(device, debug):
    for button in ("confirm", "cancel", "confirm"):
        with pytest.raises(WrongState, match="no dialog is waiting"):
            debug.press(button)
    request = device.send("get_address", {"account": 3, "index": 9, "show": True})
    dialog = wait_for_dialog(debug)
    assert still_waiting(device, request, debug)  # nothing queued confirmed it
    debug.press("cancel", dialog["seq"])
    with pytest.raises(UserCancelled):
        device.link.receive(request, 10)


def test_a_press_for_a_screen_that_is_gone_is_refused(device, debug):
    request = device.send("sign_tx", {"account": 0, "index": 0, "tx": transfer_tx()})
    first = wait_for_dialog(debug)
    debug.press("confirm", first["seq"])
    second = wait_for_dialog(debug, first["seq"])
    with pytest.raises(WrongState, match="the press was for screen"):
        debug.press("confirm", first["seq"])  # aimed at page 1, arrives on page 2
    assert still_waiting(device, request, debug)
    debug.press("cancel", second["seq"])
    with pytest.raises(UserCancelled):
        device.link.receive(request, 10)


def test_a_press_without_a_screen_inside_the_guard_time_is_refused(device, debug):
    request = device.send("get_address", {"account": 0, "index": 0, "show": True})
    wait_for_dialog(debug)
    refused = 0
    try:
        debug.press("confirm")  # right as the dialog appears
    except WrongState as exc:
        assert "within 300 ms" in exc.message
        refused = 1
    if refused:  # the device was quick enough to judge it early: later presses count
        assert still_waiting(device, request, debug)
        debug.press("cancel")
        with pytest.raises(UserCancelled):
            device.link.receive(request, 10)
    else:  # the host was slow: 300 ms had passed, so the press counted
        device.link.receive(request, 10)


def test_a_dialog_shows_its_countdown_and_cancels_itself(device, debug):
    request = device.send("sign_tx", {"account": 0, "index": 0, "tx": transfer_tx()})
    dialog = wait_for_dialog(debug)
    footer = debug.screen(fb=False)["footer"]
    assert f"{DIALOG_TIMEOUT_S}s" in footer or "119s" in footer
    debug.call("debug_time", {"advance_s": DIALOG_TIMEOUT_S - 30})
    time.sleep(0.1)
    screen = debug.screen(fb=False)
    assert screen["seq"] == dialog["seq"]  # the same dialog, its hint bar redrawn
    assert any(f"{s}s" in screen["footer"] for s in (30, 29))
    debug.call("debug_time", {"advance_s": 31})
    with pytest.raises(UserCancelled, match="no answer on the device within 120 s"):
        device.link.receive(request, 10)
    assert not debug.state().get("busy")


def test_a_host_that_vanishes_mid_request_frees_the_device_after_the_timeout(
    target, device, debug
):
    several_senders(target.wire_path)
    gone = Client.open(target.wire_path)
    gone.send("sign_tx", {"account": 0, "index": 0, "tx": transfer_tx()})
    wait_for_dialog(debug)
    gone.close()
    with pytest.raises(DeviceBusy):
        device.get_address(0, 0, show=True)
    debug.call("debug_time", {"advance_s": DIALOG_TIMEOUT_S + 1})
    deadline = time.monotonic() + 10
    while debug.state().get("busy") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not debug.state().get("busy")
    assert device.get_info()["initialized"] is True
