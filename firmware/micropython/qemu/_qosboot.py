# The image's one entry (qosimage.c runs it at reset, in place of the REPL): start the app.
# A loader that checks an update before main runs goes here. An exception is reported on QEMU's
# own output (UART0 belongs to the wire); the C side then halts the CPU.
import qosimage

try:
    import board
    import main

    main.run(board.Board())
except BaseException as e:  # noqa: B036 (reported, then the CPU halts)
    import io
    import sys

    text = io.StringIO()
    sys.print_exception(e, text)
    qosimage.console(text.getvalue())
