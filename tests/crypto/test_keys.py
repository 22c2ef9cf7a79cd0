"""QOS keys: host/core/keys.py against independent oracles (the BIP39 vectors, bip_utils,
PyNaCl), and the firmware (firmware/crypto/keys.py under the real MicroPython) against the host
for thousands of random seeds, accounts, indexes and messages, batched into a few interpreter runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import unicodedata

import bech32
import pytest
from bip_utils import (
    Bech32Decoder,
    Bech32Encoder,
    Bip32Slip10Secp256k1,
    Bip39MnemonicGenerator,
    Bip39SeedGenerator,
    Ed25519PrivateKey,
)
from mnemonic import Mnemonic

from host.core import keys
from host.devtools import runner

H = 0x80000000


def path_string(account: int, index: int) -> str:
    return f"m/44'/389'/{account}'/0/{index}"


def oracle_account(seed: bytes, account: int, index: int) -> tuple[bytes, bytes, str]:
    """(ed25519 seed, public key, address) computed with bip_utils only."""
    node = Bip32Slip10Secp256k1.FromSeed(seed).DerivePath(path_string(account, index))
    ed_seed = hashlib.sha256(node.PrivateKey().Raw().ToBytes()).digest()
    pub = Ed25519PrivateKey.FromBytes(ed_seed).PublicKey().RawCompressed().ToBytes()[1:]
    address = Bech32Encoder.Encode("qosacc", hashlib.sha256(pub).digest()[:20])
    return ed_seed, pub, address


# ---- host: mnemonic and seed ----


def test_seed_from_mnemonic_matches_bip39_vectors(bip39_vectors):
    for _entropy, mnemonic, seed_hex, _xprv in bip39_vectors:
        assert keys.seed_from_mnemonic(mnemonic, "TREZOR").hex() == seed_hex


def test_seed_from_mnemonic_matches_bip_utils_for_random_mnemonics():
    rng = random.Random(39)
    for _ in range(40):
        words = rng.choice([12, 15, 18, 21, 24])
        mnemonic = Bip39MnemonicGenerator().FromEntropy(rng.randbytes(words * 4 // 3)).ToStr()
        passphrase = rng.choice(["", "TREZOR", "秘密", "pässwörd"])
        expected = Bip39SeedGenerator(mnemonic).Generate(passphrase)
        assert keys.seed_from_mnemonic(mnemonic, passphrase) == expected


def test_passphrase_is_nfkd_normalised_and_mnemonic_spacing_and_case_do_not_matter():
    mnemonic = "abandon " * 11 + "about"
    composed = unicodedata.normalize("NFC", "pässwörd")
    decomposed = unicodedata.normalize("NFD", "pässwörd")
    assert composed != decomposed
    assert keys.seed_from_mnemonic(mnemonic, composed) == keys.seed_from_mnemonic(
        mnemonic, decomposed
    )
    fullwidth = keys.seed_from_mnemonic(mnemonic, "ｐａｓｓ")
    assert fullwidth == keys.seed_from_mnemonic(mnemonic, "pass")
    messy = "  ABANDON   abandon\tabandon abandon abandon abandon abandon abandon abandon abandon "
    assert keys.seed_from_mnemonic(messy + "abandon About\n") == keys.seed_from_mnemonic(mnemonic)
    assert keys.seed_from_mnemonic(mnemonic) != keys.seed_from_mnemonic(mnemonic, " ")


@pytest.mark.parametrize(
    ("mnemonic", "message"),
    [
        ("abandon " * 11, "12, 15, 18, 21 or 24 words"),
        ("abandon " * 11 + "abandonx", "not BIP39 English words: abandonx"),
        ("abandon " * 12, "checksum"),
        ("about " + "abandon " * 11, "checksum"),
        ("", "not 0"),
    ],
)
def test_bad_mnemonics_get_clear_errors(mnemonic, message):
    with pytest.raises(ValueError, match=message):
        keys.seed_from_mnemonic(mnemonic)


# ---- host: derivation, accounts, addresses ----


def test_derive_private_matches_bip_utils():
    rng = random.Random(44)
    for _ in range(60):
        seed = rng.randbytes(rng.choice([16, 32, 64]))
        depth = rng.randrange(0, 6)
        indexes = [rng.choice([0, 1, H - 1, rng.randrange(H)]) for _ in range(depth)]
        indexes = [i | H if rng.random() < 0.5 else i for i in indexes]
        path = "/".join(["m"] + [f"{i & ~H}'" if i & H else str(i) for i in indexes])
        node = Bip32Slip10Secp256k1.FromSeed(seed).DerivePath(path)
        assert keys.derive_private(seed, path) == node.PrivateKey().Raw().ToBytes()
        assert keys.derive_node(seed, indexes) == (
            node.PrivateKey().Raw().ToBytes(),
            node.ChainCode().ToBytes(),
        )


def test_accounts_match_an_independent_derivation():
    rng = random.Random(389)
    for _ in range(60):
        seed = rng.randbytes(64)
        account = rng.choice([0, 1, H - 1, rng.randrange(H)])
        index = rng.choice([0, 1, H - 1, rng.randrange(H)])
        ed_seed, pub, address = oracle_account(seed, account, index)
        acct = keys.Account.from_seed(seed, account, index)
        assert acct.pubkey == pub
        assert acct.address_string == address
        assert acct.signing_key.encode() == ed_seed
        assert keys.decode_address(address) == acct.address == keys.address_from_pubkey(pub)


def test_default_account_is_m_44_389_0_0_0():
    seed = keys.seed_from_mnemonic("abandon " * 11 + "about")
    child = keys.derive_private(seed, "m/44'/389'/0'/0/0")
    assert keys.Account.from_seed(seed).pubkey == keys.Account.from_ed25519_seed(
        hashlib.sha256(child).digest()
    ).pubkey
    assert keys.qos_path() == [44 | H, 389 | H, H, 0, 0]


@pytest.mark.parametrize("bad", [-1, H, 2**32, 1.0, "0", None, True])
def test_qos_path_rejects_bad_account_and_index(bad):
    with pytest.raises(ValueError):
        keys.qos_path(bad, 0)
    with pytest.raises(ValueError):
        keys.qos_path(0, bad)


def test_bad_seeds_and_paths_are_rejected():
    for seed in (b"", bytes(15), bytes(65), "00" * 32):
        with pytest.raises(ValueError):
            keys.derive_private(seed, "m/0")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        keys.derive_private(bytes(32), [2**32])
    with pytest.raises(ValueError):
        keys.derive_private(bytes(32), [-1])


def test_sign_and_verify_on_the_host():
    acct = keys.Account.from_seed(bytes(range(64)), 3, 7)
    msg = b"qos transfer"
    sig = acct.sign(msg)
    assert len(sig) == 64
    assert keys.verify(acct.pubkey, msg, sig)
    assert not keys.verify(acct.pubkey, msg + b"!", sig)
    assert not keys.verify(acct.pubkey, msg, sig[:63] + bytes([sig[63] ^ 1]))
    other = keys.Account.from_seed(bytes(range(64)), 3, 8)
    assert not keys.verify(other.pubkey, msg, sig)


def test_account_keeps_its_secret_out_of_repr_and_is_frozen():
    acct = keys.Account.from_seed(bytes(64))
    assert "signing_key" not in repr(acct)
    assert acct.signing_key.encode().hex() not in repr(acct)
    with pytest.raises(dataclasses.FrozenInstanceError):
        acct.pubkey = bytes(32)  # type: ignore[misc]


def test_addresses_and_pubkeys_round_trip_through_bech32():
    rng = random.Random(1)
    for _ in range(50):
        addr = rng.randbytes(20)
        pub = rng.randbytes(32)
        text = keys.encode_address(addr)
        assert text.startswith("qosacc1") and keys.decode_address(text) == addr
        assert Bech32Decoder.Decode("qosacc", text) == addr
        assert keys.decode_address(keys.encode_address(addr, "qosval"), "qosval") == addr
        pub_text = keys.encode_pubkey(pub)
        assert pub_text.startswith("qosaccpub1") and keys.decode_pubkey(pub_text) == pub
        cons = keys.encode_pubkey(pub, keys.CONSENSUS_PUB_HRP)
        assert keys.decode_pubkey(cons, "qosconspub") == pub


def _bech32_of(hrp: str, payload: bytes) -> str:
    return bech32.bech32_encode(hrp, bech32.convertbits(list(payload), 8, 5, True))


GOOD = keys.encode_address(bytes(range(20)))


@pytest.mark.parametrize(
    ("text", "hrp", "message"),
    [
        (GOOD, "qosval", "must start with qosval1, not qosacc1"),
        (GOOD[:-1] + ("q" if GOOD[-1] != "q" else "p"), "qosacc", "checksum"),
        (GOOD[:10] + "b" + GOOD[11:], "qosacc", "bad characters"),
        (GOOD.upper()[:12] + GOOD[12:], "qosacc", "not a valid bech32"),
        (_bech32_of("qosacc", bytes(21)), "qosacc", "20 bytes"),
        (_bech32_of("qosacc", bytes(32)), "qosacc", "20 bytes"),
        ("", "qosacc", "not a valid bech32"),
        ("qosacc1", "qosacc", "not a valid bech32"),
    ],
)
def test_decode_address_errors_are_clear(text, hrp, message):
    with pytest.raises(ValueError, match=message):
        keys.decode_address(text, hrp)


def test_decode_address_accepts_all_upper_case_and_rejects_non_strings():
    assert keys.decode_address(GOOD.upper()) == bytes(range(20))
    with pytest.raises(ValueError):
        keys.decode_address(b"qosacc1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        keys.encode_address(bytes(19))
    with pytest.raises(ValueError):
        keys.address_from_pubkey(bytes(31))


# ---- firmware against host ----

FIRMWARE_DRIVER = """
import sys
from binascii import hexlify, unhexlify
from crypto import ed25519, ed25519_verify, keys
def h(b):
    return hexlify(b).decode()
