# The vault: the mnemonic, encrypted and authenticated under a random 32-byte data key (DEK),
# which is stored wrapped under a key that needs three things:
#   E         the crypto-erase secret in the board's raw region (storage/secret.py), named in the
#             record by its generation; wipe destroys it, a PIN change replaces it
#   the PIN   stretched: S = PBKDF2-HMAC-SHA256(PIN, "qos/pin/2" | salt | E, iterations), with the
#             iterations calibrated on the board (storage/kdf.py) and stored in the record
#   R         with a PIN server only: the server's answer for HMAC(S, "qos/oracle-pin"), which
#             it gives only while fewer than 3 wrong PINs were sent in a row (storage/oracle.py)
#   KEK = S (PIN on the device only) or HMAC(S, "qos/kek" | R) (PIN server)
#   wrapped = AES-CTR(enc(KEK), DEK), wrap_mac = HMAC(mac(KEK), "wrap" | header | wrapped)
#   ct = AES-CTR(enc(DEK), mnemonic), data_mac = HMAC(mac(DEK), "data" | label | nonce | ct)
# A wrong PIN shows up as a wrap_mac mismatch. The record is one file, replaced atomically.
#
# This module is the part that stays loaded: what get_info needs while the device idles (is
# there a wallet, its label and PIN mode, the tries left), read once and cached. The work is in
# storage/keeper.py, loaded for the request that needs it and dropped after it (apps.release_vault).
# With a PIN server, the operations that need it return an OracleStep: the host relays its request
# and vault.finish(step, reply) completes the operation.
from storage import records
from storage.pin import MAX_FAILURES, ORACLE_FAILURES, PinCounter

WALLET = "wallet"
LEGACY_SECRET = "device"  # format 1 kept its secret in this file (removed by wipe)
FORMAT = 2
LOCAL = 0
ORACLE = 1
NO_REGION = "this board has no secret region (see its README): it cannot keep a wallet"


class VaultError(Exception):
    pass


class WrongPin(VaultError):
    def __init__(self, retries_left, wiped=False):
        super().__init__("wrong PIN")
        self.retries_left = retries_left
        self.wiped = wiped


class PinDelay(VaultError):
    def __init__(self, wait_s):
        super().__init__("PIN delay")
        self.wait_s = wait_s


class OracleRetry(VaultError):
    """The PIN server did not judge the PIN (the device's request number was behind); the try
    was not counted and the next request will be accepted."""


class OracleStep:
    """An operation waiting for the PIN server: relay ``request`` to ``url``, then give the
    reply to Vault.finish. ``state`` is the keeper's, opaque here."""

    def __init__(self, request, url, state):
        self.request = request
        self.url = url
        self.state = state


def _keeper():
    from storage import keeper

    return keeper


class Vault:
    def __init__(self, root, region, clock, random_bytes, kdf_ms=1000, iterations=None):
        self.root = root
        self.region = region  # the board's raw secret region (a block device), or None
        self.random_bytes = random_bytes  # random_bytes(n) -> bytes
        self.kdf_ms = kdf_ms  # calibration target: how long one PIN try takes on this board
        self.iterations = iterations  # fixed count (tests); None: calibrate
        self.progress = None  # progress(done, total) during the PIN key derivation
        records.ensure_dir(root)
        records.clean(root)
        self.pin = PinCounter(root, clock)
        self.pin.guarded = self.initialized
        self._facts = None
        _keeper().settle(self)
        self.forget_facts()

    # --- public facts (readable while locked)
    def initialized(self):
        return records.exists(self.root, WALLET)

    def facts(self):
        """(label, PIN server key or None, url) of a readable wallet, else None; cached."""
        if self._facts is None and self.initialized():
            self._facts = _keeper().facts(self) or ()
        return self._facts or None

    def forget_facts(self):
        # After the record changed: read the facts again, and the PIN limit of their mode.
        self._facts = None
        facts = self.facts()
        self.pin.limit = MAX_FAILURES if facts is None or facts[1] is None else ORACLE_FAILURES

    def label(self):
        facts = self.facts()
        return facts[0] if facts else ""

    def pin_server(self):
        """(server public key, url) of a wallet whose PIN a server enforces, else None."""
        facts = self.facts()
        return (facts[1], facts[2]) if facts and facts[1] is not None else None

    def retries_left(self):
        return self.pin.limit - self.pin.failures()

    # --- life cycle (storage/keeper.py does the work)
    def create(self, mnemonic, pin, label="", oracle=None):
        """Stores a new wallet; ``oracle`` = (server key, url) for a PIN server, else None.
        Returns None when stored, or the OracleStep whose finish() stores it."""
        # The randomness is drawn before the keeper loads (here and below): the entropy pipeline
        # and the keeper together did not fit a stock board's heap.
        fresh = self.random_bytes(160)
        return _keeper().create(self, fresh, mnemonic, pin, label, oracle)

    def unlock(self, pin):
        """The mnemonic, or an OracleStep whose finish() returns it. Raises PinDelay, WrongPin
        (wiping on the last try)."""
        ephemeral = self.random_bytes(32) if self.pin_server() is not None else None
        return _keeper().unlock(self, ephemeral, pin)

    def change_pin(self, pin, new_pin):
        """Rewraps the data key under the new PIN and a new crypto-erase secret, so the old PIN
        opens nothing left on flash. Returns None when done, or an OracleStep."""
        fresh = self.random_bytes(112)  # before the try is counted: an entropy failure costs none
        return _keeper().change_pin(self, fresh, pin, new_pin)

    def finish(self, step, reply):
        """Completes the OracleStep with the PIN server's reply: the mnemonic for an unlock,
        else None. Raises as the operation that made the step would have."""
        return _keeper().finish(self, step.state, reply)

    def wipe(self):
        _keeper().wipe(self)
