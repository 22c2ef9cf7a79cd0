# Bech32 (BIP173, the original checksum; not bech32m) for QOS addresses and keys: qosacc...,
# qosaccpub..., qosval..., qoscons... The data part is raw bytes, regrouped into 5-bit symbols.

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
MAX_LENGTH = 90  # BIP173's limit for the whole string
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_BECH32M_CONST = 0x2BC830A3


def _polymod(values, check):
    for value in values:
        top = check >> 25
        check = ((check & 0x1FFFFFF) << 5) ^ value
        for i in range(5):
            if (top >> i) & 1:
                check ^= _GENERATOR[i]
    return check


def _hrp_check(hrp):
    check = 1
    for ch in hrp:
        check = _polymod((ord(ch) >> 5,), check)
    check = _polymod((0,), check)
    for ch in hrp:
        check = _polymod((ord(ch) & 31,), check)
    return check


def _validate_hrp(hrp):
    if not isinstance(hrp, str):
        raise TypeError("bech32 prefix must be a str")
    if not 1 <= len(hrp) <= 83:
        raise ValueError("bech32 prefix must be 1 to 83 characters")
    for ch in hrp:
        if not 33 <= ord(ch) <= 126:
            raise ValueError("bech32 prefix has a character outside ASCII 33..126")
        if "A" <= ch <= "Z":
            raise ValueError("bech32 prefix must be lower case")


def _to_groups(data):
    """8-bit bytes -> 5-bit groups, zero-padded at the end."""
    out = []
    acc = 0
    bits = 0
    for byte in data:
        acc = ((acc << 8) | byte) & 0xFFF
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append((acc >> bits) & 31)
    if bits:
        out.append((acc << (5 - bits)) & 31)
    return out


def _from_groups(groups):
    """5-bit groups -> bytes; the padding must be under 5 bits and all zero."""
    out = bytearray()
    acc = 0
    bits = 0
    for group in groups:
        acc = ((acc << 5) | group) & 0xFFF
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc & ((1 << bits) - 1)):
        raise ValueError("bech32 data has invalid padding (bad length)")
    return bytes(out)


def encode(hrp, data):
    """hrp + '1' + data as 5-bit symbols + 6-symbol bech32 checksum, lower case."""
    _validate_hrp(hrp)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("bech32 data must be bytes, not %s" % type(data).__name__)
    groups = _to_groups(bytes(data))
    if len(hrp) + 1 + len(groups) + 6 > MAX_LENGTH:
        raise ValueError("bech32 string would exceed %d characters" % MAX_LENGTH)
    check = _polymod(groups + [0, 0, 0, 0, 0, 0], _hrp_check(hrp)) ^ 1
    symbols = groups + [(check >> (5 * (5 - i))) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[s] for s in symbols)


def decode(hrp, text):
    """The bytes encoded in text, which must carry prefix hrp. ValueError on a bad checksum,
    another prefix, mixed case, a bad character or a bad length."""
    _validate_hrp(hrp)
    if not isinstance(text, str):
        raise TypeError("bech32 string must be a str")
    if len(text) > MAX_LENGTH:
        raise ValueError("bech32 string longer than %d characters" % MAX_LENGTH)
    lower = text.lower()
    if lower != text and text.upper() != text:
        raise ValueError("bech32 string mixes upper and lower case")
    sep = lower.rfind("1")
    if sep < 1:
        raise ValueError("bech32 string has no prefix separator '1'")
    if len(lower) - sep - 1 < 6:
        raise ValueError("bech32 string too short for its checksum")
    if lower[:sep] != hrp:
        raise ValueError("bech32 prefix is '%s', expected '%s'" % (lower[:sep], hrp))
    symbols = []
    for ch in lower[sep + 1 :]:
        value = CHARSET.find(ch)
        if value < 0:
            raise ValueError("bech32 string has invalid character %r" % ch)
        symbols.append(value)
    check = _polymod(symbols, _hrp_check(hrp))
    if check != 1:
        if check == _BECH32M_CONST:
            raise ValueError("bech32m checksum: QOS uses bech32")
        raise ValueError("bech32 checksum is wrong")
    return _from_groups(symbols[:-6])
