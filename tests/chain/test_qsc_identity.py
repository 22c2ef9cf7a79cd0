"""x/qsc (ERC20 semantics, freeze, pause, tx-as-mining) and x/identity."""

from __future__ import annotations

from host.core.cbor import dumps
from tests.chain.helpers import QOS, Chain, account, make_genesis

OWNER, BANKER, ALICE, BOB, CAROL = (account(i) for i in range(5))
FEE = 100


def qsc(kind: str, **fields) -> dict:
    return {"type": f"qsc/{kind}", **fields}


def setup(cap: int = 1_000_000, settle: int = 86400) -> Chain:
    chain = Chain(genesis=make_genesis(n_accounts=5, params={"qsc": {"settle_seconds": settle}}))
    assert chain.send(OWNER, [qsc("create", name="STAR", banker=BANKER.address,
                                  supply_cap=cap)]).code == 0
    assert chain.send(BANKER, [qsc("issue", name="STAR", to=ALICE.address, amount=1000)]).code == 0
    return chain


def bal(chain: Chain, who, name: str = "STAR") -> dict:
    return chain.app.query("qsc/balance", dumps([name, who.address])).value


def test_create_issue_transfer():
    chain = setup()
    res = chain.send(ALICE, [qsc("transfer", name="STAR", to=BOB.address, amount=300)])
    assert res.code == 0, res.log
    assert [e.type for e in res.events] == ["qsc_transfer"]
    assert bal(chain, ALICE)["balance"] == 700 and bal(chain, BOB)["balance"] == 300
    tok = chain.app.query("qsc/token", b"STAR").value
    assert tok["supply"] == 1000 and tok["owner"] == OWNER.address_string


def test_create_and_issue_rejections():
    chain = setup(cap=1500)
    again = chain.send(CAROL, [qsc("create", name="STAR", banker=CAROL.address, supply_cap=5)])
    assert again.codespace == "already_exists"
    assert chain.send(OWNER, [qsc("issue", name="STAR", to=ALICE.address,
                                  amount=1)]).codespace == "unauthorized"
    assert chain.send(BANKER, [qsc("issue", name="STAR", to=ALICE.address,
                                   amount=501)]).codespace == "cap_exceeded"
    assert chain.send(BANKER, [qsc("issue", name="NOPE", to=ALICE.address,
                                   amount=1)]).codespace == "not_found"
    assert chain.app.query("qsc/token", b"STAR").value["supply"] == 1000


def test_transfer_more_than_balance_changes_nothing():
    chain = setup()
    res = chain.send(ALICE, [qsc("transfer", name="STAR", to=BOB.address, amount=1001)])
    assert res.codespace == "insufficient_funds"
    assert bal(chain, ALICE)["balance"] == 1000 and bal(chain, BOB)["balance"] == 0


def test_approve_and_transfer_from():
    chain = setup()
    assert chain.send(ALICE, [qsc("approve", name="STAR", spender=BOB.address, amount=200)]).ok
    spend = qsc("transfer_from", name="STAR", owner=ALICE.address, to=CAROL.address, amount=150)
    assert chain.send(BOB, [spend]).code == 0
    allowance = chain.app.query("qsc/allowance", dumps(["STAR", ALICE.address, BOB.address]))
    assert allowance.value["amount"] == 50
    assert chain.send(BOB, [spend]).codespace == "insufficient_allowance"
    assert chain.send(CAROL, [spend]).codespace == "insufficient_allowance"
    assert bal(chain, CAROL)["balance"] == 150
    assert chain.send(ALICE, [qsc("approve", name="STAR", spender=BOB.address, amount=0)]).ok
    allowance = chain.app.query("qsc/allowance", dumps(["STAR", ALICE.address, BOB.address]))
    assert allowance.value["amount"] == 0


