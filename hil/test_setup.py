"""Creating a wallet (commit-reveal entropy, words shown and checked) and recovering one."""

from __future__ import annotations

import functools
import hashlib
import os

import pytest
from devicekit import (
    MNEMONIC,
    MNEMONIC_24,
    PIN,
    always,
    emulator_only,
    quiz_answers,
    quiz_lies,
    several_senders,
)
from mnemonic import Mnemonic

from host.bridge.client import Client, expected_setup_pubkey, host_seed_entropy
from host.bridge.exceptions import (
    BadParams,
    EntropyFailure,
    HostEntropyError,
    UserCancelled,
    WrongState,
)
from host.core import keys


def test_setup_with_check_rounds_creates_the_wallet_the_words_give(blank, user, debug):
    result = user.run(lambda: blank.setup(PIN, words=12, check_rounds=2), quiz_answers)
    assert result.check_rounds == 2
    # The words shown on the device are the wallet: the key they give is the one reported.
    shown_words = words_on_screens(user.last.screens)
    assert len(shown_words) == 12 and Mnemonic("english").check(" ".join(shown_words))
    assert keys.Account.from_mnemonic(" ".join(shown_words)).pubkey == result.pubkey
    info = blank.get_info()
    assert info["initialized"] and not info["locked"]
    assert blank.get_public_key(0, 0).pubkey == result.pubkey
    # And the PIN given at setup unlocks it.
    blank.lock()
    blank.unlock(PIN)
    assert blank.get_public_key(0, 0).pubkey == result.pubkey


def test_setup_24_words(blank, user):
    result = user.run(lambda: blank.setup(PIN, words=24, check_rounds=1), quiz_answers)
    shown_words = words_on_screens(user.last.screens)
    assert len(shown_words) == 24
    assert keys.Account.from_mnemonic(" ".join(shown_words)).pubkey == result.pubkey


def words_on_screens(screens) -> list[str]:
    """The numbered words of the "Words a-b of n" pages, in order, first pass only."""
    words: dict[int, str] = {}
    for screen in screens:
        if not screen["title"].startswith("Words"):
            continue
        for line in screen["lines"]:
            number, _, word = line.strip().partition(". ")
            if number.isdigit():
                words.setdefault(int(number), word)
    return [words[n] for n in sorted(words)]


def test_check_round_reveals_entropy_that_matches_commitment_and_key(blank):
    commitment = blank.call("setup_begin", {"words": 24})["commitment"]
    host_entropy = os.urandom(32)
    result = blank.call("setup", {"host_entropy": host_entropy, "pin": PIN, "check": True})
    assert hashlib.sha256(result["device_entropy"]).digest() == commitment
    assert result["pubkey"] == expected_setup_pubkey(result["device_entropy"], host_entropy, 24)
    # A check round creates nothing.
    assert blank.get_info()["initialized"] is False


def test_each_round_commits_to_fresh_entropy(blank):
    commitments = {blank.call("setup_begin", {"words": 12})["commitment"] for _ in range(4)}
    assert len(commitments) == 4


def test_one_reveal_per_commitment(blank):
    blank.call("setup_begin", {"words": 12})
    blank.call("setup", {"host_entropy": bytes(32), "pin": PIN, "check": True})
    with pytest.raises(WrongState, match="setup_begin"):
        blank.call("setup", {"host_entropy": bytes(32), "pin": PIN, "check": True})


def test_setup_without_commitment_is_refused(blank):
    with pytest.raises(WrongState):
        blank.call("setup", {"host_entropy": bytes(32), "pin": PIN})


@pytest.mark.parametrize(
    "params",
    [
        {"host_entropy": bytes(31), "pin": PIN},
        {"host_entropy": "00" * 32, "pin": PIN},
        {"host_entropy": bytes(32), "pin": "12"},
        {"host_entropy": bytes(32), "pin": 1234},
        {"host_entropy": bytes(32), "pin": PIN, "check": 1},
        {"host_entropy": bytes(32), "pin": PIN, "surprise": True},
    ],
)
def test_setup_bad_params(blank, params):
    blank.call("setup_begin", {"words": 12})
    with pytest.raises(BadParams):
        blank.call("setup", params)
    assert blank.get_info()["initialized"] is False


@pytest.mark.parametrize("words", [0, 13, 18, 25, "12", True])
def test_setup_begin_refuses_other_word_counts(blank, words):
    with pytest.raises(BadParams):
        blank.call("setup_begin", {"words": words})


