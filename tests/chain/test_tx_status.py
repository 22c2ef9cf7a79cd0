"""Mempool durability: a tx acknowledged with 202 ends committed or reported dropped, never lost.

GET /txs/{hash} answers committed (200) / pending (202) / dropped (410, with the reason) /
unknown (404); the websocket sends `tx_dropped`; the pending set survives a restart.
"""

from __future__ import annotations

import asyncio
import time
from hashlib import sha256
from pathlib import Path

from host.chain.engine.blockstore import BlockStore
from host.chain.node import BackgroundNode, NodeConfig
from host.devtools.ports import free_block
from tests.chain.helpers import account, signed_tx, transfer

CHAIN = "qos-status-test"
BALANCE = 1_000_000
FEE = 100  # the required fee of one bank/transfer (DEFAULT_PARAMS)


def _home(tmp_path: Path) -> Path:
    from host.cli.qosd import main as qosd

    home = tmp_path / "node"
    assert qosd(["init", "--home", str(home), "--chain-id", CHAIN, "--api",
                 f"127.0.0.1:{free_block(1)}", "--account",
                 f"{account(0).address_string}={BALANCE}"]) == 0
    return home


def _spend_twice() -> tuple[bytes, bytes]:
    """Two txs of one sender, nonces 1 and 2, each paying its fee and a small transfer: check_tx
    admits both (it counts the fees and transfers of the sender's pending txs)."""
    sender = account(0)
    first = signed_tx(sender, 1, [transfer(account(1), 1)], fee=FEE, chain=CHAIN)
    second = signed_tx(sender, 2, [transfer(account(2), 1)], fee=FEE, chain=CHAIN)
    return first, second


def _conflict() -> bytes:
    """The sender's other nonce-1 tx, which moves everything but its fee away: when a block
    carries it, `first` (nonce used) and `second` (nothing left to pay) are invalid."""
    return signed_tx(account(0), 1, [transfer(account(3), BALANCE - FEE)], fee=FEE, chain=CHAIN)


def _in_the_node_loop(node, action) -> None:
    async def run() -> None:
        action()

    asyncio.run_coroutine_threadsafe(run(), node.loop).result(30)


def _carry_ahead(node, raw: bytes) -> None:
    """Put `raw` first in the solo engine's mempool without this node's check_tx, as a block
    proposed elsewhere carries a tx this node never admitted."""
    engine = node.node.engine
    _in_the_node_loop(node, lambda: engine.mempool.add(sha256(raw).digest(), raw,
                                                       account(0).address, 0))


def test_a_tx_invalidated_on_recheck_is_reported_dropped(tmp_path):
    import aiohttp

    home = _home(tmp_path)
    config = NodeConfig.load(home / "config" / "node.toml")
    config.block_interval, config.max_block_txs = 3600.0, 1  # blocks when the test asks
    first, second = _spend_twice()
    conflict = _conflict()
    first_hash, second_hash = sha256(first).hexdigest(), sha256(second).hexdigest()

    async def flow(url: str, node) -> tuple[dict, dict[str, dict], dict]:
        cbor = {"Content-Type": "application/cbor"}
        async with aiohttp.ClientSession() as http, http.ws_connect(url + "/ws") as ws:
            for raw in (first, second):
                async with http.post(url + "/txs", data=raw, headers=cbor) as resp:
                    assert resp.status == 202, await resp.text()
            async with http.get(f"{url}/txs/{second_hash}") as resp:
                assert resp.status == 202 and (await resp.json())["status"] == "pending"
            node.loop.call_soon_threadsafe(node.node.engine.produce_block)
            seen: dict[str, dict] = {}
            dropped: dict[str, dict] = {}
            while second_hash not in dropped:
                event = await ws.receive_json(timeout=30)
                seen.setdefault(event["type"], event)
                if event["type"] == "tx_dropped":
                    dropped[event["hash"]] = event
            async with http.get(f"{url}/txs/{second_hash}") as resp:
                assert resp.status == 410
                status = await resp.json()
            return seen, dropped, status

    with BackgroundNode(home, config) as node:
        _carry_ahead(node, conflict)
        seen, dropped, status = asyncio.run(flow(node.url, node))
        from host.chain.rest import BlockingNodeClient

        with BlockingNodeClient(node.url) as client:
            code, committed = client.get(f"/txs/{sha256(conflict).hexdigest()}")
            assert code == 200 and committed["status"] == "committed", committed
            code, unknown = client.get("/txs/" + "ab" * 32)
            assert code == 404 and unknown["status"] == "unknown"
    assert seen["tx"]["hash"] == sha256(conflict).hexdigest() and seen["tx"]["code"] == 0
    assert "bad_nonce" in dropped[first_hash]["reason"], dropped
    reason = dropped[second_hash]["reason"]
    assert "insufficient_funds" in reason, dropped
    assert status["status"] == "dropped" and status["reason"] == reason
    assert status["height"] == committed["height"]  # dropped by the recheck after that block


