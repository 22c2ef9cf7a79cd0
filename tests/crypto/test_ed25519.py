"""Firmware ed25519 (firmware/crypto/ed25519.py) under the real MicroPython.

Oracles: the RFC 8032 section 7.1 test vectors and PyNaCl (libsodium). Every group of cases runs
in one interpreter process, driven line by line over stdin.
"""

from __future__ import annotations

import hashlib
import random

import nacl.bindings
import pytest
from nacl.signing import SigningKey

from host.core import keys as host_keys
from host.devtools import runner

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493

# RFC 8032 section 7.1: (secret key, public key, message, signature), all hex.
RFC8032_VECTORS = [
    (  # TEST 1
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        (
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
            "1cf9b46bd25bf5f0595bbe24655141438e7a100b"
        ),
    ),
    (  # TEST 2
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        (
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
            "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        ),
    ),
    (  # TEST 3
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        (
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760"
            "984dc6594a7c15e9716ed28dc027beceea1ec40a"
        ),
    ),
    (  # TEST 1024
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        (
            "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f5"
            "4e9f77b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37"
            "c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efc"
            "b8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b"
            "3b310da903401aa62100ab5d1a36553e06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573c"
            "b116dbefefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204"
            "ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958"
            "d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
            "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f27088d78b7e883c8759d2c4f5c6"
            "5adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2"
            "cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128bab27af87a"
            "71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b"
            "e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9"
            "b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb"
            "038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f672451"
            "7b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
            "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e"
            "2ab47b57f7f7276cd419c17a3ca8e1b939ae49e488acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d"
            "5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0"
            "f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041"
            "e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa9"
            "33a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380db2eaaa707b4c4185"
            "c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c"
            "15fc910840b94c00a0b9d0"
        ),
        (
            "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23"
            "c436d94b5e8fcd4f681e30a6ac00a9704a188a03"
        ),
    ),
    (  # TEST SHA(abc)
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        (
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23"
            "a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        ),
        (
            "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c6"
            "6431e0303dca179c138ac17ad9bef1177331a704"
        ),
    ),
]

DRIVER = """
import sys
from binascii import hexlify, unhexlify
from crypto import ed25519, ed25519_verify
while True:
    line = sys.stdin.readline().strip()
    if not line:
        break
    args = [unhexlify(a) if a != "-" else b"" for a in line.split(" ")[1:]]
    op = line.split(" ")[0]
    try:
        if op == "pub":
            print(hexlify(ed25519.public_key(args[0])).decode())
        elif op == "sign":
            pub = ed25519.public_key(args[0])
            sig = ed25519.sign(args[0], args[1])
            assert ed25519.sign(args[0], args[1], pub) == sig
            ok = ed25519_verify.verify(pub, args[1], sig)
            print(hexlify(pub).decode(), hexlify(sig).decode(), ok)
        elif op == "verify":
            print(ed25519_verify.verify(args[0], args[1], args[2]))
        elif op == "decode":
            print(hexlify(ed25519.encode_point(ed25519_verify.decode_point(args[0]))).decode())
        elif op == "consts":
            print(ed25519.D, ed25519.D2, ed25519.SQRT_M1, ed25519.BX, ed25519.BY, ed25519.L)
    except ValueError as e:
        print("ValueError")
"""


def hx(data: bytes) -> str:
    return data.hex() if data else "-"


def run_ops(lines: list[str]) -> list[str]:
    out = runner.run(DRIVER, stdin=("\n".join(lines) + "\n").encode())
    return out.splitlines()


def test_curve_constants_follow_from_their_definitions():
    d = -121665 * pow(121666, P - 2, P) % P
    by = 4 * pow(5, P - 2, P) % P
    bx = pow((by * by - 1) * pow(d * by * by + 1, P - 2, P) % P, (P + 3) // 8, P)
    if (bx * bx - (by * by - 1) * pow(d * by * by + 1, P - 2, P)) % P:
        bx = bx * pow(2, (P - 1) // 4, P) % P
    if bx & 1:
        bx = P - bx
    expected = [d, 2 * d % P, pow(2, (P - 1) // 4, P), bx, by, L]
    assert run_ops(["consts"]) == [" ".join(str(v) for v in expected)]


def test_rfc8032_vectors_under_micropython():
    lines, expected = [], []
    for secret, public, message, signature in RFC8032_VECTORS:
        lines.append(f"sign {secret} {hx(bytes.fromhex(message))}")
        expected.append(f"{public} {signature} True")
        lines.append(f"verify {public} {hx(bytes.fromhex(message))} {signature}")
        expected.append("True")
    assert run_ops(lines) == expected


def test_random_keys_and_messages_match_libsodium():
    rng = random.Random(25519)
    lines, expected = [], []
    for _ in range(150):
        seed = rng.randbytes(32)
        size = rng.choice([0, 1, 111, 112, 127, 128, 129, 239, 240, 256, rng.randrange(0, 600)])
        msg = rng.randbytes(size)
        key = SigningKey(seed)
        lines.append(f"sign {seed.hex()} {hx(msg)}")
        expected.append(f"{bytes(key.verify_key).hex()} {key.sign(msg).signature.hex()} True")
    assert run_ops(lines) == expected


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _tampered_cases(rng: random.Random) -> list[tuple[bytes, bytes, bytes]]:
    cases = []
    for _ in range(40):
        key = SigningKey(rng.randbytes(32))
        pub = bytes(key.verify_key)
        msg = rng.randbytes(rng.randrange(1, 200))
        sig = key.sign(msg).signature
        s = int.from_bytes(sig[32:], "little")
        other = bytes(SigningKey(rng.randbytes(32)).verify_key)
        cases += [
            (pub, _flip(msg, rng.randrange(len(msg) * 8)), sig),
            (pub, msg + b"\x00", sig),
            (pub, msg, _flip(sig, rng.randrange(256))),  # R
            (pub, msg, _flip(sig, 256 + rng.randrange(252))),  # S, staying below 2^252
            (pub, msg, sig[:32] + (s + L).to_bytes(32, "little")),  # same S, not canonical
            (_flip(pub, rng.randrange(255)), msg, sig),
            (other, msg, sig),
        ]
    return cases


def test_verify_rejects_tampered_signatures_messages_and_keys():
    cases = _tampered_cases(random.Random(7))
    for pub, msg, sig in cases:
        assert not host_keys.verify(pub, msg, sig)
    lines = [f"verify {hx(pub)} {hx(msg)} {hx(sig)}" for pub, msg, sig in cases]
    assert run_ops(lines) == ["False"] * len(cases)


def _encode_y(y: int, sign: int = 0) -> bytes:
    return (y | (sign << 255)).to_bytes(32, "little")


IDENTITY = _encode_y(1)
SMALL_ORDER = [
    IDENTITY,
    _encode_y(P - 1),  # order 2
    _encode_y(0),  # order 4
    _encode_y(0, 1),
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),  # order 8
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
]


def test_small_order_keys_and_r_are_rejected_even_when_the_equation_holds():
    assert not any(nacl.bindings.crypto_core_ed25519_is_valid_point(p) for p in SMALL_ORDER)
    rng = random.Random(8)
    lines = []
    msg = b"small order"
    # A = identity: [S]B == R + [k]A holds for any message when R = [S]B.
    s = rng.randrange(1, L)
    r_bytes = nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(s.to_bytes(32, "little"))
    forged = r_bytes + s.to_bytes(32, "little")
    assert not host_keys.verify(IDENTITY, msg, forged)
    lines.append(f"verify {IDENTITY.hex()} {msg.hex()} {forged.hex()}")
    # R = identity: pick S = k*a so that [S]B == [k]A.
    a = rng.randrange(1, L)
    pub = nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(a.to_bytes(32, "little"))
    k = int.from_bytes(hashlib.sha512(IDENTITY + pub + msg).digest(), "little") % L
    forged = IDENTITY + (k * a % L).to_bytes(32, "little")
    assert not host_keys.verify(pub, msg, forged)
    lines.append(f"verify {pub.hex()} {msg.hex()} {forged.hex()}")
    # Any small-order A or R with an otherwise good signature.
    key = SigningKey(rng.randbytes(32))
    sig = key.sign(msg).signature
    for point in SMALL_ORDER:
        lines.append(f"verify {point.hex()} {msg.hex()} {sig.hex()}")
        lines.append(f"verify {bytes(key.verify_key).hex()} {msg.hex()} {(point + sig[32:]).hex()}")
    assert run_ops(lines) == ["False"] * len(lines)


def test_point_decoding_is_strict():
    rng = random.Random(9)
    lines, expected = [], []
    for _ in range(20):  # canonical encodings round-trip
        pub = bytes(SigningKey(rng.randbytes(32)).verify_key)
        lines.append(f"decode {pub.hex()}")
        expected.append(pub.hex())
    for y in range(0, 19):  # y + p is a second, non-canonical encoding of y
        lines.append(f"decode {_encode_y(y + P).hex()}")
        expected.append("ValueError")
    for y in (P, 2**255 - 1):
        lines.append(f"decode {_encode_y(y, 1).hex()}")
        expected.append("ValueError")
    lines.append(f"decode {_encode_y(1, 1).hex()}")  # x = 0 with the sign bit set
    expected.append("ValueError")
    off_curve = [y for y in range(2, 60) if not _on_curve(y)][:5]
    assert off_curve
    for y in off_curve:
        lines.append(f"decode {_encode_y(y).hex()}")
        expected.append("ValueError")
    lines += ["decode " + "00" * 31, "decode " + "00" * 33]
    expected += ["ValueError", "ValueError"]
    assert run_ops(lines) == expected


def _on_curve(y: int) -> bool:
    d = -121665 * pow(121666, P - 2, P) % P
    x2 = (y * y - 1) * pow(d * y * y + 1, P - 2, P) % P
    return x2 == 0 or pow(x2, (P - 1) // 2, P) == 1


def test_non_canonical_key_encoding_of_a_valid_key_is_rejected():
    # y in [2, 19) on the curve: the same point written as y + p must not verify.
    y = next(y for y in range(2, 19) if _on_curve(y))
    lines = [f"decode {_encode_y(y).hex()}", f"decode {_encode_y(y + P).hex()}"]
    assert run_ops(lines) == [_encode_y(y).hex(), "ValueError"]


def test_malformed_inputs():
    lines = [
        "verify " + "00" * 31 + " 00 " + "00" * 64,
        "verify " + "11" * 32 + " 00 " + "00" * 63,
        "verify " + "11" * 32 + " 00 " + "00" * 65,
        "pub " + "00" * 31,
        "pub " + "00" * 33,
    ]
    assert run_ops(lines) == ["False", "False", "False", "ValueError", "ValueError"]


def test_host_verify_rejects_wrong_lengths():
    key = SigningKey(bytes(32))
    sig = key.sign(b"m").signature
    assert host_keys.verify(bytes(key.verify_key), b"m", sig)
    assert not host_keys.verify(bytes(key.verify_key)[:31], b"m", sig)
    assert not host_keys.verify(bytes(key.verify_key), b"m", sig[:63])


@pytest.mark.parametrize("index", range(len(RFC8032_VECTORS)))
def test_host_oracle_agrees_with_rfc8032(index):
    secret, public, message, signature = RFC8032_VECTORS[index]
    key = SigningKey(bytes.fromhex(secret))
    assert bytes(key.verify_key).hex() == public
    assert key.sign(bytes.fromhex(message)).signature.hex() == signature
