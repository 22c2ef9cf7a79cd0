# The device application's wiring: storage on the board's flash, the screen, the method table
# (apps are imported on first use, to keep the heap free), the debug link where the build has
# one, and the request loop. The emulator calls run(board); on a board the port runs this file as
# main.py (see the end).
import gc
import sys

from apps import BOOTED, UPDATE_WORK, VAULT_WORK, WALLET_WORK, WithPubkey

# Modules dropped after each request of an app: big, and cheap to load again (about 1 ms for the
# tx decoder from .mpy on the emulator; nothing at all when frozen on a board).
TRANSIENT = {"management": ("apps.management",) + VAULT_WORK, "wallet": WALLET_WORK,
             "update": UPDATE_WORK}

# Loaded later and kept while unlocked (the key code), or loaded for a part of a request: their
# names are interned at boot with the transient apps' (intern_strings).
LATER = ("crypto.keys", "crypto.bip32", "crypto._table_ed25519", "crypto.bip39", "rng.pipeline",
         "rng.devices", "rng.drbg")

# method -> app module (the handler is the function of the same name in that module)
WIRE_METHODS = {
    "ping": "base",
    "get_info": "base",
    "setup_begin": "management",
    "setup": "management",
    "recover": "management",
    "unlock": "management",
    "lock": "management",
    "change_pin": "management",
    "wipe": "management",
    "pin_server_reply": "management",
    "get_public_key": "wallet",
    "get_address": "wallet",
    "sign_tx": "wallet",
    "sign_message": "wallet",
    "update_begin": "update",
    "update_chunk": "update",
    "update_finish": "update",
}


def bind(dev, module_name, func_name):
    def handler(params):
        module = __import__("apps." + module_name, None, None, [func_name])
        try:
            result = getattr(module, func_name)(dev, params)
        finally:
            module = None
            drop = TRANSIENT.get(module_name)
            if drop:
                from apps import unload

                unload(*drop)
        if isinstance(result, WithPubkey):
            result = result.finish(dev)
        dev.warm_keys()
        return result

    return handler


def debug_app():
    # Production builds say DEBUG = False and do not contain apps/debug at all; a debug build
    # that cannot import it fails loudly rather than running without its debug link.
    import buildflags

    if not buildflags.DEBUG:
        return None
    from apps import debug

    return debug


def build_device(board):
    from apps import random_bytes, release_vault
    from apps.state import Device
    from storage.pin import Clock
    from storage.vault import Vault
    from wire.dispatch import Dispatcher

    clock = Clock()
    vault = Vault(board.storage_dir, board.secret_region(), clock, random_bytes, board.kdf_ms)
    release_vault()  # its boot-time check is done
    dev = Device(board, vault, board.model, clock)
    vault.progress = dev.pin_progress
    methods = {}
    for name, module in WIRE_METHODS.items():
        methods[name] = bind(dev, module, name)
    debug = debug_app()
    if debug is not None:
        dispatcher = Dispatcher(board, methods, debug.methods(dev), debug.WHILE_BUSY)
    else:
        dispatcher = Dispatcher(board, methods)
    dispatcher.after_request = dev.request_done
    dispatcher.session_ended = dev.session_ended
    dev.dispatcher = dispatcher
    board.open_links(debug is not None)
    return dev


def intern_strings():
    # The interpreter's string pool grows by doubling into one block of the heap. On a board the
    # frozen modules' names are in flash, but code run from a ROMFS image (the emulator, an
    # installed update) interns its names at its first import: the transient apps' first import
    # in the middle of a request could need a 15 KB block that a fragmented heap no longer has
    # (the demo's first sign_tx raised MemoryError so with 95 KB free). Their names go in now,
    # while the heap is young; the code is dropped again, with whatever it imported. The same
    # for the code every unlock and setup loads (LATER): loaded into the heap as .mpy files (a
    # stock MicroPython board), its names interned at the first unlock left pool blocks amid
    # the heap, and the next import then failed with 40 KB free in pieces.
    from apps import unload

    for name in [name for names in TRANSIENT.values() for name in names] + list(LATER):
        before = set(sys.modules)
        __import__(name)
        unload(*(set(sys.modules) - before))


def run(board):
    dev = build_device(board)
    dev.screen.draw("QOS", ["Starting..."])
    intern_strings()
    # The curve tables ship as constants (crypto/_table_*.py), so nothing is built at boot: the
    # key code and its tables load at the first unlock, in blocks of at most 1.5 KB.
    gc.collect()
    dev.home()
    BOOTED.update(sys.modules)
    dev.dispatcher.run()


if __name__ == "__main__":
    # On a board the port runs this file as main.py at every reset. Holding cancel during the
    # reset keeps the app from starting: a stock MicroPython or a debug image then gives its
    # REPL for maintenance; a production image has none and restarts (docs/boards.md).
    import board

    if board.maintenance_requested():
        print("QOS: cancel held at reset: the app is not started")
    else:
        from fwupdate.boot import MOUNT

        if sys.path[0] == MOUNT:  # the boot step mounted an installed release: its main runs
            import main as release

            release.run(board.Board())
        else:
            run(board.Board())
