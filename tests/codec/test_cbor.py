"""Deterministic CBOR: the device codec against cbor2 and the host's strict loader."""

from __future__ import annotations

import hashlib
import random

import cbor2
import pytest
from hypothesis import strategies as st

from host.core import cbor

from .helpers import collect, fw_error, hexs, run_firmware, values


def _host_loads(data: bytes) -> tuple[bool, object]:
    try:
        return True, cbor.loads(data)
    except cbor.CBORError as exc:
        return False, str(exc)


def test_generated_values_encode_identically_and_round_trip():
    cases = collect(values, 300)
    requests = []
    for v in cases:
        requests.append(("enc", repr(v)))
        requests.append(("dec", hexs(cbor.dumps(v))))
        requests.append(("decmv", hexs(cbor.dumps(v))))
    answers = run_firmware(requests)
    for i, v in enumerate(cases):
        expected = cbor2.dumps(v, canonical=True)
        assert cbor.dumps(v) == expected
        assert cbor.loads(expected) == v
        (enc_ok, enc), (dec_ok, dec), (mv_ok, mv) = answers[3 * i : 3 * i + 3]
        assert enc_ok and enc == expected.hex(), (v, enc)
        # Compare through the encoding: 1 == True in Python, but not in CBOR.
        assert dec_ok and cbor.dumps(_literal(dec)) == expected, (v, dec)
        assert mv_ok and cbor.dumps(_literal(mv)) == expected, (v, mv)


def _literal(text: str) -> object:
    import ast

    return ast.literal_eval(text)


def _head(major: int, n: int, size: int) -> bytes:
    """A head with an argument of ``size`` bytes (0 = in the initial byte) whatever n is."""
    if size == 0:
        return bytes([major << 5 | n])
    info = {1: 24, 2: 25, 4: 26, 8: 27}[size]
    return bytes([major << 5 | info]) + n.to_bytes(size, "big")


def _text(s: str) -> bytes:
    return cbor2.dumps(s)


