"""Device crypto under the emulator runtime: `python -m bench crypto`.

Every device figure is measured inside the real MicroPython unix port with the board heap
(`-X heapsize=192K`, see host/devtools/micropython.py) and set against a host reference (CPython's C
hashlib, the `mnemonic` package) measured in the same run. Times are the best of several runs:
the machine is shared, and the minimum is the figure least disturbed by other work.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from mnemonic import Mnemonic

from bench.timing import best_s, load_note, ratio, run_device
from host.devtools import runner

MNEMONIC = (
    "legal winner thank year wave sausage worth useful legal winner thank year wave sausage "
    "worth useful legal winner thank year wave sausage worth title"
)
PASSPHRASE = "TREZOR"
REPEAT = 5

# One MicroPython run measures everything on the device side; it prints one JSON object.
# (gc, json, time, took_us, best_us and allocated come from bench.timing.DEVICE_HELPERS.)
_DEVICE_SEED_BENCH = r"""
gc.collect()
base = gc.mem_alloc()
from crypto import bip39, sha512

M = {mnemonic!r}
P = {passphrase!r}
R = {repeat}
out = {{}}
bip39.is_valid(M)  # the first word lookup reads and checks the list once; not part of a seed
gc.collect()
out["resident"] = gc.mem_alloc() - base
seed = lambda: bip39.mnemonic_to_seed(M, P)
out["viper"] = sha512.VIPER
out["seed_us"] = best_us(seed, R)
out["seed_alloc"] = allocated(seed)
out["words_us"] = best_us(lambda: bip39.mnemonic_to_entropy(M), R)
block = bytes(64 * 1024)
out["sha512_64k_us"] = best_us(lambda: sha512.sha512(block), R)
sha512.use_viper(False)
out["seed_plain_us"] = best_us(seed, 1)
out["sha512_64k_plain_us"] = best_us(lambda: sha512.sha512(block), 1)
sha512.use_viper(True)
print(json.dumps(out))
"""


def _best_s(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    return best_s(fn, repeat)


def _device_figures() -> dict:
    return run_device(
        _DEVICE_SEED_BENCH.format(mnemonic=MNEMONIC, passphrase=PASSPHRASE, repeat=REPEAT)
    )


Row = tuple[str, str, str, str]  # what, device figure, host reference, device/host


def _time_row(what: str, device_us: float, host_s: float, host_name: str,
              digits: tuple[int, int] = (1, 2)) -> Row:
    device_s = device_us / 1e6
    return (what, f"{device_s * 1e3:.{digits[0]}f} ms",
            f"{host_s * 1e3:.{digits[1]}f} ms ({host_name})", ratio(device_s / host_s))


def seed_derivation_rows() -> list[Row]:
    """(what, device, host reference, device/host) rows for hashing and BIP39 seeds."""
    device = _device_figures()
    host_pbkdf2 = _best_s(
        lambda: hashlib.pbkdf2_hmac(
            "sha512", MNEMONIC.encode(), b"mnemonic" + PASSPHRASE.encode(), 2048
        )
    )
    host_seed = _best_s(lambda: Mnemonic.to_seed(MNEMONIC, PASSPHRASE))
    english = Mnemonic("english")
    host_words = _best_s(lambda: english.to_entropy(MNEMONIC))
    block = bytes(64 * 1024)
    host_sha = _best_s(lambda: hashlib.sha512(block).digest())
    kernels = "viper" if device["viper"] else "plain (no viper)"
    pbkdf2, sha = (host_pbkdf2, "hashlib.pbkdf2_hmac"), (host_sha, "hashlib.sha512")
    return [
        _time_row(f"BIP39 seed, 24 words + passphrase, 2048 x PBKDF2-HMAC-SHA512 ({kernels})",
                  device["seed_us"], *pbkdf2),
        _time_row("same, against the mnemonic package's to_seed", device["seed_us"], host_seed,
                  "mnemonic.Mnemonic.to_seed"),
        _time_row("BIP39 seed with the plain-Python fallback kernels", device["seed_plain_us"],
                  *pbkdf2),
        _time_row(f"SHA-512 of 64 KiB ({kernels})", device["sha512_64k_us"], *sha),
        _time_row("SHA-512 of 64 KiB, plain-Python fallback", device["sha512_64k_plain_us"],
                  *sha),
        _time_row("24 words -> entropy (word lookups in the list file + checksum)",
                  device["words_us"], host_words, "mnemonic.Mnemonic.to_entropy"),
        ("heap allocated during one seed derivation (all garbage afterwards)",
         f"{device['seed_alloc']} bytes", "-", "-"),
        ("heap kept by crypto.sha512/hmac/pbkdf2/bip39 and the word-list index",
         f"{device['resident']} bytes", "-", "-"),
    ]


# ---- EC benchmarks (secp256k1 / BIP32 / ed25519 / keys): rows shaped as seed_derivation_rows()

# One run for the EC figures too; best of R per figure, each round with fresh keys (cold cache).
_DEVICE_EC_BENCH = r"""
from crypto import ed25519, ed25519_verify, keys, secp256k1

