# The vault's working part, loaded for the request that needs it (create, unlock, change the PIN,
# wipe, and the boot-time check) and dropped after it: the record format, the key schedule, the
# secret region and the PIN server steps. storage/vault.py is the resident part and says what
# the keys are made of; each function here takes the Vault as its first argument.
import struct

from storage import cipher, kdf, records
from storage.vault import (
    FORMAT,
    LEGACY_SECRET,
    LOCAL,
    NO_REGION,
    ORACLE,
    WALLET,
    OracleRetry,
    OracleStep,
    PinDelay,
    VaultError,
    WrongPin,
)


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
    # (enc, mac) of the KEK: the stretched PIN, or with a PIN server HMAC(S, "qos/kek" | R)
    kek = stretched if answer is None else cipher.mac(stretched, b"qos/kek", answer)
    return cipher.subkeys(kek)


def _cells(v):
    if v.region is None:
        raise VaultError(NO_REGION)
    from storage.secret import RegionError, SecretCells

    try:
        return SecretCells(v.region)
    except RegionError as e:
        raise VaultError("the board's secret region is unusable: %s" % e)


def record(v):
    try:
        body = records.read(v.root, WALLET)
    except records.RecordError as e:
        raise VaultError(str(e))
    if body is None:
        raise VaultError("no wallet")
    return _unpack(body)


def facts(v):
    """(label, PIN server key or None, its url) of a readable wallet, else None."""
    try:
        rec = record(v)
    except VaultError:
        return None  # no wallet, or a damaged one (unlock reports the damage)
    if rec["mode"] == ORACLE:
        return rec["label"], rec["server"], rec["url"]
    return rec["label"], None, ""


def settle(v):
    # Finishes what a power cut interrupted: a secret no record names (a cut creation or PIN
    # change) is erased; a record whose secret is gone (a cut wipe) is removed.
    try:
        cells = _cells(v)
    except VaultError:
        return  # no usable region: the device runs, and refuses to keep a wallet
    if not v.initialized():
        cells.keep_only(None)
        return
    try:
        rec = record(v)
    except VaultError:
        return  # leave a damaged record and its secret as they are: unlock reports it
    if cells.get(rec["generation"]) is None:
        wipe(v)
    else:
        cells.keep_only(rec["generation"])


# --- life cycle (storage/vault.py's methods of the same names)

# What a PIN-server step waits to finish. The step keeps data only, no function of this module:
# the keeper is dropped between requests and loaded again for the reply.
CREATED = 1
UNLOCKED = 2
CHANGED = 3


def create(v, fresh, mnemonic, pin, label="", oracle=None):
    # `fresh`: 160 random bytes, all drawn before anything is written (if the entropy source
    # fails, the flash is untouched).
    cells = _cells(v)
    dek, secret, ephemeral = fresh[:32], fresh[32:64], fresh[64:96]
    server_entropy = fresh[96:128]
    rec = {"mode": LOCAL, "label": label, "iterations": _iterations(v)}
    rec["nonce"], rec["salt"] = fresh[128:144], fresh[144:]
    enc, mac = cipher.subkeys(dek)
    rec["ct"] = cipher.ctr(enc, rec["nonce"], mnemonic.encode())
    rec["data_mac"] = cipher.mac(mac, b"data", label.encode(), rec["nonce"], rec["ct"])
    stretched = _stretch(v, pin, rec, secret)
    if oracle is None:
        _store(v, cells, rec, dek, secret, _kek(stretched), 0, None)
        return None
    from storage import oracle as protocol

    rec["mode"] = ORACLE
    rec["server"], rec["url"] = oracle
    fields = protocol.pin_secret(stretched) + server_entropy
    req, session = protocol.request(
        rec["server"], protocol.identity(secret), protocol.SET, 1, fields, ephemeral
    )
    return OracleStep(req, rec["url"], (CREATED, session, rec, stretched, None, dek, secret))


def unlock(v, ephemeral, pin):
    # `ephemeral`: 32 random bytes drawn before the try, for a PIN-server wallet (else None)
    cells, rec, secret, failures, seq = _begin_try(v)
    stretched = _stretch(v, pin, rec, secret)
    if rec["mode"] == LOCAL:
        return _open(rec, _judge(v, rec, _kek(stretched)))
    from storage import oracle as protocol

    req, session = protocol.request(
        rec["server"], protocol.identity(secret), protocol.GET, seq,
        protocol.pin_secret(stretched), ephemeral,
    )
    return OracleStep(req, rec["url"], (UNLOCKED, session, rec, stretched, failures))


