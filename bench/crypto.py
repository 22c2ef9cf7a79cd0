"""Device crypto: `python -m bench crypto [--board qemu]`.

The device side is firmware/apps/debug_bench.py (debug builds only). By default it runs inside
the real MicroPython unix port with the board heap (`-X heapsize=192K`, see
host/devtools/micropython.py) and is set against a host reference (CPython's C hashlib, the
`mnemonic` package, coincurve, PyNaCl) measured in the same run. With `--board qemu` the same
functions also run on the QEMU Cortex-M board's debug image (frozen firmware, 192 KB heap,
through the debug link's `debug_bench` method), and the table sets the board beside the unix port
and the host, all from the same run. Times are the best of several runs: the machine is shared,
and the minimum is the figure least disturbed by other work.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from mnemonic import Mnemonic

from bench.timing import best_s, load_note, ratio, run_device

MNEMONIC = (
    "legal winner thank year wave sausage worth useful legal winner thank year wave sausage "
    "worth useful legal winner thank year wave sausage worth title"
)
PASSPHRASE = "TREZOR"
REPEAT = 5
QEMU_BENCH_TIMEOUT = 900.0  # s: the plain-Python seed on an emulated CPU takes minutes


class UnixPort:
    """The device side under the MicroPython unix port, one fresh interpreter per call."""

    label = "device (MicroPython, heap 192K)"

    def seed(self) -> dict[str, Any]:
        args = f"{MNEMONIC!r}, {PASSPHRASE!r}, {REPEAT}, True"
        code = f"from apps import debug_bench\nprint(json.dumps(debug_bench.seed({args})))"
        return run_device(code)

    def ec(self) -> dict[str, Any]:
        return run_device(
            f"from apps import debug_bench\nprint(json.dumps(debug_bench.ec({REPEAT * 2})))"
        )


class DebugLinkDevice:
    """The device side on a board image, through its debug link (`debug_bench`)."""

    label = "QEMU board (Cortex-M55, frozen, heap 192K)"

    def __init__(self, debug: Any) -> None:
        self.debug = debug

    def seed(self) -> dict[str, Any]:
        params = {"bench": "seed", "mnemonic": MNEMONIC, "passphrase": PASSPHRASE,
                  "repeat": REPEAT, "plain": True}
        return dict(self.debug.call("debug_bench", params))

    def ec(self) -> dict[str, Any]:
        return dict(self.debug.call("debug_bench", {"bench": "ec", "repeat": REPEAT * 2}))


def _best_s(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    return best_s(fn, repeat)


# (what, device figure, host figure, host reference's name): the rows both tables show.
TIME_ROWS_SEED = (
    ("BIP39 seed, 24 words + passphrase, 2048 x PBKDF2-HMAC-SHA512 ({kernels})", "seed_us",
     "pbkdf2", "hashlib.pbkdf2_hmac"),
    ("same, against the mnemonic package's to_seed", "seed_us", "to_seed",
     "mnemonic.Mnemonic.to_seed"),
    ("BIP39 seed with the plain-Python fallback kernels", "seed_plain_us", "pbkdf2",
     "hashlib.pbkdf2_hmac"),
    ("SHA-512 of 64 KiB (16 updates of 4 KiB; {kernels})", "sha512_64k_us", "sha512",
     "hashlib.sha512"),
    ("SHA-512 of 64 KiB, plain-Python fallback", "sha512_64k_plain_us", "sha512",
     "hashlib.sha512"),
    ("24 words -> entropy (word lookups in the list file + checksum)", "words_us", "words",
     "mnemonic.Mnemonic.to_entropy"),
)
DERIVE = "host/core/keys.Account.from_seed: coincurve + PyNaCl"
TIME_ROWS_EC = (
    ("m/44'/389'/0'/0/i key from a seed, empty cache (5 BIP32 steps + ed25519 pubkey)",
     "derive_cold_us", "derive", DERIVE),
    ("next index in the same account (cached m/44'/389'/0'/0 node)", "derive_warm_us", "derive",
     DERIVE),
    ("secp256k1 compressed public key (6-tooth comb)", "secp_pub_us", "secp_pub", "coincurve"),
    ("ed25519 sign, 200-byte message, pubkey passed in", "sign_us", "sign", "PyNaCl"),
    ("ed25519 sign, pubkey recomputed", "sign_nopub_us", "sign", "PyNaCl"),
    ("ed25519 verify (strict, like libsodium)", "verify_us", "verify", "PyNaCl"),
)


def host_seed_refs() -> dict[str, float]:
    """Seconds on the host for the seed rows' references."""
    english = Mnemonic("english")
    block = bytes(4096)

    def hash_64k() -> bytes:
        h = hashlib.sha512()
        for _ in range(16):
            h.update(block)
        return h.digest()

    return {
        "pbkdf2": _best_s(lambda: hashlib.pbkdf2_hmac(
            "sha512", MNEMONIC.encode(), b"mnemonic" + PASSPHRASE.encode(), 2048)),
        "to_seed": _best_s(lambda: Mnemonic.to_seed(MNEMONIC, PASSPHRASE)),
        "words": _best_s(lambda: english.to_entropy(MNEMONIC)),
        "sha512": _best_s(hash_64k),
    }


