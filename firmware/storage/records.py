# Record files written atomically: the new content goes to "<name>.new", is flushed and closed,
# then renamed over the old file. LittleFS (and POSIX) rename is atomic, so a power cut at any
# instant leaves either the old record or the new one. Each record also carries a magic, a
# length and a CRC-32, so a torn file on a filesystem without that guarantee reads as missing
# rather than as wrong data.
import os
import struct
from binascii import crc32

MAGIC = b"QR"
HEAD = 6  # magic(2) + length u32


class RecordError(Exception):
    pass


def _path(root, name):
    return root + "/" + name


def exists(root, name):
    try:
        os.stat(_path(root, name))
        return True
    except OSError:
        return False


def read(root, name):
    """Returns the record's bytes, None if absent; raises RecordError if it is damaged."""
    try:
        with open(_path(root, name), "rb") as f:
            raw = f.read()
    except OSError:
        return None
    if len(raw) < HEAD + 4 or raw[:2] != MAGIC:
        raise RecordError("record %s is damaged" % name)
    n = struct.unpack(">I", raw[2:HEAD])[0]
    if len(raw) != HEAD + n + 4:
        raise RecordError("record %s is truncated" % name)
    body = raw[HEAD:HEAD + n]
    if crc32(raw[:HEAD + n]) & 0xFFFFFFFF != struct.unpack(">I", raw[HEAD + n:])[0]:
        raise RecordError("record %s fails its checksum" % name)
    return body


def write(root, name, body):
    head = MAGIC + struct.pack(">I", len(body))
    crc = crc32(body, crc32(head)) & 0xFFFFFFFF
    tmp = _path(root, name + ".new")
    with open(tmp, "wb") as f:
        f.write(head)
        f.write(body)
        f.write(struct.pack(">I", crc))
        f.flush()
    os.rename(tmp, _path(root, name))
    _sync()


def erase(root, name):
    # First the record disappears atomically (renamed to "<name>.del"); then its bytes are
    # overwritten and the file removed. A power cut in between leaves a ".del" file that clean()
    # finishes at the next boot: the record is never half there.
    path = _path(root, name)
    gone = path + ".del"
    try:
        os.rename(path, gone)
    except OSError:
        return
    _sync()
    _shred(gone)


def _shred(path):
    # Best effort: LittleFS is copy-on-write, so old blocks may survive until reused; the data
    # key, which no longer exists anywhere readable, is what really protects them.
    try:
        size = os.stat(path)[6]
        with open(path, "r+b") as f:
            f.write(bytes(size))
            f.flush()
    except OSError:
        pass
    try:
        os.remove(path)
    except OSError:
        pass
    _sync()


def clean(root):
    # Finish what a power cut interrupted: a "<name>.new" never renamed is dropped, a
    # "<name>.del" is shredded.
    for entry in os.listdir(root):
        if entry.endswith(".new"):
            try:
                os.remove(_path(root, entry))
            except OSError:
                pass
        elif entry.endswith(".del"):
            _shred(_path(root, entry))


def ensure_dir(root):
    try:
        os.stat(root)
    except OSError:
        os.mkdir(root)


def _sync():
    sync = getattr(os, "sync", None)
    if sync is not None:
        sync()
