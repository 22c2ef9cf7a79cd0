"""Shared pieces of the codec cross-tests: the batched firmware runner and hypothesis strategies.

Each test gathers its cases first (hypothesis draws them), then feeds all of them to ONE
MicroPython process (192 KB heap, the board's) as lines on stdin and reads one answer line per
case, so hundreds of cases cost one interpreter start.
"""

from __future__ import annotations

import ast
import binascii
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from host.core import tx as htx
from host.devtools import micropython

FIRMWARE_DRIVER = r"""
import sys, binascii, gc, hashlib
from codec import cbor
from codec import tx as T

def unhex(s):
    return binascii.unhexlify(s)

def hx(b):
    return binascii.hexlify(b).decode()

def answer(op, arg):
    if op == 'enc':
        return hx(cbor.encode(eval(arg)))
    if op == 'dec':
        return repr(cbor.decode(unhex(arg)))
    if op == 'decmv':
        data = bytearray(b'##') + unhex(arg)
        return repr(cbor.decode(memoryview(data)[2:]))
    if op == 'decsum':
        # Big inputs: a repr would need 4x the input in one piece, so answer with a digest.
        data = unhex(arg)
        arg = None
        gc.collect()
        value = cbor.decode(data)
        data = None
        gc.collect()
        return hx(hashlib.sha256(cbor.encode(value)).digest())
    if op == 'tx':
        return T.sign_bytes(T.decode_tx(unhex(arg)))  # bytes: written out in hex pieces below
    if op == 'desc':
        return repr(T.describe(T.decode_tx(unhex(arg))))
    if op == 'utc':
        from codec import qcp_pages
        return qcp_pages.utc_text(int(arg))
    if op == 'origin':
        from codec import qcp_pages
        chain, _, denom = arg.partition(' ')
        return qcp_pages.transfer_origin(chain, unhex(denom).decode())
    if op == 'msg':
        chain, _, msg = arg.partition(' ')
        return hx(T.message_sign_bytes(chain, unhex(msg)))
    raise RuntimeError('unknown op ' + op)

big = False
while True:
    if big:  # a 32 KB hex line needs one free piece of heap that size
        gc.collect()
    line = sys.stdin.readline()
    if not line:
        break
    big = len(line) > 4000
    op, _, arg = line.partition(' ')
    line = None  # dropped before the copy below: two 32 KB hex copies at most, not three
    arg = arg.rstrip('\n')
    try:
        out = answer(op, arg)
        if isinstance(out, bytes):
            # a 12 KB tx's hex would need one 24 KB piece of heap, which only the test needs
            sys.stdout.write('ok ')
            for i in range(0, len(out), 512):
                sys.stdout.write(hx(out[i:i + 512]))
            print()
        else:
            print('ok', out)
    except ValueError as e:
        print('err', type(e).__name__, e)
    arg = out = None
"""


def run_firmware(requests: list[tuple[str, str]]) -> list[tuple[bool, str]]:
    """Runs (op, arg) requests through the firmware; returns (ok, payload-or-error) per request."""
    stdin = "".join(f"{op} {arg}\n" for op, arg in requests).encode()
    out = micropython.run(FIRMWARE_DRIVER, stdin=stdin, timeout=300)
    lines = out.splitlines()
    assert len(lines) == len(requests), f"firmware answered {len(lines)} of {len(requests)}"
    answers = []
    for line in lines:
        status, _, payload = line.partition(" ")
        answers.append((status == "ok", payload))
    return answers


def fw_error(payload: str) -> tuple[str, str]:
    """('CBORError', 'message') from an error answer."""
    kind, _, message = payload.partition(" ")
    return kind, message


def fw_value(payload: str) -> Any:
    return ast.literal_eval(payload)


def hexs(data: bytes) -> str:
    return binascii.hexlify(data).decode()


