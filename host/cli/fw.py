"""`qos fw build|flash|keygen|seal|release-key|release|sign`: build the firmware tree (or a board
image) for a board, copy a build to a board, sign an RP2350 image for the chip's secure boot, make
and sign firmware releases for `qos device update` (docs/update.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from host.cli.console import emit
from host.devtools.firmware import BOARDS

if TYPE_CHECKING:
    from host.devtools.firmware import UpdateKeys


def register(commands: argparse._SubParsersAction) -> None:
    fw = commands.add_parser("fw", help="build the firmware or flash it to a board")
    sub = fw.add_subparsers(dest="fw_command", required=True, metavar="COMMAND")
    b = sub.add_parser("build", help="compile the firmware tree (or a board image) for a board")
    b.add_argument("--board", choices=sorted(BOARDS), default="esp32s3")
    kind = b.add_mutually_exclusive_group()
    kind.add_argument(
        "--production", action="store_true", help="no debug link (the default; kept for scripts)"
    )
    kind.add_argument("--debug", action="store_true", help="a debug build, with the debug link")
    b.add_argument(
        "--image",
        action="store_true",
        help="a whole MicroPython image with the firmware frozen, from the pinned sources "
        "(qemu, rp2350, rp2040)",
    )
    b.add_argument("-o", "--out", type=Path, help="output directory (a tree: required)")
    _update_keys_arg(b, required=False)
    b.set_defaults(func=run_build)
    f = sub.add_parser("flash", help="copy a build to a board with mpremote")
    f.add_argument("tree", type=Path, help="a directory made by `qos fw build`")
    f.add_argument("--port", default="auto", help="serial port of the board (mpremote connect)")
    f.set_defaults(func=run_flash)
    k = sub.add_parser("keygen", help="make a secp256k1 key for `qos fw seal` (RP2350 secure boot)")
    k.add_argument("key", type=Path, help="PEM file to create (never overwritten)")
    k.set_defaults(func=run_keygen)
    s = sub.add_parser("seal", help="sign an RP2350 image for the chip's secure boot (picotool)")
    s.add_argument("image", type=Path, help="firmware.uf2 (or .elf/.bin) of `build --image`")
    s.add_argument("-o", "--out", type=Path, required=True, help="the sealed image to write")
    s.add_argument("--key", type=Path, required=True, help="PEM key of `qos fw keygen`")
    s.add_argument("--otp", type=Path, help="also write the OTP settings enabling secure boot")
    s.add_argument("--rollback", type=int, help="anti-rollback version of this image")
    s.set_defaults(func=run_seal)
    rk = sub.add_parser("release-key", help="make an ed25519 vendor key that signs releases")
    rk.add_argument("key", type=Path, help="file to create (never overwritten)")
    rk.set_defaults(func=run_release_key)
    r = sub.add_parser("release", help="make an (unsigned) firmware release bundle")
    r.add_argument("--board", choices=sorted(BOARDS), required=True)
    r.add_argument("--version", required=True, help="its version, newer than what devices run")
    r.add_argument("--debug", action="store_true", help="a debug release (debug devices only)")
    r.add_argument("-o", "--out", type=Path, required=True, help="the bundle file to write")
    _update_keys_arg(r, required=True)
    r.set_defaults(func=run_release)
    sg = sub.add_parser("sign", help="add one vendor key's signature to a release bundle")
    sg.add_argument("bundle", type=Path, help="a bundle of `qos fw release` (signed in place)")
    sg.add_argument("--key", type=Path, required=True, help="a key of `qos fw release-key`")
    sg.set_defaults(func=run_sign)
    for command in sub.choices.values():
        command.add_argument("--json", action="store_true", help="print one JSON object")


def _update_keys_arg(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "--update-keys",
        type=Path,
        required=required,
        metavar="JSON",
        help='vendor keys the firmware accepts releases from: {"threshold": M, "keys": [hex]} '
        "(without them a build installs no update)",
    )


def _load_update_keys(path: Path | None) -> UpdateKeys | None:
    from host.devtools.firmware import UpdateKeys

    return None if path is None else UpdateKeys.from_json(path.read_text())


def run_build(args: argparse.Namespace) -> int:
    from host.devtools.firmware import BuildError, BuildSpec, build

    production = not args.debug
    if args.image:
        try:
            keys = _load_update_keys(args.update_keys)
        except BuildError as exc:
            print(f"qos fw build: {exc}", file=sys.stderr)
            return 1
        return run_image(args, production, keys)
    if args.out is None:
        print("qos fw build: -o/--out is required for a firmware tree", file=sys.stderr)
        return 2
    try:
        keys = _load_update_keys(args.update_keys)
        out = build(args.out, BuildSpec(args.board, production, update_keys=keys))
    except BuildError as exc:
        print(f"qos fw build: {exc}", file=sys.stderr)
        return 1
    count = sum(1 for p in out.rglob("*") if p.is_file())
    kind = "production" if production else "debug"
    return emit(args, {"out": str(out), "board": args.board, "kind": kind, "files": count},
                lambda: print(f"built {kind} firmware for {args.board}: {count} files in {out}"))


# --image: board -> (builder module, builder, the file a user flashes, what it is)
IMAGES = {
    "qemu": ("qemu", "build_qemu_image", "firmware.elf", "QEMU board image"),
    "rp2350": ("rp2350", "build_rp2350_image", "firmware.uf2", "RP2350 UF2 image"),
    "rp2040": ("rp2350", "build_rp2040_image", "firmware.uf2", "RP2040 UF2 image"),
}


def run_image(args: argparse.Namespace, production: bool, keys: UpdateKeys | None) -> int:
    import importlib
    import shutil

    from host.devtools.qemu import ImageError

    board, out = args.board, args.out
    if board not in IMAGES:
        boards = " or ".join(f"--board {name}" for name in IMAGES)
        print(f"qos fw build: --image is built for {boards} (not {board})", file=sys.stderr)
        return 2
    module_name, builder, filename, what = IMAGES[board]
    module = importlib.import_module(f"host.devtools.{module_name}")
    try:
        image = getattr(module, builder)(production, keys)
    except ImageError as exc:
        print(f"qos fw build: {exc}", file=sys.stderr)
        return 1
    target = image / filename
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        target = Path(shutil.copy2(target, out / filename))
        shutil.copy2(image / "IMAGE", out / "IMAGE")
    kind = "production" if production else "debug"
    return emit(args, {"image": str(target), "board": board, "kind": kind},
                lambda: print(f"built {kind} {what}: {target}"))


def run_flash(args: argparse.Namespace) -> int:
    import subprocess
    import tempfile

    from host.devtools import deploy

    tree: Path = args.tree
    if not (tree / "BUILD").exists():
        print(f"qos fw flash: {tree} is not a build (run `qos fw build` first)", file=sys.stderr)
        return 2
    if "board=unix" in (tree / "BUILD").read_text():
        print("qos fw flash: this is an emulator build; build for a board", file=sys.stderr)
        return 2
    probe = subprocess.run(deploy.probe_command(args.port), capture_output=True, text=True)
    answer = probe.stdout.strip().splitlines()[-1:] if probe.returncode == 0 else []
    if not answer or not answer[0].lstrip("-").isdigit():
        print(f"qos fw flash: cannot read the board's MicroPython: {probe.stderr}", file=sys.stderr)
        return 1
    try:
        board = deploy.MpyFormat.of_board(int(answer[0]))
        files = deploy.plan(tree, board)
    except deploy.DeployError as exc:
        print(f"qos fw flash: {exc}", file=sys.stderr)
        return 1
    sources = [rel for src, rel in files if not src.is_relative_to(tree)]
    print(f"board reads .mpy {board}; {len(files)} files ({len(sources)} as source)", flush=True,
          file=sys.stderr if args.json else sys.stdout)
    with tempfile.TemporaryDirectory(prefix="qos-flash-") as folder:
        staged = deploy.stage(files, Path(folder))
        proc = subprocess.run(deploy.copy_command(staged, args.port), cwd=staged)
    if proc.returncode != 0:
        return 1
    return emit(args, {"flashed": len(files)}, lambda: print("flashed; the board restarted"))


def run_keygen(args: argparse.Namespace) -> int:
    from host.devtools.secureboot import keygen

    try:
        keygen(args.key)
    except FileExistsError:
        print(f"qos fw keygen: {args.key} exists; not overwriting a key", file=sys.stderr)
        return 2
    return emit(args, {"key": str(args.key)}, lambda: print(
        f"wrote {args.key} (secp256k1, PEM): keep it secret, it signs what your boards run"))


def run_seal(args: argparse.Namespace) -> int:
    from host.devtools.qemu import ImageError
    from host.devtools.secureboot import seal

    for path in (args.image, args.key):
        if not path.is_file():
            print(f"qos fw seal: {path} does not exist", file=sys.stderr)
            return 2
    try:
        seal(args.image, args.out, args.key, args.otp, args.rollback)
    except ImageError as exc:
        print(f"qos fw seal: {exc}", file=sys.stderr)
        return 1
    otp = str(args.otp) if args.otp else None
    return emit(args, {"sealed": str(args.out), "otp": otp}, lambda: print(
        f"sealed {args.out}" + (f"; OTP settings in {args.otp}" if args.otp else "")))


def run_release_key(args: argparse.Namespace) -> int:
    from host.devtools.release import new_signing_key

    try:
        pub = new_signing_key(args.key)
    except FileExistsError:
        print(f"qos fw release-key: {args.key} exists; not overwriting a key", file=sys.stderr)
        return 2
    def human() -> None:
        print(f"wrote {args.key} (ed25519): keep it offline; its public key for --update-keys:")
        print(pub.hex())

    return emit(args, {"key": str(args.key), "pubkey": pub.hex()}, human)


def run_release(args: argparse.Namespace) -> int:
    from host.devtools.firmware import BuildError
    from host.devtools.release import make_release

    try:
        keys = _load_update_keys(args.update_keys)
        assert keys is not None
        bundle = make_release(args.board, args.version, keys, production=not args.debug)
    except (OSError, BuildError) as exc:
        print(f"qos fw release: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, BuildError) else 2
    args.out.write_bytes(bundle.encode())
    digest = bundle.fields["sha512"].hex()

    def human() -> None:
        print(f"wrote {args.out}: {args.board} {args.version}, {len(bundle.image):,} bytes")
        print(f"SHA-512 {digest}\nunsigned: each vendor key holder runs `qos fw sign`")

    return emit(args, {"out": str(args.out), "board": args.board, "version": args.version,
                       "bytes": len(bundle.image), "sha512": digest}, human)


def run_sign(args: argparse.Namespace) -> int:
    from host.devtools.release import Bundle, ReleaseError, load_signing_key

    try:
        bundle = Bundle.decode(args.bundle.read_bytes())
        bundle.sign(load_signing_key(args.key))
    except (OSError, ReleaseError) as exc:
        print(f"qos fw sign: {exc}", file=sys.stderr)
        return 2
    args.bundle.write_bytes(bundle.encode())
    fields = bundle.fields
    return emit(args, {"board": fields["board"], "version": fields["version"],
                       "signatures": len(bundle.signatures)}, lambda: print(
        f"signed {fields['board']} {fields['version']}: {len(bundle.signatures)} signature(s)"))
