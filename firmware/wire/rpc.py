# Requests and replies (docs/protocol.md section 5, "RPC"). parse_request turns a frame payload
# into (id, method, params, session) or raises RpcError carrying the id it could recover (or None).
from codec import cbor
from wire import errors

MAX_ID_LEN = 16
MAX_METHOD_LEN = 32
SESSION_LEN = 8
REQUEST_KEYS = ("id", "method", "params", "session")


def valid_id(rid):
    if isinstance(rid, bool):
        return False
    if isinstance(rid, int):
        return 0 <= rid < (1 << 64)
    return isinstance(rid, str) and len(rid) <= MAX_ID_LEN


def parse_request(payload):
    """Returns (id, method, params, session or None). Raises (RpcError, id or None)."""
    try:
        req = cbor.decode(payload)
    except cbor.CBORError as e:
        raise RequestError(None, errors.PROTOCOL, "bad CBOR: " + str(e))
    if not isinstance(req, dict):
        raise RequestError(None, errors.INVALID_REQUEST, "request is not a map")
    rid = req.get("id")
    if not valid_id(rid):
        raise RequestError(None, errors.INVALID_REQUEST, "missing or invalid id")
    for key in req:
        if key not in REQUEST_KEYS:
            raise RequestError(rid, errors.INVALID_REQUEST, "unexpected key in request")
    method = req.get("method")
    if not isinstance(method, str) or not method or len(method) > MAX_METHOD_LEN:
        raise RequestError(rid, errors.INVALID_REQUEST, "missing or invalid method")
    params = req.get("params", {})
    if not isinstance(params, dict):
        raise RequestError(rid, errors.INVALID_REQUEST, "params is not a map")
    session = req.get("session")
    if session is not None and not (isinstance(session, bytes) and len(session) == SESSION_LEN):
        raise RequestError(rid, errors.INVALID_REQUEST, "session is not %d bytes" % SESSION_LEN)
    return rid, method, params, session


class RequestError(Exception):
    def __init__(self, rid, code, message):
        super().__init__(message)
        self.rid = rid
        self.error = errors.RpcError(code, message)


def encode_result(rid, result, session=None):
    return _encode({"id": rid, "result": result}, session)


def encode_error(rid, err, session=None):
    return _encode({"id": rid, "error": err.as_map()}, session)


def _encode(reply, session):
    if session is not None:
        reply["session"] = session
    return cbor.encode(reply)
