# Device management: setup_begin/setup (commit-reveal), recover, unlock, lock, change_pin, wipe,
# and pin_server_reply, which finishes whichever of them waits for the PIN server (the device has
# no network: such a call answers {pin_server: {url, request}}, the host relays the request and
# brings the reply). docs/protocol.md section 6 is the contract.
import hashlib

from apps import WithPubkey, common, random_bytes, release_vault, release_wallet, unload
from storage import vault as vaultmod
from ui import layouts
from wire import errors

CHECKED_WORDS = {12: 2, 18: 3, 24: 3}


# --- setup: commit-reveal. The device draws its entropy and commits to it before it sees the
# host's; the seed is SHA-256(device || host) cut to the mnemonic's size, so neither side alone
# picks it, and a host can check rounds (check: true) that it cannot tell apart in advance.


def setup_begin(dev, params):
    common.allow_only(params, ("words",))
    dev.pending_oracle = None
    words = common.get_uint(params, "words", 25)
    if words not in (12, 24):
        raise errors.bad_params("words must be 12 or 24")
    _require_uninitialised(dev)
    from rng import EntropyError

    try:
        device_entropy = random_bytes(32, b"qos/setup")
    except EntropyError as e:
        dev.pending_setup = None
        raise errors.RpcError(errors.ENTROPY, "entropy failure: %s" % e)
    dev.pending_setup = (words, device_entropy)
    return {"commitment": hashlib.sha256(device_entropy).digest()}


def setup(dev, params):
    common.allow_only(params, ("host_entropy", "pin", "label", "check", "pin_server"))
    host_entropy = common.get_bytes(params, "host_entropy", 32, 32)
    pin = common.get_pin(params)
    label = common.get_label(params)
    check = common.get_bool(params, "check")
    server = _get_pin_server(params)
    dev.pending_oracle = None
    _require_uninitialised(dev)
    if dev.pending_setup is None:
        raise errors.RpcError(errors.WRONG_STATE, "call setup_begin first")
    words, device_entropy = dev.pending_setup
    dev.pending_setup = None  # one reveal per commitment
    size = 16 if words == 12 else 32
    entropy = hashlib.sha256(device_entropy + host_entropy).digest()[:size]
    from crypto import bip39

    mnemonic = bip39.entropy_to_mnemonic(entropy)
    entropy = None
    del bip39
    unload("crypto.bip39")  # its word list goes while the words are shown and the vault works
    if check:
        seed = _derive_seed(dev, mnemonic, "", "Checking")
        dev.home()
        return WithPubkey({"device_entropy": device_entropy}, seed)
    dev.remember(mnemonic)
    if not _show_and_check_words(dev, mnemonic) or not _confirm_pin_mode(dev, server):
        dev.debug_secret = None
        dev.home()
        raise errors.cancelled()
    return _store_new_wallet(dev, mnemonic, pin, label, server)


def recover(dev, params):
    common.allow_only(params, ("mnemonic", "pin", "label", "pin_server"))
    mnemonic = common.get_str(params, "mnemonic", 512)
    pin = common.get_pin(params)
    label = common.get_label(params)
    server = _get_pin_server(params)
    dev.pending_oracle = None
    _require_uninitialised(dev)
    from crypto import bip39

    mnemonic = " ".join(mnemonic.split())
    n = len(mnemonic.split())
    valid = n in (12, 18, 24) and bip39.is_valid(mnemonic)
    # Its word list goes while the vault's work and the entropy pipeline load (the seed
    # derivation loads it again).
    del bip39
    unload("crypto.bip39", "crypto.pbkdf2")
    if not valid:
        raise errors.bad_params("mnemonic is not a valid 12, 18 or 24 word BIP39 mnemonic")
    lines = ["Recover a wallet", "from %d words?" % n, "", "Label: " + (label or "-")]
    if not layouts.confirm(dev, "Recover", lines, "ok") or not _confirm_pin_mode(dev, server):
        dev.home()
        raise errors.cancelled()
    return _store_new_wallet(dev, mnemonic, pin, label, server)


def unlock(dev, params):
    common.allow_only(params, ("pin", "passphrase", "nfkd"))
    pin = common.get_pin(params)
    passphrase = common.get_str(params, "passphrase", 256, optional=True, default="")
    nfkd = common.get_bool(params, "nfkd")
    _check_passphrase(passphrase, nfkd)
    dev.pending_oracle = None
    _require_initialised(dev)
    # Unlocking again while unlocked (another passphrase): the signing code and cached keys go
    # before the vault's work loads, so the heap never holds both (the seed stays until the PIN
    # is right).
    release_wallet()
    dev.screen.draw("Unlock", ["Checking the PIN..."])
    opened = _vault_call(dev, dev.vault.unlock, pin)
    return _maybe_oracle(dev, opened, "unlocked", passphrase, nfkd)


