# Entry point of the emulator: host/devtools/xip.py maps this build's ROMFS image as flash and
# imports this module. As a board's boot code, it first starts a newer signed release installed in
# the flash's update slots, if there is one (fwupdate/boot.py), then the board glue and the app
# from whichever image won.
import sys


def start_newest_image(argv):
    # Its imports are locals: once it returns, nothing keeps this copy of the boot code alive
    # (as globals here they held 4.8 KiB of a stock board's heap for good).
    from fwupdate import boot

    import buildflags
    from flashdev import SLOTS, FlashImage

    flash_path = argv[argv.index("--flash") + 1] if "--flash" in argv[:-1] else "qos-flash.img"
    boot.start(FlashImage(flash_path), SLOTS, buildflags)


argv = sys.argv[1:]
start_newest_image(argv)
for name in ("buildflags", "flashdev", "fwupdate", "fwupdate.boot"):
    sys.modules.pop(name, None)

import board  # noqa: E402 - from the image boot.start chose
import main  # noqa: E402

main.run(board.Board(argv))
