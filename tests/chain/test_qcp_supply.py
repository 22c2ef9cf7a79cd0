"""Supply of every token is conserved across two chains under random QCP traffic (hypothesis):
transfers of QOS, QSC tokens, qos-a's gateway token for an outside asset and vouchers both ways,
relays, acks, timeouts, pauses, gateway mints and burns and clock jumps, with the cross-chain
invariant of docs/qcp.md section 5 checked after every block (and each chain's own invariants,
which Chain.block checks)."""

from __future__ import annotations

import cbor2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host.chain.x.bank.assets import ASSET_SUPPLY
from host.chain.x.qcp.module import ack_key, out_key, timed_out
from host.chain.x.qcp.tokens import escrow_address, first_hop
from tests.chain.helpers import Chain
from tests.chain.test_qcp import (
    OTHER,
    RELAYER,
    USER,
    ack_msg,
    asset,
    cid,
    make_token,
    qsc,
    relay_msg,
    seqs,
    timeout_msg,
    transfer,
    two_chains,
)

TOKENS = {"qos-a": "ABC", "qos-b": "XYZ"}
PEOPLE = (USER, OTHER)


def _get(chain: Chain, key: bytes):
    raw = chain.app.store.get(key)
    return None if raw is None else cbor2.loads(raw)


def _pending(src: Chain, dst: Chain, denom: str) -> int:
    """What src sent to dst in `denom` that is neither in effect on dst nor refunded on src."""
    total = 0
    s = seqs(src, cid(dst))
    for seq in range(s["acked"] + 1, s["out"] + 1):
        packet = _get(src, out_key(cid(dst), seq))
        ack = _get(dst, ack_key(cid(src), seq))
        payload = packet["payload"]
        if payload["type"] == "qcp/tokens" and payload["denom"] == denom \
                and not (ack and ack["ok"]):
            total += payload["amount"]
    return total


def _escrowed(x: Chain, y: Chain) -> dict[str, int]:
    escrow = escrow_address(cid(y))
    held = {"QOS": x.balance(escrow), TOKENS[cid(x)]: qsc(x, TOKENS[cid(x)], escrow)}
    held.update(x.app.query("bank/assets", escrow).value["assets"])
    return held


def assert_conserved(a: Chain, b: Chain) -> None:
    """For every token d that x escrowed for y: escrow == vouchers qcp/x/d on y + in flight."""
    for x, y in ((a, b), (b, a)):
        vouchers = {k[len(ASSET_SUPPLY):].decode(): cbor2.loads(v)
                    for k, v in y.app.store.iterate(ASSET_SUPPLY)}
        prefix = f"qcp/{cid(x)}/"
        denoms = set(_escrowed(x, y)) | {d[len(prefix):] for d in vouchers
                                          if d.startswith(prefix)}
        escrowed = _escrowed(x, y)
        for d in denoms:
            voucher = prefix + d
            expected = (vouchers.get(voucher, 0) + _pending(x, y, d)
                        + _pending(y, x, voucher))
            assert escrowed.get(d, 0) == expected, (cid(x), d, escrowed, vouchers)


