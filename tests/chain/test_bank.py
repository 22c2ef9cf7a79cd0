"""x/bank through the application: transfers, nonces, chain id, fees, signatures, genesis, locks."""

from __future__ import annotations

import pytest

from host.chain.app import Application
from host.chain.genesis import GENESIS_SUPPLY, Genesis
from host.chain.store import verify_proof
from host.chain.types import BlockInfo
from host.core.cbor import dumps
from host.core.errors import Code
from tests.chain.helpers import (
    CHAIN,
    QOS,
    T0,
    Chain,
    account,
    make_genesis,
    signed_tx,
    transfer,
)

FEE = 100  # params fees["bank/transfer"]


def test_genesis_allocation_and_supply():
    chain = Chain()
    supply = chain.app.query("app/supply").value
    assert supply["supply"] == GENESIS_SUPPLY
    assert chain.balance(account(0)) == 1_000_000 * QOS
    assert chain.app.check_invariants() == []
    assert chain.app.info().last_height == 0 and len(chain.app.info().last_app_hash) == 32


def test_transfer_moves_funds_and_charges_fee():
    chain = Chain()
    a, b = account(0), account(1)
    before_a, before_b = chain.balance(a), chain.balance(b)
    res = chain.send(a, [transfer(b, 5 * QOS)])
    assert res.code == 0, res.log
    assert res.fee == FEE
    assert chain.balance(a) == before_a - 5 * QOS - FEE
    assert chain.balance(b) == before_b + 5 * QOS
    assert chain.app.query("bank/account", a.address).value["nonce"] == 1
    assert any(e.type == "transfer" for e in res.events)


def test_transfer_to_new_account_creates_it():
    chain = Chain()
    fresh = account(77)
    assert chain.app.query("bank/account", fresh.address).code == Code.NOT_FOUND
    assert chain.send(account(0), [transfer(fresh, 3)]).code == 0
    assert chain.balance(fresh) == 3


@pytest.mark.parametrize(
    "build, code",
    [
        (lambda a, b: signed_tx(a, 1, [transfer(b, 1)], chain="other-chain"), "wrong_chain_id"),
        (lambda a, b: signed_tx(a, 2, [transfer(b, 1)]), "bad_nonce"),
        (lambda a, b: signed_tx(a, 0, [transfer(b, 1)]), "bad_encoding"),  # nonce >= 1
        (lambda a, b: signed_tx(a, 1, [transfer(b, 1)], fee=FEE - 1), "insufficient_fee"),
        (lambda a, b: signed_tx(account(55), 1, [transfer(b, 1)]), "unknown_account"),
        (lambda a, b: b"\xa0", "bad_encoding"),
        (lambda a, b: b"not cbor at all", "bad_encoding"),
    ],
)
def test_rejected_before_inclusion_changes_nothing(build, code):
    chain = Chain()
    a, b = account(0), account(1)
    raw = build(a, b)
    assert chain.app.check_tx(raw).codespace == code
    res = chain.block([raw])
    assert res.tx_results[0].codespace == code
    assert res.tx_results[0].fee == 0
    assert chain.balance(a) == 1_000_000 * QOS
    assert chain.app.query("bank/account", a.address).value["nonce"] == 0


def test_bad_signature_rejected():
    chain = Chain()
    a, b = account(0), account(1)
    raw = bytearray(signed_tx(a, 1, [transfer(b, 1)]))
    raw[-5] ^= 1  # inside the signature (last field of the envelope)
    res = chain.app.check_tx(bytes(raw))
    assert res.codespace in ("bad_signature", "bad_encoding")
    assert chain.block([bytes(raw)]).tx_results[0].code != 0
    assert chain.balance(a) == 1_000_000 * QOS


