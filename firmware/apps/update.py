# Signed firmware updates over the wire (docs/update.md): update_begin checks the release (vendor
# signatures, board, no downgrade, no debug image on a production device) and asks the user,
# showing the version and the image's hash; update_chunk streams the image into the other slot;
# update_finish hashes what is in flash and writes the slot's header, then the device restarts
# into it (fwupdate/boot.py). The wallet lives elsewhere in flash and is not touched.
from fwupdate import keys, release, slots

import buildflags
from apps import common
from ui import layouts
from wire import errors

CHUNK = 4096  # image bytes per update_chunk: the longest byte string the wire takes


def _refused(message):
    return errors.RpcError(errors.UPDATE_REFUSED, message)


def _flash(dev):
    flash = getattr(dev.board, "flash", None)
    if flash is None or not hasattr(flash, "runs_slots") or not flash.runs_slots():
        raise _refused("this device has no update slots it can run firmware from")
    return flash


def update_begin(dev, params):
    common.allow_only(params, ("manifest", "signatures"))
    manifest_bytes = common.get_bytes(params, "manifest", 1, release.MAX_MANIFEST)
    signatures = params.get("signatures")
    flash = _flash(dev)
    if dev.vault.initialized():
        dev.require_unlocked()  # only the wallet's owner installs firmware on it
    dev.pending_update = None
    try:
        m = release.check(manifest_bytes, signatures, keys)
        release.fits(m, buildflags, slots.capacity(flash.slot(0)))
    except release.Refused as e:
        raise _refused(str(e))
    digest = m["sha512"]
    lines = ["Version " + m["version"], "(now " + buildflags.VERSION + ")", "SHA-512:",
             _hex(digest[:8]), _hex(digest[8:16])]
    if not layouts.confirm(dev, "Install firmware?", lines, "install"):
        dev.home()
        raise errors.cancelled()
    target, seq = slots.install_target(slots.headers(flash, 2))
    slots.clear(flash.slot(target), m["size"])
    dev.pending_update = {"slot": target, "seq": seq, "manifest": manifest_bytes,
                          "signatures": signatures, "release": m, "written": 0}
    layouts.progress(dev, "Installing", m["version"], 0)
    return {"chunk": CHUNK}


def update_chunk(dev, params):
    common.allow_only(params, ("offset", "data"))
    job = _pending(dev)
    size = job["release"]["size"]
    offset = common.get_uint(params, "offset", size + 1)
    data = common.get_bytes(params, "data", 1, CHUNK)
    if offset != job["written"]:
        raise errors.RpcError(errors.WRONG_STATE, "expected offset %d" % job["written"])
    if offset + len(data) > size:
        raise errors.bad_params("chunk goes past the image's %d bytes" % size)
    slots.write_image(dev.board.flash.slot(job["slot"]), offset, data)
    job["written"] = offset + len(data)
    layouts.progress(dev, "Installing", job["release"]["version"], job["written"] / size)
    return {"written": job["written"]}


def update_finish(dev, params):
    common.allow_only(params, ())
    job = _pending(dev)
    m = job["release"]
    if job["written"] != m["size"]:
        sent = "%d of %d bytes sent" % (job["written"], m["size"])
        raise errors.RpcError(errors.WRONG_STATE, sent)
    window = dev.board.flash.slot(job["slot"])
    dev.pending_update = None
    if slots.image_sha512(window, m["size"]) != m["sha512"]:
        slots.clear(window, 0)
        dev.home()
        raise _refused("the image in flash does not match the signed hash: not installed")
    slots.write_header(window, job["seq"], job["manifest"], job["signatures"])
    dev.screen.draw("Installed", ["Version " + m["version"], "", "Restarting..."])
    dev.dispatcher.reset_after_reply = True
    return {"installed": m["version"], "slot": job["slot"]}


def _pending(dev):
    if dev.pending_update is None:
        raise errors.RpcError(errors.WRONG_STATE, "no update in progress: update_begin first")
    return dev.pending_update


def _hex(data):
    return "".join("%02x" % b for b in data)
