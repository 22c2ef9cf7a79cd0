# Entry point of the emulator: `micropython -X heapsize=192K -m emulator [options]` with the
# compiled tree on MICROPYPATH (host/devtools/emulator.py does this).
import sys

import board
import main

main.run(board.Board(sys.argv[1:]))
