"""gov/upgrade: a passed plan halts the old binary before the block at its height (again after a
restart), and a binary with a handler of that name continues from the same state; the solo
engine stops producing there. Attacker's tests: plans at past heights, reused names, a binary
started before its upgrade height."""

from __future__ import annotations

import time
from hashlib import sha256
from pathlib import Path

import pytest

from host.chain.app import Application
from host.chain.engine.blockstore import BlockStore
from host.chain.engine.privval import ValidatorKey
from host.chain.engine.solo import SoloEngine
from host.chain.genesis import Genesis, GenesisAccount, GenesisValidator
from host.chain.upgrade import UpgradedTooEarly, UpgradeNeeded
from host.chain.x.context import Ctx
from tests.chain.helpers import QOS, Chain, signed_tx
from tests.chain.test_gov import OPS, RICH, after_voting, new_chain, proposal, vote


def plan(name: str, height: int, deposit: int = 1_000 * QOS) -> dict:
    return {"type": "gov/upgrade", "plan": name, "height": height, "info": "see v2 notes",
            "deposit": deposit}


def pass_all(chain: Chain, n: int) -> None:
    for op in OPS:
        assert chain.send(op, [vote(n, "yes")]).ok
    after_voting(chain)


def migrate(ctx: Ctx) -> None:
    """The 'new binary's state migration: one key it writes in the upgrade block."""
    ctx.put(b"upgrade/test/migrated", ctx.height)


def scheduled_chain(path: Path, ahead: int = 3) -> tuple[Chain, int]:
    """A chain on disk with plan "v2" passed, due `ahead` blocks after the vote ends."""
    chain = Chain(app=Application(path), genesis=new_chain().genesis)
    height = chain.app.info().last_height + len(OPS) + 2 + ahead
    assert chain.send(RICH, [plan("v2", height)]).ok
    pass_all(chain, 1)
    assert proposal(chain, 1)["status"] == "passed", proposal(chain, 1)
    assert chain.app.query("upgrade/plan").value["height"] == height
    return chain, height


def test_the_old_binary_halts_at_the_height_and_again_after_a_restart(tmp_path):
    path = tmp_path / "app.db"
    chain, height = scheduled_chain(path)
    while chain.app.info().last_height < height - 1:
        chain.block()
    before = chain.app.info()
    with pytest.raises(UpgradeNeeded, match="UPGRADE 'v2' NEEDED at height"):
        chain.block()
    assert chain.app.info() == before  # nothing of the block ran
    chain.app.close()
    old = Application(path)  # the old binary again: same halt, same state
    with pytest.raises(UpgradeNeeded):
        Chain(app=old, genesis=chain.genesis).block()
    assert old.info() == before
    old.close()


def test_the_new_binary_continues_the_same_app_hash_chain(tmp_path):
    path = tmp_path / "app.db"
    chain, height = scheduled_chain(path)
    while chain.app.info().last_height < height - 1:
        chain.block()
    with pytest.raises(UpgradeNeeded):
        chain.block()
    halted = chain.app.info()
    chain.app.close()
    new = Chain(app=Application(path, upgrades={"v2": migrate}), genesis=chain.genesis)
    assert new.app.info() == halted  # starts from the very state the old one stopped at
    result = new.block()
    assert [e for e in result.events if e.type == "upgrade"]
    assert new.app.info().last_height == height
    assert new.app.query("store", b"upgrade/test/migrated").code == 0
    assert new.app.query("upgrade/plan").value is None
    new.block()  # and goes on
    assert new.app.check_invariants() == []


def test_a_binary_with_the_handler_refuses_to_run_before_the_height(tmp_path):
    path = tmp_path / "app.db"
    chain, height = scheduled_chain(path)
    chain.app.close()
    early = Chain(app=Application(path, upgrades={"v2": migrate}), genesis=chain.genesis)
    with pytest.raises(UpgradedTooEarly):
        early.block()


