"""The ABCI++ server: the wire protocol over a real socket (every request type, framing, bad
input), then the real CometBFT v0.38 driving it (marked `cometbft`)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
import urllib.error
import urllib.request
from hashlib import sha256

import pytest

from host.chain.app import Application
from host.chain.engine.abci_proto import (
    ProtoUnavailable,
    decode_uvarint,
    encode_exec_tx_result,
    encode_uvarint,
    messages,
)
from host.chain.engine.abci_server import MAX_MESSAGE, AbciServer
from host.chain.engine.privval import ValidatorKey
from host.chain.genesis import Genesis, GenesisAccount, GenesisValidator
from host.chain.rest import BlockingNodeClient, NodeError
from host.chain.store import verify_proof
from host.core import cbor
from host.core.keys import Account
from host.core.merkle import merkle_root
from tests.chain.helpers import one_validator_cometbft_net

CHAIN = "qos-abci-test"
QOS = 10_000


def _pb():
    try:
        return messages()
    except ProtoUnavailable as exc:
        pytest.skip(f"CometBFT .proto files unavailable: {exc}")


def account(n: int) -> Account:
    return Account.from_ed25519_seed(sha256(b"abci account %d" % n).digest())


def signed_transfer(sender: Account, nonce: int, to: bytes, amount: int, chain=CHAIN) -> bytes:
    tx = {"chain": chain, "nonce": nonce, "fee": 1000, "memo": "",
          "msgs": [{"type": "bank/transfer", "to": to, "amount": amount}]}
    sig = sender.sign(cbor.dumps(["qos/tx/1", chain, tx]))
    return cbor.dumps({"tx": tx, "pubkey": sender.pubkey, "sig": sig})


def genesis_json() -> dict:
    return Genesis(
        chain_id=CHAIN,
        genesis_time=1_700_000_000.0,
        accounts=[GenesisAccount(account(i).address, 1000 * QOS) for i in range(3)],
        validators=[GenesisValidator(account(9).address, sha256(b"cons").digest(), 100 * QOS)],
    ).to_json()


def test_uvarint_round_trip_and_truncation():
    for value in (0, 1, 127, 128, 300, 2**32, 2**63):
        data = encode_uvarint(value)
        assert decode_uvarint(data) == (value, len(data))
        assert decode_uvarint(data[:-1]) is None
    with pytest.raises(ValueError):
        decode_uvarint(b"\xff" * 11)
    with pytest.raises(ValueError):
        encode_uvarint(-1)


class WireClient:
    """Speaks the ABCI socket protocol the way CometBFT's socket client does."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buf = b""
        self.pb = messages()

    def send(self, requests: list, chunk: int | None = None) -> list:
        data = b""
        for request in requests:
            body = request.SerializeToString()
            data += encode_uvarint(len(body)) + body
        flush = self.pb.abci.Request(flush=self.pb.abci.RequestFlush()).SerializeToString()
        data += encode_uvarint(len(flush)) + flush
        if chunk:
            for i in range(0, len(data), chunk):
                self.sock.sendall(data[i : i + chunk])
        else:
            self.sock.sendall(data)
        responses = [self.read() for _ in range(len(requests) + 1)]
        assert responses[-1].WhichOneof("value") == "flush"
        return responses[:-1]

    def read(self):
        while True:
            head = decode_uvarint(self.buf)
            if head is not None and len(self.buf) >= head[1] + head[0]:
                body = self.buf[head[1] : head[1] + head[0]]
                self.buf = self.buf[head[1] + head[0] :]
                return self.pb.abci.Response.FromString(body)
            more = self.sock.recv(65536)
            if not more:
                raise ConnectionError("server closed the connection")
            self.buf += more


@pytest.fixture
def served(tmp_path):
    """An AbciServer over a real Application on a unix socket, run in a background loop."""
    import threading

    _pb()
    app = Application(None)
    path = tmp_path / "abci.sock"
    server = AbciServer(app, f"unix://{path}")
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    yield app, server, str(path)
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def req(pb, **kwargs):
    return pb.abci.Request(**kwargs)


