"""Operating a node: one process per home (no double signing), clear one-line startup errors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from host.chain.rest import BlockingNodeClient, NodeUnreachable
from host.devtools.ports import free_block

CHAIN = "qos-ops-test"
REPO = Path(__file__).resolve().parents[2]
QOSD = [sys.executable, "-m", "host.cli.qosd", "--log-level", "WARNING", "start", "--home"]


def _init(home: Path, port: int) -> None:
    from host.cli.qosd import main as qosd

    assert qosd(["init", "--home", str(home), "--chain-id", CHAIN, "--block-interval", "0.2",
                 "--api", f"127.0.0.1:{port}"]) == 0


def _height(client: BlockingNodeClient, proc: subprocess.Popen, above: int = 0) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode()[-2000:] if proc.stderr else "exited")
        try:
            height = client.status()["height"]
            if height > above:
                return height
        except NodeUnreachable:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the node did not pass height {above}")


def _http(url: str, body: bytes | None = None) -> tuple[int, dict]:
    """Status and JSON body of a request, whatever the status (the client raises on 5xx)."""
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/cbor"} if body is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _run_to_exit(home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*QOSD, str(home)], cwd=REPO, capture_output=True, timeout=60)


@pytest.fixture
def running(tmp_path):
    home = tmp_path / "node"
    port = free_block(1)
    _init(home, port)
    proc = subprocess.Popen([*QOSD, str(home)], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        yield home, proc, BlockingNodeClient(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(30)


def test_a_second_start_on_a_running_home_refuses_before_reading_keys(running):
    home, first, client = running
    before = _height(client, first)
    # the key moved away: a second node that read keys before locking would report it missing
    key = home / "config" / "priv_validator_key.json"
    hidden = key.with_suffix(".hidden")
    key.rename(hidden)
    try:
        second = _run_to_exit(home)
    finally:
        hidden.rename(key)
    err = second.stderr.decode()
    assert second.returncode == 1
    assert "in use by another node" in err and f"pid {first.pid}" in err
    assert "Traceback" not in err and "priv_validator_key" not in err
    assert _height(client, first, above=before) > before  # the first keeps making blocks


def test_the_lock_dies_with_the_process(running):
    home, first, client = running
    _height(client, first)
    first.kill()  # SIGKILL: no cleanup runs, the kernel drops the flock
    first.wait(30)
    again = subprocess.Popen([*QOSD, str(home)], cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    try:
        assert _height(client, again) > 0
    finally:
        again.terminate()
        again.wait(30)


def test_a_taken_api_port_is_a_one_line_error_and_makes_no_block(tmp_path):
    from host.chain.engine.blockstore import BlockStore

    home = tmp_path / "node"
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        _init(home, squatter.getsockname()[1])
        result = _run_to_exit(home)
    err = result.stderr.decode()
    assert result.returncode == 1
    assert "cannot listen on 127.0.0.1:" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    store = BlockStore(home / "data" / "blocks.db", durable=True)
    assert store.last_height() == 0  # the engine never started
    store.close()


def test_the_api_answers_503_while_cometbft_is_stopped(tmp_path):
    import signal

    from tests.chain.helpers import account, one_validator_cometbft_net, signed_tx, transfer

    net, funded = one_validator_cometbft_net(tmp_path, CHAIN)
    val = net.validators[0]
    client = BlockingNodeClient(val.api_url, timeout=60)
    try:
        net.start()
        assert val.app is not None and val.comet is not None
        _height(client, val.app, above=1)
        val.comet.send_signal(signal.SIGKILL)  # the engine goes away; the node's API stays up
        val.comet.wait()
        raw = signed_tx(funded, 1, [transfer(account(1), 1)], chain=CHAIN)
        status, doc = _http(val.api_url + "/txs?wait=check", raw)
        assert status == 503 and doc["error"].startswith("engine unavailable"), doc
        status, doc = _http(val.api_url + "/validators")
        assert status == 503 and doc["error"].startswith("engine unavailable"), doc
        assert client.status()["height"] >= 1  # what the app knows is still served
        net.start_validator(0)  # CometBFT back: the same tx goes through
        deadline = time.monotonic() + 60
        while (status := _http(val.api_url + "/txs?wait=check", raw)[0]) == 503:
            assert time.monotonic() < deadline, "CometBFT did not come back"
            time.sleep(0.2)
        assert status == 202
    finally:
        client.close()
        net.stop()


def test_export_refuses_a_running_home_and_works_once_it_stopped(running, tmp_path):
    home, first, client = running
    _height(client, first)
    out = tmp_path / "export.json"
    export = [sys.executable, "-m", "host.cli.qosd", "export", "--home", str(home), "--out",
              str(out)]
    refused = subprocess.run(export, cwd=REPO, capture_output=True, timeout=60)
    assert refused.returncode == 1 and b"in use by another node" in refused.stderr
    assert not out.exists()
    first.terminate()
    first.wait(30)
    done = subprocess.run(export, cwd=REPO, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(out.read_text())["chain_id"] == CHAIN


def test_qosd_testnet_brings_back_a_node_killed_9(tmp_path):
    import os
    import signal

    from host.devtools.testnet import cometbft_binary, free_base_port

    if cometbft_binary() is None:
        pytest.skip("cometbft binary not installed (make setup builds it with go install)")
    base = free_base_port(1)
    root = tmp_path / "net"
    net = subprocess.Popen(
        [sys.executable, "-m", "host.cli.qosd", "--log-level", "WARNING", "testnet",
         "--validators", "1", "--dir", str(root), "--base-port", str(base)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(root.glob("*/data/LOCK")):
            assert net.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        (lock,) = root.glob("*/data/LOCK")
        home = lock.parent.parent
        api = (home / "config" / "node.toml").read_text().split("api_listen = ")[1].split()[0]
        client = BlockingNodeClient("http://" + json.loads(api), timeout=30)
        height = _height(client, net, above=1)
        victim = int(lock.read_text())
        os.kill(victim, signal.SIGKILL)  # the node's app process: no cleanup, no notice
        deadline = time.monotonic() + 90
        while not lock.read_text().strip() or int(lock.read_text()) == victim:
            assert net.poll() is None and time.monotonic() < deadline, "not restarted"
            time.sleep(0.2)
        assert _height(client, net, above=height) > height  # back by itself, making blocks
        client.close()
    finally:
        net.send_signal(signal.SIGINT)
        out = net.communicate(timeout=60)[0].decode()
    assert "restart 1" in out, out


# ---- qosd export -> qosd init --from-export ---------------------------------------------------

@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A solo node that committed a transfer, stopped, exported: (home, export file, receiver)."""
    from host.chain.node import BackgroundNode
    from host.cli.qosd import main as qosd
    from tests.chain.helpers import account, signed_tx, transfer

    root = tmp_path_factory.mktemp("export")
    home, sender, receiver = root / "old", account(0), account(1)
    assert qosd(["init", "--home", str(home), "--chain-id", CHAIN, "--block-interval", "0.2",
                 "--api", f"127.0.0.1:{free_block(1)}",
                 "--account", f"{sender.address_string}=1000000000"]) == 0
    with BackgroundNode(home) as node, BlockingNodeClient(node.url, timeout=60) as client:
        status, doc = client.submit(signed_tx(sender, 1, [transfer(receiver, 5000)], chain=CHAIN))
        assert status == 200 and doc["code"] == 0, doc
    out = root / "export.json"
    assert qosd(["export", "--home", str(home), "--out", str(out)]) == 0
    return home, out, receiver


