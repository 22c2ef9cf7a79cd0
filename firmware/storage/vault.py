# The vault: the mnemonic, encrypted and authenticated under a random 32-byte data key (DEK).
# The DEK is stored wrapped under a key derived from the PIN and a per-device secret:
#   K = PBKDF2-HMAC-SHA256(pin, salt || device_secret, iterations, 32)
#   wrapped = AES-CTR(enc(K), DEK), wrap_mac = HMAC(mac(K), header || wrapped)
#   ct = AES-CTR(enc(DEK), mnemonic), data_mac = HMAC(mac(DEK), label || nonce || ct)
# A wrong PIN shows up as a wrap_mac mismatch; changing the PIN rewraps the DEK only. All of it
# is one record file, replaced atomically.
import struct

from storage import cipher, records
from storage.pin import MAX_FAILURES, PinCounter

WALLET = "wallet"
DEVICE = "device"
FORMAT = 1
ITERATIONS = 10000


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


def _pack(rec):
    label = rec["label"].encode()
    out = struct.pack(">BB", FORMAT, len(label)) + label
    out += struct.pack(">I", rec["iterations"]) + rec["salt"] + rec["wrapped"] + rec["wrap_mac"]
    out += rec["nonce"] + struct.pack(">H", len(rec["ct"])) + rec["ct"] + rec["data_mac"]
    return out


def _unpack(body):
    try:
        if body[0] != FORMAT:
            raise VaultError("unknown vault format %d" % body[0])
        n = body[1]
        rec = {"label": body[2:2 + n].decode()}
        p = 2 + n
        rec["iterations"] = struct.unpack(">I", body[p:p + 4])[0]
        p += 4
        for name, size in (("salt", 16), ("wrapped", 32), ("wrap_mac", 32), ("nonce", 16)):
            rec[name] = body[p:p + size]
            p += size
        m = struct.unpack(">H", body[p:p + 2])[0]
        rec["ct"] = body[p + 2:p + 2 + m]
        rec["data_mac"] = body[p + 2 + m:p + 34 + m]
        if len(rec["data_mac"]) != 32 or p + 34 + m != len(body):
            raise VaultError("vault record has the wrong size")
        return rec
    except (IndexError, UnicodeError, ValueError) as e:
        raise VaultError("vault record is damaged: %s" % e)


class Vault:
    def __init__(self, root, clock, random_bytes, iterations=ITERATIONS):
        self.root = root
        self.random_bytes = random_bytes  # random_bytes(n) -> bytes
        self.iterations = iterations
        records.ensure_dir(root)
        records.clean(root)
        self.pin = PinCounter(root, clock)
        self.pin.guarded = self.initialized
        self._label = None
        self.progress = None  # progress(done, total) during the PIN key derivation

    # --- public facts (readable while locked)
    def initialized(self):
        return records.exists(self.root, WALLET)

    def label(self):
        if self._label is None:
            try:
                self._label = self._record()["label"] if self.initialized() else ""
            except VaultError:
                return ""  # a damaged record has no label to show; unlock reports the damage
        return self._label

    def retries_left(self):
        return MAX_FAILURES - self.pin.failures()

    # --- life cycle
    def create(self, mnemonic, pin, label=""):
        # All randomness is drawn before anything is written: if the entropy source fails, the
        # flash is untouched.
        fresh = self.random_bytes(64)
        dek = fresh[:32]
        rec = {"label": label, "nonce": fresh[32:48]}
        self._device_secret()
        enc, mac = cipher.subkeys(dek)
        rec["ct"] = cipher.ctr(enc, rec["nonce"], mnemonic.encode())
        rec["data_mac"] = cipher.mac(mac, b"data", label.encode(), rec["nonce"], rec["ct"])
        self._wrap(rec, dek, pin, fresh[48:64])
        self.pin.store(0)  # the counter exists before the wallet does
        records.write(self.root, WALLET, _pack(rec))
        self._label = label

    def unlock(self, pin):
        """Returns the mnemonic. Raises PinDelay, WrongPin (wiping on the last try)."""
        rec, dek = self._check_pin(pin)
        enc, mac = cipher.subkeys(dek)
        want = cipher.mac(mac, b"data", rec["label"].encode(), rec["nonce"], rec["ct"])
        if not cipher.equal(want, rec["data_mac"]):
            raise VaultError("vault data fails authentication")
        return cipher.ctr(enc, rec["nonce"], rec["ct"]).decode()

    def change_pin(self, pin, new_pin):
        rec, dek = self._check_pin(pin)
        self._wrap(rec, dek, new_pin, self.random_bytes(16))
        records.write(self.root, WALLET, _pack(rec))

    def wipe(self):
        # Wallet first: once it is gone nothing else matters; then the counter and the device
        # secret (a fresh one is drawn for the next wallet, so old copies of the flash are moot).
        records.erase(self.root, WALLET)
        records.erase(self.root, DEVICE)
        self.pin.erase()
        self._label = None

    # --- internals
    def _record(self):
        try:
            body = records.read(self.root, WALLET)
        except records.RecordError as e:
            raise VaultError(str(e))
        if body is None:
            raise VaultError("no wallet")
        return _unpack(body)

    def _device_secret(self):
        secret = records.read(self.root, DEVICE)
        if secret is None or len(secret) != 32:
            secret = self.random_bytes(32)
            records.write(self.root, DEVICE, secret)
        return secret

    def _kek(self, pin, salt, iterations):
        from crypto import pbkdf2

        k = pbkdf2.pbkdf2_hmac_sha256(
            pin.encode(), salt + self._device_secret(), iterations, 32, self.progress
        )
        return cipher.subkeys(k)

    def _header(self, rec):
        return struct.pack(">BI", FORMAT, rec["iterations"]) + rec["salt"]

    def _wrap(self, rec, dek, pin, salt):
        rec["iterations"] = self.iterations
        rec["salt"] = salt
        enc, mac = self._kek(pin, rec["salt"], rec["iterations"])
        rec["wrapped"] = cipher.ctr(enc, bytes(16), dek)
        rec["wrap_mac"] = cipher.mac(mac, b"wrap", self._header(rec), rec["wrapped"])

    def _check_pin(self, pin):
        wait = self.pin.wait_s()
        if wait:
            raise PinDelay(wait)
        rec = self._record()
        tries = self.pin.begin_try()
        enc, mac = self._kek(pin, rec["salt"], rec["iterations"])
        want = cipher.mac(mac, b"wrap", self._header(rec), rec["wrapped"])
        if not cipher.equal(want, rec["wrap_mac"]):
            self.pin.failed()
            if tries >= MAX_FAILURES:
                self.wipe()
                raise WrongPin(0, wiped=True)
            raise WrongPin(MAX_FAILURES - tries)
        self.pin.reset()
        return rec, cipher.ctr(enc, bytes(16), rec["wrapped"])
