# SHA-512 (FIPS 180-4) for the device: MicroPython's hashlib has no sha512.
#
# A 64-bit word is kept as two 32-bit halves (high, low) in array('I') buffers, so the same data
# layout serves the viper kernels (crypto._sha512_viper, fast, machine-word arithmetic that is
# correct with 32-bit words on boards and 64-bit words on the unix port) and the plain-Python
# fallback (crypto._sha512_plain: slow, any MicroPython or CPython; not loaded where viper works).
# Which kernels run is decided once at import; use_viper(False) switches to the fallback (tests
# compare both). The kernels import nothing from here: the round constants K are an argument.
#
# The message schedule buffer is shared by every hash object: compressions never yield, and the
# firmware runs one thread, so sharing saves 640 bytes per object and any allocation per block.

import struct
from array import array
from binascii import unhexlify

# First 64 bits of the fractional parts of the cube roots of the first 80 primes.
_K_HEX = (
    "428a2f98d728ae227137449123ef65cdb5c0fbcfec4d3b2fe9b5dba58189dbbc3956c25bf348b53859f111f1b605d019"
    "923f82a4af194f9bab1c5ed5da6d8118d807aa98a303024212835b0145706fbe243185be4ee4b28c550c7dc3d5ffb4e2"
    "72be5d74f27b896f80deb1fe3b1696b19bdc06a725c71235c19bf174cf692694e49b69c19ef14ad2efbe4786384f25e3"
    "0fc19dc68b8cd5b5240ca1cc77ac9c652de92c6f592b02754a7484aa6ea6e4835cb0a9dcbd41fbd476f988da831153b5"
    "983e5152ee66dfaba831c66d2db43210b00327c898fb213fbf597fc7beef0ee4c6e00bf33da88fc2d5a79147930aa725"
    "06ca6351e003826f142929670a0e6e7027b70a8546d22ffc2e1b21385c26c9264d2c6dfc5ac42aed53380d139d95b3df"
    "650a73548baf63de766a0abb3c77b2a881c2c92e47edaee692722c851482353ba2bfe8a14cf10364a81a664bbc423001"
    "c24b8b70d0f89791c76c51a30654be30d192e819d6ef5218d69906245565a910f40e35855771202a106aa07032bbd1b8"
    "19a4c116b8d2d0c81e376c085141ab532748774cdf8eeb9934b0bcb5e19b48a8391c0cb3c5c95a634ed8aa4ae3418acb"
    "5b9cca4f7763e373682e6ff3d6b2b8a3748f82ee5defb2fc78a5636f43172f6084c87814a1f0ab728cc702081a6439ec"
    "90befffa23631e28a4506cebde82bde9bef9a3f7b2c67915c67178f2e372532bca273eceea26619cd186b8c721c0c207"
    "eada7dd6cde0eb1ef57d4f7fee6ed17806f067aa72176fba0a637dc5a2c898a6113f9804bef90dae1b710b35131c471b"
    "28db77f523047d8432caab7b40c724933c9ebe0a15c9bebc431d67c49c100d4c4cc5d4becb3e42b6597f299cfc657e2a"
    "5fcb6fab3ad6faec6c44198c4a475817"
)
# First 64 bits of the fractional parts of the square roots of the first 8 primes.
_IV_HEX = (
    "6a09e667f3bcc908bb67ae8584caa73b3c6ef372fe94f82ba54ff53a5f1d36f1510e527fade682d19b05688c2b3e6c1f"
    "1f83d9abfb41bd6b5be0cd19137e2179"
)

K = array("I", struct.unpack(">160I", unhexlify(_K_HEX)))
IV = struct.unpack(">16I", unhexlify(_IV_HEX))
del _K_HEX, _IV_HEX

DIGEST_SIZE = 64
BLOCK_SIZE = 128

# Message schedule: 80 words as 160 halves; the first 32 halves hold the block being compressed.
W = array("I", [0] * 160)


def wipe_scratch():
    """Zeroes the shared message schedule, which keeps the last block hashed (key material after
    HMAC or PBKDF2). Arrays can be overwritten in place; bytes objects cannot."""
    for i in range(160):
        W[i] = 0


def new_state():
    """A fresh chaining state: 8 words as 16 halves."""
    return array("I", IV)


# ---- kernel selection ----

VIPER = False
# Why the viper kernels are not in use, when they are not ("" when they are or were not asked for)
VIPER_REFUSED = ""

# Known answers the viper kernels must give before they are trusted: they are machine code
# compiled for each board's core (our tests run them on the unix port and on QEMU's Cortex-M55 and
# Cortex-M0, not on every chip and MicroPython they may meet), and a wrong kernel would derive
# wrong keys without a sign. SHA-512("abc") (FIPS 180-2's example), and two PBKDF2 rounds over a
# fixed context (what the plain kernels give).
_ABC_BLOCK = b"abc\x80" + bytes(123) + b"\x18"
_ABC_DIGEST = (
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
)
_ROUNDS_RESULT = (
    "8602c732b3bc29c616e37cc5159e6c05432c77f2310a492bd435b762f92edb29"
    "35291894176b7a21ae0e106616e89d59a13c75531b73f0e7da7d16fe57adcdbc"
    "4b3b4d998d1a6402b43362f7ca7127e7dd2ae126f83e2e0a326c2978f35961238"
    "364846e8498af1a5ca1afc9e3a94e1673344e4d4a57448db2a72b0b152d14f3"
)


