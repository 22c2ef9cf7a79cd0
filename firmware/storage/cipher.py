# AES-256-CTR (built on cryptolib's ECB, the mode every MicroPython port has) and HMAC-SHA256
# helpers for the vault: encrypt-then-MAC, keys split from one secret by HMAC labels.
import cryptolib
import struct


def mac(key, *parts):
    from crypto import hmac

    return hmac.hmac_sha256(key, b"".join(parts))


def subkeys(secret):
    return mac(secret, b"qos/enc"), mac(secret, b"qos/mac")


def ctr(key, nonce, data):
    # nonce is 16 bytes; its last 4 bytes are the big-endian block counter's starting value.
    ecb = cryptolib.aes(key, 1)
    out = bytearray(len(data))
    prefix = nonce[:12]
    start = struct.unpack(">I", nonce[12:16])[0]
    block = bytearray(16)
    for i in range(0, len(data), 16):
        counter = prefix + struct.pack(">I", (start + i // 16) & 0xFFFFFFFF)
        ecb.encrypt(counter, block)
        chunk = data[i:i + 16]
        for j in range(len(chunk)):
            out[i + j] = chunk[j] ^ block[j]
    return bytes(out)


def equal(a, b):
    # Compares MACs without an early exit.
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
