# A firmware release: a manifest (deterministic CBOR: board, version, debug, size and SHA-512 of
# the ROMFS image) and ed25519 signatures over DOMAIN + manifest by distinct vendor keys. The same
# check runs when an update is offered over the wire and at every boot, before a slot is run.
from codec import cbor

DOMAIN = b"QOS firmware release\x00"
MAX_MANIFEST = 256
MAX_SIGNATURES = 16
FIELDS = {"board": str, "version": str, "debug": bool, "size": int, "sha512": bytes}


class Refused(Exception):
    pass


def version_tuple(text):
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        raise Refused("version %r is not numbers joined by dots" % text)
    out = []
    for part in parts:
        if not part or len(part) > 5 or not all("0" <= c <= "9" for c in part):
            raise Refused("version %r is not numbers joined by dots" % text)
        out.append(int(part))
    return tuple(out)


def parse(manifest_bytes):
    if not isinstance(manifest_bytes, bytes) or len(manifest_bytes) > MAX_MANIFEST:
        raise Refused("manifest missing or longer than %d bytes" % MAX_MANIFEST)
    try:
        m = cbor.decode(manifest_bytes)
    except ValueError as e:
        raise Refused("manifest is not canonical CBOR: %s" % e)
    if not isinstance(m, dict) or len(m) != len(FIELDS):
        raise Refused("manifest must hold exactly: " + ", ".join(sorted(FIELDS)))
    for name in FIELDS:
        if not isinstance(m.get(name), FIELDS[name]):
            raise Refused("manifest field %r missing or of the wrong type" % name)
    if len(m["sha512"]) != 64 or m["size"] <= 0:
        raise Refused("manifest hash or size invalid")
    version_tuple(m["version"])
    return m


def check(manifest_bytes, signatures, keys):
    """The manifest, if at least keys.THRESHOLD distinct vendor keys signed it; else Refused."""
    if keys.THRESHOLD < 1 or len(keys.KEYS) < keys.THRESHOLD:
        raise Refused("this firmware carries no vendor keys: it installs no update")
    m = parse(manifest_bytes)
    if not isinstance(signatures, list) or len(signatures) > MAX_SIGNATURES:
        raise Refused("signatures must be a list of at most %d" % MAX_SIGNATURES)
    from crypto.ed25519_verify import verify

    signed = DOMAIN + manifest_bytes
    good = []
    for entry in signatures:
        if not isinstance(entry, list) or len(entry) != 2:
            raise Refused("each signature is [public key, signature]")
        pub, sig = entry
        if pub in keys.KEYS and pub not in good and verify(pub, signed, sig):
            good.append(pub)
    if len(good) < keys.THRESHOLD:
        raise Refused("%d valid vendor signatures, %d needed" % (len(good), keys.THRESHOLD))
    return m


def fits(m, flags, capacity):
    """Refused unless release ``m`` may replace the firmware whose buildflags are ``flags``."""
    if m["board"] != flags.BOARD:
        raise Refused("release for board %r, this is %r" % (m["board"], flags.BOARD))
    if m["debug"] and not flags.DEBUG:
        raise Refused("a debug release (its debug link reads the seed) on a production device")
    if version_tuple(m["version"]) <= version_tuple(flags.VERSION):
        raise Refused("version %s is not newer than the running %s" % (m["version"], flags.VERSION))
    if m["size"] > capacity:
        raise Refused("image of %d bytes, the slot holds %d" % (m["size"], capacity))
