# Images built from the pinned MicroPython (QEMU, RP2350) carry the BIP39 word list frozen as a
# bytes constant (_wordlist.py, in flash). crypto.bip39 reads it from crypto/bip39_english.txt
# relative to the current directory (and checks its SHA-256), so install() writes it there
# whenever it differs in size. Where nothing is frozen (files copied onto a stock MicroPython),
# importing _wordlist fails and nothing is changed.
import os
import sys

from fwupdate.boot import MOUNT


def image_only():
    """Imports come from the image only (a .mpy file on the flash must never run), so no file on
    the filesystem can shadow a frozen module; a signed release the boot step mounted
    (fwupdate/boot.py) stays ahead of the image, or the app would run half of each."""
    sys.path[:] = [path for path in sys.path if path in (MOUNT, ".frozen")]


def install(root):
    from _wordlist import WORDS

    folder = root.rstrip("/") + "/crypto"
    path = folder + "/bip39_english.txt"
    try:
        size = os.stat(path)[6]
    except OSError:
        size = -1
        try:
            os.mkdir(folder)
        except OSError:
            pass
    if size != len(WORDS):
        with open(path, "wb") as f:
            f.write(WORDS)
    image_only()
    os.chdir(root)
