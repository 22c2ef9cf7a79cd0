"""Device heap: `python -m bench heap`.

Two parts, both on the compiled firmware tree the emulator runs (.mpy, 192 KB heap):
- the curve tables: what preparing them allocates (garbage included, with the GC off) and keeps,
  against the reference of building them from scratch, as the firmware did at boot before the
  tables shipped as constants (firmware/tools/comb_build.py is that construction); both are
  measured on a second preparation, so growth of the interpreter's shared string pool is not
  counted;
- the emulator's heap through the debug link (`debug_state`, after a gc.collect(): used, free
  and the largest free block) in the states the device spends its time in: idle with no wallet,
  unlocked, a 1- and a 16-message sign_tx and a 1 KB sign_message waiting for the user's
  confirmation (the tx decoder, the tx and its first pages loaded), and with a PIN server (a real
  `qos pin-server` process): locked with an unlock waiting for the server's reply (the request's
  session and the stretched PIN held), and unlocked through it.

Both ways the firmware runs are measured in the same run: in place from a mapped ROMFS image, as
a board runs frozen code from flash (the emulator's default, host/devtools/xip.py), and the same
compiled tree loaded from a directory, as a stock MicroPython board runs it after `qos fw
deploy` (.mpy files on its filesystem): bytecode, constants and strings then take heap.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from host.devtools import micropython

MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
PIN = "1234"
SIGN_MESSAGES = 16
QEMU_REPLY_S = 120.0  # an emulated Cortex-M: a 16-message signature or an unlock takes seconds

# Prepares the tables (MODE "load": the shipped constants are imported; MODE "build": built from
# scratch, the reference) after the key code is loaded. With LEAVE >= 0, ballast blocks first
# take all but LEAVE bytes of the free heap (-1: no ballast; -2: no ballast and the GC off, so the
# figure is everything allocated); prints "MemoryError", or "ok" and the bytes kept (allocated).
_TABLES_CODE = r"""
import gc
from crypto import keys, secp256k1, ed25519
MODE, LEAVE = %r, %d
if MODE == "build":
    import comb_build
    prepare = lambda: (comb_build.ed25519_table(), comb_build.secp256k1_table())
else:
    def prepare():
        from crypto import _table_ed25519, _table_secp256k1
        return _table_ed25519.TABLE, _table_secp256k1.TABLE
ballast = []
size = 65536
while LEAVE >= 0 and size >= 16:
    gc.collect()
    want = gc.mem_free() - LEAVE - 64
    if want < 16:
        break
    try:
        ballast.append(bytearray(min(size, want)))
    except MemoryError:
        size //= 2
if LEAVE < 0:
    # Prepared once and dropped first: the figure is then the tables' own, without the growth of
    # the interpreter's shared string pool that their few names may happen to trigger.
    prepare()
    import sys
    for name in ("_table_ed25519", "_table_secp256k1"):
        sys.modules.pop("crypto." + name, None)
        sys.modules["crypto"].__dict__.pop(name, None)
gc.collect()
free = gc.mem_free()
if LEAVE == -2:
    gc.disable()  # every byte allocated stays counted, garbage included
try:
    tables = prepare()
except MemoryError:
    print("MemoryError")
else:
    if LEAVE == -2:
        print("ok", free - gc.mem_free())
    else:
        gc.collect()
        print("ok", free - gc.mem_free())
