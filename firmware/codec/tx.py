# The QOS transaction schema on the device (docs/protocol.md sections 2-4).
#
# decode_tx() accepts only a Tx that is deterministic CBOR and matches the schema exactly; the
# error names the offending field ("msgs[1].amount: ..."), and the host's decoder
# (host/core/tx.py) checks in the same order with the same messages. describe() turns a decoded
# Tx into screen pages; every signed field lands on some page, so nothing is signed blind.

from codec import cbor
from ui.text import wrap

MAX_TX_BYTES = 12288
MAX_MSGS = 16
MAX_MEMO = 256
MAX_BLOB = 4096
MAX_MESSAGE = 4096
AMOUNT_LIMIT = 1 << 63  # amounts, nonces, fees, seqs and heights stay below 2^63
UNITS = 10000  # 1 QOS = 10^4 units
TX_DOMAIN = "qos/tx/1"
MSG_DOMAIN = "qos/msg/1"
NATIVE = "QOS"

# Field kinds.
ADDR = 0  # 20-byte account address
VALADDR = 1  # 20-byte validator operator address (shown as qosval...)
AMOUNT = 2  # 0 < n < 2^63
AMOUNT0 = 3  # 0 <= n < 2^63
POSITIVE = 4  # 1 <= n < 2^63 (nonce, seq, height)
NAME = 5  # QSC token name
BOOL = 6
KEY32 = 7  # 32-byte consensus public key
HASH32 = 8  # 32-byte hash
MONIKER = 9
COMMISSION = 10
CHAIN = 11
TEXT = 12  # UTF-8, 0..256 bytes (memo, result log)
BLOB = 13  # byte string 1..4096 (proof, header)
PAYLOAD = 14  # a non-qcp message
UINT = 15  # 0 <= n < 2^63 (a timeout; 0 = none)
MSGS = 16

TX_FIELDS = (("chain", CHAIN), ("nonce", POSITIVE), ("fee", AMOUNT0), ("msgs", MSGS),
             ("memo", TEXT))

# Field order here is the order the device shows them in.
MESSAGES = {
    "bank/transfer": (("to", ADDR), ("amount", AMOUNT)),
    "qsc/create": (("name", NAME), ("banker", ADDR), ("supply_cap", AMOUNT)),
    "qsc/issue": (("name", NAME), ("to", ADDR), ("amount", AMOUNT)),
    "qsc/transfer": (("name", NAME), ("to", ADDR), ("amount", AMOUNT)),
    "qsc/approve": (("name", NAME), ("spender", ADDR), ("amount", AMOUNT0)),
    "qsc/transfer_from": (("name", NAME), ("owner", ADDR), ("to", ADDR), ("amount", AMOUNT)),
    "qsc/freeze": (("name", NAME), ("account", ADDR), ("amount", AMOUNT)),
    "qsc/unfreeze": (("name", NAME), ("account", ADDR), ("amount", AMOUNT)),
    "qsc/pause": (("name", NAME), ("paused", BOOL)),
    "staking/create_validator": (("cons_pubkey", KEY32), ("moniker", MONIKER),
                                 ("commission", COMMISSION), ("self_bond", AMOUNT)),
    "staking/edit_validator": (("moniker", MONIKER), ("commission", COMMISSION)),
    "staking/delegate": (("validator", VALADDR), ("amount", AMOUNT)),
    "staking/unbond": (("validator", VALADDR), ("amount", AMOUNT)),
    "staking/renew": (("validator", VALADDR),),
    "staking/vote_remove": (("validator", VALADDR),),
    "identity/register": (("profile_hash", HASH32),),
    "qcp/send": (("to_chain", CHAIN), ("payload", PAYLOAD)),
    "qcp/transfer": (("to_chain", CHAIN), ("denom", TEXT), ("receiver", ADDR), ("amount", AMOUNT),
                     ("timeout_height", UINT), ("timeout_time", UINT)),
    "qcp/relay": (("packet", BLOB), ("proof", BLOB), ("header", BLOB)),
    "qcp/ack": (("chain", CHAIN), ("seq", POSITIVE), ("ack", BLOB), ("proof", BLOB),
                ("header", BLOB)),
    "qcp/timeout": (("chain", CHAIN), ("seq", POSITIVE), ("proof", BLOB), ("header", BLOB)),
    "qcp/update_client": (("chain", CHAIN), ("header", BLOB), ("proof", BLOB)),
    "qcp/misbehaviour": (("chain", CHAIN), ("header", BLOB), ("conflicting", BLOB)),
    "qcp/register": (("chain", CHAIN), ("validators", BLOB), ("deposit", AMOUNT)),
    "qcp/gateway": (("asset", NAME), ("deposit", AMOUNT)),
    "qcp/gateway_mint": (("name", NAME), ("deposit_id", HASH32), ("receiver", ADDR),
                         ("amount", AMOUNT)),
    "qcp/gateway_burn": (("name", NAME), ("amount", AMOUNT), ("external", TEXT)),
    "gov/spend": (("pool", TEXT), ("recipient", ADDR), ("amount", AMOUNT), ("deposit", AMOUNT0)),
    "gov/deposit": (("proposal", POSITIVE), ("amount", AMOUNT)),
    "gov/vote": (("proposal", POSITIVE), ("option", TEXT)),
    "gov/param_change": (("changes", TEXT), ("deposit", AMOUNT0)),
    "gov/upgrade": (("plan", TEXT), ("height", POSITIVE), ("info", TEXT), ("deposit", AMOUNT0)),
    "gov/cancel_upgrade": (("plan", TEXT), ("deposit", AMOUNT0)),
    "gov/recover_client": (("chain", CHAIN), ("substitute", CHAIN), ("deposit", AMOUNT0)),
}

