"""`qos emu`: run the device emulator (the firmware under the MicroPython unix port)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from socket import SOCK_DGRAM

from host.devtools.emulator import DEFAULT_PORT


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("emu", help="run the device emulator (firmware under MicroPython)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="UDP wire port (debug: +1)")
    p.add_argument("--flash", type=Path, help="flash image file (default: a temporary one)")
    p.add_argument("--pty", action="store_true", help="also expose a pty serial port")
    p.add_argument("--mnemonic", help="preload this mnemonic (debug link; needs --pin)")
    p.add_argument("--pin", help="PIN for --mnemonic")
    p.add_argument("--production", action="store_true", help="run the production build")
    p.add_argument(
        "--kdf-ms",
        type=int,
        default=None,
        help="how long one PIN try's key stretching takes (default 1000, as on a board; the "
        "floor of 10,000 PBKDF2 iterations applies below that)",
    )
    p.add_argument(
        "--update-keys",
        type=Path,
        metavar="JSON",
        help='vendor keys its firmware accepts releases from ({"threshold": M, "keys": [hex]})',
    )
    p.add_argument("--interactive", action="store_true", help="draw the screen, keys press buttons")
    p.add_argument("--screenshot", type=Path, help="save the screen as a PNG and exit")
    p.set_defaults(func=run_emu)


def run_emu(args: argparse.Namespace) -> int:
    if args.production and (args.interactive or args.screenshot or args.mnemonic):
        print("qos emu: --interactive/--screenshot/--mnemonic need the debug link", file=sys.stderr)
        return 2
    if args.mnemonic:
        from mnemonic import Mnemonic

        if not Mnemonic("english").check(" ".join(args.mnemonic.split())):
            print("qos emu: --mnemonic: the words or their checksum are wrong", file=sys.stderr)
            return 2
    from host.devtools.emulator import Emulator, EmulatorError, interactive, save_png
    from host.devtools.ports import is_free

    taken = [p for p in (args.port, args.port + 1) if not is_free("127.0.0.1", p, SOCK_DGRAM)]
    if taken:  # else its ping would reach whatever holds the port and call that "running"
        print(f"qos emu: udp port {taken[0]} is in use (another emulator?); "
              "choose another --port", file=sys.stderr)
        return 2
    from host.devtools.firmware import BuildError, UpdateKeys

    try:
        keys = UpdateKeys.from_json(args.update_keys.read_text()) if args.update_keys else None
    except (OSError, BuildError) as exc:
        print(f"qos emu: {exc}", file=sys.stderr)
        return 2
    try:
        emu = Emulator(
            port=args.port,
            flash=args.flash,
            mnemonic=args.mnemonic,
            pin=args.pin,
            pty=args.pty,
            production=args.production,
            kdf_ms=args.kdf_ms,
            update_keys=keys,
        )
    except ValueError as exc:  # arguments that do not go together
        print(f"qos emu: {exc}", file=sys.stderr)
        return 2
    # `kill PID` (SIGTERM, as service managers and scripts stop it) ends like Ctrl-C: the
    # emulator process this one started goes too, instead of living on holding the ports.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        try:
            emu.start()
        except (EmulatorError, BuildError) as exc:
            print(f"qos emu: {exc}", file=sys.stderr)
            return 1
        if args.screenshot:
            save_png(emu.debug_path, args.screenshot)
            print(f"screen saved to {args.screenshot}")
            return 0
        print(f"emulator running: wire {emu.wire_path}", end="")
        if emu.debug_path:
            print(f", debug link {emu.debug_path}", end="")
        if emu.pty_path:
            print(f", serial {emu.pty_path}", end="")
        print(f", flash {emu.flash_path}")
        if args.interactive:
            interactive(emu)
        else:
            while emu.running:
                time.sleep(0.5)
            print(emu.log(), file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        pass
    finally:
        emu.close()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
