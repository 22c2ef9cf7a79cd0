# A flash chip backed by an image file, with the block-device protocol vfs.VfsLfs2 expects
# (readblocks/writeblocks with offsets, ioctl). Every write goes straight to the file, so a
# SIGKILL of the emulator behaves like a power cut: whatever LittleFS committed is on "flash".
import os

BLOCK_SIZE = 4096
BLOCKS = 128  # 512 KiB


class FileFlash:
    def __init__(self, path, block_size=BLOCK_SIZE, blocks=BLOCKS):
        self.path = path
        self.block_size = block_size
        self.blocks = blocks
        self.fresh = False
        try:
            size = os.stat(path)[6]
        except OSError:
            size = 0
        if size == 0:
            self._format_image()
        elif size != block_size * blocks:
            expected = block_size * blocks
            raise OSError("flash image %s has %d bytes, expected %d" % (path, size, expected))
        self.f = open(path, "r+b")

    def _format_image(self):
        blank = b"\xff" * self.block_size
        with open(self.path, "wb") as f:
            for _ in range(self.blocks):
                f.write(blank)
        self.fresh = True

    def readblocks(self, block, buf, offset=0):
        self.f.seek(block * self.block_size + offset)
        self.f.readinto(buf)

    def writeblocks(self, block, buf, offset=None):
        if offset is None:
            offset = 0
        self.f.seek(block * self.block_size + offset)
        self.f.write(buf)
        self.f.flush()

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.blocks
        if op == 5:  # block size
            return self.block_size
        if op == 3:  # sync
            self.f.flush()
            return 0
        if op == 6:  # erase: NOR flash would set the block to 0xFF; LittleFS does not rely on it
            return 0
        return None
