# Frozen in place of the port's modules/_boot.py: mounts LittleFS on MicroPython's storage area
# except its last two 4 KiB sectors, which hold the vault's raw secret region (board.py).
# In our own image (host/devtools/rp2350.py) it also writes out the frozen BIP39 word list.
import rp2
import vfs

from board import secret_range

bdev = rp2.Flash(start=0, len=secret_range(rp2.Flash())[0])
try:
    fs = vfs.VfsLfs2(bdev, progsize=256)
except OSError:
    vfs.VfsLfs2.mkfs(bdev, progsize=256)
    fs = vfs.VfsLfs2(bdev, progsize=256)
vfs.mount(fs, "/")

try:
    import wordlist

    wordlist.install("/")  # in our own image, where the word list is frozen
except ImportError:
    pass  # files copied onto a stock MicroPython: the word list is a file there already

del vfs, bdev, fs
