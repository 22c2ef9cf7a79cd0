"""`qos qrng ...`: sample a source, run its health tests, assess a file of samples.

Registered into the `qos` CLI by host/cli.py; heavy imports (numpy, PIL) stay inside the handlers so
that `qos --help` stays fast.
"""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("qrng", help="entropy sources, health tests and assessment")
    sub = group.add_subparsers(dest="qrng_command", required=True, metavar="ACTION")

    sample = sub.add_parser("sample", help="health-tested, conditioned bytes from a source")
    sample.add_argument("--source", default="os", help="os | quantis | serial:DEV | file:PATH")
    sample.add_argument("--bytes", type=int, default=32, dest="nbytes", help="how many bytes")
    sample.add_argument("--raw", action="store_true", help="raw samples, not conditioned")
    sample.add_argument("--out", help="write to this file instead of hex on stdout")
    sample.set_defaults(func=_sample)

    health = sub.add_parser("health", help="start-up health tests (RCT, APT) on a source")
    health.add_argument("--source", default="os", help="os | serial:DEV | quantis | file:PATH")
    health.add_argument("--samples", type=int, default=4096, help="samples to test (>= 1024)")
    health.set_defaults(func=_health)

    assess = sub.add_parser("assess", help="SP 800-90B non-IID min-entropy assessment of a file")
    assess.add_argument("file", help="file of samples, one per byte")
    assess.add_argument("--bits", type=int, default=0, help="bits per sample (default: from data)")
    assess.add_argument("--json", action="store_true", help="print JSON")
    assess.add_argument("--plot", metavar="PNG", help="write histogram + estimates to this PNG")
    assess.set_defaults(func=_assess)


def _sample(args: argparse.Namespace) -> int:
    from qrng.commands import sample

    return sample(args)


def _health(args: argparse.Namespace) -> int:
    from qrng.commands import health

    return health(args)


def _assess(args: argparse.Namespace) -> int:
    from qrng.commands import assess

    return assess(args)
