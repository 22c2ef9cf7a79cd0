# The debug link (debug and emulator builds only: a production build does not contain this file).
# It presses buttons, reads the screen, loads a known seed fast for test fixtures, wipes, forces
# an entropy source to fail, reports internal state, and moves the PIN-delay clock forward.
import gc
import sys

from apps import common
from wire import errors

BUTTONS = ("confirm", "cancel")
# What the debug link may do while a wire request waits for the user.
WHILE_BUSY = ("debug_press", "debug_screen", "debug_state", "debug_time")


def methods(dev):
    table = {}
    for name in ("debug_press", "debug_screen", "debug_load", "debug_wipe", "debug_rng",
                 "debug_state", "debug_time"):
        table[name] = _bind(dev, globals()[name])
    return table


def _bind(dev, fn):
    if fn.__name__ in WHILE_BUSY:
        # These also run inside a wire request waiting for the user: unloading its modules
        # there made it import them a second time (out of memory on a stock board).
        return lambda params: fn(dev, params)

    def handler(params):
        try:
            result = fn(dev, params)
        finally:
            from apps import VAULT_WORK, unload

            unload("apps.management", *VAULT_WORK)
        dev.warm_keys()
        return result

    return handler


def debug_press(dev, params):
    common.allow_only(params, ("button", "seq"))
    button = common.get_str(params, "button", 16)
    if button not in BUTTONS:
        raise errors.bad_params("button must be confirm or cancel")
    seq = common.get_uint(params, "seq", 1 << 31) if "seq" in params else None
    dev.accept_press(button, seq)
    return {}


def debug_screen(dev, params):
    common.allow_only(params, ("fb",))
    s = dev.screen
    out = {"title": s.title, "lines": list(s.lines), "footer": s.footer, "seq": s.seq}
    # The pixels only when asked: a scripted user polls the screen every few ms during a dialog,
    # and a 1 KB reply each time fragments the heap the dialog's own work needs.
    if params.get("fb", True):
        out["fb"] = s.buf
    return out


def debug_load(dev, params):
    common.allow_only(params, ("mnemonic", "pin", "passphrase", "nfkd", "label"))
    mnemonic = " ".join(common.get_str(params, "mnemonic", 512).split())
    pin = common.get_pin(params)
    passphrase = common.get_str(params, "passphrase", 256, optional=True, default="")
    label = common.get_label(params)
    nfkd = common.get_bool(params, "nfkd")
    from apps import management, unload
    from crypto import bip39

    valid = bip39.is_valid(mnemonic)
    del bip39  # its word list goes while the vault's work loads, as in management.recover
    unload("crypto.bip39", "crypto.pbkdf2")
    if not valid:
        raise errors.bad_params("mnemonic is not a valid BIP39 English mnemonic")
    management._check_passphrase(passphrase, nfkd)
    management.wipe_now(dev)
    dev.vault.create(mnemonic, pin, label)
    seed = management._derive_seed(dev, mnemonic, passphrase, "Loading", nfkd)
    dev.set_seed(seed)
    dev.remember(mnemonic)
    dev.home()
    return {}


def debug_wipe(dev, params):
    common.allow_only(params, ())
    from apps import management

    management.wipe_now(dev)
    return {}


def debug_rng(dev, params):
    common.allow_only(params, ("source", "mode"))
    source = common.get_str(params, "source", 32)
    mode = common.get_str(params, "mode", 16)
    import rng

    if mode == "constant":
        rng.override_source(source, lambda n: bytes(n))
    elif mode == "normal":
        rng.override_source(source, None)
    else:
        raise errors.bad_params("mode must be constant or normal")
    return {}


def debug_state(dev, params):
    common.allow_only(params, ())
    v = dev.vault
    gc.collect()
    return {
        "initialized": v.initialized(),
        "locked": dev.seed is None,
        "busy": dev.dispatcher.busy,
        "pin_failures": v.pin.failures(),
        "pin_wait_s": v.pin.wait_s(),
        "mnemonic": dev.debug_secret,
        "setup_pending": dev.pending_setup is not None,
        "requests": dev.dispatcher.requests,
        "sessions": dev.dispatcher.sessions,
        "mem_free": gc.mem_free(),
        "mem_alloc": gc.mem_alloc(),
        "mem_largest": _largest_free_block(),
        "modules": sorted(sys.modules),
    }


def _largest_free_block():
    # The biggest single allocation the heap can serve now (to 64 bytes): with a fragmented heap
    # a request fails on one block long before mem_free runs out.
    low, high = 0, gc.mem_free() + 64
    while high - low > 64:
        middle = (low + high) // 2
        try:
            bytearray(middle)
        except MemoryError:  # the allocator collected before it gave up
            high = middle
            continue
        low = middle
        gc.collect()  # the block just made is garbage: free it for the next, bigger try
    return low


def debug_time(dev, params):
    common.allow_only(params, ("advance_s",))
    seconds = common.get_uint(params, "advance_s", 1 << 20)
    dev.vault.pin.clock.advance(seconds)
    return {}
