"""Fees: a minimum by size and message complexity, a paid tip above it that orders the solo
engine's mempool, eviction of the cheapest when full, and the estimate route. Attacker's tests
first: an underpaying tx, a flood of minimum-fee txs, and bad estimate requests."""

from __future__ import annotations

import asyncio
import time
from hashlib import sha256

import pytest
from aiohttp.test_utils import TestClient, TestServer

from host.chain.api.fees import FeeApi
from host.chain.api.server import make_api
from host.chain.app import Application
from host.chain.engine.base import MempoolFull
from host.chain.engine.blockstore import BlockStore
from host.chain.engine.mempool import Mempool
from host.chain.engine.privval import ValidatorKey
from host.chain.engine.solo import SoloEngine
from host.chain.fees import fit_fee, minimum_fee
from host.chain.genesis import DEFAULT_PARAMS, Genesis, GenesisAccount, GenesisValidator
from host.core.tx import MAX_SIGNED_TX_BYTES
from tests.chain.helpers import CHAIN, QOS, Chain, account, make_genesis, signed_tx, transfer

TRANSFER_WEIGHT = DEFAULT_PARAMS["fees"]["bank/transfer"]
FREE_BYTES = DEFAULT_PARAMS["fee_market"]["free_bytes"]
MEMO = "m" * 256  # the longest memo: bytes toward the size term


def minimum_of(raw: bytes, types: list[str], params: dict = DEFAULT_PARAMS) -> int:
    return minimum_fee(params, types, len(raw))


def with_tip(acc, nonce: int, tip: int, memo: str = "", to=None) -> bytes:
    """A transfer offering its exact minimum plus `tip`."""
    msgs = [transfer(to or account(9), 1)]
    base = signed_tx(acc, nonce, msgs, memo=memo)  # the exact minimum
    fee = fit_fee(len(signed_tx(acc, nonce, msgs, fee=0, memo=memo)),
                  lambda size: minimum_fee(DEFAULT_PARAMS, ["bank/transfer"], size), tip)
    assert tip or len(base) == len(signed_tx(acc, nonce, msgs, fee=fee, memo=memo))
    return signed_tx(acc, nonce, msgs, fee=fee, memo=memo)


# ---- the minimum: attacker first ------------------------------------------------------------
def test_a_fee_below_the_minimum_is_refused_and_changes_nothing():
    chain = Chain()
    sender = account(0)
    msgs = [transfer(account(n), 5) for n in range(1, 13)]  # beyond the free allowance
    exact = signed_tx(sender, 1, msgs, memo=MEMO)
    minimum = minimum_of(exact, ["bank/transfer"] * 12)
    assert minimum > 12 * TRANSFER_WEIGHT  # the size term counts
    short = signed_tx(sender, 1, msgs, fee=minimum - 1, memo=MEMO)
    before = (chain.app.info().last_app_hash, chain.balance(sender))
    assert chain.app.check_tx(short).codespace == "insufficient_fee"
    result = chain.block([short]).tx_results[0]
    assert result.codespace == "insufficient_fee" and result.fee == 0
    assert chain.balance(sender) == before[1]  # not charged, nonce unchanged
    assert chain.next_nonce(sender) == 1
    assert chain.app.check_tx(exact).ok


def test_size_and_complexity_set_the_minimum():
    small = signed_tx(account(0), 1, [transfer(account(1), 5)])
    assert len(small) <= FREE_BYTES  # a plain transfer pays its message weight only
    assert minimum_of(small, ["bank/transfer"]) == TRANSFER_WEIGHT
    two = [transfer(account(1), 5), transfer(account(2), 5)]
    assert minimum_fee(DEFAULT_PARAMS, ["bank/transfer"] * 2, 0) == 2 * TRANSFER_WEIGHT
    big = signed_tx(account(0), 1, two, memo=MEMO * 2)
    per_byte = DEFAULT_PARAMS["fee_market"]["per_byte"]
    expected = 2 * TRANSFER_WEIGHT + per_byte * (len(big) - FREE_BYTES)
    assert minimum_of(big, ["bank/transfer"] * 2) == expected
    assert minimum_fee(DEFAULT_PARAMS, ["qsc/create"], 0) > TRANSFER_WEIGHT  # complexity


def test_the_whole_fee_offered_is_paid_and_the_tip_reported():
    chain = Chain()
    sender = account(0)
    raw = with_tip(sender, 1, tip=2_345)
    checked = chain.app.check_tx(raw)
    assert checked.ok and checked.tip == 2_345 and checked.fee == TRANSFER_WEIGHT + 2_345
    before = chain.balance(sender)
    result = chain.block([raw]).tx_results[0]
    assert result.ok and result.fee == TRANSFER_WEIGHT + 2_345
    assert chain.balance(sender) == before - 1 - TRANSFER_WEIGHT - 2_345
    assert chain.app.check_invariants() == []


