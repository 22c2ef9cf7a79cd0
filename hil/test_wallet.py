"""Keys, addresses and signing on the device, checked on the host with host/core."""

from __future__ import annotations

import pytest
from devicekit import CHAIN, MNEMONIC, PIN, always

from host.bridge.exceptions import BadParams, DeviceLocked, UserCancelled, WrongState
from host.core import cbor, keys
from host.core import tx as txlib

HOST_SEED = keys.seed_from_mnemonic(MNEMONIC)


def host_account(account: int, index: int) -> keys.Account:
    return keys.Account.from_seed(HOST_SEED, account, index)


def other_address(n: int) -> bytes:
    return host_account(7, n).address


def test_get_info_reports_an_unlocked_debug_wallet(device):
    info = device.get_info()
    assert info["initialized"] is True and info["locked"] is False
    assert info["debug"] is True
    assert info["model"] in ("emulator", "qemu-an547", "QOS-1")
    assert info["pin_retries_left"] == 10
    assert isinstance(info["version"], str) and info["version"]


def test_ping_echoes_data(device):
    assert device.ping(b"\x00\xffhello") == b"\x00\xffhello"
    assert device.ping() == b""


@pytest.mark.parametrize(
    "account, index", [(0, 0), (0, 1), (1, 0), (5, 17), (2**31 - 1, 2**31 - 1)]
)
def test_addresses_and_public_keys_match_the_host_derivation(device, account, index):
    expected = host_account(account, index)
    assert device.get_address(account, index) == expected.address_string
    key = device.get_public_key(account, index)
    assert key.pubkey == expected.pubkey
    assert key.bech32 == expected.pubkey_string


def test_out_of_range_paths_are_refused_by_the_device(device):
    for params in (
        {"account": 2**31, "index": 0},
        {"account": 0, "index": -1},
        {"account": "0", "index": 0},
        {"account": 0},
    ):
        with pytest.raises(BadParams):
            device.call("get_address", params)


def test_show_address_waits_for_the_user(device, user):
    expected = host_account(0, 3).address_string
    assert user.confirm(lambda: device.get_address(0, 3, show=True)) == expected
    shown = user.last.text().replace("\n", "")
    assert expected in shown
    with pytest.raises(UserCancelled):
        user.cancel(lambda: device.get_address(0, 3, show=True))


def transfer_tx(amount: int = 123_400, fee: int = 2_000, nonce: int = 1) -> txlib.Tx:
    return txlib.Tx(CHAIN, nonce, fee, [txlib.transfer(other_address(0), amount)], "rent")


def test_sign_tx_signature_verifies_on_the_host(device, user):
    tx = transfer_tx()
    signature = user.confirm(lambda: device.sign_tx(tx, 0, 0))
    signed = txlib.SignedTx(tx, signature.pubkey, signature.sig)
    assert signed.verify()
    assert signature.pubkey == host_account(0, 0).pubkey
    assert txlib.SignedTx.decode(signed.encode()) == signed
    # ed25519 is deterministic: the host's own signature is the same bytes.
    assert signature.sig == host_account(0, 0).sign(tx.sign_bytes())


def test_sign_tx_with_another_account(device, user):
    tx = transfer_tx(nonce=9)
    signature = user.confirm(lambda: device.sign_tx(tx, 3, 4))
    assert signature.pubkey == host_account(3, 4).pubkey
    assert keys.verify(signature.pubkey, tx.sign_bytes(), signature.sig)


