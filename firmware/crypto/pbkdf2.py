# PBKDF2 (RFC 8018) with HMAC-SHA512 (BIP39 seeds) and HMAC-SHA256.
#
# For SHA-512 the HMAC key is absorbed once; every iteration then costs exactly two compressions
# run by crypto.sha512.hmac_iterate on preallocated buffers (nothing is allocated per iteration).

import hashlib
import struct
from array import array

from crypto import sha512 as _sha512
from crypto.hmac import _as_bytes, hmac_sha256, hmac_sha512_with, sha512_key_states

# Iterations between progress reports: often enough for a smooth bar, rare enough to cost nothing.
_PROGRESS_STEP = 256


def _check_params(iterations, dklen, digest_size):
    if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 1:
        raise ValueError("PBKDF2 iterations must be a positive integer")
    if not isinstance(dklen, int) or isinstance(dklen, bool) or dklen < 1:
        raise ValueError("PBKDF2 dklen must be a positive integer")
    if dklen > 0xFFFFFFFF * digest_size:
        raise ValueError("PBKDF2 dklen too large")
    return (dklen + digest_size - 1) // digest_size


def _derive(block, blocks, iterations, progress):
    """Each output block: block.start(i) computes U1, iterate() the other rounds; with progress."""
    total = blocks * iterations
    done = 0
    if progress:
        progress(0, total)
    out = bytearray()
    for index in range(1, blocks + 1):
        block.start(index)
        done += 1
        remaining = iterations - 1
        while remaining:
            step = min(remaining, _PROGRESS_STEP)
            block.iterate(step)
            remaining -= step
            done += step
            if progress:
                progress(done, total)
        out.extend(block.result())
    if progress and iterations == 1:  # no report came from the loop: report the end
        progress(total, total)
    return out


class _Sha512Block:
    # ctx halves: [0:16] inner key state, [16:32] outer key state, [32:48] U, [48:64] T.
    def __init__(self, password, salt):
        self.states = sha512_key_states(password)
        self.salt = salt
        self.ctx = array("I", [0] * 64)
        self.scratch = array("I", [0] * 16)
        for i in range(16):
            self.ctx[i] = self.states[0]._h[i]
            self.ctx[16 + i] = self.states[1]._h[i]

    def start(self, index):
        u1 = hmac_sha512_with(self.states, self.salt + struct.pack(">I", index))
        words = struct.unpack(">16I", u1)
        for i in range(16):
            self.ctx[32 + i] = words[i]
            self.ctx[48 + i] = words[i]

    def iterate(self, n):
        _sha512.hmac_iterate(self.ctx, self.scratch, _sha512.W, _sha512.K, n)

    def result(self):
        return struct.pack(">16I", *self.ctx[48:64])

    def wipe(self):
        # Key states, U and T are key material; the arrays can be zeroed in place.
        for i in range(64):
            self.ctx[i] = 0
        for i in range(16):
            self.scratch[i] = 0
        self.states[0].wipe()
        self.states[1].wipe()
        _sha512.wipe_scratch()


def pbkdf2_hmac_sha512(password, salt, iterations, dklen=64, progress=None):
    """PBKDF2-HMAC-SHA512. progress(done, total) is called at the start, every 256 iterations and
    at the end; it may raise to cancel, and the exception comes out of this call."""
    return _pbkdf2(_Sha512Block, 64, password, salt, iterations, dklen, progress)


class _Sha256Block:
    # The port's sha256 objects cannot be copied, so each HMAC restarts from the padded key (four
    # C compressions per round instead of two). T is a bytearray XORed in place by a kernel, not a
    # big integer, so the time does not depend on the bytes.
    def __init__(self, password, salt):
        if len(password) > 64:
            password = hashlib.sha256(password).digest()
        self.password = password
        self.salt = salt
        self.t = bytearray(32)

    def start(self, index):
        self.u = hmac_sha256(self.password, self.salt + struct.pack(">I", index))
        self.t[:] = self.u

    def iterate(self, n):
        password = self.password
        t = self.t
        xor_into = _sha512.xor_into
        u = self.u
        for _ in range(n):
            u = hmac_sha256(password, u)
            xor_into(t, u, 32)
        self.u = u

    def result(self):
        return bytes(self.t)

    def wipe(self):
        for i in range(32):
            self.t[i] = 0


def pbkdf2_hmac_sha256(password, salt, iterations, dklen=32, progress=None):
    """PBKDF2-HMAC-SHA256 (dklen defaults to the 32-byte digest size); progress as for SHA-512."""
    return _pbkdf2(_Sha256Block, 32, password, salt, iterations, dklen, progress)


def _pbkdf2(block_class, digest_size, password, salt, iterations, dklen, progress):
    password = _as_bytes(password, "key")
    salt = _as_bytes(salt, "message")
    blocks = _check_params(iterations, dklen, digest_size)
    block = block_class(password, salt)
    try:
        out = _derive(block, blocks, iterations, progress)
    finally:  # also when progress raised to cancel
        block.wipe()
    return bytes(out[:dklen])
