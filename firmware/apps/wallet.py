# Wallet: public keys, addresses, signing. Nothing is signed that was not shown: sign_tx decodes
# the transaction with codec.tx (which refuses unknown message types), shows every page of
# codec.tx.describe(), and signs only after the user confirms the last one.
from apps import common, unload
from codec.cbor import MAX_STRING as MAX_TX  # the request carries the tx as one byte string
from ui import layouts
from wire import errors

MAX_MESSAGE = 1024


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
        # and what is signed is encoded from it now, while the heap has the most room.
        raw = params["tx"] = None
        sig_input = txcodec.sign_bytes(tx)
        # Pages are laid out as they are shown: all of a 16-message tx's at once would take
        # more heap than the decoder (ROWS == ui.screen.LINES: each fits the screen).
        pages = Pages(txcodec, tx, (account, index))
    except txcodec.TxError as e:
        raise errors.bad_params("tx refused: %s" % e)
    if not layouts.show_pages(dev, pages, "sign"):
        dev.home()
        raise errors.cancelled()
    pages = tx = None
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
    if text is not None:
        txcodec.put_text(blocks, "Text", text)
    else:
        block = ["Hex, %d bytes:" % len(message)]
        _put_hex(block, message)
        blocks.append(block)
    message = params["message"] = text = None  # shown from here on as the lines just made
    pages = []
    txcodec.paginate(pages, "Sign message", blocks)
    # The pages are made: the tx decoder's 17 KB (loaded from .mpy) go while the user reads.
    blocks = txcodec = None
    unload("codec.tx")
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
    """codec.tx.describe(tx, signer) as a sequence that holds one part's pages at a time: the
    pages of a 16-message tx at once take more heap than the decoder. Each part (the header, a
    message, the fee and memo) is laid out once to count its pages, and again when shown."""

    def __init__(self, txcodec, tx, signer):
        txcodec.check_tx(tx)
        self.describe_part = txcodec.describe_part
        self.tx = tx
        self.signer = signer
        self.counts = []
        for part in range(txcodec.parts(tx)):
            pages = []
            self.describe_part(pages, tx, part, signer)
            self.counts.append(len(pages))
        self.part = -1
        self.pages = None

    def __len__(self):
        return sum(self.counts)

    def __getitem__(self, i):
        if not 0 <= i < len(self):
            raise IndexError(i)
        part = 0
        while i >= self.counts[part]:
            i -= self.counts[part]
            part += 1
        if part != self.part:
            self.pages = None  # the shown part's pages go before the next part's are made
            pages = []
            self.describe_part(pages, self.tx, part, self.signer)
            self.part, self.pages = part, pages
        return self.pages[i]


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


def _put_hex(lines, data):
    # 10 bytes a line, each hexlified on its own: no 2 KB string of the whole message at once.
    from binascii import hexlify

    for i in range(0, len(data), 10):
        lines.append(hexlify(data[i:i + 10]).decode())
