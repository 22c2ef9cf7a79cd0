"""HMAC_DRBG with SHA-256 (NIST SP 800-90A rev.1, section 10.1.2).

Validated against NIST CAVP vectors (tests/qrng/vectors/hmac_drbg_sha256.json); the device runs
the same algorithm in firmware/rng/drbg.py.
"""

from __future__ import annotations

import hmac

RESEED_INTERVAL = 1 << 48  # generate requests between reseeds (SP 800-90A Table 2)
MAX_REQUEST_BYTES = 1 << 16  # 2^19 bits per request
SECURITY_STRENGTH = 256


class DrbgError(RuntimeError):
    """Misuse of the DRBG: too little entropy, too large a request, reseed needed."""


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, "sha256")


class HmacDrbg:
    def __init__(self, entropy: bytes, nonce: bytes = b"", personalization: bytes = b""):
        if len(entropy) * 8 < SECURITY_STRENGTH:
            raise DrbgError("HMAC_DRBG needs at least 256 bits of entropy input")
        self._key = bytes(32)
        self._v = b"\x01" * 32
        self._update(entropy + nonce + personalization)
        self.reseed_counter = 1

    def _update(self, provided: bytes) -> None:
        self._key = _mac(self._key, self._v + b"\x00" + provided)
        self._v = _mac(self._key, self._v)
        if provided:
            self._key = _mac(self._key, self._v + b"\x01" + provided)
            self._v = _mac(self._key, self._v)

    def reseed(self, entropy: bytes, additional: bytes = b"") -> None:
        if len(entropy) * 8 < SECURITY_STRENGTH:
            raise DrbgError("reseed needs at least 256 bits of entropy input")
        self._update(entropy + additional)
        self.reseed_counter = 1

    @property
    def needs_reseed(self) -> bool:
        return self.reseed_counter > RESEED_INTERVAL

    def generate(self, nbytes: int, additional: bytes = b"") -> bytes:
        if not 0 <= nbytes <= MAX_REQUEST_BYTES:
            raise DrbgError(f"request of {nbytes} bytes is outside 0..{MAX_REQUEST_BYTES}")
        if self.needs_reseed:
            raise DrbgError("reseed required")
        if additional:
            self._update(additional)
        blocks = []
        key, v = self._key, self._v
        for _ in range((nbytes + 31) // 32):
            v = _mac(key, v)
            blocks.append(v)
        self._v = v
        self._update(additional)
        self.reseed_counter += 1
        return b"".join(blocks)[:nbytes]
