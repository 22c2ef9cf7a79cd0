"""The indexer on a block store, without a node: what a block may carry that must not be believed,
and resuming where it stopped."""

from __future__ import annotations

from hashlib import sha256

from host.chain.engine.blockstore import BlockStore
from host.chain.indexer import Indexer, Position
from host.chain.indexer.decode import PARTY, SIGNER
from host.chain.types import BlockResult, Event, TxResult
from host.core import cbor
from host.core.errors import Code
from host.core.keys import Account, encode_address

CHAIN = "qos-index-test"


def account(n: int) -> Account:
    return Account.from_ed25519_seed(sha256(b"index account %d" % n).digest())


def envelope(signer: Account, to: Account, nonce: int, sig: bytes | None = None) -> bytes:
    tx = {"chain": CHAIN, "nonce": nonce, "fee": 100, "memo": "",
          "msgs": [{"type": "bank/transfer", "to": to.address, "amount": 5}]}
    sig = sig if sig is not None else signer.sign(cbor.dumps(["qos/tx/1", CHAIN, tx]))
    return cbor.dumps({"tx": tx, "pubkey": signer.pubkey, "sig": sig})


def commit(store: BlockStore, height: int, txs: list[bytes], results: list[TxResult]) -> None:
    store.save_block(height, sha256(b"%d" % height).digest(), height * 10**9, bytes(20), {}, txs,
                     result=BlockResult(results, [], [], sha256(b"app %d" % height).digest()))


def transfer_ok(sender: Account, to: Account) -> TxResult:
    event = Event("transfer", {"sender": encode_address(sender.address),
                               "recipient": encode_address(to.address), "amount": "5"})
    return TxResult(events=[event])


def test_a_forged_failed_tx_is_not_put_in_the_victims_history():
    victim, attacker, target = account(0), account(1), account(2)
    store = BlockStore()
    forged = envelope(victim, target, 1, sig=bytes(64))  # the victim's key, a made-up signature
    honest = envelope(attacker, target, 1)
    failed = TxResult.failed(Code.UNAUTHORIZED, "bad signature")
    commit(store, 1, [forged, honest], [failed, transfer_ok(attacker, target)])
    indexer = Indexer(store)
    assert indexer.catch_up() == 1
    assert indexer.account_history(victim.address, None, 10) == []
    # the failed tx with a forged signature names no one; the honest one names both
    assert indexer.account_history(target.address, None, 10) == [(Position(1, 1), PARTY)]
    assert indexer.account_history(attacker.address, None, 10) == [(Position(1, 1), SIGNER)]


def test_a_failed_tx_with_a_true_signature_is_in_its_signers_history():
    sender, to = account(3), account(4)
    store = BlockStore()
    failed = TxResult.failed(Code.INSUFFICIENT_FUNDS, "balance too low")
    commit(store, 1, [envelope(sender, to, 1)], [failed])
    indexer = Indexer(store)
    indexer.catch_up()
    assert indexer.account_history(sender.address, None, 10) == [(Position(1, 0), SIGNER)]
    assert indexer.account_history(to.address, None, 10) == [(Position(1, 0), PARTY)]


def test_garbage_in_a_block_is_skipped_and_indexing_goes_on():
    sender, to = account(5), account(6)
    store = BlockStore()
    garbage = TxResult.failed(Code.BAD_ENCODING, "not CBOR")
    commit(store, 1, [b"\xff\x00junk", envelope(sender, to, 1)],
           [garbage, transfer_ok(sender, to)])
    indexer = Indexer(store)
    indexer.catch_up()
    assert indexer.account_history(to.address, None, 10) == [(Position(1, 1), PARTY)]


def test_resumes_from_its_height_and_pages_newest_first():
    sender, to = account(7), account(8)
    store = BlockStore()
    indexer = Indexer(store)
    for height in range(1, 6):
        commit(store, height, [envelope(sender, to, height)], [transfer_ok(sender, to)])
        if height == 3:
            assert indexer.catch_up() == 3
    assert indexer.catch_up() == 5
    first = indexer.account_history(to.address, None, 2)
    assert [p.height for p, _ in first] == [5, 4]
    rest = indexer.account_history(to.address, first[-1][0], 10)
    assert [p.height for p, _ in rest] == [3, 2, 1]


