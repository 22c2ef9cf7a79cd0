"""Storage under MicroPython: record files, the vault's encryption, the PIN counter and its delays,
wipe after ten failures, and atomicity: power cut at every block write of LittleFS."""

from __future__ import annotations

import json

from .conftest import mp_run

# A RAM flash chip whose writes can be cut off: the write at which the "power" goes writes a part
# of its buffer and raises, like a chip losing power mid-program. Its first 64 blocks hold
# LittleFS, the last two the raw secret region, so one budget of writes covers both.
FLASH = """
import os, vfs, gc, json
from flashdev import Window
class PowerCut(Exception):
    pass
class RamFlash:
    BS = 512
    block_size = BS
    def __init__(self, blocks=66, image=None):
        self.n = blocks
        blank = b"\\xff" * blocks * self.BS
        self.data = bytearray(image) if image is not None else bytearray(blank)
        self.budget = None
        self.writes = 0
        self.dead = None
    def readblocks(self, b, buf, off=0):
        if self.dead:
            raise self.dead
        a = b * self.BS + off
        buf[:] = self.data[a:a + len(buf)]
    def writeblocks(self, b, buf, off=None):
        if self.dead:
            raise self.dead  # no power: nothing reaches the chip any more
        off = off or 0
        a = b * self.BS + off
        if self.budget is not None:
            if self.budget == 0:
                self.cut_at = b
                half = len(buf) // 2
                self.data[a:a + half] = buf[:half]
                self.dead = PowerCut()
                raise self.dead
            self.budget -= 1
        self.writes += 1
        self.data[a:a + len(buf)] = buf
    def erase(self, b):
        self.writeblocks(b, b"\\xff" * self.BS)  # one write: a cut leaves it half erased
        return 0
    def sync(self):
        return 0
MOUNT = "/t"
REGION = None
def mount(image=None):
    global REGION
    try:
        vfs.umount(MOUNT)
    except OSError:
        pass
    dev = RamFlash(image=image)
    fs = Window(dev, 0, 64)
    REGION = Window(dev, 64, 2)
    if image is None:
        vfs.VfsLfs2.mkfs(fs)
    vfs.mount(vfs.VfsLfs2(fs), MOUNT)
    return dev
from storage import records, secret as S, vault as V
from storage.pin import Clock
ROOT = MOUNT + "/qos"
def make_vault(clock=None):
    return V.Vault(ROOT, REGION, clock or Clock(), os.urandom, iterations=8)
def live_secrets(dev):
    return len(S.carve(bytes(dev.data)))
M12 = " ".join(["abandon"] * 11 + ["about"])
"""


def run(script: str, heap: str = "192K") -> dict:
    # heap: the test harness keeps flash images in RAM; the firmware itself fits in 192K
    out = mp_run(FLASH + script, heap=heap)
    return json.loads(out.strip().splitlines()[-1])


def test_aes_ctr_matches_sp800_38a_and_macs_split_keys():
    r = run(
        """
from binascii import hexlify, unhexlify
from storage import cipher
key = unhexlify("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
ctr0 = unhexlify("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
pt = unhexlify("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
ct = cipher.ctr(key, ctr0, pt)
enc, mac = cipher.subkeys(b"k" * 32)
print(json.dumps({"ct": hexlify(ct).decode(), "back": cipher.ctr(key, ctr0, ct) == pt,
    "split": enc != mac and len(enc) == 32, "eq": cipher.equal(b"ab", b"ab"),
    "ne": cipher.equal(b"ab", b"ac")}))
"""
    )
    assert r["ct"] == "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
    assert r["back"] and r["split"] and r["eq"] and not r["ne"]


def test_records_round_trip_and_damage_is_detected():
    r = run(
        """
mount()
records.ensure_dir(ROOT)
records.write(ROOT, "a", b"hello")
first = records.read(ROOT, "a")
records.write(ROOT, "a", b"second")
second = records.read(ROOT, "a")
missing = records.read(ROOT, "nope")
raw = bytearray(open(ROOT + "/a", "rb").read())
raw[7] ^= 1
with open(ROOT + "/a", "wb") as f:
    f.write(raw)
try:
    records.read(ROOT, "a"); damaged = "read"
except records.RecordError:
    damaged = "error"
with open(ROOT + "/b.new", "wb") as f:
    f.write(b"stray")
records.clean(ROOT)
print(json.dumps({"first": first.decode(), "second": second.decode(), "missing": missing is None,
    "damaged": damaged, "stray_gone": "b.new" not in os.listdir(ROOT)}))
"""
    )
    assert r == {"first": "hello", "second": "second", "missing": True, "damaged": "error",
                 "stray_gone": True}


