# Error codes of the wire protocol (docs/protocol.md section 5). Handlers raise RpcError; the
# dispatcher turns it into an error reply, so a handler never has to build replies itself.

INVALID_REQUEST = -32600
UNKNOWN_METHOD = -32601
BAD_PARAMS = -32602
INTERNAL = -32603
CANCELLED = -32000
PROTOCOL = -32001
LOCKED = -32002
BUSY = -32003
TOO_LARGE = -32004
WRONG_STATE = -32005
WRONG_PIN = -32006
PIN_DELAY = -32007
ENTROPY = -32008
PIN_SERVER = -32009
SESSION = -32010
UPDATE_REFUSED = -32011


class RpcError(Exception):
    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def as_map(self):
        err = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


def bad_params(message):
    return RpcError(BAD_PARAMS, message)


def cancelled():
    return RpcError(CANCELLED, "cancelled by the user")
