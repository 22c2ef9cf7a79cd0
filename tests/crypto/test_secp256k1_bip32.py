"""Firmware secp256k1 and BIP32 (firmware/crypto/secp256k1.py, bip32.py) under the real MicroPython.

Oracles: the BIP32 test vectors 1-3 (extended keys decoded here), coincurve (libsecp256k1) for
points, and host/core/keys.py (itself checked against bip_utils in test_keys.py) for derivation.
Every group of cases runs in one interpreter process.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import coincurve
import pytest

from host.core import keys as host_keys
from host.devtools import runner

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
H = 0x80000000

# BIP32 test vectors (bitcoin/bips bip-0032.mediawiki, "Test Vectors"): seed, then
# (path, ext pub, ext prv) per chain.
BIP32_VECTORS = [
    (
        "000102030405060708090a0b0c0d0e0f",
        [
            (
                "m",
                "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
                "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
            ),
            (
                "m/0H",
                "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw",
                "xprv9uHRZZhk6KAJC1avXpDAp4MDc3sQKNxDiPvvkX8Br5ngLNv1TxvUxt4cV1rGL5hj6KCesnDYUhd7oWgT11eZG7XnxHrnYeSvkzY7d2bhkJ7",
            ),
            (
                "m/0H/1",
                "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ",
                "xprv9wTYmMFdV23N2TdNG573QoEsfRrWKQgWeibmLntzniatZvR9BmLnvSxqu53Kw1UmYPxLgboyZQaXwTCg8MSY3H2EU4pWcQDnRnrVA1xe8fs",
            ),
            (
                "m/0H/1/2H",
                "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5",
                "xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSAewRiNMjANTtpgP4mLTj34bhnZX7UiM",
            ),
            (
                "m/0H/1/2H/2",
                "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV",
                "xprvA2JDeKCSNNZky6uBCviVfJSKyQ1mDYahRjijr5idH2WwLsEd4Hsb2Tyh8RfQMuPh7f7RtyzTtdrbdqqsunu5Mm3wDvUAKRHSC34sJ7in334",
            ),
            (
                "m/0H/1/2H/2/1000000000",
                "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy",
                "xprvA41z7zogVVwxVSgdKUHDy1SKmdb533PjDz7J6N6mV6uS3ze1ai8FHa8kmHScGpWmj4WggLyQjgPie1rFSruoUihUZREPSL39UNdE3BBDu76",
            ),
        ],
    ),
    (
        "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542",
        [
            (
                "m",
                "xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB",
                "xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSBHNqPqm55Qn3LqFtT2emdEXVYsCzC2U",
            ),
            (
                "m/0",
                "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH",
                "xprv9vHkqa6EV4sPZHYqZznhT2NPtPCjKuDKGY38FBWLvgaDx45zo9WQRUT3dKYnjwih2yJD9mkrocEZXo1ex8G81dwSM1fwqWpWkeS3v86pgKt",
            ),
            (
                "m/0/2147483647H",
                "xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNRts8RuJiHjaDMBU4Zn9h8LZNnBC5y4a",
                "xprv9wSp6B7kry3Vj9m1zSnLvN3xH8RdsPP1Mh7fAaR7aRLcQMKTR2vidYEeEg2mUCTAwCd6vnxVrcjfy2kRgVsFawNzmjuHc2YmYRmagcEPdU9",
            ),
            (
                "m/0/2147483647H/1",
                "xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCWh89LojfZ537wTfunKau47EL2dhHKon",
                "xprv9zFnWC6h2cLgpmSA46vutJzBcfJ8yaJGg8cX1e5StJh45BBciYTRXSd25UEPVuesF9yog62tGAQtHjXajPPdbRCHuWS6T8XA2ECKADdw4Ef",
            ),
            (
                "m/0/2147483647H/1/2147483646H",
                "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL",
                "xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc",
            ),
            (
                "m/0/2147483647H/1/2147483646H/2",
                "xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3emM2rnY5agb9rXpVGyy3bdW6EEgAtqt",
                "xprvA2nrNbFZABcdryreWet9Ea4LvTJcGsqrMzxHx98MMrotbir7yrKCEXw7nadnHM8Dq38EGfSh6dqA9QWTyefMLEcBYJUuekgW4BYPJcr9E7j",
            ),
        ],
    ),
    (
        "4b381541583be4423346c643850da4b320e46a87ae3d2a4e6da11eba819cd4acba45d239319ac14f863b8d5ab5a0d0c64d2e8a1e7d1457df2e5a3c51c73235be",
        [
            (
                "m",
                "xpub661MyMwAqRbcEZVB4dScxMAdx6d4nFc9nvyvH3v4gJL378CSRZiYmhRoP7mBy6gSPSCYk6SzXPTf3ND1cZAceL7SfJ1Z3GC8vBgp2epUt13",
                "xprv9s21ZrQH143K25QhxbucbDDuQ4naNntJRi4KUfWT7xo4EKsHt2QJDu7KXp1A3u7Bi1j8ph3EGsZ9Xvz9dGuVrtHHs7pXeTzjuxBrCmmhgC6",
            ),
            (
                "m/0H",
                "xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y",
                "xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcBUdJCVVFceUvJFjaPdGZ2y9WACViL4L",
            ),
        ],
    ),
]

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58check_decode(text: str) -> bytes:
    value = 0
    for ch in text:
        value = value * 58 + _B58.index(ch)
    raw = value.to_bytes(82, "big")  # extended keys are 78 bytes + 4 checksum bytes
    payload, checksum = raw[:-4], raw[-4:]
    assert hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == checksum
    return payload


def decode_extended(text: str) -> tuple[bytes, bytes]:
    """xprv/xpub -> (chain code, 33-byte key field)."""
    raw = base58check_decode(text)
    assert len(raw) == 78
    return raw[13:45], raw[45:78]


def run_lines(driver: str, lines: list[str], extra_path: list[Path] | None = None) -> list[str]:
    stdin = ("\n".join(lines) + "\n").encode()
    out = runner.run(driver, stdin=stdin, extra_path=extra_path)
    return out.splitlines()


DERIVE_DRIVER = """
import sys
from binascii import hexlify, unhexlify
from crypto import bip32
while True:
    line = sys.stdin.readline().strip()
    if not line:
        break
    seed_hex, path = line.split(" ")
    try:
        key, chain = bip32.derive(unhexlify(seed_hex), path)
        pub = bip32.public_key(key)
        print(hexlify(key).decode(), hexlify(chain).decode(), hexlify(pub).decode())
    except ValueError as e:
        print("ValueError", e)
