"""The fixed-base comb tables shipped as constants (firmware/crypto/_table_ed25519.py and
_table_secp256k1.py).

Two oracles: the firmware's own table builder (firmware/tools/comb_build.py) run now under the real
MicroPython, and the host's libsecp256k1 (coincurve) and libsodium (PyNaCl), which compute every
table point j*G / j*B from its scalar independently of the firmware's point arithmetic.
"""

from __future__ import annotations

import ast
from pathlib import Path

import coincurve
import nacl.bindings
import pytest

from host.devtools import micropython, runner

CRYPTO_DIR = micropython.FIRMWARE_DIR / "crypto"
MODULES = {"ED25519": "_table_ed25519", "SECP256K1": "_table_secp256k1"}
ED_P = 2**255 - 19
ED_D = (-121665 * pow(121666, -1, ED_P)) % ED_P
TEETH = 6
SPACING = 43  # ceil(256 / TEETH)
POINTS = (1 << TEETH) - 1
CHUNK = 16


def shipped_constants(path: Path) -> dict[str, object]:
    """The module's top-level constants, read without running it."""
    values = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


@pytest.fixture(scope="module")
def shipped() -> dict[str, dict[str, object]]:
    """Each curve's module constants (CHUNK, TABLE)."""
    return {
        curve: shipped_constants(CRYPTO_DIR / f"{module}.py") for curve, module in MODULES.items()
    }


def comb_scalar(j: int) -> int:
    """The scalar of table entry j: the sum of 2^(i * SPACING) over the bits i set in j."""
    return sum(1 << (i * SPACING) for i in range(TEETH) if j >> i & 1)


def test_tables_are_chunked_as_the_firmware_reads_them(shipped):
    for name, point_size in (("ED25519", 96), ("SECP256K1", 64)):
        assert shipped[name]["CHUNK"] == CHUNK
        chunks = shipped[name]["TABLE"]
        assert isinstance(chunks, tuple)
        assert all(isinstance(c, bytes) for c in chunks)
        assert [len(c) for c in chunks[:-1]] == [CHUNK * point_size] * (len(chunks) - 1)
        assert sum(len(c) for c in chunks) == POINTS * point_size


def test_shipped_tables_equal_the_firmware_builder_output(shipped, tools_path):
    code = """
from binascii import hexlify
import comb_build
from crypto import _table_ed25519, _table_secp256k1
for name, build, size, module in (
        ("ED25519", comb_build.ed25519_table, 96, _table_ed25519),
        ("SECP256K1", comb_build.secp256k1_table, 64, _table_secp256k1)):
    fresh = comb_build.chunks(build(), size)
    print(name, len(fresh), tuple(fresh) == module.TABLE)
    for chunk in fresh:
        print(hexlify(chunk).decode())
"""
    lines = runner.run(code, extra_path=tools_path).splitlines()
    ed_chunks = -(-POINTS // CHUNK)
    assert lines[0] == f"ED25519 {ed_chunks} True"
    assert lines[1 + ed_chunks] == f"SECP256K1 {ed_chunks} True"
    fresh_ed = [bytes.fromhex(h) for h in lines[1 : 1 + ed_chunks]]
    fresh_secp = [bytes.fromhex(h) for h in lines[2 + ed_chunks :]]
    assert tuple(fresh_ed) == shipped["ED25519"]["TABLE"]
    assert tuple(fresh_secp) == shipped["SECP256K1"]["TABLE"]


def points(chunks: tuple[bytes, ...], size: int) -> list[bytes]:
    packed = b"".join(chunks)
    return [packed[i : i + size] for i in range(0, len(packed), size)]


def test_secp256k1_table_points_match_libsecp256k1(shipped):
    entries = points(shipped["SECP256K1"]["TABLE"], 64)
    assert len(entries) == POINTS
    for j, entry in enumerate(entries, 1):
        x, y = coincurve.PrivateKey(comb_scalar(j).to_bytes(32, "big")).public_key.point()
        assert entry == x.to_bytes(32, "big") + y.to_bytes(32, "big"), f"entry {j}"


def test_ed25519_table_points_match_libsodium(shipped):
    entries = points(shipped["ED25519"]["TABLE"], 96)
    assert len(entries) == POINTS
    half = pow(2, -1, ED_P)
    for j, entry in enumerate(entries, 1):
        ypx, ymx, t2d = (int.from_bytes(entry[i : i + 32], "little") for i in (0, 32, 64))
        assert max(ypx, ymx, t2d) < ED_P, f"entry {j} not reduced"
        y = (ypx + ymx) * half % ED_P
        x = (ypx - ymx) * half % ED_P
        encoded = (y | (x & 1) << 255).to_bytes(32, "little")
        expected = nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(
            comb_scalar(j).to_bytes(32, "little")
        )
        assert encoded == expected, f"entry {j}"
        assert t2d == 2 * ED_D * x * y % ED_P, f"entry {j}"
        assert (y * y - x * x) % ED_P == (1 + ED_D * x * x * y * y) % ED_P  # on the curve


def test_secp256k1_table_is_released_after_a_chain_node_and_reloads_when_needed():
    code = """
import sys
from binascii import hexlify
from crypto import keys, secp256k1
name = "crypto._table_secp256k1"
secp256k1.public_key(bytes(31) + b"\\x01")
print(name in sys.modules)
keys.account_keypair(bytes(range(64)), 0, 0)
print(name in sys.modules)
print(hexlify(secp256k1.public_key(bytes(31) + b"\\x07")).decode())
print(name in sys.modules)
keys.account_keypair(bytes(range(64)), 0, 1)  # same chain node: no secp256k1 point needed
print(name in sys.modules)
"""
    lines = runner.run(code).split()
    expected_pub = coincurve.PrivateKey((7).to_bytes(32, "big")).public_key.format().hex()
    assert lines == ["True", "False", expected_pub, "True", "True"]