def test_wait_commit_answers_410_when_the_tx_is_dropped(tmp_path):
    from host.chain.rest import BlockingNodeClient

    home = _home(tmp_path)
    config = NodeConfig.load(home / "config" / "node.toml")
    config.block_interval, config.max_block_txs = 3600.0, 1  # blocks when the test asks
    first, second = _spend_twice()
    with BackgroundNode(home, config) as node, BlockingNodeClient(node.url) as client:
        _carry_ahead(node, _conflict())
        assert client.submit(first, wait="check")[0] == 202
        # the block comes while the client waits for `second` to commit
        node.loop.call_soon_threadsafe(node.loop.call_later, 1.0, node.node.engine.produce_block)
        code, doc = client.submit(second, wait="commit")
    assert code == 410 and doc["status"] == "dropped" and "insufficient_funds" in doc["reason"]


def test_a_spend_the_pending_txs_leave_no_room_for_is_refused_at_the_door(tmp_path):
    """Issue 13: a transfer over what the balance keeps after the sender's pending txs is
    refused by check_tx (400), never admitted to be charged a fee in a block."""
    from host.chain.rest import BlockingNodeClient

    home = _home(tmp_path)
    config = NodeConfig.load(home / "config" / "node.toml")
    config.block_interval = 3600.0
    first, _ = _spend_twice()
    rest = BALANCE - (FEE + 1)  # what `first` leaves
    too_much = signed_tx(account(0), 2, [transfer(account(2), rest - FEE + 1)], fee=FEE,
                         chain=CHAIN)
    all_of_it = signed_tx(account(0), 2, [transfer(account(2), rest - FEE)], fee=FEE,
                          chain=CHAIN)
    with BackgroundNode(home, config) as node, BlockingNodeClient(node.url) as client:
        assert client.submit(first, wait="check")[0] == 202
        code, doc = client.submit(too_much, wait="check")
        assert code == 400 and "insufficient_funds" in str(doc), doc
        assert client.submit(all_of_it, wait="check")[0] == 202


def test_acknowledged_txs_survive_a_restart(tmp_path):
    """Txs acknowledged but not yet in a block when the node stopped are readmitted and
    committed; one that no longer passes check_tx is reported dropped, not forgotten."""
    home = _home(tmp_path)
    config = NodeConfig.load(home / "config" / "node.toml")
    config.block_interval = 3600.0  # no block while the node first runs
    first, second = _spend_twice()
    stale = signed_tx(account(0), 1, [transfer(account(3), 5)], fee=FEE, chain=CHAIN)
    with BackgroundNode(home, config) as node:
        from host.chain.rest import BlockingNodeClient

        with BlockingNodeClient(node.url) as client:
            for raw in (first, second):
                assert client.submit(raw, wait="check")[0] == 202
        # a tx acknowledged by a replaced mempool (nonce 1 again, so it cannot pass after
        # `first` commits): written the way the node records acknowledgements
        node.node.engine.recorder.store.add_pending([(sha256(stale).digest(), stale, time.time())])
    config.block_interval, config.max_block_txs = 0.2, 1
    with BackgroundNode(home, config) as node:
        recorder = node.node.engine.recorder

        def status(raw: bytes) -> str:
            return recorder.tx_status(sha256(raw).digest())["status"]

        async def settled() -> None:
            while "pending" in {status(raw) for raw in (first, second, stale)}:
                await asyncio.sleep(0.05)

        asyncio.run_coroutine_threadsafe(settled(), node.loop).result(60)
        assert (status(first), status(second), status(stale)) == (
            "committed", "committed", "dropped")
        reason = recorder.tx_status(sha256(stale).digest()).get("reason")
    assert "bad_nonce" in reason and "not readmitted after a restart" in reason
    store = BlockStore(home / "data" / "blocks.db")
    assert store.pending() == []
    store.close()


