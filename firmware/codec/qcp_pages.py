# The screen lines of a qcp/transfer (docs/protocol.md section 3, docs/qcp.md section 5): the
# destination chain, where the token comes from, and when the packet times out. codec/tx.py
# imports this only when a tx holds a transfer.

from codec.tx import COLS, _bech32, _put_split, format_amount, put, put_text
from ui.text import wrap


def describe_transfer(blocks, msg):
    # The destination by the name the tx signs: its QCP number lives in the source chain's
    # state, not in these bytes, so the device cannot vouch for one.
    to_chain = msg["to_chain"]
    put(blocks, "To chain", to_chain)
    put_text(blocks, "Token", msg["denom"])
    blocks.append(wrap(transfer_origin(to_chain, msg["denom"]), COLS))
    _put_split(blocks, "Receiver", _bech32("qosacc", msg["receiver"]))
    put(blocks, "Amount", format_amount(msg["amount"], None))
    height, when = msg["timeout_height"], msg["timeout_time"]
    put(blocks, "Timeout height", str(height) if height else "none")
    put(blocks, "Timeout UTC", utc_text(when) if when else "none")
    if not height and not when:
        blocks.append(["WARNING: no timeout;", "the chain sets one", "day after sending"])


def transfer_origin(to_chain, denom):
    """Where the token comes from, as the chain decides it: a voucher whose first hop is the
    destination goes home; anything else arrives there as a voucher."""
    if denom.startswith("qcp/" + to_chain + "/"):
        return "Returns home to chain " + to_chain
    return "Leaves as a voucher of this token"


def utc_text(seconds):
    """Unix seconds as 'YYYY-MM-DD hh:mm:ss', from integers alone: time.gmtime wraps at 2^31
    or 2^32 on 32-bit ports, and a timeout may be any uint below 2^63."""
    days, rest = divmod(seconds, 86400)
    days += 719468  # days from 0000-03-01 to 1970-01-01: years then end with February
    era = days // 146097  # 400-year cycles
    day_of_era = days - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524
                   - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153  # 0 = March
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + 3 if month_index < 10 else month_index - 9
    year = era * 400 + year_of_era + (1 if month <= 2 else 0)
    return "%d-%02d-%02d %02d:%02d:%02d" % (year, month, day, rest // 3600, rest // 60 % 60,
                                            rest % 60)
