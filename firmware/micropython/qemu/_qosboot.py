# The image's one entry (qosimage.c runs it at reset, in place of the REPL): the boot step starts
# a newer signed release installed in an update slot, if there is one (fwupdate/boot.py), then
# the board glue and the app from whichever image won. An exception is reported on QEMU's own
# output (UART0 belongs to the wire); the C side then halts the CPU.
import sys

import qosimage

try:
    from fwupdate import boot
    from hostflash import HostFlash

    import buildflags
    from flashdev import SLOTS

    boot.start(HostFlash(), SLOTS, buildflags)
    for name in ("buildflags", "flashdev", "fwupdate", "fwupdate.boot", "hostflash"):
        sys.modules.pop(name, None)
    import board
    import main

    main.run(board.Board())
except BaseException as e:  # noqa: B036 (reported, then the CPU halts)
    import io

    text = io.StringIO()
    sys.print_exception(e, text)
    qosimage.console(text.getvalue())