@pytest.mark.parametrize("frame", [
    encode_uvarint(MAX_MESSAGE + 1),  # a length past the limit: refused before its body arrives
    encode_uvarint(4) + b"\xff\xff\xff\xff",  # a body that is no protobuf Request
    b"\xff" * 11,  # a length prefix longer than any varint
], ids=["oversized", "not-protobuf", "endless-varint"])
def test_a_malformed_frame_closes_only_its_connection(served, frame):
    """What a hostile or broken peer on the ABCI socket gets: its connection is closed without an
    answer, and the server goes on answering everyone else."""
    _, _, path = served
    pb = messages()
    hostile, honest = WireClient(path), WireClient(path)
    (before,) = honest.send([req(pb, echo=pb.abci.RequestEcho(message="before"))])
    hostile.sock.sendall(frame)
    assert hostile.sock.recv(1) == b""  # closed, nothing sent back
    (after,) = honest.send([req(pb, echo=pb.abci.RequestEcho(message="after"))])
    assert (before.echo.message, after.echo.message) == ("before", "after")
    (fresh,) = WireClient(path).send([req(pb, echo=pb.abci.RequestEcho(message="new"))])
    assert fresh.echo.message == "new"


def test_every_request_type_over_the_socket(served):
    app, server, path = served
    pb = messages()
    A = pb.abci
    client = WireClient(path)
    # Echo, split into 3-byte writes: the server reassembles frames across reads
    (echo,) = client.send([req(pb, echo=A.RequestEcho(message="hello"))], chunk=3)
    assert echo.echo.message == "hello"
    (info,) = client.send([req(pb, info=A.RequestInfo(version="0.38.19"))])
    assert info.info.last_block_height == 0 and info.info.last_block_app_hash == b""

    init = A.RequestInitChain(chain_id=CHAIN, app_state_bytes=json.dumps(genesis_json()).encode())
    init.time.seconds = 1_700_000_000
    (inited,) = client.send([req(pb, init_chain=init)])
    assert inited.WhichOneof("value") == "init_chain", inited
    assert len(inited.init_chain.app_hash) == 32
    assert [v.pub_key.ed25519 for v in inited.init_chain.validators] == [sha256(b"cons").digest()]
    # a repeated InitChain (CometBFT restarted before block 1) gets the same answer
    (again,) = client.send([req(pb, init_chain=init)])
    assert again.init_chain == inited.init_chain
    other = A.RequestInitChain(chain_id=CHAIN, app_state_bytes=json.dumps(
        {**genesis_json(), "genesis_time": 1_700_000_001.0}).encode())
    (refused,) = client.send([req(pb, init_chain=other)])
    assert refused.WhichOneof("value") == "exception"

    good = signed_transfer(account(0), 1, account(1).address, 5)
    wrong_chain = signed_transfer(account(0), 1, account(1).address, 5, chain="other")
    checks = client.send([
        req(pb, check_tx=A.RequestCheckTx(tx=good)),
        req(pb, check_tx=A.RequestCheckTx(tx=b"\x01garbage")),
        req(pb, check_tx=A.RequestCheckTx(tx=wrong_chain)),
    ])
    assert checks[0].check_tx == A.ResponseCheckTx(code=0, log="ok", gas_wanted=1)
    # the socket's answers are handle()'s (an admitted tx's is built once, the rest each time)
    for tx, answer in ((b"\x01garbage", checks[1]), (wrong_chain, checks[2])):
        assert answer == server.handle(req(pb, check_tx=A.RequestCheckTx(tx=tx)))
    assert checks[1].check_tx.code != 0 and checks[1].check_tx.codespace == "bad_encoding"
    assert checks[2].check_tx.codespace == "wrong_chain_id"
    assert app.info().last_height == 0  # check_tx changed nothing

    prepare = A.RequestPrepareProposal(max_tx_bytes=len(good) + 3, txs=[good, good + b"x"])
    process = A.RequestProcessProposal(txs=[good], height=1)
    misc = client.send([
        req(pb, prepare_proposal=prepare),
        req(pb, process_proposal=process),
        req(pb, extend_vote=A.RequestExtendVote(height=1)),
        req(pb, verify_vote_extension=A.RequestVerifyVoteExtension(height=1)),
        req(pb, list_snapshots=A.RequestListSnapshots()),
        req(pb, offer_snapshot=A.RequestOfferSnapshot()),
        req(pb, load_snapshot_chunk=A.RequestLoadSnapshotChunk()),
        req(pb, apply_snapshot_chunk=A.RequestApplySnapshotChunk()),
    ])
    assert list(misc[0].prepare_proposal.txs) == [good]  # the second did not fit
    assert misc[1].process_proposal.status == 1  # ACCEPT
    assert misc[2].extend_vote.vote_extension == b""
    assert misc[3].verify_vote_extension.status == 1  # ACCEPT
    assert list(misc[4].list_snapshots.snapshots) == []
    assert misc[5].offer_snapshot.result == 3  # REJECT: no state sync
    assert misc[7].apply_snapshot_chunk.result == 2  # ABORT

    block = A.RequestFinalizeBlock(height=1, txs=[good, b"\x02junk"], proposer_address=b"p" * 20)
    block.time.seconds = 1_700_000_003
    vote = block.decided_last_commit.votes.add(block_id_flag=2)  # COMMIT
    vote.validator.address = sha256(sha256(b"cons").digest()).digest()[:20]
    vote.validator.power = 100
    (final,) = client.send([req(pb, finalize_block=block)])
    results = final.finalize_block.tx_results
    assert [r.code for r in results][0] == 0 and results[1].code != 0
    assert any(e.type for e in results[0].events)
    app_hash = final.finalize_block.app_hash
    (commit,) = client.send([req(pb, commit=A.RequestCommit())])
    assert commit.WhichOneof("value") == "commit"
    (info,) = client.send([req(pb, info=A.RequestInfo())])
    assert info.info.last_block_height == 1 and info.info.last_block_app_hash == app_hash

    query = A.RequestQuery(path="bank/account", data=account(1).address)
    (answer,) = client.send([req(pb, query=query)])
    assert answer.query.code == 0
    assert json.loads(answer.query.value)["balance"] == 1000 * QOS + 5
    store_query = A.RequestQuery(path="store", data=answer.query.key, prove=True)
    (proved,) = client.send([req(pb, query=store_query)])
    (op,) = proved.query.proof_ops.ops
    assert verify_proof(app_hash, proved.query.key, proved.query.value, op.data)
    absent = A.RequestQuery(path="store", data=b"bank/acc/" + bytes(20), prove=True)
    (missing,) = client.send([req(pb, query=absent)])
    assert missing.query.code != 0
    absent_proof = missing.query.proof_ops.ops[0].data
    assert verify_proof(app_hash, b"bank/acc/" + bytes(20), None, absent_proof)


