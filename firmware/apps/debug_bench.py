# The device side of `python -m bench crypto` (bench/crypto.py): the bench runs these functions
# under the unix port, and on a board image through the debug link's debug_bench method
# (apps/debug.py). Debug and emulator builds only: a production build does not contain this file.
# Each returns a map of figures: times in microseconds (best of ``repeat``), heap in bytes.
import gc
import time


def took_us(fn):
    start = time.ticks_us()
    fn()
    return time.ticks_diff(time.ticks_us(), start)


def best_us(fn, repeat):
    best = None
    for _ in range(repeat):
        took = took_us(fn)
        best = took if best is None or took < best else best
    return best


def allocated(fn):
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    fn()
    used = gc.mem_alloc() - before
    gc.enable()
    gc.collect()
    return used


def seed(mnemonic, passphrase, repeat, plain=True):
    """BIP39 seed derivation, SHA-512 of 64 KiB and word lookups; with ``plain`` also the
    plain-Python fallback kernels (one run each). "resident": heap the modules keep once loaded
    (0 where they were loaded before, or frozen)."""
    gc.collect()
    base = gc.mem_alloc()
    from crypto import bip39, sha512

    out = {}
    bip39.is_valid(mnemonic)  # the first word lookup reads and checks the list once
    gc.collect()
    out["resident"] = gc.mem_alloc() - base

    def derive():
        return bip39.mnemonic_to_seed(mnemonic, passphrase)

    # 64 KiB as 16 updates of one 4 KiB block: a board's heap, with the app in it, has no 64 KiB
    # in one piece to spare
    block = bytes(4096)

    def hash_64k():
        h = sha512.SHA512()
        for _ in range(16):
            h.update(block)
        return h.digest()

    out["viper"] = sha512.VIPER
    out["seed_us"] = best_us(derive, repeat)
    out["seed_alloc"] = allocated(derive)
    out["words_us"] = best_us(lambda: bip39.mnemonic_to_entropy(mnemonic), repeat)
    out["sha512_64k_us"] = best_us(hash_64k, repeat)
    if plain:
        sha512.use_viper(False)
        try:
            out["seed_plain_us"] = best_us(derive, 1)
            out["sha512_64k_plain_us"] = best_us(hash_64k, 1)
        finally:
            sha512.use_viper(True)
    return out


def ec(repeat):
    """Key derivation, secp256k1 public keys and ed25519, best of ``repeat`` rounds with fresh
    keys each (the key cache emptied first); the comb tables' first load and the heap it keeps."""
    from crypto import ed25519, keys, secp256k1

    gc.collect()
    free = gc.mem_free()
    out = {"tables_us": took_us(secp256k1._comb_table) + took_us(ed25519._comb_table)}
    gc.collect()
    out["tables_bytes"] = free - gc.mem_free()
    for n in range(repeat):
        for name, value in _ec_round(n).items():
            out[name] = min(out.get(name, value), value)
    keys.forget()
    return out


def _ec_round(n):
    """One round of the EC figures with the keys of seed n (the key cache emptied first)."""
    from crypto import ed25519, ed25519_verify, keys, secp256k1

    key = bytes([n + 1]) * 64
    msg = bytes(range(200))
    keys.forget()
    pair = []
    times = {
        "derive_cold_us": took_us(lambda: pair.extend(keys.account_keypair(key, 0, n))),
        "derive_warm_us": took_us(lambda: keys.account_keypair(key, 0, n + 1)),
    }
    ed_seed, pub = pair
    sig = ed25519.sign(ed_seed, msg, pub)
    times["sign_us"] = took_us(lambda: ed25519.sign(ed_seed, msg, pub))
    times["sign_nopub_us"] = took_us(lambda: ed25519.sign(ed_seed, msg))
    times["verify_us"] = took_us(lambda: ed25519_verify.verify(pub, msg, sig))
    secp256k1.public_key(ed_seed)  # keys released the table after its chain node: load it back
    times["secp_pub_us"] = took_us(lambda: secp256k1.public_key(ed_seed))
    return times
