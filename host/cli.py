"""`qos`: one command line for the device, the emulator, the entropy pipeline and the node client.

Each command group lives with the part it drives and registers itself here; a group's module keeps
its heavy imports inside its handlers so `qos --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_GROUPS = (
    "host.bridge.cli",  # qos device ...
    "host.bridge.emulator",  # qos emu
    "host.bridge.firmware",  # qos fw build|flash
    "qrng.cli",  # qos qrng sample|health|assess
    "host.chain.client",  # qos tx ..., qos query ..., qos keys ...
    "host.chain.relayer",  # qos relay
    "host.pinserver.cli",  # qos pin-server
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qos", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_GROUPS:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
