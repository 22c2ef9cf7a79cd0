"""HMAC_DRBG (SHA-256) on the host and on the device against NIST CAVP vectors."""

import json
from pathlib import Path

import pytest

from host.devtools.micropython import run
from qrng.drbg import DrbgError, HmacDrbg

VECTORS = json.loads((Path(__file__).parent / "vectors" / "hmac_drbg_sha256.json").read_text())


def _host_no_reseed(v):
    drbg = HmacDrbg(
        bytes.fromhex(v["entropy"]), bytes.fromhex(v["nonce"]), bytes.fromhex(v["pers"])
    )
    drbg.generate(128, bytes.fromhex(v["add1"]))
    return drbg.generate(128, bytes.fromhex(v["add2"]))


@pytest.mark.parametrize("vector", VECTORS["no_reseed"], ids=lambda v: f"count{v['count']}")
def test_host_no_reseed_vectors(vector):
    assert _host_no_reseed(vector).hex() == vector["returned"]


def test_host_reseed_vector():
    v = VECTORS["pr_false"][0]
    drbg = HmacDrbg(
        bytes.fromhex(v["entropy"]), bytes.fromhex(v["nonce"]), bytes.fromhex(v["pers"])
    )
    drbg.reseed(bytes.fromhex(v["entropy_reseed"]), bytes.fromhex(v["add_reseed"]))
    drbg.generate(128, bytes.fromhex(v["add1"]))
    assert drbg.generate(128, bytes.fromhex(v["add2"])).hex() == v["returned"]
    assert drbg.reseed_counter == 3


def test_misuse_is_refused():
    with pytest.raises(DrbgError, match="256 bits"):
        HmacDrbg(bytes(16))
    drbg = HmacDrbg(bytes(32))
    with pytest.raises(DrbgError, match="outside"):
        drbg.generate(1 << 17)
    drbg.reseed_counter = (1 << 48) + 1
    with pytest.raises(DrbgError, match="reseed required"):
        drbg.generate(32)


DEVICE_SCRIPT = """
import sys
from binascii import hexlify, unhexlify
from rng.drbg import HmacDrbg, DrbgError
for line in sys.stdin:
    f = line.split()
    if not f:
        continue
    x = [unhexlify(a) if a != "-" else b"" for a in f[1:]]
    if f[0] == "n":
        d = HmacDrbg(x[0], x[1], x[2])
        d.generate(128, x[3])
        print(hexlify(d.generate(128, x[4])).decode())
    else:
        d = HmacDrbg(x[0], x[1], x[2])
        d.reseed(x[3], x[4])
        d.generate(128, x[5])
        print(hexlify(d.generate(128, x[6])).decode())
try:
    HmacDrbg(bytes(16))
except DrbgError as e:
    print("refused", e)
"""


def test_device_drbg_matches_cavp_vectors_under_micropython():
    def h(s):
        return s or "-"

    lines = [
        " ".join(["n", *(h(v[k]) for k in ("entropy", "nonce", "pers", "add1", "add2"))])
        for v in VECTORS["no_reseed"]
    ]
    keys = ("entropy", "nonce", "pers", "entropy_reseed", "add_reseed", "add1", "add2")
    lines += [" ".join(["r", *(h(v[k]) for k in keys)]) for v in VECTORS["pr_false"]]
    out = run(DEVICE_SCRIPT, stdin="\n".join(lines).encode()).split("\n")
    expected = [v["returned"] for v in VECTORS["no_reseed"] + VECTORS["pr_false"]]
    assert out[: len(expected)] == expected
    assert out[len(expected)].startswith("refused")
