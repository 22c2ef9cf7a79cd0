# Device applications: one module per feature. main.py imports them on first use; the ones used
# rarely are dropped again after their request (unload), so their bytecode does not sit on the heap.
import gc
import sys

# The SHA-512 viper kernels stay once loaded: MicroPython keeps the native code of a module loaded
# from a .mpy file alive for good (a root pointer), so each reload leaked it (a stock board lost
# 224 bytes of heap per wipe and load, until loads ran out of memory). rng.health's viper code
# leaked under 50 bytes a round (test_heap's bound); keeping it would cost a 16-message
# sign_tx its margin.
RESIDENT = ("crypto._sha512_viper",)


def unload(*names):
    for name in names:
        if name in sys.modules and name not in RESIDENT:
            del sys.modules[name]
            package, _, leaf = name.rpartition(".")
            parent = sys.modules.get(package)
            if parent is not None and leaf in parent.__dict__:
                del parent.__dict__[leaf]
    gc.collect()


# What the entropy pipeline must remember between its uses until reboot: a latched failure and
# the health tests' counters (rng.collect's state).
RNG_STATE = {}


def release_rng():
    # The entropy pipeline is big and needed only at setup and PIN changes: drop it after use,
    # unless the debug link has overridden a source (that override lives in the module).
    rng = sys.modules.get("rng")
    if rng is not None and not rng.overridden():
        unload("rng.pipeline", "rng.devices", "rng.drbg", "rng.health", "rng")


def random_bytes(n, extra=b""):
    import rng

    try:
        return rng.collect(n, extra, RNG_STATE)
    finally:
        release_rng()


# The vault's working code (record format, key schedule, secret region, PIN server steps): needed
# only while a request creates, opens, changes or wipes the wallet.
VAULT_WORK = ("storage.keeper", "storage.secret", "storage.kdf", "storage.cipher",
              "storage.oracle", "crypto.x25519")


# Firmware update code: loaded for each update request, dropped after it.
UPDATE_WORK = ("apps.update", "fwupdate.release", "fwupdate.slots", "fwupdate.keys",
               "crypto.ed25519_verify")


def release_vault():
    unload(*VAULT_WORK)


def release_keys():
    # Drops the cached secret key material (chain node, last key pair); the code stays.
    keys = sys.modules.get("crypto.keys")
    if keys is not None:
        keys.forget()


# The signing app and what it loads (the tx decoder and its pages, bech32): dropped after each of
# its requests, so the heap it needs is free for the next transaction.
WALLET_WORK = ("apps.wallet", "codec.tx", "codec.qcp_pages", "crypto.bech32")


# The key code and the ed25519 tables: signing needs them, the vault's work does not.
KEY_CODE = ("crypto.keys", "crypto.ed25519", "crypto._table_ed25519", "crypto._comb")


def release_wallet():
    # Locked, the device only needs what get_info, unlock and setup use; unlocked, a request
    # doing the vault's work (change the PIN, a PIN server's reply) needs their room: the signing
    # app, the tx decoder and the key code go until the next signature. The derived key pairs
    # (Device.keys) are data and stay.
    release_keys()
    unload(*(WALLET_WORK + KEY_CODE))


# What a locked device keeps loaded: the modules of the end of boot (main.run records them).
BOOTED = set()


def release_to_boot():
    # Locked and between requests, the device needs only what it booted with. The key code and
    # its tables, the setup and dialog code go until the next unlock: on a stock board they are
    # .mpy files loaded into the heap, where staying after a wipe they split the free space and
    # the next setup, recover or load ran out of memory.
    if BOOTED:
        release_wallet()
        release_rng()
        later = [name for name in sys.modules if name not in BOOTED]
        unload(*[name for name in later if name.split(".")[0] != "rng"])


class WithPubkey:
    """A result that still needs the account 0 / index 0 public key. The key code and its curve
    tables are the heap's biggest user, so the app that made this result is unloaded first and
    the key is derived afterwards (main.py calls finish). seed=None: the unlocked wallet's key."""

    def __init__(self, result, seed=None):
        self.result = result
        self.seed = seed

    def finish(self, dev):
        if self.seed is None:
            pub = dev.keypair(0, 0)[1]
        else:
            from crypto import keys

            pub = keys.account_keypair(self.seed, 0, 0)[1]
            self.seed = None
            release_keys()
        self.result["pubkey"] = pub
        return self.result
