"""The transaction schema: device decoder against host decoder, sign bytes, and screen pages."""

from __future__ import annotations

import datetime
import random
import re
from typing import Any

import bech32
import cbor2
from hypothesis import strategies as st

from host.core import cbor
from host.core import tx as htx

from .helpers import (
    DEVICE_KINDS,
    HOST_ONLY_KINDS,
    collect,
    device_messages,
    every_message,
    fw_error,
    fw_value,
    hexs,
    run_firmware,
    txs,
)


def _host_decode(data: bytes) -> tuple[bool, str]:
    try:
        tx = htx.decode_tx(data)
    except htx.TxError as exc:
        return False, str(exc)
    return True, htx.sign_bytes(tx).hex()


def test_generated_txs_decode_and_sign_identically():
    # one tx per message type, so every type is covered whatever the random draw holds
    fixed = [
        {"chain": "qos", "nonce": 1, "fee": 0, "msgs": [msg], "memo": ""}
        for msg in device_messages()
    ]
    cases = fixed + collect(txs(), 200)
    encoded = [cbor.dumps(t) for t in cases]
    answers = run_firmware([("tx", hexs(data)) for data in encoded])
    kinds = set()
    for t, data, (ok, payload) in zip(cases, encoded, answers, strict=True):
        kinds.update(m["type"] for m in t["msgs"])
        expected = cbor2.dumps(["qos/tx/1", t["chain"], t], canonical=True)
        host = htx.Tx.decode(data)
        assert host.encode() == data
        assert host.sign_bytes() == expected
        assert ok, (t, payload)
        assert payload == expected.hex()
    assert kinds == DEVICE_KINDS  # every message type the device knows went through both sides


def test_the_device_refuses_the_types_it_cannot_show_by_name():
    """The node runs types the firmware has not learnt yet (HOST_ONLY_KINDS): the device must
    refuse them with an error naming the type, never show or sign something else."""
    host_only = [m for m in every_message() if m["type"] in HOST_ONLY_KINDS]
    assert {m["type"] for m in host_only} == set(HOST_ONLY_KINDS)
    txs_ = [{"chain": "qos", "nonce": 1, "fee": 0, "msgs": [m], "memo": ""} for m in host_only]
    answers = run_firmware([(op, hexs(cbor.dumps(t))) for t in txs_ for op in ("tx", "desc")])
    for (ok, payload), t in zip(answers, [t for t in txs_ for _ in "td"], strict=True):
        assert not ok
        assert fw_error(payload) == ("TxError", f"tx.msgs[0].type: unknown message type "
                                                f"{t['msgs'][0]['type']!r}"), payload


BAD_VALUES: list[Any] = [
    0, -1, 1, 10_000, 10_001, 2**63 - 1, 2**63, 2**64 - 1, True, False, None,
    "", "QOS", "qos", "ABCDEFGHI", "ABC", "A b", "a" * 33, "x" * 257, "\u00e9" * 129, "\x00",
    "bank/transfer", "qcp/send", "qcp/result", "unknown/x", b"", b"\x00" * 19, b"\x00" * 20,
    b"\x00" * 21, b"\x00" * 32, b"\x00" * 64, [], {}, [{}],
]
EXTRA_KEYS = ["zz", "aaa", "type", "from", "Amount"]

