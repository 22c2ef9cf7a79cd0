"""A PIN server wallet against an attacker holding every byte of the flash and the right PIN.

The device half runs under MicroPython and talks to a real `qos pin-server` process (the test
relays, as the host bridge does). The attacker's tool is written here from the documented key
schedule (docs/security.md), independently of the firmware: it carves the image, derives every
key the image and the PIN give, and tries them. Nothing opens the wallet; the same tool opens it
at once when it is also given the server's records and key, so the one input it lacked is the
server's secret, which no image holds. And with the image alone, the right PIN and a wrong one
look the same: there is nothing to test a guess against.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import zlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from host.devtools.pinserver import PinServerProcess
from host.pinserver import client
from host.pinserver.server import PinOracle

from .conftest import RAM_CHIP, MpSession

PIN = "271828"
MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"

DEVICE = """
import os, vfs
from binascii import hexlify, unhexlify
from storage import vault as V
from storage.pin import Clock

chip = RamFlash(130, block_size=4096)
vfs.VfsLfs2.mkfs(Window(chip, 0, 128))
vfs.mount(vfs.VfsLfs2(Window(chip, 0, 128)), "/dev")
v = V.Vault("/dev/qos", Window(chip, 128, 2), Clock(), os.urandom, iterations=2000)
server = ask("server")
step = v.create(MNEMONIC, PIN, "mine", (unhexlify(server["pubkey"]), server["url"]))
v.finish(step, unhexlify(ask(hexlify(step.request).decode())))
v.pin.clock.advance(10)
step = v.unlock(PIN)
opened = v.finish(step, unhexlify(ask(hexlify(step.request).decode())))
with open(ask({"opened": opened == MNEMONIC}), "wb") as f:
    f.write(chip.data)
print(json.dumps("done"))
"""


def relay_device(server: PinServerProcess, image_path: str) -> bool:
    code = f"MNEMONIC = {MNEMONIC!r}\nPIN = {PIN!r}\n" + RAM_CHIP + DEVICE
    session = MpSession(code, heap="2M")
    try:
        assert session.read() == "server"
        info = client.fetch_info(server.url)
        session.send({"pubkey": info.pubkey.hex(), "url": server.url})
        for _ in range(2):  # create, then unlock: each one request through the real server
            request = bytes.fromhex(session.read())
            session.send(client.relay(server.url, request).hex())
        opened = session.read()["opened"]
        session.send(image_path)
        assert session.read() == "done"
        return opened
    finally:
        session.close()


# ---------------------------------------------------------------- the attacker's tool


def mac(key: bytes, *parts: bytes) -> bytes:
    return hmac.new(key, b"".join(parts), hashlib.sha256).digest()


def ctr(key: bytes, nonce: bytes, data: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.CTR(nonce)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def carve_records(image: bytes) -> list[bytes]:
    found = []
    at = image.find(b"QR")
    while at >= 0:
        (n,) = struct.unpack(">I", image[at + 2 : at + 6].ljust(4, b"\0"))
        end = at + 6 + n + 4
        if n < 4096 and end <= len(image):
            crc = struct.unpack(">I", image[end - 4 : end])[0]
            if zlib.crc32(image[at : end - 4]) == crc and image[at + 6 : end - 4] not in found:
                found.append(image[at + 6 : end - 4])
        at = image.find(b"QR", at + 1)
    return found


def carve_cells(image: bytes) -> list[bytes]:
    found = []
    at = image.find(b"QSC1")
    while at >= 0:
        cell = image[at : at + 44]
        if len(cell) == 44 and zlib.crc32(cell[:40]) == struct.unpack(">I", cell[40:])[0]:
            found.append(cell[8:40])
        at = image.find(b"QSC1", at + 1)
    return found


def parse_server_record(body: bytes) -> dict | None:
    """A format-2 wallet record whose PIN a server enforces (docs/security.md)."""
    if len(body) < 10 or body[0] != 2 or body[1] != 1:
        return None
    _, _, generation, iterations = struct.unpack(">BBII", body[:10])
    p = 10
    salt = body[p : p + 16]
    p += 16
    p += 1 + body[p]  # label
    p += 32  # the server's key
    p += 1 + body[p]  # url
    header = body[:p]
    wrapped, wrap_mac, nonce = body[p : p + 32], body[p + 32 : p + 64], body[p + 64 : p + 80]
    (n,) = struct.unpack(">H", body[p + 80 : p + 82])
    ct = body[p + 82 : p + 82 + n]
    return {"header": header, "salt": salt, "iterations": iterations, "wrapped": wrapped,
            "wrap_mac": wrap_mac, "nonce": nonce, "ct": ct}


def stretched(rec: dict, secret: bytes, pin: str) -> bytes:
    salt = b"qos/pin/2" + rec["salt"] + secret
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, rec["iterations"], 32)


def try_answer(rec: dict, s: bytes, answer: bytes) -> str | None:
    return try_kek(rec, mac(s, b"qos/kek", answer))


def try_kek(rec: dict, kek: bytes) -> str | None:
    enc, mac_key = mac(kek, b"qos/enc"), mac(kek, b"qos/mac")
    if not hmac.compare_digest(mac(mac_key, b"wrap", rec["header"], rec["wrapped"]),
                               rec["wrap_mac"]):
        return None
    dek = ctr(enc, bytes(16), rec["wrapped"])
    return ctr(mac(dek, b"qos/enc"), rec["nonce"], rec["ct"]).decode()


def answer_from_the_server(oracle: PinOracle, secret: bytes, s: bytes) -> bytes | None:
    """What only the server can compute: its record's key for this pin secret."""
    seed = mac(secret, b"qos/oracle-id")
    id_pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    record = oracle.store.load(id_pub)
    return None if record is None else mac(record.secret, mac(s, b"qos/oracle-pin"))


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    home = tmp_path_factory.mktemp("oracle")
    image_path = home / "flash.img"
    with PinServerProcess(home / "server") as server:
        assert relay_device(server, str(image_path))  # the wallet works through the server
    image = image_path.read_bytes()
    records = [r for r in map(parse_server_record, carve_records(image)) if r is not None]
    return image, records, carve_cells(image), home / "server"


