# The RP2350 image's flash (XIP, mapped at 0x10000000 for reading), as image/mpconfigboard.h lays
# it out on the Pico 2's 4 MiB (tests/boards checks the built image against layout()):
#   [0, 1 MiB)                    the MicroPython image with the frozen firmware
#   [1 MiB, 1 MiB + 768 KiB)      the port's ROMFS partition: update slots 0 and 1 (384 KiB each)
#   [1 MiB + 768 KiB, end - 8K)   LittleFS (MicroPython's storage area, rp2.Flash(), short of:)
#   [end - 8 KiB, end)            the vault's secret region (board.py)
# The port places its ROMFS partition right below its storage area, and only with that partition
# does it have vfs.VfsRom: so the slots sit between the code and the filesystem, and an installed
# release is mounted in place from them as a ROMFS image, the way the port mounts that partition.
# A slot is the format of fwupdate/slots.py: a header block, then the release's ROMFS image.
XIP_BASE = 0x10000000
BLOCK = 4096
PAGE = 256  # the flash programs whole 256-byte pages
CODE_BYTES = 1024 * 1024
SLOT_BLOCKS = 96
SLOTS = 2
SECRET_BLOCKS = 2
ROMFS_BYTES = SLOTS * SLOT_BLOCKS * BLOCK


def layout(flash_bytes):
    """{part: (start, length)} as offsets into a flash of ``flash_bytes``."""
    storage = flash_bytes - CODE_BYTES - ROMFS_BYTES
    secret = SECRET_BLOCKS * BLOCK
    if flash_bytes % BLOCK or storage < secret + 2 * BLOCK:
        raise ValueError("no room for the filesystem in %d bytes of flash" % flash_bytes)
    parts = {"code": (0, CODE_BYTES)}
    for n in range(SLOTS):
        parts["slot%d" % n] = (CODE_BYTES + n * SLOT_BLOCKS * BLOCK, SLOT_BLOCKS * BLOCK)
    parts["filesystem"] = (CODE_BYTES + ROMFS_BYTES, storage - secret)
    parts["secret"] = (flash_bytes - secret, secret)
    return parts


def page_span(offset, data):
    """(start, buffer): ``data`` at byte ``offset`` widened to whole pages with 0xFF around it.
    Programming 0xFF changes no bit of NOR flash, so bytes already written around it are kept."""
    start = offset - offset % PAGE
    end = -(-(offset + len(data)) // PAGE) * PAGE
    if start == offset and end == offset + len(data):
        return start, data
    buf = bytearray(b"\xff" * (end - start))
    buf[offset - start:offset - start + len(data)] = data
    return start, buf


class SlotFlash:
    """The ROMFS partition (an rp2.Flash object over it) as the two update slots' flash device:
    the interface fwupdate/boot.py and apps/update.py use (flashdev.py's, for the emulator)."""

    block_size = BLOCK

    def __init__(self, partition):
        self.partition = partition

    def readblocks(self, block, buf, offset=0):
        self.partition.readblocks(block, buf, offset)

    def writeblocks(self, block, buf, offset=None):
        # Programs only (the caller erased): with an offset, rp2.Flash does not erase first.
        start, data = page_span(block * BLOCK + (offset or 0), buf)
        self.partition.writeblocks(start // BLOCK, data, start % BLOCK)

    def erase(self, block):
        return self.partition.ioctl(6, block)

    def sync(self):
        return 0

    def slot(self, n):
        from flashdev import Window

        return Window(self, n * SLOT_BLOCKS, SLOT_BLOCKS)

    def runs_slots(self):
        return True

    def slot_memory(self, n):
        """Slot ``n`` in place: the partition's XIP-mapped flash (rp2.Flash's buffer)."""
        length = SLOT_BLOCKS * BLOCK
        return memoryview(self.partition)[n * length:(n + 1) * length]


def slot_flash():
    """The slots of this image, or None where the port has no ROMFS partition where layout()
    puts it (a stock MicroPython, the glue tests under the unix port): no update can run there."""
    try:
        import vfs

        import uctypes

        partition = vfs.rom_ioctl(2, 0)
        found = uctypes.addressof(partition), len(memoryview(partition))
    except (AttributeError, ImportError, OSError, TypeError, ValueError):
        return None
    if found != (XIP_BASE + CODE_BYTES, ROMFS_BYTES):
        return None
    return SlotFlash(partition)
