# What the RP2350 and RP2040 images freeze (host/devtools/rp2350.py): the firmware stage (the
# `qos fw build` tree as sources, QOS_STAGE), the board glue, and the port's rp2 module; not the
# port's own _boot.py (ours keeps the vault's secret region out of the filesystem) nor its extra
# drivers.
import os

STAGE = os.environ["QOS_STAGE"]
freeze("$(PORT_DIR)/modules", "rp2.py", opt=3)
for package_name in ("apps", "codec", "crypto", "fwupdate", "rng", "storage", "ui", "wire"):
    package(package_name, base_path=STAGE, opt=3)
for name in ("buildflags.py", "board.py", "usbboard.py", "ssd1306.py", "_boot.py", "main.py",
             "_wordlist.py", "wordlist.py", "flashlayout.py", "flashdev.py"):
    module(name, base_path=STAGE, opt=3)