def malformed_cases() -> list[tuple[str, bytes]]:
    """Inputs every strict decoder must refuse, one or more per rule of protocol.md section 1."""
    cases: list[tuple[str, bytes]] = []
    for major in (0, 1, 2, 3, 4, 5):
        body = {2: b"", 3: b"", 4: b"", 5: b""}
        for n, size in ((0, 1), (23, 1), (24, 2), (255, 2), (256, 4), (65535, 4), (65536, 8),
                        (2**32 - 1, 8)):
            if major in (2, 3, 4, 5) and n > 0:
                continue
            cases.append((f"non-shortest major {major} n={n}", _head(major, n, size)
                          + body.get(major, b"")))
    cases += [
        ("non-shortest length of text", b"\x78\x01a"),
        ("non-shortest length of array", b"\x98\x01\x00"),
        ("non-shortest length of map", b"\xb8\x01\x61a\x00"),
        ("non-shortest int inside map", b"\xa1\x61a\x18\x01"),
        ("unsorted keys", b"\xa2\x61b\x00\x61a\x00"),
        ("unsorted keys, length first", b"\xa2\x62aa\x00\x61b\x00"),
        ("duplicate keys", b"\xa2\x61a\x00\x61a\x01"),
        ("indefinite bytes", b"\x5f\x41a\xff"),
        ("indefinite text", b"\x7f\x61a\xff"),
        ("indefinite array", b"\x9f\x00\xff"),
        ("indefinite map", b"\xbf\x61a\x00\xff"),
        ("lone break", b"\xff"),
        ("float16", b"\xf9\x3c\x00"),
        ("float32", b"\xfa\x3f\x80\x00\x00"),
        ("float64", b"\xfb" + b"\x3f\xf0" + b"\x00" * 6),
        ("tag 0", b"\xc0\x61a"),
        ("tag 2 bignum", b"\xc2\x41\x01"),
        ("tag 55799", b"\xd9\xd9\xf7\x00"),
        ("undefined", b"\xf7"),
        ("simple 0", b"\xe0"),
        ("simple 19", b"\xf3"),
        ("simple 32", b"\xf8\x20"),
        ("reserved 28", b"\x1c"),
        ("reserved 29", b"\x3d"),
        ("reserved 30", b"\x5e"),
        ("empty", b""),
        ("truncated uint", b"\x19\x01"),
        ("truncated bytes", b"\x43ab"),
        ("truncated array", b"\x82\x00"),
        ("truncated map value", b"\xa1\x61a"),
        ("huge declared bytes", b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff"),
        ("huge declared array", b"\x9b\x00\x00\x00\x01\x00\x00\x00\x00"),
        ("huge declared map", b"\xba\xff\xff\xff\xff"),
        ("trailing byte", b"\x00\x00"),
        ("trailing after map", b"\xa0\xf6"),
        ("nine nested arrays", b"\x81" * 9 + b"\x00"),
        ("nine nested maps", b"\xa1\x61a" * 9 + b"\x00"),
        ("mixed nesting 9", (b"\x81\xa1\x61a" * 5)[:-3] + b"\x00"),
        ("bytes 4097", b"\x59\x10\x01" + b"\x00" * 4097),
        ("text 4097", b"\x79\x10\x01" + b"a" * 4097),
        ("negative below -2^63", b"\x3b\x80" + b"\x00" * 7),
        ("most negative 64-bit", b"\x3b" + b"\xff" * 8),
        ("int key", b"\xa1\x01\x00"),
        ("bytes key", b"\xa1\x41a\x00"),
        ("array key", b"\xa1\x80\x00"),
        ("bool key", b"\xa1\xf5\x00"),
        ("overlong utf-8", b"\x62\xc0\x80"),
        ("overlong 3-byte", b"\x63\xe0\x80\x80"),
        ("surrogate", b"\x63\xed\xa0\x80"),
        ("above U+10FFFF", b"\x64\xf4\x90\x80\x80"),
        ("bad start byte", b"\x61\xff"),
        ("lone continuation", b"\x61\x80"),
        ("cut utf-8 sequence", b"\x62a\xc3"),
        ("bad key utf-8", b"\xa1\x61\xff\x00"),
        ("1025 data items", b"\x99\x04\x00" + b"\x00" * 1024),
        ("1025 items with keys", b"\x82\xb9\x01\xff" + b"".join(
            cbor2.dumps(f"k{i:03d}") + b"\x00" for i in range(511)) + b"\x00"),
    ]
    return cases


def test_malformed_inputs_rejected_alike_with_the_same_message():
    cases = malformed_cases()
    answers = run_firmware([("dec", hexs(data)) for _, data in cases])
    for (label, data), (fw_ok, payload) in zip(cases, answers, strict=True):
        host_ok, host_msg = _host_loads(data)
        assert not host_ok, f"host accepted {label}"
        assert not fw_ok, f"firmware accepted {label}: {payload}"
        kind, fw_msg = fw_error(payload)
        assert kind == "CBORError", (label, payload)
        assert fw_msg == host_msg, (label, fw_msg, host_msg)


def test_limits_themselves_are_accepted():
    edge = [
        [[[[[[[[0]]]]]]]],  # depth 8
        b"\x00" * 4096,
        "a" * 4096,
        -(2**63),
        2**64 - 1,
        {"": 0, "a": 1, "b": [], "aa": {}},
        [0] * 1023,  # 1024 data items
        {f"k{i:03d}": 0 for i in range(511)},  # 1 + 2 * 511 = 1023 items
    ]
    answers = run_firmware([("dec", hexs(cbor.dumps(v))) for v in edge])
    for v, (ok, payload) in zip(edge, answers, strict=True):
        assert cbor.loads(cbor.dumps(v)) == v
        assert ok, (v, payload)
        assert cbor.dumps(_literal(payload)) == cbor.dumps(v)


def _mutate(data: bytes, rnd: random.Random) -> bytes:
    buf = bytearray(data)
    op = rnd.randrange(4)
    pos = rnd.randrange(len(buf))
    if op == 0:
        buf[pos] ^= 1 << rnd.randrange(8)
    elif op == 1:
        buf[pos] = rnd.randrange(256)
    elif op == 2:
        buf.insert(pos, rnd.randrange(256))
    else:
        del buf[pos]
    return bytes(buf)


def test_mutated_encodings_get_the_same_verdict():
    seeds = collect(st.tuples(values, st.integers(0, 2**32)), 250)
    cases = []
    for v, seed in seeds:
        data = cbor.dumps(v)
        rnd = random.Random(seed)
        for _ in range(3):
            data = _mutate(data, rnd) if data else bytes([rnd.randrange(256)])
        cases.append(data)
    answers = run_firmware([("dec", hexs(data)) for data in cases])
    rejected = 0
    for data, (fw_ok, payload) in zip(cases, answers, strict=True):
        host_ok, host_value = _host_loads(data)
        assert host_ok == fw_ok, (data.hex(), payload, host_value)
        if host_ok:
            assert cbor.dumps(_literal(payload)) == data
        else:
            rejected += 1
            assert fw_error(payload) == ("CBORError", host_value), data.hex()
    assert rejected > len(cases) // 4  # the mutations really produce bad input


def test_sixteen_kilobyte_inputs_decode_in_the_board_heap():
    msg = {"type": "bank/transfer", "to": b"\x01" * 20, "amount": 10**12}
    relay = {"type": "qcp/relay", "proof": b"\x02" * 300, "header": b"\x03" * 300,
             "packet": {"from_chain": "a", "to_chain": "b", "seq": 1, "height": 2,
                        "sender": b"\x04" * 20, "payload": msg}}
    big = [
        [b"\xab" * 4096, b"\xcd" * 4096, "z" * 4096, b"\xef" * 3900],  # few large strings
        [relay] * 16 + [b"x" * 3500],  # the shape of the largest transactions
        [msg] * 145 + [b"y" * 4096, b"z" * 3000],  # 1024 items, the most a document may have
    ]
    requests = [("decsum", hexs(cbor.dumps(v))) for v in big]
    for _, arg in requests:
        assert 15000 <= len(arg) // 2 <= 16384
    answers = run_firmware(requests)
    for v, (ok, payload) in zip(big, answers, strict=True):
        assert ok, payload[:200]
        assert payload == hashlib.sha256(cbor.dumps(v)).hexdigest()


OUTSIDE_THE_SUBSET = [
    ("{1: 2}", "map key"),
    ("{b'a': 2}", "map key"),
    ("2**64", "out of range"),
    ("-(2**63) - 1", "out of range"),
    ("1.5", "cannot encode"),
    ("[" * 9 + "0" + "]" * 9, "nesting deeper"),
    ("b'x' * 4097", "too long"),
    ("'x' * 4097", "too long"),
    ("{'a': {1}}", "cannot encode"),
    ("[0] * 1024", "data items"),
    ("{('k%d' % i): 0 for i in range(512)}", "data items"),
]


def test_values_outside_the_subset_are_refused_by_both_encoders():
    answers = run_firmware([("enc", value) for value, _ in OUTSIDE_THE_SUBSET])
    for (value, fragment), (ok, payload) in zip(OUTSIDE_THE_SUBSET, answers, strict=True):
        with pytest.raises(cbor.CBORError, match=fragment):
            cbor.dumps(eval(value))
        assert not ok, value
        kind, message = fw_error(payload)
        assert kind == "CBORError" and fragment in message, (value, payload)


def test_host_loads_refuses_non_bytes_and_huge_input():
    with pytest.raises(cbor.CBORError, match="needs bytes"):
        cbor.loads("a0")  # type: ignore[arg-type]
    with pytest.raises(cbor.CBORError, match="2097151 trailing bytes"):
        cbor.loads(b"\x00" * (2 << 20))
    with pytest.raises(cbor.CBORError, match="more than 1024 data items"):
        cbor.loads(b"\x9a\x00\x10\x00\x00" + b"\x00" * (1 << 20))