def test_a_cometbft_recheck_failure_is_a_drop(tmp_path):
    """CometBFT removes a tx that fails CheckTx(RECHECK) from its mempool: the ABCI server
    reports it to the engine, which records it."""
    from host.chain.app import Application
    from host.chain.engine.cometbft import CometEngine
    from host.chain.engine.privval import ValidatorKey
    from host.chain.genesis import Genesis, GenesisAccount, GenesisValidator
    from tests.chain.test_engine_abci import _pb

    pb = _pb()
    app = Application(None)
    app.init_chain(Genesis(
        chain_id=CHAIN, genesis_time=1_700_000_000.0,
        accounts=[GenesisAccount(account(0).address, BALANCE)],
        validators=[GenesisValidator(account(9).address, ValidatorKey.generate().pubkey,
                                     10**9)],
    ))
    engine = CometEngine(app, BlockStore(None), "unix:///nonexistent", "http://127.0.0.1:1")
    _, second = _spend_twice()
    recheck = pb.enum_value("tendermint.abci.CheckTxType", "RECHECK")
    new = pb.enum_value("tendermint.abci.CheckTxType", "NEW")
    wrong_nonce = signed_tx(account(0), 5, [transfer(account(2), 1)], fee=FEE, chain=CHAIN)
    tx_hash = sha256(wrong_nonce).digest()
    # refused at the door: a rejection (the client was told), not a drop
    engine.abci._check_tx(pb.abci.RequestCheckTx(tx=wrong_nonce, type=new))
    assert engine.recorder.tx_status(tx_hash)["status"] == "unknown"
    engine.abci._check_tx(pb.abci.RequestCheckTx(tx=wrong_nonce, type=recheck))
    status = engine.recorder.tx_status(tx_hash)
    assert status["status"] == "dropped" and "bad_nonce" in status["reason"], status
    assert engine.recorder.counters["txs_dropped"] == 1
    # a recheck that passes is no drop
    first, _ = _spend_twice()
    assert engine.abci._check_tx(pb.abci.RequestCheckTx(tx=first, type=recheck)).code == 0
    assert engine.recorder.tx_status(sha256(first).digest())["status"] == "unknown"
    assert engine.recorder.counters["txs_dropped"] == 1


def test_txs_lost_in_a_cometbft_restart_are_sent_again_or_reported_dropped(tmp_path):
    """CometBFT's mempool dies with it. Txs the node acknowledged before are broadcast again
    after the first block of the new CometBFT session: committed, or dropped with the reason."""
    import signal

    from host.chain.rest import BlockingNodeClient, NodeUnreachable
    from tests.chain.helpers import one_validator_cometbft_net

    net, funded = one_validator_cometbft_net(tmp_path, CHAIN)
    val = net.validators[0]
    lost = signed_tx(funded, 1, [transfer(account(1), 7)], chain=CHAIN)
    twin = signed_tx(funded, 1, [transfer(account(2), 9)], chain=CHAIN)  # the same nonce
    client = BlockingNodeClient(val.api_url, timeout=60)

    def status(raw: bytes) -> tuple[int, dict]:
        return client.get(f"/txs/{sha256(raw).hexdigest()}")

    try:
        net.start()
        assert val.comet is not None
        val.comet.send_signal(signal.SIGKILL)
        val.comet.wait()
        # what the node wrote when it acknowledged two txs that were in CometBFT's mempool
        store = BlockStore(val.home / "data" / "blocks.db")
        for offset, raw in enumerate((lost, twin)):
            store.add_pending([(sha256(raw).digest(), raw, time.time() - 10 + offset)])
        store.close()
        assert status(lost)[0] == 202 and status(twin)[0] == 202
        net.start_validator(0)
        deadline = time.monotonic() + 90
        while True:
            try:
                if status(lost)[0] != 202 and status(twin)[0] != 202:
                    break
            except NodeUnreachable:
                pass
            assert time.monotonic() < deadline, "the pending txs were not settled"
            time.sleep(0.2)
        code, committed = status(lost)
        assert code == 200 and committed["code"] == 0, committed
        code, dropped = status(twin)
        assert code == 410 and "lost in a CometBFT restart" in dropped["reason"], dropped
        assert "bad_nonce" in dropped["reason"]
    finally:
        client.close()
        net.stop()