"""


def test_bip32_official_vectors_under_micropython():
    lines, expected = [], []
    for seed_hex, chains in BIP32_VECTORS:
        for path, xpub, xprv in chains:
            chain_code, key_field = decode_extended(xprv)
            pub_chain, pub_field = decode_extended(xpub)
            assert key_field[0] == 0 and pub_chain == chain_code
            lines.append(f"{seed_hex} {path}")
            expected.append(f"{key_field[1:].hex()} {chain_code.hex()} {pub_field.hex()}")
    assert run_lines(DERIVE_DRIVER, lines) == expected


def _random_path(rng: random.Random) -> str:
    edge = [0, 1, H - 1, H - 2]
    parts = ["m"]
    for _ in range(rng.randrange(0, 7)):
        index = rng.choice(edge) if rng.random() < 0.3 else rng.randrange(0, H)
        parts.append(f"{index}'" if rng.random() < 0.5 else str(index))
    return "/".join(parts)


def test_bip32_random_seeds_and_paths_match_host():
    rng = random.Random(32)
    lines, expected = [], []
    for _ in range(150):
        seed = rng.randbytes(rng.choice([16, 32, 64, rng.randrange(16, 65)]))
        path = _random_path(rng)
        key, chain = host_keys.derive_node(seed, path)
        pub = coincurve.PrivateKey(key).public_key.format(compressed=True)
        lines.append(f"{seed.hex()} {path}")
        expected.append(f"{key.hex()} {chain.hex()} {pub.hex()}")
    assert run_lines(DERIVE_DRIVER, lines) == expected


def test_bip32_rejects_bad_seeds():
    lines = [f"{'00' * 15} m", f"{'00' * 65} m", f"{'ab' * 15} m/0"]
    out = run_lines(DERIVE_DRIVER, lines)
    assert all(line.startswith("ValueError") for line in out), out


PARSE_DRIVER = """
import sys
from crypto import bip32
while True:
    line = sys.stdin.readline()
    if not line:
        break
    try:
        print(bip32.parse_path(line.rstrip("\\n")))
    except ValueError:
        print("ValueError")