def test_freeze_unfreeze():
    chain = setup()
    assert chain.send(ALICE, [qsc("freeze", name="STAR", account=ALICE.address,
                                  amount=900)]).codespace == "unauthorized"
    assert chain.send(OWNER, [qsc("freeze", name="STAR", account=ALICE.address,
                                  amount=900)]).code == 0
    assert bal(chain, ALICE)["frozen"] == 900
    res = chain.send(ALICE, [qsc("transfer", name="STAR", to=BOB.address, amount=101)])
    assert res.codespace == "frozen"
    assert chain.send(ALICE, [qsc("transfer", name="STAR", to=BOB.address, amount=100)]).ok
    assert chain.send(OWNER, [qsc("freeze", name="STAR", account=ALICE.address,
                                  amount=1)]).codespace == "insufficient_funds"
    assert chain.send(OWNER, [qsc("unfreeze", name="STAR", account=ALICE.address,
                                  amount=901)]).codespace == "invalid_request"
    assert chain.send(OWNER, [qsc("unfreeze", name="STAR", account=ALICE.address,
                                  amount=900)]).ok
    assert chain.send(ALICE, [qsc("transfer", name="STAR", to=BOB.address, amount=900)]).ok


def test_pause_stops_every_call_but_the_owners_unpause():
    """White paper 4.3: pause stops all calls of the token. Attack: keep using a paused token
    through every other call (issue, approve, transfer_from, freeze, unfreeze)."""
    chain = setup()
    assert chain.send(ALICE, [qsc("approve", name="STAR", spender=BOB.address, amount=5)]).ok
    assert chain.send(OWNER, [qsc("freeze", name="STAR", account=ALICE.address, amount=10)]).ok
    assert chain.send(BOB, [qsc("pause", name="STAR", paused=True)]).codespace == "unauthorized"
    assert chain.send(OWNER, [qsc("pause", name="STAR", paused=True)]).ok
    calls = [
        (BANKER, qsc("issue", name="STAR", to=ALICE.address, amount=1)),
        (ALICE, qsc("transfer", name="STAR", to=BOB.address, amount=1)),
        (ALICE, qsc("approve", name="STAR", spender=BOB.address, amount=7)),
        (BOB, qsc("transfer_from", name="STAR", owner=ALICE.address, to=BOB.address, amount=1)),
        (OWNER, qsc("freeze", name="STAR", account=ALICE.address, amount=1)),
        (OWNER, qsc("unfreeze", name="STAR", account=ALICE.address, amount=1)),
        (OWNER, qsc("pause", name="STAR", paused=True)),
    ]
    for who, msg in calls:
        assert chain.send(who, [msg]).codespace == "paused", msg["type"]
    assert (bal(chain, ALICE)["balance"], bal(chain, ALICE)["frozen"]) == (1000, 10)
    assert chain.app.query("qsc/token", b"STAR").value["supply"] == 1000
    allowance = chain.app.query("qsc/allowance", dumps(["STAR", ALICE.address, BOB.address]))
    assert allowance.value["amount"] == 5
    assert chain.send(BOB, [qsc("pause", name="STAR", paused=False)]).codespace == "unauthorized"
    assert chain.send(OWNER, [qsc("pause", name="STAR", paused=False)]).ok
    for who, msg in calls[:-1]:
        assert chain.send(who, [msg]).ok, msg["type"]


def test_transaction_as_mining_settles_each_period():
    chain = setup(settle=60)
    before = {p: chain.balance(p) for p in (ALICE, BOB)}
    res = chain.send(ALICE, [qsc("transfer", name="STAR", to=BOB.address, amount=500)])
    assert res.ok and res.fee == FEE
    pending = chain.app.query("qsc/mining", b"STAR").value
    assert pending["fees"] == FEE
    chain.block(advance=61)  # next period: settle
    pending = chain.app.query("qsc/mining", b"STAR").value
    assert pending["fees"] == 0
    # 80 units to holders pro rata (500/1000 each), 20 to the fund.
    assert pending["fund"] == 20
    assert chain.balance(ALICE) == before[ALICE] - FEE + 40
    assert chain.balance(BOB) == before[BOB] + 40
    # Payer and payee each mined QSC worth half the fee at rate 1:1.
    assert bal(chain, ALICE)["balance"] == 500 + 50
    assert bal(chain, BOB)["balance"] == 500 + 50
    assert chain.app.query("qsc/token", b"STAR").value["supply"] == 1100