@pytest.mark.parametrize("bad", [
    {"height": 1},  # a past height
    {"height": 0},
    {"plan": ""},
    {"plan": "v2 beta"},
    {"plan": "-rf"},
])
def test_a_bad_plan_is_refused_at_submission(bad):
    chain = new_chain()
    for _ in range(3):
        chain.block()
    msg = {**plan("v2", 1_000), **bad}
    raw = signed_tx(RICH, chain.next_nonce(RICH), [msg], chain=chain.genesis.chain_id,
                    params=chain.app.params)
    assert not chain.app.check_tx(raw).ok
    assert not chain.block([raw]).tx_results[0].ok
    assert chain.app.query("gov/proposals").value == []


def test_a_plan_whose_height_passed_during_the_vote_fails_and_halts_nothing():
    chain = new_chain()
    height = chain.app.info().last_height + 3  # before voting can end
    assert chain.send(RICH, [plan("v2", height)]).ok
    pass_all(chain, 1)
    prop = proposal(chain, 1)
    assert prop["status"] == "failed" and "not after" in prop["result"]
    assert chain.app.query("upgrade/plan").value is None
    chain.block()


def test_a_name_is_used_once_and_a_cancel_removes_the_plan(tmp_path):
    path = tmp_path / "app.db"
    chain, height = scheduled_chain(path, ahead=20)
    assert chain.send(RICH, [{"type": "gov/cancel_upgrade", "plan": "v2",
                              "deposit": 1_000 * QOS}]).ok
    pass_all(chain, 2)
    assert proposal(chain, 2)["status"] == "passed"
    assert chain.app.query("upgrade/plan").value is None
    while chain.app.info().last_height <= height:
        chain.block()  # no halt: the plan is gone
    # a done upgrade's name cannot be planned again
    chain.app.close()
    chain, height = scheduled_chain(tmp_path / "other.db", ahead=1)
    while chain.app.info().last_height < height - 1:
        chain.block()
    chain.app.close()
    new = Chain(app=Application(tmp_path / "other.db", upgrades={"v2": migrate}),
                genesis=chain.genesis)
    new.block()
    raw = signed_tx(RICH, new.next_nonce(RICH), [plan("v2", height + 100)],
                    chain=new.genesis.chain_id, params=new.app.params)
    assert new.app.check_tx(raw).codespace == "already_exists"


# ---- the solo engine --------------------------------------------------------------------------

SOLO = "qos-upgrade-test"


def solo(path: Path, key: ValidatorKey, operator, upgrades=None) -> SoloEngine:
    app = Application(path / "app.db", upgrades=upgrades)
    engine = SoloEngine(app, BlockStore(path / "blocks.db"), key, SOLO)
    if engine.store.valset(1) is None:
        engine.init_chain(Genesis(
            chain_id=SOLO, genesis_time=time.time() - 10,
            accounts=[GenesisAccount(operator.address, 1_000_000 * QOS)],
            validators=[GenesisValidator(operator.address, key.pubkey, 10_000 * QOS)],
            params={"gov": {"min_deposit": 1, "voting_seconds": 1, "deposit_seconds": 60}}))
    return engine


