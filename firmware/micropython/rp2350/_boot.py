# Frozen in place of the port's modules/_boot.py. In our own image (host/devtools/rp2350.py) it
# first runs the boot step of signed updates (fwupdate/boot.py): a good newer release in an update
# slot (flashlayout.py) is mounted in place ahead of this image on sys.path, so the board glue and
# the app come from it. Then it mounts LittleFS on MicroPython's storage area except its last two
# 4 KiB sectors, which hold the vault's raw secret region (board.py), and in our own image writes
# out the frozen BIP39 word list; from then on modules come from the image (or the release) only.
import rp2
import sys
import vfs

import flashlayout

slots = flashlayout.slot_flash()
if slots is not None:
    from fwupdate import boot

    import buildflags

    boot.start(slots, flashlayout.SLOTS, buildflags)
for name in ("buildflags", "flashlayout", "flashdev", "fwupdate", "fwupdate.boot"):
    sys.modules.pop(name, None)  # the modules of whichever image won load afresh

from board import secret_range  # noqa: E402 (after the boot step: the winner's board)

try:
    import _wordlist  # noqa: F401 (frozen in our own image only)
    import wordlist

    wordlist.image_only()  # before the filesystem is mounted: no file on it stands in for a module
except ImportError:
    wordlist = None  # files copied onto a stock MicroPython: the word list is a file there already

bdev = rp2.Flash(start=0, len=secret_range(rp2.Flash())[0])
try:
    fs = vfs.VfsLfs2(bdev, progsize=256)
except OSError:
    vfs.VfsLfs2.mkfs(bdev, progsize=256)
    fs = vfs.VfsLfs2(bdev, progsize=256)
vfs.mount(fs, "/")

if wordlist is not None:
    wordlist.install("/")  # in our own image, where the word list is frozen

del vfs, bdev, fs, slots, wordlist