def _unlocked(dev, mnemonic, passphrase, nfkd):
    dev.lock()
    seed = _derive_seed(dev, mnemonic, passphrase, "Unlocking", nfkd)
    dev.set_seed(seed)
    dev.remember(mnemonic)
    dev.home()
    return {}


def lock(dev, params):
    common.allow_only(params, ())
    dev.pending_oracle = None
    dev.lock()
    dev.home()
    return {}


def change_pin(dev, params):
    common.allow_only(params, ("pin", "new_pin"))
    pin = common.get_pin(params)
    new_pin = common.get_pin(params, "new_pin")
    dev.pending_oracle = None
    _require_initialised(dev)
    # The host knows the PIN (it sends it): only the person at the device can agree to a new one.
    # Asked before the PIN try, as trezor does, so a refused change costs nothing.
    lines = ["Change the PIN", "of this device?", "", "The old PIN then", "stops working."]
    if not layouts.confirm(dev, "Change PIN", lines, "change"):
        dev.home()
        raise errors.cancelled()
    dev.screen.draw("PIN", ["Changing the PIN..."])
    release_wallet()  # as in unlock
    from rng import EntropyError

    try:
        changed = _vault_call(dev, dev.vault.change_pin, pin, new_pin)
    except EntropyError as e:  # the new secret could not be drawn: the old PIN stays
        raise errors.RpcError(errors.ENTROPY, "entropy failure: %s" % e)
    finally:
        dev.home()
    return _maybe_oracle(dev, changed, "changed")


def _changed(dev, _):
    return {}


def pin_server_reply(dev, params):
    common.allow_only(params, ("reply",))
    reply = common.get_bytes(params, "reply", 1, 256)
    pending = dev.pending_oracle
    dev.pending_oracle = None  # one reply per request, whatever it holds
    if pending is None:
        raise errors.RpcError(errors.WRONG_STATE, "no request is waiting for the PIN server")
    step, then, args = pending
    release_wallet()  # as in unlock
    dev.screen.draw("PIN", ["Checking the PIN..."])
    try:
        done = _vault_call(dev, dev.vault.finish, step, reply)
    finally:
        dev.home()
        release_vault()  # before the seed derivation loads
    return globals()["_" + then](dev, done, *args)


def wipe(dev, params):
    common.allow_only(params, ())
    dev.pending_oracle = None
    lines = [
        "Erase the wallet", "from this device?", "", "Only the recovery", "words bring it back."
    ]
    if not layouts.confirm(dev, "Wipe", lines, "wipe"):
        dev.home()
        raise errors.cancelled()
    wipe_now(dev)
    return {}


def wipe_now(dev):
    dev.lock()
    dev.pending_setup = None
    dev.pending_oracle = None
    dev.vault.wipe()
    release_vault()  # a new wallet's randomness is drawn before the keeper loads again
    dev.home()


# --- helpers


def _require_uninitialised(dev):
    if dev.vault.initialized():
        raise errors.RpcError(errors.WRONG_STATE, "device already has a wallet: wipe it first")


def _require_initialised(dev):
    if not dev.vault.initialized():
        raise errors.RpcError(errors.WRONG_STATE, "device is not initialised")


def _check_passphrase(passphrase, nfkd):
    # Checked before the PIN, so a passphrase the device cannot use never costs a PIN try. The
    # device cannot normalise Unicode: non-ASCII must come NFKD-normalised, flagged nfkd: true.
    from crypto import bip39

    try:
        bip39.passphrase_bytes(passphrase, nfkd)
    except ValueError as e:
        raise errors.bad_params(str(e))


def _get_pin_server(params):
    # {pubkey: the server's X25519 key, url: where the host reaches it}, or None: PIN on the
    # device only.
    server = params.get("pin_server")
    if server is None:
        return None
    if not isinstance(server, dict):
        raise errors.bad_params("pin_server must be a map {pubkey, url}")
    common.allow_only(server, ("pubkey", "url"))
    pubkey = common.get_bytes(server, "pubkey", 32, 32)
    url = common.get_str(server, "url", 200)
    if not url or not all(" " < c <= "~" for c in url):
        raise errors.bad_params("pin_server url must be printable ASCII without spaces")
    return pubkey, url


def _fingerprint(pubkey):
    # 16 hex digits the user compares with what `qos pin-server` printed.
    from binascii import hexlify

    return hexlify(hashlib.sha256(pubkey).digest()[:8]).decode()


