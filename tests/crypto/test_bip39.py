"""BIP39 of the firmware, run under MicroPython, against the official vectors and `mnemonic`."""

from __future__ import annotations

import importlib.util
import random
import unicodedata

import pytest
from mnemonic import Mnemonic

from host.devtools.micropython import FIRMWARE_DIR

SETUP = r"""
from crypto import bip39

def seed(words, passphrase, nfkd):
    calls = []
    out = bip39.mnemonic_to_seed(words, passphrase, lambda d, t: calls.append(d), nfkd=nfkd)
    return [_hex(out), len(calls), calls[-1]]

OPS = {
    "to_words": lambda e: bip39.entropy_to_mnemonic(unhexlify(e)),
    "to_words_str": lambda e: bip39.entropy_to_mnemonic(e),
    "to_entropy": lambda m: _hex(bip39.mnemonic_to_entropy(m)),
    "valid": bip39.is_valid,
    "seed": seed,
    "indexes": bip39.indexes_of,
}

def use_wordlist(path):
    bip39.WORDLIST_PATH = path
    bip39._index = None
    return path

OPS["use_wordlist"] = use_wordlist
"""

ENGLISH = Mnemonic("english")
WORDS = ENGLISH.wordlist


def test_wordlist_file_is_the_standard_english_list():
    shipped = (FIRMWARE_DIR / "crypto" / "bip39_english.txt").read_text().split("\n")
    assert shipped[:-1] == WORDS and shipped[-1] == ""
    assert len(WORDS) == 2048


def test_official_vectors(mp_batch, bip39_vectors):
    cases = []
    for entropy, words, _seed, _xprv in bip39_vectors:
        cases += [["to_words", entropy], ["to_entropy", words], ["seed", words, "TREZOR", False]]
    replies = mp_batch(SETUP, cases)
    for i, (entropy, words, seed, _xprv) in enumerate(bip39_vectors):
        assert replies[3 * i] == ["ok", words]
        assert replies[3 * i + 1] == ["ok", entropy]
        status, (derived, _, last_progress) = replies[3 * i + 2]
        assert status == "ok" and derived == seed
        assert last_progress == 2048


def test_random_entropy_round_trips_match_the_mnemonic_package(mp_batch):
    rng = random.Random(39)
    entropies = [rng.randbytes(rng.choice([16, 20, 24, 28, 32])) for _ in range(600)]
    entropies += [bytes(n) for n in (16, 20, 24, 28, 32)] + [b"\xff" * n for n in (16, 32)]
    cases = []
    for entropy in entropies:
        cases += [["to_words", entropy.hex()], ["to_entropy", ENGLISH.to_mnemonic(entropy)]]
    replies = mp_batch(SETUP, cases)
    for i, entropy in enumerate(entropies):
        assert replies[2 * i] == ["ok", ENGLISH.to_mnemonic(entropy)]
        assert replies[2 * i + 1] == ["ok", entropy.hex()]


def _random_ascii_passphrase(rng: random.Random) -> str:
    return "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(0, 40)))


def _random_unicode_passphrase(rng: random.Random) -> str:
    pool = "aé€ß한글日本語ÅΩ\u0301\u00a0ﬁ①"
    pool += "".join(chr(rng.randrange(0x80, 0x3000)) for _ in range(8))
    text = "".join(rng.choice(pool) for _ in range(rng.randrange(1, 12)))
    return "".join(ch for ch in text if not 0xD800 <= ord(ch) < 0xE000)


def test_seeds_with_random_passphrases_match_the_mnemonic_package(mp_batch):
    rng = random.Random(2048)
    cases, expected = [], []
    for i in range(90):
        words = ENGLISH.to_mnemonic(rng.randbytes(rng.choice([16, 24, 32])))
        if i % 3:
            phrase = _random_ascii_passphrase(rng)
            cases.append(["seed", words, phrase, False])
        else:  # non-ASCII: the host normalises, the device is told so
            phrase = unicodedata.normalize("NFKD", _random_unicode_passphrase(rng))
            cases.append(["seed", words, phrase, True])
        expected.append(Mnemonic.to_seed(words, phrase).hex())
    # whitespace around and between words does not change the (canonical) seed
    words = ENGLISH.to_mnemonic(bytes(range(16)))
    cases.append(["seed", "  " + words.replace(" ", " \n\t ") + "\n", "", False])
    expected.append(Mnemonic.to_seed(words, "").hex())
    for reply, want in zip(mp_batch(SETUP, cases), expected, strict=True):
        assert reply[0] == "ok" and reply[1][0] == want


def test_non_ascii_passphrases_need_an_nfkd_declaration_and_nfkd_text(mp_batch):
    words = ENGLISH.to_mnemonic(bytes(16))
    composed = ["café", "Ωmega\u00a0x", "ﬁne", "①", "한글", "Å"]  # each changes under NFKD
    cases = [["seed", words, p, False] for p in composed]  # undeclared: refused
    cases += [["seed", words, p, True] for p in composed]  # declared but not NFKD: refused
    cases += [["seed", words, unicodedata.normalize("NFKD", p), True] for p in composed]
    replies = mp_batch(SETUP, cases)
    n = len(composed)
    for reply in replies[:n]:
        assert reply[0] == "ValueError" and "nfkd=True" in reply[1]
    for reply in replies[n : 2 * n]:
        assert reply[0] == "ValueError" and "not NFKD" in reply[1]
    for reply, phrase in zip(replies[2 * n :], composed, strict=True):
        assert reply[1][0] == Mnemonic.to_seed(words, phrase).hex()


