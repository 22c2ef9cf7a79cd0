# Freeze the QOS firmware into a MicroPython image for the RP2350 (bytecode in flash, not RAM):
#   QOS_FIRMWARE=/path/to/qos/firmware make -C ports/rp2 BOARD=RPI_PICO2 \
#       FROZEN_MANIFEST=/path/to/qos/firmware/micropython/rp2350/manifest.py
# The word list (crypto/bip39_english.txt) is data: copy it to the board's filesystem as well
# (`qos fw flash` does), or point crypto.bip39.WORDLIST_PATH at it.
import os

include("$(PORT_DIR)/boards/manifest.py")

QOS = os.environ.get("QOS_FIRMWARE", "$(MPY_DIR)/../qos/firmware")
for package_name in ("apps", "codec", "crypto", "fwupdate", "rng", "storage", "ui", "wire"):
    package(package_name, base_path=QOS, opt=3)
module("buildflags.py", base_path=QOS)
# main.py is not frozen: the port runs it from the filesystem at reset (copy firmware/main.py).
module("usbboard.py", base_path=QOS + "/micropython/drivers")
module("ssd1306.py", base_path=QOS + "/micropython/drivers")
module("board.py", base_path=QOS + "/micropython/rp2350")
