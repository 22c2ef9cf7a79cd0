# The QEMU board's flash chip: a file on the host (qos-flash.img in QEMU's working directory,
# host/devtools/qemu.py) read and written through Arm semihosting, in the emulator's layout
# (flashdev.py), erased (0xFF) where never written. Every write is on the host file when it
# returns, so a kill -9 of QEMU is a power cut. The machine has no memory-mapped flash: a slot's
# firmware runs from a copy in the board's DDR (outside MicroPython's heap), made at boot.
import qosimage

from flashdev import BLOCK_SIZE, SLOT_BLOCKS, SLOTS, SLOTS_START, erased, slot_window

FLASH_FILE = "qos-flash.img"
DDR = 0x60000000  # the AN547's 2 GB DDR; the image runs from its ITCM and SRAM


class HostFlash:
    block_size = BLOCK_SIZE

    def __init__(self):
        self.fd = qosimage.host_open(FLASH_FILE, True)
        have = qosimage.host_size(self.fd) // BLOCK_SIZE
        for block in range(have, SLOTS_START + SLOTS * SLOT_BLOCKS):
            self.erase(block)
        self.fresh = erased(self, 0) and erased(self, 1)
        self.copies = {}

    def readblocks(self, block, buf, offset=0):
        qosimage.host_readinto(self.fd, block * BLOCK_SIZE + offset, buf)

    def writeblocks(self, block, buf, offset=None):
        qosimage.host_write(self.fd, block * BLOCK_SIZE + (offset or 0), buf)

    def erase(self, block):
        page = b"\xff" * 256
        for at in range(0, BLOCK_SIZE, len(page)):
            qosimage.host_write(self.fd, block * BLOCK_SIZE + at, page)
        return 0

    def sync(self):
        return 0  # every write is on the host file already

    def slot(self, n):
        return slot_window(self, n)

    def runs_slots(self):
        return True

    def slot_memory(self, n):
        """Slot ``n`` copied into DDR (once per boot): what the boot step checks and runs."""
        if n not in self.copies:
            import uctypes

            length = SLOT_BLOCKS * BLOCK_SIZE
            memory = uctypes.bytearray_at(DDR + n * length, length)
            self.readblocks(SLOTS_START + n * SLOT_BLOCKS, memory)
            self.copies[n] = memory
        return self.copies[n]