def test_the_solo_engine_stops_at_the_height_and_the_new_binary_goes_on(tmp_path):
    from tests.chain.helpers import account

    key = ValidatorKey(sha256(b"upgrade validator").digest())
    operator = account(7)
    engine = solo(tmp_path, key, operator)
    engine.handshake()

    def produce(msgs: list[dict]) -> None:
        nonce = engine.app.query("bank/account", operator.address).value["nonce"] + 1
        raw = signed_tx(operator, nonce, msgs, chain=SOLO, params=engine.app.params)
        admitted = engine.app.check_tx(raw)
        assert admitted.ok, admitted.log
        engine.mempool.add(admitted.tx_hash, raw, admitted.signer, admitted.tip)
        engine.produce_block()

    height = engine.height + 6
    produce([plan("v2", height, deposit=1)])
    produce([vote(1, "yes")])
    time.sleep(1.1)  # the voting period is 1 s of block time, which is the wall clock here
    while engine.height < height - 1:
        engine.produce_block()
    assert engine.app.query("gov/proposal", (1).to_bytes(8, "big")).value["status"] == "passed"
    with pytest.raises(UpgradeNeeded):
        engine.produce_block()
    assert engine.height == height - 1 and engine.app.info().last_height == height - 1
    hashes = [engine.store.raw_block(h)["header"]["app_hash"] for h in range(2, height)]
    engine.app.close()

    old = solo(tmp_path, key, operator)
    with pytest.raises(UpgradeNeeded):  # replays the stored block: halts again
        old.handshake()
    old.app.close()

    new = solo(tmp_path, key, operator, upgrades={"v2": migrate})
    new.handshake()  # replays the stored block H with the handler
    assert new.height == height
    after_upgrade = new.app.info().last_app_hash
    new.produce_block()
    assert [new.store.raw_block(h)["header"]["app_hash"] for h in range(2, height)] == hashes
    assert new.store.raw_block(height + 1)["header"]["app_hash"] == after_upgrade
    assert new.app.query("store", b"upgrade/test/migrated").code == 0
    new.app.close()


# ---- qosd: the operator's view (docs/operations.md) ----------------------------------------

NEW_BINARY = ("import sys; from host.chain import upgrade; "
              "upgrade.HANDLERS['v2'] = lambda ctx: None; "
              "from host.cli.qosd import main; sys.exit(main(sys.argv[1:]))")