def every_kind_of_tx() -> list[txlib.Tx]:
    a, b, c = other_address(1), other_address(2), other_address(3)
    validator = host_account(9, 9).address
    return [
        txlib.Tx(CHAIN, 2, 1, [txlib.transfer(a, 1), txlib.transfer(b, 99_999_999)], ""),
        txlib.Tx(CHAIN, 3, 5, [txlib.qsc_create("GOLD", a, 10**12)], "new token"),
        txlib.Tx(
            CHAIN, 4, 5, [txlib.qsc_issue("GOLD", b, 77_000), txlib.qsc_transfer("GOLD", c, 5)]
        ),
        txlib.Tx(CHAIN, 5, 5, [txlib.qsc_approve("GOLD", a, 0), txlib.qsc_pause("GOLD", True)]),
        txlib.Tx(CHAIN, 6, 5, [txlib.qsc_transfer_from("GOLD", a, b, 31_415)]),
        txlib.Tx(CHAIN, 7, 5, [txlib.qsc_freeze("GOLD", c, 8), txlib.qsc_unfreeze("GOLD", c, 3)]),
        txlib.Tx(CHAIN, 8, 5, [txlib.delegate(validator, 10_000), txlib.unbond(validator, 2_500)]),
        txlib.Tx(CHAIN, 9, 5, [txlib.renew(validator), txlib.vote_remove(validator)]),
        txlib.Tx(CHAIN, 10, 5, [txlib.edit_validator("node one", 500)]),
        txlib.Tx(CHAIN, 11, 5, [txlib.register_identity(bytes(range(32)))]),
        txlib.Tx(CHAIN, 12, 5, [txlib.qcp_send("biz-1", txlib.transfer(a, 42))]),
        txlib.Tx(CHAIN, 13, 5, [txlib.gov_spend("qsc_fund/GOLD", a, 5, 10**7),
                                txlib.gov_deposit(1, 10**7), txlib.gov_vote(1, "abstain")]),
        txlib.Tx(CHAIN, 14, 5, [txlib.gov_param_change({"gov.quorum_bps": 4000}, 10**7),
                                txlib.gov_upgrade("v2", 123_456, "see notes")]),
    ]


@pytest.mark.parametrize("tx", every_kind_of_tx(), ids=lambda tx: tx.msgs[0]["type"])
def test_every_message_type_is_shown_and_signed(device, user, tx):
    signature = user.confirm(lambda: device.sign_tx(tx))
    assert keys.verify(signature.pubkey, tx.sign_bytes(), signature.sig)
    shown = user.last.text()
    flat = shown.replace("\n", "")  # addresses are split over lines
    spaced = shown.replace("\n", " ")  # a long "label: amount" may wrap at a space
    # free text below its label: rows that each start with "|" (codec/tx.py TEXT_ROW)
    unmarked = "".join(row[1:] if row.startswith("|") else row for row in shown.split("\n"))

    def on_screen(text: str) -> bool:
        return any(text in view for view in (shown, flat, spaced, unmarked))

    # No blind signing: the chain, the fee and every amount and recipient were on a screen.
    assert on_screen(CHAIN)
    assert on_screen(txlib.format_amount(tx.fee))
    assert on_screen(tx.memo or "(none)")
    for msg in tx.msgs:
        for value in iter_fields(msg):
            if isinstance(value, bytes) and len(value) == 20:
                hrp = keys.VALIDATOR_HRP if msg.get("validator") == value else keys.ACCOUNT_HRP
                assert on_screen(keys.encode_address(value, hrp))
    for amount, denom in iter_amounts(tx.msgs):
        assert on_screen(txlib.format_amount(amount, denom))
    for msg in tx.msgs:  # what a governance proposal changes: each key and value, the plan
        for field in ("changes", "plan"):
            if field in msg:
                assert on_screen(f'"{msg[field]}"')
        if msg["type"] == "gov/upgrade":
            assert on_screen(f"Height: {msg['height']}")


def iter_fields(msg: dict) -> list:
    values = []
    for value in msg.values():
        values.extend(iter_fields(value) if isinstance(value, dict) else [value])
    return values


def iter_amounts(msgs) -> list[tuple[int, str]]:
    found = []
    for msg in msgs:
        if "payload" in msg:
            found += iter_amounts([msg["payload"]])
        for key in ("amount",):
            if key in msg and msg[key] > 0:
                found.append((msg[key], msg.get("name", "QOS")))
    return found


def test_cancel_on_any_page_refuses_to_sign(device, user):
    tx = every_kind_of_tx()[0]
    pages_seen = []

    def cancel_on_second_dialog(screen, state):
        pages_seen.append(screen["title"])
        return "cancel" if len(pages_seen) == 2 else "confirm"

    with pytest.raises(UserCancelled):
        user.run(lambda: device.sign_tx(tx), cancel_on_second_dialog)
    assert len(pages_seen) == 2
    with pytest.raises(UserCancelled):
        user.cancel(lambda: device.sign_tx(tx))
    # The device is still fine and signs when asked again.
    assert user.confirm(lambda: device.sign_tx(tx)).sig


