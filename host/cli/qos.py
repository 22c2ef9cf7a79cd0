"""`qos`: one command line for the device, the emulator, the entropy pipeline and the node client.

Each command group is one module of host/cli/ that registers its parser here; a group's module keeps
its heavy imports inside its handlers so `qos --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys

from host.cli import completion, config, device, emu, fw, keys, pinserver, qrng, query, relay, tx
from host.cli.console import CommandError, UsageError

EXIT_CODES = """exit status: 0 done; 1 refused or failed (the node or device said no, nothing
answered); 2 bad input (an argument, a file, a passphrase; nothing was sent); 130 interrupted.
Environment: QOS_HOME (~/.qos), QOS_NODE, QOS_DEVICE, QOS_KEYRING_PASSPHRASE (docs/cli.md)."""

# In the order `qos --help` lists them.
COMMAND_GROUPS = (device, emu, fw, qrng, keys, tx, query, relay, pinserver, config, completion)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qos", description=__doc__.splitlines()[0], epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.set_defaults(root_parser=parser)  # `qos completion` walks the whole tree
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qos-signer")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from host.chain.rest import NodeError  # imported when needed: --help stays fast

        if not isinstance(exc, CommandError | NodeError):
            raise
        print(f"qos: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1


if __name__ == "__main__":
    sys.exit(main())
