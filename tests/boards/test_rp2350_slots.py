"""The RP2350 image's update slots (firmware/micropython/rp2350/flashlayout.py): the flash layout's
arithmetic, and the slot device writing the fwupdate/slots.py format through a simulated rp2.Flash
that programs as NOR flash does (only 1 -> 0 bits, whole 256-byte pages only), under the real
MicroPython unix port. The built image's own layout is checked in test_rp2350_image.py."""

from __future__ import annotations

import json

import pytest

from host.devtools import micropython, rp2350

RP2350 = micropython.FIRMWARE_DIR / "micropython" / "rp2350"
PICO2_FLASH = 4 * 1024 * 1024


def test_the_parts_tile_the_pico2_flash_in_order_without_overlap():
    fl = rp2350.flashlayout()
    parts = fl.layout(PICO2_FLASH)
    order = ["code", "slot0", "slot1", "filesystem", "secret"]
    assert list(parts) == order
    at = 0
    for name in order:  # each part starts where the one before ends; together the whole flash
        start, length = parts[name]
        assert start == at and length > 0 and start % fl.BLOCK == 0 and length % fl.BLOCK == 0
        at = start + length
    assert at == PICO2_FLASH
    assert parts["slot0"] == (0x100000, 384 * 1024) and parts["slot1"] == (0x160000, 384 * 1024)
    assert parts["filesystem"] == (0x1C0000, PICO2_FLASH - 0x1C0000 - 8192)
    assert parts["secret"] == (0x3FE000, 8192)  # where it was before the slots: wallets keep it
    assert fl.ROMFS_BYTES == parts["slot1"][0] + parts["slot1"][1] - parts["slot0"][0]


def test_a_flash_too_small_for_a_filesystem_is_refused():
    fl = rp2350.flashlayout()
    smallest = fl.CODE_BYTES + fl.ROMFS_BYTES + (fl.SECRET_BLOCKS + 2) * fl.BLOCK
    assert fl.layout(smallest)["filesystem"][1] == 2 * fl.BLOCK
    for size in (smallest - fl.BLOCK, fl.CODE_BYTES, smallest + 1):
        with pytest.raises(ValueError):
            fl.layout(size)


@pytest.mark.parametrize(
    ("offset", "size", "start", "length"),
    [(0, 256, 0, 256), (4096, 4096, 4096, 4096), (14, 30, 0, 256), (250, 10, 0, 512),
     (4096 + 256, 1, 4096 + 256, 256), (511, 257, 256, 512), (511, 258, 256, 768)],
)
def test_page_span_widens_a_write_to_whole_pages_of_0xff_around_the_data(offset, size, start,
                                                                          length):
    fl = rp2350.flashlayout()
    data = bytes(range(1, size + 1)) if size < 256 else bytes([7]) * size
    got_start, buf = fl.page_span(offset, data)
    assert (got_start, len(buf)) == (start, length)
    at = offset - start
    assert bytes(buf[at:at + size]) == data
    assert set(bytes(buf[:at]) + bytes(buf[at + size:])) <= {0xFF}


# rp2.Flash as the port has it: writeblocks(block, buf) erases then programs, with an offset it
# only programs; programming clears bits (AND) and, like the flash chip's page program, takes
# whole 256-byte pages only; the buffer protocol is the mapped flash.
FAKE_PARTITION = r"""
BS = 4096
class Partition:
    def __init__(self, blocks):
        self.mem = bytearray(b"\xff" * (blocks * BS))
        self.programs = 0
    def readblocks(self, block, buf, offset=0):
        at = block * BS + offset
        buf[:] = self.mem[at:at + len(buf)]
    def writeblocks(self, block, buf, offset=None):
        at = block * BS + (offset or 0)
        if offset is None:
            self.mem[at:at + len(buf)] = b"\xff" * len(buf)
        if at % 256 or len(buf) % 256:
            raise OSError("unaligned page program at %d, %d bytes" % (at, len(buf)))
        for i in range(len(buf)):
            self.mem[at + i] &= buf[i]
        self.programs += 1
    def ioctl(self, op, arg):
        if op == 6:
            self.mem[arg * BS:(arg + 1) * BS] = b"\xff" * BS
            return 0
    def __len__(self):
        return len(self.mem)
"""

