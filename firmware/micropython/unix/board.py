# The emulator's "board": the firmware under the MicroPython unix port. Wire on UDP port P
# (64-byte reports), debug link on P+1 (debug builds only), optionally a serial link on
# stdin/stdout (the host side hands us a pty master, so it behaves like the board's USB-CDC), and
# flash in an image file (a LittleFS part and the raw secret region, flashdev.py). There is no
# display: the screen is read through the debug link.
# Options: --port P --flash PATH --pty --host ADDR --kdf-ms MS (PIN stretching target, below)
import select
import socket
import sys
import vfs

from flashdev import FlashImage
from wire import framing
from wire.link import Link

MODEL = "emulator"
RESET_STATUS = 75
MOUNT = "/flash"
STORAGE_DIR = MOUNT + "/qos"
# How long one PIN try's key stretching takes, as on a board (storage/kdf.py calibrates the
# iterations to it, never below its floor); tests ask for less with --kdf-ms.
KDF_MS = 1000


def parse_args(argv):
    opts = {"port": 21324, "flash": "qos-flash.img", "pty": False, "host": "127.0.0.1",
            "kdf-ms": KDF_MS}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--pty":
            opts["pty"] = True
        elif a in ("--port", "--flash", "--host", "--kdf-ms") and i + 1 < len(argv):
            opts[a[2:]] = argv[i + 1] if a in ("--flash", "--host") else int(argv[i + 1])
            i += 1
        else:
            raise SystemExit("unknown option: " + a)
        i += 1
    return opts


class Board:
    def __init__(self, argv):
        self.opts = parse_args(argv)
        self.model = MODEL
        self.storage_dir = STORAGE_DIR
        self.display = None
        self.links = []
        self.poller = select.poll()
        self.sources = {}  # id(stream) -> (link, read function)
        self.kdf_ms = self.opts["kdf-ms"]
        self.mount_flash()

    def mount_flash(self):
        image = FlashImage(self.opts["flash"])
        fs = image.filesystem()
        if image.fresh:
            vfs.VfsLfs2.mkfs(fs)
        vfs.mount(vfs.VfsLfs2(fs), MOUNT)
        self.flash = image

    def secret_region(self):
        return self.flash.secret_region()

    def open_links(self, debug):
        port = self.opts["port"]
        self._udp_link("wire", port, debug=False)
        if debug:
            self._udp_link("debug", port + 1, debug=True)
        if self.opts["pty"]:
            link = Link("serial", self._serial_write)
            self._add(sys.stdin, link, self._serial_read)

    def _udp_link(self, name, port, debug):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(socket.getaddrinfo(self.opts["host"], port)[0][-1])
        sock.setblocking(False)
        try:
            # room for a whole 16 KB frame's 261 reports arriving at once (SOL_SOCKET, SO_RCVBUF)
            sock.setsockopt(1, 8, 1 << 20)
        except OSError:
            pass

        def write(data, peer):
            if peer is not None:
                sock.sendto(data, peer)

        def read():
            # Every report queued now, one datagram at a time, each handed on as it is read (a
            # report link sends 64-byte datagrams; nothing else is accepted).
            for _ in range(300):
                try:
                    data, peer = sock.recvfrom(framing.REPORT_SIZE)
                except OSError:
                    return
                yield data, peer

        self._add(sock, Link(name, write, reports=True, debug=debug), read)

    def _add(self, stream, link, read):
        self.links.append(link)
        self.poller.register(stream, select.POLLIN)
        self.sources[id(stream)] = (link, read)

    def _serial_read(self):
        # stdin.buffer.read(n) blocks until n bytes: read what poll says is there, byte by byte.
        out = bytearray()
        one = select.poll()
        one.register(sys.stdin, select.POLLIN)
        while len(out) < 4096 and one.poll(0):
            b = sys.stdin.buffer.read(1)
            if not b:
                raise SystemExit("serial closed")
            out.extend(b)
        yield bytes(out), None

    def _serial_write(self, data, peer):
        sys.stdout.buffer.write(data)
        if hasattr(sys.stdout.buffer, "flush"):
            sys.stdout.buffer.flush()

    def poll(self, timeout_ms):
        # A generator: each ready source is read only when the dispatcher gets to it, because the
        # dispatcher may pump again (nested, while a request waits for the user) in between.
        for entry in self.poller.poll(timeout_ms):
            stream, mask = entry[0], entry[1]
            link, read = self.sources[id(stream)]
            if mask & (select.POLLHUP | select.POLLERR) and not mask & select.POLLIN:
                continue
            for data, peer in read():
                if data:
                    yield link, data, peer

    def read_button(self):
        return None  # the emulator's buttons are the debug link's presses

    def arm_buttons(self, guard_ms):
        pass

    def log(self, msg):
        print(msg, file=sys.stderr)

    def reset(self):
        # host/devtools/xip.py starts the process again, from the boot ROM, on this status
        sys.exit(RESET_STATUS)

    def log_exception(self, e):
        sys.print_exception(e, sys.stderr)
