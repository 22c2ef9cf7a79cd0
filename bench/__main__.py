import importlib
import sys

AREAS = ("crypto", "signer", "qrng", "chain", "app", "codec", "relay", "heap", "pin", "explorer",
         "market")


def main(argv: list[str]) -> int:
    for area in argv or AREAS:
        if area not in AREAS:
            print(f"unknown benchmark area {area!r}; choose from {', '.join(AREAS)}")
            return 2
        print(f"== {area}")
        importlib.import_module(f"bench.{area}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