# Values on and just past each field kind's limits.
EDGES: dict[int, list[Any]] = {
    htx.ADDR: [b"\x00" * 19, b"\x00" * 21, b"", "qosacc1qqqq", bytearray(20)],
    htx.AMOUNT: [0, 1, -1, 2**63 - 1, 2**63, 2**64 - 1, True],
    htx.AMOUNT0: [0, -1, 2**63 - 1, 2**63, False],
    htx.POSITIVE: [0, 1, -1, 2**63 - 1, 2**63],
    htx.NAME: ["QOS", "qos", "ABCDEFGH", "ABCDEFGHI", "", "AB1", "Ab", "\u00c4"],
    htx.BOOL: [0, 1, None, "true"],
    htx.KEY32: [b"\x00" * 31, b"\x00" * 33, b"\x00" * 32, "k" * 32],
    htx.MONIKER: ["", "a" * 32, "a" * 33, "a\x7f", "\u00e9", "a\n", " ", "~"],
    htx.COMMISSION: [10_000, 10_001, -1, 0, 2**63],
    htx.CHAIN: ["", "a" * 32, "a" * 33, "Abc", "a_b", "a.b", "\u00e9", "-", "qos"],
    htx.TEXT: ["x" * 256, "x" * 257, "\u00e9" * 128, "\u00e9" * 129, b"memo"],
    htx.BLOB: [b"", b"x", b"x" * 4096, "proof"],  # 4097 is not CBOR we encode
}
EDGES[htx.UINT] = [0, -1, 2**63 - 1, 2**63, False]
EDGES[htx.VALADDR] = EDGES[htx.ADDR]
EDGES[htx.HASH32] = EDGES[htx.KEY32]


def _kinds_by_name() -> dict[str, list[int]]:
    kinds: dict[str, list[int]] = {}
    tables = [htx.TX_FIELDS, *(htx.MESSAGES[k] for k in DEVICE_KINDS)]
    for table in tables:
        for name, kind in table:
            if kind in EDGES:
                kinds.setdefault(name, []).append(kind)
    return kinds


KINDS_BY_NAME = _kinds_by_name()


def _containers(node: Any, out: list) -> list:
    """Every map and list inside a tx (the tx, msgs, messages, packets, payloads)."""
    if isinstance(node, dict | list):
        out.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, out)
    return out