def collect(strategy: st.SearchStrategy, count: int) -> list[Any]:
    """Draws ``count`` examples of ``strategy``: hypothesis draws them, the caller batches."""
    drawn: list[Any] = []

    @settings(
        max_examples=count, database=None, phases=[Phase.generate], deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def gather(value: Any) -> None:
        drawn.append(value)

    gather()
    return drawn


# ------------------------------------------------------------------ generic CBOR values


def depth(v: Any) -> int:
    if isinstance(v, list):
        return 1 + max((depth(i) for i in v), default=0)
    if isinstance(v, dict):
        return 1 + max((depth(i) for i in v.values()), default=0)
    return 0


unicode_chars = st.characters(exclude_categories=("Cs",))  # no lone surrogates: not UTF-8

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.integers(min_value=-30, max_value=300),
    st.sampled_from([23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, -24, -25, -257]),
    st.binary(max_size=40),
    st.text(unicode_chars, max_size=20),
    st.text(alphabet=st.characters(min_codepoint=0x80, exclude_categories=("Cs",)), max_size=8),
)

values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.text(unicode_chars, max_size=6), inner, max_size=5),
    ),
    max_leaves=24,
).filter(lambda v: depth(v) <= 8)


# ------------------------------------------------------------------ transactions

chains = st.from_regex(r"[a-z0-9-]{1,32}", fullmatch=True)
addrs = st.binary(min_size=20, max_size=20)
amounts = st.one_of(st.integers(1, 2**63 - 1), st.integers(1, 10**9))
names = st.from_regex(r"[A-Z]{1,8}", fullmatch=True).filter(lambda n: n != "QOS")
monikers = st.from_regex(r"[ -~]{1,32}", fullmatch=True)
memos = st.one_of(
    st.just(""),
    st.from_regex(r"[ -~]{0,60}", fullmatch=True),
    st.text(unicode_chars, max_size=40),
    st.text(unicode_chars, min_size=60, max_size=64),  # up to 256 UTF-8 bytes
).filter(lambda t: len(t.encode("utf-8")) <= 256)


def plain_message(kind: str) -> st.SearchStrategy:
    """A strategy for one message of ``kind`` (not qcp/*), values anywhere in their ranges."""
    field_values: dict[int, st.SearchStrategy] = {
        htx.ADDR: addrs, htx.VALADDR: addrs, htx.AMOUNT: amounts,
        htx.AMOUNT0: st.one_of(st.just(0), amounts), htx.NAME: names,
        htx.BOOL: st.booleans(), htx.KEY32: st.binary(min_size=32, max_size=32),
        htx.HASH32: st.binary(min_size=32, max_size=32), htx.MONIKER: monikers,
        htx.COMMISSION: st.integers(0, 10_000), htx.POSITIVE: st.integers(1, 2**63 - 1),
        htx.TEXT: memos, htx.CHAIN: chains, htx.BLOB: st.binary(min_size=1, max_size=300),
        htx.UINT: st.one_of(st.just(0), st.integers(0, 2**63 - 1)),
    }
    fields = {name: field_values[k] for name, k in htx.MESSAGES[kind]}
    return st.fixed_dictionaries({"type": st.just(kind), **fields})


def _device_kinds() -> frozenset[str]:
    """The message types the device's decoder knows: the keys of MESSAGES in
    firmware/codec/tx.py. The device refuses every other type (test_tx checks that it says so)."""
    source = Path(__file__).parents[2] / "firmware" / "codec" / "tx.py"
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [
            "MESSAGES"
        ]:
            assert isinstance(node.value, ast.Dict)
            return frozenset(ast.literal_eval(k) for k in node.value.keys if k is not None)
    raise AssertionError(f"no MESSAGES table in {source}")


DEVICE_KINDS = _device_kinds()
# Types the node runs that the device cannot show yet (it refuses to sign them).
HOST_ONLY_KINDS = sorted(set(htx.MESSAGES) - DEVICE_KINDS)
PLAIN_KINDS = [k for k in htx.MESSAGES if not k.startswith("qcp/") and k in DEVICE_KINDS]
plain_messages = st.sampled_from(PLAIN_KINDS).flatmap(plain_message)