def test_the_dump_holds_the_wallet_and_its_secret(dump):
    _, records, secrets, _ = dump
    assert records and secrets  # the attacker has everything the device has


def test_nothing_in_the_image_opens_the_wallet_with_the_right_pin(dump):
    _, records, secrets, _ = dump
    tried = 0
    for rec in records:
        for secret in secrets:
            s = stretched(rec, secret, PIN)
            assert try_kek(rec, s) is None  # the stretched PIN alone (a device-only PIN's key)
            # everything the image and the PIN give, and as many guesses at the server's answer
            # as one likes (here: the PIN key itself, zero, and random ones)
            for answer in [s, bytes(32), mac(secret, s)] + [os.urandom(32) for _ in range(2000)]:
                assert try_answer(rec, s, answer) is None
                tried += 1
    assert tried > 2000


def test_the_missing_input_is_exactly_the_servers_secret(dump):
    _, records, secrets, server_dir = dump
    oracle = PinOracle(server_dir)  # the attacker who also holds the server's disk and key
    try:
        opened = set()
        for rec in records:
            for secret in secrets:
                s = stretched(rec, secret, PIN)
                answer = answer_from_the_server(oracle, secret, s)
                if answer is not None:
                    opened.add(try_answer(rec, s, answer))
        assert opened == {MNEMONIC}
    finally:
        oracle.close()


def test_with_the_image_alone_the_right_pin_looks_like_any_other(dump):
    # Offline, a PIN guess yields a key and nothing to check it against: the attacker's test of
    # "1234" and of the right PIN end the same way (no candidate answer verifies), so no amount
    # of computation ranks the right PIN above the others.
    _, records, secrets, _ = dump
    for pin in [PIN, "1234", "000000", "271829"]:
        outcomes = {
            try_answer(rec, stretched(rec, secret, pin), os.urandom(32))
            for rec in records
            for secret in secrets
            for _ in range(50)
        }
        assert outcomes == {None}
