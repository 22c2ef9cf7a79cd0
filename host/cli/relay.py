"""`qos relay`: relay QCP packets between two chains until interrupted."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from host.chain.relayer import MAX_BATCH

if TYPE_CHECKING:
    from host.chain.relayer.service import Relayer


def register(commands: argparse._SubParsersAction) -> None:
    cmd = commands.add_parser(
        "relay", help="relay QCP packets between two chains (A <-> B) until interrupted",
        description="Carry QCP packets, their acks and timeouts between two QOS chains, with "
                    "Merkle proofs and headers signed by the proving chain's validators.")
    cmd.add_argument("--a", action="append", required=True, metavar="URL",
                     help="REST URL of chain A; repeat for more A validator nodes (their header "
                          "signatures are merged until > 2/3 of the power signs)")
    cmd.add_argument("--b", action="append", required=True, metavar="URL",
                     help="REST URL of chain B; repeat like --a")
    cmd.add_argument("--key", required=True, help="the relayer's local key file (pays the fees)")
    cmd.add_argument("--poll", type=float, default=1.0,
                     help="seconds between polls while a chain's /ws event stream is down "
                          "(default 1); otherwise every new block wakes the relayer")
    cmd.add_argument("--fee", type=int, default=None,
                     help="fee per relay tx, units, paid in full (default: the destination "
                     "node's estimate for the tx's size)")
    cmd.add_argument("--batch", type=int, default=8,
                     help="packets per relay tx, 1..16 (default 8)")
    cmd.add_argument("--log-level", default="INFO", help="DEBUG | INFO | WARNING | ERROR")
    cmd.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    import asyncio

    from host.chain.relayer.relay import RelayError
    from host.chain.relayer.service import Relayer
    from host.devtools.keyfile import load_key

    level = logging.getLevelName(args.log_level.upper())
    if not isinstance(level, int):
        print(f"qos relay: --log-level {args.log_level!r} is not a log level", file=sys.stderr)
        return 2
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    bad_fee = args.fee is not None and args.fee < 0
    if not args.poll > 0 or bad_fee or not 1 <= args.batch <= MAX_BATCH:
        print(f"qos relay: --poll must be > 0, --fee >= 0, --batch in 1..{MAX_BATCH}",
              file=sys.stderr)
        return 2
    for url in args.a + args.b:
        if not url.startswith(("http://", "https://")):
            print(f"qos relay: {url!r} is not an http(s) URL", file=sys.stderr)
            return 2
    try:
        account = load_key(args.key)
    except ValueError as exc:
        print(f"qos relay: {exc}", file=sys.stderr)
        return 2
    relayer = Relayer(args.a, args.b, account, poll_interval=args.poll, fee=args.fee,
                      batch=args.batch)
    try:
        asyncio.run(_run_until_signal(relayer))
    except RelayError as exc:
        print(f"qos relay: {exc}", file=sys.stderr)
        return 1
    return 0


async def _run_until_signal(relayer: Relayer) -> None:
    import asyncio
    import signal

    from host.chain.relayer.service import log

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await relayer.run(stop)
    log.info("stopped: %s", {k: vars(v) for k, v in relayer.stats.items()})
