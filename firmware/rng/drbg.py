# HMAC_DRBG with SHA-256 (NIST SP 800-90A rev.1 section 10.1.2), for the device.
# Checked against NIST CAVP vectors (tests/qrng/test_firmware_rng.py) and the host qrng/drbg.py.
import hashlib

RESEED_INTERVAL = 1 << 48  # maximum generate requests between reseeds (Table 2)
MAX_REQUEST_BYTES = 1 << 16  # 2^19 bits per request
_BLOCK = 64


class DrbgError(Exception):
    pass


def _pad(key, byte):
    return bytes([b ^ byte for b in key]) + bytes([byte]) * (_BLOCK - len(key))


class HmacDrbg:
    def __init__(self, entropy, nonce=b"", personalization=b""):
        if len(entropy) < 32:
            raise DrbgError("HMAC_DRBG needs at least 256 bits of entropy input")
        self._set_key(bytes(32))
        self.v = b"\x01" * 32
        self._update(entropy + nonce + personalization)
        self.reseed_counter = 1

    def _set_key(self, key):
        self.key = key
        self._ipad = _pad(key, 0x36)
        self._opad = _pad(key, 0x5C)

    def _hmac(self, data):
        inner = hashlib.sha256(self._ipad)
        inner.update(data)
        outer = hashlib.sha256(self._opad)
        outer.update(inner.digest())
        return outer.digest()

    def _update(self, provided):
        self._set_key(self._hmac(self.v + b"\x00" + provided))
        self.v = self._hmac(self.v)
        if provided:
            self._set_key(self._hmac(self.v + b"\x01" + provided))
            self.v = self._hmac(self.v)

    def reseed(self, entropy, additional=b""):
        if len(entropy) < 32:
            raise DrbgError("reseed needs at least 256 bits of entropy input")
        self._update(entropy + additional)
        self.reseed_counter = 1

    def generate(self, nbytes, additional=b""):
        if nbytes < 0 or nbytes > MAX_REQUEST_BYTES:
            raise DrbgError("request of %d bytes is outside 0..%d" % (nbytes, MAX_REQUEST_BYTES))
        if self.reseed_counter > RESEED_INTERVAL:
            raise DrbgError("reseed required")
        if additional:
            self._update(additional)
        out = bytearray()
        while len(out) < nbytes:
            self.v = self._hmac(self.v)
            out.extend(self.v)
        self._update(additional)
        self.reseed_counter += 1
        return bytes(out[:nbytes])
