"""The solo engine: signed, linked blocks; every accepted tx committed exactly once; CometBFT's
height rules; the mempool; crash recovery (in-process replay and a real kill -9 of `qosd`)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from hashlib import sha256
from pathlib import Path

import pytest

from host.chain.app import Application
from host.chain.engine.base import MempoolFull
from host.chain.engine.blockstore import BlockStore
from host.chain.engine.privval import ValidatorKey
from host.chain.engine.solo import (
    SoloEngine,
    apply_updates,
    commit_sign_bytes,
    valset_hash,
    verify_commit,
)
from host.chain.genesis import Genesis, GenesisAccount, GenesisValidator
from host.chain.rest import BlockingNodeClient, NodeUnreachable
from host.chain.types import ValidatorUpdate
from host.core import cbor
from host.core.keys import Account

CHAIN = "qos-solo-test"
QOS = 10_000
REPO = Path(__file__).resolve().parents[2]


def account(n: int) -> Account:
    return Account.from_ed25519_seed(sha256(b"solo account %d" % n).digest())


def signed_transfer(sender: Account, nonce: int, to: bytes, amount: int, fee: int = 1000) -> bytes:
    tx = {
        "chain": CHAIN,
        "nonce": nonce,
        "fee": fee,
        "msgs": [{"type": "bank/transfer", "to": to, "amount": amount}],
        "memo": "",
    }
    sig = sender.sign(cbor.dumps(["qos/tx/1", CHAIN, tx]))
    return cbor.dumps({"tx": tx, "pubkey": sender.pubkey, "sig": sig})


def make_engine(path: Path | None, key: ValidatorKey, **options) -> SoloEngine:
    app = Application(None if path is None else path / "app.db")
    store = BlockStore(None if path is None else path / "blocks.db")
    engine = SoloEngine(app, store, key, CHAIN, **options)
    if store.valset(1) is None:
        genesis = Genesis(
            chain_id=CHAIN,
            genesis_time=time.time() - 10,
            accounts=[GenesisAccount(account(i).address, 1_000_000 * QOS) for i in range(4)],
            validators=[GenesisValidator(account(99).address, key.pubkey, 10_000 * QOS)],
        )
        engine.init_chain(genesis)
    return engine


@pytest.fixture
def key() -> ValidatorKey:
    return ValidatorKey(sha256(b"solo validator").digest())


def test_blocks_are_signed_linked_and_carry_the_previous_app_hash(key):
    engine = make_engine(None, key, block_interval=1)
    engine.handshake()
    app_hashes = {}
    for _ in range(4):
        height = engine.produce_block()
        app_hashes[height] = engine.app.info().last_app_hash
    previous = bytes(32)
    for height in range(1, 5):
        block = engine.store.raw_block(height)
        header = block["header"]
        assert header["height"] == height and header["chain"] == CHAIN
        assert header["prev"] == previous
        assert block["hash"] == sha256(block["header_bytes"]).digest()
        signers = engine.store.valset(height)
        assert verify_commit(CHAIN, block["header_bytes"], block["commit"], signers)
        assert block["app_hash"] == app_hashes[height]
        if height > 1:  # CometBFT rule: the header of H carries the app hash after H-1
            assert header["app_hash"] == app_hashes[height - 1]
            assert header["votes"] == [[key.address, True, header["votes"][0][2]]]
        previous = block["hash"]
    # a commit over a tampered header does not verify
    tampered = dict(engine.store.raw_block(2)["header"], time=1)
    commit = engine.store.raw_block(2)["commit"]
    assert not verify_commit(CHAIN, cbor.dumps(tampered), commit, engine.store.valset(2))


def _signed_header(signers: list[ValidatorUpdate], keys: list[ValidatorKey], height: int = 7):
    """A header committing to `signers` and a commit carrying the signatures of `keys`."""
    header_bytes = cbor.dumps({"chain": CHAIN, "height": height, "validators_hash":
                               valset_hash(signers)})
    block_hash = sha256(header_bytes).digest()
    message = commit_sign_bytes(CHAIN, height, block_hash)
    sigs = [{"address": k.address, "pubkey": k.pubkey, "sig": k.sign(message)} for k in keys]
    return header_bytes, {"height": height, "hash": block_hash, "sigs": sigs}


def test_a_commit_needs_more_than_two_thirds_of_the_power():
    """Attack: a block signed by a key holding 1.1% of the set's power (the issue's case)."""
    minor, major = ValidatorKey(b"\x01" * 32), ValidatorKey(b"\x02" * 32)
    outsider = ValidatorKey(b"\x03" * 32)
    signers = sorted([ValidatorUpdate(minor.pubkey, 11), ValidatorUpdate(major.pubkey, 989)],
                     key=lambda v: v.pubkey)
    header, commit = _signed_header(signers, [minor])
    assert not verify_commit(CHAIN, header, commit, signers)
    header, commit = _signed_header(signers, [minor, minor, minor, outsider])
    assert not verify_commit(CHAIN, header, commit, signers)  # repeats and outsiders spoil it
    header, commit = _signed_header(signers, [major])
    assert verify_commit(CHAIN, header, commit, signers)
    header, commit = _signed_header(signers, [major, minor])
    assert verify_commit(CHAIN, header, commit, signers)
    # ... but only against the set the header commits to
    assert not verify_commit(CHAIN, header, commit, [ValidatorUpdate(major.pubkey, 989)])
    # and a forged signature spoils the commit even beside enough good ones
    bad = dict(commit, sigs=commit["sigs"] + [dict(commit["sigs"][1], sig=bytes(64))])
    assert not verify_commit(CHAIN, header, bad, signers)
    assert not verify_commit(CHAIN, header, dict(commit, sigs=[]), signers)
    # exactly 2/3 is not more than 2/3
    even = sorted([ValidatorUpdate(minor.pubkey, 1), ValidatorUpdate(major.pubkey, 2)],
                  key=lambda v: v.pubkey)
    header, commit = _signed_header(even, [major])
    assert not verify_commit(CHAIN, header, commit, even)


def test_every_accepted_tx_is_committed_exactly_once(key):
    engine = make_engine(None, key, block_interval=1, max_block_txs=7)
    engine.handshake()
    sender, receiver = account(0), account(1)
    before = engine.app.query("bank/account", receiver.address).value["balance"]
    hashes = []

    async def submit():
        for nonce in range(1, 31):
            result = await engine.broadcast(signed_transfer(sender, nonce, receiver.address, 5))
            assert result.code == 0, result.log
            hashes.append(result.tx_hash)
        dup = await engine.broadcast(signed_transfer(sender, 30, receiver.address, 5))
        assert dup.codespace == "already_exists"
        stale = await engine.broadcast(signed_transfer(sender, 3, receiver.address, 6))
        assert stale.code != 0 and stale.codespace == "bad_nonce"

    asyncio.run(submit())
    assert len(engine.mempool) == 30
    while engine.mempool:
        engine.produce_block()
    assert engine.height == 5  # 30 txs at most 7 per block
    for tx_hash in hashes:
        assert times_committed(engine.store, tx_hash) == 1
        assert engine.store.tx(tx_hash)["code"] == 0
    after = engine.app.query("bank/account", receiver.address).value["balance"]
    assert after - before == 30 * 5


def test_recheck_drops_txs_that_became_invalid(key):
    engine = make_engine(None, key, block_interval=1)
    engine.handshake()
    sender = account(2)
    first = signed_transfer(sender, 1, account(3).address, 7)

    async def flow():
        assert (await engine.broadcast(first)).code == 0
        engine.produce_block()  # nonce 1 is now committed
        # a conflicting tx with the same nonce was accepted nowhere; a fresh one with nonce 2 is
        again = await engine.broadcast(signed_transfer(sender, 1, account(3).address, 8))
        assert again.codespace == "bad_nonce"
        assert (await engine.broadcast(signed_transfer(sender, 2, account(3).address, 8))).ok

    asyncio.run(flow())
    assert len(engine.mempool) == 1


def test_each_tx_is_decoded_and_verified_once_from_mempool_to_commit(key, monkeypatch):
    # The engine's real flow: check_tx on arrival, a recheck of the rest after every commit,
    # then the block. The app remembers a verified tx until its block, so the work is done once.
    from host.chain import app as app_module

    calls = {"decode": 0, "verify": 0}
    real_decode, real_verify = app_module.decode_signed_tx, app_module.verify

    def counted_decode(raw):
        calls["decode"] += 1
        return real_decode(raw)

    def counted_verify(pubkey, message, sig):
        calls["verify"] += 1
        return real_verify(pubkey, message, sig)

    monkeypatch.setattr(app_module, "decode_signed_tx", counted_decode)
    monkeypatch.setattr(app_module, "verify", counted_verify)
    engine = make_engine(None, key, block_interval=1, max_block_txs=5)
    engine.handshake()
    txs = [signed_transfer(account(k), n, account(3).address, 1) for n in range(1, 7)
           for k in (0, 1)]
    stale = signed_transfer(account(0), 1, account(3).address, 2)  # nonce 1 again

    async def submit():
        for raw in txs:
            assert (await engine.broadcast(raw)).code == 0
        assert (await engine.broadcast(stale)).codespace == "bad_nonce"

    asyncio.run(submit())
    assert set(engine.app._verified) == {sha256(raw).digest() for raw in txs}  # not the refused
    checked = len(txs) + 1  # every tx decoded and verified once on arrival, the refused too
    assert calls == {"decode": checked, "verify": checked}
    while engine.mempool:
        engine.produce_block()  # 3 blocks, with rechecks of what is left in between
    assert engine.height == 3
    assert all(engine.store.tx(sha256(raw).digest())["code"] == 0 for raw in txs)
    assert calls == {"decode": checked, "verify": checked}  # nothing again in rechecks, blocks
    assert not engine.app._verified  # delivered txs are not kept
    # A tx the app never saw before its block is decoded and verified there, once.
    late = signed_transfer(account(2), 1, account(3).address, 1)
    engine.mempool.add(sha256(late).digest(), late)
    engine.produce_block()
    assert engine.store.tx(sha256(late).digest())["code"] == 0
    assert calls == {"decode": checked + 1, "verify": checked + 1}


def test_bad_input_is_refused_and_changes_nothing(key):
    engine = make_engine(None, key, block_interval=1, mempool_txs=2)
    engine.handshake()
    before = engine.app.info().last_app_hash

    async def flow():
        for junk in (b"", b"\xff", cbor.dumps({"tx": 1}), os.urandom(200)):
            assert (await engine.broadcast(junk)).code != 0
        big = await engine.broadcast(b"\x00" * (engine.max_tx_bytes + 1))
        assert big.codespace == "tx_too_large"
        assert (await engine.broadcast(signed_transfer(account(0), 1, account(1).address, 1))).ok
        assert (await engine.broadcast(signed_transfer(account(0), 2, account(1).address, 1))).ok
        with pytest.raises(MempoolFull):
            await engine.broadcast(signed_transfer(account(0), 3, account(1).address, 1))

    asyncio.run(flow())
    assert engine.app.info().last_app_hash == before
    assert engine.recorder.counters["txs_rejected"] == 5


def test_validator_updates_take_effect_two_blocks_later():
    a, b = ValidatorUpdate(b"a" * 32, 10), ValidatorUpdate(b"b" * 32, 5)
    assert apply_updates([a], [b]) == [a, b]
    assert apply_updates([a, b], [ValidatorUpdate(b"a" * 32, 0)]) == [b]
    assert apply_updates([a], [ValidatorUpdate(b"a" * 32, 3)]) == [ValidatorUpdate(b"a" * 32, 3)]


def test_the_solo_engine_runs_its_own_key_alone_with_h_plus_2_bookkeeping(key):
    """One validator by construction: the app may elect others (staking does not know the
    engine), but they are never asked to sign here, so they are neither counted absent nor
    jailed; the local key's power follows the app's updates at H+2."""
    engine = make_engine(None, key, block_interval=1)
    engine.handshake()
    engine.produce_block()
    other = ValidatorUpdate(sha256(b"new validator").digest(), 1)
    original = engine.app.finalize_block
    updates = {2: [other, ValidatorUpdate(key.pubkey, 7)], 4: [ValidatorUpdate(key.pubkey, 0)]}

    def with_update(block):
        result = original(block)
        result.validator_updates = updates.get(block.height, [])
        return result

    engine.app.finalize_block = with_update
    engine.produce_block()
    assert engine.store.valset(3) == [ValidatorUpdate(key.pubkey, 10_000)]
    assert engine.store.valset(4) == [ValidatorUpdate(key.pubkey, 7)]  # H+2, not H+1
    for _ in range(4):
        engine.produce_block()
    for height in range(2, 7):
        header = engine.store.raw_block(height)["header"]
        assert [v[0] for v in header["votes"]] == [key.address]  # only the signer is reported
        assert header["votes"][0][1] is True
    # the app dropped the local key (jailed, voted out): the engine keeps it as its one signer
    assert engine.store.valset(7) == [ValidatorUpdate(key.pubkey, 7)]
    block = engine.store.raw_block(6)
    assert verify_commit(CHAIN, block["header_bytes"], block["commit"], engine.store.valset(6))


def test_a_validator_the_solo_engine_cannot_ask_to_sign_is_never_jailed(key):
    """The issue's case: the local key holds 1.1% of the genesis stake, another validator 98.9%.
    The solo engine signs alone; the other is not reported absent, so downtime never jails it."""
    app, store = Application(None), BlockStore(None)
    engine = SoloEngine(app, store, key, CHAIN, block_interval=1)
    big = account(98)
    genesis = Genesis(
        chain_id=CHAIN,
        genesis_time=time.time() - 10,
        accounts=[GenesisAccount(account(0).address, 1_000 * QOS)],
        validators=[GenesisValidator(account(99).address, key.pubkey, 11 * QOS),
                    GenesisValidator(big.address, sha256(b"big").digest(), 989 * QOS)],
        params={"staking": {"min_signed_bps": 10_000, "epoch_blocks": 3}},
    )
    engine.init_chain(genesis)
    engine.handshake()
    assert engine.store.valset(1) == [ValidatorUpdate(key.pubkey, 11)]
    for _ in range(12):
        engine.produce_block()
    val = app.query("staking/validator", big.address).value
    assert val["barred_epoch"] == -1 and val["tokens"] == 989 * QOS
    for height in range(1, 13):
        block = store.raw_block(height)
        assert verify_commit(CHAIN, block["header_bytes"], block["commit"], store.valset(height))


def test_the_solo_engine_refuses_a_genesis_that_does_not_elect_its_key(key):
    engine = SoloEngine(Application(None), BlockStore(None), key, CHAIN)
    genesis = Genesis(
        chain_id=CHAIN,
        genesis_time=time.time(),
        validators=[GenesisValidator(account(98).address, sha256(b"big").digest(), 10 * QOS)],
    )
    with pytest.raises(RuntimeError, match="one validator"):
        engine.init_chain(genesis)


def test_replay_after_a_crash_between_block_store_and_app_commit(tmp_path, key):
    engine = make_engine(tmp_path, key, block_interval=1)
    engine.handshake()
    txs = [signed_transfer(account(0), n, account(1).address, 3) for n in range(1, 6)]

    async def fill():
        for raw in txs:
            assert (await engine.broadcast(raw)).ok

    asyncio.run(fill())
    engine.produce_block()
    # now crash inside block 2: stored and executed (app hash recorded) but never committed
    engine.mempool.txs.clear()
    asyncio.run(engine.broadcast(signed_transfer(account(2), 1, account(1).address, 9)))
    height = engine.height + 1
    block_txs = list(engine.mempool.txs.values())
    header = {"chain": CHAIN, "height": height, "time": time.time_ns(), "proposer": key.address,
              "votes": [[key.address, True, 1]]}
    engine.store.save_block(height, b"h" * 32, header["time"], key.address, header, block_txs)
    engine._execute(height, header, block_txs)  # finalize_block without commit
    expected = engine.store.raw_block(height)["app_hash"]
    engine.app.store.db.close()
    engine.store.close()

    reopened = make_engine(tmp_path, key, block_interval=1)
    assert reopened.app.info().last_height == height - 1
    reopened.handshake()  # replays block 2 and checks the recorded app hash
    assert reopened.height == height
    assert reopened.app.info().last_app_hash == expected
    assert times_committed(reopened.store, sha256(block_txs[0]).digest()) == 1
    assert reopened.produce_block() == height + 1


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def times_committed(store: BlockStore, tx_hash: bytes) -> int:
    """How many committed blocks hold the tx (the store's txs table, read directly)."""
    return store.db.execute("SELECT COUNT(*) FROM txs WHERE hash = ?", (tx_hash,)).fetchone()[0]


def _start_qosd(home: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "host.cli.qosd", "--log-level", "WARNING", "start", "--home",
         str(home)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def _wait_status(node: BlockingNodeClient, proc: subprocess.Popen, min_height: int = 0) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"qosd exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            status = node.status()
            if status["height"] >= min_height:
                return status
        except NodeUnreachable:
            pass
        time.sleep(0.1)
    raise AssertionError("qosd did not come up")


def test_kill_9_restarts_at_the_last_committed_height_with_the_same_app_hash(tmp_path):
    from host.cli.qosd import main as qosd

    home = tmp_path / "node"
    port = _free_port()
    funded = account(0)
    assert qosd(["init", "--home", str(home), "--chain-id", CHAIN, "--block-interval", "0.2",
                 "--api", f"127.0.0.1:{port}", "--account",
                 f"{funded.address_string}={10**6 * QOS}"]) == 0
    node = BlockingNodeClient(f"http://127.0.0.1:{port}")
    nonce = 0
    for round_ in range(3):
        proc = _start_qosd(home)
        try:
            status = _wait_status(node, proc)
            for _ in range(40):  # keep txs flowing so the kill lands mid-work
                nonce += 1
                raw = signed_transfer(funded, nonce, account(1).address, 1)
                code, _ = node.submit(raw, wait="check")
                if code != 202:
                    nonce -= 1
            time.sleep(0.3 + 0.17 * round_)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        # what survived the crash: the app's committed height and hash
        app = Application(home / "data" / "app.db")
        info = app.info()
        app.store.db.close()
        assert info.last_height >= status["height"]
        proc = _start_qosd(home)
        try:
            after = _wait_status(node, proc)
            assert after["height"] >= info.last_height
            block = node.get(f"/blocks/{info.last_height}")[1]
            assert block["app_hash"] == info.last_app_hash.hex()
            later = _wait_status(node, proc, info.last_height + 2)  # and the chain goes on
            assert later["height"] >= info.last_height + 2
            nonce = node.next_nonce(funded.address) - 1
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
    node.close()
    # no tx was committed twice and every committed block links to its parent
    store = BlockStore(home / "data" / "blocks.db")
    previous = bytes(32)
    for height in range(1, store.last_height() + 1):
        block = store.raw_block(height)
        assert block["header"]["prev"] == previous
        previous = block["hash"]
        for raw in block["txs"]:
            assert times_committed(store, sha256(raw).digest()) == 1
    assert nonce > 0


def test_a_failing_block_stops_the_engine_and_a_restart_replays_it(tmp_path, key):
    engine = make_engine(tmp_path, key, block_interval=0.05)
    real = engine.app.finalize_block

    def broken(block):
        if block.height == 3:
            raise OSError("disk full")
        return real(block)

    engine.app.finalize_block = broken

    async def run():
        await engine.start()
        error = await asyncio.wait_for(engine.wait_failed(), 30)
        await engine.stop()
        return error

    error = asyncio.run(run())
    assert isinstance(error, OSError)
    assert engine.app.info().last_height == 2 and engine.store.last_height() == 3
    engine.app.store.db.close()
    engine.store.close()
    again = make_engine(tmp_path, key, block_interval=0.05)
    again.handshake()
    assert again.height == 3 and again.store.raw_block(3)["app_hash"] is not None


def test_qosd_cli_refuses_bad_input_and_exports_state(tmp_path, capsys):
    from host.chain.node import NodeConfig
    from host.cli.qosd import main as qosd

    home = tmp_path / "n"
    assert qosd(["init", "--home", str(home), "--account", "nonsense"]) == 2
    assert "qosacc1...=UNITS" in capsys.readouterr().err
    assert not (home / "config").exists()  # nothing half-written
    assert qosd(["init", "--home", str(home), "--block-interval", "0"]) == 2
    assert qosd(["init", "--home", str(home), "--chain-id", "Bad_Chain"]) == 2
    assert not (home / "config").exists()
    assert qosd(["init", "--home", str(home), "--chain-id", CHAIN]) == 0
    assert qosd(["init", "--home", str(home)]) == 2  # never overwrites a node
    assert "refusing" in capsys.readouterr().err
    assert qosd(["testnet", "--validators", "0", "--dir", str(tmp_path / "t")]) == 2
    config_path = home / "config" / "node.toml"
    config_path.write_text(config_path.read_text() + 'colour = "blue"\n')
    with pytest.raises(ValueError, match="unknown settings colour"):
        NodeConfig.load(config_path)
    assert qosd(["export", "--home", str(tmp_path / "missing")]) == 2
    # a node that ran two blocks exports the state whose app hash it committed
    key = ValidatorKey.load(home / "config" / "priv_validator_key.json")
    config_path.write_text(config_path.read_text().replace('colour = "blue"\n', ""))
    (home / "data").mkdir()
    app = Application(home / "data" / "app.db")
    engine = SoloEngine(app, BlockStore(home / "data" / "blocks.db"), key, CHAIN)
    engine.init_chain(json.loads((home / "config" / "genesis.json").read_text()))
    engine.handshake()
    engine.produce_block()
    engine.produce_block()
    app.store.db.close()
    capsys.readouterr()
    assert qosd(["export", "--home", str(home)]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["height"] == 2 and exported["chain_id"] == CHAIN
    assert exported["app_hash"] == engine.store.raw_block(2)["app_hash"].hex()
    assert exported["state"]


def test_without_empty_blocks_the_engine_waits_for_txs(key):
    engine = make_engine(None, key, block_interval=0.05, create_empty_blocks=False)

    async def flow():
        await engine.start()
        await asyncio.sleep(0.4)
        idle_height = engine.height
        result = await engine.broadcast(signed_transfer(account(0), 1, account(1).address, 4))
        committed = await engine.recorder.wait_for_tx(result.tx_hash, 10)
        await asyncio.sleep(0.3)
        await engine.stop()
        return idle_height, committed

    idle_height, committed = asyncio.run(flow())
    assert idle_height == 0
    assert committed is not None and committed["height"] == 1 and engine.height == 1