def test_unknown_message_type_is_refused_without_a_prompt(device, debug):
    tx = transfer_tx().to_cbor_obj()
    tx["msgs"] = [{"type": "bank/burn_everything", "amount": 1}]
    with pytest.raises(BadParams, match="tx refused"):
        device.call("sign_tx", {"account": 0, "index": 0, "tx": cbor.dumps(tx)})
    assert not debug.state()["busy"]


NODE_ONLY = [txlib.swap("GOLD", "QOS", 10, 1), txlib.add_liquidity("GOLD", 10, 10),
             txlib.remove_liquidity("GOLD", 1), txlib.qsc_reserve("GOLD", 5, 50),
             txlib.update_identity(bytes(32)), txlib.revoke_identity(),
             txlib.attest_identity(other_address(0), "GOLD", bytes(32)),
             txlib.unattest_identity(other_address(0), "GOLD")]


@pytest.mark.parametrize("msg", NODE_ONLY, ids=lambda msg: msg["type"])
def test_message_types_the_node_runs_but_the_device_cannot_show_are_refused_by_name(
    device, debug, msg
):
    """The node's x/exchange, qsc/reserve and identity updates are newer than this firmware: it
    refuses them, naming the type, and never prompts (docs/protocol.md section 3)."""
    tx = txlib.Tx(CHAIN, 1, 5, [msg])
    with pytest.raises(BadParams, match=f"unknown message type '{msg['type']}'"):
        device.sign_tx(tx)
    assert not debug.state()["busy"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda tx: tx.update(msgs=[]),
        lambda tx: tx["msgs"][0].update(amount=0),
        lambda tx: tx["msgs"][0].update(to=b"short"),
        lambda tx: tx["msgs"][0].update(extra=1),
        lambda tx: tx.update(chain="Bad Chain"),
        lambda tx: tx.pop("fee"),
    ],
)
def test_malformed_txs_are_refused(device, mutate):
    tx = transfer_tx().to_cbor_obj()
    mutate(tx)
    with pytest.raises(BadParams):
        device.call("sign_tx", {"account": 0, "index": 0, "tx": cbor.dumps(tx)})


def test_non_canonical_tx_bytes_are_refused(device):
    raw = transfer_tx().encode()
    # Same map, but "fee" as a 2-byte integer head: not the shortest form.
    raw_long = raw.replace(b"cfee\x19\x07\xd0", b"cfee\x1a\x00\x00\x07\xd0")
    assert raw_long != raw
    with pytest.raises(BadParams):
        device.call("sign_tx", {"account": 0, "index": 0, "tx": raw_long})


def test_sign_message_text_and_binary(device, user):
    signature = user.confirm(lambda: device.sign_message(CHAIN, "I own this address"))
    assert keys.verify(
        signature.pubkey, txlib.message_sign_bytes(CHAIN, b"I own this address"), signature.sig
    )
    assert "I own this address" in user.last.text()
    binary = bytes(range(0, 256, 7))
    signature = user.confirm(lambda: device.sign_message(CHAIN, binary, 2, 0))
    assert signature.pubkey == host_account(2, 0).pubkey
    assert binary.hex()[:20] in user.last.text()
    with pytest.raises(UserCancelled):
        user.cancel(lambda: device.sign_message(CHAIN, "no"))


def test_tx_and_message_signatures_never_cross(device, user):
    tx = transfer_tx()
    tx_sig = user.confirm(lambda: device.sign_tx(tx))
    msg_sig = user.confirm(lambda: device.sign_message(CHAIN, tx.encode()))
    assert not keys.verify(tx_sig.pubkey, txlib.message_sign_bytes(CHAIN, tx.encode()), tx_sig.sig)
    assert not keys.verify(msg_sig.pubkey, tx.sign_bytes(), msg_sig.sig)


