# The QEMU Cortex-M board image (host/devtools/qemu.py builds it): MicroPython's qemu port with
# the firmware stage (the `qos fw build` tree as sources, QOS_STAGE) frozen in. Nothing is run
# from the flash filesystem: everything the device runs is in this image.
import os

STAGE = os.environ["QOS_STAGE"]
for package_name in ("apps", "codec", "crypto", "fwupdate", "rng", "storage", "ui", "wire"):
    package(package_name, base_path=STAGE, opt=3)
for name in ("buildflags.py", "board.py", "flashdev.py", "hostflash.py", "main.py", "_qosboot.py",
             "_wordlist.py", "wordlist.py"):
    module(name, base_path=STAGE, opt=3)
