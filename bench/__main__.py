import argparse
import importlib
import os
import sys

AREAS = ("crypto", "signer", "qrng", "chain", "app", "codec", "relay", "heap", "pin", "explorer",
         "market")
# Areas that also measure on a board image (their main takes the board); the QEMU board's signer
# figures are part of the signer area itself.
BOARD_AREAS = ("heap",)
BOARDS = ("unix", "qemu")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("areas", nargs="*", metavar="AREA", help=", ".join(AREAS))
    parser.add_argument("--board", choices=BOARDS, default="unix",
                        help=f"also measure on this board image ({', '.join(BOARD_AREAS)} only)")
    args = parser.parse_args(argv)
    for area in args.areas or AREAS:
        if area not in AREAS:
            print(f"unknown benchmark area {area!r}; choose from {', '.join(AREAS)}")
            return 2
        if args.board != "unix" and area not in BOARD_AREAS:
            print(f"--board {args.board}: only {', '.join(BOARD_AREAS)} measure on a board")
            return 2
    if "app" in args.areas and not os.environ.get("QOSD_PURE_PYTHON"):
        from host.chain import native

        native.enable()  # first: `bench app` measures the validator qosd runs (bench/app.py)
    for area in args.areas or AREAS:
        print(f"== {area}")
        module = importlib.import_module(f"bench.{area}")
        if area in BOARD_AREAS:
            module.main(board=args.board)
        else:
            module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
