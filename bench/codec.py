"""Transaction codec on the device runtime vs the host: `python -m bench codec`.

The device side runs in the real MicroPython unix port with the board heap (192 KB); the host
reference is host/core (cbor2's C decoder plus the strict scan and schema check) on the same
bytes, measured in the same run. Times are the best of several runs (the machine is shared).
Memory is what one decode allocates (GC disabled) and what the decoded value keeps.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cbor2

from bench.timing import best_us, run_device
from host.core import cbor
from host.core import tx as htx

REPEAT = 7

# (gc, json, time, best_us and allocated come from bench.timing.DEVICE_HELPERS.)
_DEVICE_BENCH = r"""
gc.collect()
base = gc.mem_alloc()
from codec import cbor, tx as T
gc.collect()
resident = gc.mem_alloc() - base

def kept(fn):
    gc.collect()
    before = gc.mem_alloc()
    value = fn()  # held across the collect: what the decoded value keeps, not its garbage
    gc.collect()
    used = gc.mem_alloc() - before
    return used

out = {'resident': resident}
for name in NAMES:
    data = open(DIR + '/' + name + '.cbor', 'rb').read()
    r = {}
    if name.startswith('tx'):
        r['decode_tx_us'] = best_us(lambda: T.decode_tx(data), REPEAT)
        tx = T.decode_tx(data)
        r['sign_bytes_us'] = best_us(lambda: T.sign_bytes(tx), REPEAT)
        r['describe_us'] = best_us(lambda: T.describe(tx), REPEAT)
        r['pages'] = len(T.describe(tx))
        tx = None
    r['decode_us'] = best_us(lambda: cbor.decode(data), REPEAT)
    r['decode_alloc'] = allocated(lambda: cbor.decode(data))
    r['decode_kept'] = kept(lambda: cbor.decode(data))
    out[name] = r
    data = None
    gc.collect()
print(json.dumps(out))
"""


def _inputs() -> dict[str, bytes]:
    alice, bob = bytes(range(20)), bytes(range(20, 40))
    transfer = htx.Tx("qos", 1, 180, (htx.transfer(alice, 123_400),), memo="rent")
    mixed = htx.Tx("qos", 2, 1800, (
        htx.transfer(alice, 1), htx.qsc_transfer("ABC", bob, 5), htx.delegate(alice, 10**8),
        htx.create_validator(b"\x01" * 32, "node", 500, 10**8),
    ) * 4, memo="sixteen messages")
    packet = b"\x01" * 200
    relay = htx.Tx("qos", 3, 0, (
        htx.qcp_relay(packet, b"\x02" * 4096, b"\x03" * 4096),
        htx.qcp_relay(packet, b"\x04" * 1500, b"\x05" * 2000),
    ))
    msg = {"type": "bank/transfer", "to": alice, "amount": 10**12}
    items = [msg] * 145 + [b"y" * 4096, b"z" * 3000]
    return {
        "tx_transfer": transfer.encode(),
        "tx_16_msgs": mixed.encode(),
        "tx_relay_max": relay.encode(),
        "doc_1024_items": cbor.dumps(items),
    }


def main() -> None:
    inputs = _inputs()
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in inputs.items():
            Path(tmp, f"{name}.cbor").write_bytes(data)
        code = (f"NAMES = {list(inputs)!r}\nDIR = {tmp!r}\nREPEAT = {REPEAT}\n"
                + _DEVICE_BENCH)
        device = run_device(code)
    print(f"{'input':16} {'bytes':>6} {'device decode':>14} {'host strict':>12} "
          f"{'cbor2 only':>11} {'dev/host':>9} {'alloc':>8} {'kept':>8}")
    for name, data in inputs.items():
        d = device[name]
        strict = (lambda data=data: htx.decode_tx(data)) if name.startswith("tx") else (
            lambda data=data: cbor.loads(data))
        host_us = best_us(strict, REPEAT)
        plain_us = best_us(lambda data=data: cbor2.loads(data), REPEAT)
        dev_us = d["decode_tx_us"] if name.startswith("tx") else d["decode_us"]
        print(f"{name:16} {len(data):6d} {dev_us:12.0f}us {host_us:10.0f}us {plain_us:9.1f}us "
              f"{dev_us / host_us:8.1f}x {d['decode_alloc']:8d} {d['decode_kept']:8d}")
        if name.startswith("tx"):
            print(f"{'':16} device sign_bytes {d['sign_bytes_us']}us, describe "
                  f"{d['describe_us']}us ({d['pages']} pages)")
    print(f"RAM held by importing codec.cbor + codec.tx from source: {device['resident']} bytes")


if __name__ == "__main__":
    main()
