# A Link is one connection to a host (USB serial, a 64-byte report pipe, an emulator UDP port).
# Boards hand incoming bytes to Link.feed(data, peer); the dispatcher answers through Link.send(),
# which cuts frames into reports where the link needs them.
#
# Reassembly is per sender: on a datagram link every source address gets its own stream decoder
# (at most MAX_SENDERS; the one quiet longest is dropped for a new one), so two hosts whose frames
# interleave do not corrupt each other, and one that trickles fake headers delays only itself.
# A serial or report link has one sender (peer None) and resynchronises on the magic and CRC.
import time

from wire import framing

# A partial frame is dropped when its sender has been quiet for STALE_MS (it was truncated), or
# when it is still incomplete FRAME_MS after its first byte (a 16 KB frame takes about 0.3 s over
# USB): a trickle of bytes cannot keep a frame open, and so the link deaf, for longer.
STALE_MS = 400
FRAME_MS = 2000
MAX_SENDERS = 4


class _Sender:
    def __init__(self, now):
        self.decoder = framing.Decoder()
        self.last_rx = now
        self.started = now  # when the partial frame being assembled began


class Link:
    def __init__(self, name, write, reports=False, debug=False):
        self.name = name
        self.write = write  # write(bytes, peer)
        self.reports = reports
        self.debug = debug
        self.senders = {}  # peer -> _Sender
        self.peer = None  # the sender of the events feed() returned last
        self.report = bytearray(framing.REPORT_SIZE) if reports else None

    def _sender(self, peer, now):
        sender = self.senders.get(peer)
        if sender is None:
            if len(self.senders) >= MAX_SENDERS:
                del self.senders[self._quietest()]
            sender = self.senders[peer] = _Sender(now)
        return sender

    def _quietest(self):
        found = None
        for peer in self.senders:
            last = self.senders[peer].last_rx
            if found is None or time.ticks_diff(last, self.senders[found].last_rx) < 0:
                found = peer
        return found

    def feed(self, data, peer=None):
        now = time.ticks_ms()
        sender = self._sender(peer, now)
        if not sender.decoder.pending():
            sender.started = now
        sender.last_rx = now
        self.peer = peer
        if not self.reports:
            return sender.decoder.feed(data)
        events = []
        for i in range(0, len(data), framing.REPORT_SIZE):
            chunk = framing.report_payload(data[i:i + framing.REPORT_SIZE])
            if chunk:
                events.extend(sender.decoder.feed(chunk))
        return events

    def reset(self, peer=None):
        # Forget what a sender had buffered (after running out of memory mid-frame).
        sender = self.senders.pop(peer, None)
        if sender is not None:
            sender.decoder.reset()

    def expire(self, now):
        """(peer, events) for every sender whose partial frame timed out: complete frames found
        inside it are still delivered, the rest is dropped. Called every pump, so the usual case
        (nothing pending) allocates nothing: that keeps a long dialog from fragmenting the heap."""
        out = ()
        gone = None
        for peer in self.senders:
            sender = self.senders[peer]
            if not sender.decoder.pending():
                if time.ticks_diff(now, sender.last_rx) > FRAME_MS:
                    gone = peer  # a sender gone quiet costs no memory (one per call is enough)
                continue
            quiet = time.ticks_diff(now, sender.last_rx) > STALE_MS
            if quiet or time.ticks_diff(now, sender.started) > FRAME_MS:
                events = sender.decoder.expire()
                sender.started = now
                if events:
                    out = out + ((peer, events),)
        if gone is not None:
            del self.senders[gone]
        return out

    def send(self, payload, peer=None):
        frame = framing.encode(payload)
        if peer is None:
            peer = self.peer
        if self.reports:
            for report in framing.each_report(frame, self.report):
                self.write(report, peer)
        else:
            self.write(frame, peer)
