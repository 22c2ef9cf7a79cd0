# Wallet: public keys, addresses, signing. Nothing is signed that was not shown: sign_tx decodes
# the transaction with codec.tx (which refuses unknown message types), shows every page of
# codec.tx.describe(), and signs only after the user confirms the last one.
from apps import common, unload
from codec.cbor import MAX_STRING as MAX_TX  # the request carries the tx as one byte string
from ui import layouts
from wire import errors

MAX_MESSAGE = 1024
TITLE_MESSAGE = "Sign message"


def get_public_key(dev, params):
    common.allow_only(params, ("account", "index"))
    account, index = common.get_path(params)
    dev.require_unlocked()
    from crypto import keys

    pub = dev.keypair(account, index)[1]
    return {"pubkey": pub, "bech32": keys.pubkey_string(pub)}


def get_address(dev, params):
    common.allow_only(params, ("account", "index", "show"))
    account, index = common.get_path(params)
    show = common.get_bool(params, "show")
    dev.require_unlocked()
    from crypto import keys

    address = keys.address_string(dev.keypair(account, index)[1])
    if show:
        lines = ["Account: %d" % account, "Index: %d" % index] + layouts.split_text(address)
        if not layouts.confirm(dev, "Address", lines, "ok"):
            dev.home()
            raise errors.cancelled()
        dev.home()
    return {"address": address}


def sign_tx(dev, params):
    common.allow_only(params, ("account", "index", "tx"))
    account, index = common.get_path(params)
    raw = common.get_bytes(params, "tx", 1, MAX_TX)
    dev.require_unlocked()
    # The key first: building the curve tables needs the most RAM, so it happens before the tx
    # decoder is loaded (afterwards the key is cached and signing needs little).
    dev.keypair(account, index)
    from codec import tx as txcodec

    try:
        tx = txcodec.decode_tx(raw)
        # The tx's bytes go (the request's params held them): the decoded tx is what is shown,
        # and what is signed is encoded from it now.
        raw = params["tx"] = None
        sig_input = txcodec.sign_bytes(tx)
    except txcodec.TxError as e:
        raise errors.bad_params("tx refused: %s" % e)
    pages = Pages()
    for part in range(txcodec.parts(tx)):  # one part's pages as tuples at a time
        made = []
        txcodec.describe_part(made, tx, part, (account, index))
        pages.add(made)
    # Laid out: the decoder, the decoded tx and bech32 go while the user reads the pages.
    tx = txcodec = None
    unload("codec.tx", "codec.qcp_pages", "crypto.bech32")
    if not layouts.show_pages(dev, pages, "sign"):
        dev.home()
        raise errors.cancelled()
    pages = None
    dev.screen.draw("Signing", ["Signing..."])
    result = _sign(dev, account, index, sig_input)
    dev.home()
    return result


def sign_message(dev, params):
    common.allow_only(params, ("account", "index", "chain", "message"))
    account, index = common.get_path(params)
    chain = common.get_str(params, "chain", 32)
    message = common.get_bytes(params, "message", 1, MAX_MESSAGE)
    dev.require_unlocked()
    dev.keypair(account, index)  # before the decoder is loaded, as in sign_tx
    from codec import tx as txcodec

    try:
        sig_input = txcodec.message_sign_bytes(chain, message)
    except txcodec.TxError as e:
        raise errors.bad_params("message refused: %s" % e)
    blocks = []
    txcodec.put_signer(blocks, account, index)
    txcodec.put(blocks, "Chain", chain)
    text = _printable(message)
    binary = text is None
    if not binary:
        txcodec.put_text(blocks, "Text", text)
    text = params["message"] = None
    made = []
    txcodec.paginate(made, TITLE_MESSAGE, blocks)
    blocks = None  # its lines are the pages' now
    pages = Pages()
    pages.add(made)
    # Laid out: the decoder goes while the user reads the pages.
    txcodec = None
    unload("codec.tx")
    if binary:  # the hex on pages of its own, made without the decoder
        _add_hex_pages(pages, message)
    message = None
    if not layouts.show_pages(dev, pages, "sign"):
        dev.home()
        raise errors.cancelled()
    result = _sign(dev, account, index, sig_input)
    dev.home()
    return result


def _sign(dev, account, index, data):
    from crypto import ed25519

    secret, pub = dev.keypair(account, index)
    return {"pubkey": pub, "sig": ed25519.sign(secret, data, pub)}


class Pages:
    """Screen pages, each kept as one string ("title\nline\n..."; no line holds a newline): a
    16-message tx's 18 pages take 3 KB so, 13 KB as tuples of lists of strings (.mpy tree).
    A sequence of (title, lines) for layouts.show_pages (ROWS == ui.screen.LINES: each fits)."""

    def __init__(self):
        self.packed = []

    def add(self, pages):
        # Takes the pages out of the list as it packs them: each one's strings become garbage
        # before the next is packed.
        pages.reverse()
        while pages:
            title, lines = pages.pop()
            self.packed.append("\n".join([title] + lines))

    def __len__(self):
        return len(self.packed)

    def __getitem__(self, i):
        rows = self.packed[i].split("\n")
        return rows[0], rows[1:]


def _printable(message):
    # Text when every byte is printable ASCII or a newline (shown escaped); hex otherwise.
    try:
        text = message.decode()
    except UnicodeError:
        return None
    for c in text:
        if not (" " <= c <= "~" or c == "\n"):
            return None
    return text


def _add_hex_pages(pages, data):
    # 10 bytes a line, hexlified one line at a time: never the whole message's 2 KB hex string,
    # nor more than one page of lines.
    from binascii import hexlify

    from ui.screen import LINES

    lines = ["Hex, %d bytes:" % len(data)]
    for i in range(0, len(data), 10):
        lines.append(hexlify(data[i:i + 10]).decode())
        if len(lines) == LINES:
            pages.add([(TITLE_MESSAGE, lines)])
            lines = []
    if lines:
        pages.add([(TITLE_MESSAGE, lines)])
