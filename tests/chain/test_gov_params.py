"""gov/param_change: one registry (host/chain/params.py) judges every change when it is
submitted (mempool and block), a passed change applies all or nothing from the next block, and
no vote can lock governance out. Attacker's tests: forged keys, out-of-range values, fixed
params, votes by accounts without stake."""

from __future__ import annotations

import pytest

from host.chain import params
from host.chain.genesis import DEFAULT_PARAMS
from host.core.errors import TxError
from tests.chain.helpers import QOS, account, signed_tx
from tests.chain.test_gov import OPS, POOR, RICH, after_voting, new_chain, proposal, vote


def change(text: str, deposit: int = 1_000 * QOS) -> dict:
    return {"type": "gov/param_change", "changes": text, "deposit": deposit}


def pass_all(chain, n: int = 1) -> None:
    for op in OPS:
        assert chain.send(op, [vote(n, "yes")]).ok
    after_voting(chain)


def stored_params(chain) -> dict:
    return chain.app.query("params").value


def test_a_passed_change_applies_every_key_from_the_next_block():
    chain = new_chain()
    assert chain.send(RICH, [change("fees.bank/transfer=250,gov.quorum_bps=5000,"
                                    "exchange.min_depth=7")]).ok
    assert proposal(chain, 1)["content"]["changes"] == [
        ["fees", "bank/transfer", 250], ["gov", "quorum_bps", 5000], ["exchange", "min_depth", 7]]
    assert chain.app.params["fees"]["bank/transfer"] == 100  # nothing before the vote ends
    pass_all(chain)
    assert proposal(chain, 1)["status"] == "passed"
    now = stored_params(chain)
    assert now["fees"]["bank/transfer"] == 250 and now["gov"]["quorum_bps"] == 5000
    assert now["exchange"]["min_depth"] == 7
    assert chain.app.params == now  # the app runs under what the state says
    # the new fee rules: the old minimum is refused now
    low = signed_tx(RICH, chain.next_nonce(RICH), [{"type": "bank/transfer",
                    "to": POOR.address, "amount": 1}], fee=100, chain=chain.genesis.chain_id)
    assert chain.app.check_tx(low).codespace == "insufficient_fee"


def test_the_params_survive_a_restart(tmp_path):
    from host.chain.app import Application
    from tests.chain.helpers import Chain

    path = tmp_path / "state.db"
    chain = Chain(app=Application(path), genesis=new_chain().genesis)
    assert chain.send(RICH, [change("mint.max_block_seconds=30")]).ok
    pass_all(chain)
    chain.app.close()
    again = Application(path)
    assert again.params["mint"]["max_block_seconds"] == 30
    again.close()


@pytest.mark.parametrize("text", [
    "gov.nonsense=1",  # forged key
    "fees.bank/steal=1",  # a fee for a message type nobody handles
    "app.chain_id=1",  # a section that is no section
    "gov.threshold_bps=10001",  # yes > 100%: nothing could pass again
    "gov.threshold_bps=10000",  # yes > 100% of yes + no: the same lock-out
    "gov.threshold_bps=4999",  # a minority passing proposals
    "gov.quorum_bps=0",
    "gov.quorum_bps=9000",  # a third of the stake offline would stall governance
    "gov.voting_seconds=0",
    "gov.min_deposit=0",
    "gov.min_deposit=9223372036854775807",  # nobody could open a vote
    "qsc.holders_bps=9000",  # with community 2000: 110% of a fee
    "staking.remove_quorum_num=4",  # 4/3 of the stake to remove a node
    "lock.months=0",  # the team's lock is fixed at genesis
    "mint.period_seconds=1",  # so is the supply schedule
    "mint.periods=1",
    "fees.bank/transfer=-1",
    "fees.bank/transfer=1e3",
    "fees.bank/transfer=99999999999999999999",
    "gov.quorum_bps=4000,gov.quorum_bps=5000",  # twice
    "gov.quorum_bps=4000,",  # trailing junk
    "gov.quorum_bps",
    "",
])
def test_a_bad_change_is_refused_at_submission_and_changes_nothing(text):
    chain = new_chain()
    before = stored_params(chain)
    raw = signed_tx(RICH, chain.next_nonce(RICH), [change(text)], chain=chain.genesis.chain_id,
                    params=chain.app.params)
    assert not chain.app.check_tx(raw).ok  # never enters the mempool
    result = chain.block([raw]).tx_results[0]  # and a proposer that includes it gains nothing
    assert not result.ok
    assert chain.app.query("gov/proposals").value == []
    assert stored_params(chain) == before