def test_bad_requests_get_errors_and_the_connection_survives(served):
    app, server, path = served
    pb = messages()
    A = pb.abci
    client = WireClient(path)
    bad_genesis = A.RequestInitChain(chain_id=CHAIN, app_state_bytes=b"{not json")
    (resp,) = client.send([req(pb, init_chain=bad_genesis)])
    assert resp.WhichOneof("value") == "exception" and "JSON" in resp.exception.error
    (empty,) = client.send([pb.abci.Request()])
    assert empty.WhichOneof("value") == "exception"
    (early,) = client.send([req(pb, finalize_block=A.RequestFinalizeBlock(height=1))])
    assert early.WhichOneof("value") == "exception"  # before init_chain: the app refuses
    (echo,) = client.send([req(pb, echo=A.RequestEcho(message="still here"))])
    assert echo.echo.message == "still here"
    assert app.info().last_height == 0
    # a frame claiming an absurd length closes this connection only
    client.sock.sendall(encode_uvarint(1 << 40))
    with pytest.raises((ConnectionError, OSError)):
        client.read()
    other = WireClient(path)
    (echo,) = other.send([req(pb, echo=A.RequestEcho(message="new connection"))])
    assert echo.echo.message == "new connection"


# ---- with the real CometBFT --------------------------------------------------------------------


