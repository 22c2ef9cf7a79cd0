"""White paper 4.3 with a market: transaction-as-mining at the QSC/QOS market's average rate over
the settlement day, the 80/20 fee split over many days at a moving price, wash trading that
mines nothing, and the operator's reserve released in step with value exchanged."""

from __future__ import annotations

from fractions import Fraction

from host.core.cbor import dumps
from tests.chain.helpers import Chain, account, make_genesis

OWNER, BANKER, LP, ALICE, BOB, CAROL, DAVE = (account(i) for i in range(7))
DAY = 86400
FEE = 10_000  # qsc/transfer's fee here: big enough that floors are small next to it
DEPTH = 10**9


def qsc(kind: str, **fields) -> dict:
    return {"type": f"qsc/{kind}", "name": "STAR", **fields}


def pay(who, amount: int) -> dict:
    return qsc("transfer", to=who.address, amount=amount)


def swap(sell: str, amount: int) -> dict:
    return {"type": "exchange/swap", "name": "STAR", "sell": sell, "amount": amount,
            "min_out": 0}


def star(chain: Chain, who) -> int:
    return chain.app.query("qsc/balance", dumps(["STAR", who.address])).value["balance"]


def token(chain: Chain) -> dict:
    return chain.app.query("qsc/token", b"STAR").value


def new_chain(qos_per_qsc: int | None = 2, cap: int = 10**15, **params) -> Chain:
    """STAR issued to everyone; with a market opened at `qos_per_qsc` unless None."""
    chain = Chain(genesis=make_genesis(n_accounts=7, params={
        "qsc": {"settle_seconds": DAY}, "fees": {"qsc/transfer": FEE}, **params}))
    assert chain.send(OWNER, [qsc("create", banker=BANKER.address, supply_cap=cap)]).ok
    for who in (LP, ALICE, BOB, CAROL, DAVE):
        assert chain.send(BANKER, [qsc("issue", to=who.address, amount=10 * DEPTH)]).ok
    if qos_per_qsc is not None:
        assert chain.send(LP, [{"type": "exchange/add_liquidity", "name": "STAR",
                                "qos": qos_per_qsc * DEPTH, "max_qsc": DEPTH,
                                "min_shares": 0}]).ok
    return chain


def run_to_settlement(chain: Chain):
    """Blocks an hour apart until the day settles; returns the qsc_settle event's attributes."""
    while True:
        result = chain.block(advance=3600)
        for event in result.events:
            if event.type == "qsc_settle":
                return event.attributes


def test_both_parties_mine_half_the_fee_at_the_market_rate():
    chain = new_chain(qos_per_qsc=2)
    before = {who: star(chain, who) for who in (ALICE, BOB)}
    assert chain.send(ALICE, [pay(BOB, 1000)]).ok
    settle = run_to_settlement(chain)
    num, den = (int(x) for x in settle["rate"].split("/"))
    assert num == 2 * den  # the price held all day: 2 QOS units per QSC unit
    # each side: QSC worth half the 10,000 fee at 2 QOS per QSC = 2,500 QSC
    assert star(chain, ALICE) == before[ALICE] - 1000 + 2500
    assert star(chain, BOB) == before[BOB] + 1000 + 2500
    assert settle["mined"] == "5000"


def test_without_a_market_mining_falls_back_to_the_creation_rate():
    chain = new_chain(qos_per_qsc=None)
    before = star(chain, BOB)
    assert chain.send(ALICE, [pay(BOB, 1000)]).ok
    settle = run_to_settlement(chain)
    assert settle["rate"] == "1/1"
    assert star(chain, BOB) == before + 1000 + FEE // 2


def _mined_through_a_thin_market(min_depth: int) -> dict:
    """Attack: STAR has no market; ALICE opens one with 2 QOS units against 10^6 STAR (a price
    of 2e-6 QOS per STAR) and pays BOB, hoping to mine half a fee's worth at that price."""
    chain = new_chain(qos_per_qsc=None, exchange={"min_depth": min_depth})
    assert chain.send(ALICE, [{"type": "exchange/add_liquidity", "name": "STAR", "qos": 2,
                               "max_qsc": 10**6, "min_shares": 0}]).ok
    assert chain.send(ALICE, [pay(BOB, 1000)]).ok
    return run_to_settlement(chain)


def test_a_thin_market_does_not_set_the_mining_rate():
    settle = _mined_through_a_thin_market(min_depth=10_000 * 10_000)  # the default
    assert settle["rate"] == "1/1" and settle["mined"] == str(FEE)
    # the same with the depth floor at one unit: the attack would have worked
    settle = _mined_through_a_thin_market(min_depth=1)
    assert int(settle["mined"]) > 10**9


def test_wash_trading_mines_nothing():
    """Attack: pay back and forth, or round a cycle of one's own accounts, within one day, or
    trade with oneself on the market: no QSC is mined (the fees still go to the holders)."""
    chain = new_chain()
    supply = token(chain)["supply"]
    assert chain.send(ALICE, [pay(BOB, 5000)]).ok
    assert chain.send(BOB, [pay(ALICE, 5000)]).ok
    assert chain.send(ALICE, [pay(CAROL, 700)]).ok
    assert chain.send(CAROL, [pay(DAVE, 700)]).ok
    assert chain.send(DAVE, [pay(ALICE, 700)]).ok
    assert chain.send(ALICE, [swap("QOS", 10**6)]).ok
    assert chain.send(ALICE, [swap("STAR", 10**5)]).ok
    settle = run_to_settlement(chain)
    assert settle["fees"] == str(5 * FEE)
    assert settle["mined"] == "0" and settle["exchanged"] == "0"
    assert token(chain)["supply"] == supply


