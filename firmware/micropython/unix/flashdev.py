# The emulator's flash chip: an image file laid out as a board's flash is, a LittleFS part and,
# at a fixed offset after it, the raw secret region (two erase blocks) that the vault overwrites
# in place (storage/secret.py). Both are block devices with the extended protocol vfs.VfsLfs2
# and the vault expect (readblocks/writeblocks with offsets, ioctl with a real erase). Every
# write goes straight to the file, so a SIGKILL of the emulator behaves like a power cut.
#   bytes [0, 512 KiB)           LittleFS, 128 blocks of 4 KiB
#   bytes [512 KiB, 520 KiB)     secret region, 2 blocks of 4 KiB
import os

BLOCK_SIZE = 4096
FS_BLOCKS = 128
REGION_BLOCKS = 2
OLD_SIZE = BLOCK_SIZE * FS_BLOCKS  # images made before the secret region existed


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
        self.blocks = FS_BLOCKS + REGION_BLOCKS
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
            self._format_image()
        elif size != self.block_size * self.blocks:
            raise OSError("flash image %s has %d bytes, expected %d"
                          % (path, size, self.block_size * self.blocks))
        self.f = open(path, "r+b")

    def _format_image(self):
        blank = b"\xff" * self.block_size
        with open(self.path, "wb") as f:
            for _ in range(self.blocks):
                f.write(blank)
        self.fresh = True

    def filesystem(self):
        return Window(self, 0, FS_BLOCKS)

    def secret_region(self):
        return Window(self, FS_BLOCKS, REGION_BLOCKS)

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