def _rpc(url: str) -> dict:
    """A GET of CometBFT's own JSON-RPC (the node's API goes through host.chain.rest)."""
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _wait_height(node: BlockingNodeClient, height: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = node.status()
            if status["height"] >= height:
                return status
        except NodeError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{node.url} did not reach height {height}")


@pytest.mark.cometbft
def test_real_cometbft_drives_the_app_and_survives_kill_9(tmp_path):
    net, funded = one_validator_cometbft_net(tmp_path, CHAIN)
    _pb()
    val = net.validators[0]
    node = BlockingNodeClient(val.api_url, timeout=60)
    try:
        net.start()
        _wait_height(node, 2)
        receipts = []
        for nonce in range(1, 6):
            raw = signed_transfer(funded, nonce, account(1).address, 10)
            status, doc = node.submit(raw)
            assert status == 200 and doc["code"] == 0, doc
            receipts.append(doc)
        raw = signed_transfer(funded, 3, account(1).address, 1)
        status, doc = node.submit(raw, wait="check")
        assert status == 400 and doc["codespace"] == "bad_nonce"  # CheckTx via CometBFT's mempool
        # CometBFT's own view agrees with the app: app hash, tx results, queries through RPC
        info = _rpc(val.rpc_url + "/abci_info")["result"]["response"]
        height = int(info["last_block_height"])
        app_hash = base64.b64decode(info["last_block_app_hash"])
        committed = node.get(f"/blocks/{height}")[1]
        assert committed["app_hash"] == app_hash.hex()
        # the results CometBFT committed to (LastResultsHash in the next header: each result's
        # code, data and gas) are the ones qosd stored
        first = receipts[0]["height"]
        stored = [node.get(f"/txs/{h}")[1] for h in node.get(f"/blocks/{first}")[1]["txs"]]
        assert stored and all(tx["code"] == 0 for tx in stored)
        leaves = [encode_exec_tx_result(tx["code"], "", "", []) for tx in stored]
        header = _rpc(f"{val.rpc_url}/block?height={first + 1}")["result"]["block"]["header"]
        assert bytes.fromhex(header["last_results_hash"]) == merkle_root(leaves)
        # qosd is the tx index and keeps the results: CometBFT's own copies are off
        with pytest.raises(urllib.error.HTTPError) as refused:
            _rpc(f"{val.rpc_url}/tx?hash=0x{receipts[0]['hash']}")
        assert "indexing is disabled" in refused.value.read().decode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            _rpc(f"{val.rpc_url}/block_results?height={first}")
        assert "not persisting finalize block responses" in refused.value.read().decode()
        data = "0x" + account(1).address.hex()
        query = _rpc(f'{val.rpc_url}/abci_query?path="bank/account"&data={data}')
        value = json.loads(base64.b64decode(query["result"]["response"]["value"]))
        assert value["balance"] == 5 * 10  # account(1) got only the five transfers
        _wait_height(node, height + 1)
        header = _rpc(f"{val.rpc_url}/block?height={height + 1}")["result"]["block"]["header"]
        assert base64.b16decode(header["app_hash"]) == app_hash  # app hash of H in header H+1

        (validator,) = node.get("/validators")[1]["validators"]  # CometBFT's set
        key = ValidatorKey.load(val.comet_home / "config" / "priv_validator_key.json")
        assert validator["pubkey"] == key.pubkey.hex() and validator["power"] > 0

        net.kill(0)
        app = Application(val.home / "data" / "app.db")
        crashed = app.info()
        app.store.db.close()
        net.start_validator(0)
        resumed = _wait_height(node, crashed.last_height + 2)
        assert resumed["chain_id"] == CHAIN
        block = node.get(f"/blocks/{crashed.last_height}")[1]
        assert block["app_hash"] == crashed.last_app_hash.hex()
        for receipt in receipts:  # each tx is in exactly one block, where it was
            found = node.get(f"/txs/{receipt['hash']}")[1]
            assert found["height"] == receipt["height"] and found["code"] == 0
    finally:
        node.close()
        net.stop()


def test_finalize_block_request_becomes_block_info():
    pb = _pb()
    server = AbciServer(Application(None), "tcp://127.0.0.1:0")
    request = pb.abci.RequestFinalizeBlock(height=7, proposer_address=b"p" * 20, txs=[b"t"])
    request.time.seconds, request.time.nanos = 1_700_000_000, 5
    for address, flag in ((b"a" * 20, 2), (b"b" * 20, 1), (b"c" * 20, 3)):  # COMMIT ABSENT NIL
        vote = request.decided_last_commit.votes.add(block_id_flag=flag)
        vote.validator.address, vote.validator.power = address, 10
    evidence = request.misbehavior.add(type=1, height=5, total_voting_power=30)  # DUPLICATE_VOTE
    evidence.validator.address, evidence.validator.power = b"b" * 20, 10
    evidence.time.seconds = 1_699_999_990
    block = server.block_info(request)
    assert block.height == 7 and block.time == 1_700_000_000 * 10**9 + 5
    assert block.time_seconds() == 1_700_000_000.000000005
    assert [(v.address[:1], v.signed) for v in block.votes] == [(b"a", True), (b"b", False),
                                                                (b"c", True)]
    (ev,) = block.misbehavior
    assert (ev.kind, ev.address, ev.height, ev.time, ev.total_voting_power) == (
        "duplicate_vote", b"b" * 20, 5, 1_699_999_990.0, 30)


@pytest.mark.cometbft
def test_qosd_testnet_writes_a_consistent_network(tmp_path, capsys):
    from host.cli.qosd import main as qosd
    from host.devtools.testnet import Testnet, cometbft_binary, free_base_port

    if cometbft_binary() is None:
        pytest.skip("cometbft binary not installed (make setup builds it with go install)")
    base = free_base_port(3)
    root = tmp_path / "net"
    assert qosd(["testnet", "--validators", "3", "--dir", str(root), "--base-port", str(base),
                 "--no-start"]) == 0
    assert qosd(["testnet", "--validators", "3", "--dir", str(root), "--no-start"]) == 2
    net = Testnet.load(root)
    assert len(net.validators) == 3 and net.validators[2].ports.api == base + 29
    geneses = [(v.comet_home / "config" / "genesis.json").read_text() for v in net.validators]
    assert len(set(geneses)) == 1
    genesis = json.loads(geneses[0])
    assert len(genesis["validators"]) == 3 and genesis["app_state"]["chain_id"] == "qos-testnet"
    for val in net.validators:
        config = (val.comet_home / "config" / "config.toml").read_text()
        assert f'proxy_app = "tcp://127.0.0.1:{val.ports.abci}"' in config
        assert 'timeout_commit = "300ms"' in config and "pex = false" in config
        peers = next(line for line in config.splitlines() if line.startswith("persistent_peers"))
        others = [v for v in net.validators if v is not val]
        assert all(f"{o.node_id}@127.0.0.1:{o.ports.p2p}" in peers for o in others)
        assert val.node_id not in peers


def test_requests_are_counted_by_kind_with_rechecks_apart(served):
    """/metrics shows qos_abci_requests_total by kind: a recheck is told from a new CheckTx
    (each costs a round trip on every validator, and the mempool's depth sets their number)."""
    from host.chain.api.metrics import render_metrics
    from host.chain.engine.blockstore import BlockStore
    from host.chain.engine.cometbft import CometEngine

    app, server, path = served
    pb = messages()
    A = pb.abci
    recheck = pb.enum_value("tendermint.abci.CheckTxType", "RECHECK")
    client = WireClient(path)
    tx = signed_transfer(account(0), 1, account(1).address, 5)
    client.send([req(pb, echo=A.RequestEcho(message="x"))])
    client.send([req(pb, check_tx=A.RequestCheckTx(tx=tx)),
                 req(pb, check_tx=A.RequestCheckTx(tx=b"\x01garbage"))])
    client.send([req(pb, check_tx=A.RequestCheckTx(tx=tx, type=recheck))] * 3)
    assert server.requests_served == {"echo": 1, "flush": 3, "check_tx": 2, "recheck_tx": 3}

    # the same counts through a CometBFT engine's own server, as its /metrics renders them
    engine = CometEngine(Application(None), BlockStore(None), f"unix://{path}.2",
                         "http://127.0.0.1:9")
    engine.abci.handle(req(pb, check_tx=A.RequestCheckTx(tx=tx, type=recheck)))
    engine.abci.handle(req(pb, check_tx=A.RequestCheckTx(tx=tx)))
    engine.abci.handle(req(pb, check_tx=A.RequestCheckTx(tx=tx, type=recheck)))
    lines = render_metrics(engine).splitlines()
    assert 'qos_abci_requests_total{kind="recheck_tx"} 2' in lines
    assert 'qos_abci_requests_total{kind="check_tx"} 1' in lines