# Messages whose chain field names the other end of a QCP channel: never the tx's own chain.
_OTHER_CHAIN = {"qcp/send": "to_chain", "qcp/transfer": "to_chain", "qcp/ack": "chain",
                "qcp/timeout": "chain", "qcp/update_client": "chain", "qcp/misbehaviour": "chain",
                "qcp/register": "chain"}

_RULES = {
    ADDR: "must be a 20-byte address",
    VALADDR: "must be a 20-byte address",
    AMOUNT: "must be an integer > 0 and < 2^63",
    AMOUNT0: "must be an integer >= 0 and < 2^63",
    POSITIVE: "must be an integer >= 1 and < 2^63",
    UINT: "must be an integer >= 0 and < 2^63",
    NAME: "must be 1..8 letters A-Z and not QOS",
    BOOL: "must be true or false",
    KEY32: "must be a 32-byte string",
    HASH32: "must be a 32-byte string",
    MONIKER: "must be 1..32 printable ASCII characters",
    COMMISSION: "must be an integer 0..10000 (basis points)",
    CHAIN: "must be 1..32 characters of a-z 0-9 -",
    TEXT: "must be a UTF-8 text string of at most 256 bytes",
    BLOB: "must be a byte string of 1..4096 bytes",
}


class TxError(ValueError):
    pass


# ---------------------------------------------------------------- decoding and validation


def decode_tx(data):
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TxError("tx: must be bytes")
    if len(data) > MAX_TX_BYTES:
        raise TxError("tx: %d bytes, more than %d" % (len(data), MAX_TX_BYTES))
    try:
        tx = cbor.decode(data)
    except cbor.CBORError as e:
        raise TxError("tx: " + str(e))
    check_tx(tx)
    return tx


def check_tx(tx):
    # "chain" comes first in TX_FIELDS, so it is valid before any message is checked against it.
    chain = tx.get("chain") if isinstance(tx, dict) else None
    _check_map(tx, TX_FIELDS, "tx", chain)


def _fail(path, what):
    raise TxError(path + ": " + what)


def _check_keys(obj, fields, path, skip):
    # A map, every field present, and no key besides them (and `skip`, the "type" key).
    if not isinstance(obj, dict):
        _fail(path, "must be a map")
    for name, _ in fields:
        if name not in obj:
            _fail(path + "." + name, "missing")
    if len(obj) != len(fields) + (1 if skip else 0):
        extra = []
        for key in obj:
            if key != skip and not _has(fields, key):
                extra.append(key)
        extra.sort(key=str)
        _fail(path, "unexpected key %r" % extra[0])


