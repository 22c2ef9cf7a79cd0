"""The node's fast paths against slow, obviously right references (host only, no firmware).

``cbor.loads`` trusts its raw scan alone to prove the input is deterministic CBOR (no
re-encode-and-compare), and ``decode_signed_tx`` cuts the sign bytes out of the input instead of
encoding the tx again. Both shortcuts are held here to the reference they replaced: cbor2's
canonical encoder, on many valid, mutated and random inputs. A gap in the scan (an input it lets
through that is not the canonical encoding of its value) fails the first test.
"""

from __future__ import annotations

import random
from typing import Any

import cbor2
from hypothesis import strategies as st

from host.core import cbor
from host.core import tx as htx

from .helpers import collect, txs, values


def _canonical_reference(data: bytes) -> tuple[bool, Any]:
    """Accepts exactly the canonical encodings (cbor2's) of values inside the protocol subset."""
    try:
        value = cbor2.loads(data)
        encoded = cbor.dumps(value)  # the subset check (types, limits), then cbor2 canonical
    except (cbor2.CBORDecodeError, cbor.CBORError, ValueError, TypeError, RecursionError):
        return False, None
    return encoded == data, value


def _scan_verdict(data: bytes) -> tuple[bool, Any]:
    """loads()'s verdict, after checking the raw scan alone gives the same one (cbor2's own
    decoding errors, which loads() also reports, must not be what refuses an input)."""
    try:
        cbor._scan(data)
    except cbor.CBORError:
        scan_ok = False
    else:
        scan_ok = True
    try:
        value = cbor.loads(data)
    except cbor.CBORError:
        assert not scan_ok, data.hex()
        return False, None
    assert scan_ok, data.hex()
    return True, value


def _widen_a_head(data: bytes, rnd: random.Random) -> bytes:
    """Re-encodes one small head argument (info < 24) in a longer, non-shortest form."""
    spots = [i for i, b in enumerate(data) if (b & 31) < 24 and b >> 5 != 7]
    if not spots:
        return data
    i = rnd.choice(spots)
    major, n = data[i] >> 5, data[i] & 31
    size = rnd.choice((1, 2, 4, 8))
    info = {1: 24, 2: 25, 4: 26, 8: 27}[size]
    return data[:i] + bytes([major << 5 | info]) + n.to_bytes(size, "big") + data[i + 1 :]


def _mutate(data: bytes, rnd: random.Random) -> bytes:
    buf = bytearray(data)
    op = rnd.randrange(6)
    if op == 5 or not buf:
        return _widen_a_head(data, rnd)
    pos = rnd.randrange(len(buf))
    if op == 0:
        buf[pos] ^= 1 << rnd.randrange(8)
    elif op == 1:
        buf[pos] = rnd.randrange(256)
    elif op == 2:
        buf.insert(pos, rnd.randrange(256))
    elif op == 3:
        del buf[pos]
    else:  # swap two bytes: reorders keys, lengths and values
        other = rnd.randrange(len(buf))
        buf[pos], buf[other] = buf[other], buf[pos]
    return bytes(buf)


def _swapped_map_entries(value: Any) -> bytes | None:
    """The encoding of a map of 2..23 entries with its first two entries in the wrong order."""
    if not isinstance(value, dict) or not 2 <= len(value) < 24:
        return None
    items = sorted(value.items(), key=lambda kv: cbor2.dumps(kv[0]))
    items[0], items[1] = items[1], items[0]
    return bytes([0xA0 + len(items)]) + b"".join(cbor.dumps(k) + cbor.dumps(v) for k, v in items)


def test_scan_accepts_exactly_the_canonical_encodings():
    cases = collect(st.tuples(values, st.integers(0, 2**32)), 600)
    inputs: list[bytes] = []
    for value, seed in cases:
        data = cbor.dumps(value)
        rnd = random.Random(seed)
        inputs.append(data)
        swapped = _swapped_map_entries(value)
        if swapped is not None:
            inputs.append(swapped)
        for rounds in (1, 1, 2, 3):
            mutated = data
            for _ in range(rounds):
                mutated = _mutate(mutated, rnd)
            inputs.append(mutated)
        inputs.append(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 12))))
    accepted = 0
    for data in inputs:
        ref_ok, ref_value = _canonical_reference(data)
        ok, value = _scan_verdict(data)
        assert ok == ref_ok, (data.hex(), ref_value)
        if ok:
            accepted += 1
            assert cbor.dumps(value) == data and value == ref_value, data.hex()
    # Both verdicts really occur (a scan that refused everything would agree on nothing valid).
    assert len(cases) <= accepted < len(inputs) - len(cases)


def test_a_swapped_pair_of_map_keys_is_refused_by_the_scan():
    data = b"\xa2\x61b\x00\x61a\x00"
    assert not _canonical_reference(data)[0]
    ok, _ = _scan_verdict(data)
    assert not ok


def test_sign_bytes_cut_from_the_input_equal_the_encoded_ones():
    cases = collect(st.tuples(txs(), st.binary(min_size=32, max_size=32),
                              st.binary(min_size=64, max_size=64)), 200)
    for tx, pubkey, sig in cases:
        raw = cbor.dumps({"tx": tx, "pubkey": pubkey, "sig": sig})
        for form in (raw, bytearray(raw), memoryview(raw)):
            got_tx, got_pub, got_sig, sign_bytes = htx.decode_signed_tx(form)
            assert (got_tx, got_pub, got_sig) == (tx, pubkey, sig)
            assert sign_bytes == cbor.dumps([htx.TX_DOMAIN, tx["chain"], tx])
            assert sign_bytes == htx.sign_bytes(tx)