def test_the_tx_view_says_when_a_failed_txs_signature_is_made_up():
    from host.chain.indexer.decode import decoded

    victim, to = account(9), account(10)
    forged = decoded(envelope(victim, to, 1, sig=bytes(64)), ok=False)
    assert forged is not None and forged["signature_valid"] is False
    true = decoded(envelope(victim, to, 1), ok=False)
    assert true is not None and true["signature_valid"] is True
    assert decoded(b"\xff", ok=False) is None


def test_qcp_counterparties_are_counted_from_events():
    sender, to = account(11), account(12)
    store = BlockStore()
    out = Event("qcp_out", {"to_chain": "qos-biz-1", "seq": "1", "sender": "x"})
    back = Event("qcp_in", {"from_chain": "qos-biz-1", "seq": "1", "ok": "True"})
    other = Event("qcp_transfer", {"to_chain": "qos-biz-2", "seq": "1", "denom": "QOS"})
    late = Event("qcp_resolved", {"to_chain": "qos-biz-2", "seq": "1", "ok": "False",
                                  "timeout": "True"})
    acked = Event("qcp_resolved", {"to_chain": "qos-biz-1", "seq": "1", "ok": "True",
                                   "timeout": "False"})
    registered = Event("qcp_register", {"chain": "qos-biz-3", "number": "7"})
    not_qcp = Event("transfer", {"to_chain": "qos-fake", "amount": "1"})
    commit(store, 1, [envelope(sender, to, 1)], [TxResult(events=[out, not_qcp, registered])])
    commit(store, 2, [envelope(sender, to, 2), envelope(sender, to, 3)],
           [TxResult(events=[back, acked]), TxResult(events=[other, late])])
    indexer = Indexer(store)
    indexer.catch_up()
    assert indexer.counterparties() == [
        {"chain": "qos-biz-1", "last_height": 2,
         "events": {"qcp_out": 1, "qcp_in": 1, "qcp_resolved_ok": 1}},
        {"chain": "qos-biz-2", "last_height": 2,
         "events": {"qcp_transfer": 1, "qcp_resolved_timeout": 1}},
        {"chain": "qos-biz-3", "last_height": 1, "events": {"qcp_register": 1}},
    ]


def test_an_index_of_another_schema_version_is_rebuilt(tmp_path):
    sender, to = account(13), account(14)
    store = BlockStore()
    commit(store, 1, [envelope(sender, to, 1)], [transfer_ok(sender, to)])
    first = Indexer(store, tmp_path / "index.db")
    first.catch_up()
    first.db.execute("UPDATE meta SET value = 0 WHERE key = 'schema'")  # as an older version
    first.db.execute("DELETE FROM account_txs")  # ...that did not index this
    first.close()
    again = Indexer(store, tmp_path / "index.db")
    assert again.indexed_height() == 0
    assert again.catch_up() == 1
    assert again.account_history(to.address, None, 10) == [(Position(1, 0), PARTY)]


def test_a_blocks_own_events_put_it_in_the_named_accounts_history():
    from host.chain.indexer.index import BLOCK_EVENTS

    sender, to, delegator = account(15), account(16), account(17)
    store = BlockStore()
    store.save_block(1, sha256(b"1").digest(), 10**9, bytes(20), {}, [envelope(sender, to, 1)])
    reward = Event("reward", {"delegator": encode_address(delegator.address), "amount": "7"})
    store.save_results(1, BlockResult([transfer_ok(sender, to)], [], [reward],
                                      sha256(b"app 1").digest()))
    indexer = Indexer(store)
    indexer.catch_up()
    from host.chain.indexer.decode import BLOCK

    assert indexer.account_history(delegator.address, None, 10) == [
        (Position(1, BLOCK_EVENTS), BLOCK)
    ]
    assert indexer.account_history(delegator.address, None, 10, role="signer") == []
    # the cursor of a block-events item pages on to the txs of the same block
    assert indexer.account_history(to.address, Position(1, BLOCK_EVENTS), 10) == [
        (Position(1, 0), PARTY)
    ]