def _check_map(obj, fields, path, chain, skip=None):
    _check_keys(obj, fields, path, skip)
    for name, kind in fields:
        _check_field(kind, obj[name], path + "." + name, chain)


def _has(fields, key):
    for name, _ in fields:
        if name == key:
            return True
    return False


def _check_msg(msg, path, chain, allow_qcp):
    if not isinstance(msg, dict):
        _fail(path, "must be a map")
    if "type" not in msg:
        _fail(path + ".type", "missing")
    kind = msg["type"]
    if not isinstance(kind, str) or kind not in MESSAGES:
        _fail(path + ".type", "unknown message type %r" % (kind,))
    if not allow_qcp and kind.startswith("qcp/"):
        _fail(path + ".type", "a qcp payload may not be a qcp/* message")
    _check_map(msg, MESSAGES[kind], path, chain, "type")
    other = _OTHER_CHAIN.get(kind)
    if other is not None and msg[other] == chain:
        _fail(path + "." + other, "must differ from the tx chain")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_bytes(v, lo, hi):
    return isinstance(v, bytes) and lo <= len(v) <= hi


def _check_field(kind, v, path, chain):
    if kind == MSGS:
        if not isinstance(v, list) or not 1 <= len(v) <= MAX_MSGS:
            _fail(path, "must be a list of 1..%d messages" % MAX_MSGS)
        for i in range(len(v)):
            _check_msg(v[i], "%s[%d]" % (path, i), chain, True)
        return
    if kind == PAYLOAD:
        _check_msg(v, path, chain, False)
        return
    if not _field_ok(kind, v):
        _fail(path, _RULES[kind])


def _field_ok(kind, v):
    if kind == ADDR or kind == VALADDR:
        return _is_bytes(v, 20, 20)
    if kind == KEY32 or kind == HASH32:
        return _is_bytes(v, 32, 32)
    if kind == BLOB:
        return _is_bytes(v, 1, MAX_BLOB)
    if kind == BOOL:
        return v is True or v is False
    if kind == AMOUNT:
        return _is_int(v) and 0 < v < AMOUNT_LIMIT
    if kind == AMOUNT0 or kind == UINT:
        return _is_int(v) and 0 <= v < AMOUNT_LIMIT
    if kind == POSITIVE:
        return _is_int(v) and 1 <= v < AMOUNT_LIMIT
    if kind == COMMISSION:
        return _is_int(v) and 0 <= v <= 10000
    if not isinstance(v, str):
        return False
    if kind == TEXT:
        return len(v.encode()) <= MAX_MEMO
    if kind == NAME:
        return 1 <= len(v) <= 8 and v != NATIVE and _all_in(v, 0x41, 0x5A)
    if kind == MONIKER:
        return 1 <= len(v) <= 32 and _all_in(v, 0x20, 0x7E)
    if kind == CHAIN:
        if not 1 <= len(v) <= 32:
            return False
        for ch in v:
            if not ("a" <= ch <= "z" or "0" <= ch <= "9" or ch == "-"):
                return False
        return True
    return False


def _all_in(s, lo, hi):
    for ch in s:
        c = ord(ch)
        if c < lo or c > hi:
            return False
    return True


# ---------------------------------------------------------------- sign bytes


def sign_bytes(tx):
    check_tx(tx)
    return cbor.encode([TX_DOMAIN, tx["chain"], tx])


def message_sign_bytes(chain_id, message):
    _check_field(CHAIN, chain_id, "chain_id", None)
    if not isinstance(message, (bytes, bytearray, memoryview)) or \
            not 1 <= len(message) <= MAX_MESSAGE:
        _fail("message", "must be a byte string of 1..%d bytes" % MAX_MESSAGE)
    return cbor.encode([MSG_DOMAIN, chain_id, bytes(message)])


# ---------------------------------------------------------------- screen pages

COLS = 21
ROWS = 6

