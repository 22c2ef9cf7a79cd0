"""The attacker's view of the flash: carve every block of the raw image (free blocks and the raw
secret region included, not only the live filesystem), collect every record and every piece of
key material found anywhere, plant each combination on a fresh device and try the correct old PIN.

After a wipe, after a wipe plus a new wallet, and after a change of PIN, no combination may open
the old seed: the data is encrypted under a key that needs a secret overwritten in place.
"""

from __future__ import annotations

import json

from .conftest import RAM_CHIP, mp_run

# The carving tool, run under MicroPython with the firmware's own vault code (the attacker has the
# firmware: it is open source). CARVE_IMAGE(image, pin) -> the mnemonics it could open.
CARVER = """
import os, vfs, gc, json, struct
from binascii import crc32
from storage import records, secret as S, vault as V
from storage.pin import Clock

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
    # Key material: every secret cell in the raw region's format wherever it lies in the image,
    # and every 32-byte record body (where the format-1 vault kept its device secret).
    out = S.carve(image)
    for b in bodies:
        if len(b) == 32 and b not in out:
            out.append(b)
    return out

def plant_cell(region, generation, secret):
    body = S.MAGIC + struct.pack(">I", generation) + secret
    body += struct.pack(">I", crc32(body) & 0xFFFFFFFF)
    region.ioctl(6, 0)
    region.writeblocks(0, body, 0)

def try_open(wallet_body, secret, pin):
    # A fresh device holding this record, this secret in the cell the record names, and a
    # retry counter with no failures (the attacker writes the flash as they like).
    chip = RamFlash(66)
    fs = Window(chip, 0, 64)
    region = Window(chip, 64, 2)
    vfs.VfsLfs2.mkfs(fs)
    vfs.mount(vfs.VfsLfs2(fs), "/atk")
    root = "/atk/qos"
    try:
        records.ensure_dir(root)
        records.write(root, "wallet", wallet_body)
        records.write(root, "pin", bytes(5))
        plant_cell(region, struct.unpack(">I", wallet_body[2:6])[0], secret)
        v = V.Vault(root, region, Clock(), os.urandom)
        opened = v.unlock(pin)
        return opened if isinstance(opened, str) else None
    except V.VaultError:  # a wrong key is a wrong PIN to the vault; a foreign record is damaged
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

# The device whose flash is carved: a RAM chip laid out as the emulator's image (LittleFS in
# 128 blocks of 4 KiB, then the two blocks of the raw secret region), power never cut.
DEVICE = """
dev = RamFlash(130, block_size=4096)
vfs.VfsLfs2.mkfs(Window(dev, 0, 128))
vfs.mount(vfs.VfsLfs2(Window(dev, 0, 128)), "/dev")
ROOT = "/dev/qos"
def make_vault():
    return V.Vault(ROOT, Window(dev, 128, 2), Clock(), os.urandom, iterations=8)
def image():
    return bytes(dev.data)
M_OLD = " ".join(["abandon"] * 11 + ["about"])
M_NEW = "legal winner thank year wave sausage worth useful legal winner thank yellow"
"""


def carve(script: str) -> dict:
    out = mp_run(RAM_CHIP + CARVER + DEVICE + script, heap="4M")
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
    # LittleFS left old copies of the wallet record in free blocks; none opens without its secret
    assert r["wallets"] >= 1 and r["secrets"] == 0
    assert r["opened"] == []


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


def test_after_a_pin_change_the_old_pin_opens_nothing():
    r = carve(
        """
v = make_vault()
v.create(M_OLD, "1234", "old")
v.change_pin("1234", "86420")
print(json.dumps([CARVE_IMAGE(image(), "1234"), CARVE_IMAGE(image(), "86420")]))
"""
    )
    old_pin, new_pin = r
    assert old_pin["wallets"] >= 2 and old_pin["opened"] == []
    # the carver does open the wallet with the new PIN: the material it found is the live one
    assert new_pin["opened"] == [" ".join(["abandon"] * 11 + ["about"])]


# ---------------------------------------------------------------- the emulator's own image file

CARVE_FILE = """
with open(IMAGE, "rb") as f:
    image = f.read()
print(json.dumps({pin: CARVE_IMAGE(image, pin)["opened"] for pin in PINS}))
"""


def carve_file(image: bytes, tmp_path, pins: list[str]) -> dict[str, list[str]]:
    path = tmp_path / "dump.img"
    path.write_bytes(image)
    script = f"IMAGE = {str(path)!r}\nPINS = {pins!r}\n" + CARVE_FILE
    out = mp_run(RAM_CHIP + CARVER + script, heap="4M")
    return json.loads(out.strip().splitlines()[-1])


def test_the_emulators_raw_image_keeps_no_old_seed(tmp_path):
    """The same attack on the real emulator's flash image file (LittleFS part and raw region,
    every block), after a PIN change, a wipe, and a new wallet."""
    from host.bridge.client import Client
    from host.bridge.debuglink import DebugLink
    from host.devtools.emulator import Emulator
    from host.devtools.ports import free_port_pair
    from host.devtools.scripted_user import ScriptedUser

    old = " ".join(["abandon"] * 11 + ["about"])
    new = "legal winner thank year wave sausage worth useful legal winner thank yellow"
    flash = tmp_path / "flash.img"
    with (
        Emulator(port=free_port_pair(), flash=flash, kdf_ms=1) as emu,
        Client.open(emu.wire_path) as device,
        DebugLink.open(emu.debug_path) as debug,
    ):
        debug.load(old, "1234")
        assert carve_file(flash.read_bytes(), tmp_path, ["1234"]) == {"1234": [old]}
        ScriptedUser(debug).confirm(lambda: device.change_pin("1234", "5678"))
        after_change = carve_file(flash.read_bytes(), tmp_path, ["1234", "5678"])
        assert after_change == {"1234": [], "5678": [old]}
        debug.wipe()
        after_wipe = flash.read_bytes()
        debug.load(new, "1234")
        after_new = flash.read_bytes()
    assert carve_file(after_wipe, tmp_path, ["1234", "5678"]) == {"1234": [], "5678": []}
    assert carve_file(after_new, tmp_path, ["1234", "5678"]) == {"1234": [new], "5678": []}