def test_nfkd_table_matches_unicodedata_for_every_code_point():
    spec = importlib.util.spec_from_file_location("_nfkd", FIRMWARE_DIR / "crypto" / "_nfkd.py")
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    if table.UNICODE_VERSION != unicodedata.unidata_version:
        pytest.skip(
            f"crypto/_nfkd.py is for Unicode {table.UNICODE_VERSION}, "
            f"this Python has {unicodedata.unidata_version}"
        )
    shipped = [(table._at(i, 0), table._at(i, 1)) for i in range(table._COUNT)]
    changing: list[tuple[int, int]] = []
    for cp in range(0x80, 0x110000):
        ch = chr(cp)
        if 0xD800 <= cp < 0xE000 or unicodedata.normalize("NFKD", ch) == ch:
            continue
        if changing and changing[-1][1] == cp - 1:
            changing[-1] = (changing[-1][0], cp)
        else:
            changing.append((cp, cp))
    assert shipped == changing
    # and the lookup itself, at and around every range edge
    for lo, hi in changing[:: max(1, len(changing) // 100)]:
        assert table.changes_under_nfkd(lo) and table.changes_under_nfkd(hi)
        assert not table.changes_under_nfkd(lo - 1) and not table.changes_under_nfkd(hi + 1)


def _wrong_checksum(rng: random.Random, count: int) -> str:
    while True:
        words = [rng.choice(WORDS) for _ in range(count)]
        text = " ".join(words)
        if not ENGLISH.check(text):
            return text


def test_bad_mnemonics_are_rejected(mp_batch):
    rng = random.Random(173)
    good = [ENGLISH.to_mnemonic(rng.randbytes(n)) for n in (16, 20, 24, 28, 32)]
    bad_checksum = [_wrong_checksum(rng, n) for n in (12, 15, 18, 21, 24) for _ in range(40)]
    unknown = [g.replace(g.split()[3], "bitcoinz", 1) for g in good] + [good[0].upper()]
    counts = [" ".join(good[4].split()[:n]) for n in (0, 1, 11, 13, 17, 23)] + [good[4] + " zoo"]
    cases = [["valid", g] for g in good]
    cases += [["to_entropy", m] for m in bad_checksum + unknown + counts]
    cases += [["valid", m] for m in bad_checksum + unknown + counts]
    cases += [["seed", bad_checksum[0], "", False], ["seed", counts[2], "", False]]
    cases += [["to_words", "00" * n] for n in (0, 15, 17, 31, 33, 64)]
    cases += [["to_words_str", "a" * 32], ["to_words_str", 16], ["valid", 12]]
    replies = mp_batch(SETUP, cases)
    assert replies[: len(good)] == [["ok", True]] * len(good)
    rest = replies[len(good) :]
    n_bad = len(bad_checksum) + len(unknown) + len(counts)
    for reply in rest[: len(bad_checksum)]:
        assert reply[0] == "ValueError"
        assert reply[1] == "mnemonic checksum is wrong: a word is mistyped or the order is wrong"
    for reply in rest[len(bad_checksum) : len(bad_checksum) + len(unknown)]:
        assert reply[0] == "ValueError" and "is not in the BIP39 English list" in reply[1]
    assert rest[len(bad_checksum)][1] == "word 4 ('bitcoinz') is not in the BIP39 English list"
    for reply in rest[len(bad_checksum) + len(unknown) : n_bad]:
        assert reply[0] == "ValueError" and "12, 15, 18, 21 or 24 words" in reply[1]
    assert rest[n_bad : 2 * n_bad] == [["ok", False]] * n_bad
    seeds = rest[2 * n_bad : 2 * n_bad + 2]
    assert [r[0] for r in seeds] == ["ValueError", "ValueError"]
    for reply in rest[2 * n_bad + 2 : 2 * n_bad + 8]:
        assert reply[0] == "ValueError" and "16, 20, 24, 28 or 32 bytes" in reply[1]
    assert rest[-3][0] == "TypeError"
    assert rest[-2][0] == "TypeError"  # an int is not 16 zero bytes of entropy
    assert rest[-1] == ["ok", False]


def test_single_word_lookup(mp_batch):
    picks = ["abandon", "zoo", "ability", "able", "absurd", "zero", "mixture", "a", "zooo", "aband"]
    replies = mp_batch(SETUP, [["indexes", [w]] for w in picks])
    for reply, word in zip(replies, picks, strict=True):
        if word in WORDS:
            assert reply == ["ok", [WORDS.index(word)]]
        else:
            assert reply[0] == "ValueError" and f"'{word}'" in reply[1]


def test_a_damaged_word_list_is_refused(mp_batch, tmp_path, host_files):
    damaged = WORDS.copy()
    damaged[1000] = "bitcoin"
    variants = {
        "changed": "\n".join(damaged) + "\n",
        "short": "\n".join(WORDS[:-1]) + "\n",
        "crlf": "\r\n".join(WORDS) + "\r\n",
    }
    cases = []
    for name, text in variants.items():
        path = tmp_path / f"{name}.txt"
        path.write_text(text)
        cases += [["use_wordlist", str(path)], ["to_words", "00" * 16]]
        cases += [["valid", ENGLISH.to_mnemonic(bytes(16))]]
    replies = mp_batch(SETUP, cases)
    for i in range(len(variants)):
        assert replies[3 * i + 1][0] == "RuntimeError"
        assert "word list file is damaged" in replies[3 * i + 1][1]
        # not "invalid mnemonic": the list is at fault, not the words
        assert replies[3 * i + 2][0] == "RuntimeError"