def test_fee_params_are_validated():
    for bad in ({"fee_market": {"per_byte": -1}}, {"fee_market": {"free_bytes": "512"}},
                {"fee_market": {"per_kb": 1}}, {"fees": {"bank/transfer": -5}},
                {"fees": {"bank/transfer": True}}, {"fees": {"bank/transfer": 2**63}}):
        with pytest.raises(ValueError):
            make_genesis(params=bad).full_params()
    custom = make_genesis(params={"fee_market": {"per_byte": 0}}).full_params()
    assert custom["fee_market"] == {"per_byte": 0, "free_bytes": FREE_BYTES}


# ---- the mempool: ordering and eviction --------------------------------------------------------
def fill(pool: Mempool, entries: list[tuple[bytes, int]]) -> list[bytes]:
    hashes = []
    for n, (signer, tip) in enumerate(entries):
        raw = b"tx %d" % n
        tx_hash = sha256(raw).digest()
        pool.add(tx_hash, raw, signer, tip)
        hashes.append(raw)
    return hashes


def test_blocks_take_the_highest_tip_first_and_each_sender_in_nonce_order():
    pool = Mempool(100, 1 << 20)
    a, b, c = b"a" * 20, b"b" * 20, b"c" * 20
    raws = fill(pool, [(a, 0), (b, 50), (a, 90), (c, 50), (b, 10)])
    # b's first (50) before c's (50, later); a's 90 waits behind a's own 0 (its nonce order)
    assert pool.reap(10, 1 << 20) == [raws[1], raws[3], raws[4], raws[0], raws[2]]
    assert pool.reap(2, 1 << 20) == [raws[1], raws[3]]
    assert pool.tip_to_enter(2) == 51  # beat the second in line to enter a 2-tx block now
    assert pool.tip_to_enter(10) == 0  # blocks have room


def test_a_flood_of_minimum_fee_txs_cannot_evict_a_higher_tip():
    pool = Mempool(3, 1 << 20)
    victim, attackers = b"v" * 20, [bytes([n]) * 20 for n in range(1, 10)]
    fill(pool, [(victim, 500), (attackers[0], 0), (attackers[1], 0)])
    for attacker in attackers[2:]:  # each of them pays the minimum: no tip
        assert pool.evictions_for(b"flood", attacker, 0) is None
    # a tip evicts the cheapest tail of another sender, never the victim's higher tip
    evicted = pool.evictions_for(b"paying", attackers[5], 1)
    assert evicted is not None and len(evicted) == 1
    assert pool.pending[evicted[0]].tip == 0
    # even a tip above the victim's evicts the cheaper ones first
    assert pool.pending[pool.evictions_for(b"rich", attackers[6], 900)[0]].tip == 0


def test_eviction_takes_tails_so_no_sender_is_left_with_a_nonce_gap():
    pool = Mempool(3, 1 << 20)
    a, b = b"a" * 20, b"b" * 20
    raws = fill(pool, [(a, 0), (a, 100), (b, 50)])
    # a's first tx is the cheapest, but a's second depends on it: the tail with tip 50 goes
    evicted = pool.evictions_for(b"new", b"n" * 20, 60)
    assert evicted == [sha256(raws[2]).digest()]
    # a sender never evicts its own earlier txs
    assert pool.evictions_for(b"own", a, 10_000) == [sha256(raws[2]).digest()]
    # one new tx may need several slots' bytes: all or nothing
    tight = Mempool(10, 12)
    fill(tight, [(a, 1), (b, 3), (b"c" * 20, 5)])  # 4 bytes each
    assert tight.evictions_for(b"x" * 8, b"n" * 20, 2) is None  # only one tail is below 2
    assert len(tight.evictions_for(b"x" * 8, b"n" * 20, 4)) == 2


# ---- the solo engine end to end --------------------------------------------------------------
def solo(mempool_txs: int) -> SoloEngine:
    key = ValidatorKey(sha256(b"fees validator").digest())
    engine = SoloEngine(Application(None), BlockStore(None), key, CHAIN, block_interval=1,
                        mempool_txs=mempool_txs, max_block_txs=2)
    engine.init_chain(Genesis(
        chain_id=CHAIN, genesis_time=time.time() - 10,
        accounts=[GenesisAccount(account(i).address, 1_000 * QOS) for i in range(12)],
        validators=[GenesisValidator(account(99).address, key.pubkey, 10_000 * QOS)],
    ))
    engine.handshake()
    return engine


