"""Both PIN modes on the device under test, with a real `qos pin-server` process: setup and
recover choose the mode (the device shows which), unlock and change-pin go through the server,
three wrong PINs erase the secret on both sides, a replayed reply changes nothing, and a server
that is down costs no try. Transport-agnostic: only the server runs on this host."""

from __future__ import annotations

import json
import sqlite3

import pytest
from devicekit import (
    MNEMONIC,
    OTHER_PIN,
    PIN,
    clear_delay,
    emulator_only,
    kill_during,
    quiz_answers,
    restart,
    several_senders,
    timed,
    unlocks_with,
)

from host.bridge.exceptions import WrongPin, WrongState
from host.core import keys
from host.devtools.pinserver import PinServerProcess
from host.pinserver import client as pinserver
from host.pinserver.protocol import fingerprint

ADDRESS = keys.Account.from_mnemonic(MNEMONIC).address_string
WRONG = "0000"


@pytest.fixture(scope="module")
def server():
    with PinServerProcess() as process:
        yield process


def rows(server: PinServerProcess) -> int:
    with sqlite3.connect(server.data_dir / "records.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM records").fetchone()[0]


@pytest.fixture
def served(blank, user, server):
    """A device holding the known seed, its PIN enforced by the server, unlocked."""
    before = rows(server)
    user.confirm(lambda: blank.recover(MNEMONIC, PIN, pin_server=server.url))
    assert rows(server) == before + 1
    return blank


def test_recover_with_a_pin_server_shows_its_key_and_says_so(served, user, server):
    info = served.get_info()
    assert info["pin_mode"] == "server" and info["initialized"] and not info["locked"]
    assert info["pin_server"] == {"pubkey": pinserver.fetch_info(server.url).pubkey,
                                  "url": server.url}
    shown = user.last.text()
    fp = fingerprint(info["pin_server"]["pubkey"])
    assert "Checked with a PIN\nserver: 3 tries.\nServer key:\n" + f"{fp[:8]} {fp[8:]}" in shown
    assert served.get_address(0, 0) == ADDRESS


def test_setup_with_a_pin_server(blank, user, server):
    result = user.run(lambda: blank.setup(PIN, 12, check_rounds=1, pin_server=server.url),
                      quiz_answers)
    assert blank.get_info()["pin_mode"] == "server"
    blank.lock()
    blank.unlock(PIN)
    assert blank.get_public_key(0, 0).pubkey == result.pubkey


def test_a_pin_on_the_device_only_says_so(blank, user):
    user.confirm(lambda: blank.recover(MNEMONIC, PIN))
    info = blank.get_info()
    assert info["pin_mode"] == "device" and info["pin_server"] is None
    assert "Checked on this\ndevice only:\n10 tries." in user.last.text()
    assert info["pin_retries_left"] == 10


def test_unlock_goes_through_the_server(served, debug):
    served.lock()
    served.unlock(PIN)
    assert served.get_address(0, 0) == ADDRESS
    assert served.get_info()["pin_retries_left"] == 3


def test_three_wrong_pins_erase_the_secret_on_both_sides(served, debug, server):
    served.lock()
    before = rows(server)
    for left in (2, 1):
        clear_delay(debug)
        with pytest.raises(WrongPin) as wrong:
            served.unlock(WRONG)
        assert wrong.value.retries_left == left
    clear_delay(debug)
    with pytest.raises(WrongPin) as last:
        served.unlock(WRONG)
    assert last.value.retries_left == 0 and "wiped" in last.value.message
    assert served.get_info()["initialized"] is False  # the device erased its secret ...
    assert rows(server) == before - 1  # ... and the server its own
    with pytest.raises(WrongState):
        served.unlock(PIN)


def test_a_right_pin_resets_both_counts(served, debug):
    for _ in range(2):  # four wrong PINs in all, never three in a row: still there
        served.lock()
        for _ in range(2):
            clear_delay(debug)
            with pytest.raises(WrongPin):
                served.unlock(WRONG)
        clear_delay(debug)
        served.unlock(PIN)
    assert served.get_address(0, 0) == ADDRESS


def test_change_pin_through_the_server(served, debug, user, server):
    before = rows(server)
    user.confirm(lambda: served.change_pin(PIN, OTHER_PIN))
    assert rows(server) == before + 1  # the new record; the old one goes at the first use
    served.lock()
    served.unlock(OTHER_PIN)
    assert rows(server) == before
    served.lock()
    clear_delay(debug)
    with pytest.raises(WrongPin):
        served.unlock(PIN)
    clear_delay(debug)
    served.unlock(OTHER_PIN)
    assert served.get_address(0, 0) == ADDRESS


def test_a_replayed_reply_or_request_changes_nothing(served, debug, server):
    served.lock()
    asked = served.call("unlock", {"pin": PIN})["pin_server"]
    reply = pinserver.relay(server.url, asked["request"])
    replayed = pinserver.relay(server.url, asked["request"])  # the server refuses it (stale)
    assert replayed != reply
    served.call("pin_server_reply", {"reply": reply})
    assert served.get_info()["locked"] is False
    # the device opens each reply only in the session it made: an old one is refused
    served.lock()
    served.call("unlock", {"pin": PIN})
    with pytest.raises(Exception) as refused:
        served.call("pin_server_reply", {"reply": reply})
    assert "authentication" in str(refused.value)
    assert served.get_info()["locked"] is True


