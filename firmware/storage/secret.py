# The crypto-erase secret: 32 random bytes kept in the board's raw secret region, outside the
# filesystem, where a write replaces the old bytes in place (NOR flash: erase, then program; the
# emulator: the same offset of its image file). Every key that opens the wallet needs it, so
# destroying it makes every copy LittleFS left behind in free blocks worthless.
#
# The region is a block device with the extended protocol (readblocks, ioctl(6, n) to erase a
# block, writeblocks(n, buf, offset) to program without erasing), as rp2.Flash, esp32.Partition
# and the emulator's image give, of at least two erase blocks, one cell each. A new secret goes to
# the cell the current one is not in, with a generation one higher; the vault record names the
# generation it needs, and the other cell is erased once the record naming the new one is on
# flash. A power cut therefore always leaves the cell the current record needs intact.
#   cell = MAGIC(4) | generation u32 | secret(32) | CRC-32 of the above; the rest of the block 0xFF
import struct
from binascii import crc32

MAGIC = b"QSC1"
SIZE = 32
CELL = 4 + 4 + SIZE + 4
CELLS = 2
PROGRAM = 256  # bytes programmed per cell: one NOR flash page, the unit boards program in


class RegionError(Exception):
    pass


def parse(raw):
    """(generation, secret) of a well-formed cell, else None (blank, torn or foreign bytes)."""
    if len(raw) < CELL or raw[:4] != MAGIC:
        return None
    if crc32(raw[:CELL - 4]) & 0xFFFFFFFF != struct.unpack(">I", raw[CELL - 4:CELL])[0]:
        return None
    return struct.unpack(">I", raw[4:8])[0], bytes(raw[8:8 + SIZE])


def carve(image):
    """Every well-formed cell anywhere in a flash image: the attacker's view (tests use it)."""
    found = []
    at = image.find(MAGIC)
    while at >= 0:
        cell = parse(image[at:at + CELL])
        if cell is not None and cell[1] not in found:
            found.append(cell[1])
        at = image.find(MAGIC, at + 1)
    return found


class SecretCells:
    def __init__(self, dev):
        self.dev = dev
        self.block_size = dev.ioctl(5, 0)
        if dev.ioctl(4, 0) < CELLS or self.block_size < PROGRAM:
            raise RegionError("needs %d blocks of at least %d bytes" % (CELLS, PROGRAM))

    def _read(self, cell):
        buf = bytearray(CELL)
        self.dev.readblocks(cell, buf)
        return buf

    def cells(self):
        """[(cell, generation, secret)] of the live cells."""
        out = []
        for cell in range(CELLS):
            parsed = parse(self._read(cell))
            if parsed is not None:
                out.append((cell, parsed[0], parsed[1]))
        return out

    def get(self, generation):
        for _, gen, secret in self.cells():
            if gen == generation:
                return secret
        return None

    def put(self, secret, keep=None):
        """Writes a new secret into a cell that does not hold generation ``keep`` (the one the
        current record needs) and returns its generation."""
        live = self.cells()
        gen = 1 + max([g for _, g, _ in live] + [0])
        cell = 0
        for c, g, _ in live:
            if g == keep:
                cell = 1 - c
        body = MAGIC + struct.pack(">I", gen & 0xFFFFFFFF) + secret
        body += struct.pack(">I", crc32(body) & 0xFFFFFFFF)
        self._write(cell, body)
        return gen

    def keep_only(self, generation):
        """Erases every cell that does not hold ``generation`` (None: every cell)."""
        for cell in range(CELLS):
            raw = self._read(cell)
            parsed = parse(raw)
            if parsed is not None and parsed[0] == generation:
                continue
            if raw != b"\xff" * CELL:  # a torn write counts too: erase whatever is there
                self._write(cell, b"")

    def _write(self, cell, body):
        # Erase the block (the previous contents are gone from the chip), then program one page.
        self.dev.ioctl(6, cell)
        if body:
            page = bytearray(b"\xff" * PROGRAM)
            page[:len(body)] = body
            self.dev.writeblocks(cell, page, 0)