def test_wrong_word_check_creates_no_wallet(blank, user):
    with pytest.raises(UserCancelled):
        user.run(lambda: blank.setup(PIN, words=12, check_rounds=0), quiz_lies)
    assert blank.get_info()["initialized"] is False


def test_cancel_while_words_are_shown_creates_no_wallet(blank, user):
    with pytest.raises(UserCancelled):
        user.run(lambda: blank.setup(PIN, words=12, check_rounds=0), always("cancel"))
    assert blank.get_info()["initialized"] is False


def test_setup_on_an_initialised_device_is_refused(device):
    with pytest.raises(WrongState):
        device.call("setup_begin", {"words": 12})
    with pytest.raises(WrongState):
        device.recover(MNEMONIC, PIN)


def test_the_hosts_half_of_the_seed_comes_from_the_tested_pipeline(blank, monkeypatch):
    import qrng.pipeline

    handed_out = []

    def recorded(sources, nbytes=32):
        handed_out.append(([s.name for s in sources], real(sources, nbytes)))
        return handed_out[-1][1]

    real = qrng.pipeline.host_entropy
    monkeypatch.setattr(qrng.pipeline, "host_entropy", recorded)
    sent = []
    call = blank.call

    def watched(method, params=None, timeout=0):
        if method == "setup":
            sent.append(params["host_entropy"])
        return call(method, params, timeout)

    monkeypatch.setattr(blank, "call", watched)
    blank.setup_check_round(PIN, words=12)  # checks the device's key against what was sent
    assert [names for names, _ in handed_out] == [["os"]]
    assert sent == [handed_out[0][1]]


def test_a_failing_host_source_creates_nothing(blank, tmp_path):
    stuck = tmp_path / "stuck.bin"
    stuck.write_bytes(bytes(4096))
    blank.host_entropy = functools.partial(host_seed_entropy, [f"file:{stuck}"])
    with pytest.raises(HostEntropyError, match="repetition count test"):
        blank.setup(PIN, words=12, check_rounds=0)
    assert blank.get_info()["initialized"] is False


@emulator_only  # the failure latches until the device reboots
def test_entropy_failure_creates_nothing_until_reboot(target, blank, debug):
    several_senders(target.wire_path)  # and the reboot gives the QEMU board new ptys
    debug.rng("trng", "constant")
    try:
        with pytest.raises(EntropyFailure):
            blank.call("setup_begin", {"words": 12})
    finally:
        debug.rng("trng", "normal")
    with pytest.raises(EntropyFailure):
        blank.call("setup_begin", {"words": 12})
    info = blank.get_info()
    assert info["initialized"] is False
    assert "repetition count test" in info["entropy_failure"]
    target.emulator.restart()
    with Client.open(target.wire_path) as fresh:
        assert fresh.get_info()["entropy_failure"] is None
        assert fresh.call("setup_begin", {"words": 12})["commitment"]


@pytest.mark.parametrize("mnemonic", [MNEMONIC, MNEMONIC_24], ids=["12 words", "24 words"])
def test_recover_restores_the_same_keys(blank, user, mnemonic):
    pubkey = user.confirm(lambda: blank.recover(mnemonic, PIN, label="restored"))
    expected = keys.Account.from_mnemonic(mnemonic)
    assert pubkey == expected.pubkey
    assert "Recover" in user.last.text()
    info = blank.get_info()
    assert info["initialized"] and info["label"] == "restored"
    assert blank.get_address(0, 0) == expected.address_string


def test_recover_cancelled_creates_nothing(blank, user):
    with pytest.raises(UserCancelled):
        user.cancel(lambda: blank.recover(MNEMONIC, PIN))
    assert blank.get_info()["initialized"] is False


@pytest.mark.parametrize(
    "mnemonic",
    [
        MNEMONIC.replace("yellow", "wave"),  # bad checksum
        MNEMONIC.replace("legal", "lethal", 1),  # not a BIP39 word
        " ".join(MNEMONIC.split()[:11]),  # 11 words
    ],
)
def test_recover_refuses_invalid_mnemonics(blank, mnemonic):
    with pytest.raises(BadParams, match="mnemonic"):
        blank.call("recover", {"mnemonic": mnemonic, "pin": PIN})
    assert blank.get_info()["initialized"] is False


def test_label_must_be_printable_ascii(blank):
    with pytest.raises(BadParams, match="label"):
        blank.call("recover", {"mnemonic": MNEMONIC, "pin": PIN, "label": "tab\there"})
    with pytest.raises(BadParams, match="label"):
        blank.call("recover", {"mnemonic": MNEMONIC, "pin": PIN, "label": "x" * 33})
