"""The attacker's view of the flash: carve every block of the raw image (free blocks and the raw
secret region included, not only the live filesystem), collect every record and every piece of
key material found anywhere, plant each combination on a fresh device and try the correct old PIN.

After a wipe, after a wipe plus a new wallet, and after a change of PIN, no combination may open
the old seed: the data is encrypted under a key that needs a secret overwritten in place.
"""

from __future__ import annotations

import json

import pytest

from .conftest import mp_run

# Issue 8 item 1: on the LittleFS-only vault these attacks succeed (removed with the fix).
OLD_VAULT_LEAKS = pytest.mark.xfail(strict=True, reason="issue 8: wipe leaves the seed on flash")

# The carving tool, run under MicroPython with the firmware's own vault code (the attacker has the
# firmware: it is open source). CARVE_IMAGE(image, pin) -> the mnemonics it could open.
CARVER = """
import os, vfs, gc, json, struct
from binascii import crc32
from storage import records, vault as V

class RamFlash:
    def __init__(self, blocks, image=None, block_size=512):
        self.BS = block_size
        self.n = blocks
        self.data = bytearray(image) if image is not None else bytearray(b"\\xff" * blocks * self.BS)
    def readblocks(self, b, buf, off=0):
        a = b * self.BS + off
        buf[:] = self.data[a:a + len(buf)]
    def writeblocks(self, b, buf, off=None):
        a = b * self.BS + (off or 0)
        self.data[a:a + len(buf)] = buf
    def ioctl(self, op, arg):
        if op == 4: return self.n
        if op == 5: return self.BS
        if op == 6: return 0

def carve_records(image):
    # Every well-formed record anywhere in the image (magic, length, CRC-32), live or not.
    found = []
    at = image.find(b"QR")
    while at >= 0:
        head = image[at:at + 6]
        if len(head) == 6:
            n = struct.unpack(">I", head[2:6])[0]
            end = at + 6 + n + 4
            if n < 4096 and end <= len(image):
                crc = struct.unpack(">I", image[at + 6 + n:end])[0]
                if crc32(image[at:at + 6 + n]) & 0xFFFFFFFF == crc:
                    body = bytes(image[at + 6:at + 6 + n])
                    if body not in found:
                        found.append(body)
        at = image.find(b"QR", at + 1)
    return found

def carve_secrets(image, bodies):
    # Key material: every 32-byte record body (the old per-device secret) and every secret cell
    # the board's raw region format can hold, wherever it lies in the image.
    out = [b for b in bodies if len(b) == 32]
    cells = getattr(V, "carve_cells", None)
    if cells is not None:
        for secret in cells(image):
            if secret not in out:
                out.append(secret)
    return out

def try_open(wallet_body, secret, pin):
    flash = RamFlash(64)
    vfs.VfsLfs2.mkfs(flash)
    try:
        vfs.umount("/atk")
    except OSError:
        pass
    vfs.mount(vfs.VfsLfs2(flash), "/atk")
    root = "/atk/qos"
    records.ensure_dir(root)
    plant = getattr(V, "plant", None)
    if plant is not None:
        v = plant(root, wallet_body, secret, os.urandom)
    else:
        records.write(root, "wallet", wallet_body)
        records.write(root, "device", secret)
        records.write(root, "pin", bytes(1))  # the attacker writes a fresh retry counter too
        v = V.Vault(root, __import__("storage.pin", None, None, ["Clock"]).Clock(), os.urandom)
    try:
        return v.unlock(pin)
    except Exception:
        return None
    finally:
        vfs.umount("/atk")
        gc.collect()

def CARVE_IMAGE(image, pin):
    bodies = carve_records(image)
    wallets = [b for b in bodies if len(b) > 100]
    secrets = carve_secrets(image, bodies)
    opened = []
    for w in wallets:
        for s in secrets:
            m = try_open(w, s, pin)
            if m is not None and m not in opened:
                opened.append(m)
    return {"wallets": len(wallets), "secrets": len(secrets), "opened": opened}
"""

# The device whose flash is carved: a RAM chip with LittleFS laid out as the emulator's (128
# blocks of 4 KiB), power never cut.
DEVICE = """
from storage.pin import Clock
dev = RamFlash(128, block_size=4096)
vfs.VfsLfs2.mkfs(dev)
vfs.mount(vfs.VfsLfs2(dev), "/dev")
ROOT = "/dev/qos"
def make_vault():
    return V.Vault(ROOT, Clock(), os.urandom, iterations=8)
def image():
    return bytes(dev.data)
M_OLD = " ".join(["abandon"] * 11 + ["about"])
M_NEW = "legal winner thank year wave sausage worth useful legal winner thank yellow"
"""


def carve(script: str) -> dict:
    out = mp_run(CARVER + DEVICE + script, heap="4M")
    return json.loads(out.strip().splitlines()[-1])


def test_carving_finds_the_wallet_while_it_exists():
    # The carver works: with the wallet in place it opens it (so an empty result later means
    # the material is gone, not that the tool cannot find it).
    r = carve(
        """
make_vault().create(M_OLD, "1234", "old")
print(json.dumps(CARVE_IMAGE(image(), "1234")))
"""
    )
    assert r["opened"] == [" ".join(["abandon"] * 11 + ["about"])]


@OLD_VAULT_LEAKS
def test_after_wipe_nothing_in_the_image_opens_the_old_seed():
    r = carve(
        """
v = make_vault()
v.create(M_OLD, "1234", "old")
v.change_pin("1234", "1234")  # more history on flash: old copies of every record
v.wipe()
print(json.dumps(CARVE_IMAGE(image(), "1234")))
"""
    )
    assert r["opened"] == []


@OLD_VAULT_LEAKS
def test_after_wipe_and_a_new_wallet_nothing_opens_the_old_seed():
    r = carve(
        """
v = make_vault()
v.create(M_OLD, "1234", "old")
v.wipe()
v = make_vault()
v.create(M_NEW, "1234", "new")
print(json.dumps(CARVE_IMAGE(image(), "1234")))
"""
    )
    # the new wallet opens with its own PIN (same digits here on purpose); the old one never
    assert " ".join(["abandon"] * 11 + ["about"]) not in r["opened"]


@OLD_VAULT_LEAKS
def test_after_a_pin_change_the_old_pin_opens_nothing():
    r = carve(
        """
v = make_vault()
v.create(M_OLD, "1234", "old")
v.change_pin("1234", "86420")
print(json.dumps(CARVE_IMAGE(image(), "1234")))
"""
    )
    assert r["opened"] == []