def host_ec_refs() -> dict[str, float]:
    """Seconds on the host (coincurve = libsecp256k1, PyNaCl = libsodium) for the EC rows."""
    import coincurve
    from nacl.signing import SigningKey

    from host.core import keys as host_keys

    msg = bytes(range(200))
    host_seed = bytes(range(64))
    signer = SigningKey(bytes(32))
    pub = bytes(signer.verify_key)
    sig = signer.sign(msg).signature
    return {
        "derive": _best_s(lambda: host_keys.Account.from_seed(host_seed, 0, 5), 50),
        "sign": _best_s(lambda: signer.sign(msg), 200),
        "verify": _best_s(lambda: host_keys.verify(pub, msg, sig), 200),
        "secp_pub": _best_s(lambda: coincurve.PrivateKey(bytes(range(1, 33))).public_key, 200),
    }


Row = tuple[str, ...]


def _ms(us: float, digits: int) -> str:
    return f"{us / 1e3:.{digits}f} ms"


def _kernels(device: dict[str, Any]) -> str:
    return "viper" if device["viper"] else "plain (no viper)"


def device_rows(device: dict[str, Any], host: dict[str, float]) -> list[Row]:
    """(what, device, host reference, device/host) rows of one device run (seed + EC figures)."""
    rows: list[Row] = []
    for specs, digits in ((TIME_ROWS_SEED, (1, 2)), (TIME_ROWS_EC, (2, 3))):
        for what, key, ref, ref_name in specs:
            device_s = device[key] / 1e6
            rows.append((what.format(kernels=_kernels(device)), _ms(device[key], digits[0]),
                         f"{host[ref] * 1e3:.{digits[1]}f} ms ({ref_name})",
                         ratio(device_s / host[ref])))
    return rows + [(what, value, "-", "-") for what, value in _memory_rows(device)]


def _memory_rows(device: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("heap allocated during one seed derivation (all garbage afterwards)",
         f"{device['seed_alloc']} bytes"),
        ("heap kept by crypto.sha512/hmac/pbkdf2/bip39 and the word-list index",
         f"{device['resident']} bytes"),
        ("first use: load both comb tables (constant modules)",
         f"{device['tables_us'] / 1e3:.1f} ms"),
        ("heap kept by the comb tables", f"{device['tables_bytes']} bytes"),
    ]


def beside_rows(board: dict[str, Any], unix: dict[str, Any], host: dict[str, float]) -> list[Row]:
    """(what, board, unix port, host reference, board/unix, board/host) rows of one run."""
    rows: list[Row] = []
    for specs in (TIME_ROWS_SEED, TIME_ROWS_EC):
        for what, key, ref, ref_name in specs:
            rows.append((what.format(kernels=_kernels(board)), _ms(board[key], 2),
                         _ms(unix[key], 2), f"{host[ref] * 1e3:.3f} ms ({ref_name})",
                         ratio(board[key] / unix[key]), ratio(board[key] / 1e6 / host[ref])))
    unix_memory = dict(_memory_rows(unix))
    for what, value in _memory_rows(board):
        rows.append((what, value, unix_memory[what], "-", "-", "-"))
    return rows


def _print_table(header: Row, rows: list[Row]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def unix_figures() -> dict[str, Any]:
    port = UnixPort()
    return {**port.seed(), **port.ec()}


def qemu_figures() -> dict[str, Any] | None:
    """The device figures from the QEMU board's debug image, or None (saying why) where it
    cannot be built or run here."""
    from host.bridge.debuglink import DebugLink
    from host.devtools import qemu

    reason = qemu.why_not_here()
    if reason:
        print(f"QEMU board skipped: {reason}")
        return None
    with qemu.running_board() as board:
        assert board.debug_path is not None
        with DebugLink.open(board.debug_path, timeout=QEMU_BENCH_TIMEOUT) as debug:
            device = DebugLinkDevice(debug)
            return {**device.seed(), **device.ec()}


def main(board: str = "unix") -> None:
    command = ".venv/bin/python -m bench crypto" + (" --board qemu" if board == "qemu" else "")
    print(f"command: {command}   (best of {REPEAT} runs; {load_note()})")
    qemu = qemu_figures() if board == "qemu" else None
    unix = unix_figures()
    host = {**host_seed_refs(), **host_ec_refs()}
    if qemu is None:
        header = ("what", UnixPort.label, "host reference", "ratio")
        _print_table(header, device_rows(unix, host))
    else:
        header = ("what", DebugLinkDevice.label, "unix port (heap 192K)", "host reference",
                  "QEMU / unix", "QEMU / host")
        _print_table(header, beside_rows(qemu, unix, host))
        print(f"raw figures (json): {json.dumps({'qemu': qemu, 'unix': unix})}")
    print(f"after the run: {load_note()}")
