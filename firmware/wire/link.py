# A Link is one connection to a host (USB serial, a 64-byte report pipe, an emulator UDP port) with
# its own stream decoder. Boards create links and hand incoming bytes to Link.feed(); the session
# answers through Link.send(), which cuts frames into reports where the link needs them.
import time

from wire import framing

# A partial frame older than this was truncated by the sender; the decoder rescans past it.
STALE_MS = 400


class Link:
    def __init__(self, name, write, reports=False, debug=False):
        self.name = name
        self.write = write  # write(bytes, peer)
        self.reports = reports
        self.debug = debug
        self.decoder = framing.Decoder()
        self.last_rx = time.ticks_ms()
        self.peer = None
        self.report = bytearray(framing.REPORT_SIZE) if reports else None

    def feed(self, data, peer=None):
        self.last_rx = time.ticks_ms()
        self.peer = peer
        if not self.reports:
            return self.decoder.feed(data)
        events = []
        for i in range(0, len(data), framing.REPORT_SIZE):
            chunk = framing.report_payload(data[i:i + framing.REPORT_SIZE])
            if chunk:
                events.extend(self.decoder.feed(chunk))
        return events

    def expire(self, now):
        if self.decoder.pending() and time.ticks_diff(now, self.last_rx) > STALE_MS:
            self.last_rx = now
            return self.decoder.expire()
        return ()

    def send(self, payload, peer=None):
        frame = framing.encode(payload)
        if peer is None:
            peer = self.peer
        if self.reports:
            for report in framing.each_report(frame, self.report):
                self.write(report, peer)
        else:
            self.write(frame, peer)