def _import(tmp_path: Path, home: Path, export: Path, port: int = 0) -> tuple[int, str, Path]:
    """Run `qosd init --from-export` in a subprocess: (exit status, stderr, the new home)."""
    new = tmp_path / "new"
    result = subprocess.run(
        [sys.executable, "-m", "host.cli.qosd", "init", "--home", str(new), "--from-export",
         str(export), "--validator-key", str(home / "config" / "priv_validator_key.json"),
         "--block-interval", "0.2", "--api", f"127.0.0.1:{port or free_block(1)}"],
        cwd=REPO, capture_output=True, timeout=120,
    )
    return result.returncode, result.stderr.decode(), new


def test_an_export_seeds_a_new_home_at_the_same_app_hash_and_the_chain_goes_on(exported,
                                                                                tmp_path):
    from host.chain.app import Application
    from host.chain.engine.blockstore import BlockStore
    from host.chain.node import BackgroundNode

    home, export, receiver = exported
    doc = json.loads(export.read_text())
    height = doc["height"]
    assert height >= 1 and doc["last_block"]["hash"]
    code, err, new = _import(tmp_path, home, export)
    assert code == 0, err
    app = Application(new / "data" / "app.db")
    assert (app.info().last_height, app.info().last_app_hash.hex()) == (height, doc["app_hash"])
    assert app.query("bank/account", receiver.address).value["balance"] == 5000
    app.close()
    assert _import(tmp_path, home, export)[0] == 2  # never over an existing home (bad input)
    with BackgroundNode(new) as node, BlockingNodeClient(node.url, timeout=60) as client:
        deadline = time.monotonic() + 60
        while client.status()["height"] < height + 2:
            assert time.monotonic() < deadline, "the imported chain made no blocks"
            time.sleep(0.1)
    blocks = BlockStore(new / "data" / "blocks.db")
    following = blocks.raw_block(height + 1)
    blocks.close()
    # block height+1 links to the exported block and carries the exported state's app hash
    assert following["header"]["prev"].hex() == doc["last_block"]["hash"]
    assert following["header"]["app_hash"].hex() == doc["app_hash"]