"""


def _prepare_leaving(tree: Path, mode: str, leave: int) -> int | None:
    """Bytes kept if preparing the tables works with only ``leave`` bytes free, else None."""
    code = _TABLES_CODE % (mode, leave)
    out = micropython.run(code, extra_path=[tree, micropython.TOOLS_DIR]).split()
    return None if out[0] == "MemoryError" else int(out[1])


def compiled_tree() -> Path:
    from host.devtools import firmware

    return firmware.cached_build(firmware.default_cache_dir(), firmware.BuildSpec("unix"))


def least_free_heap(tree: Path, mode: str) -> int:
    """The least free heap (to 256 bytes; ballast blocks take the rest) in which the tables can be
    prepared. The ballast leaves the free heap in pieces (as a heap in use has it), so this is a
    peak of many small blocks: it overstates what needs only a few larger ones."""
    low, high = 0, 128 * 1024  # bytes left free: too few / enough
    if _prepare_leaving(tree, mode, high) is None:
        raise RuntimeError(f"preparing the tables ({mode}) needs more than {high} bytes")
    while high - low > 256:
        middle = (low + high) // 2
        if _prepare_leaving(tree, mode, middle) is None:
            low = middle
        else:
            high = middle
    return high


def table_figures(tree: Path) -> dict[str, int | None]:
    # Loading the constants makes almost no garbage, so everything it allocates (GC off) bounds
    # its peak; building the tables makes more garbage than the free heap holds, so its peak is
    # found by the ballast test instead.
    return {
        "load_allocated": _prepare_leaving(tree, "load", -2),
        "build_least_free": least_free_heap(tree, "build"),
        "load_kept": _prepare_leaving(tree, "load", -1),
        "build_kept": _prepare_leaving(tree, "build", -1),
    }


def _transfer_tx(count: int) -> bytes:
    from host.core import keys
    from host.core import tx as txlib

    to = keys.Account.from_seed(keys.seed_from_mnemonic(MNEMONIC), 7, 1).address
    msgs = [txlib.transfer(to, 1000 + i) for i in range(count)]
    return txlib.Tx("qos-test", 2, 1, msgs, "").encode()


def _wait_dialog(debug: Any, reply_s: float) -> None:
    # Polls the screen, not debug_state: its reply is bigger, and a 16-message sign_tx on the
    # .mpy tree leaves little heap beside the dialog.
    deadline = time.monotonic() + reply_s
    while time.monotonic() < deadline:
        if debug.screen(fb=False)["footer"].startswith("cancel"):
            return
        time.sleep(0.01)
    raise RuntimeError("the device showed no dialog")


def _wait_busy(debug: Any, busy: bool) -> None:
    for _ in range(500):
        if bool(debug.state()["busy"]) == busy:
            return
        time.sleep(0.01)
    raise RuntimeError(f"the device did not become {'busy' if busy else 'idle'}")


Row = tuple[int, int, int] | str  # used, free, largest free block (bytes), or the error
PIN_SERVER_ROWS = ("locked, an unlock waiting for the PIN server",
                   "unlocked through the PIN server")


def device_heap(firmware: Path | None = None) -> dict[str, Row]:
    """(used, free, largest free block) per state, from an emulator running ``firmware``
    (default: the current debug build's ROMFS image; a directory is loaded into the heap)."""
    from host.bridge.client import Client
    from host.bridge.debuglink import DebugLink
    from host.devtools.emulator import Emulator
    from host.devtools.ports import free_port_pair

    emulator = Emulator(port=free_port_pair(), firmware=firmware)
    with (
        emulator,
        DebugLink.open(emulator.debug_path) as debug,
        Client.open(emulator.wire_path) as client,
    ):
        return heap_states(client, debug)


def heap_states(client: Any, debug: Any, reply_s: float = 60) -> dict[str, Row]:
    """The rows of the device behind ``client`` and ``debug``; ``reply_s``: how long a
    signature or an unlock may take."""
    from host.bridge.exceptions import DeviceError

    rows: dict[str, Row] = {}

    def take(name: str, state: dict[str, Any]) -> None:
        rows[name] = (state["mem_alloc"], state["mem_free"], state["mem_largest"])

    debug.wipe()
    take("idle, no wallet", debug.state())
    debug.load(MNEMONIC, PIN)
    take("unlocked", debug.state())
    for count in (1, SIGN_MESSAGES):
        tx_bytes = _transfer_tx(count)
        request = client.send("sign_tx", {"account": 0, "index": 0, "tx": tx_bytes})
        _wait_dialog(debug, reply_s)
        take(f"sign_tx of {count} message(s), waiting for confirm", debug.state())
        _confirm_until_done(client, debug, request, reply_s)
    message = {"account": 0, "index": 0, "chain": "qos-test", "message": b"x" * 1024}
    request = client.send("sign_message", message)
    _wait_dialog(debug, reply_s)
    take("sign_message of 1 KB, waiting for confirm", debug.state())
    _confirm_until_done(client, debug, request, reply_s)
    take("unlocked, after signing", debug.state())
    if "pin_mode" in client.get_info():  # firmware with PIN server support
        try:
            _pin_server_rows(client, debug, take, reply_s)
        except DeviceError as e:  # out of memory: the first row not reached says so
            rows[next(n for n in PIN_SERVER_ROWS if n not in rows)] = f"failed: {e}"
    return rows


def qemu_heap() -> dict[str, Row] | None:
    """The same states on the QEMU Cortex-M board's debug image (firmware frozen, 192 KB heap),
    or None (saying why) where it cannot be built or run here."""
    from host.bridge.client import Client
    from host.bridge.debuglink import DebugLink
    from host.devtools import qemu

    reason = qemu.why_not_here()
    if reason:
        print(f"QEMU board skipped: {reason}")
        return None
    # kdf_ms=1: the PIN's key stretching at its floor, as the tests run it (the heap is the same)
    with (
        qemu.running_board(kdf_ms=1) as board,
        DebugLink.open(board.debug_path, timeout=QEMU_REPLY_S) as debug,
        Client.open(board.wire_path, timeout=QEMU_REPLY_S) as client,
    ):
        client.user_timeout = QEMU_REPLY_S
        return heap_states(client, debug, QEMU_REPLY_S)


def _confirm_until_done(client: Any, debug: Any, request: int, reply_s: float) -> None:
    from host.bridge.exceptions import NoReply

    deadline = time.monotonic() + reply_s
    while time.monotonic() < deadline:
        debug.answer("confirm")
        try:
            client.link.receive(request, 0.02)
            return
        except NoReply:
            continue
    raise RuntimeError("the request never finished")


def _pin_server_rows(client: Any, debug: Any, take: Any, reply_s: float) -> None:
    from host.devtools.pinserver import PinServerProcess
    from host.pinserver import client as pinserver

    with PinServerProcess() as server:
        debug.wipe()
        server_param = {"pubkey": pinserver.fetch_info(server.url).pubkey, "url": server.url}
        params = {"mnemonic": MNEMONIC, "pin": PIN, "pin_server": server_param}
        request = client.send("recover", params)
        _wait_busy(debug, True)
        while debug.state()["busy"]:
            debug.answer("confirm")
            time.sleep(0.05)
        asked = client.link.receive(request, reply_s)["pin_server"]
        client.call("pin_server_reply", {"reply": pinserver.relay(server.url, asked["request"])})
        client.lock()
        asked = client.call("unlock", {"pin": PIN}, timeout=reply_s)["pin_server"]
        take(PIN_SERVER_ROWS[0], debug.state())
        client.call("pin_server_reply", {"reply": pinserver.relay(server.url, asked["request"])})
        take(PIN_SERVER_ROWS[1], debug.state())


def _bytes(value: int | None) -> str:
    return "MemoryError" if value is None else f"{value:,} B"


def main_qemu() -> None:
    """The device states on the QEMU board beside the unix emulator, measured in the same run."""
    from bench.timing import load_note

    print(f"command: .venv/bin/python -m bench heap --board qemu   ({load_note()})")
    board = qemu_heap()
    if board is None:
        return
    unix = device_heap()
    print(
        "| device state (debug_state after gc.collect) | QEMU board, frozen: used / free "
        "(largest block) | unix emulator, ROMFS in place: used / free (largest block) |"
    )
    print("|---|---|---|")
    for name, row in board.items():
        print(f"| {name} | {_kib(row)} | {_kib(unix.get(name, 'not reached'))} |")
    print(f"after the run: {load_note()}")


def main(board: str = "unix") -> None:
    if board == "qemu":
        main_qemu()
        return
    tree = compiled_tree()
    t = table_figures(tree)
    peak, ref = t["load_allocated"] or 0, t["build_least_free"] or 0
    print("command: .venv/bin/python -m bench heap   (compiled tree, heap 192K)")
    print("| curve tables | now: constants (crypto/_table_*.py) | reference: built from scratch |")
    print("|---|---|---|")
    print(
        f"| peak heap while preparing them | at most {_bytes(peak)} (all it allocates, GC off)"
        f" | {_bytes(ref)} (least free heap it works in; {ref / max(peak, 1):.1f}x) |"
    )
    print(f"| heap kept afterwards | {_bytes(t['load_kept'])} | {_bytes(t['build_kept'])} |")
    print()
    in_place = device_heap()
    in_heap = device_heap(tree)
    print(
        "| emulator state (debug_state after gc.collect) | ROMFS in place: used / free "
        "(largest block) | .mpy tree in the heap: used / free (largest block) |"
    )
    print("|---|---|---|")
    for name, row in in_place.items():
        print(f"| {name} | {_kib(row)} | {_kib(in_heap.get(name, 'not reached'))} |")


def _kib(row: Row) -> str:
    if isinstance(row, str):
        return row
    used, free, largest = row
    return f"{used / 1024:.1f} / {free / 1024:.1f} KiB ({largest / 1024:.1f})"


if __name__ == "__main__":
    main()
