"""Recheck after a block (CometBFT's CheckTx RECHECK, the solo engine's _after_commit): a tx whose
signer's account and the params are unchanged is answered from its admission, anything else is
checked in full. Attacker's tests: every way a block can invalidate a pending tx still evicts it,
and the remembered answers never differ from a full check's."""

from __future__ import annotations

import pytest

from host.chain.app import Application
from host.core import tx as txlib
from host.core.tx import decode_signed_tx
from tests.chain.helpers import QOS, Chain, account, cons_key, make_genesis, signed_tx, transfer
from tests.chain.test_gov import OPS, after_voting, new_chain, vote
from tests.chain.test_gov_params import change

BALANCE = 1_000_000 * QOS  # make_genesis's
A, B, C = account(0), account(1), account(2)


def fee_of(raw: bytes) -> int:
    return decode_signed_tx(raw)[0]["fee"]


def recheck(app: Application, pending: list[bytes]) -> list[str]:
    """What the engine does after each commit: every tx still pending, in mempool order."""
    return [app.check_tx(raw, recheck=True).codespace for raw in pending]


def admitted(app: Application, pending: list[bytes]) -> None:
    assert [app.check_tx(raw).codespace for raw in pending] == ["ok"] * len(pending)


def test_a_block_spending_the_signers_nonce_and_balance_evicts_its_pending_txs():
    """Another node's proposal carries the signer's other nonce-1 tx, which moves everything but
    its fee away: the pending nonce-1 tx is stale, the nonce-2 one cannot pay."""
    chain = Chain()
    first = signed_tx(A, 1, [transfer(B, 5)])
    second = signed_tx(A, 2, [transfer(B, 5)])
    bystander = signed_tx(C, 1, [transfer(B, 5)])
    admitted(chain.app, [first, second, bystander])
    fee = fee_of(first)
    spend_all = signed_tx(A, 1, [transfer(B, BALANCE - fee)], fee=fee)
    assert chain.block([spend_all]).tx_results[0].ok
    assert recheck(chain.app, [first, second, bystander]) == [
        "bad_nonce",
        "insufficient_funds",
        "ok",
    ]
    chain.block()
    assert recheck(chain.app, [bystander]) == ["ok"]  # still admitted, block after block