class Net:
    def __init__(self) -> None:
        self.a, self.b = two_chains()
        make_token(self.a, "ABC")
        make_token(self.b, "XYZ")
        for chain in (self.a, self.b):
            chain.send(USER, [{"type": "bank/transfer", "to": OTHER.address, "amount": 10**6}])
        self.chains = {"qos-a": self.a, "qos-b": self.b}
        self.deposits = 0  # outside deposits the gateway recorded (section 11)
        self.a.send(USER, [{"type": "qcp/gateway", "asset": "ETH", "deposit": 1_000 * 10**4}])

    def pair(self, side: int) -> tuple[Chain, Chain]:
        return (self.a, self.b) if side == 0 else (self.b, self.a)

    def do_transfer(self, side: int, who: int, pick: int, share: int, timeout: int) -> None:
        src, dst = self.pair(side)
        person = PEOPLE[who]
        denoms = ["QOS", TOKENS[cid(src)],
                  *sorted(src.app.query("bank/assets", person.address).value["assets"])]
        denom = denoms[pick % len(denoms)]
        height = dst.app.info().last_height + 2 if timeout == 1 else 0
        time = int(dst.time) + 5 if timeout == 2 else 0
        amount = 1 + share * 37
        to = PEOPLE[1 - who]
        src.send(person, [transfer(cid(dst), denom, amount, receiver=to, height=height,
                                   time=time)])

    def do_relay(self, side: int) -> None:
        src, dst = self.pair(side)
        s_out, d_in = seqs(src, cid(dst))["out"], seqs(dst, cid(src))["in"]
        if d_in < s_out and src.app.info().last_height >= 1:
            assert dst.send(RELAYER, [relay_msg(src, cid(dst), d_in + 1)]).ok

    def do_resolve(self, side: int) -> None:
        """Bring the next ack (or, for a late packet nobody delivered, the timeout) back."""
        src, dst = self.pair(side)
        s = seqs(src, cid(dst))
        received = seqs(dst, cid(src))["in"]
        nxt = s["acked"] + 1
        if dst.app.info().last_height < 1 or nxt > s["out"]:
            return
        if nxt <= received:
            assert src.send(RELAYER, [ack_msg(dst, cid(src), nxt)]).ok
            return
        packet = _get(src, out_key(cid(dst), nxt))
        if timed_out(packet, dst.app.info().last_height,
                     cbor2.loads(dst.app.store.get(b"app/last_time"))):
            assert src.send(RELAYER, [timeout_msg(dst, cid(src), nxt)]).ok

    def do_pause(self, side: int) -> None:
        chain = self.pair(side)[0]
        name = TOKENS[cid(chain)]
        paused = chain.app.query("qsc/token", name.encode()).value["paused"]
        chain.send(USER, [{"type": "qsc/pause", "name": name, "paused": not paused}])

    def do_gateway(self, who: int, share: int, burn: bool) -> None:
        """qos-a's recorder (USER) mints against a new outside deposit, or a holder burns."""
        person, amount = PEOPLE[who], 1 + share * 37
        if burn:
            self.a.send(person, [{"type": "qcp/gateway_burn", "name": "ETH", "amount": amount,
                                  "external": "0x00aa"}])
            return
        self.deposits += 1
        self.a.send(USER, [{"type": "qcp/gateway_mint", "name": "ETH",
                            "deposit_id": self.deposits.to_bytes(32, "big"),
                            "receiver": person.address, "amount": amount}])

    def do_tick(self, side: int, seconds: int) -> None:
        self.pair(side)[0].block(advance=seconds)


steps = st.lists(st.one_of(
    st.tuples(st.just("transfer"), st.integers(0, 1), st.integers(0, 1), st.integers(0, 5),
              st.integers(1, 40), st.integers(0, 2)),
    st.tuples(st.just("relay"), st.integers(0, 1)),
    st.tuples(st.just("relay"), st.integers(0, 1)),
    st.tuples(st.just("resolve"), st.integers(0, 1)),
    st.tuples(st.just("resolve"), st.integers(0, 1)),
    st.tuples(st.just("pause"), st.integers(0, 1)),
    st.tuples(st.just("gateway"), st.integers(0, 1), st.integers(1, 40), st.booleans()),
    st.tuples(st.just("tick"), st.integers(0, 1), st.integers(1, 8)),
), min_size=5, max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_supply_is_conserved_across_chains_after_every_block(plan):
    net = Net()
    assert_conserved(net.a, net.b)
    for step in plan:
        getattr(net, f"do_{step[0]}")(*step[1:])
        assert_conserved(net.a, net.b)
    # Drain: everything in flight ends as an ack or a timeout, and the invariant still holds.
    for _ in range(60):
        for side in (0, 1):
            net.do_relay(side)
            net.do_resolve(side)
        net.a.block(advance=10)
        net.b.block(advance=10)
        assert_conserved(net.a, net.b)
    for x, y in ((net.a, net.b), (net.b, net.a)):
        s = seqs(x, cid(y))
        assert s["acked"] == s["out"], s


def test_a_simple_round_trip_balances_exactly():
    net = Net()
    net.do_transfer(0, 0, 0, 10, 0)  # QOS a -> b
    net.do_relay(0)
    assert asset(net.b, "qcp/qos-a/QOS", OTHER) == 371
    assert first_hop("qcp/qos-a/QOS") == "qos-a"
    assert_conserved(net.a, net.b)