def mutate_tx(tx: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    """One structural or value change somewhere in a copy of ``tx``."""
    tx = cbor.loads(cbor.dumps(tx))  # a deep copy
    target = rnd.choice(_containers(tx, []))
    op = rnd.randrange(5)
    if isinstance(target, list):
        if op == 0:
            target.clear()
        elif op == 1 and target:
            target.extend([target[0]] * 16)
        elif op == 2:
            target.append(rnd.choice([{"type": "qcp/relay", "packet": b"p", "proof": b"p",
                                       "header": b"h"}, {"type": "bank/transfer"}, "x"]))
        elif target:
            target[rnd.randrange(len(target))] = rnd.choice(BAD_VALUES)
        return tx
    keys = sorted(target)
    if op == 0 and keys:
        del target[rnd.choice(keys)]
    elif op == 1:
        target[rnd.choice(EXTRA_KEYS)] = rnd.choice(BAD_VALUES)
    elif keys:
        key = rnd.choice(keys)
        if key in KINDS_BY_NAME and op != 4:
            target[key] = rnd.choice(EDGES[rnd.choice(KINDS_BY_NAME[key])])
        else:
            target[key] = rnd.choice(BAD_VALUES)
    return tx


def test_mutated_txs_get_the_same_verdict_and_message():
    cases = collect(st.tuples(txs(max_msgs=3), st.integers(0, 2**32)), 300)
    encoded = []
    for t, seed in cases:
        rnd = random.Random(seed)
        mutated = t
        for _ in range(rnd.choice([1, 1, 2])):
            mutated = mutate_tx(mutated, rnd)
        encoded.append(cbor.dumps(mutated))
    answers = run_firmware([("tx", hexs(data)) for data in encoded])
    rejected = 0
    for data, (fw_ok, payload) in zip(encoded, answers, strict=True):
        host_ok, host_out = _host_decode(data)
        assert host_ok == fw_ok, (cbor.loads(data), host_out, payload)
        if host_ok:
            assert payload == host_out
        else:
            rejected += 1
            assert fw_error(payload) == ("TxError", host_out)
            assert host_out.startswith("tx")
    assert rejected > len(encoded) // 2  # most mutations must break the tx


def _big_relay_tx(extra: int) -> dict[str, Any]:
    packet = b"\x01" * 200
    full = htx.qcp_relay(packet, b"\x03" * 4096, b"\x04" * 4096)
    sized = htx.qcp_relay(packet, b"\x05", b"\x06" * (1000 + extra))
    return {"chain": "qos", "nonce": 1, "fee": 0, "msgs": [full, sized], "memo": ""}


def test_size_limit_and_raw_cbor_errors_agree():
    room = htx.MAX_TX_BYTES - len(cbor.dumps(_big_relay_tx(0)))
    at_limit = cbor.dumps(_big_relay_tx(room))
    over = cbor.dumps(_big_relay_tx(room + 1))
    assert len(at_limit) == htx.MAX_TX_BYTES and len(over) == htx.MAX_TX_BYTES + 1
    raw_errors = [b"", b"\xa0\x00", b"\xf9\x00\x00", b"\x82\x00", b"\xa1\x61a\x18\x01"]
    cases = [at_limit, over, *raw_errors, cbor.dumps([1]), cbor.dumps("tx")]
    answers = run_firmware([("tx", hexs(data)) for data in cases])
    verdicts = [(ok, payload if ok else fw_error(payload)[1]) for ok, payload in answers]
    assert verdicts == [_host_decode(data) for data in cases]
    assert verdicts[0][0] and not verdicts[1][0]
    assert "more than 12288" in verdicts[1][1]
    assert all(not ok and msg.startswith("tx: ") for ok, msg in verdicts[2:7])
    # The largest tx still decodes, signs and pages within the board heap.
    [(ok, payload)] = run_firmware([("desc", hexs(at_limit))])
    assert ok, payload
    assert len(fw_value(payload)) > 3


def test_message_sign_bytes_agree_and_are_domain_separated():
    good = [("qos-main", b"hello"), ("a", b"\x00" * 4096), ("x-1", "é".encode())]
    bad = [("Qos", b"x"), ("", b"x"), ("a" * 33, b"x"), ("qos", b""), ("qos", b"\x00" * 4097)]
    answers = run_firmware([("msg", f"{c} {hexs(m)}") for c, m in good + bad])
    for (chain, message), (ok, payload) in zip(good, answers[: len(good)], strict=True):
        expected = cbor2.dumps(["qos/msg/1", chain, message], canonical=True)
        assert htx.message_sign_bytes(chain, message) == expected
        assert ok and payload == expected.hex()
    for (chain, message), (ok, payload) in zip(bad, answers[len(good):], strict=True):
        try:
            htx.message_sign_bytes(chain, message)
            raise AssertionError(f"host accepted {chain!r}")
        except htx.TxError as exc:
            assert fw_error(payload) == ("TxError", str(exc))
        assert not ok
    # A tx's encoding signed as a message never gives the tx's sign bytes.
    tx = htx.Tx("qos", 1, 0, (htx.transfer(b"\x01" * 20, 5),))
    assert htx.message_sign_bytes("qos", tx.encode()) != tx.sign_bytes()


# ------------------------------------------------------------------ screen pages

HRPS = {htx.ADDR: "qosacc", htx.VALADDR: "qosval", htx.KEY32: "qosconspub"}

# The page titles docs/protocol.md section 3 gives each message type.
TITLES = {
    "bank/transfer": "Send QOS", "qsc/create": "Create QSC", "qsc/issue": "Issue QSC",
    "qsc/transfer": "Send QSC", "qsc/approve": "Approve QSC", "qsc/transfer_from": "Send QSC from",
    "qsc/freeze": "Freeze QSC", "qsc/unfreeze": "Unfreeze QSC", "qsc/pause": "Pause QSC",
    "staking/create_validator": "New validator", "staking/edit_validator": "Edit validator",
    "staking/delegate": "Delegate", "staking/unbond": "Unbond",
    "staking/renew": "Renew validator", "staking/vote_remove": "Vote remove",
    "identity/register": "Register ID", "qcp/send": "QCP send", "qcp/relay": "QCP relay",
    "qcp/transfer": "QCP transfer", "qcp/ack": "QCP ack", "qcp/timeout": "QCP timeout",
    "qcp/update_client": "QCP client", "qcp/misbehaviour": "QCP conflict",
    "qcp/register": "QCP register", "qcp/gateway": "Declare gateway",
    "qcp/gateway_mint": "Gateway mint", "qcp/gateway_burn": "Gateway burn",
    "gov/spend": "Gov spend", "gov/deposit": "Gov deposit",
    "gov/vote": "Gov vote", "gov/param_change": "Param change",
    "gov/upgrade": "Upgrade plan", "gov/cancel_upgrade": "Cancel upgrade",
    "gov/recover_client": "Recover client",
}


def _b32(hrp: str, data: bytes) -> str:
    return bech32.bech32_encode(hrp, bech32.convertbits(data, 8, 5))


def _expected_strings(msg: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(amount-like strings, unbroken strings such as addresses) a message's pages must show."""
    spaced: list[str] = []
    solid: list[str] = []
    kind = msg["type"]
    fields = htx.MESSAGES[kind]
    denom = msg.get("name", "QOS")
    for name, fk in fields:
        v = msg[name]
        if fk in HRPS:
            solid.append(_b32(HRPS[fk], v))
        elif fk == htx.HASH32:
            solid.append(v.hex())
        elif fk == htx.BLOB:
            import hashlib

            solid.append(hashlib.sha256(v).hexdigest())
            spaced.append(f"{len(v)} bytes")
        elif fk in (htx.AMOUNT, htx.AMOUNT0):
            shown = htx.format_amount(v, denom)
            spaced.append(shown.split(" ")[0] if "denom" in msg else shown)
        elif fk in (htx.NAME, htx.CHAIN):
            solid.append(v)
        elif fk == htx.COMMISSION:
            solid.append(f"{v // 100}.{v % 100:02d}%")
        elif fk == htx.MONIKER:
            solid.append(_shown_text(v).replace(" ", ""))
        elif name == "timeout_height":
            solid.append(f"Timeoutheight:{v or 'none'}")
        elif name == "timeout_time":
            solid.append(f"TimeoutUTC:{htx.utc_text(v) if v else 'none'}".replace(" ", ""))
        elif fk in (htx.POSITIVE, htx.UINT):
            solid.append(str(v))
        elif fk == htx.BOOL:
            shown = {"paused": ("Transfers:stopped", "Transfers:resumed")}[name]
            solid.append(shown[0] if v else shown[1])
        elif fk == htx.TEXT:
            solid.append(_shown_text(v).replace(" ", ""))
        elif fk == htx.PAYLOAD:
            more = _expected_strings(v)
            spaced += more[0]
            solid += more[1]
    return spaced, solid


def _shown_text(text: str) -> str:
    return '"' + _escaped(text).replace('"', '\\"') + '"' if text else "(none)"


def _escaped(text: str) -> str:
    out = []
    for ch in text:
        c = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0x20 <= c <= 0x7E:
            out.append(ch)
        else:
            out.append(f"\\x{c:02x}" if c < 0x100 else
                       f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}")
    return "".join(out)


def _read(lines: list[str]) -> str:
    """The lines as one string, each row of free text without the mark that starts it."""
    return "".join(line[1:] if line.startswith("|") else line for line in lines)


def test_describe_shows_every_signed_field_within_the_screen():
    cases = collect(txs(max_msgs=5), 80)
    every = device_messages()  # the longest titles, 16 messages, both kinds of packet payload
    cases.append({"chain": "q" * 32, "nonce": 2**63 - 1, "fee": 2**63 - 1, "msgs": every[:16],
                  "memo": "\\ \u4e2d" * 36})
    cases += [{"chain": "qos", "nonce": 1, "fee": 0, "msgs": every[i:i + 16], "memo": ""}
              for i in range(16, len(every), 16)]
    answers = run_firmware([("desc", hexs(cbor.dumps(t))) for t in cases])
    for t, (ok, payload) in zip(cases, answers, strict=True):
        assert ok, payload
        pages = fw_value(payload)
        for title, lines in pages:
            assert 0 < len(title) <= 21 and 0 < len(lines) <= 6, (title, lines)
            assert all(len(line) <= 21 for line in lines), lines
            # The device font has printable ASCII only; everything else must arrive escaped.
            assert all(" " <= ch <= "~" for line in [title, *lines] for ch in line), lines
        by_title: dict[str, list[str]] = {}
        for title, lines in pages:
            by_title.setdefault(title, []).extend(lines)
        first = by_title["Sign transaction"]
        assert t["chain"] in _read(first) and str(t["nonce"]) in _read(first)
        assert f"Messages: {len(t['msgs'])}" in first
        tail = by_title["Fee and memo"]
        assert htx.format_amount(t["fee"]) in " ".join(tail)
        memo = _shown_text(t["memo"]).replace(" ", "")
        assert memo in _read(tail).replace(" ", "")
        for i, msg in enumerate(t["msgs"]):
            title = [k for k in by_title if k.startswith(f"{i + 1}/{len(t['msgs'])} ")]
            if len(t["msgs"]) == 1:
                title = [k for k in by_title if k not in ("Sign transaction", "Fee and memo")]
            assert len(title) == 1, (title, list(by_title))
            assert title[0].endswith(TITLES[msg["type"]])
            lines = by_title[title[0]]
            spaced, solid = _expected_strings(msg)
            for text in spaced:
                assert text in " ".join(lines), (text, lines)
            for text in solid:
                assert text in _read(lines).replace(" ", ""), (text, lines)


def test_describe_fixed_example():
    alice = bytes(range(20))
    tx = htx.Tx("qos-test", 7, 180, (
        htx.transfer(alice, 123_400),
        htx.qsc_transfer("ABC", alice, 10_000_000),
        htx.qsc_pause("ABC", False),
    ), memo="rent\n")
    [(ok, payload)] = run_firmware([("desc", hexs(tx.encode()))])
    assert ok, payload
    pages = fw_value(payload)
    addr = _b32("qosacc", alice)
    assert pages == [
        ("Sign transaction", ["Chain: qos-test", "Nonce: 7", "Messages: 3"]),
        ("1/3 Send QOS", ["To:", addr[:15], addr[15:30], addr[30:], "Amount: 12.3400 QOS"]),
        ("2/3 Send QSC", ["Token: ABC", "To:", addr[:15], addr[15:30], addr[30:],
                          "Amount: 1000.0000 ABC"]),
        ("3/3 Pause QSC", ["Token: ABC", "Transfers: resumed"]),
        ("Fee and memo", ["Fee limit: 0.0180 QOS", 'Memo: "rent\\x0a"']),
    ]


def test_the_device_shows_param_changes_and_the_upgrade_plan_whole():
    tx = htx.Tx("qos-test", 7, 180, (
        htx.gov_param_change({"gov.quorum_bps": 4000, "fees.bank/transfer": 150}, 10**7),
        htx.gov_upgrade("v2.1", 123_456, "https://qos.example/v2.1", 0),
    ))
    [(ok, payload)] = run_firmware([("desc", hexs(tx.encode()))])
    assert ok, payload
    pages = fw_value(payload)
    changes = '"gov.quorum_bps=4000,fees.bank/transfer=150"'
    info = '"https://qos.example/v2.1"'
    assert pages[1:3] == [
        ("1/2 Param change", ["Changes:", "|" + changes[:20], "|" + changes[20:40],
                              "|" + changes[40:], "Deposit:", "1000.0000 QOS"]),
        ("2/2 Upgrade plan", ['Plan: "v2.1"', "Height: 123456", "Info:", "|" + info[:20],
                              "|" + info[20:], "Deposit: 0.0000 QOS"]),
    ]


# Pairs of different texts that used to draw the same screen (word wrap dropped the space at a
# break, trailing spaces are blank, an empty memo looked like the text "(none)").
LOOKALIKES = [
    ("", "(none)"),
    ("pay", "pay  "),
    ("pay", " pay"),
    ("a b", "a  b"),
    ("x" * 21 + "y", "x" * 21 + " y"),
    ("x" * 20 + " " + "y" * 5, "x" * 20 + "\n" + "y" * 5),
    ('say "hi"', "say \\\"hi\\\""),
    ("(none)", '"(none)"'),
]


def _pages_of(txs_: list[dict[str, Any]]) -> list[Any]:
    """The pages as the screen draws them: a trailing space leaves no ink."""
    answers = run_firmware([("desc", hexs(cbor.dumps(t))) for t in txs_])
    assert all(ok for ok, _ in answers), answers
    drawn = []
    for _, payload in answers:
        pages = fw_value(payload)
        drawn.append([(title, [line.rstrip() for line in lines]) for title, lines in pages])
    return drawn


def _memo_tx(memo: str) -> dict[str, Any]:
    return {"chain": "qos", "nonce": 1, "fee": 0, "memo": memo,
            "msgs": [htx.transfer(bytes(20), 1)]}


def _moniker_tx(moniker: str) -> dict[str, Any]:
    return {"chain": "qos", "nonce": 1, "fee": 0, "memo": "",
            "msgs": [htx.edit_validator(moniker, 500)]}


def test_texts_that_differ_never_draw_the_same_screen():
    pairs = [(_memo_tx(a), _memo_tx(b)) for a, b in LOOKALIKES]
    monikers = [(a, b) for a, b in LOOKALIKES if a and b and "\n" not in a + b]
    pairs += [(_moniker_tx(a), _moniker_tx(b)) for a, b in monikers]
    pages = _pages_of([t for pair in pairs for t in pair])
    for i, (a, b) in enumerate(pairs):
        assert pages[2 * i] != pages[2 * i + 1], (a, b)


def test_generated_texts_draw_one_screen_each():
    # memos and monikers built from the characters that are easy to confuse on a screen
    rng = random.Random(8)
    memo_chars = ' ab"\\()\n\t'
    memos = {"".join(rng.choice(memo_chars) for _ in range(rng.randrange(48))) for _ in range(300)}
    monikers = {"".join(rng.choice(' ab"\\()') for _ in range(rng.randrange(1, 33)))
                for _ in range(300)}
    memos_, monikers_ = sorted(memos), sorted(monikers)
    pages = _pages_of([_memo_tx(m) for m in memos_] + [_moniker_tx(m) for m in monikers_])
    drawn = [repr(p) for p in pages]
    assert len(set(drawn[: len(memos_)])) == len(memos_)
    assert len(set(drawn[len(memos_):])) == len(monikers_)


# A row that reads as a field of its own: "Label: value" or a bare "Label:".
_FIELD_ROW = re.compile(r"^[A-Za-z][A-Za-z ]*:( |$)")
_FAKE_ROWS = ("Fee limit: 0.0001 QOS", "Amount: 0.0001 QOS", "To:", "Chain: qos")


def _texts_faking_rows() -> list[str]:
    """Texts padded so that a fake field row starts every possible column of a text row: the
    attacker does not know the layout, so every alignment is tried."""
    texts = []
    for fake in _FAKE_ROWS:
        for pad in range(42):
            texts.append("x" * pad + (fake + " " * 21) * 3)
    return texts


def _field_rows(pages: list[Any]) -> list[str]:
    return [line for _, lines in pages for line in lines if _FIELD_ROW.match(line)]


def test_no_text_can_draw_a_row_that_reads_as_a_field():
    hostile = _texts_faking_rows()

    def placed(text: str) -> list[dict[str, Any]]:
        # The free-text fields a signer reads: a memo, a moniker, a token and a proposal text.
        return [_memo_tx(text),
                _moniker_tx(text[:32]),
                cbor2.loads(_transfer_tx(text[:250], 0, 1).encode()),
                cbor2.loads(htx.Tx("qos", 1, 0, (htx.gov_upgrade("v2", 9, text[:250]),)).encode())]

    cases = [t for text in hostile for t in placed(text)]
    benign = [t for text in hostile for t in placed("x" * len(text))]
    drawn = _pages_of(cases + benign)
    for i, case in enumerate(cases):
        assert _field_rows(drawn[i]) == _field_rows(drawn[len(cases) + i]), case


def _leaf_paths(node: dict[str, Any], prefix: tuple = ()) -> list[tuple]:
    paths = []
    for key, value in node.items():
        if isinstance(value, dict):
            paths += _leaf_paths(value, (*prefix, key))
        elif key != "msgs":
            paths.append((*prefix, key))
    return paths


def _replaced(tx: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    copy = cbor.loads(cbor.dumps(tx))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


def test_every_field_at_its_edges_gets_the_same_verdict():
    encoded = []
    for msg in device_messages():
        tx = {"chain": "qos", "nonce": 1, "fee": 0, "msgs": [msg], "memo": ""}
        flat = {**tx, "msg": msg}  # paths into the message start with "msg"
        for path in _leaf_paths(flat):
            kinds = KINDS_BY_NAME.get(path[-1], [])
            for value in [v for k in kinds for v in EDGES[k]] + ["qcp/send", None]:
                if path[0] == "msg":
                    mutated = _replaced({**tx, "msgs": [msg]}, ("msgs", 0, *path[1:]), value)
                else:
                    mutated = _replaced(tx, path, value)
                encoded.append(cbor.dumps(mutated))
    tx = {"chain": "qos", "nonce": 1, "fee": 0, "memo": ""}
    for count in (0, 1, 16, 17):
        encoded.append(cbor.dumps({**tx, "msgs": [htx.renew(b"\x01" * 20)] * count}))
    answers = run_firmware([("tx", hexs(data)) for data in encoded])
    verdicts = {True: 0, False: 0}
    for data, (fw_ok, payload) in zip(encoded, answers, strict=True):
        host_ok, host_out = _host_decode(data)
        assert host_ok == fw_ok, (cbor.loads(data), host_out, payload)
        assert payload == host_out if host_ok else fw_error(payload) == ("TxError", host_out)
        verdicts[host_ok] += 1
    assert verdicts[True] > 50 and verdicts[False] > 300, verdicts


# ------------------------------------------------------------------ qcp/transfer pages

# Seconds where a calendar goes wrong: 32-bit wraps, leap days, century rules, the last uint.
EDGE_SECONDS = [0, 1, 59, 86_399, 86_400, 951_782_400, 951_868_799, 978_307_199, 2**31 - 1,
                2**31, 2**32 - 1, 2**32, 4_107_542_400, 253_402_300_799, 253_402_300_800,
                2**62, 2**63 - 1]


def test_utc_text_matches_the_host_and_the_standard_library():
    drawn = collect(st.one_of(st.integers(0, 2**63 - 1), st.integers(0, 2**34)), 300)
    seconds = EDGE_SECONDS + drawn
    answers = run_firmware([("utc", str(s)) for s in seconds])
    for s, (ok, shown) in zip(seconds, answers, strict=True):
        assert ok, shown
        assert shown == htx.utc_text(s), s
        if s < 253_402_300_800:  # datetime stops at year 9999
            when = datetime.datetime.fromtimestamp(s, datetime.UTC)
            assert shown == when.strftime("%Y-%m-%d %H:%M:%S").lstrip("0"), s
    assert htx.utc_text(2**32) == "2106-02-07 06:28:16"  # past where a 32-bit time_t wraps
    assert htx.utc_text(2**63 - 1) == "292277026596-12-04 15:30:07"


# Denoms that look like a voucher of the destination but are not one: only an exact first hop
# `qcp/<to_chain>/` goes home (docs/qcp.md section 5).
LOOKALIKE_HOPS = ["qcp/biz-x/ABC", "qcp/bi/ABC", "qcp/biz", "QCP/biz/ABC", "qcp/biz\n/ABC",
                  " qcp/biz/ABC", "qcp/qcp/biz/ABC", "x/qcp/biz/ABC", "qcp//biz/ABC", ""]


def test_transfer_origin_says_home_only_for_the_destinations_voucher():
    cases = [("biz", d) for d in LOOKALIKE_HOPS]
    cases += [("biz", "qcp/biz/ABC"), ("biz", "qcp/biz/qcp/other/X"), ("biz", "qcp/biz/"),
              ("a", "qcp/a/\x00" + "\u4e2d" * 80), ("biz", "QOS"), ("biz", "ABC")]
    answers = run_firmware([("origin", f"{c} {hexs(d.encode())}") for c, d in cases])
    for (chain, denom), (ok, shown) in zip(cases, answers, strict=True):
        assert ok, shown
        assert shown == htx.transfer_origin(chain, denom)
        home = denom.startswith(f"qcp/{chain}/")
        assert shown == (f"Returns home to chain {chain}" if home
                         else "Leaves as a voucher of this token"), denom


def _transfer_tx(denom: str, height: int, when: int) -> htx.Tx:
    return htx.Tx("qos", 1, 0, (htx.qcp_transfer("biz", denom, bytes(20), 50_000, height, when),))


def test_qcp_transfer_pages_fixed_example():
    home = _transfer_tx("qcp/biz/ABC", 120, 1_800_000_000)
    native = _transfer_tx("QOS", 0, 0)
    far = _transfer_tx("ABC", 7, 2**32)
    answers = run_firmware([("desc", hexs(t.encode())) for t in (home, native, far)])
    assert all(ok for ok, _ in answers), answers
    pages = [[p for p in fw_value(payload) if p[0] == "QCP transfer"] for _, payload in answers]
    addr = _b32("qosacc", bytes(20))
    receiver = ["Receiver:", addr[:15], addr[15:30], addr[30:], "Amount: 5.0000"]
    assert pages[0] == [
        ("QCP transfer", ["To chain: biz", 'Token: "qcp/biz/ABC"', "Returns home to chain",
                          "biz"]),
        ("QCP transfer", [*receiver, "Timeout height: 120"]),
        ("QCP transfer", ["Timeout UTC:", "2027-01-15 08:00:00"]),
    ]
    assert pages[1][0][1][1:] == ['Token: "QOS"', "Leaves as a voucher", "of this token"]
    assert pages[1][-1] == ("QCP transfer", ["Timeout UTC: none", "WARNING: no timeout;",
                                             "the chain sets one", "day after sending"])
    assert pages[2][-1] == ("QCP transfer", ["Timeout UTC:", "2106-02-07 06:28:16"])
    # The warning is there exactly when both timeouts are 0.
    assert "WARNING" not in repr(pages[0]) + repr(pages[2])


def test_a_hostile_denom_is_shown_escaped_and_whole():
    denom = "qcp/biz/\x1b[2J\r\nTimeout UTC: none\x00" + "\u202e" * 20 + "Z" * 150
    assert len(denom.encode()) <= 256
    [(ok, payload)] = run_firmware([("desc", hexs(_transfer_tx(denom, 0, 2**63 - 1).encode()))])
    assert ok, payload
    pages = fw_value(payload)
    lines = [line for title, page in pages if title == "QCP transfer" for line in page]
    assert all(len(line) <= 21 and all(" " <= ch <= "~" for ch in line) for line in lines)
    start = lines.index("Token:") + 1
    end = lines.index("Returns home to chain")
    assert _read(lines[start:end]) == _shown_text(denom)
    assert "Timeout UTC: none" not in lines and "WARNING: no timeout;" not in lines
    assert lines[-2:] == ["292277026596-12-04", "15:30:07"]