def test_drops_are_remembered_for_a_bounded_number_of_blocks():
    from host.chain.engine.recorder import DROPS_KEPT_BLOCKS, Recorder
    from host.chain.types import BlockResult

    recorder = Recorder(BlockStore(None))
    recorder.last_height = 5
    recorder.dropped(b"\x01" * 32, "failed recheck")

    def commit(height: int) -> str:
        recorder.executed(height, [], BlockResult([], [], [], b"\x00" * 32))
        recorder.committed(height)
        return recorder.tx_status(b"\x01" * 32)["status"]

    assert commit(DROPS_KEPT_BLOCKS) == "dropped"  # 5 >= DROPS_KEPT_BLOCKS - DROPS_KEPT_BLOCKS
    assert commit(DROPS_KEPT_BLOCKS + 1000) == "unknown"


def test_a_202_survives_kill_9_of_the_node(tmp_path):
    """The acknowledgement is on disk before the 202 leaves: a node killed right after it
    still has the tx after a restart, and commits it."""
    import subprocess
    import sys

    from host.chain.rest import BlockingNodeClient, NodeUnreachable

    home = _home(tmp_path)
    toml = home / "config" / "node.toml"
    toml.write_text(toml.read_text().replace("block_interval = 3.0", "block_interval = 3600.0"))
    api = NodeConfig.load(toml).api_listen
    repo = Path(__file__).resolve().parents[2]
    start = [sys.executable, "-m", "host.cli.qosd", "--log-level", "WARNING", "start",
             "--home", str(home)]
    first, _ = _spend_twice()
    tx_hash = sha256(first).hexdigest()

    def run_until(predicate) -> None:
        proc = subprocess.Popen(start, cwd=repo, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            with BlockingNodeClient(f"http://{api}", timeout=30) as client:
                deadline = time.monotonic() + 60
                while True:
                    assert proc.poll() is None and time.monotonic() < deadline
                    try:
                        if predicate(client):
                            return
                    except NodeUnreachable:
                        pass
                    time.sleep(0.05)
        finally:
            proc.kill()  # SIGKILL: no shutdown code runs
            proc.wait(30)

    run_until(lambda client: client.submit(first, wait="check")[0] == 202)
    toml.write_text(toml.read_text().replace("block_interval = 3600.0", "block_interval = 0.2"))
    run_until(lambda client: client.get(f"/txs/{tx_hash}")[1]["status"] == "committed")


def test_a_batch_through_cometbft_is_admitted_in_order_across_rpc_batches(tmp_path):
    """POST /txs/batch on a CometBFT node: the txs go to CometBFT's RPC in JSON-RPC batches of
    cometbft_rpc_batch (here 4, CometBFT's limit set to 4 too, so 11 txs take 3); each tx's
    answer is its own, in order, and every accepted tx commits."""
    import asyncio

    from host.chain.node import NodeConfig
    from host.chain.rest import BlockingNodeClient, NodeClient
    from host.devtools.testnet import set_toml
    from tests.chain.helpers import one_validator_cometbft_net

    net, funded = one_validator_cometbft_net(tmp_path, CHAIN)
    val = net.validators[0]
    config_path = val.home / "config" / "node.toml"
    config = NodeConfig.load(config_path)
    config.cometbft_rpc_batch = 4
    config.save(config_path)
    comet_config = val.comet_home / "config" / "config.toml"
    comet_config.write_text(set_toml(comet_config.read_text(), "rpc", "max_request_batch_size",
                                     "4"))
    good = [signed_tx(funded, n, [transfer(account(1), n)], chain=CHAIN) for n in range(1, 11)]
    skipped = signed_tx(funded, 20, [transfer(account(1), 20)], chain=CHAIN)
    batch = good[:5] + [skipped] + good[5:]

    async def submit() -> list[dict]:
        async with NodeClient(val.api_url, timeout=60) as node:
            return await node.submit_batch(batch)

    try:
        net.start()
        with BlockingNodeClient(val.api_url, timeout=60) as client:
            deadline = time.monotonic() + 60
            while client.get("/blocks/1")[0] != 200:  # CometBFT's RPC is up and making blocks
                assert time.monotonic() < deadline, "no first block"
                time.sleep(0.2)
        results = asyncio.run(submit())
        assert [r["status"] for r in results] == ["accepted"] * 5 + ["rejected"] + [
            "accepted"] * 5
        assert results[5]["codespace"] == "bad_nonce"
        assert [r["hash"] for r in results] == [sha256(raw).hexdigest() for raw in batch]
        with BlockingNodeClient(val.api_url, timeout=60) as client:
            deadline = time.monotonic() + 60
            for raw in good:
                while (answer := client.get(f"/txs/{sha256(raw).hexdigest()}"))[0] == 202:
                    assert time.monotonic() < deadline, "the accepted txs did not commit"
                    time.sleep(0.2)
                assert answer[0] == 200 and answer[1]["code"] == 0, answer
            assert client.get(f"/txs/{sha256(skipped).hexdigest()}")[0] == 404
    finally:
        net.stop()


def test_a_batch_cut_short_by_cometbft_keeps_what_it_took(tmp_path):
    """CometBFT's RPC answers the first JSON-RPC batch, then is gone: the txs of the first batch
    are acknowledged (pending on the node), the rest are 'unavailable', none is lost between."""
    from aiohttp import web

    from host.chain.app import Application
    from host.chain.engine.base import EngineUnavailable
    from host.chain.engine.cometbft import CometEngine
    from host.devtools.ports import free_block

    port = free_block(1)
    raws = [signed_tx(account(0), n, [transfer(account(1), n)], chain=CHAIN) for n in (1, 2, 3)]

    async def run() -> list:
        served = []

        async def rpc(request: web.Request) -> web.Response:
            calls = await request.json()
            served.append(len(calls))
            asyncio.get_running_loop().call_soon(stop.set)  # gone after this answer
            return web.json_response([{"jsonrpc": "2.0", "id": c["id"],
                                       "result": {"code": 0, "log": "", "codespace": ""}}
                                      for c in calls])

        stop = asyncio.Event()
        server = web.Application()
        server.router.add_post("/", rpc)
        runner = web.AppRunner(server)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        engine = CometEngine(Application(None), BlockStore(None), f"unix://{tmp_path}/abci.sock",
                             f"http://127.0.0.1:{port}", rpc_batch=2)
        await engine.start()
        try:
            async def cut() -> None:
                await stop.wait()
                await runner.cleanup()

            cutter = asyncio.create_task(cut())
            results = await engine.broadcast_batch(raws)
            await cutter
            await engine.recorder.acks_written()
            assert served == [2]
            statuses = [engine.recorder.tx_status(sha256(raw).digest())["status"]
                        for raw in raws]
            return [results, statuses]
        finally:
            await engine.stop()

    results, statuses = asyncio.run(run())
    assert [r.code for r in results[:2]] == [0, 0]
    assert isinstance(results[2], EngineUnavailable)
    assert statuses == ["pending", "pending", "unknown"]