SLOT_SCRIPT = FAKE_PARTITION + r"""
import json, sys
import flashlayout
from fwupdate import slots
from crypto.sha512 import sha512

part = Partition(flashlayout.SLOTS * flashlayout.SLOT_BLOCKS)
flash = flashlayout.SlotFlash(part)
image = bytes((i * 7 + 3) % 251 for i in range(10000))  # not a multiple of a page
manifest = b"manifest bytes"
out = {"before": slots.headers(flash, 2) == [None, None]}
target, seq = slots.install_target(slots.headers(flash, 2))
window = flash.slot(target)
slots.clear(window, len(image))
for at in range(0, len(image), 4096):
    slots.write_image(window, at, image[at:at + 4096])
out["hash_ok"] = slots.image_sha512(window, len(image)) == sha512(image)
slots.write_header(window, seq, manifest, [[b"k" * 32, b"s" * 64]])
out["target"] = target
out["header"] = [[h[0], h[1].decode()] if h else None for h in slots.headers(flash, 2)]
size = flashlayout.SLOT_BLOCKS * 4096
start = target * size
out["in_place"] = bytes(part.mem[start + 4096:start + 4096 + len(image)]) == image
out["other_slot_blank"] = part.mem[(1 - target) * size:(2 - target) * size] == b"\xff" * size
out["capacity"] = slots.capacity(window)
# the same bytes through the device without page_span: the partition refuses a partial page
try:
    part.writeblocks(0, b"x" * 10, 0)
    out["unaligned"] = "accepted"
except OSError:
    out["unaligned"] = "refused"
print(json.dumps(out), file=sys.stderr)
"""