def change_pin(v, fresh, pin, new_pin):
    new_secret, ephemeral, server_entropy = fresh[:32], fresh[32:64], fresh[64:96]
    cells, rec, secret, failures, seq = _begin_try(v)
    new = dict(rec)
    new["salt"] = fresh[96:]
    new["iterations"] = _iterations(v)
    stretched = _stretch(v, pin, rec, secret)
    if rec["mode"] == LOCAL:
        dek = _judge(v, rec, _kek(stretched))
        new_kek = _kek(_stretch(v, new_pin, new, new_secret))
        _store(v, cells, new, dek, new_secret, new_kek, seq, rec)
        return None
    from storage import oracle as protocol

    new_stretched = _stretch(v, new_pin, new, new_secret)
    fields = protocol.pin_secret(stretched) + protocol.identity(new_secret)[1]
    fields += protocol.pin_secret(new_stretched) + server_entropy
    req, session = protocol.request(
        rec["server"], protocol.identity(secret), protocol.CHANGE, seq, fields, ephemeral
    )
    state = (CHANGED, session, rec, stretched, failures, new, new_secret, new_stretched, seq)
    return OracleStep(req, rec["url"], state)


def finish(v, state, reply):
    """Completes the operation an OracleStep left waiting (its ``state``) with the server's
    reply: the mnemonic for an unlock, else None."""
    kind, session, rec, stretched, failures = state[:5]
    answer = _answer(v, session, reply, failures)
    if kind == CREATED:
        dek, secret = state[5:]
        _store(v, _cells(v), rec, dek, secret, _kek(stretched, answer[:32]), 1, None)
        return None
    dek = _judge(v, rec, _kek(stretched, answer[:32]))
    if kind == UNLOCKED:
        return _open(rec, dek)
    new, new_secret, new_stretched, seq = state[5:]
    _store(v, _cells(v), new, dek, new_secret, _kek(new_stretched, answer[32:]), seq, rec)
    return None


def wipe(v):
    # The crypto-erase comes first: once the secret is overwritten in place, nothing left on
    # flash opens anything, whatever else a power cut leaves behind. The files follow.
    if v.region is not None:
        _cells(v).keep_only(None)
    records.erase(v.root, WALLET)
    records.erase(v.root, LEGACY_SECRET)
    v.pin.erase()
    v.forget_facts()


# --- internals


def _iterations(v):
    if v.iterations is None:
        v.iterations = kdf.calibrate(v.kdf_ms)
    return v.iterations


def _stretch(v, pin, rec, secret):
    return kdf.stretch(pin, b"qos/pin/2" + rec["salt"] + secret, rec["iterations"], v.progress)


def _begin_try(v):
    # (cells, record, its secret, failures before this try, request number), the try counted.
    wait = v.pin.wait_s()
    if wait:
        raise PinDelay(wait)
    rec = record(v)
    cells = _cells(v)
    secret = cells.get(rec["generation"])
    if secret is None:
        raise VaultError("the wallet's secret is gone from the secret region")
    failures, seq = v.pin.begin_try()
    return cells, rec, secret, failures - 1, seq


def _answer(v, session, reply, failures):
    from storage import oracle as protocol

    try:
        status, data = protocol.open_reply(session, reply)
    except protocol.OracleError as e:
        raise VaultError(str(e))
    if status == protocol.STALE and failures is not None:
        # Authentic: the server did not judge the PIN. Take its number, give the try back.
        v.pin.store(failures, struct.unpack(">Q", data[:8])[0])
        raise OracleRetry("the PIN server expects a newer request: try again")
    if status != protocol.OK:
        raise VaultError("the PIN server refused the request (status %d)" % status)
    return data


def _judge(v, rec, kek):
    enc, mac = kek
    want = cipher.mac(mac, b"wrap", _header(rec), rec["wrapped"])
    if not cipher.equal(want, rec["wrap_mac"]):
        v.pin.failed()
        left = v.retries_left()
        if left <= 0:
            wipe(v)
            raise WrongPin(0, wiped=True)
        raise WrongPin(left)
    v.pin.reset()
    return cipher.ctr(enc, bytes(16), rec["wrapped"])


def _open(rec, dek):
    enc, mac = cipher.subkeys(dek)
    want = cipher.mac(mac, b"data", rec["label"].encode(), rec["nonce"], rec["ct"])
    if not cipher.equal(want, rec["data_mac"]):
        raise VaultError("vault data fails authentication")
    return cipher.ctr(enc, rec["nonce"], rec["ct"]).decode()


def _store(v, cells, rec, dek, secret, kek, seq, old):
    # The new secret goes to the cell the current record does not need; the record naming
    # it replaces the old one atomically; only then is the old secret erased in place.
    rec["generation"] = cells.put(secret, None if old is None else old["generation"])
    enc, mac = kek
    rec["wrapped"] = cipher.ctr(enc, bytes(16), dek)
    rec["wrap_mac"] = cipher.mac(mac, b"wrap", _header(rec), rec["wrapped"])
    if old is None:
        v.pin.store(0, seq)  # the counter exists before the wallet does
    records.write(v.root, WALLET, _pack(rec))
    cells.keep_only(rec["generation"])
    v.forget_facts()