def test_qsc_fee_shares_must_not_exceed_the_whole_fee():
    """Attack on the params: holders 80% + community 50% would pay out 130% of each fee."""
    import pytest

    for shares in ({"holders_bps": 8000, "community_bps": 5000},
                   {"holders_bps": -1, "community_bps": 2000},
                   {"holders_bps": 8000, "community_bps": True}):
        genesis = make_genesis(params={"qsc": shares})
        with pytest.raises(ValueError, match="qsc"):
            genesis.validate()
    make_genesis(params={"qsc": {"holders_bps": 7000, "community_bps": 2000}}).validate()


def test_community_share_is_honoured_and_the_rest_is_the_packaging_fee():
    """qsc.community_bps is the community fund's share of a QSC payment's fee; what holders and
    community leave (here 10%) stays with the super nodes as the packaging fee (4.3 item 1)."""
    chain = Chain(genesis=make_genesis(n_accounts=5, params={
        "qsc": {"settle_seconds": 60, "holders_bps": 7000, "community_bps": 2000}}))
    assert chain.send(OWNER, [qsc("create", name="STAR", banker=BANKER.address,
                                  supply_cap=10**6)]).ok
    assert chain.send(BANKER, [qsc("issue", name="STAR", to=ALICE.address, amount=1000)]).ok
    res = chain.send(ALICE, [qsc("transfer", name="STAR", to=BOB.address, amount=500)])
    assert res.ok and res.fee == FEE
    assert chain.app.query("qsc/mining", b"STAR").value["fees"] == 90  # 10 left to the nodes
    before = {p: chain.balance(p) for p in (ALICE, BOB)}
    chain.block(advance=61)
    assert chain.app.query("qsc/mining", b"STAR").value["fund"] == 20
    assert chain.balance(ALICE) == before[ALICE] + 35  # 70 to holders, 500/1000 each
    assert chain.balance(BOB) == before[BOB] + 35
    assert bal(chain, ALICE)["balance"] == 500 + 45  # QSC worth half the 90 payment fee each
    assert bal(chain, BOB)["balance"] == 500 + 45


def test_a_self_transfer_mines_nothing():
    """Attack (wash trading): pay yourself to mine QSC and a share of the fee back."""
    chain = setup(settle=60)
    before = chain.balance(ALICE)
    res = chain.send(ALICE, [qsc("transfer", name="STAR", to=ALICE.address, amount=500)])
    assert res.ok and res.fee == FEE
    assert chain.app.query("qsc/mining", b"STAR").value["fees"] == 0
    chain.block(advance=61)
    assert bal(chain, ALICE)["balance"] == 1000  # nothing mined
    assert chain.balance(ALICE) == before - FEE  # and no holder share of its own fee
    assert chain.app.query("qsc/token", b"STAR").value["supply"] == 1000


def test_mining_never_exceeds_the_cap():
    chain = setup(cap=1010, settle=60)
    chain.send(ALICE, [qsc("transfer", name="STAR", to=BOB.address, amount=1)])
    chain.block(advance=61)
    assert chain.app.query("qsc/token", b"STAR").value["supply"] == 1010


def test_identity_registers_once():
    chain = Chain()
    a = account(0)
    profile = bytes(range(32))
    assert chain.send(a, [{"type": "identity/register", "profile_hash": profile}]).ok
    got = chain.app.query("identity/get", a.address)
    assert got.value["profile_hash"] == profile.hex()
    again = chain.send(a, [{"type": "identity/register", "profile_hash": bytes(32)}])
    assert again.codespace == "already_exists"
    assert chain.app.query("identity/get", a.address).value["profile_hash"] == profile.hex()
    assert chain.app.query("identity/get", account(1).address).codespace == "not_found"
    assert QOS