def test_slot_flash_installs_a_release_in_the_slots_format_on_nor_flash(tmp_path):
    import subprocess

    proc = subprocess.run(
        [micropython.executable(), "-X", "heapsize=4M", "-c", SLOT_SCRIPT],
        capture_output=True,
        timeout=120,
        env=micropython.environment([RP2350, micropython.FIRMWARE_DIR / "micropython" / "unix"]),
        cwd=micropython.FIRMWARE_DIR,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    out = json.loads(proc.stderr.decode().strip().splitlines()[-1])
    assert out["before"] is True
    assert out["hash_ok"] is True and out["in_place"] is True and out["other_slot_blank"] is True
    found = [None, None]
    found[out["target"]] = [0, "manifest bytes"]  # the first install: sequence 0
    assert out["header"] == found
    assert out["capacity"] == 95 * 4096
    assert out["unaligned"] == "refused"


# The image's _boot.py writes the frozen word list out after the boot step: what stays on sys.path
# decides where every later import comes from. The filesystem ("", "/lib") must go (a .mpy file
# written there must never run); a release the boot step mounted must stay first, or main.py
# would not see it and the app would import half from the release and half from the image.
WORDLIST_SCRIPT = r"""
import json, os, sys
import _wordlist, fwupdate.boot, wordlist
root = sys.argv[1]
out = {}
for before in (["/fw", "", "/lib", ".frozen"], ["", ".frozen", "/lib", "/fw/lib"]):
    sys.path[:] = before
    wordlist.install(root)
    out[" ".join(before)] = list(sys.path)
with open(root + "/crypto/bip39_english.txt", "rb") as f:
    out["words"] = f.read().decode()
print(json.dumps(out))
"""


def test_the_word_list_install_keeps_a_mounted_release_and_drops_the_filesystem(tmp_path):
    import subprocess

    (tmp_path / "frozen").mkdir()
    (tmp_path / "frozen" / "_wordlist.py").write_text("WORDS = b'abandon ability'\n")
    (tmp_path / "root").mkdir()
    script = tmp_path / "script.py"
    script.write_text(WORDLIST_SCRIPT)
    drivers = micropython.FIRMWARE_DIR / "micropython" / "drivers"
    proc = subprocess.run(
        [micropython.executable(), str(script), str(tmp_path / "root")],
        capture_output=True,
        timeout=120,
        env=micropython.environment([tmp_path / "frozen", drivers]),
        cwd=micropython.FIRMWARE_DIR,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    out = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert out["/fw  /lib .frozen"] == ["/fw", ".frozen"]
    assert out[" .frozen /lib /fw/lib"] == [".frozen"]
    assert out["words"] == "abandon ability"


# The image's _boot.py run twice under the unix port on a simulated storage area: the first boot
# formats LittleFS, then files named after the modules the boot imports are planted at its root
# (the current directory at reset, "" on sys.path); the second boot must import none of them.
BOOT_FAKES = {
    "machine.py": "class Pin:\n    def __init__(self, *args, **kwargs):\n        pass\n"
    "class I2C(Pin):\n    pass\n",
    "rp2.py": FAKE_PARTITION + "chip = Partition(64)\n"
    "class Flash:\n"
    "    def __init__(self, start=0, len=64 * BS):\n"
    "        self.start, self.blocks = start, len // BS\n"
    "    def readblocks(self, block, buf, offset=0):\n"
    "        chip.readblocks(0, buf, self.start + block * BS + offset)\n"
    "    def writeblocks(self, block, buf, offset=None):\n"
    "        if offset is None:\n"
    "            self.ioctl(6, block)\n"
    "        chip.writeblocks(0, buf, self.start + block * BS + (offset or 0))\n"
    "    def ioctl(self, op, arg):\n"
    "        if op == 4: return self.blocks\n"
    "        if op == 5: return BS\n"
    "        if op == 6: return chip.ioctl(6, self.start // BS + arg)\n"
    "        return 0\n",
    "_wordlist.py": "WORDS = b'abandon ability'\n",
}
PLANTED = ("wordlist", "_wordlist", "board", "flashlayout", "usbboard", "fwupdate/boot")
BOOT_TWICE = r"""
import json, os, sys, vfs
import rp2
with open("micropython/rp2350/_boot.py") as f:
    source = f.read()
start_path = list(sys.path)
boot_modules = [n for n in sys.modules]

def boot():
    for name in [n for n in sys.modules if n not in boot_modules]:
        del sys.modules[name]
    exec(source, {})

boot()
os.mkdir("/fwupdate")
for name in PLANTED:
    with open("/%s.py" % name, "w") as f:
        f.write("raise SystemExit('planted %s ran')\n" % name)
planted = sorted(os.listdir("/")) + sorted(os.listdir("/fwupdate"))
vfs.umount("/")  # power off: the chip keeps its bytes
sys.path[:] = start_path
os.chdir("/")
boot()
with open("/crypto/bip39_english.txt") as f:
    words = f.read()
print(json.dumps({"planted": planted, "path": sys.path, "words": words}), file=sys.stderr)
"""


def test_a_module_file_on_the_filesystem_does_not_run_at_boot(tmp_path):
    import subprocess

    for name, text in BOOT_FAKES.items():
        (tmp_path / name).write_text(text)
    paths = [tmp_path, RP2350, micropython.FIRMWARE_DIR / "micropython" / "drivers"]
    proc = subprocess.run(
        [micropython.executable(), "-X", "heapsize=2M", "-c",
         f"PLANTED = {PLANTED!r}\n" + BOOT_TWICE],
        capture_output=True,
        timeout=120,
        env=micropython.environment(paths),
        cwd=micropython.FIRMWARE_DIR,
    )
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    out = json.loads(proc.stderr.decode().strip().splitlines()[-1])
    top = [name + ".py" for name in PLANTED if "/" not in name] + ["crypto", "fwupdate"]
    assert out["planted"] == sorted(top) + ["boot.py"]  # they are there, on the filesystem
    assert out["path"] == [".frozen"] and out["words"] == "abandon ability"