@pytest.mark.parametrize(
    "amount, code",
    [(0, "invalid_amount"), (2**63, "invalid_amount"), (-5, "invalid_amount")],
)
def test_out_of_range_amounts_are_never_included(amount, code):
    chain = Chain()
    a, b = account(0), account(1)
    raw = signed_tx(a, 1, [transfer(b, amount)])
    assert chain.app.check_tx(raw).codespace == code
    res = chain.block([raw]).tx_results[0]
    assert (res.codespace, res.fee) == (code, 0)
    assert chain.balance(a) == 1_000_000 * QOS


def test_failed_included_tx_charges_fee_and_bumps_nonce_only():
    """check_tx refuses a transfer over the balance; a proposer that includes one anyway (the
    block is built here directly) gets it charged: the fee and nonce stand, the transfer not."""
    chain = Chain()
    a, b = account(0), account(1)
    raw = signed_tx(a, 1, [transfer(b, 2_000_000 * QOS)])
    code = "insufficient_funds"
    assert chain.app.check_tx(raw).codespace == code
    res = chain.block([raw]).tx_results[0]
    assert res.codespace == code, res.log
    assert res.fee == FEE
    assert chain.balance(a) == 1_000_000 * QOS - FEE
    assert chain.balance(b) == 1_000_000 * QOS
    assert chain.app.query("bank/account", a.address).value["nonce"] == 1


def test_multi_message_tx_is_atomic():
    chain = Chain()
    a, b = account(0), account(1)
    res = chain.send(a, [transfer(b, 10), transfer(b, 2_000_000 * QOS)])
    assert res.codespace == "insufficient_funds"
    assert chain.balance(b) == 1_000_000 * QOS  # the first message was rolled back too


def test_check_tx_tracks_pending_nonces_and_never_writes():
    chain = Chain()
    a, b = account(0), account(1)
    root = chain.app.info().last_app_hash
    txs = [signed_tx(a, n, [transfer(b, 1)]) for n in (1, 2, 3)]
    assert [chain.app.check_tx(t).code for t in txs] == [0, 0, 0]
    assert chain.app.check_tx(txs[1]).codespace == "bad_nonce"  # replay in the mempool
    assert chain.app.info().last_app_hash == root
    res = chain.block(txs)
    assert [r.code for r in res.tx_results] == [0, 0, 0]
    assert chain.app.check_tx(txs[0]).codespace == "bad_nonce"  # replay after commit


def test_account_query_has_a_proof_against_the_app_hash():
    chain = Chain()
    a = account(0)
    chain.send(a, [transfer(account(1), 1)])
    q = chain.app.query("bank/account", a.address, prove=True)
    root = chain.app.info().last_app_hash
    assert verify_proof(root, q.key, q.raw, q.proof)
    missing = chain.app.query("store", b"bank/acc/" + bytes(20), prove=True)
    assert missing.code == Code.NOT_FOUND
    assert verify_proof(root, b"bank/acc/" + bytes(20), None, missing.proof)


def test_historical_query():
    chain = Chain()
    a, b = account(0), account(1)
    chain.send(a, [transfer(b, 7)])
    h1 = chain.app.info().last_height
    chain.send(a, [transfer(b, 9)])
    old = chain.app.query("bank/account", b.address, height=h1, prove=True)
    assert old.value["balance"] == 1_000_000 * QOS + 7
    assert verify_proof(chain.app.store.root_at(h1), old.key, old.raw, old.proof)
    assert not verify_proof(chain.app.info().last_app_hash, old.key, old.raw, old.proof)
    assert chain.app.query("bank/account", b.address, height=999).codespace == "not_found"
    assert chain.balance(b) == 1_000_000 * QOS + 16


def test_locked_allocation_releases_monthly_after_cliff():
    month = 1000.0
    genesis = make_genesis(locks=[(9, 2400)],
                           params={"lock": {"month_seconds": month}})
    chain = Chain(genesis=genesis, block_seconds=month / 2)
    who = account(9)
    assert chain.app.query("bank/account", who.address).value["locked"] == 2400
    # Through month 12 nothing is released.
    while chain.time + chain.block_seconds < T0 + 12 * month:
        chain.block()
    assert chain.balance(who) == 0
    chain.block(advance=T0 + 13 * month - chain.time)
    assert chain.balance(who) == 100
    chain.block(advance=40 * month)  # far past the end: everything, once
    assert chain.balance(who) == 2400
    assert chain.app.query("bank/account", who.address).value["locked"] == 0