def test_solo_engine_keeps_the_tip_under_a_flood_and_evicts_for_a_higher_one():
    engine = solo(mempool_txs=3)
    victim = with_tip(account(0), 1, tip=500)
    flood = [with_tip(account(n), 1, tip=0) for n in range(1, 9)]

    async def flow():
        assert (await engine.broadcast(victim)).ok
        assert (await engine.broadcast(flood[0])).ok
        assert (await engine.broadcast(flood[1])).ok
        for raw in flood[2:]:
            with pytest.raises(MempoolFull, match="does not beat"):
                await engine.broadcast(raw)
        bidder = with_tip(account(10), 1, tip=20)
        assert (await engine.broadcast(bidder)).ok  # evicts flood[1], the latest cheapest
        return bidder

    bidder = asyncio.run(flow())
    victim_hash, bidder_hash = sha256(victim).digest(), sha256(bidder).digest()
    assert victim_hash in engine.mempool and bidder_hash in engine.mempool
    evicted = engine.store.dropped(sha256(flood[1]).digest())
    assert evicted is not None and "evicted" in evicted["reason"]
    engine.produce_block()  # two txs a block: the two tips go first
    assert engine.store.tx(victim_hash)["executed"] and engine.store.tx(bidder_hash)["executed"]
    assert sha256(flood[0]).digest() in engine.mempool
    assert engine.app.check_invariants() == []


# ---- the estimate route ----------------------------------------------------------------------
def api_call(engine: SoloEngine, paths: list[str]) -> list[tuple[int, dict]]:
    web_app = make_api(engine.app, engine, (FeeApi(engine.app, engine),))

    async def run():
        client = TestClient(TestServer(web_app))
        await client.start_server()
        try:
            out = []
            for path in paths:
                resp = await client.get(path)
                out.append((resp.status, await resp.json()))
            return out
        finally:
            await client.close()

    return asyncio.run(run())


def test_estimate_refuses_bad_input_and_changes_nothing():
    engine = solo(mempool_txs=10)
    before = (engine.app.info().last_app_hash, len(engine.mempool), engine.height)
    bad = ["/fees/estimate", "/fees/estimate?types=", "/fees/estimate?types=bank/nope",
           "/fees/estimate?types=bank/transfer&bytes=-1",
           "/fees/estimate?types=bank/transfer&bytes=1e3",
           f"/fees/estimate?types=bank/transfer&bytes={MAX_SIGNED_TX_BYTES + 1}",
           "/fees/estimate?types=" + ",".join(["bank/transfer"] * 17),
           "/fees/estimate?types=bank/transfer,,bank/transfer"]
    for path, (status, doc) in zip(bad, api_call(engine, bad), strict=True):
        assert status == 400 and doc["error"], path
    assert (engine.app.info().last_app_hash, len(engine.mempool), engine.height) == before


def test_estimate_is_the_minimum_the_node_enforces_plus_the_tip_to_enter():
    engine = solo(mempool_txs=10)
    sender = account(0)
    msgs = [transfer(account(n), 5) for n in range(1, 5)]
    types = ["bank/transfer"] * 4
    size = len(signed_tx(sender, 1, msgs, fee=0, memo=MEMO))
    query = f"/fees/estimate?types={','.join(types)}&bytes={size}"
    [(status, doc)] = api_call(engine, [query])
    assert status == 200 and doc["ordering"] == "tip" and doc["tip"] == 0
    assert doc["minimum"] == minimum_fee(engine.app.params, types, size)
    assert doc["fee"] == doc["minimum"] > 4 * TRANSFER_WEIGHT
    # the same sizing the host does (rest.NodeClient.fee_for): it is exactly enough
    fee = fit_fee(size, lambda n: minimum_fee(engine.app.params, types, n))
    short = signed_tx(sender, 1, msgs, fee=fee - 1, memo=MEMO)
    assert engine.app.check_tx(short).codespace == "insufficient_fee"
    assert engine.app.check_tx(signed_tx(sender, 1, msgs, fee=fee, memo=MEMO)).ok

    async def crowd():  # more waiting than a block takes: the tip to enter rises
        for n, tip in ((2, 40), (3, 70), (4, 10)):
            assert (await engine.broadcast(with_tip(account(n), 1, tip))).ok

    asyncio.run(crowd())
    [(_, busy)] = api_call(engine, ["/fees/estimate?types=bank/transfer"])
    assert busy["tip"] == 41 and busy["fee"] == TRANSFER_WEIGHT + 41


def test_the_estimate_route_is_in_the_openapi_document():
    engine = solo(mempool_txs=10)
    [(status, spec)] = api_call(engine, ["/openapi.json"])
    assert status == 200
    names = {p["name"] for p in spec["paths"]["/fees/estimate"]["get"]["parameters"]}
    assert names == {"types", "bytes"}
