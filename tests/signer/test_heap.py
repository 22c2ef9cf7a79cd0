"""The firmware as a stock MicroPython board runs it: the compiled .mpy tree loaded into the 192 KB
heap (`Emulator(firmware=DIR)`, as after `qos fw deploy`), not run in place from a ROMFS image.
The biggest requests must fit there: a 16-message sign_tx and a 1 KB sign_message, each page
shown and confirmed, the signature checked; a MemoryError on the device fails them (-32603)."""

from __future__ import annotations

from collections.abc import Iterator

import nacl.signing
import pytest

from host.bridge.client import Client
from host.bridge.debuglink import DebugLink
from host.core import keys
from host.core import tx as txlib
from host.devtools import firmware
from host.devtools.emulator import Emulator
from host.devtools.ports import free_port_pair

from .dialogs import answer_dialogs

MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
PIN = "1234"
# Loaded for a signing request and dropped after it (apps.WALLET_WORK).
WALLET_WORK = {"apps.wallet", "codec.tx", "codec.qcp_pages", "crypto.bech32"}


@pytest.fixture(scope="module")
def board() -> Iterator[tuple[Client, DebugLink]]:
    tree = firmware.cached_build(firmware.default_cache_dir(), firmware.BuildSpec("unix"))
    emulator = Emulator(port=free_port_pair(), firmware=tree, kdf_ms=1)
    with (
        emulator,
        Client.open(emulator.wire_path, timeout=10) as client,
        DebugLink.open(emulator.debug_path, timeout=10) as debug,
    ):
        debug.load(MNEMONIC, PIN)
        yield client, debug
        print(emulator.log())  # shown by pytest when a test failed


def confirm_every_page(client: Client, debug: DebugLink, rid: int) -> tuple[dict, list[dict]]:
    """Confirms each page of the dialog once, in order; (the request's result, the pages). A
    device error (out of memory: -32603) raises at once."""
    pages: list[dict] = []
    result = answer_dialogs(client, debug, rid, lambda screen: pages.append(screen) or "confirm")
    return result, pages


def account_key(client: Client) -> nacl.signing.VerifyKey:
    return nacl.signing.VerifyKey(client.get_public_key().pubkey)


def sixteen_messages() -> list[dict]:
    seed = keys.seed_from_mnemonic(MNEMONIC)
    to = keys.Account.from_seed(seed, 7, 1).address
    msgs = [txlib.transfer(to, 10_000 + i) for i in range(13)]
    msgs.append(txlib.qsc_transfer("GOLD", to, 777))
    msgs.append(txlib.delegate(to, 5_000_000))
    msgs.append(txlib.qcp_transfer("other-chain", "QOS", to, 4242, 0, 0))
    return msgs


def test_a_sixteen_message_tx_is_shown_and_signed_in_the_heap(board):
    client, debug = board
    tx = txlib.Tx("qos-test", 3, 90, sixteen_messages(), "sixteen")
    rid = client.send("sign_tx", {"account": 0, "index": 0, "tx": tx.encode()})
    result, pages = confirm_every_page(client, debug, rid)
    account_key(client).verify(tx.sign_bytes(), result["sig"])
    # Laid out one message at a time: still every message, in order.
    shown = [p["title"].split(" ")[0] for p in pages if "/16 " in p["title"]]
    assert list(dict.fromkeys(shown)) == [f"{i}/16" for i in range(1, 17)]
    text = "\n".join(line for p in pages for line in p["lines"])
    for i in range(13):
        assert f"Amount: {txlib.format_amount(10_000 + i)}" in text
    assert "0.4242" in text and 'Memo: "sixteen"' in text
    assert not WALLET_WORK & set(debug.state()["modules"])  # dropped after the request


TEXT_KB = (b"A 1 KB text, line after line.\n" * 34)[:1024]


@pytest.mark.parametrize("message", [TEXT_KB, bytes(range(256)) * 4], ids=["text", "binary"])
def test_a_one_kilobyte_message_is_shown_and_signed_in_the_heap(board, message):
    client, debug = board
    params = {"account": 0, "index": 0, "chain": "qos-test", "message": message}
    result, pages = confirm_every_page(client, debug, client.send("sign_message", params))
    account_key(client).verify(txlib.message_sign_bytes("qos-test", message), result["sig"])
    assert len(pages) > 8  # all of it shown, a page at a time
    assert not WALLET_WORK & set(debug.state()["modules"])


def test_wipe_and_recover_again_and_again_in_the_heap(board):
    """A wipe gives the heap back as boot left it, every time: the key code, the setup code and
    their tables (loaded into the heap on a stock board) go, nothing leaks, and recover works.
    Once, the first wallet's code stayed after a wipe, the heap was left in 7 KB pieces and every
    later load or recover ran out of memory until reboot (`pytest hil --board stock` failed all
    but one test); then each reload of the viper code leaked it (224 bytes per round)."""
    client, debug = board
    locked_modules, free = None, []
    for round_ in range(6):
        debug.wipe()
        state = debug.state()
        locked_modules = locked_modules or state["modules"]
        assert state["modules"] == locked_modules, round_
        free.append(state["mem_free"])
        rid = client.send("recover", {"mnemonic": MNEMONIC, "pin": PIN})
        answer_dialogs(client, debug, rid, lambda screen: "confirm")
        client.unlock(PIN)
    assert free[-1] >= free[1] - 256, free  # the first round loads what stays for good
    assert bytes(account_key(client)) == keys.Account.from_seed(
        keys.seed_from_mnemonic(MNEMONIC), 0, 0).pubkey