def test_a_partly_returned_payment_mines_its_one_way_part():
    chain = new_chain(qos_per_qsc=1)
    before = star(chain, BOB)
    assert chain.send(ALICE, [pay(BOB, 3000)]).ok
    assert chain.send(BOB, [pay(ALICE, 1000)]).ok  # 2000 of the 3000 stayed with BOB
    settle = run_to_settlement(chain)
    # each has credit 10,000 (two half fees) and flows 3000 vs 1000: net/gross = 1/2
    assert settle["exchanged"] == "2000"
    assert star(chain, BOB) == before + 2000 + 5000
    assert settle["mined"] == "10000"


def test_the_reserve_unlocks_in_step_with_value_exchanged():
    chain = new_chain()
    cap_room = 10**15 - token(chain)["supply"]
    assert chain.send(BOB, [qsc("reserve", amount=10**6, full_volume=10**4)]).codespace \
        == "unauthorized"
    assert chain.send(OWNER, [qsc("reserve", amount=cap_room + 1, full_volume=1)]).codespace \
        == "cap_exceeded"
    assert chain.send(OWNER, [qsc("reserve", amount=10**6, full_volume=10**4)]).ok
    assert chain.send(OWNER, [qsc("reserve", amount=1, full_volume=1)]).codespace \
        == "already_exists"
    # the locked reserve counts against the cap: the banker cannot issue into it
    room = 10**15 - token(chain)["supply"] - 10**6
    assert chain.send(BANKER, [qsc("issue", to=BOB.address, amount=room + 1)]).codespace \
        == "cap_exceeded"
    assert chain.send(ALICE, [pay(BOB, 2500)]).ok
    assert chain.send(CAROL, [pay(DAVE, 1000)]).ok
    assert chain.send(DAVE, [pay(CAROL, 1000)]).ok  # returned: exchanges nothing
    settle = run_to_settlement(chain)
    assert settle["exchanged"] == "2500" and settle["reserve_released"] == "250000"
    assert star(chain, OWNER) == 250_000
    assert chain.send(ALICE, [pay(BOB, 10**5)]).ok  # far past full_volume
    settle = run_to_settlement(chain)
    assert settle["reserve_released"] == "750000"
    assert star(chain, OWNER) == 10**6
    reserve = chain.app.query("qsc/mining", b"STAR").value["reserve"]
    assert reserve["released"] == reserve["total"] == 10**6


def test_eighty_twenty_over_days_at_a_moving_market_rate():
    """Ten days; each day a trader moves the price (up some days, down others) and two one-way
    payments are made. At every settlement: holders get 80% of the day's payment fees (the
    market's share into its QOS reserve), the fund the rest; each payer and payee mine QSC worth
    half the fee at the day's average price, which lies within the day's spot prices. Supply and
    pool invariants are checked after every block (Chain.block)."""
    chain = new_chain(qos_per_qsc=2)
    rates = []
    for day in range(10):
        spots = [_spot(chain)]
        before = {who: star(chain, who) for who in (ALICE, BOB, CAROL, DAVE)}
        fund_before = chain.app.query("qsc/mining", b"STAR").value["fund"]
        trade = swap("QOS", (day + 1) * 10**8) if day % 3 else swap("STAR", (day + 1) * 10**8)
        assert chain.send(LP, [trade]).ok
        spots.append(_spot(chain))
        assert chain.send(ALICE, [pay(BOB, 100 + day)]).ok
        assert chain.send(CAROL, [pay(DAVE, 300 + day)]).ok
        settle = run_to_settlement(chain)
        fees = int(settle["fees"])
        assert fees == 2 * FEE
        holders, fund = int(settle["to_holders"]), int(settle["to_fund"])
        assert holders + fund == fees
        # 80% to holders, less the floor of each holder's part (7 holdings at most)
        assert fees * 8000 // 10_000 - 7 <= holders <= fees * 8000 // 10_000
        assert chain.app.query("qsc/mining", b"STAR").value["fund"] == fund_before + fund
        num, den = (int(x) for x in settle["rate"].split("/"))
        rate = Fraction(num, den)
        assert min(spots) - Fraction(1, 10**18) <= rate <= max(spots)  # floor of the scaled price
        mined = FEE // 2 * den // num
        assert star(chain, ALICE) == before[ALICE] - (100 + day) + mined
        assert star(chain, BOB) == before[BOB] + (100 + day) + mined
        assert star(chain, CAROL) == before[CAROL] - (300 + day) + mined
        assert star(chain, DAVE) == before[DAVE] + (300 + day) + mined
        rates.append(rate)
    assert len(set(rates)) == len(rates)  # the rate moved every day


def _spot(chain: Chain) -> Fraction:
    pool = chain.app.query("exchange/pool", b"STAR").value
    return Fraction(pool["qos"], pool["qsc"])