def test_genesis_rejects_over_allocation_and_bad_input():
    g = make_genesis(balance=GENESIS_SUPPLY)
    with pytest.raises(ValueError, match="49%"):
        g.validate()
    bad = make_genesis()
    bad.accounts[0].balance = -1
    with pytest.raises(ValueError):
        bad.validate()
    with pytest.raises(ValueError):
        Genesis.from_json({"chain_id": "Bad Id", "genesis_time": 0})
    with pytest.raises(ValueError):
        Genesis.from_json({"chain_id": "ok", "genesis_time": 0, "params": {"nope": {}}})
    doc = make_genesis().to_json()
    doc["chains"] = [{"chain_id": "other", "validators": [["00" * 31, 5]]}]
    with pytest.raises(ValueError, match="32-byte"):
        Genesis.from_json(doc)
    doc["validators"][0]["cons_pubkey"] = "zz"
    with pytest.raises(ValueError, match="malformed"):
        Genesis.from_json(doc)


def test_genesis_json_roundtrip_and_single_init(tmp_path):
    g = make_genesis(locks=[(5, 100)])
    g.save(tmp_path / "genesis.json")
    again = Genesis.load(tmp_path / "genesis.json")
    assert again.to_json() == g.to_json()
    a1, a2 = Application(None), Application(None)
    assert a1.init_chain(g).app_hash == a2.init_chain(again.to_json()).app_hash
    with pytest.raises(RuntimeError):
        a1.init_chain(make_genesis(locks=[(5, 101)]))
    assert CHAIN == a1.info().chain_id


def test_init_chain_again_with_the_same_genesis_is_idempotent(tmp_path):
    g = make_genesis()
    app = Application(tmp_path / "s.db")
    first = app.init_chain(g.to_json())
    app.store.close()
    again = Application(tmp_path / "s.db")
    assert again.init_chain(g.to_json()) == first  # CometBFT re-sends InitChain before block 1
    other = make_genesis(n_accounts=2)
    with pytest.raises(RuntimeError):
        again.init_chain(other)


def test_block_events_hold_only_begin_and_end_block_events():
    chain = Chain()
    res = chain.block([signed_tx(account(0), 1, [transfer(account(1), 5)])])
    assert [e.type for e in res.tx_results[0].events] == ["transfer"]
    assert "transfer" not in [e.type for e in res.events]
    assert "mint" in [e.type for e in res.events]


def test_bad_calls_get_clear_errors():
    fresh = Application(None)
    assert fresh.query("bank/account", bytes(20)).codespace == "not_found"
    assert fresh.check_tx(b"\xa0").code != 0
    chain = Chain()
    assert chain.app.check_tx("not bytes").codespace == "bad_encoding"
    assert chain.app.query("no/such/path").codespace == "unknown_query"
    assert chain.app.query("bank/account", b"short").codespace == "invalid_request"
    assert chain.app.query("qsc/balance", b"\xff").codespace == "invalid_request"
    assert chain.app.query("store", 5).codespace == "invalid_request"
    for path, data in (("qsc/balance", dumps(["STAR", 5])), ("staking/delegation", dumps([1, 2])),
                       ("qcp/out", dumps([b"x", "y"])), ("qsc/allowance", dumps([1, 2, 3]))):
        assert chain.app.query(path, data).code != 0
    assert chain.app.check_tx(b"x" * 70_000).codespace == "tx_too_large"
    assert chain.app.check_tx(b"x" * 20_000).codespace == "tx_too_large"  # the codec's own limit
    with pytest.raises(ValueError):
        chain.app.finalize_block(BlockInfo(5, T0, bytes(20)))
