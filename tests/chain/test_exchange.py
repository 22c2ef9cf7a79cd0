"""x/exchange: the QOS/QSC market of white paper figure 2.5. Trades, liquidity, slippage, a paused
token's closed market, and the attacker's views: rounding never creates value, k never falls,
a price moved inside a block never reaches the time-weighted average."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from host.chain.x.exchange.keeper import LOCKED_SHARES, PRICE_SCALE, swap_output
from host.core.cbor import dumps
from tests.chain.helpers import Chain, account, make_genesis, signed_tx

OWNER, BANKER, LP, TRADER, ATTACKER = (account(i) for i in range(5))
DEPTH = 10**9  # units on each side of the opening deposit: price 1 QOS unit per QSC unit


def add(name: str, qos: int, max_qsc: int, min_shares: int = 0) -> dict:
    return {"type": "exchange/add_liquidity", "name": name, "qos": qos, "max_qsc": max_qsc,
            "min_shares": min_shares}


def remove(name: str, shares: int, min_qos: int = 0, min_qsc: int = 0) -> dict:
    return {"type": "exchange/remove_liquidity", "name": name, "shares": shares,
            "min_qos": min_qos, "min_qsc": min_qsc}


def swap(name: str, sell: str, amount: int, min_out: int = 0) -> dict:
    return {"type": "exchange/swap", "name": name, "sell": sell, "amount": amount,
            "min_out": min_out}


def market(params: dict | None = None, depth: int = DEPTH) -> Chain:
    """STAR issued to LP, TRADER and ATTACKER; LP opens the market at 1:1 with `depth`."""
    chain = Chain(genesis=make_genesis(n_accounts=5, params=params))
    assert chain.send(OWNER, [{"type": "qsc/create", "name": "STAR", "banker": BANKER.address,
                               "supply_cap": 10**15}]).ok
    for who in (LP, TRADER, ATTACKER):
        assert chain.send(BANKER, [{"type": "qsc/issue", "name": "STAR", "to": who.address,
                                    "amount": 10 * DEPTH}]).ok
    if depth:
        assert chain.send(LP, [add("STAR", depth, depth)]).ok
    return chain


def qsc_of(chain: Chain, who) -> int:
    return chain.app.query("qsc/balance", dumps(["STAR", who.address])).value["balance"]


def pool(chain: Chain) -> dict:
    return chain.app.query("exchange/pool", b"STAR").value


def shares_of(chain: Chain, who) -> int:
    return chain.app.query("exchange/shares", dumps(["STAR", who.address])).value["shares"]


def test_open_trade_both_ways_and_withdraw():
    chain = market()
    p = pool(chain)
    assert (p["qos"], p["qsc"], p["shares"]) == (DEPTH, DEPTH, DEPTH)
    assert shares_of(chain, LP) == DEPTH - LOCKED_SHARES  # the locked part belongs to nobody
    qos0, qsc0 = chain.balance(TRADER), qsc_of(chain, TRADER)
    res = chain.send(TRADER, [swap("STAR", "QOS", 10**6)])
    assert res.ok, res.log
    got = swap_output(10**6, DEPTH, DEPTH, 30)
    assert got == 996_006  # 0.3% fee and the price impact of 0.1% of the pool
    assert qsc_of(chain, TRADER) == qsc0 + got
    assert chain.balance(TRADER) == qos0 - 10**6 - res.fee
    back = chain.send(TRADER, [swap("STAR", "STAR", got)])
    assert back.ok
    assert chain.balance(TRADER) < qos0 - res.fee - back.fee  # a round trip only pays fees
    assert qsc_of(chain, TRADER) == qsc0
    p = pool(chain)
    assert p["qos"] * p["qsc"] > DEPTH * DEPTH  # the fees stayed in the pool
    lp_qos = chain.balance(LP)
    assert chain.send(LP, [remove("STAR", DEPTH - LOCKED_SHARES)]).ok
    assert shares_of(chain, LP) == 0
    left = pool(chain)
    assert left["shares"] == LOCKED_SHARES and left["qos"] > 0 and left["qsc"] > 0
    assert chain.balance(LP) > lp_qos  # with its share of the trading fees


def test_two_step_exchange_between_two_qsc_tokens_in_one_tx():
    """Figure 2.5: X-token to Y-token through QOS, both steps in one signed tx (all or nothing)."""
    chain = market()
    assert chain.send(OWNER, [{"type": "qsc/create", "name": "MOON", "banker": BANKER.address,
                               "supply_cap": 10**15}]).ok
    assert chain.send(BANKER, [{"type": "qsc/issue", "name": "MOON", "to": LP.address,
                                "amount": DEPTH}]).ok
    assert chain.send(LP, [add("MOON", DEPTH, DEPTH)]).ok
    star = qsc_of(chain, TRADER)
    qos_out = swap_output(10**6, DEPTH, DEPTH, 30)
    moon_out = swap_output(qos_out, DEPTH, DEPTH, 30)
    res = chain.send(TRADER, [swap("STAR", "STAR", 10**6), swap("MOON", "QOS", qos_out, moon_out)])
    assert res.ok, res.log
    assert qsc_of(chain, TRADER) == star - 10**6
    moon = chain.app.query("qsc/balance", dumps(["MOON", TRADER.address])).value["balance"]
    assert moon == moon_out
    # the second leg's minimum not met: neither leg happens
    res = chain.send(TRADER, [swap("STAR", "STAR", 10**6), swap("MOON", "QOS", 10**6, 10**6)])
    assert res.codespace == "slippage"
    assert qsc_of(chain, TRADER) == star - 10**6


def test_slippage_and_bad_orders_change_nothing():
    chain = market()
    before = (pool(chain), qsc_of(chain, TRADER))
    quote = swap_output(10**6, DEPTH, DEPTH, 30)
    cases = [
        (swap("STAR", "QOS", 10**6, quote + 1), "slippage"),
        (swap("STAR", "MOON", 10**6), "invalid_request"),
        (swap("STAR", "QOS", 1), "invalid_request"),  # buys nothing: refused, not a gift
        (swap("NOPE", "QOS", 10), "not_found"),
        (swap("STAR", "STAR", 100 * DEPTH), "insufficient_funds"),
        (swap("STAR", "QOS", 0), "invalid_amount"),
        (add("STAR", 10**6, 10**6 - 1), "slippage"),  # needs 10**6 QSC at 1:1
        (add("STAR", 10**6, 10**6, 10**6 + 1), "slippage"),
        (remove("STAR", 10), "insufficient_funds"),  # TRADER holds no shares
    ]
    for msg, code in cases:
        res = chain.send(TRADER, [msg])
        assert res.codespace == code, (msg, res.log)
    assert chain.send(LP, [remove("STAR", 10**6, 10**6 + 1)]).codespace == "slippage"
    assert (pool(chain), qsc_of(chain, TRADER)) == before


def test_opening_deposit_must_exceed_the_locked_shares():
    chain = market(depth=0)
    assert chain.send(LP, [add("STAR", 1000, 1000)]).codespace == "invalid_request"
    assert chain.app.query("exchange/pool", b"STAR").codespace == "not_found"
    assert chain.send(LP, [add("STAR", 1001, 1001)]).ok


def test_a_paused_token_closes_its_market_and_frozen_qsc_cannot_be_sold():
    chain = market()
    assert chain.send(OWNER, [{"type": "qsc/freeze", "name": "STAR", "account": TRADER.address,
                               "amount": 10 * DEPTH}]).ok
    assert chain.send(TRADER, [swap("STAR", "STAR", 10)]).codespace == "frozen"
    assert chain.send(OWNER, [{"type": "qsc/pause", "name": "STAR", "paused": True}]).ok
    for msg in (swap("STAR", "QOS", 10**6), add("STAR", 10**6, 10**6), remove("STAR", 1)):
        assert chain.send(LP, [msg]).codespace == "paused", msg["type"]


@st.composite
def plans(draw):
    ops = []
    for _ in range(draw(st.integers(1, 12))):
        who = draw(st.sampled_from([LP, TRADER]))
        kind = draw(st.sampled_from(["add", "remove", "buy", "sell"]))
        size = draw(st.one_of(st.integers(1, 2000), st.integers(1, 10**9), st.integers(1, 10**11)))
        ops.append((who, kind, size))
    return ops


SMALL = 3_000  # a shallow pool, so rounding matters


@settings(max_examples=30, deadline=None)
@given(plans())
def test_rounding_never_creates_value(plan):
    """Attack: add, remove and trade in sizes chosen to make the floors and ceilings pay out more
    than went in. After every step k = qos * qsc never falls on a trade, the value of a share
    (k / shares^2) never falls, and the supply invariants hold (Chain.block checks them)."""
    chain = market(depth=SMALL)
    for who, kind, size in plan:
        before = pool(chain)
        if kind == "add":
            msg = add("STAR", size, 10 * DEPTH)
        elif kind == "remove":
            msg = remove("STAR", max(1, min(size, shares_of(chain, who))))
        else:
            msg = swap("STAR", "QOS" if kind == "buy" else "STAR", size)
        chain.send(who, [msg])
        after = pool(chain)
        k0, k1 = before["qos"] * before["qsc"], after["qos"] * after["qsc"]
        if kind in ("buy", "sell"):
            assert k1 >= k0, (msg, before, after)
        # value per share: k1 / s1^2 >= k0 / s0^2
        assert k1 * before["shares"] ** 2 >= k0 * after["shares"] ** 2, (msg, before, after)
    supply = chain.app.query("qsc/token", b"STAR").value["supply"]
    assert supply == 30 * DEPTH  # the market neither creates nor destroys QSC


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 10**12), st.integers(1, 10**12), st.booleans())
def test_round_trips_never_pay_back_more_than_went_in(size, deposit, buy_first):
    """Attack: trade and trade back, or deposit and withdraw at once, hoping rounding pays."""
    chain = market(depth=SMALL)
    qos0, qsc0 = chain.balance(TRADER), qsc_of(chain, TRADER)
    fees = 0
    first = swap("STAR", "QOS" if buy_first else "STAR", size % (5 * DEPTH) + 1)
    res = chain.send(TRADER, [first])
    fees += res.fee
    if res.ok:
        got = [e for e in res.events if e.type == "exchange_swap"][0].attributes["bought"]
        amount = int(got.rstrip("QOSTAR"))
        res = chain.send(TRADER, [swap("STAR", "STAR" if buy_first else "QOS", amount)])
        fees += res.fee
    res = chain.send(TRADER, [add("STAR", deposit % (5 * DEPTH) + 1, 10 * DEPTH)])
    fees += res.fee
    if res.ok:
        res = chain.send(TRADER, [remove("STAR", shares_of(chain, TRADER))])
        fees += res.fee
    assert chain.balance(TRADER) + fees <= qos0
    assert qsc_of(chain, TRADER) <= qsc0


# ---- the time-weighted price: what x/qsc mines at -------------------------------------------

DAY = 86400
PRICE_PARAMS = {"qsc": {"settle_seconds": DAY}}


def _day_with_attack(same_block: bool) -> tuple[Chain, dict, tuple[int, int]]:
    """One settlement day at a steady 1:1 price with a payment to mine, and at noon an attacker
    who pushes the price ~x100 with a huge buy and sells back, in the same block or 3 s later.
    Returns the chain, the pool right after the attack, and the day's mined-at rate (QOS units
    per QSC unit, from the settle event)."""
    chain = market(params=PRICE_PARAMS)
    assert chain.send(TRADER, [{"type": "qsc/transfer", "name": "STAR", "to": LP.address,
                                "amount": 5}]).ok
    chain.block(advance=chain.genesis.genesis_time + DAY / 2 - chain.time)
    nonce = chain.next_nonce(ATTACKER)
    push = swap_output(9 * DEPTH, DEPTH, DEPTH, 30)
    buy = signed_tx(ATTACKER, nonce, [swap("STAR", "QOS", 9 * DEPTH)])
    sell = signed_tx(ATTACKER, nonce + 1, [swap("STAR", "STAR", push)])
    if same_block:
        assert all(r.ok for r in chain.block([buy, sell]).tx_results)
    else:
        assert chain.block([buy]).tx_results[0].ok
        assert pool(chain)["qos"] > 90 * pool(chain)["qsc"]  # spot price moved ~x100
        assert chain.block([sell]).tx_results[0].ok  # 3 s later
    attacked = pool(chain)
    settle = None
    while settle is None:
        result = chain.block(advance=3600)
        settle = next((e for e in result.events if e.type == "qsc_settle"), None)
    num, den = (int(x) for x in settle.attributes["rate"].split("/"))
    return chain, attacked, (num, den)


def test_a_price_moved_inside_one_block_never_reaches_the_average():
    chain, attacked, rate = _day_with_attack(same_block=True)
    one = PRICE_SCALE
    # up to the attack block the accumulator saw only the 1:1 price, never the x100 one
    assert int(attacked["cum"]) - int(attacked["start_cum"]) == one * (
        attacked["last_ms"] - attacked["start_ms"])
    # after it, the price the round trip left (its fees stay in the pool), until settlement
    after = attacked["qos"] * one // attacked["qsc"]
    settle_ms = round(chain.time * 1000)
    held = settle_ms - attacked["last_ms"]
    expected = (one * (attacked["last_ms"] - attacked["start_ms"]) + after * held,
                (settle_ms - attacked["start_ms"]) * one)
    assert rate == expected
    assert rate[0] < rate[1] * 103 // 100  # the residue of the fees: under 3%, not x100


def test_a_price_held_for_one_block_moves_the_day_average_very_little():
    _, _, within = _day_with_attack(same_block=True)
    _, _, held = _day_with_attack(same_block=False)
    # x100 for 3 s of 86400: the average moves by about 3 * 99 / 86400 = 0.34%
    assert within[0] * held[1] < held[0] * within[1] < within[0] * held[1] * 1004 // 1000