def test_a_change_that_no_longer_fits_fails_whole_at_execution():
    """Two changes each valid alone, invalid together (shares over 100%): the second to pass
    fails and none of its keys change, not even the valid one."""
    chain = new_chain()
    assert chain.send(RICH, [change("qsc.holders_bps=8500,qsc.community_bps=1500")]).ok
    assert chain.send(RICH, [change("exchange.min_depth=9,qsc.community_bps=2000")]).ok
    for op in OPS:
        assert chain.send(op, [vote(1, "yes")]).ok
        assert chain.send(op, [vote(2, "yes")]).ok
    after_voting(chain)
    assert proposal(chain, 1)["status"] == "passed"
    second = proposal(chain, 2)
    assert second["status"] == "failed" and "qsc" in second["result"]
    now = stored_params(chain)
    assert now["qsc"] == {**DEFAULT_PARAMS["qsc"], "holders_bps": 8500, "community_bps": 1500}
    assert now["exchange"]["min_depth"] == DEFAULT_PARAMS["exchange"]["min_depth"]


def test_votes_without_stake_do_not_pass_a_change():
    """Attack: accounts holding QOS but no bonded stake vote yes; they have no voting power."""
    chain = new_chain()
    assert chain.send(RICH, [change("gov.threshold_bps=5000")]).ok
    for holder in (RICH, POOR, account(2), account(3)):
        assert chain.send(holder, [vote(1, "yes")]).ok
    after_voting(chain)
    prop = proposal(chain, 1)
    assert prop["tally"]["yes"] == 0 and prop["status"] == "rejected"


def test_a_rejected_change_changes_nothing():
    chain = new_chain()
    before = stored_params(chain)
    assert chain.send(RICH, [change("gov.quorum_bps=6000")]).ok
    for op in OPS:
        assert chain.send(op, [vote(1, "no")]).ok
    after_voting(chain)
    assert proposal(chain, 1)["status"] == "rejected"
    assert stored_params(chain) == before


def test_the_registry_refuses_a_genesis_that_locks_governance_out():
    for bad in ({"gov": {"threshold_bps": 10_000}}, {"gov": {"quorum_bps": 0}}):
        with pytest.raises(ValueError, match="gov"):
            new_chain(**bad)


def test_parse_changes_names_the_offending_key():
    with pytest.raises(TxError, match="unknown param gov.nonsense"):
        params.parse_changes("gov.nonsense=1", DEFAULT_PARAMS)
    with pytest.raises(TxError, match="fixed at genesis"):
        params.parse_changes("lock.cliff_months=0", DEFAULT_PARAMS)
    assert params.parse_changes("gov.quorum_bps=4000", DEFAULT_PARAMS) == [
        ("gov", "quorum_bps", 4000)]



def test_the_cli_signs_param_change_and_upgrade_proposals_the_chain_runs(tmp_path, capsys):
    from host.devtools.keyfile import save_key
    from tests.chain.test_cli_market import signed_by_cli

    chain = new_chain()
    key = tmp_path / "rich.json"
    save_key(key, RICH)
    for argv in (["gov-param-change", "gov.quorum_bps=4000,fees.bank/transfer=150",
                  "--deposit", "1000qos"],
                 ["gov-upgrade", "v2", "1000", "--info", "https://example.org/v2",
                  "--deposit", "1000qos"],
                 ["gov-cancel-upgrade", "v2"]):
        raw = signed_by_cli(key, chain.next_nonce(RICH), *argv, capsys=capsys)
        result = chain.block([raw]).tx_results[0]
        assert result.ok, (argv, result.log)
    kinds = [(p["kind"], p["content"]) for p in chain.app.query("gov/proposals").value]
    assert kinds == [
        ("param_change", {"changes": [["gov", "quorum_bps", 4000],
                                      ["fees", "bank/transfer", 150]]}),
        ("upgrade", {"name": "v2", "height": 1000, "info": "https://example.org/v2"}),
        ("cancel_upgrade", {"name": "v2"})]
    raw = signed_by_cli(key, chain.next_nonce(RICH), "gov-recover-client", "qos-a", "qos-a-2",
                        capsys=capsys)
    assert chain.block([raw]).tx_results[0].codespace == "unknown_chain"  # built and checked
    from host.cli.qos import main

    assert main(["tx", "gov-param-change", "gov.quorum_bps=-1", "--key", str(key),
                 "--chain-id", "x", "--nonce", "1", "--dry-run"]) == 2  # bad input
