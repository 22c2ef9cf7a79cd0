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
# With a PIN server, the steps that need it return an OracleStep: the host relays its request,
# and step.finish(reply) completes the operation.
import struct

from storage import cipher, kdf, records
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
    """An operation waiting for the PIN server: relay ``request`` to ``url``, then finish()."""

    def __init__(self, request, url, finish):
        self.request = request
        self.url = url
        self.finish = finish


def _header(rec):
    label = rec["label"].encode()
    out = struct.pack(">BBII", FORMAT, rec["mode"], rec["generation"], rec["iterations"])
    out += rec["salt"] + bytes((len(label),)) + label
    if rec["mode"] == ORACLE:
        url = rec["url"].encode()
        out += rec["server"] + bytes((len(url),)) + url
    return out


def _pack(rec):
    out = _header(rec) + rec["wrapped"] + rec["wrap_mac"] + rec["nonce"]
    return out + struct.pack(">H", len(rec["ct"])) + rec["ct"] + rec["data_mac"]


class _Reader:
    def __init__(self, body):
        self.body = body
        self.at = 0

    def take(self, n):
        if self.at + n > len(self.body):
            raise VaultError("vault record is truncated")
        self.at += n
        return self.body[self.at - n:self.at]

    def text(self):
        return self.take(self.take(1)[0]).decode()


def _unpack(body):
    try:
        r = _Reader(body)
        fmt, mode, generation, iterations = struct.unpack(">BBII", r.take(10))
        if fmt != FORMAT:
            raise VaultError("vault record format %d: restore this wallet from its words" % fmt)
        if mode not in (LOCAL, ORACLE):
            raise VaultError("unknown PIN mode %d" % mode)
        rec = {"mode": mode, "generation": generation, "iterations": iterations}
        rec["salt"] = r.take(16)
        rec["label"] = r.text()
        if mode == ORACLE:
            rec["server"] = r.take(32)
            rec["url"] = r.text()
        for name, size in (("wrapped", 32), ("wrap_mac", 32), ("nonce", 16)):
            rec[name] = r.take(size)
        rec["ct"] = r.take(struct.unpack(">H", r.take(2))[0])
        rec["data_mac"] = r.take(32)
        if r.at != len(body):
            raise VaultError("vault record has trailing bytes")
        return rec
    except (IndexError, UnicodeError, ValueError) as e:
        raise VaultError("vault record is damaged: %s" % e)


def _kek(stretched, answer=None):
    return cipher.subkeys(stretched if answer is None else cipher.mac(stretched, b"qos/kek", answer))


