# Entry point of the emulator: `micropython -X heapsize=192K -m emulator [options]` with the
# compiled tree on MICROPYPATH (host/bridge/emulator.py does this).
import sys

# The curve tables first, before anything else is loaded: their construction leaves garbage
# behind, and freed space low in the heap is then filled by the modules loaded next, rather than
# cutting the free space above them into pieces too small for a long frame.
import apps

apps.prepare_curves()

import board  # noqa: E402
import main  # noqa: E402

main.run(board.Board(sys.argv[1:]))