def test_qosd_halts_with_status_3_and_the_new_binary_goes_on(tmp_path, capsys):
    """A real solo node: the plan passes through `qos tx`, the old binary exits 3 at the height
    (and again when restarted), the binary with the handler continues."""
    import json
    import subprocess
    import sys

    from host.chain.rest import BlockingNodeClient
    from host.cli.qos import main as qos
    from host.devtools.ports import free_block
    from tests.chain.test_ops import QOSD, REPO, _height, _init

    home, port = tmp_path / "node", free_block(1)
    _init(home, port)
    genesis = json.loads((home / "config" / "genesis.json").read_text())
    genesis["params"] = {"gov": {"min_deposit": 1, "voting_seconds": 1, "deposit_seconds": 60}}
    (home / "config" / "genesis.json").write_text(json.dumps(genesis))
    url, key = f"http://127.0.0.1:{port}", str(home / "config" / "operator_key.json")
    client = BlockingNodeClient(url)
    proc = subprocess.Popen([*QOSD, str(home)], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        height = _height(client, proc) + 40
        assert qos(["tx", "gov-upgrade", "v2", str(height), "--info", "v2 notes",
                    "--deposit", "1", "--key", key, "--node", url]) == 0
        assert qos(["tx", "msg", '{"type":"gov/vote","proposal":1,"option":"yes"}',
                    "--key", key, "--node", url]) == 0
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, err.decode()[-2000:]
    line = f"qosd: halted: UPGRADE 'v2' NEEDED at height {height} (v2 notes)"
    assert line in err.decode()
    again = subprocess.run([*QOSD, str(home)], cwd=REPO, capture_output=True, timeout=60)
    assert again.returncode == 3 and line in again.stderr.decode()
    new = subprocess.Popen([sys.executable, "-c", NEW_BINARY, "--log-level", "WARNING",
                            "start", "--home", str(home)], cwd=REPO,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert _height(client, new, above=height + 1) > height + 1
        status, plan = client.get("/upgrade/plan")
        assert status == 200 and plan["value"] is None, plan  # done: no plan waits
        status, params = client.get("/params")
        assert status == 200 and params["value"]["gov"]["voting_seconds"] == 1
    finally:
        new.terminate()
        new.wait(30)


def test_cometbft_validators_halt_at_the_height_and_the_new_binaries_go_on(tmp_path):
    """Four validators under real CometBFT: the app refuses to finalize block H, so every
    validator stops at H - 1 and the qosd of each that saw H decided exits 3; restarted with
    the handler they go on."""
    import subprocess
    import sys

    from host.chain.rest import BlockingNodeClient
    from host.cli.qos import main as qos
    from host.devtools.testnet import Testnet, cometbft_binary, free_base_port

    if cometbft_binary() is None:
        pytest.skip("cometbft binary not installed (make setup builds it with go install)")
    net = Testnet.create(tmp_path / "net", 4, chain_id="qos-upgrade-net",
                         base_port=free_base_port(4),
                         genesis_params={"gov": {"min_deposit": 1, "voting_seconds": 15,
                                                 "deposit_seconds": 60}})
    try:
        net.start()
        client = BlockingNodeClient(net.validators[0].api_url)
        height = client.status()["height"] + 45
        key = str(net.validators[0].home / "config" / "operator_key.json")
        node = net.validators[0].api_url
        assert qos(["tx", "gov-upgrade", "v2", str(height), "--deposit", "1", "--key", key,
                    "--node", node]) == 0
        for val in net.validators[:2]:  # half the stake votes yes: quorum, and no one says no
            assert qos(["tx", "msg", '{"type":"gov/vote","proposal":1,"option":"yes"}',
                        "--key", str(val.home / "config" / "operator_key.json"),
                        "--node", node]) == 0
        # A validator halts once it has the precommits of 2/3 of the stake for block H; its
        # CometBFT stops with it, so its own precommit may never reach the others. Those never
        # see H decided: they stay at H - 1 (2 of 4 cannot go on) and are restarted like the
        # rest. At least one halts; how many more depends on the gossip. With one down, the
        # other three decide H in a later round and halt too: wait until no more halt for 5 s.
        deadline = time.monotonic() + 180
        halted, unchanged_since = 0, time.monotonic()
        while not halted or time.monotonic() - unchanged_since < 5:
            assert time.monotonic() < deadline, "no validator halted at the height"
            now_halted = sum(val.app is not None and val.app.poll() is not None
                             for val in net.validators)
            if now_halted != halted:
                halted, unchanged_since = now_halted, time.monotonic()
            time.sleep(0.5)
        for val in net.validators:
            assert val.app is not None
            log_text = (val.home / "app.log").read_text()
            if val.app.poll() is None:
                assert BlockingNodeClient(val.api_url).status()["height"] == height - 1
                val.app.terminate()
                val.app.wait(30)
                continue
            assert val.app.returncode == 3, log_text[-2000:]
            assert f"UPGRADE 'v2' NEEDED at height {height}" in log_text
        for val in net.validators:  # CometBFT halted too, or is stopped now
            assert val.comet is not None
            if val.comet.poll() is None:
                val.comet.terminate()
                val.comet.wait(30)
            val.comet = None
        for val in net.validators:  # the new binary, on the same homes
            log = open(val.home / "app.log", "ab")  # noqa: SIM115 - owned by the child
            val.app = subprocess.Popen([sys.executable, "-c", NEW_BINARY, "start", "--home",
                                        str(val.home)], stdout=log, stderr=subprocess.STDOUT)
            log.close()
        net.start()
        deadline = time.monotonic() + 120
        for val in net.validators:  # every validator, a straggler too, goes past H
            node_client = BlockingNodeClient(val.api_url)
            while node_client.status()["height"] <= height + 1:
                assert time.monotonic() < deadline, "the upgraded network made no block after H"
                time.sleep(0.5)
    finally:
        net.stop()
    roots = set()
    for val in net.validators:  # one state chain through the upgrade block on every validator
        app = Application(val.home / "data" / "app.db")
        roots.add(tuple(app.store.root_at(h) for h in (height - 1, height, height + 1)))
        assert app.query("store", b"upgrade/done/v2").code == 0
        app.close()
    assert len(roots) == 1 and None not in next(iter(roots))