def test_a_committed_earlier_tx_leaves_too_little_for_a_pending_one():
    """The same signer's tx from elsewhere (nonce 1) spends most of the balance; the pending
    nonce-2 transfer that fitted the balance before no longer fits."""
    chain = Chain()
    first = signed_tx(A, 1, [transfer(B, 10)])
    big = signed_tx(A, 2, [transfer(B, BALANCE // 2)])
    admitted(chain.app, [first, big])
    elsewhere = signed_tx(A, 1, [transfer(C, BALANCE // 2 + 1)])
    assert chain.block([elsewhere]).tx_results[0].ok
    assert recheck(chain.app, [first, big]) == ["bad_nonce", "insufficient_funds"]


def test_a_fee_raised_by_governance_evicts_txs_offering_the_old_minimum():
    chain = new_chain()
    waiting = signed_tx(C, 1, [transfer(B, 1)], params=chain.app.params)  # the exact minimum
    assert chain.send(A, [change("fees.bank/transfer=250")]).ok
    for op in OPS:
        assert chain.send(op, [vote(1, "yes")]).ok
    admitted(chain.app, [waiting])
    chain.block()
    assert recheck(chain.app, [waiting]) == ["ok"]
    after_voting(chain)
    assert chain.app.params["fees"]["bank/transfer"] == 250
    assert recheck(chain.app, [waiting]) == ["insufficient_fee"]


def test_a_transfer_over_the_balance_is_refused_and_incoming_funds_do_not_count():
    """Issue 13: check_tx counts the signer's pending fees and transfers against the committed
    balance; a transfer to the signer not yet committed adds nothing to it."""
    chain = Chain(genesis=make_genesis(n_accounts=3))
    fee = fee_of(signed_tx(A, 1, [transfer(B, 1)]))
    everything = signed_tx(A, 1, [transfer(B, BALANCE - fee)], fee=fee)
    over = signed_tx(A, 1, [transfer(B, BALANCE - fee + 1)], fee=fee)
    assert chain.app.check_tx(over).codespace == "insufficient_funds"
    assert chain.app.check_tx(everything).ok
    incoming = signed_tx(B, 1, [transfer(A, BALANCE // 2)])
    assert chain.app.check_tx(incoming).ok
    assert chain.app.check_tx(signed_tx(A, 2, [transfer(C, 1)])).codespace == ("insufficient_funds")
    # a multi-message tx counts every transfer it makes
    double = signed_tx(B, 2, [transfer(C, BALANCE // 4), transfer(C, BALANCE // 4)])
    assert chain.app.check_tx(double).codespace == "insufficient_funds"


def test_remembered_answers_equal_full_checks_block_after_block():
    """A node rechecking its pending txs after each block (remembered answers where nothing
    changed) and a node that never saw them checking the same txs in full, on the same blocks:
    the same verdict for every tx after every block."""
    node = Chain()
    senders = [account(i) for i in range(4)]
    pending = [
        signed_tx(s, n, [transfer(senders[(i + 1) % 4], 1_000 * n)])
        for i, s in enumerate(senders)
        for n in (1, 2, 3)
    ]
    admitted(node.app, pending)
    blocks = [  # each touches some senders: one of their txs, a conflicting nonce, a big spend
        [pending[0]],
        [signed_tx(senders[1], 1, [transfer(senders[0], BALANCE // 2)])],
        [signed_tx(senders[2], 1, [transfer(senders[3], BALANCE - 10 * QOS)])],
        [],
        [pending[1], pending[2]],
    ]
    for done, txs in enumerate(blocks, 1):
        node.block(txs)
        rechecked = recheck(node.app, pending)
        fresh = Chain()
        for earlier in blocks[:done]:
            fresh.block(earlier)
        assert rechecked == [fresh.app.check_tx(raw).codespace for raw in pending], done
        pending = [raw for raw, code in zip(pending, rechecked, strict=True) if code == "ok"]
    assert pending  # some txs stayed admitted throughout: the remembered answers were used


SPENDING = {  # message type -> a message of it that takes `n` QOS from its signer
    "bank/transfer": lambda n: transfer(B, n),
    "staking/create_validator": lambda n: txlib.create_validator(
        cons_key(7).pubkey, "v7", 1_000, n),
    "staking/delegate": lambda n: txlib.delegate(B.address, n),
    "gov/spend": lambda n: txlib.gov_spend("community", C.address, 1, deposit=n),
    "gov/deposit": lambda n: txlib.gov_deposit(1, n),
    "exchange/add_liquidity": lambda n: txlib.add_liquidity("GOLD", n, 1),
    "exchange/swap": lambda n: txlib.swap("GOLD", "QOS", n, 0),
    "qcp/transfer": lambda n: txlib.qcp_transfer("other-chain", "QOS", C.address, n),
    "qcp/register": lambda n: txlib.qcp_register("other-chain", b"\x80", n),
    "qcp/gateway": lambda n: txlib.qcp_gateway("BTC", n),
}


@pytest.mark.parametrize("kind", sorted(SPENDING))
def test_every_message_that_spends_qos_is_counted_at_admission(kind):
    """A bond, deposit, swap, pool deposit or outgoing QOS the balance cannot pay (after the
    signer's pending txs) is refused at the door, as a transfer is: in a block it would fail and
    still cost its fee."""
    chain = Chain(genesis=make_genesis(n_accounts=3))
    message = SPENDING[kind]
    fee = fee_of(signed_tx(A, 1, [message(BALANCE // 2)]))
    over = signed_tx(A, 1, [message(BALANCE - fee + 1)], fee=fee)
    assert chain.app.check_tx(over).codespace == "insufficient_funds"
    assert chain.app.check_tx(signed_tx(A, 1, [message(BALANCE // 2)], fee=fee)).ok
    rest = BALANCE // 2 - fee - fee + 1  # one more than the pending tx leaves
    assert chain.app.check_tx(signed_tx(A, 2, [message(rest)], fee=fee)).codespace == (
        "insufficient_funds")


def test_what_takes_no_qos_is_not_counted():
    """Selling a QSC token or sending one across chains spends none of the signer's QOS."""
    chain = Chain(genesis=make_genesis(n_accounts=3))
    app = chain.app
    assert app._spent_by([txlib.swap("GOLD", "GOLD", BALANCE * 2, 0)]) == 0
    assert app._spent_by([txlib.qcp_transfer("other-chain", "GOLD", C.address, BALANCE * 2)]) == 0
    assert app._spent_by([txlib.unbond(B.address, BALANCE * 2)]) == 0


def test_a_signer_with_a_tx_in_every_block_is_rechecked_from_its_account(monkeypatch):
    """The saturated case: each block commits one of the signer's txs or changes its account
    otherwise, while its later txs wait. Their rechecks read the new account and replay the view
    without checking the tx in full, and every verdict is the full check's (a node that never saw
    the txs, on the same blocks), down to a rival that takes the nonce and the balance."""
    node = Chain()
    pending = [signed_tx(A, n, [transfer(B, 1_000 * n)]) for n in range(1, 5)]
    admitted(node.app, pending)
    fee = fee_of(pending[0])
    rival = signed_tx(A, 3, [transfer(C, BALANCE - 3 * fee - 3_000 - 4_000 + 1)], fee=fee)
    blocks = [[pending[0]], [signed_tx(C, 1, [transfer(A, 1)])], [pending[1]], [rival]]
    full_checks: list[bytes] = []
    admit = node.app._admit
    monkeypatch.setattr(node.app, "_admit",
                        lambda ctx, raw, *rest, **kw: full_checks.append(raw) or admit(
                            ctx, raw, *rest, **kw))
    for done, txs in enumerate(blocks, 1):
        node.block(txs)
        pending = [raw for raw in pending if raw not in txs]
        full_checks.clear()
        rechecked = recheck(node.app, pending)
        fresh = Chain()
        for earlier in blocks[:done]:
            fresh.block(earlier)
        assert rechecked == [fresh.app.check_tx(raw).codespace for raw in pending], done
        if done < len(blocks):  # the account changed, nothing else: no full check
            assert full_checks == [], done
    assert rechecked == ["bad_nonce", "insufficient_funds"]