def test_locked_device_refuses_keys_and_signing(device, user):
    device.lock()
    assert device.get_info()["locked"] is True
    with pytest.raises(DeviceLocked):
        device.get_address(0, 0)
    with pytest.raises(DeviceLocked):
        device.call("sign_tx", {"account": 0, "index": 0, "tx": transfer_tx().encode()})
    device.unlock(PIN)
    assert device.get_address(0, 0) == host_account(0, 0).address_string


def test_passphrase_gives_another_wallet(device):
    device.lock()
    device.unlock(PIN, passphrase="TREZOR")
    other = keys.Account.from_mnemonic(MNEMONIC, "TREZOR", 0, 0)
    assert device.get_address(0, 0) == other.address_string
    # Sent raw, a non-ASCII passphrase is refused: the device cannot normalise Unicode.
    with pytest.raises(BadParams, match="NFKD"):
        device.call("unlock", {"pin": PIN, "passphrase": "caf\u00e9"})
    # The client normalises it: precomposed and decomposed "café" open the same wallet, the one
    # BIP39 (NFKD) gives on the host.
    expected = keys.Account.from_mnemonic(MNEMONIC, "caf\u00e9", 0, 0)
    device.lock()  # see the stop note of 2026-12-03: late in a long session, re-unlocking
    device.unlock(PIN, passphrase="caf\u00e9")  # while unlocked can run out of heap
    assert device.get_address(0, 0) == expected.address_string
    device.lock()
    device.unlock(PIN, passphrase="cafe\u0301")
    assert device.get_address(0, 0) == expected.address_string


def test_methods_on_a_blank_device_say_wrong_state(blank):
    with pytest.raises(WrongState):
        blank.unlock(PIN)
    with pytest.raises(WrongState):
        blank.change_pin(PIN, "4321")
    with pytest.raises((WrongState, DeviceLocked)):
        blank.get_address(0, 0)


def test_wipe_needs_confirmation(device, user):
    with pytest.raises(UserCancelled):
        user.cancel(device.wipe)
    assert device.get_info()["initialized"] is True
    user.run(device.wipe, always("confirm"))
    info = device.get_info()
    assert info["initialized"] is False and info["locked"] is True


def test_screen_framebuffer_matches_the_layout(device, debug):
    screen = debug.screen()
    fb = screen["fb"]
    assert isinstance(fb, bytes) and len(fb) == 128 * 64 // 8
    # Row 0 (bytes 0..127, MONO_VLSB) is the inverted title bar: mostly lit pixels.
    assert sum(bin(b).count("1") for b in fb[:128]) > 128 * 8 // 2
    # The text rows carry the lines: something is drawn below the title when there is text.
    if any(line.strip() for line in screen["lines"]):
        assert any(fb[128 : 128 * 7])
    assert len(screen["lines"]) <= 6 and all(len(line) <= 21 for line in screen["lines"])


LONG_CHAIN = "a-chain-id-of-thirty-two-chars-x"


def test_sign_message_shows_the_whole_chain_id_and_the_signing_key(device, user):
    assert len(LONG_CHAIN) == 32
    user.confirm(lambda: device.sign_message(LONG_CHAIN, b"hi", account=2**31 - 1, index=7))
    shown = user.last.screens[0]["lines"]
    assert shown[:4] == ["Account: 2147483647", "Index: 7", "Chain:", LONG_CHAIN[:21]]
    assert shown[4] == LONG_CHAIN[21:]


def test_show_address_keeps_account_and_index_for_the_largest_path(device, user):
    top = 2**31 - 1
    address = user.confirm(lambda: device.get_address(top, top, show=True))
    lines = user.last.screens[0]["lines"]
    assert lines[:2] == [f"Account: {top}", f"Index: {top}"]
    assert "".join(lines[2:]) == address


def test_sign_tx_names_the_signing_key_on_its_first_page(device, user):
    tx = txlib.Tx(CHAIN, 1, 10, (txlib.transfer(other_address(1), 5),), memo="")
    user.confirm(lambda: device.sign_tx(tx, account=3, index=11))
    first = user.last.screens[0]
    assert first["title"] == "Sign transaction"
    assert "Account: 3" in first["lines"] and "Index: 11" in first["lines"]
