# BIP39 mnemonics: entropy <-> English words with checksum, and mnemonic (+ passphrase) -> seed.
#
# The 2048-word list stays in bip39_english.txt, never on the 192 KB heap as 2048 str objects.
# The first lookup reads the file once to check it and to remember where every 64th word starts
# (32 offsets and 32 short words); after that a lookup reads one run of at most 64 words (< 600
# bytes) with one seek, so single-word checks during word-by-word entry stay cheap.
#
# Passphrases (see docs/security.md, "Passphrases and Unicode"): BIP39 hashes the NFKD form of the
# passphrase, and MicroPython has no unicodedata to produce it. ASCII text is its own NFKD form and
# is used as is. Other text is accepted only when the caller declares it already NFKD-normalised
# (nfkd=True, the host normalises before sending); then characters that NFKD would still change are
# refused, so the device never silently derives a seed other BIP39 wallets would not.

import hashlib
from binascii import unhexlify

from crypto.pbkdf2 import pbkdf2_hmac_sha512

WORD_COUNT = 2048
SEED_ITERATIONS = 2048
# entropy bytes -> words: 16 -> 12, 20 -> 15, 24 -> 18, 28 -> 21, 32 -> 24
ENTROPY_SIZES = (16, 20, 24, 28, 32)
WORD_COUNTS = (12, 15, 18, 21, 24)

# Where the word list is; set by the board glue if the file lives elsewhere.
WORDLIST_PATH = None
# SHA-256 of bip39_english.txt (2048 words, one per line, each ending in a newline), as published
# with BIP39; any other file is refused rather than used to make or read mnemonics.
WORDLIST_SHA256 = unhexlify("2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda")


def _wordlist_path():
    if WORDLIST_PATH:
        return WORDLIST_PATH
    here = globals().get("__file__")
    if here and "/" in here:
        return here.rsplit("/", 1)[0] + "/bip39_english.txt"
    return "crypto/bip39_english.txt"


_RUN = 64  # words per run between remembered offsets
_index = None  # (offsets of runs plus the file size, first word of each run), from _load_index


def _load_index():
    """Reads the list once: checks it is exactly the standard list (SHA-256 of the file) and
    remembers where each run of 64 words starts. Works on 512-byte chunks and creates no object
    per word, so it neither fills nor churns the heap."""
    global _index
    offsets = [0]
    digest = hashlib.sha256()
    count = 0
    base = 0
    with open(_wordlist_path(), "rb") as f:
        while True:
            chunk = f.read(512)
            if not chunk:
                break
            digest.update(chunk)
            pos = chunk.find(b"\n")
            while pos >= 0:
                count += 1
                if count % _RUN == 0:
                    offsets.append(base + pos + 1)
                pos = chunk.find(b"\n", pos + 1)
            base += len(chunk)
        if digest.digest() != WORDLIST_SHA256 or count != WORD_COUNT:
            raise RuntimeError("BIP39 word list file is damaged: reinstall the firmware")
        firsts = []
        for offset in offsets[:-1]:
            f.seek(offset)
            firsts.append(f.read(9).split(b"\n")[0])  # words are at most 8 letters
    _index = (offsets, firsts)
    return _index


def _run_bytes(f, run):
    """One run of words, each followed by a newline, with a single seek and read."""
    offsets = (_index or _load_index())[0]
    f.seek(offsets[run])
    return f.read(offsets[run + 1] - offsets[run])


def _nth_word(data, n):
    start = 0
    for _ in range(n):
        start = data.find(b"\n", start) + 1
    return data[start : data.find(b"\n", start)]


def _position(data, key):
    """Which word of the run data key is, or -1; no object per word is made."""
    line = key + b"\n"
    pos = data.find(line)
    while pos > 0 and data[pos - 1] != 10:  # matched the tail of a longer word
        pos = data.find(line, pos + 1)
    if pos < 0:
        return -1
    return data.count(b"\n", 0, pos)