TITLES = {
    "bank/transfer": "Send QOS",
    "qsc/create": "Create QSC",
    "qsc/issue": "Issue QSC",
    "qsc/transfer": "Send QSC",
    "qsc/approve": "Approve QSC",
    "qsc/transfer_from": "Send QSC from",
    "qsc/freeze": "Freeze QSC",
    "qsc/unfreeze": "Unfreeze QSC",
    "qsc/pause": "Pause QSC",
    "staking/create_validator": "New validator",
    "staking/edit_validator": "Edit validator",
    "staking/delegate": "Delegate",
    "staking/unbond": "Unbond",
    "staking/renew": "Renew validator",
    "staking/vote_remove": "Vote remove",
    "identity/register": "Register ID",
    "qcp/send": "QCP send",
    "qcp/transfer": "QCP transfer",
    "qcp/relay": "QCP relay",
    "qcp/ack": "QCP ack",
    "qcp/timeout": "QCP timeout",
    "qcp/update_client": "QCP client",
    "qcp/misbehaviour": "QCP conflict",
    "qcp/register": "QCP register",
    "qcp/gateway": "Declare gateway",
    "qcp/gateway_mint": "Gateway mint",
    "qcp/gateway_burn": "Gateway burn",
    "gov/spend": "Gov spend",
    "gov/deposit": "Gov deposit",
    "gov/vote": "Gov vote",
    "gov/param_change": "Param change",
    "gov/upgrade": "Upgrade plan",
    "gov/cancel_upgrade": "Cancel upgrade",
    "gov/recover_client": "Recover client",
}

LABELS = {
    "to": "To", "amount": "Amount", "banker": "Banker", "supply_cap": "Supply cap",
    "spender": "Spender", "owner": "Owner", "account": "Account", "paused": "Transfers",
    "cons_pubkey": "Consensus key", "moniker": "Moniker", "commission": "Commission",
    "self_bond": "Self bond", "validator": "Validator", "profile_hash": "Profile hash",
    "to_chain": "To chain", "seq": "Sequence", "proof": "Proof", "header": "Header",
    "name": "Token", "payload": "Payload", "packet": "Packet", "pool": "Pool",
    "recipient": "Recipient", "deposit": "Deposit", "proposal": "Proposal", "option": "Vote",
    "chain": "Chain", "ack": "Ack", "conflicting": "Conflicting",
    "validators": "Validators", "changes": "Changes", "plan": "Plan", "height": "Height",
    "info": "Info", "substitute": "Substitute", "asset": "Asset", "deposit_id": "Deposit ID",
    "receiver": "Receiver", "external": "Pay out to",
}