@st.composite
def messages(draw: Callable, chain: str) -> dict[str, Any]:
    kind = draw(st.sampled_from([k for k in htx.MESSAGES if k in DEVICE_KINDS]))
    if kind == "qcp/send":
        to_chain = draw(chains.filter(lambda c: c != chain))
        return htx.qcp_send(to_chain, draw(plain_messages))
    if kind in ("qcp/transfer", "qcp/ack", "qcp/timeout", "qcp/update_client",
                "qcp/misbehaviour", "qcp/register"):
        other = draw(chains.filter(lambda c: c != chain))
        msg = draw(plain_message(kind))
        return {**msg, ("to_chain" if kind == "qcp/transfer" else "chain"): other}
    return draw(plain_message(kind))


@st.composite
def txs(draw: Callable, max_msgs: int = 4) -> dict[str, Any]:
    chain = draw(chains)
    return {
        "chain": chain,
        "nonce": draw(st.one_of(st.integers(1, 1000), st.integers(1, 2**63 - 1))),
        "fee": draw(st.one_of(st.integers(0, 10**6), st.integers(0, 2**63 - 1))),
        "msgs": draw(st.lists(messages(chain), min_size=1, max_size=max_msgs)),
        "memo": draw(memos),
    }


def device_messages() -> list[dict[str, Any]]:
    """every_message() but the types the device does not know yet (HOST_ONLY_KINDS)."""
    return [msg for msg in every_message() if msg["type"] in DEVICE_KINDS]


def every_message() -> list[dict[str, Any]]:
    """One message of every type the node runs, the QCP ones last, built by host/core."""
    alice, bob = bytes(range(20)), bytes(range(20, 40))
    return [
        htx.transfer(alice, 1),
        htx.qsc_create("ABC", alice, 10**12),
        htx.qsc_issue("ABC", bob, 7),
        htx.qsc_transfer("ABC", bob, 7),
        htx.qsc_approve("ABC", bob, 0),
        htx.qsc_transfer_from("ABC", alice, bob, 7),
        htx.qsc_freeze("ABC", bob, 7),
        htx.qsc_unfreeze("ABC", bob, 7),
        htx.qsc_pause("ABC", True),
        htx.create_validator(b"\x09" * 32, "node one", 500, 10**8),
        htx.edit_validator("node one", 700),
        htx.delegate(alice, 9),
        htx.unbond(alice, 9),
        htx.renew(alice),
        htx.vote_remove(alice),
        htx.register_identity(b"\x0a" * 32),
        htx.qsc_reserve("ABC", 10**6, 10**9),
        htx.update_identity(b"\x0b" * 32),
        htx.revoke_identity(),
        htx.attest_identity(bob, "ABC", b"\x0c" * 32),
        htx.unattest_identity(bob, "ABC"),
        htx.add_liquidity("ABC", 10**6, 10**7, 1),
        htx.remove_liquidity("ABC", 5, 1, 2),
        htx.swap("ABC", "QOS", 10**4, 99),
        htx.gov_spend("community", bob, 5, 10**7),
        htx.gov_deposit(1, 10**7),
        htx.gov_vote(1, "yes"),
        htx.gov_param_change({"gov.quorum_bps": 4000, "fees.bank/transfer": 200}, 10**7),
        htx.gov_upgrade("v2", 1_000, "https://example.org/v2", 10**7),
        htx.gov_cancel_upgrade("v2", 0),
        htx.gov_recover_client("biz", "biz-2", 10**7),
        htx.qcp_send("biz", htx.qsc_transfer("ABC", bob, 1)),
        htx.qcp_transfer("biz", "qcp/biz/ABC", bob, 5, 120, 1_800_000_000),
        htx.qcp_relay(b"packet", b"proof", b"header"),
        htx.qcp_ack("biz", 3, b"ack", b"proof", b"header"),
        htx.qcp_timeout("biz", 4, b"proof", b"header"),
        htx.qcp_update_client("biz", b"header", b"proof"),
        htx.qcp_misbehaviour("biz", b"header", b"other header"),
        htx.qcp_register("biz", b"validators", 10**7),
        htx.qcp_gateway("ETH", 10**7),
        htx.qcp_gateway_mint("ETH", b"\x0d" * 32, bob, 5),
        htx.qcp_gateway_burn("ETH", 5, "0x00aa"),
    ]