def test_vault_life_cycle_pin_change_and_secrecy():
    r = run(
        """
dev = mount()
v = make_vault()
out = {"before": v.initialized()}
v.create(M12, "1234", "mine")
out["after"] = v.initialized()
out["label"] = make_vault().label()
out["unlock"] = make_vault().unlock("1234") == M12
try:
    v.unlock("9999"); out["wrong"] = "opened"
except V.WrongPin as e:
    out["wrong"] = e.retries_left
out["failures"] = v.pin.failures()
v.pin.clock.advance(1)
out["unlock_resets"] = v.unlock("1234") == M12 and v.pin.failures() == 0
v.change_pin("1234", "55555")
try:
    v.unlock("1234"); out["old_pin"] = "opened"
except V.WrongPin:
    out["old_pin"] = "refused"
v.pin.clock.advance(10)
out["new_pin"] = v.unlock("55555") == M12
out["plaintext_on_flash"] = dev.data.find(b"abandon") >= 0 or dev.data.find(b"about") >= 0
v.wipe()
out["wiped"] = not v.initialized() and sorted(os.listdir(ROOT)) == []
print(json.dumps(out))
"""
    )
    assert r == {
        "before": False, "after": True, "label": "mine", "unlock": True, "wrong": 9,
        "failures": 1, "unlock_resets": True, "old_pin": "refused", "new_pin": True,
        "plaintext_on_flash": False, "wiped": True,
    }


def test_tampering_is_detected():
    r = run(
        """
mount()
v = make_vault()
v.create(M12, "1234", "")
body = bytearray(records.read(ROOT, "wallet"))
out = {}
# flip a bit of the ciphertext and re-seal the record's checksum: the data MAC must catch it
tampered = bytearray(body)
tampered[-40] ^= 1
records.write(ROOT, "wallet", bytes(tampered))
try:
    v.unlock("1234"); out["ct"] = "opened"
except V.VaultError as e:
    out["ct"] = type(e).__name__
# a flipped byte without a fresh checksum: the record itself reads as damaged
records.write(ROOT, "wallet", bytes(body))
raw = bytearray(open(ROOT + "/wallet", "rb").read())
raw[20] ^= 0x80
with open(ROOT + "/wallet", "wb") as f:
    f.write(raw)
try:
    v.unlock("1234"); out["raw"] = "opened"
except V.VaultError as e:
    out["raw"] = type(e).__name__
print(json.dumps(out))
"""
    )
    assert r == {"ct": "VaultError", "raw": "VaultError"}


def test_a_removed_or_damaged_pin_counter_leaves_one_try():
    r = run(
        """
mount()
v = make_vault()
out = {"blank": v.pin.failures()}
v.create(M12, "1234", "")
os.remove(ROOT + "/pin")
out["removed"] = v.retries_left()
with open(ROOT + "/pin", "wb") as f:
    f.write(b"garbage")
out["damaged"] = v.retries_left()
print(json.dumps(out))
"""
    )
    assert r == {"blank": 0, "removed": 1, "damaged": 1}