def _gives_known_answers(kernels):
    w = array("I", [0] * 160)
    h = array("I", IV)
    kernels.load_block(w, _ABC_BLOCK, 0)
    kernels.compress(h, w, K)
    ctx = array("I", [(i * 0x9E3779B9) & 0xFFFFFFFF for i in range(64)])
    kernels.hmac_iterate(ctx, array("I", [0] * 16), w, K, 2)
    mixed = bytearray(b"\x0f\xf0")
    kernels.xor_into(mixed, b"\xff\x0f", 2)
    return (
        struct.pack(">16I", *h) == unhexlify(_ABC_DIGEST)
        and struct.pack(">32I", *ctx[32:]) == unhexlify(_ROUNDS_RESULT)
        and mixed == b"\xf0\xff"
    )


def use_viper(enable=True):
    """Selects the viper kernels (when this MicroPython has the viper emitter and they give the
    known answers) or the plain ones (crypto._sha512_plain, imported only then). Returns whether
    viper kernels are now in use; VIPER_REFUSED says why not."""
    global compress, load_block, hmac_iterate, xor_into, VIPER, VIPER_REFUSED
    kernels = None
    VIPER = False
    VIPER_REFUSED = ""
    if enable:
        try:
            from crypto import _sha512_viper as kernels
        except Exception as e:  # no viper emitter (compile error) or not MicroPython (no module)
            kernels = None
            VIPER_REFUSED = "not loaded: %r" % e
        if kernels is not None:
            try:
                right = _gives_known_answers(kernels)
            except Exception as e:  # a kernel that cannot run here
                right = False
                VIPER_REFUSED = "known answers: %r" % e
            if not right:
                kernels = None
                VIPER_REFUSED = VIPER_REFUSED or "wrong known answers"
        VIPER = kernels is not None
    if kernels is None:
        from crypto import _sha512_plain as kernels
    compress = kernels.compress
    load_block = kernels.load_block
    hmac_iterate = kernels.hmac_iterate
    xor_into = kernels.xor_into
    return VIPER


use_viper(True)


def _bytes_like(data):
    if isinstance(data, str):
        raise TypeError("SHA-512 hashes bytes, not str: encode the text first")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("SHA-512 hashes bytes, not %s" % type(data).__name__)
    return memoryview(data)


class SHA512:
    """Incremental SHA-512 with copy(), so HMAC can reuse its precomputed key states."""

    digest_size = DIGEST_SIZE
    block_size = BLOCK_SIZE

    def __init__(self, data=None):
        self._h = new_state()
        self._buf = bytearray(BLOCK_SIZE)
        self._used = 0  # bytes waiting in _buf
        self._length = 0  # total bytes hashed
        if data is not None:
            self.update(data)

    def update(self, data):
        view = _bytes_like(data)
        size = len(view)
        self._length += size
        pos = 0
        used = self._used
        if used:
            take = min(BLOCK_SIZE - used, size)
            self._buf[used : used + take] = view[:take]
            used += take
            pos = take
            if used < BLOCK_SIZE:
                self._used = used
                return
            load_block(W, self._buf, 0)
            compress(self._h, W, K)
        while size - pos >= BLOCK_SIZE:
            load_block(W, view, pos)
            compress(self._h, W, K)
            pos += BLOCK_SIZE
        rest = size - pos
        if rest:
            self._buf[0:rest] = view[pos:]
        self._used = rest

    def _final_state(self):
        h = array("I", self._h)
        buf = bytearray(self._buf)
        used = self._used
        buf[used] = 0x80
        for i in range(used + 1, BLOCK_SIZE):
            buf[i] = 0
        if used >= BLOCK_SIZE - 16:
            load_block(W, buf, 0)
            compress(h, W, K)
            for i in range(BLOCK_SIZE):
                buf[i] = 0
        bits = self._length * 8
        struct.pack_into(">II", buf, BLOCK_SIZE - 8, (bits >> 32) & 0xFFFFFFFF, bits & 0xFFFFFFFF)
        load_block(W, buf, 0)
        compress(h, W, K)
        return h

    def digest(self):
        return struct.pack(">16I", *self._final_state())

    def hexdigest(self):
        from binascii import hexlify

        return hexlify(self.digest()).decode()

    def wipe(self):
        """Zeroes this object's state and buffer (for objects that absorbed a secret key)."""
        for i in range(16):
            self._h[i] = 0
        for i in range(BLOCK_SIZE):
            self._buf[i] = 0
        self._used = 0
        self._length = 0

    def copy(self):
        other = SHA512()
        for i in range(16):
            other._h[i] = self._h[i]
        other._buf[:] = self._buf
        other._used = self._used
        other._length = self._length
        return other


def sha512(data=b""):
    """The 64-byte SHA-512 digest of data."""
    return SHA512(data).digest()