while True:
    line = sys.stdin.readline().strip()
    if not line:
        break
    parts = line.split(" ")
    op = parts[0]
    try:
        if op == "forget":
            keys.forget()
            continue
        seed = unhexlify(parts[1])
        account = int(parts[2])
        index = int(parts[3])
        ed_seed, pub = keys.account_keypair(seed, account, index)
        if op == "key":
            msg = unhexlify(parts[4]) if len(parts) > 4 else b""
            sig = ed25519.sign(ed_seed, msg, pub)
            print(h(ed_seed), h(pub), h(keys.address(pub)), keys.address_string(pub),
                  keys.pubkey_string(pub), h(sig))
        elif op == "check":
            msg = unhexlify(parts[4])
            sig = unhexlify(parts[5])
            print(ed25519_verify.verify(pub, msg, sig), ed25519_verify.verify(pub, msg + b"x", sig))
    except ValueError as e:
        print("ValueError")
"""


def run_firmware(lines: list[str]) -> list[str]:
    out = runner.run(FIRMWARE_DRIVER, stdin=("\n".join(lines) + "\n").encode())
    return out.splitlines()


def host_line(seed: bytes, account: int, index: int, msg: bytes) -> str:
    acct = keys.Account.from_seed(seed, account, index)
    return " ".join(
        [
            acct.signing_key.encode().hex(),
            acct.pubkey.hex(),
            acct.address.hex(),
            acct.address_string,
            acct.pubkey_string,
            acct.sign(msg).hex(),
        ]
    )


def _random_seeds(rng: random.Random, count: int) -> list[bytes]:
    """Seeds of random 12-24 word mnemonics (PBKDF2 on the host), some with a passphrase."""
    english = Mnemonic("english")
    seeds = []
    for _ in range(count):
        phrase = english.to_mnemonic(rng.randbytes(rng.choice([16, 20, 24, 28, 32])))
        seeds.append(keys.seed_from_mnemonic(phrase, rng.choice(["", "", "qos", "密码"])))
    return seeds


def _edge_or_random(rng: random.Random) -> int:
    return rng.choice([0, 0, 1, 2, H - 1, H - 2]) if rng.random() < 0.4 else rng.randrange(H)


def test_firmware_keys_addresses_and_signatures_match_host():
    rng = random.Random(2019)
    seeds = _random_seeds(rng, 2000)
    lines, expected = [], []
    previous = seeds[0]
    for n, seed in enumerate(seeds):
        # Revisit the previous seed sometimes: the firmware caches by seed and account.
        if n % 7 == 3:
            seed = previous
        account = _edge_or_random(rng)
        indexes = [_edge_or_random(rng) for _ in range(1 if n % 4 else 3)]
        for index in indexes:
            msg = rng.randbytes(rng.choice([0, 1, 64, 200, rng.randrange(0, 300)]))
            lines.append(f"key {seed.hex()} {account} {index} {msg.hex()}")
            expected.append(host_line(seed, account, index, msg))
        if n % 50 == 0:
            lines.append("forget")
        previous = seed
    assert len(expected) >= 3000
    out = run_firmware(lines)
    assert len(out) == len(expected)
    key_lines = [line for line in lines if line.startswith("key ")]
    mismatches = [(key_lines[i], out[i], e) for i, e in enumerate(expected) if out[i] != e]
    assert not mismatches[:3]


def test_firmware_verifies_host_signatures_and_rejects_tampered_ones():
    rng = random.Random(7)
    lines = []
    for _ in range(40):
        seed, account, index = rng.randbytes(64), rng.randrange(H), rng.randrange(H)
        msg = rng.randbytes(rng.randrange(1, 100))
        sig = keys.Account.from_seed(seed, account, index).sign(msg)
        lines.append(f"check {seed.hex()} {account} {index} {msg.hex()} {sig.hex()}")
    assert run_firmware(lines) == ["True False"] * len(lines)


def test_firmware_rejects_bad_accounts_indexes_and_seeds():
    seed = bytes(64).hex()
    lines = [
        f"key {seed} -1 0",
        f"key {seed} 0 -1",
        f"key {seed} {H} 0",
        f"key {seed} 0 {H}",
        f"key {bytes(63).hex()} 0 0",
        f"key {bytes(65).hex()} 0 0",
        f"key {seed} 0 0",
    ]
    out = run_firmware(lines)
    assert out[:-1] == ["ValueError"] * (len(lines) - 1)
    assert out[-1] == host_line(bytes(64), 0, 0, b"")


E2E_DRIVER = """
import sys
from crypto import bip39, keys
while True:
    line = sys.stdin.readline()
    if not line:
        break
    phrase, passphrase, account, index = line.rstrip("\\n").split("|")
    seed = bip39.mnemonic_to_seed(phrase, passphrase)
    ed_seed, pub = keys.account_keypair(seed, int(account), int(index))
    print(keys.address_string(pub), keys.pubkey_string(pub))
"""


def test_mnemonic_to_address_end_to_end_on_the_device():
    """The whole chain on the device (its own BIP39 too) gives the host's addresses."""
    rng = random.Random(12)
    english = Mnemonic("english")
    cases = [("abandon " * 11 + "about", "", 0, 0)]
    for _ in range(25):
        phrase = english.to_mnemonic(rng.randbytes(rng.choice([16, 24, 32])))
        cases.append((phrase, rng.choice(["", "TREZOR", "qos wallet"]), *_account_index(rng)))
    lines = [f"{p}|{pp}|{a}|{i}" for p, pp, a, i in cases]
    out = runner.run(E2E_DRIVER, stdin=("\n".join(lines) + "\n").encode()).splitlines()
    expected = []
    for phrase, passphrase, account, index in cases:
        acct = keys.Account.from_mnemonic(phrase, passphrase, account, index)
        expected.append(f"{acct.address_string} {acct.pubkey_string}")
    assert out == expected


def _account_index(rng: random.Random) -> tuple[int, int]:
    return _edge_or_random(rng), _edge_or_random(rng)