def _run_of(word):
    """The run a word (bytes) would be in: the last run whose first word is not after it."""
    firsts = (_index or _load_index())[1]
    lo = 0
    hi = len(firsts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if firsts[mid] <= word:
            lo = mid
        else:
            hi = mid - 1
    return lo


def words_at(indexes):
    """The words at the given list positions (0..2047)."""
    for index in indexes:
        if not isinstance(index, int) or not 0 <= index < WORD_COUNT:
            raise ValueError("BIP39 word index out of range: %r" % (index,))
    _index or _load_index()
    with open(_wordlist_path(), "rb") as f:
        return [_nth_word(_run_bytes(f, i // _RUN), i % _RUN).decode() for i in indexes]


def indexes_of(words):
    """List positions of the given words; ValueError names the first unknown word."""
    _index or _load_index()
    found = []
    with open(_wordlist_path(), "rb") as f:
        for pos, word in enumerate(words):
            key = word.encode()
            run = _run_of(key)
            where = _position(_run_bytes(f, run), key) if key.isalpha() else -1
            if where < 0:
                raise ValueError("word %d ('%s') is not in the BIP39 English list"
                                 % (pos + 1, word))
            found.append(run * _RUN + where)
    return found


def _checksum_bits(entropy, bits):
    return hashlib.sha256(entropy).digest()[0] >> (8 - bits)


def entropy_to_mnemonic(entropy):
    """16/20/24/28/32 bytes of entropy -> 12/15/18/21/24 words separated by single spaces."""
    if not isinstance(entropy, (bytes, bytearray, memoryview)):
        raise TypeError("entropy must be bytes")
    entropy = bytes(entropy)
    if len(entropy) not in ENTROPY_SIZES:
        raise ValueError("entropy must be 16, 20, 24, 28 or 32 bytes, not %d" % len(entropy))
    check = len(entropy) // 4  # checksum bits: entropy bits / 32
    value = (int.from_bytes(entropy, "big") << check) | _checksum_bits(entropy, check)
    count = (len(entropy) * 8 + check) // 11
    indexes = [(value >> (11 * (count - 1 - i))) & 0x7FF for i in range(count)]
    return " ".join(words_at(indexes))


def _split(mnemonic):
    if not isinstance(mnemonic, str):
        raise TypeError("mnemonic must be a str")
    words = mnemonic.split()
    if len(words) not in WORD_COUNTS:
        raise ValueError(
            "a mnemonic has 12, 15, 18, 21 or 24 words, this one has %d" % len(words)
        )
    return words


def mnemonic_to_entropy(mnemonic):
    """Words -> entropy bytes. ValueError on a wrong word count, an unknown word (words are
    lower case, separated by whitespace) or a wrong checksum."""
    words = _split(mnemonic)
    value = 0
    for index in indexes_of(words):
        value = (value << 11) | index
    check = len(words) // 3  # checksum bits
    size = (len(words) * 11 - check) // 8
    entropy = (value >> check).to_bytes(size, "big")
    if value & ((1 << check) - 1) != _checksum_bits(entropy, check):
        raise ValueError("mnemonic checksum is wrong: a word is mistyped or the order is wrong")
    return entropy


def is_valid(mnemonic):
    """Whether mnemonic is a complete English BIP39 mnemonic with a correct checksum."""
    try:
        mnemonic_to_entropy(mnemonic)
    except (ValueError, TypeError):
        return False
    return True


def passphrase_bytes(passphrase, nfkd=False):
    """The UTF-8 bytes BIP39 hashes for passphrase, or ValueError where that is not certain."""
    if not isinstance(passphrase, str):
        raise TypeError("passphrase must be a str")
    data = passphrase.encode("utf-8")
    for byte in data:
        if byte >= 0x80:
            break
    else:  # ASCII text is its own NFKD form
        return data
    if not nfkd:
        raise ValueError(
            "a non-ASCII passphrase must be NFKD-normalised by the host and sent with nfkd=True"
        )
    from crypto._nfkd import first_not_nfkd

    bad = first_not_nfkd(passphrase)
    if bad is not None:
        raise ValueError("passphrase is not NFKD-normalised (U+%04X)" % ord(bad))
    return data


def mnemonic_to_seed(mnemonic, passphrase="", progress=None, nfkd=False):
    """The 64-byte BIP39 seed. The mnemonic is validated first and hashed in its canonical form
    (words separated by single spaces); progress(done, total) reports the 2048 iterations."""
    words = _split(mnemonic)
    mnemonic_to_entropy(mnemonic)
    salt = b"mnemonic" + passphrase_bytes(passphrase, nfkd)
    return pbkdf2_hmac_sha512(
        " ".join(words).encode(), salt, SEED_ITERATIONS, 64, progress
    )
