"""check_tx refuses a QSC transfer that would surely fail in its block (x/qsc/admission.py).

The attacker's (or the careless client's) moves: queue more QSC than the holder has, spend a
frozen balance, use a paused token, spend more of an allowance than granted across several pending
txs. Each refused tx, forced into a block anyway (a proposer need not ask the mempool), fails
there with the same code: the admission refuses only what cannot pass, and never a tx that can.
"""

from __future__ import annotations

from host.chain.app import Application
from tests.chain.helpers import signed_tx
from tests.chain.test_qsc_identity import ALICE, BOB, CAROL, OWNER, bal, qsc, setup


def admit(app: Application, txs: list[bytes]) -> list[str]:
    return [app.check_tx(raw).codespace for raw in txs]


def tx(chain, who, nonce: int, *msgs: dict) -> bytes:
    return signed_tx(who, nonce, list(msgs), chain=chain.genesis.chain_id, params=chain.app.params)


def test_queued_transfers_beyond_the_balance_are_refused_and_would_fail_in_a_block():
    chain = setup()  # ALICE holds 1000 STAR
    n = chain.next_nonce(ALICE)
    first = tx(chain, ALICE, n, qsc("transfer", name="STAR", to=BOB.address, amount=700))
    second = tx(chain, ALICE, n + 1, qsc("transfer", name="STAR", to=BOB.address, amount=301))
    fits = tx(chain, ALICE, n + 1, qsc("transfer", name="STAR", to=BOB.address, amount=300))
    assert admit(chain.app, [first, second, fits]) == ["ok", "insufficient_funds", "ok"]
    # a credit still pending does not count: BOB has nothing committed yet
    pending_credit = tx(chain, BOB, chain.next_nonce(BOB),
                        qsc("transfer", name="STAR", to=CAROL.address, amount=1))
    assert admit(chain.app, [pending_credit]) == ["insufficient_funds"]
    results = chain.block([first, second]).tx_results
    assert [r.codespace for r in results] == ["ok", "insufficient_funds"]
    assert bal(chain, ALICE)["balance"] == 300 and bal(chain, BOB)["balance"] == 700
    # after the commit the mempool view starts again from the new state (the failed tx
    # consumed nonce n + 1 and paid its fee)
    rest = [tx(chain, ALICE, n + 2, qsc("transfer", name="STAR", to=BOB.address, amount=a))
            for a in (301, 300)]
    assert admit(chain.app, rest) == ["insufficient_funds", "ok"]


def test_frozen_paused_and_unknown_tokens_are_refused_as_the_block_would():
    chain = setup()
    assert chain.send(OWNER, [qsc("freeze", name="STAR", account=ALICE.address, amount=900)]).ok
    n = chain.next_nonce(ALICE)
    frozen = tx(chain, ALICE, n, qsc("transfer", name="STAR", to=BOB.address, amount=101))
    unknown = tx(chain, ALICE, n, qsc("transfer", name="NOPE", to=BOB.address, amount=1))
    assert admit(chain.app, [frozen, unknown]) == ["frozen", "not_found"]
    assert [r.codespace for r in chain.block([frozen]).tx_results] == ["frozen"]
    assert chain.send(OWNER, [qsc("pause", name="STAR", paused=True)]).ok
    paused = tx(chain, ALICE, chain.next_nonce(ALICE),
                qsc("transfer", name="STAR", to=BOB.address, amount=1))
    assert admit(chain.app, [paused]) == ["paused"]
    assert [r.codespace for r in chain.block([paused]).tx_results] == ["paused"]
    assert (bal(chain, ALICE)["balance"], bal(chain, BOB)["balance"]) == (1000, 0)


def test_an_allowance_is_not_spent_twice_by_pending_txs():
    chain = setup()
    assert chain.send(ALICE, [qsc("approve", name="STAR", spender=BOB.address, amount=200)]).ok
    n = chain.next_nonce(BOB)
    spend = [tx(chain, BOB, n + i, qsc("transfer_from", name="STAR", owner=ALICE.address,
                                       to=CAROL.address, amount=150 if i == 0 else 60))
             for i in range(2)]
    within = tx(chain, BOB, n + 1, qsc("transfer_from", name="STAR", owner=ALICE.address,
                                      to=CAROL.address, amount=50))
    assert admit(chain.app, [*spend, within]) == ["ok", "insufficient_allowance", "ok"]
    results = chain.block(spend).tx_results
    assert [r.codespace for r in results] == ["ok", "insufficient_allowance"]
    assert bal(chain, CAROL)["balance"] == 150


def test_a_tx_with_a_refused_message_leaves_the_view_as_it_was():
    """A two-message tx whose second transfer cannot pay is refused whole: its first transfer
    must not count against the holder's later txs."""
    chain = setup()
    n = chain.next_nonce(ALICE)
    greedy = tx(chain, ALICE, n, qsc("transfer", name="STAR", to=BOB.address, amount=600),
                qsc("transfer", name="STAR", to=CAROL.address, amount=600))
    honest = tx(chain, ALICE, n, qsc("transfer", name="STAR", to=BOB.address, amount=1000))
    assert admit(chain.app, [greedy, honest]) == ["insufficient_funds", "ok"]