def test_pin_delays_grow_and_survive_a_reboot_and_ten_failures_wipe():
    r = run(
        """
mount()
clock = Clock()
v = make_vault(clock)
v.create(M12, "1234", "")
out = {"delays": [], "retries": []}
for n in range(1, 10):
    try:
        v.unlock("0000")
    except V.WrongPin as e:
        out["retries"].append(e.retries_left)
    try:
        v.unlock("1234"); out["delays"].append("no delay")
    except V.PinDelay as e:
        out["delays"].append(e.wait_s)
    clock.advance((1 << n) - 2)
    try:
        v.unlock("1234"); out["early"] = "opened"
    except V.PinDelay as e:
        pass
    clock.advance(1)
# a reboot restarts the wait from boot time
rebooted = make_vault(Clock())
try:
    rebooted.unlock("1234"); out["reboot"] = "opened"
except V.PinDelay as e:
    out["reboot"] = e.wait_s
out["failures"] = v.pin.failures()
try:
    v.unlock("0000")
except V.WrongPin as e:
    out["last"] = [e.retries_left, e.wiped]
out["initialized"] = v.initialized()
out["files"] = sorted(os.listdir(ROOT))
print(json.dumps(out))
"""
    )
    assert r["retries"] == [9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert r["delays"] == [(1 << n) - 1 for n in range(1, 10)]
    assert "early" not in r
    assert r["reboot"] == 511
    assert r["failures"] == 9
    assert r["last"] == [0, True]
    assert r["initialized"] is False and r["files"] == []


def test_power_cut_at_every_write_leaves_the_old_or_the_new_state():
    r = run(
        """
def state_after(image, pins):
    # Reboot on the image (the vault finishes what the cut interrupted), then see what opens.
    dev = mount(image)
    v = make_vault()
    secrets = "/%d" % live_secrets(dev)  # live secret cells anywhere on the chip after the boot
    if not v.initialized():
        return "empty" + secrets
    for pin in pins:
        try:
            v.pin.clock.advance(100000)
            if v.unlock(pin) == M12:
                return "pin:" + pin + secrets
        except V.WrongPin:
            pass
    return "broken" + secrets

def trial(setup, op, pins):
    dev = mount()
    setup()
    base = bytes(dev.data)
    dev = mount(base)
    dev.writes = 0
    op()
    total = dev.writes
    seen = {}
    region_cuts = 0
    for cut in range(total + 1):
        dev = mount(base)
        dev.budget = cut
        try:
            op()
        except PowerCut:
            region_cuts += dev.cut_at >= 64
        image = bytes(dev.data)
        s = state_after(image, pins)
        seen[s] = seen.get(s, 0) + 1
        gc.collect()
    return total, seen, region_cuts

def nothing():
    make_vault()
def create():
    make_vault().create(M12, "1111", "x")
def change():
    make_vault().change_pin("1111", "2222")
def wipe():
    make_vault().wipe()

out = {}
out["create"] = trial(nothing, create, ["1111"])
out["change"] = trial(create, change, ["1111", "2222"])
out["wipe"] = trial(create, wipe, ["1111"])
print(json.dumps(out))
""",
        heap="1M",
    )
    create_total, create_seen, create_region_cuts = r["create"]
    change_total, change_seen, change_region_cuts = r["change"]
    wipe_total, wipe_seen, wipe_region_cuts = r["wipe"]
    assert create_total > 2 and change_total > 2 and wipe_total > 2
    # The cuts fell on the raw secret region's writes too: erasing and programming the new cell
    # (create, change) and erasing the old one (change, wipe).
    assert create_region_cuts == 2 and change_region_cuts == 3 and wipe_region_cuts == 1
    # Old or new state, whole; after the reboot exactly the secret the state needs is live
    # (none when empty): a cut change never leaves the old PIN's secret behind.
    assert set(create_seen) <= {"empty/0", "pin:1111/1"} and create_seen.get("pin:1111/1")
    assert set(change_seen) <= {"pin:1111/1", "pin:2222/1"} and len(change_seen) == 2
    assert set(wipe_seen) <= {"empty/0", "pin:1111/1"} and wipe_seen.get("empty/0")


def test_pin_stretching_is_calibrated_on_the_device_and_its_count_kept_in_the_record():
    r = run(
        """
mount()
from storage import kdf, keeper
out = {"floor": kdf.calibrate(1) == kdf.FLOOR, "ceiling": kdf.calibrate(10 ** 9) == kdf.CEILING}
v = V.Vault(ROOT, REGION, Clock(), os.urandom, kdf_ms=1)
v.create(M12, "1234")
out["stored"] = keeper.record(v)["iterations"]
# another count configured now (a board calibrates differently): unlock uses the record's
out["unlock"] = V.Vault(ROOT, REGION, Clock(), os.urandom, iterations=12345).unlock("1234") == M12
print(json.dumps(out))
"""
    )
    assert r == {"floor": True, "ceiling": True, "stored": 10000, "unlock": True}


def test_a_board_without_a_usable_secret_region_runs_and_refuses_to_keep_a_wallet():
    r = run(
        """
mount()
out = {}
for name, region in (("none", None), ("small", Window(RamFlash(2), 0, 1))):
    v = V.Vault(ROOT, region, Clock(), os.urandom, iterations=8)
    try:
        v.create(M12, "1234")
        out[name] = "stored"
    except V.VaultError as e:
        out[name] = str(e)
    out[name + "_initialized"] = v.initialized()
print(json.dumps(out))
"""
    )
    assert r["none"].startswith("this board has no secret region")
    assert r["small"].endswith("secret region is unusable: needs 2 blocks of at least 256 bytes")
    assert r["none_initialized"] is False and r["small_initialized"] is False