def _confirm_pin_mode(dev, server):
    if server is None:
        lines = ["Checked on this", "device only:", "10 tries. A copy of", "the flash can be",
                 "searched for it."]
    else:
        fp = _fingerprint(server[0])
        lines = ["Checked with a PIN", "server: 3 tries.", "Server key:", fp[:8] + " " + fp[8:]]
    return layouts.confirm(dev, "PIN protection", lines, "ok")


def _maybe_oracle(dev, outcome, then, *args):
    # Finishes with the function _<then>(dev, outcome, *args), at once or, when the vault needs
    # the PIN server, in pin_server_reply. Only names are parked (this module is unloaded after
    # each request and loaded afresh for the reply).
    from storage.vault import OracleStep

    if not isinstance(outcome, OracleStep):
        return globals()["_" + then](dev, outcome, *args)
    dev.pending_oracle = (outcome, then, args)
    return {"pin_server": {"url": outcome.url, "request": outcome.request}}


def _vault_call(dev, fn, *args):
    try:
        return fn(*args)
    except vaultmod.OracleRetry as e:
        raise errors.RpcError(errors.PIN_SERVER, str(e), {"retry": True})
    except vaultmod.PinDelay as e:
        raise errors.RpcError(errors.PIN_DELAY, "wait %d s before the next PIN try" % e.wait_s,
                              {"wait_s": e.wait_s})
    except vaultmod.WrongPin as e:
        if e.wiped:
            dev.lock()
            dev.home()
            msg = "wrong PIN: too many failures, the device was wiped"
        else:
            msg = "wrong PIN"
        raise errors.RpcError(errors.WRONG_PIN, msg, {"retries_left": e.retries_left})
    except vaultmod.VaultError as e:
        raise errors.RpcError(errors.INTERNAL, "storage: %s" % e)


def _derive_seed(dev, mnemonic, passphrase, title, nfkd=False):
    from crypto import bip39

    def progress(done, total):
        layouts.progress(dev, title, "Deriving the seed", done / total if total else 1)
        dev.service()

    seed = bip39.mnemonic_to_seed(mnemonic, passphrase, progress, nfkd)
    # The seed derivation code is needed again only at the next unlock: give its RAM back.
    unload("crypto.bip39", "crypto.pbkdf2", "crypto._nfkd")
    return seed


def _show_and_check_words(dev, mnemonic):
    words = mnemonic.split()
    for _ in range(3):
        if not layouts.show_pages(dev, layouts.word_pages(words), "done"):
            return False
        if _word_quiz(dev, words):
            return True
        layouts.confirm(dev, "Check failed", ["A word was wrong.", "", "Read the words", "again."],
                        "ok")
    return False


def _word_quiz(dev, words):
    # Two buttons: the device proposes a word for a position, the user says right or wrong.
    # Half the proposals are wrong on purpose (another word of the same mnemonic). The device's
    # own sources pick them (not os.urandom: some ports, QEMU's among them, have none).
    n = len(words)
    picks = random_bytes(2 * CHECKED_WORDS[n], b"qos/quiz")
    for i in range(CHECKED_WORDS[n]):
        r = picks[2 * i : 2 * i + 2]  # quiz positions only; no secret depends on them
        pos = r[0] % n
        proposed = words[pos]
        if r[1] & 1:
            others = [w for w in words if w != words[pos]]
            if others:
                proposed = others[r[1] % len(others)]
        lines = ["Is word #%d" % (pos + 1), "", "  " + proposed, "", "cancel: no  ok: yes"]
        said_yes = layouts.confirm(dev, "Check words", lines, "yes")
        if said_yes != (proposed == words[pos]):
            return False
    return True


def _store_new_wallet(dev, mnemonic, pin, label, server=None):
    dev.screen.draw("Saving", ["Encrypting and", "saving the wallet..."])
    from rng import EntropyError

    try:
        stored = _vault_call(dev, dev.vault.create, mnemonic, pin, label, server)
    except EntropyError as e:
        dev.home()
        raise errors.RpcError(errors.ENTROPY, "entropy failure: %s" % e)
    except ValueError as e:  # a PIN server key X25519 cannot use
        dev.home()
        raise errors.bad_params("pin_server: %s" % e)
    return _maybe_oracle(dev, stored, "wallet_ready", mnemonic)


def _wallet_ready(dev, _, mnemonic):
    seed = _derive_seed(dev, mnemonic, "", "Wallet")
    dev.set_seed(seed)
    dev.remember(mnemonic)
    dev.home()
    return WithPubkey({})