@emulator_only
def test_rolling_the_flash_back_gives_no_tries_back(served, debug, server, target):
    """An attacker restores an older flash image to get the device's tries back: the device
    forgets its failures, the server does not."""
    served.lock()
    before = rows(server)
    emulator = target.emulator
    image = emulator.flash_path.read_bytes()
    for _ in range(2):
        clear_delay(debug)
        with pytest.raises(WrongPin):
            served.unlock(WRONG)
    restart(target, served, debug, while_off=lambda: emulator.flash_path.write_bytes(image))
    assert served.get_info()["pin_retries_left"] == 3  # the device's count went back ...
    clear_delay(debug)
    # ... and so did its request number: the server answers "stale" (authenticated), the device
    # takes the server's number without counting that try, the client asks again, and the
    # server judges this third wrong PIN in a row: its secret is gone.
    with pytest.raises(WrongPin):
        served.unlock(WRONG)
    assert rows(server) == before - 1
    for _ in range(2):  # the right PIN opens nothing now; the device wipes at its own limit
        clear_delay(debug)
        with pytest.raises(WrongPin):
            served.unlock(PIN)
    assert served.get_info()["initialized"] is False


def test_a_server_that_is_down_costs_no_try(served, debug, server):
    served.lock()
    server.stop()
    try:
        with pytest.raises(pinserver.PinServerError):
            served.unlock(PIN)
        assert debug.state()["pin_failures"] == 0
    finally:
        server.start()
    served.unlock(PIN)


def test_the_server_url_can_be_given_again(served, server):
    served.lock()
    with pytest.raises(pinserver.PinServerError):
        served.unlock(PIN, pin_server="http://127.0.0.1:9")  # nothing listens there
    served.unlock(PIN, pin_server=server.url)
    assert served.get_address(0, 0) == ADDRESS


@emulator_only
def test_kill_during_change_pin_keeps_the_old_or_the_new_pin(
    served, debug, user, server, target
):
    """A power cut at any point of a PIN change through the server: the device opens with the
    old PIN or the new one, and the server kept the record that PIN needs."""
    import random

    rng = random.Random(0xC4A)
    duration = timed(lambda: user.confirm(lambda: served.change_pin(PIN, OTHER_PIN)))
    user.confirm(lambda: served.change_pin(OTHER_PIN, PIN))
    outcomes = []
    for _ in range(6):
        change = lambda c: c.change_pin(PIN, OTHER_PIN)  # noqa: E731
        kill_during(target, change, rng.uniform(0, duration), duration + 5, confirm=True)
        info = served.get_info()
        assert info["initialized"] is True and info["pin_mode"] == "server"
        opened = unlocks_with(served, debug, [PIN, OTHER_PIN])
        outcomes.append(opened)
        assert served.get_address(0, 0) == ADDRESS
        if opened == OTHER_PIN:
            user.confirm(lambda: served.change_pin(OTHER_PIN, PIN))
    assert set(outcomes) <= {PIN, OTHER_PIN}



def test_wipe_of_a_server_wallet_then_a_new_one(served, user, server):
    user.confirm(served.wipe)
    info = served.get_info()
    assert info["initialized"] is False and info["pin_mode"] == "" and info["pin_server"] is None
    # the old record cannot be used by anyone now (its identity died with the device's secret);
    # a new wallet gets a new record
    before = rows(server)
    user.confirm(lambda: served.recover(MNEMONIC, OTHER_PIN, pin_server=server.url))
    assert rows(server) == before + 1
    served.lock()
    served.unlock(OTHER_PIN)


def test_the_cli_sets_up_with_a_pin_server_and_unlocks_through_it(
    blank, user, server, target, tmp_path, monkeypatch, capsys
):
    several_senders(target.wire_path)  # the command is a second host on the link
    from host.cli.qos import main as qos

    words = tmp_path / "words.txt"
    words.write_text(MNEMONIC)
    monkeypatch.setenv("QOS_TEST_PIN", PIN)
    path = ["device", "-p", target.wire_path]
    recover = [*path, "recover", "--mnemonic-file", str(words), "--pin-env", "QOS_TEST_PIN",
               "--pin-server", server.url, "--allow-debug-device"]
    assert user.confirm(lambda: qos(recover)) == 0
    fp = pinserver.fetch_info(server.url).fingerprint
    assert fp in capsys.readouterr().err  # the host shows the fingerprint the device shows
    assert qos([*path, "--json", "info"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["pin_mode"] == "server" and info["pin_server"]["fingerprint"] == fp
    assert qos([*path, "lock"]) == 0
    assert qos([*path, "unlock", "--pin-env", "QOS_TEST_PIN"]) == 0
    assert qos(["pin-server", "--show-key", "--data", str(server.data_dir)]) == 0
    assert f"fingerprint {fp}" in capsys.readouterr().out
