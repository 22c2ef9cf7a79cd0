# The boot step, before the board and the app are imported: if an update slot holds a release
# for this board, newer than this image, signed by its vendor keys, debug only if this image is,
# and whose image hashes to what the manifest says, it is mounted (in place, from mapped flash)
# ahead of this image on sys.path, so the board glue and the app come from it. Otherwise this
# image runs. Everything the check imported is dropped again, so the slot's own modules load.
import sys

MOUNT = "/fw"


def start(flash, count, flags):
    """Mounts the newest good slot and returns its number, or None (this image runs).
    ``flags``: this image's buildflags (BOARD, VERSION, DEBUG)."""
    if not flash.runs_slots():
        return None  # a .mpy tree on a filesystem (a stock board): nothing to run a slot from
    before = set(sys.modules)
    try:
        chosen = _newest_good(flash, count, flags)
        if chosen is not None:
            import vfs

            n, image = chosen
            vfs.mount(vfs.VfsRom(image), MOUNT)
            sys.path.insert(0, MOUNT)
            return n
        return None
    finally:
        for name in set(sys.modules) - before:
            del sys.modules[name]


def _newest_good(flash, count, flags):
    from fwupdate import keys, release, slots

    found = slots.headers(flash, count)
    order = sorted([n for n in range(count) if found[n] is not None], key=lambda n: -found[n][0])
    for n in order:
        _, manifest_bytes, signatures = found[n]
        try:
            m = release.check(manifest_bytes, signatures, keys)
            release.fits(m, flags, slots.capacity(flash.slot(n)))
        except release.Refused:
            continue
        memory = flash.slot_memory(n)
        if memory is None:
            return None  # the flash is not mapped: nothing can run from it
        # What is hashed is what runs: the image in memory, after the header block.
        image = memoryview(memory)[flash.block_size:flash.block_size + m["size"]]
        from crypto.sha512 import SHA512

        if SHA512(image).digest() == m["sha512"]:
            return n, image
    return None