def test_the_commit_hook_indexes_what_a_rebuild_from_the_block_store_does():
    """At commit the indexer takes the results in hand; a rebuild reads them back from the
    block store. Both index the same (a forged failed tx naming no one, a true failed one, garbage,
    QCP and block events), and a hook that finds the index behind catches up from the store."""
    victim, sender, to, delegator = account(20), account(21), account(22), account(23)
    failed = TxResult.failed(Code.INSUFFICIENT_FUNDS, "balance too low")
    out = Event("qcp_out", {"to_chain": "qos-biz-1", "seq": "1", "sender": "x"})
    reward = Event("reward", {"delegator": encode_address(delegator.address), "amount": "7"})
    blocks = [
        ([envelope(victim, to, 1, sig=bytes(64)), envelope(sender, to, 1)],
         [TxResult.failed(Code.UNAUTHORIZED, "bad signature"), transfer_ok(sender, to)], []),
        ([b"\xff\x00junk", envelope(sender, to, 2)],
         [TxResult.failed(Code.BAD_ENCODING, "not CBOR"), failed], [reward]),
        ([envelope(sender, to, 3)], [TxResult(events=[out])], [reward]),
    ]
    store = BlockStore()
    live = Indexer(store)
    for height, (txs, results, events) in enumerate(blocks, start=1):
        app_hash = sha256(b"app %d" % height).digest()
        store.save_block(height, sha256(b"%d" % height).digest(), height, bytes(20), {}, txs)
        store.save_results(height, BlockResult(results, [], events, app_hash))
        if height != 2:  # block 2's hook never ran (a failure): block 3's catches up first
            live.at_commit(height, txs, BlockResult(results, [], events, app_hash))
    rebuilt = Indexer(store)
    assert rebuilt.catch_up() == live.indexed_height() == 3
    for table in ("account_txs", "counterparties", "block_hashes"):
        query = f"SELECT * FROM {table} ORDER BY 1, 2"
        assert live.db.execute(query).fetchall() == rebuilt.db.execute(query).fetchall(), table
    assert live.account_history(victim.address, None, 10) == []
    assert [p.height for p, _ in live.account_history(sender.address, None, 10)] == [3, 2, 1]


def test_a_live_commit_indexes_from_what_the_app_decoded_as_a_rebuild_does():
    """A block executed by the application: a transfer, one whose message fails after its fee
    is charged (signer known to the app), a forged signature on a victim's key (not chargeable:
    the app never authenticated it). At commit the index takes the signer and messages the app
    decoded; a rebuild decodes the stored bytes. Same rows, and the forged tx names no one."""
    from tests.chain.helpers import QOS, Chain, signed_tx, transfer
    from tests.chain.helpers import account as funded

    chain, store = Chain(), BlockStore()
    sender, poor, victim, to = funded(0), funded(1), funded(2), account(30)
    forged = cbor.loads(signed_tx(victim, 1, [transfer(to.address, 5)]))
    forged["sig"] = bytes(64)
    txs = [signed_tx(sender, 1, [transfer(to.address, 5)]),
           signed_tx(poor, 1, [transfer(to.address, 2_000_000 * QOS)]),
           cbor.dumps(forged)]
    result = chain.block(txs)
    assert [r.codespace for r in result.tx_results] == ["ok", "insufficient_funds",
                                                        "bad_signature"]
    assert [r.msgs is not None for r in result.tx_results] == [True, True, False]
    store.save_block(1, sha256(b"1").digest(), 1, bytes(20), {}, txs, result=result)
    live, rebuilt = Indexer(store), Indexer(store)
    live.at_commit(1, txs, result)
    assert rebuilt.catch_up() == live.indexed_height() == 1
    query = "SELECT * FROM account_txs ORDER BY 1, 2, 3"
    assert live.db.execute(query).fetchall() == rebuilt.db.execute(query).fetchall()
    assert live.account_history(victim.address, None, 10) == []
    assert live.account_history(poor.address, None, 10) == [(Position(1, 1), SIGNER)]
    assert [r for _, r in live.account_history(to.address, None, 10)] == [PARTY, PARTY]
