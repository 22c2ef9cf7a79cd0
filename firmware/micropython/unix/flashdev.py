# The emulator's flash chip: an image file laid out as a board's flash is, a LittleFS part, at a
# fixed offset after it the raw secret region (two erase blocks) that the vault overwrites in
# place (storage/secret.py), then the two firmware update slots (fwupdate/slots.py). All are
# block devices with the extended protocol vfs.VfsLfs2 and the vault expect (readblocks/
# writeblocks with offsets, ioctl with a real erase). Every write goes straight to the file, so a
# SIGKILL of the emulator behaves like a power cut. The file is also mapped into memory
# (host/devtools/xip.py), so an installed firmware runs in place, as from a board's XIP flash.
#   bytes [0, 512 KiB)           LittleFS, 128 blocks of 4 KiB
#   bytes [512 KiB, 520 KiB)     secret region, 2 blocks of 4 KiB
#   bytes [520 KiB, 1288 KiB)    update slots 0 and 1, 96 blocks each
import os

BLOCK_SIZE = 4096
FS_BLOCKS = 128
REGION_BLOCKS = 2
SLOTS_START = FS_BLOCKS + REGION_BLOCKS
SLOT_BLOCKS = 96
SLOTS = 2
OLD_SIZE = BLOCK_SIZE * FS_BLOCKS  # images made before the secret region existed
PRE_SLOTS_SIZE = BLOCK_SIZE * SLOTS_START  # images made before the update slots: they grow


def erased(dev, block):
    """True if the first bytes of ``block`` were never written (a LittleFS superblock that is
    not there yet: the filesystem is new)."""
    head = bytearray(16)
    dev.readblocks(block, head)
    return head == b"\xff" * 16


def slot_window(dev, n):
    return Window(dev, SLOTS_START + n * SLOT_BLOCKS, SLOT_BLOCKS)


class Window:
    """Blocks [start, start + count) of a block device, as a block device of their own."""

    def __init__(self, dev, start, count):
        self.dev = dev
        self.start = start
        self.count = count

    def readblocks(self, block, buf, offset=0):
        self._check(block, len(buf), offset)
        self.dev.readblocks(self.start + block, buf, offset)

    def writeblocks(self, block, buf, offset=None):
        self._check(block, len(buf), offset or 0)
        self.dev.writeblocks(self.start + block, buf, offset)

    def _check(self, block, n, offset):
        end = block * self.dev.block_size + offset + n
        if block < 0 or end > self.count * self.dev.block_size:
            raise OSError("block %d outside this part of the flash" % block)

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.count
        if op == 5:  # block size
            return self.dev.block_size
        if op == 3:  # sync
            return self.dev.sync()
        if op == 6:  # erase a block: every byte 0xFF, as NOR flash does
            self._check(arg, self.dev.block_size, 0)
            return self.dev.erase(self.start + arg)
        return None


class FlashImage:
    def __init__(self, path):
        self.path = path
        self.block_size = BLOCK_SIZE
        self.blocks = SLOTS_START + SLOTS * SLOT_BLOCKS
        self.fresh = False
        try:
            size = os.stat(path)[6]
        except OSError:
            size = 0
        if size == OLD_SIZE:
            raise OSError(
                "flash image %s predates the secret region (512 KiB, no raw region): its wallet "
                "cannot be carried over; move it away and restore the wallet from its words" % path
            )
        if size == 0:
            self._format_image(0)
        elif size == PRE_SLOTS_SIZE:
            self._format_image(SLOTS_START)
        elif size != self.block_size * self.blocks:
            raise OSError("flash image %s has %d bytes, expected %d"
                          % (path, size, self.block_size * self.blocks))
        self.f = open(path, "r+b")
        # New when neither LittleFS superblock was ever written: the boot step opens the image
        # before the board does, so its size alone cannot tell.
        self.fresh = erased(self, 0) and erased(self, 1)

    def _format_image(self, start):
        # Erased blocks from ``start`` to the end; from 0 the filesystem is new as well.
        blank = b"\xff" * self.block_size
        with open(self.path, "ab" if start else "wb") as f:
            for _ in range(start, self.blocks):
                f.write(blank)

    def filesystem(self):
        return Window(self, 0, FS_BLOCKS)

    def secret_region(self):
        return Window(self, FS_BLOCKS, REGION_BLOCKS)

    def slot(self, n):
        return slot_window(self, n)

    def runs_slots(self):
        # Under host/devtools/xip.py, which maps this file at every boot (a .mpy tree in a
        # directory runs without it, as a stock board does, and could not run a slot).
        return bool(os.getenv("QOS_XIP_ROM"))

    def slot_memory(self, n):
        """Slot ``n`` as memory (a bytearray over the mapped file), or None where the flash is
        not mapped (the emulator running a .mpy tree) or the mapping predates the slots."""
        mapped = os.getenv("QOS_XIP_FLASH")
        if not mapped:
            return None
        address, size = [int(x) for x in mapped.split()]
        start = (SLOTS_START + n * SLOT_BLOCKS) * self.block_size
        length = SLOT_BLOCKS * self.block_size
        if start + length > size:
            return None
        import uctypes

        return uctypes.bytearray_at(address + start, length)

    def readblocks(self, block, buf, offset=0):
        self.f.seek(block * self.block_size + offset)
        self.f.readinto(buf)

    def writeblocks(self, block, buf, offset=None):
        self.f.seek(block * self.block_size + (offset or 0))
        self.f.write(buf)
        self.f.flush()

    def erase(self, block):
        # In place, one page at a time (no block-sized buffer on the 192 KB heap).
        page = b"\xff" * 256
        self.f.seek(block * self.block_size)
        for _ in range(self.block_size // len(page)):
            self.f.write(page)
        self.f.flush()
        return 0

    def sync(self):
        self.f.flush()
        return 0