class Vault:
    def __init__(self, root, region, clock, random_bytes, kdf_ms=1000, iterations=None):
        self.root = root
        self.random_bytes = random_bytes  # random_bytes(n) -> bytes
        self.kdf_ms = kdf_ms  # calibration target: how long one PIN try takes on this board
        self.iterations = iterations  # fixed count (tests); None: calibrate
        records.ensure_dir(root)
        records.clean(root)
        self.region = None
        if region is not None:
            from storage.secret import SecretCells

            self.region = SecretCells(region)
        self.pin = PinCounter(root, clock)
        self.pin.guarded = self.initialized
        self._label = None
        self.progress = None  # progress(done, total) during the PIN key derivation
        self._settle()

    # --- public facts (readable while locked)
    def initialized(self):
        return records.exists(self.root, WALLET)

    def _facts(self):
        # The record's public part, or None without a readable wallet.
        if not self.initialized():
            return None
        try:
            return self._record()
        except VaultError:
            return None  # unlock reports the damage

    def label(self):
        if self._label is None:
            rec = self._facts()
            if rec is None:
                return ""
            self._label = rec["label"]
        return self._label

    def pin_server(self):
        """(server public key, url) of a wallet whose PIN a server enforces, else None."""
        rec = self._facts()
        if rec is None or rec["mode"] != ORACLE:
            return None
        return rec["server"], rec["url"]

    def retries_left(self):
        return self.pin.limit - self.pin.failures()

    # --- life cycle
    def create(self, mnemonic, pin, label="", oracle=None):
        """Stores a new wallet; ``oracle`` = (server key, url) for a PIN server, else None.
        Returns None when stored, or the OracleStep whose finish() stores it."""
        if self.region is None:
            raise VaultError(NO_REGION)
        # All randomness is drawn before anything is written: if the entropy source fails, the
        # flash is untouched.
        fresh = self.random_bytes(160)
        dek, secret, ephemeral, server_entropy = fresh[:32], fresh[32:64], fresh[64:96], fresh[96:128]
        rec = {"mode": LOCAL, "label": label, "iterations": self._iterations()}
        rec["nonce"], rec["salt"] = fresh[128:144], fresh[144:]
        enc, mac = cipher.subkeys(dek)
        rec["ct"] = cipher.ctr(enc, rec["nonce"], mnemonic.encode())
        rec["data_mac"] = cipher.mac(mac, b"data", label.encode(), rec["nonce"], rec["ct"])
        stretched = self._stretch(pin, rec, secret)
        if oracle is None:
            self._store(rec, dek, secret, _kek(stretched), 0, None)
            return None
        from storage import oracle as protocol

        rec["mode"] = ORACLE
        rec["server"], rec["url"] = oracle
        fields = protocol.pin_secret(stretched) + server_entropy
        req, session = protocol.request(
            rec["server"], protocol.identity(secret), protocol.SET, 1, fields, ephemeral
        )

        def finish(reply):
            answer = self._answer(session, reply, None)
            self._store(rec, dek, secret, _kek(stretched, answer[:32]), 1, None)

        return OracleStep(req, rec["url"], finish)

    def unlock(self, pin):
        """The mnemonic, or an OracleStep whose finish() returns it. Raises PinDelay, WrongPin
        (wiping on the last try)."""
        ephemeral = self._ephemeral()
        rec, secret, failures, seq = self._begin_try()
        stretched = self._stretch(pin, rec, secret)
        if rec["mode"] == LOCAL:
            return self._open(rec, self._judge(rec, _kek(stretched)))
        from storage import oracle as protocol

        req, session = protocol.request(
            rec["server"], protocol.identity(secret), protocol.GET, seq,
            protocol.pin_secret(stretched), ephemeral,
        )

        def finish(reply):
            answer = self._answer(session, reply, failures)
            return self._open(rec, self._judge(rec, _kek(stretched, answer[:32])))

        return OracleStep(req, rec["url"], finish)

    def change_pin(self, pin, new_pin):
        """Rewraps the data key under the new PIN and a new crypto-erase secret, so the old PIN
        opens nothing left on flash. Returns None when done, or an OracleStep."""
        fresh = self.random_bytes(112)  # before the try is counted: an entropy failure costs none
        new_secret, ephemeral, server_entropy = fresh[:32], fresh[32:64], fresh[64:96]
        new_salt = fresh[96:]
        rec, secret, failures, seq = self._begin_try()
        new = dict(rec)
        new["salt"] = new_salt
        new["iterations"] = self._iterations()
        stretched = self._stretch(pin, rec, secret)
        if rec["mode"] == LOCAL:
            dek = self._judge(rec, _kek(stretched))
            self._store(new, dek, new_secret, _kek(self._stretch(new_pin, new, new_secret)), seq, rec)
            return None
        from storage import oracle as protocol

        new_stretched = self._stretch(new_pin, new, new_secret)
        fields = protocol.pin_secret(stretched) + protocol.identity(new_secret)[1]
        fields += protocol.pin_secret(new_stretched) + server_entropy
        req, session = protocol.request(
            rec["server"], protocol.identity(secret), protocol.CHANGE, seq, fields, ephemeral
        )

        def finish(reply):
            answer = self._answer(session, reply, failures)
            dek = self._judge(rec, _kek(stretched, answer[:32]))
            self._store(new, dek, new_secret, _kek(new_stretched, answer[32:]), seq, rec)

        return OracleStep(req, rec["url"], finish)

    def wipe(self):
        # The crypto-erase comes first: once the secret is overwritten in place, nothing left on
        # flash opens anything, whatever else a power cut leaves behind. The files follow.
        if self.region is not None:
            self.region.keep_only(None)
        records.erase(self.root, WALLET)
        records.erase(self.root, LEGACY_SECRET)
        self.pin.erase()
        self._label = None
        self.pin.limit = MAX_FAILURES

    # --- internals
    def _settle(self):
        # Finishes what a power cut interrupted: a secret no record names (a cut creation or PIN
        # change) is erased; a record whose secret is gone (a cut wipe) is removed.
        rec = self._facts()
        if rec is not None:
            self.pin.limit = ORACLE_FAILURES if rec["mode"] == ORACLE else MAX_FAILURES
        if self.region is None:
            return
        if rec is None:
            if not self.initialized():
                self.region.keep_only(None)
        elif self.region.get(rec["generation"]) is None:
            self.wipe()
        else:
            self.region.keep_only(rec["generation"])

    def _record(self):
        try:
            body = records.read(self.root, WALLET)
        except records.RecordError as e:
            raise VaultError(str(e))
        if body is None:
            raise VaultError("no wallet")
        return _unpack(body)

    def _iterations(self):
        if self.iterations is None:
            self.iterations = kdf.calibrate(self.kdf_ms)
        return self.iterations

    def _ephemeral(self):
        # Only a PIN server request uses it; drawn before the try is counted (see change_pin).
        return self.random_bytes(32) if self.pin_server() is not None else None

    def _stretch(self, pin, rec, secret):
        return kdf.stretch(pin, b"qos/pin/2" + rec["salt"] + secret, rec["iterations"], self.progress)

    def _begin_try(self):
        # (record, its secret, failures before this try, request number) with the try counted.
        wait = self.pin.wait_s()
        if wait:
            raise PinDelay(wait)
        rec = self._record()
        if self.region is None:
            raise VaultError(NO_REGION)
        secret = self.region.get(rec["generation"])
        if secret is None:
            raise VaultError("the wallet's secret is gone from the secret region")
        failures, seq = self.pin.begin_try()
        return rec, secret, failures - 1, seq

    def _answer(self, session, reply, failures):
        from storage import oracle as protocol

        try:
            status, data = protocol.open_reply(session, reply)
        except protocol.OracleError as e:
            raise VaultError(str(e))
        if status == protocol.STALE and failures is not None:
            # Authentic: the server did not judge the PIN. Take its number, give the try back.
            self.pin.store(failures, struct.unpack(">Q", data[:8])[0])
            raise OracleRetry("the PIN server expects a newer request: try again")
        if status != protocol.OK:
            raise VaultError("the PIN server refused the request (status %d)" % status)
        return data

    def _judge(self, rec, kek):
        enc, mac = kek
        want = cipher.mac(mac, b"wrap", _header(rec), rec["wrapped"])
        if not cipher.equal(want, rec["wrap_mac"]):
            self.pin.failed()
            left = self.retries_left()
            if left <= 0:
                self.wipe()
                raise WrongPin(0, wiped=True)
            raise WrongPin(left)
        self.pin.reset()
        return cipher.ctr(enc, bytes(16), rec["wrapped"])

    def _open(self, rec, dek):
        enc, mac = cipher.subkeys(dek)
        want = cipher.mac(mac, b"data", rec["label"].encode(), rec["nonce"], rec["ct"])
        if not cipher.equal(want, rec["data_mac"]):
            raise VaultError("vault data fails authentication")
        return cipher.ctr(enc, rec["nonce"], rec["ct"]).decode()

    def _store(self, rec, dek, secret, kek, seq, old):
        # The new secret goes to the cell the current record does not need; the record naming
        # it replaces the old one atomically; only then is the old secret erased in place.
        rec["generation"] = self.region.put(secret, None if old is None else old["generation"])
        enc, mac = kek
        rec["wrapped"] = cipher.ctr(enc, bytes(16), dek)
        rec["wrap_mac"] = cipher.mac(mac, b"wrap", _header(rec), rec["wrapped"])
        if old is None:
            self.pin.store(0, seq)  # the counter exists before the wallet does
        records.write(self.root, WALLET, _pack(rec))
        self.region.keep_only(rec["generation"])
        self.pin.limit = ORACLE_FAILURES if rec["mode"] == ORACLE else MAX_FAILURES
        self._label = rec["label"]
