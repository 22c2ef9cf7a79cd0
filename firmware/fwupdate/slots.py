# The two update slots (flashdev.py places them): a header block, then the ROMFS image of the
# release. An install erases the other slot's header first, writes and checks the image, and
# writes the header last, with a sequence number above every other slot's: a power cut at any
# point leaves that slot without a whole header, and the device boots what it ran before.
# Header: MAGIC, sequence (u32 LE), length (u16 LE), CBOR [manifest, signatures].
from codec import cbor

MAGIC = b"QOSSLOT1"
HEAD = len(MAGIC) + 6
PIECE = 512  # bytes read at a time when hashing an image (small blocks on the heap)


def read_header(window):
    """(sequence, manifest bytes, signatures) of a slot, or None if it holds no whole header."""
    head = bytearray(HEAD)
    window.readblocks(0, head)
    if bytes(head[:len(MAGIC)]) != MAGIC:
        return None
    seq = int.from_bytes(head[8:12], "little")
    length = int.from_bytes(head[12:14], "little")
    if length > window.dev.block_size - HEAD:
        return None
    body = bytearray(length)
    window.readblocks(0, body, HEAD)
    try:
        entry = cbor.decode(bytes(body))
    except ValueError:
        return None
    if not isinstance(entry, list) or len(entry) != 2 or not isinstance(entry[0], bytes):
        return None
    return seq, entry[0], entry[1]


def write_header(window, seq, manifest_bytes, signatures):
    body = cbor.encode([manifest_bytes, signatures])
    if HEAD + len(body) > window.dev.block_size:
        raise ValueError("header does not fit its block")
    head = MAGIC + seq.to_bytes(4, "little") + len(body).to_bytes(2, "little")
    window.writeblocks(0, head + body)
    window.ioctl(3, 0)


def clear(window, size):
    """Erases the header block and the blocks an image of ``size`` bytes will take."""
    for block in range(0, 1 + (size + window.dev.block_size - 1) // window.dev.block_size):
        window.ioctl(6, block)


def capacity(window):
    return (window.count - 1) * window.dev.block_size


def write_image(window, offset, data):
    bs = window.dev.block_size
    window.writeblocks(1 + offset // bs, data, offset % bs)


def image_sha512(window, size):
    from crypto.sha512 import SHA512

    h = SHA512()
    bs = window.dev.block_size
    piece = bytearray(PIECE)
    done = 0
    while done < size:
        n = min(PIECE, size - done)
        view = memoryview(piece)[:n]
        window.readblocks(1 + done // bs, view, done % bs)
        h.update(view)
        done += n
    return h.digest()


def headers(flash, count):
    return [read_header(flash.slot(n)) for n in range(count)]


def install_target(found):
    """The slot to install into: never the one with the highest sequence (it may be running);
    and the sequence the new header gets."""
    seqs = [h[0] if h is not None else -1 for h in found]
    newest = seqs.index(max(seqs))
    target = 1 - newest if len(seqs) == 2 else 0
    return target, max(seqs) + 1
