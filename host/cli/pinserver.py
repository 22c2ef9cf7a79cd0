"""`qos pin-server`: run the PIN oracle (loopback by default)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    from host.pinserver import DEFAULT_DATA, DEFAULT_PORT

    p = commands.add_parser(
        "pin-server", help="run the PIN server that enforces devices' PIN tries (3 wrong: erased)"
    )
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="key and records directory")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP port")
    p.add_argument("--show-key", action="store_true", help="print the key and fingerprint, exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from host.pinserver import protocol, server

    if args.show_key:
        key = server.load_or_create_key(args.data).public_key().public_bytes_raw()
        print(f"key {key.hex()}\nfingerprint {protocol.fingerprint(key)}")
        return 0
    try:
        asyncio.run(server.serve(args.data, args.host, args.port))
    except KeyboardInterrupt:
        pass
    return 0