"""

GOOD_PATHS = [
    "m",
    "m/0",
    "m/44'/389'/0'/0/5",
    "m/44h/389H/7'/0/2147483647",
    "m/2147483647'/0",
    "m/1/2/3/4/5/6/7/8/9/10",
]
BAD_PATHS = [
    "",
    "M/0",
    "/0",
    "m/",
    "m//0",
    "m/-1",
    "m/+1",
    "m/01",
    "m/2147483648",
    "m/2147483648'",
    "m/99999999999",
    "m/1''",
    "m/1x",
    "m/ 1",
    "m/0x10",
    "n/0",
    "m/1'/",
    "m/१",
]


def test_parse_path_agrees_with_host_and_rejects_bad_paths():
    out = run_lines(PARSE_DRIVER, GOOD_PATHS + BAD_PATHS)
    assert out[: len(GOOD_PATHS)] == [str(host_keys.parse_path(p)) for p in GOOD_PATHS]
    assert out[2] == str([44 | H, 389 | H, 0 | H, 0, 5])
    assert out[len(GOOD_PATHS) :] == ["ValueError"] * len(BAD_PATHS)
    for bad in BAD_PATHS:
        with pytest.raises(ValueError):
            host_keys.parse_path(bad)


POINT_DRIVER = """
import sys
from binascii import hexlify, unhexlify
from crypto import _comb, secp256k1
while True:
    line = sys.stdin.readline().strip()
    if not line:
        break
    op, arg = line.split(" ")
    try:
        if op == "pub":
            print(hexlify(secp256k1.public_key(unhexlify(arg))).decode())
        elif op == "add":
            a, b = arg.split(",")
            print(hex(secp256k1.add_scalars(int(a, 16), int(b, 16))))
        elif op == "inv":
            a, m = arg.split(",")
            print(hex(_comb.inverse(int(a, 16), int(m, 16))))
        elif op == "binv":
            import comb_build  # a generator of firmware/tools: not on a board

            values, m = arg.split(";")
            m = int(m, 16)
            print(",".join(hex(v) for v in comb_build.batch_inverse(
                [int(a, 16) for a in values.split(",")], m)))
    except ValueError:
        print("ValueError")
"""


def _scalars(rng: random.Random) -> list[int]:
    edges = [1, 2, 3, N - 1, N - 2, (N - 1) // 2, 2**255, 2**128, 2**43 - 1, 2**200 + 1]
    edges += [1 << i for i in range(0, 256, 37)]
    return edges + [rng.randrange(1, N) for _ in range(300)]


def test_public_keys_match_libsecp256k1():
    rng = random.Random(256)
    scalars = _scalars(rng)
    lines = [f"pub {k.to_bytes(32, 'big').hex()}" for k in scalars]
    expected = [
        coincurve.PrivateKey(k.to_bytes(32, "big")).public_key.format(compressed=True).hex()
        for k in scalars
    ]
    assert run_lines(POINT_DRIVER, lines) == expected


def test_invalid_private_keys_are_rejected():
    bad = [0, N, N + 1, 2**256 - 1]
    lines = [f"pub {k.to_bytes(32, 'big').hex()}" for k in bad]
    lines += ["pub " + "01" * 31, "pub " + "01" * 33]
    assert run_lines(POINT_DRIVER, lines) == ["ValueError"] * len(lines)


def test_scalar_addition_is_mod_n():
    cases = [(N - 1, 1), (N - 1, N - 1), (5, 7), (N - 3, 10)]
    lines = [f"add {a:x},{b:x}" for a, b in cases]
    assert run_lines(POINT_DRIVER, lines) == [hex((a + b) % N) for a, b in cases]


def test_modular_inverse_matches_python():
    rng = random.Random(5)
    cases = [(1, P), (P - 1, P), (2, N), (N - 1, N), (P + 5, P)]
    cases += [(rng.randrange(1, m), m) for m in (P, N, 2**255 - 19) for _ in range(30)]
    lines = [f"inv {a:x},{m:x}" for a, m in cases]
    lines += [f"inv 0,{P:x}", f"inv {P:x},{P:x}", "inv 6,9"]
    expected = [hex(pow(a, -1, m)) for a, m in cases] + ["ValueError"] * 3
    assert run_lines(POINT_DRIVER, lines) == expected


def test_batch_inversion_of_the_table_builder_matches_python(tools_path):
    # The comb tables' Montgomery trick must agree value by value.
    rng = random.Random(6)
    batches = [(m, [rng.randrange(1, m) for _ in range(n)]) for m in (P, N) for n in (1, 2, 63)]
    lines = [f"binv {','.join(f'{a:x}' for a in batch)};{m:x}" for m, batch in batches]
    expected = [",".join(hex(pow(a, -1, m)) for a in batch) for m, batch in batches]
    lines.append(f"binv 3,0,5;{P:x}")  # one value 0: the product is 0, nothing is invertible
    expected.append("ValueError")
    assert run_lines(POINT_DRIVER, lines, tools_path) == expected
