"""Bech32 of the firmware, run under MicroPython, against the reference `bech32` package."""

from __future__ import annotations

import random

import bech32 as reference

SETUP = r"""
from crypto import bech32
OPS = {
    "encode": lambda hrp, data: bech32.encode(hrp, unhexlify(data)),
    "decode": lambda hrp, text: _hex(bech32.decode(hrp, text)),
    "encode_raw": bech32.encode,
}
"""

QOS_PREFIXES = ["qosacc", "qosaccpub", "qosval", "qosvalpub", "qoscons", "qosconspub"]
BECH32M_CONST = 0x2BC830A3


def _reference_encode(hrp: str, data: bytes) -> str:
    return reference.bech32_encode(hrp, reference.convertbits(data, 8, 5))


def _random_hrp(rng: random.Random) -> str:
    alphabet = [chr(c) for c in range(33, 127) if not "A" <= chr(c) <= "Z"]
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 12)))


def _random_case(rng: random.Random) -> tuple[str, bytes]:
    hrp = rng.choice(QOS_PREFIXES) if rng.random() < 0.5 else _random_hrp(rng)
    room = (90 - len(hrp) - 7) * 5 // 8  # bytes that still fit in 90 characters
    return hrp, rng.randbytes(rng.randrange(0, room + 1))


def test_encode_and_decode_match_the_reference(mp_batch):
    rng = random.Random(173)
    pairs = [_random_case(rng) for _ in range(2000)]
    pairs += [("qosacc", bytes(20)), ("qosaccpub", b"\xff" * 32), ("a", b"")]
    cases = []
    for hrp, data in pairs:
        text = _reference_encode(hrp, data)
        cases += [["encode", hrp, data.hex()], ["decode", hrp, text], ["decode", hrp, text.upper()]]
    replies = mp_batch(SETUP, cases)
    for i, (hrp, data) in enumerate(pairs):
        text = _reference_encode(hrp, data)
        assert replies[3 * i] == ["ok", text]
        assert replies[3 * i + 1] == ["ok", data.hex()]
        assert replies[3 * i + 2] == ["ok", data.hex()]  # all upper case is valid too


def _with_bech32m_checksum(hrp: str, groups: list[int]) -> str:
    values = reference.bech32_hrp_expand(hrp) + groups
    check = reference.bech32_polymod(values + [0] * 6) ^ BECH32M_CONST
    symbols = groups + [(check >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(reference.CHARSET[s] for s in symbols)


def test_every_single_character_change_is_caught(mp_batch):
    rng = random.Random(5)
    cases = []
    for _ in range(300):
        hrp, data = _random_case(rng)
        text = _reference_encode(hrp, data)
        pos = rng.randrange(len(hrp) + 1, len(text))
        swapped = rng.choice([c for c in reference.CHARSET if c != text[pos]])
        cases.append(["decode", hrp, text[:pos] + swapped + text[pos + 1 :]])
    for reply in mp_batch(SETUP, cases):
        assert reply == ["ValueError", "bech32 checksum is wrong"]


def test_bad_strings_are_rejected_with_clear_errors(mp_batch):
    good = _reference_encode("qosacc", bytes(range(20)))
    odd_padding = reference.bech32_encode("qosacc", [0] * 31 + [1])  # 160 bits: no padding
    nonzero_pad = reference.bech32_encode("qosacc", [0] * 32 + [1])  # 5 spare bits set
    too_much_pad = reference.bech32_encode("qosacc", [0] * 33)  # 165 bits: 5 padding bits
    long_text = _reference_encode("qosacc", bytes(50))
    checks = [
        (["decode", "qosval", good], "bech32 prefix is 'qosacc', expected 'qosval'"),
        (["decode", "qosacc", good[:8] + good[8:].upper()], "mixes upper and lower case"),
        (["decode", "qosacc", "qosacc" + good[6:].replace("1", "")], "no prefix separator"),
        (["decode", "qosacc", "qosacc1" + "qqqqq"], "too short"),
        (["decode", "qosacc", good[:-1] + "b"], "invalid character"),
        (["decode", "qosacc", good[:-1] + "é"], "invalid character"),
        (["decode", "qosacc", long_text], "longer than 90"),
        (["decode", "qosacc", nonzero_pad], "invalid padding"),
        (["decode", "qosacc", too_much_pad], "invalid padding"),
        (["decode", "qosacc", _with_bech32m_checksum("qosacc", [0] * 32)], "bech32m"),
        (["decode", "QOSACC", good], "lower case"),
        (["decode", "", good], "1 to 83"),
        (["encode", "qos acc", "00"], "outside ASCII"),
        (["encode", "qosacc", "00" * 60], "exceed 90"),
        (["encode_raw", "qosacc", "text"], "bytes, not str"),
        (["encode_raw", "qosacc", 20], "bytes, not int"),
        (["decode", "x", "x1b4n0q5v"], "invalid character"),
        (["decode", "li", "li1dgmt3"], "too short"),
        (["decode", "a", "A1G7SGD8"], "checksum is wrong"),
        (["decode", "a", "10a06t8"], "no prefix separator"),
    ]
    replies = mp_batch(SETUP, [case for case, _ in checks] + [["decode", "qosacc", odd_padding]])
    for reply, (case, message) in zip(replies, checks, strict=False):
        assert reply[0] in ("ValueError", "TypeError"), case
        assert message in reply[1], (case, reply)
    assert replies[-1] == ["ok", "00" * 19 + "01"]
