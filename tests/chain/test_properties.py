"""Property tests: random valid and invalid tx sequences against twin applications.

Checked after every block: every module invariant (supply = balances + pools + locked, staking
pools, QSC totals); two independent apps (one in memory, one on disk) reach the same app hash;
txs refused by check_tx change nothing; a failed-but-included tx moves only its fee and nonce;
and a restart from the database continues with the same app hash.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host.chain.app import Application
from host.chain.types import Evidence
from tests.chain.helpers import QOS, Chain, account, make_genesis, signed_tx

N = 5
USERS = [account(i) for i in range(N)]
VALIDATOR_OP = account(100).address

op = st.tuples(
    st.sampled_from(["transfer", "qsc_issue", "qsc_transfer", "approve", "transfer_from",
                     "freeze", "unfreeze", "pause", "delegate", "unbond", "renew", "identity",
                     "create_validator", "vote_remove"]),
    st.integers(0, N - 1),
    st.integers(0, N - 1),
    st.one_of(st.integers(1, 2_000), st.integers(1, 3_000_000 * QOS)),
    st.sampled_from(["ok", "ok", "ok", "bad_nonce", "bad_chain", "bad_sig", "low_fee"]),
)
blocks = st.lists(st.tuples(st.lists(op, max_size=6), st.sampled_from([3, 3, 7, 25]),
                            st.sampled_from(["normal", "normal", "evidence", "missed"])),
                  min_size=1, max_size=5)


def consensus_input(chain: Chain, mode: str) -> dict:
    """Votes and evidence for a block: all signed, or one validator double-signed / absent."""
    votes = chain.votes()
    if mode == "missed" and votes:
        votes = [votes[0]._replace(signed=False)] + votes[1:]
    evidence = []
    if mode == "evidence" and votes:
        evidence = [Evidence("duplicate_vote", votes[-1].address, 1, chain.time, 1)]
    return {"votes": votes, "misbehavior": evidence}


def msg_for(kind: str, sender: int, other: int, amount: int) -> dict:
    to = USERS[other].address
    if kind == "transfer":
        return {"type": "bank/transfer", "to": to, "amount": amount}
    if kind == "qsc_issue":
        return {"type": "qsc/issue", "name": "GOLD", "to": to, "amount": amount}
    if kind == "qsc_transfer":
        return {"type": "qsc/transfer", "name": "GOLD", "to": to, "amount": amount}
    if kind == "approve":
        return {"type": "qsc/approve", "name": "GOLD", "spender": to, "amount": amount}
    if kind == "transfer_from":
        return {"type": "qsc/transfer_from", "name": "GOLD", "owner": to,
                "to": USERS[sender].address, "amount": amount}
    if kind == "freeze":
        return {"type": "qsc/freeze", "name": "GOLD", "account": to, "amount": amount}
    if kind == "unfreeze":
        return {"type": "qsc/unfreeze", "name": "GOLD", "account": to, "amount": amount}
    if kind == "pause":
        return {"type": "qsc/pause", "name": "GOLD", "paused": amount % 2 == 0}
    if kind == "renew":
        return {"type": "staking/renew", "validator": VALIDATOR_OP}
    if kind == "create_validator":
        return {"type": "staking/create_validator", "cons_pubkey": bytes([sender + 1]) * 32,
                "moniker": f"v{sender}", "commission": amount % 10_001, "self_bond": amount}
    if kind == "vote_remove":
        return {"type": "staking/vote_remove", "validator": to}
    if kind == "delegate":
        return {"type": "staking/delegate", "validator": VALIDATOR_OP, "amount": amount}
    if kind == "unbond":
        return {"type": "staking/unbond", "validator": VALIDATOR_OP, "amount": amount}
    return {"type": "identity/register", "profile_hash": bytes([other]) * 32}


def build_block(chain: Chain, ops) -> tuple[list[bytes], list[str]]:
    nonces = {u.address: chain.next_nonce(u) for u in USERS}
    txs, variants = [], []
    for kind, sender, other, amount, variant in ops:
        if kind in ("qsc_issue", "pause", "freeze", "unfreeze"):
            sender = 0 if amount % 4 else sender  # mostly the banker/owner, sometimes not
        user = USERS[sender]
        nonce = nonces[user.address]
        msg = msg_for(kind, sender, other, amount)
        if variant == "bad_nonce":
            raw = signed_tx(user, nonce + 3, [msg])
        elif variant == "bad_chain":
            raw = signed_tx(user, nonce, [msg], chain="elsewhere")
        elif variant == "low_fee":
            raw = signed_tx(user, nonce, [msg], fee=1)
        elif variant == "bad_sig":
            raw = signed_tx(USERS[(sender + 1) % N], nonce, [msg])
            raw = raw.replace(USERS[(sender + 1) % N].pubkey, user.pubkey)
        else:
            raw = signed_tx(user, nonce, [msg])
            nonces[user.address] = nonce + 1
        txs.append(raw)
        variants.append(variant)
    return txs, variants


def genesis():
    params = {"qsc": {"settle_seconds": 20}, "mint": {"period_seconds": 30},
              "lock": {"month_seconds": 2},
              "staking": {"epoch_blocks": 3, "unbonding_seconds": 10, "renew_seconds": 20,
                          "min_signed_bps": 5000}}
    return make_genesis(n_accounts=N, balance=2_000_000 * QOS, params=params,
                        locks=[(N + 1, 4_801)])


def setup_token(chain: Chain) -> bytes:
    create = {"type": "qsc/create", "name": "GOLD", "banker": USERS[0].address,
              "supply_cap": 10**12}
    issues = [{"type": "qsc/issue", "name": "GOLD", "to": u.address, "amount": 10**6}
              for u in USERS]
    return signed_tx(USERS[0], 1, [create, *issues])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks)
def test_random_blocks_keep_invariants_and_replicas_agree(plan):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.db"
        main = Chain(genesis=genesis())
        twin = Chain(app=Application(path), genesis=genesis())
        assert main.app.info().last_app_hash == twin.app.info().last_app_hash
        first = [setup_token(main)]
        r1, r2 = main.block(first), twin.block(first)
        assert r1.app_hash == r2.app_hash
        for ops, advance, mode in plan:
            txs, variants = build_block(main, ops)
            refused = [main.app.check_tx(t).code != 0 for t in txs]
            consensus = consensus_input(main, mode)
            res = main.block(txs, advance=advance, **consensus)
            assert twin.block(txs, advance=advance, **consensus).app_hash == res.app_hash
            assert res.validator_updates == [] or all(u.power >= 0 for u in res.validator_updates)
            for result, variant, was_refused in zip(res.tx_results, variants, refused,
                                                    strict=True):
                if variant != "ok":
                    assert result.code != 0 and result.fee == 0
                    assert was_refused
            assert main.app.check_invariants() == []
        # Restart from the database: same height and hash, and the next block agrees.
        info = twin.app.info()
        twin.app.store.close()
        reopened = Chain(app=Application(path), genesis=genesis())
        assert reopened.app.info() == info
        reopened.time, reopened_res = main.time, None
        reopened_res = reopened.block([])
        assert reopened_res.app_hash == main.block([]).app_hash
        reopened.app.store.close()


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(["bad_nonce", "bad_chain", "bad_sig", "low_fee"]), st.integers(0, N - 1))
def test_refused_txs_change_nothing(variant, sender):
    with_tx, without = Chain(genesis=genesis()), Chain(genesis=genesis())
    txs, _ = build_block(with_tx, [("transfer", sender, (sender + 1) % N, 5, variant)])
    assert with_tx.app.check_tx(txs[0]).code != 0
    assert with_tx.block(txs).app_hash == without.block([]).app_hash


@settings(max_examples=20, deadline=None)
@given(st.integers(0, N - 1), st.integers(1, 10**15))
def test_failed_included_tx_moves_only_fee_and_nonce(sender, amount):
    chain = Chain(genesis=genesis())
    user = USERS[sender]
    before = {u.address: chain.balance(u) for u in USERS}
    raw = signed_tx(user, 1, [{"type": "qsc/transfer", "name": "NONE", "to": USERS[0].address,
                               "amount": amount}])
    res = chain.block([raw]).tx_results[0]
    assert res.codespace == "not_found"
    after = {u.address: chain.balance(u) for u in USERS}
    assert after[user.address] == before[user.address] - res.fee
    assert all(after[a] == before[a] for a in after if a != user.address)
    assert chain.next_nonce(user) == 2


PATHS = ["store", "bank/account", "app/supply", "qsc/token", "qsc/tokens", "qsc/balance",
         "qsc/allowance", "qsc/mining", "staking/validators", "staking/validator",
         "staking/delegation", "mint/schedule", "distribution/pools", "identity/get", "qcp/out",
         "qcp/seq", "exchange/pool", "exchange/pools", "exchange/shares", "identity/attestations",
         "identity/attestation", "nope"]
FUZZ_CHAIN = Chain(genesis=genesis())


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(PATHS), st.integers(-2, 3), st.booleans())
def test_garbage_never_raises_and_changes_nothing(blob, path, height, prove):
    app = FUZZ_CHAIN.app
    root = app.info().last_app_hash
    assert app.check_tx(blob).code != 0
    result = app.query(path, blob, height=height, prove=prove)
    assert isinstance(result.code, int)
    assert app.info().last_app_hash == root
