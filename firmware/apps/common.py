# Param checks shared by the apps. Every check raises RpcError(-32602) with a message naming the
# param, and nothing is changed before all params of a request have been checked.
from wire import errors

MAX_PATH_INDEX = 1 << 31


def allow_only(params, names):
    for key in params:
        if key not in names:
            raise errors.bad_params("unexpected param: %s" % key)


def get_uint(params, name, limit, default=None):
    v = params.get(name, default)
    if v is None:
        raise errors.bad_params("missing param: " + name)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v >= limit:
        raise errors.bad_params("%s must be an integer in [0, %d)" % (name, limit))
    return v


def get_str(params, name, max_len, optional=False, default=None):
    v = params.get(name)
    if v is None:
        if optional:
            return default
        raise errors.bad_params("missing param: " + name)
    if not isinstance(v, str) or len(v.encode()) > max_len:
        raise errors.bad_params("%s must be text of at most %d bytes" % (name, max_len))
    return v


def get_bytes(params, name, min_len=0, max_len=4096, optional=False):
    v = params.get(name)
    if v is None:
        if optional:
            return None
        raise errors.bad_params("missing param: " + name)
    if not isinstance(v, bytes) or not min_len <= len(v) <= max_len:
        raise errors.bad_params("%s must be %d..%d bytes" % (name, min_len, max_len))
    return v


def get_bool(params, name, default=False):
    v = params.get(name, default)
    if not isinstance(v, bool):
        raise errors.bad_params(name + " must be true or false")
    return v


def get_pin(params, name="pin"):
    pin = get_str(params, name, 50)
    if not 4 <= len(pin) <= 50 or not all("0" <= c <= "9" for c in pin):
        raise errors.bad_params(name + " must be 4 to 50 digits")
    return pin


def get_label(params):
    label = get_str(params, "label", 32, optional=True, default="")
    for c in label:
        if not " " <= c <= "~":
            raise errors.bad_params("label must be printable ASCII")
    return label


def get_path(params):
    account = get_uint(params, "account", MAX_PATH_INDEX)
    index = get_uint(params, "index", MAX_PATH_INDEX)
    return account, index
