"""Application.simulate (POST /txs/simulate): check_tx's verdict and the tx's execution without
its signature, changing nothing. The attacker's cases first: a simulated unsigned tx must never
pass for a signed one, and asking must not move the mempool's view or the state."""

from __future__ import annotations

from host.core import cbor
from host.core import tx as txlib
from host.core.tx import decode_signed_tx
from tests.chain.helpers import QOS, Chain, account, signed_tx, transfer

BALANCE = 1_000_000 * QOS  # make_genesis's
A, B, MALLORY = account(0), account(1), account(3)


def unsigned(raw: bytes) -> bytes:
    """The same SignedTx with a blank signature: what a wallet asks about before signing."""
    doc = cbor.loads(raw)
    doc["sig"] = bytes(64)
    return cbor.dumps(doc)


def balance(chain: Chain, acc) -> int:
    return chain.app.query("bank/account", acc.address).value["balance"]


def test_an_unsigned_theft_simulates_but_never_runs_in_a_block_or_the_mempool():
    """Mallory asks about a transfer out of A's account with no signature: the simulation runs
    it (the signature is not its question), and remembers nothing of it: the same bytes are
    refused at the door and fail in a block, and A keeps every unit."""
    chain = Chain()
    theft = unsigned(signed_tx(A, 1, [transfer(MALLORY, BALANCE // 2)]))
    assert chain.app.simulate(theft).ok
    assert chain.app.check_tx(theft).codespace == "bad_signature"
    assert chain.app.simulate(theft).ok
    result = chain.block([theft]).tx_results[0]
    assert result.codespace == "bad_signature"
    assert balance(chain, A) == balance(chain, MALLORY) == BALANCE


def test_asking_changes_neither_the_state_nor_the_mempool_view():
    chain = Chain()
    root, height = chain.app.store.root, chain.app.store.height
    first = signed_tx(A, 1, [transfer(B, 5)])
    for _ in range(3):  # each answer is the first one's: nothing was counted
        assert chain.app.simulate(unsigned(first)).ok
    assert (chain.app.store.root, chain.app.store.height) == (root, height)
    assert chain.app.check_tx(first).ok  # still nonce 1: the simulations took no nonce
    assert chain.app.check_tx(signed_tx(A, 2, [transfer(B, 5)])).ok


def test_it_answers_as_the_block_would_events_and_fee_included():
    chain = Chain()
    raw = signed_tx(A, 1, [transfer(B, 5 * QOS)])
    simulated = chain.app.simulate(unsigned(raw))
    delivered = chain.block([raw]).tx_results[0]
    assert (simulated.code, simulated.events, simulated.fee, simulated.nonce) == (
        delivered.code, delivered.events, delivered.fee, delivered.nonce)
    assert simulated.events[0].type == "transfer" and simulated.fee == decode_signed_tx(raw)[0][
        "fee"]


def test_a_message_that_would_fail_in_the_block_is_reported_with_the_fee_it_would_cost():
    """Admission passes (nothing at the door knows proposal 99), the execution fails: the wallet
    learns it before the user signs a tx that would cost its fee for nothing."""
    chain = Chain()
    root = chain.app.store.root
    result = chain.app.simulate(unsigned(signed_tx(A, 1, [txlib.gov_vote(99, "yes")])))
    assert (result.codespace, result.log) == ("not_found", "no proposal 99")
    assert result.fee > 0 and chain.app.store.root == root


def test_refusals_are_check_txs_own():
    """Each refusal at the door is the one check_tx gives the signed tx, pending txs counted."""
    chain = Chain()
    fee = decode_signed_tx(signed_tx(A, 1, [transfer(B, 5)]))[0]["fee"]
    spend_most = signed_tx(A, 1, [transfer(B, BALANCE - 10 * fee)], fee=fee)
    assert chain.app.check_tx(spend_most).ok  # pending: nonce 1 taken, the balance spoken for
    cases = {
        "stale nonce": signed_tx(A, 1, [transfer(B, 5)]),
        "over what the pending tx leaves": signed_tx(A, 2, [transfer(B, 10 * fee)], fee=fee),
        "fee under the minimum": signed_tx(A, 2, [transfer(B, 5)], fee=1),
        "another chain": signed_tx(A, 2, [transfer(B, 5)], chain="other"),
        "no account": signed_tx(account(9), 1, [transfer(B, 5)]),
    }
    for what, raw in cases.items():
        answer = chain.app.simulate(unsigned(raw))
        assert not answer.ok, what
        assert answer.codespace == chain.app.check_tx(raw).codespace, what
    assert chain.app.simulate(unsigned(signed_tx(A, 2, [transfer(B, 5)], fee=fee))).ok
    for garbage in (b"", b"\xa0", b"\x00" * 20_000, "a str"):
        assert chain.app.simulate(garbage).codespace in (  # type: ignore[arg-type]
            "bad_encoding", "tx_too_large")
