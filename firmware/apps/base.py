# The requests every session starts with, kept in a small module that stays loaded (the bigger
# management app is loaded for a setup/unlock and dropped again afterwards).
import buildflags
from apps import RNG_STATE, common


def ping(dev, params):
    common.allow_only(params, ("data",))
    data = common.get_bytes(params, "data", max_len=1024, optional=True)
    return {"data": data if data is not None else b""}


def get_info(dev, params):
    common.allow_only(params, ())
    v = dev.vault
    initialized = v.initialized()
    server = v.pin_server() if initialized else None
    return {
        "version": buildflags.VERSION,
        "board": buildflags.BOARD,
        "model": dev.model,
        "initialized": initialized,
        "locked": dev.seed is None,
        "pin_retries_left": v.retries_left() if initialized else 0,
        "debug": buildflags.DEBUG,
        "label": v.label() if initialized else "",
        "pin_mode": ("server" if server is not None else "device") if initialized else "",
        "pin_server": {"pubkey": server[0], "url": server[1]} if server is not None else None,
        "entropy_failure": RNG_STATE.get("failure"),
    }