R = {repeat}
out = {{}}
gc.collect()
free = gc.mem_free()
out["tables_us"] = took_us(secp256k1._comb_table) + took_us(ed25519._comb_table)
gc.collect()
out["tables_bytes"] = free - gc.mem_free()
msg = bytes(range(200))
best = {{}}
for n in range(R):
    seed = bytes([n + 1]) * 64
    keys.forget()
    pair = []
    times = {{
        "derive_cold_us": took_us(lambda: pair.extend(keys.account_keypair(seed, 0, n))),
        "derive_warm_us": took_us(lambda: keys.account_keypair(seed, 0, n + 1)),
    }}
    ed_seed, pub = pair
    sig = ed25519.sign(ed_seed, msg, pub)
    times["sign_us"] = took_us(lambda: ed25519.sign(ed_seed, msg, pub))
    times["sign_nopub_us"] = took_us(lambda: ed25519.sign(ed_seed, msg))
    times["verify_us"] = took_us(lambda: ed25519_verify.verify(pub, msg, sig))
    secp256k1.public_key(ed_seed)  # keys released the table after its chain node: load it back
    times["secp_pub_us"] = took_us(lambda: secp256k1.public_key(ed_seed))
    for name, value in times.items():
        best[name] = value if name not in best else min(best[name], value)
out.update(best)
print(json.dumps(out))
"""


def _device_ec_figures() -> dict:
    return run_device(_DEVICE_EC_BENCH.format(repeat=REPEAT * 2))


def ec_rows() -> list[Row]:
    """Key derivation and ed25519 on the device against coincurve + PyNaCl on the host."""
    import coincurve
    from nacl.signing import SigningKey

    from host.core import keys as host_keys

    device = _device_ec_figures()
    msg = bytes(range(200))
    host_seed = bytes(range(64))
    signer = SigningKey(bytes(32))
    pub = bytes(signer.verify_key)
    sig = signer.sign(msg).signature
    host = {
        "derive": _best_s(lambda: host_keys.Account.from_seed(host_seed, 0, 5), 50),
        "sign": _best_s(lambda: signer.sign(msg), 200),
        "verify": _best_s(lambda: host_keys.verify(pub, msg, sig), 200),
        "secp_pub": _best_s(lambda: coincurve.PrivateKey(bytes(range(1, 33))).public_key, 200),
    }

    def row(what: str, device_key: str, host_key: str, host_name: str) -> Row:
        return _time_row(what, device[device_key], host[host_key], host_name, (2, 3))

    derive = "host/core/keys.Account.from_seed: coincurve + PyNaCl"
    return [
        row("m/44'/389'/0'/0/i key from a seed, empty cache (5 BIP32 steps + ed25519 pubkey)",
            "derive_cold_us", "derive", derive),
        row("next index in the same account (cached m/44'/389'/0'/0 node)", "derive_warm_us",
            "derive", derive),
        row("secp256k1 compressed public key (6-tooth comb)", "secp_pub_us", "secp_pub",
            "coincurve"),
        row("ed25519 sign, 200-byte message, pubkey passed in", "sign_us", "sign", "PyNaCl"),
        row("ed25519 sign, pubkey recomputed", "sign_nopub_us", "sign", "PyNaCl"),
        row("ed25519 verify (strict, like libsodium)", "verify_us", "verify", "PyNaCl"),
        ("first use: load both comb tables (constant modules: frozen on a board, compiled here "
         "on the unix port)",
         f"{device['tables_us'] / 1e3:.1f} ms", "-", "-"),
        ("heap kept by the comb tables", f"{device['tables_bytes']} bytes", "-", "-"),
    ]


def _print_table(rows: list[Row]) -> None:
    device = runner.target_name()
    header = ("what", f"device (MicroPython {device}, heap 192K)", "host reference", "ratio")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    target = ""
    if runner.on_lab_board():
        target = f"{runner.TARGET_ENV}={os.environ[runner.TARGET_ENV]} "
    print(f"command: {target}.venv/bin/python -m bench crypto   (best of {REPEAT} runs; "
          f"{load_note()})")
    _print_table(seed_derivation_rows() + ec_rows())
