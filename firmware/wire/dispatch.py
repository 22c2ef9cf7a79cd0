# The device loop. It is single-threaded: while a handler waits for the user (a confirm dialog,
# a long derivation) it calls Dispatcher.pump() again, which still answers ping, replies "busy" to
# every other wire request, and serves the debug link (presses, screen reads). Handlers never see
# frames: they take params and return a result map or raise RpcError.
#
# One host at a time holds the device: `acquire` gives it a session id, bound to the link and
# sender it came from, which every other wire request must carry and every reply echoes. So a
# reply goes only to the session that asked (a host that opens the port after another vanished
# drops replies that are not its own), and a second host cannot slip requests into the first
# one's setup or PIN-server steps: acquiring ends the previous session and what it left pending.
import gc
import time

from wire import errors, framing, rpc

# Wire methods allowed while another request waits for the user.
ALWAYS = ("ping",)
# Wire methods that need no session.
SESSIONLESS = ("ping", "get_info", "acquire")


class Dispatcher:
    def __init__(self, board, methods, debug_methods=None, debug_while_busy=()):
        self.board = board
        self.methods = methods  # name -> handler(params) -> result
        self.methods["acquire"] = self._acquire
        self.methods["release"] = self._release
        self.debug_methods = debug_methods or {}
        self.debug_while_busy = debug_while_busy
        self.busy = None  # the method waiting for the user, or None
        self.after_request = None  # called when a request (not a nested ping or press) is done
        self.session_ended = None  # called when a session ends: drop what it left pending
        self.reset_after_reply = False  # set by a handler that needs a restart (update_finish)
        self.session = None  # (id, link, peer) of the host holding the device
        self.asking = None  # the link of the request being handled (not a nested ping)
        self.sessions = 0
        self.requests = 0

    def run(self):
        # The loop never ends: whatever goes wrong reading the links is logged and the loop
        # goes on (a board must not need a reset because a host sent something odd).
        while True:
            try:
                self.pump(100)
            except Exception as e:
                self.board.log_exception(e)

    def pump(self, timeout_ms):
        # Called nested from handlers that wait for the user: nothing that goes wrong with
        # another sender's bytes may escape into them (it would abort their request).
        for link, data, peer in self.board.poll(timeout_ms):
            try:
                events = link.feed(data, peer)
            except MemoryError:
                # no room to reassemble this sender's frame: drop it and say so, the host retries
                link.reset(peer)
                gc.collect()
                events = [(framing.NO_MEMORY, len(data))]
            for event in events:
                self.handle_event(link, event, peer)
        now = time.ticks_ms()
        for link in self.board.links:
            for peer, events in link.expire(now):
                for event in events:
                    self.handle_event(link, event, peer)

    def handle_event(self, link, event, peer=None):
        link.peer = peer
        try:
            self._handle(link, event)
        except MemoryError:
            gc.collect()
            err = errors.RpcError(errors.INTERNAL, "out of memory reading the request")
            self.reply(link, rpc.encode_error(None, err), peer)
        except Exception as e:  # a bug in reading a request: answer it, touch nothing else
            self.board.log_exception(e)
            err = errors.RpcError(errors.INTERNAL, "internal error reading the request")
            self.reply(link, rpc.encode_error(None, err), peer)

    def _handle(self, link, event):
        kind, value = event
        if kind == framing.TOO_LARGE:
            err = errors.RpcError(errors.TOO_LARGE, "frame of %d bytes is over the limit" % value)
            self.reply(link, rpc.encode_error(None, err), link.peer)
            return
        if kind == framing.NO_MEMORY:
            msg = "frame of %d bytes does not fit in the device's free memory" % value
            err = errors.RpcError(errors.TOO_LARGE, msg)
            self.reply(link, rpc.encode_error(None, err), link.peer)
            return
        try:
            rid, method, params, sid = rpc.parse_request(value)
        except rpc.RequestError as e:
            self.reply(link, rpc.encode_error(e.rid, e.error), link.peer)
            return
        self.requests += 1
        self.dispatch(link, rid, method, params, sid)

    def dispatch(self, link, rid, method, params, sid=None):
        table = self.debug_methods if link.debug else self.methods
        handler = table.get(method)
        allowed = ALWAYS if not link.debug else self.debug_while_busy
        if handler is None:
            err = errors.RpcError(errors.UNKNOWN_METHOD, "unknown method: " + method)
        elif self.busy is not None and method not in allowed:
            err = errors.RpcError(errors.BUSY, "busy: waiting for the user (%s)" % self.busy)
        else:
            err = None if link.debug else self._session_error(link, method, sid)
        if err is not None:
            self.reply(link, rpc.encode_error(rid, err, sid), link.peer)
            return
        peer = link.peer
        nested = method in allowed
        if not nested:
            self.busy = method
            self.asking = link
        try:
            result = handler(params)
            if method == "acquire":
                sid = result["session"]
            payload = rpc.encode_result(rid, result, sid)
        except errors.RpcError as e:
            payload = rpc.encode_error(rid, e, sid)
        except MemoryError as e:
            gc.collect()
            self.board.log_exception(e)
            err = errors.RpcError(errors.INTERNAL, "out of memory")
            payload = rpc.encode_error(rid, err, sid)
        except Exception as e:  # a bug must not take the device down: report it, keep serving
            self.board.log_exception(e)
            payload = rpc.encode_error(rid, errors.RpcError(errors.INTERNAL, "internal error"), sid)
        finally:
            if not nested:
                self.busy = None
                if self.after_request is not None:
                    self.after_request()
        self.reply(link, payload, peer)
        if self.reset_after_reply:
            self.board.reset()
        if not nested:
            gc.collect()

    def _session_error(self, link, method, sid):
        if method in SESSIONLESS:
            return None
        held = self.session
        if held is None:
            return errors.RpcError(errors.SESSION, "no session: acquire the device first")
        if sid != held[0] or link is not held[1] or link.peer != held[2]:
            return errors.RpcError(errors.SESSION, "not the current session: acquire again")
        return None

    def _acquire(self, params):
        if params:
            raise errors.bad_params("acquire takes no params")
        self._end_session()
        link = self.asking
        self.sessions += 1
        self.session = (_new_session_id(self.sessions), link, link.peer)
        return {"session": self.session[0]}

    def _release(self, params):
        if params:
            raise errors.bad_params("release takes no params")
        self._end_session()
        return {}

    def _end_session(self):
        self.session = None
        if self.session_ended is not None:
            self.session_ended()

    def reply(self, link, payload, peer=None):
        try:
            link.send(payload, peer)
        except OSError:
            pass  # the host went away; the next request will come on a fresh read


def _new_session_id(count):
    # Tells sessions apart; not a secret (whoever reads the link sees it in every reply).
    try:
        from os import urandom

        return urandom(8)
    except ImportError:  # ports without a TRNG call (QEMU): unique within a boot is enough
        return (count & 0xFFFFFFFF).to_bytes(4, "big") + time.ticks_us().to_bytes(4, "big")