def _damaged(doc: dict, how: str) -> dict:
    doc = json.loads(json.dumps(doc))
    if how == "state value":
        key = sorted(doc["state"])[-1]
        doc["state"][key] = doc["state"][key][:-2] + ("00" if doc["state"][key][-2:] != "00"
                                                      else "01")
    elif how == "state key dropped":
        del doc["state"][sorted(doc["state"])[0]]
    elif how == "app hash and block":  # the state hashes right, but no signed block led there
        doc["app_hash"] = doc["last_block"]["app_hash"] = "00" * 32
    elif how == "header":
        doc["last_block"]["header"] = doc["last_block"]["header"][:-2] + "00"
    elif how == "no valsets":
        doc["valsets"] = {}
    elif how == "format":
        doc["format"] = "something-else"
    return doc


@pytest.mark.parametrize("how, message", [
    ("truncated", "not JSON"),
    ("format", "not a qosd export"),
    ("state value", "the file is damaged"),
    ("state key dropped", "the file is damaged"),
    ("app hash and block", "the file is damaged"),
    ("header", "not a validly signed block"),
    ("no valsets", "no validator set for height"),
    ("foreign key", "not in the set that signs block"),
])
def test_a_bad_export_is_one_line_and_writes_nothing(exported, tmp_path, how, message):
    home, export, _ = exported
    bad = tmp_path / "bad.json"
    if how == "truncated":
        bad.write_text(export.read_text()[: len(export.read_text()) // 2])
    else:
        bad.write_text(json.dumps(_damaged(json.loads(export.read_text()), how)))
    if how == "foreign key":
        from host.chain.engine.privval import ValidatorKey

        other = tmp_path / "other"
        ValidatorKey.generate().save(tmp_path / "other_key.json")
        (other / "config").mkdir(parents=True)
        (tmp_path / "other_key.json").rename(other / "config" / "priv_validator_key.json")
        home = other
    code, err, new = _import(tmp_path, home, bad)
    assert code == 2 and message in err, err  # bad input: nothing written
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not new.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_export_refuses_a_home_with_a_signed_block_not_yet_executed(exported, tmp_path, capsys):
    """After a crash between storing a signed block and executing it, the export would leave that
    block out and the imported home would sign a second block at its height."""
    import shutil

    from host.chain.engine.blockstore import BlockStore
    from host.cli.qosd import main as qosd

    home = tmp_path / "crashed"
    shutil.copytree(exported[0], home)
    store = BlockStore(home / "data" / "blocks.db")
    top = store.raw_block(store.last_height())
    store.save_block(top["height"] + 1, b"\x01" * 32, top["time_ns"] + 1, top["proposer"],
                     top["header"], [])
    store.close()
    capsys.readouterr()
    assert qosd(["export", "--home", str(home), "--out", str(tmp_path / "x.json")]) == 1
    assert "signed but not executed" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
