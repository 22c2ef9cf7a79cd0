"""`qos qrng ...`: sample a source, run its health tests, assess a file of samples.

Heavy imports (numpy, PIL, rich) stay inside the handlers so that `qos --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MAX_SAMPLE_BYTES = 1 << 30


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("qrng", help="entropy sources, health tests and assessment")
    sub = group.add_subparsers(dest="qrng_command", required=True, metavar="ACTION")

    sample = sub.add_parser("sample", help="health-tested, conditioned bytes from a source")
    sample.add_argument("--source", default="os", help="os | quantis | serial:DEV | file:PATH")
    sample.add_argument("--bytes", type=int, default=32, dest="nbytes", help="how many bytes")
    sample.add_argument("--raw", action="store_true", help="raw samples, not conditioned")
    sample.add_argument("--out", help="write to this file instead of hex on stdout")
    sample.set_defaults(func=cmd_sample)

    health = sub.add_parser("health", help="start-up health tests (RCT, APT) on a source")
    health.add_argument("--source", default="os", help="os | serial:DEV | quantis | file:PATH")
    health.add_argument("--samples", type=int, default=4096, help="samples to test (>= 1024)")
    health.add_argument("--json", action="store_true", help="print one JSON object")
    health.set_defaults(func=cmd_health)

    assess = sub.add_parser("assess", help="SP 800-90B non-IID min-entropy assessment of a file")
    assess.add_argument("file", help="file of samples, one per byte")
    assess.add_argument("--bits", type=int, default=0, help="bits per sample (default: from data)")
    assess.add_argument("--json", action="store_true", help="print JSON")
    assess.add_argument("--plot", metavar="PNG", help="write histogram + estimates to this PNG")
    assess.set_defaults(func=cmd_assess)


def _fail(message: str, status: int = 1) -> int:
    """Status 1: the source or data failed; 2: bad input (an argument, a file), nothing read."""
    print(f"error: {message}", file=sys.stderr)
    return status


def cmd_sample(args: argparse.Namespace) -> int:
    from qrng.pipeline import EntropyError, TestedSource
    from qrng.sources import SourceError, open_source

    if not 1 <= args.nbytes <= MAX_SAMPLE_BYTES:
        return _fail(f"--bytes must be 1..{MAX_SAMPLE_BYTES}", 2)
    try:
        source = open_source(args.source)
    except SourceError as e:
        return _fail(str(e))
    try:
        tested = TestedSource(source)
        data = tested.read(args.nbytes).tobytes() if args.raw else tested.conditioned(args.nbytes)
    except (EntropyError, SourceError) as e:
        return _fail(str(e))
    finally:
        source.close()
    if args.out:
        Path(args.out).write_bytes(data)
    else:
        print(data.hex())
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    from qrng.health import STARTUP_SAMPLES
    from qrng.pipeline import EntropyError, TestedSource
    from qrng.sources import SourceError, open_source

    if args.samples < STARTUP_SAMPLES:
        return _fail(f"--samples must be at least {STARTUP_SAMPLES} (the start-up test)", 2)
    try:
        source = open_source(args.source)
    except SourceError as e:
        return _fail(str(e))
    tested = TestedSource(source)
    t = tested.tests
    report = {"source": source.name, "bits": source.bits, "claimed_h": source.h,
              "rct_cutoff": t.rct_c, "apt_cutoff": t.apt_c, "apt_window": t.window}
    if not args.json:
        print(f"source {source.name}: {source.bits}-bit samples, "
              f"claimed H = {source.h} bits/sample")
        print(f"cutoffs (alpha = 2^-30): RCT {t.rct_c}, APT {t.apt_c} in windows of {t.window}")
    failure = None
    try:
        tested.read(args.samples - STARTUP_SAMPLES)
    except (EntropyError, SourceError) as e:
        failure = str(e)
    finally:
        source.close()
    report |= {"samples": t.samples, "passed": failure is None, "failure": failure}
    if args.json:
        print(json.dumps(report, sort_keys=True, default=float))
    elif failure:
        print(f"FAIL after {t.samples} samples: {failure}")
    else:
        print(f"PASS: {t.samples} samples (start-up + continuous tests)")
    return 0 if failure is None else 1


def cmd_assess(args: argparse.Namespace) -> int:
    from qrng._jit import HAVE_NUMBA

    if not HAVE_NUMBA:  # uncompiled, the estimators would take hours
        return _fail("the assessment needs numba: pip install 'qos-signer[assess]'")
    from qrng.assess import AssessmentError
    from qrng.assess import assess as run_assessment

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as e:
        return _fail(f"cannot read {path}: {e.strerror}", 2)
    try:
        if args.json:
            result = run_assessment(data, args.bits or None)
        else:
            result = _assess_with_progress(data, args.bits or None, run_assessment)
    except AssessmentError as e:
        return _fail(str(e))
    if result.samples < 1_000_000:
        print(f"warning: {result.samples} samples; SP 800-90B asks for 1,000,000", file=sys.stderr)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, default=float))
    else:
        _print_assessment(result)
    if args.plot:
        from qrng.plot import plot_assessment

        plot_assessment(data, result, Path(args.plot))
        if not args.json:
            print(f"plot written to {args.plot}")
    return 0


def _assess_with_progress(data: bytes, bits: int | None, run):
    """A bar over the estimators with the elapsed time and a remaining-time estimate (from the
    steps done so far: the later estimators take longer, so it errs low)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from qrng.assess import AssessmentError, progress_steps

    try:
        total = progress_steps(data, bits)
    except AssessmentError:
        total = None  # `run` says what is wrong with the data
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("loading samples", total=total)
        started = [False]

        def step(name: str, label: str) -> None:
            bar.update(task, description=f"{label} {name}", advance=1 if started[0] else 0)
            started[0] = True

        return run(data, bits, step)


def _print_assessment(result) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"SP 800-90B non-IID assessment: {result.samples} samples")
    for column in ("estimator", "data", "min-entropy"):
        table.add_column(column)
    for e in result.estimates:
        value = "n/a" if e.min_entropy is None else f"{e.min_entropy:.6f}"
        table.add_row(e.name, e.label, value)
    console = Console()
    console.print(table)
    console.print(f"H_original: {result.h_original:.6f} (of {result.bits} bits)")
    if result.h_bitstring is not None:
        console.print(f"H_bitstring: {result.h_bitstring:.6f} per bit")
    console.print(f"Assessed min-entropy: {result.min_entropy:.6f} bits per sample")
