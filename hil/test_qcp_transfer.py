"""A cross-chain transfer as the device shows it, read off the screen through the debug link:
the destination chain, where the token comes from, and the timeouts (docs/qcp.md section 5)."""

from __future__ import annotations

from devicekit import CHAIN

from host.core import keys
from host.core import tx as txlib

RECEIVER = bytes(range(20, 40))


def transfer_pages(device, user, denom: str, height: int, when: int) -> list[list[str]]:
    """Signs a qcp/transfer to chain `biz` (the signature must verify) and returns the lines of
    each QCP transfer page the user saw."""
    msg = txlib.qcp_transfer("biz", denom, RECEIVER, 50_000, height, when)
    tx = txlib.Tx(CHAIN, 1, 10, (msg,), "")
    signature = user.confirm(lambda: device.sign_tx(tx))
    assert keys.verify(signature.pubkey, tx.sign_bytes(), signature.sig)
    return [s["lines"] for s in user.last.screens if s["title"] == "QCP transfer"]


def test_qcp_transfer_home_shows_chain_origin_and_timeouts(device, user):
    pages = transfer_pages(device, user, "qcp/biz/GOLD", 120, 1_800_000_000)
    lines = [line for page in pages for line in page]
    assert lines[:4] == ["To chain: biz", 'Token: "qcp/biz/GOLD"', "Returns home to chain",
                         "biz"]
    assert "".join(lines[5:8]) == keys.encode_address(RECEIVER, keys.ACCOUNT_HRP)
    assert lines[8:] == ["Amount: 5.0000", "Timeout height: 120", "Timeout UTC:",
                         "2027-01-15 08:00:00"]


def test_qcp_transfer_native_token_without_timeout_warns(device, user):
    lines = [line for page in transfer_pages(device, user, "QOS", 0, 0) for line in page]
    assert lines[1:4] == ['Token: "QOS"', "Leaves as a voucher", "of this token"]
    assert lines[-5:] == ["Timeout height: none", "Timeout UTC: none", "WARNING: no timeout;",
                          "the chain sets one", "day after sending"]


def test_qcp_transfer_hostile_denom_and_far_timeout(device, user):
    # Control characters that would move a terminal's cursor and fake a line, the longest denom
    # the schema allows, and a timeout past where a 32-bit time_t wraps (2038, 2106).
    denom = "qcp/biz/\x1b[2J\r\nTimeout UTC: none\x00" + "Z" * 224
    assert len(denom.encode()) == 256
    pages = transfer_pages(device, user, denom, 0, 2**32 + 86_400 * 366)
    lines = [line for page in pages for line in page]
    assert all(len(line) <= 21 and all(" " <= ch <= "~" for ch in line) for line in lines)
    start, end = lines.index("Token:") + 1, lines.index("Returns home to chain")
    assert all(line.startswith("|") for line in lines[start:end])  # rows of text, marked
    shown = "".join(line[1:] for line in lines[start:end])
    assert shown.startswith('"qcp/biz/\\x1b[2J\\x0d\\x0aTimeout UTC: none\\x00ZZ')
    assert shown == '"' + denom.replace("\x1b", "\\x1b").replace("\r", "\\x0d").replace(
        "\n", "\\x0a").replace("\x00", "\\x00") + '"'
    assert "WARNING: no timeout;" not in lines
    assert lines[-3:] == ["Timeout height: none", "Timeout UTC:", "2107-02-08 06:28:16"]