def format_amount(units, denom=NATIVE):
    if denom is None:
        return "%d.%04d" % (units // UNITS, units % UNITS)
    return "%d.%04d %s" % (units // UNITS, units % UNITS, denom)


def describe(tx, signer=None):
    """Pages for the screen: a list of (title, lines), at most 6 lines of at most 21 chars.
    signer: the (account, index) whose key signs, shown on the first page.

    Two different txs never draw the same pages: every field is shown whole, and free text
    (memo, moniker, log) is quoted, escaped and cut into marked rows without dropping a
    character, so spaces, an empty text and text that looks like a placeholder or a field stay
    apart."""
    check_tx(tx)
    pages = []
    blocks = []
    put(blocks, "Chain", tx["chain"])
    if signer is not None:
        put_signer(blocks, signer[0], signer[1])
    put(blocks, "Nonce", str(tx["nonce"]))
    put(blocks, "Messages", str(len(tx["msgs"])))
    paginate(pages, "Sign transaction", blocks)
    msgs = tx["msgs"]
    for i in range(len(msgs)):
        title = TITLES[msgs[i]["type"]]
        if len(msgs) > 1:
            title = "%d/%d %s" % (i + 1, len(msgs), title)
        blocks = []
        _describe_msg(blocks, msgs[i])
        paginate(pages, title, blocks)
    blocks = []
    put(blocks, "Fee limit", format_amount(tx["fee"]))
    put_text(blocks, "Memo", tx["memo"])
    paginate(pages, "Fee and memo", blocks)
    return pages


def _describe_msg(blocks, msg):
    kind = msg["type"]
    if kind == "qcp/transfer":
        # Imported on first use: the 192 KB heap holds this module next to a 12 KB tx.
        from codec import qcp_pages

        qcp_pages.describe_transfer(blocks, msg)
        return
    denom = msg.get("name", NATIVE)
    for name, ftype in MESSAGES[kind]:
        v = msg[name]
        label = LABELS[name]
        if ftype == ADDR:
            _put_split(blocks, label, _bech32("qosacc", v))
        elif ftype == VALADDR:
            _put_split(blocks, label, _bech32("qosval", v))
        elif ftype == KEY32:
            _put_split(blocks, label, _bech32("qosconspub", v))
        elif ftype == HASH32:
            _put_split(blocks, label, _hex(v))
        elif ftype == BLOB:
            put(blocks, label, "%d bytes" % len(v))
            _put_split(blocks, "SHA-256", _hex(_sha256(v)))
        elif ftype == AMOUNT or ftype == AMOUNT0:
            put(blocks, label, format_amount(v, denom))
        elif ftype == COMMISSION:
            put(blocks, label, "%d.%02d%%" % (v // 100, v % 100))
        elif ftype == BOOL:
            put(blocks, label, _bool_text(name, v))
        elif ftype == TEXT or ftype == MONIKER:
            put_text(blocks, label, v)
        elif ftype == PAYLOAD:
            put(blocks, label, TITLES[v["type"]])
            _describe_msg(blocks, v)
        else:
            put(blocks, label, str(v))


def _bool_text(name, v):
    if name == "paused":
        return "stopped" if v else "resumed"
    return "yes" if v else "no"


def put(blocks, label, value):
    """'Label: value' on one line when it fits, else the label and the value wrapped below."""
    if len(label) + 2 + len(value) <= COLS:
        blocks.append([label + ": " + value])
        return
    block = [label + ":"]
    block.extend(wrap(value, COLS))
    blocks.append(block)


def put_signer(blocks, account, index):
    put(blocks, "Account", str(account))
    put(blocks, "Index", str(index))


# Starts every row of free text below its label. No other row starts with it, so however a
# text is padded, none of its rows can pass for a field of its own ("Fee limit: ...").
TEXT_ROW = "|"


def put_text(blocks, label, text):
    """Free text as `"..."`: escaped (quotes too), behind the label on its row when it fits, else
    below it in rows of TEXT_ROW and exactly COLS - 1 characters but the last, so no character,
    space included, is lost at a line break. Empty text is an unquoted (none), which no text can
    imitate."""
    if not text:
        put(blocks, label, "(none)")
        return
    quoted = '"' + _escape(text).replace('"', '\\"') + '"'
    if len(label) + 2 + len(quoted) <= COLS:
        blocks.append([label + ": " + quoted])
        return
    block = [label + ":"]
    width = COLS - len(TEXT_ROW)
    for i in range(0, len(quoted), width):
        block.append(TEXT_ROW + quoted[i:i + width])
    blocks.append(block)


def _put_split(blocks, label, value):
    # Addresses and hashes: equal-length chunks read better than a ragged last line.
    block = [label + ":"]
    rows = (len(value) + COLS - 1) // COLS
    width = (len(value) + rows - 1) // rows
    for i in range(0, len(value), width):
        block.append(value[i:i + width])
    blocks.append(block)


def paginate(pages, title, blocks):
    # A block (a label and its value) stays on one page unless it is taller than a page.
    page = []
    for block in blocks:
        if page and len(page) + len(block) > ROWS:
            pages.append((title, page))
            page = []
        for line in block:
            if len(page) == ROWS:
                pages.append((title, page))
                page = []
            page.append(line)
    if page:
        pages.append((title, page))


def _escape(text):
    # Printable ASCII is shown as is; everything else (controls, non-ASCII the font lacks) as an
    # escape, so no byte of a memo is hidden and no control code can fake a screen line.
    out = []
    for ch in text:
        c = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0x20 <= c <= 0x7E:
            out.append(ch)
        elif c < 0x100:
            out.append("\\x%02x" % c)
        elif c < 0x10000:
            out.append("\\u%04x" % c)
        else:
            out.append("\\U%08x" % c)
    return "".join(out)


def _hex(b):
    import binascii

    return binascii.hexlify(b).decode()


def _sha256(b):
    import hashlib

    return hashlib.sha256(b).digest()


def _bech32(hrp, data):
    from crypto import bech32

    return bech32.encode(hrp, data)
