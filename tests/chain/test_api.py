"""The REST API on a running solo node: each route, bad input -> 4xx with a clear error, the
OpenAPI document, the websocket event stream and the Prometheus metrics."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from hashlib import sha256

import pytest

from host.chain.api.server import api_routes
from host.chain.node import Node, NodeConfig
from host.chain.store import verify_proof
from host.core import cbor
from host.core.keys import Account

CHAIN = "qos-api-test"
QOS = 10_000


def account(n: int) -> Account:
    return Account.from_ed25519_seed(sha256(b"api account %d" % n).digest())


def signed(sender: Account, nonce: int, msgs: list[dict], fee: int = 50_000) -> bytes:
    tx = {"chain": CHAIN, "nonce": nonce, "fee": fee, "msgs": msgs, "memo": "api test"}
    sig = sender.sign(cbor.dumps(["qos/tx/1", CHAIN, tx]))
    return cbor.dumps({"tx": tx, "pubkey": sender.pubkey, "sig": sig})


def transfer(to: Account, amount: int) -> dict:
    return {"type": "bank/transfer", "to": to.address, "amount": amount}


class Running:
    def __init__(self, node: Node, loop: asyncio.AbstractEventLoop) -> None:
        self.node = node
        self.loop = loop
        self.url = f"http://127.0.0.1:{node.api_port}"
        self.nonces: dict[bytes, int] = {}

    def call(self, method: str, path: str, body: bytes | None = None, ctype: str = ""):
        request = urllib.request.Request(self.url + path, data=body, method=method)
        if ctype:
            request.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status, resp.headers.get("Content-Type", ""), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read()

    def get(self, path: str) -> tuple[int, dict]:
        status, _, body = self.call("GET", path)
        return status, json.loads(body)

    def submit(self, raw: bytes, query: str = "?wait=commit") -> tuple[int, dict]:
        status, _, body = self.call("POST", "/txs" + query, raw, "application/cbor")
        return status, json.loads(body)

    def send(self, sender: Account, msgs: list[dict]) -> dict:
        nonce = self.nonces.get(sender.address, 0) + 1
        status, doc = self.submit(signed(sender, nonce, msgs))
        assert status == 200, doc
        self.nonces[sender.address] = nonce
        return doc


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    from host.cli.qosd import main as qosd

    home = tmp_path_factory.mktemp("api") / "node"
    funded = [f"--account={account(i).address_string}={10**6 * QOS}" for i in range(3)]
    assert qosd(["init", "--home", str(home), "--chain-id", CHAIN, "--block-interval", "0.2",
                 "--api", "127.0.0.1:0", *funded]) == 0
    config = NodeConfig.load(home / "config" / "node.toml")
    node = Node(home, config)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(node.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30)
    yield Running(node, loop)
    asyncio.run_coroutine_threadsafe(node.stop(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_status_and_blocks(node):
    status, doc = node.get("/status")
    assert status == 200 and doc["chain_id"] == CHAIN and doc["engine"] == "solo"
    node.send(account(0), [transfer(account(1), 1)])
    status, latest = node.get("/blocks/latest")
    assert status == 200 and latest["height"] >= 1 and len(latest["app_hash"]) == 64
    status, first = node.get("/blocks/1")
    assert status == 200 and first["header"]["height"] == 1 and first["commit"]["sigs"]
    assert node.get("/blocks/999999")[0] == 404
    for bad in ("/blocks/0", "/blocks/abc", "/blocks/-1", "/blocks/1e3"):
        status, doc = node.get(bad)
        assert status == 400 and "height" in doc["error"], bad


def test_submit_get_tx_and_account(node):
    sender, receiver = account(1), account(2)
    before = node.get(f"/accounts/{receiver.address_string}")[1]["value"]["balance"]
    receipt = node.send(sender, [transfer(receiver, 12_345)])
    assert receipt["status"] == "committed" and receipt["code"] == 0
    status, tx = node.get(f"/txs/{receipt['hash']}")
    assert status == 200 and tx["height"] == receipt["height"] and tx["code"] == 0
    assert bytes.fromhex(tx["tx"]) and sha256(bytes.fromhex(tx["tx"])).hexdigest() == tx["hash"]
    status, acc = node.get(f"/accounts/{receiver.address_string}")
    assert status == 200 and acc["value"]["balance"] == before + 12_345
    # the same account by hex address, with a proof that verifies against the app hash
    status, proved = node.get(f"/accounts/{receiver.address.hex()}?prove=true")
    assert status == 200 and proved["proof"]
    block = node.get(f"/blocks/{proved['height']}")[1]
    assert verify_proof(bytes.fromhex(block["app_hash"]), bytes.fromhex(proved["key"]),
                        bytes.fromhex(proved["raw"]), bytes.fromhex(proved["proof"]))
    # JSON submission (hex) with wait=check returns 202 before the commit
    nonce = node.nonces[sender.address] + 1
    raw = signed(sender, nonce, [transfer(receiver, 1)])
    status, _, body = node.call("POST", "/txs", json.dumps({"tx": raw.hex()}).encode(),
                                "application/json")
    assert status == 202 and json.loads(body)["status"] == "accepted"
    node.nonces[sender.address] = nonce


def test_rejected_and_malformed_txs_are_4xx_with_a_reason(node):
    sender = account(0)
    stale = signed(sender, 1, [transfer(account(1), 1)])  # nonce 1 was used already
    if sender.address not in node.nonces:
        node.send(sender, [transfer(account(1), 1)])
    status, doc = node.submit(stale)
    assert status == 400 and doc["codespace"] == "bad_nonce" and "rejected" in doc["error"]
    cases = [
        (b"", "application/cbor", "empty body"),
        (b"\xa1\x61x\x01", "application/cbor", "tx rejected"),
        (b"{}", "application/json", "JSON body"),
        (b'{"tx": "zz!"}', "application/json", "neither hex nor base64"),
    ]
    for body, ctype, reason in cases:
        status, _, out = node.call("POST", "/txs", body, ctype)
        assert status == 400 and reason in json.loads(out)["error"], (body, out)
    for query in ("?wait=forever", "?wait=commit&timeout=0", "?wait=commit&timeout=x"):
        status, doc = node.submit(signed(sender, 999, [transfer(account(1), 1)]), query)
        assert status == 400, (query, doc)
    status, _, out = node.call("POST", "/txs", b"\x00" * (2 << 20), "application/cbor")
    assert status == 413


def test_simulate_answers_a_blank_signed_tx_and_admits_nothing(node):
    """POST /txs/simulate: 200 with the verdict and the events for a tx signed with zeros; the
    same bytes POSTed to /txs are refused (bad signature); the account is untouched."""
    import base64

    sender = account(2)
    nonce = node.nonces.get(sender.address, 0) + 1
    doc = cbor.loads(signed(sender, nonce, [transfer(account(1), 7)]))
    doc["sig"] = bytes(64)
    blank = cbor.dumps(doc)
    _, before = node.get(f"/accounts/{sender.address_string}")
    status, _, out = node.call("POST", "/txs/simulate", blank, "application/cbor")
    answer = json.loads(out)
    assert status == 200 and answer["code"] == 0 and answer["fee"] > 0, answer
    assert answer["events"][0] == {"type": "transfer", "attributes": {
        "sender": sender.address_string, "recipient": account(1).address_string, "amount": "7"}}
    as_json = json.dumps({"tx": base64.b64encode(blank).decode()}).encode()
    status, _, out = node.call("POST", "/txs/simulate", as_json, "application/json")
    assert status == 200 and json.loads(out) == answer
    stale = cbor.loads(blank)
    stale["tx"]["nonce"] = nonce + 5
    status, _, out = node.call("POST", "/txs/simulate", cbor.dumps(stale), "application/cbor")
    assert status == 200 and json.loads(out)["codespace"] == "bad_nonce"
    status, refused = node.submit(blank)
    assert status == 400 and refused["codespace"] == "bad_signature"
    for body, ctype in ((b"", "application/cbor"), (b"{}", "application/json")):
        status, _, out = node.call("POST", "/txs/simulate", body, ctype)
        assert status == 400 and "error" in json.loads(out)
    assert node.get(f"/accounts/{sender.address_string}") == (200, before)


def test_a_batch_is_admitted_in_order_with_a_result_per_tx(node):
    sender, receiver = account(2), account(0)
    nonce = node.get(f"/accounts/{sender.address_string}")[1]["value"]["nonce"]
    good = [signed(sender, nonce + k, [transfer(receiver, k)]) for k in (1, 2, 3)]
    gap = signed(sender, nonce + 9, [transfer(receiver, 9)])  # a nonce that skips ahead
    batch = [good[0], good[1], b"\xa1\x61x\x01", gap, good[2], good[0]]
    body = json.dumps({"txs": [raw.hex() for raw in batch]}).encode()
    status, _, out = node.call("POST", "/txs/batch", body, "application/json")
    assert status == 200, out
    results = json.loads(out)["results"]
    assert [r["status"] for r in results] == [
        "accepted", "accepted", "rejected", "rejected", "accepted", "rejected"]
    assert [r["codespace"] for r in results[2:]] == [
        "bad_encoding", "bad_nonce", "ok", "already_exists"]
    assert [r["hash"] for r in results] == [sha256(raw).hexdigest() for raw in batch]
    # each accepted tx is acknowledged as by POST /txs: it commits (or is reported dropped)
    for raw in good:
        tx_hash = sha256(raw).hexdigest()
        assert node.get(f"/txs/{tx_hash}")[0] in (200, 202)
    settled = [asyncio.run_coroutine_threadsafe(
        node.node.engine.recorder.wait_for_tx(sha256(raw).digest(), 30), node.loop).result(40)
        for raw in good]
    assert [s["status"] for s in settled] == ["committed"] * 3
    assert all(s["code"] == 0 for s in settled)
    assert node.get(f"/txs/{sha256(gap).hexdigest()}")[0] == 404
    node.nonces[sender.address] = nonce + 3


def test_a_malformed_batch_is_400_and_admits_nothing(node):
    sender = account(2)
    nonce = node.get(f"/accounts/{sender.address_string}")[1]["value"]["nonce"]
    raw = signed(sender, nonce + 1, [transfer(account(0), 1)])
    accepted = node.node.engine.recorder.counters["txs_accepted"]
    cases = [
        (b"", "JSON"),
        (b"[1, 2]", "JSON"),
        (json.dumps({"txs": raw.hex()}).encode(), "JSON"),
        (json.dumps({"txs": []}).encode(), "1 to 1000"),
        (json.dumps({"txs": [raw.hex()] * 1001}).encode(), "1 to 1000"),
        (json.dumps({"txs": [raw.hex(), "zz!"]}).encode(), "txs[1]: neither hex nor base64"),
        (json.dumps({"txs": [raw.hex(), ""]}).encode(), "empty"),
    ]
    for body, reason in cases:
        status, _, out = node.call("POST", "/txs/batch", body, "application/json")
        assert status == 400 and reason in json.loads(out)["error"], (body[:40], out)
    assert node.node.engine.recorder.counters["txs_accepted"] == accepted
    assert node.get(f"/txs/{sha256(raw).hexdigest()}")[0] == 404


def test_bad_parameters_are_400_and_absent_things_404(node):
    for path, needle in (
        ("/accounts/qosacc1notanaddress", "address"),
        ("/accounts/xyz", "address"),
        ("/accounts/" + "g" * 40, "address"),
        ("/txs/abcd", "32 bytes"),
        ("/txs/" + "zz" * 32, "hex"),
        ("/qsc/lower", "A-Z"),
        ("/qsc/TOOLONGNAME", "A-Z"),
        ("/qcp/UPPER/seq", "chain"),
        ("/qcp/other/out/0", "seq"),
        ("/store/xyz", "hex"),
        (f"/accounts/{account(1).address_string}?height=-3", "height"),
        (f"/accounts/{account(1).address_string}?prove=maybe", "prove"),
    ):
        status, doc = node.get(path)
        assert status == 400 and needle in doc["error"], (path, doc)
    assert node.get("/txs/" + "00" * 32)[0] == 404
    status, doc = node.get(f"/accounts/{account(55).address_string}")
    assert status == 404 and doc["codespace"] == "not_found"
    assert node.get("/no/such/route")[0] == 404


def test_store_proofs_inclusion_and_exclusion(node):
    status, acc = node.get(f"/accounts/{account(0).address_string}")
    key = acc["key"]
    status, found = node.get(f"/store/{key}?prove=1")
    assert status == 200 and found["raw"]
    absent_key = (b"bank/acc/" + bytes(20)).hex()
    status, missing = node.get(f"/store/{absent_key}?prove=1")
    assert status == 404 and missing["proof"] and missing["raw"] is None
    block = node.get(f"/blocks/{missing['height']}")[1]
    assert verify_proof(bytes.fromhex(block["app_hash"]), bytes.fromhex(absent_key), None,
                        bytes.fromhex(missing["proof"]))


def test_module_routes(node):
    status, vals = node.get("/validators")
    assert status == 200 and len(vals["validators"]) == 1 and vals["validators"][0]["power"] > 0
    status, staking = node.get("/staking/validators")
    assert status == 200 and staking["value"]
    operator = staking["value"][0]["operator"]
    assert node.get(f"/staking/validators/{operator}")[0] == 200
    status, mint = node.get("/mint/schedule")
    assert status == 200 and mint["value"]
    status, supply = node.get("/supply")
    assert status == 200 and supply["value"]["supply"] > 0
    status, pools = node.get("/distribution/pools")
    assert status == 200 and isinstance(pools["value"], dict)


def _needs_query(node: Running, path: str) -> None:
    result = node.node.app.query(path, b"")
    if result.codespace == "unknown_query":
        pytest.skip(f"the application does not answer {path!r} yet")


def test_qsc_routes(node):
    _needs_query(node, "qsc/token")
    owner, holder = account(0), account(2)
    node.send(owner, [{"type": "qsc/create", "name": "APIT", "banker": owner.address,
                       "supply_cap": 10**9}])
    node.send(owner, [{"type": "qsc/issue", "name": "APIT", "to": holder.address,
                       "amount": 5000}])
    node.send(holder, [{"type": "qsc/approve", "name": "APIT", "spender": owner.address,
                        "amount": 700}])
    status, token = node.get("/qsc/APIT")
    assert status == 200, token
    status, balance = node.get(f"/qsc/APIT/balances/{holder.address_string}?prove=true")
    assert status == 200 and balance["proof"], balance
    status, allowance = node.get(
        f"/qsc/APIT/allowances/{holder.address_string}/{owner.address_string}"
    )
    assert status == 200, allowance
    assert node.get("/qsc/NOPE")[0] == 404


def test_qcp_and_identity_routes(node):
    _needs_query(node, "qcp/seq")
    status, seq = node.get("/qcp/other-chain/seq")
    assert status in (200, 404), seq
    status, out = node.get("/qcp/other-chain/out/1?prove=true")
    assert status == 404 and out["error"]
    _needs_query(node, "identity/get")
    status, ident = node.get(f"/identity/{account(9).address_string}")
    assert status == 404, ident


def test_openapi_document_covers_every_route(node):
    status, ctype, body = node.call("GET", "/openapi.json")
    assert status == 200 and ctype.startswith("application/json")
    spec = json.loads(body)
    assert spec["openapi"].startswith("3.")
    for route in api_routes(node.node.app):
        operation = spec["paths"][route.path][route.method.lower()]
        assert operation["summary"] and operation["responses"]
        in_path = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert in_path == {seg[1:-1] for seg in route.path.split("/") if seg.startswith("{")}
    # every route the server answers is in the document
    app_routes = {
        (r.method, r.resource.canonical)
        for r in node.node._runner.app.router.routes()
        if r.method != "HEAD"
    }
    spec_routes = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert app_routes == spec_routes


def test_metrics_are_prometheus_text(node):
    node.send(account(0), [transfer(account(1), 2)])
    status, ctype, body = node.call("GET", "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    text = body.decode()
    values = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert line.split()[1] in ("HELP", "TYPE")
            continue
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
    assert values["qos_height"] >= 1
    assert values["qos_txs_committed_total"] >= 1
    assert values["qos_commit_latency_seconds_count"] >= 1
    assert values['qos_commit_latency_seconds{quantile="0.99"}'] > 0


def test_websocket_streams_blocks_and_txs(node):
    import aiohttp

    async def listen():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(node.url + "/ws") as ws:
                loop = asyncio.get_running_loop()
                sent = loop.run_in_executor(None, node.send, account(2), [transfer(account(0), 3)])
                seen_tx = seen_block = None
                while seen_tx is None or seen_block is None:
                    msg = await asyncio.wait_for(ws.receive(), 20)
                    event = json.loads(msg.data)
                    if event["type"] == "tx":
                        seen_tx = event
                    elif event["type"] == "new_block" and seen_tx is not None:
                        seen_block = event
                receipt = await sent
                return seen_tx, seen_block, receipt

    tx, block, receipt = asyncio.run(listen())
    assert tx["hash"] == receipt["hash"] and tx["code"] == 0
    assert any(e["type"] for e in tx["events"])
    assert block["height"] == tx["height"] and block["num_txs"] >= 1


# ---- the `qos tx|query|keys` client against the same node -----------------------------------


def qos(*argv: str) -> int:
    from host.cli.qos import main

    return main(list(argv))


def test_client_keys_tx_and_query(node, tmp_path, capsys):
    from host.devtools.keyfile import save_key

    sender_file = tmp_path / "sender.json"
    save_key(sender_file, account(3))  # not funded yet
    words = "abandon " * 11 + "about"
    (tmp_path / "words").write_text(words)
    new_file = tmp_path / "new.json"
    assert qos("keys", "add", str(new_file), "--mnemonic-file", str(tmp_path / "words")) == 0
    assert qos("keys", "add", str(new_file)) == 2  # never overwrites a key
    capsys.readouterr()
    assert qos("keys", "show", str(new_file), "--json") == 0
    new_address = json.loads(capsys.readouterr().out)["address"]
    from host.core.keys import Account as Acc

    assert new_address == Acc.from_mnemonic(words.strip()).address_string

    node.send(account(0), [transfer(account(3), 5 * QOS)])
    assert qos("tx", "transfer", "--key", str(sender_file), "--node", node.url,
               new_address, "1.25qos", "--json") == 0
    receipt = json.loads(capsys.readouterr().out)
    assert receipt["status"] == "committed" and receipt["code"] == 0
    assert qos("query", "--node", node.url, "account", new_address, "--json") == 0
    assert json.loads(capsys.readouterr().out)["value"]["balance"] == 12_500
    assert qos("query", "--node", node.url, "tx", receipt["hash"], "--json") == 0
    assert json.loads(capsys.readouterr().out)["height"] == receipt["height"]
    # a generic message as JSON; addresses in bech32
    msg = json.dumps({"type": "bank/transfer", "to": new_address, "amount": 5})
    assert qos("tx", "msg", "--key", str(sender_file), "--node", node.url, msg) == 0
    capsys.readouterr()
    # more than the balance: refused before it is signed (the node would charge the fee), exit 2
    assert qos("tx", "transfer", "--key", str(sender_file), "--node", node.url,
               new_address, "1000qos") == 2
    assert "nothing was signed or sent" in capsys.readouterr().err
    for bad in ("12.34567qos", "-5", "lots"):
        assert qos("tx", "transfer", "--key", str(sender_file), "--node", node.url,
                   new_address, bad) == 2
    assert qos("tx", "msg", "--key", str(sender_file), "--node", node.url, '{"type":"x"}') == 2
    key = node.get(f"/accounts/{new_address}")[1]["key"]
    capsys.readouterr()
    assert qos("query", "--node", node.url, "store", key) == 0
    assert json.loads(capsys.readouterr().out)["verified"] is True
    for what in ("status", "validators", "mint"):
        assert qos("query", "--node", node.url, what) == 0
    assert qos("query", "--node", "http://127.0.0.1:9", "status") == 1


def _count_tx_work(monkeypatch) -> dict[str, int]:
    """Counts, on this thread only (the node answers on its own), schema checks of a whole tx,
    encodings of a tx (alone, in sign bytes or signed) and strict tx decodes."""
    from host.core import cbor as cbor_module
    from host.core import tx as txlib

    here = threading.get_ident()
    calls = {"check": 0, "encode": 0, "decode": 0}
    real_check, real_dumps, real_decode = txlib.check_tx, cbor_module.dumps, txlib.decode_tx
    tx_keys, signed_keys = set(txlib._TX_KEYS), {"tx", "pubkey", "sig"}

    def tx_shaped(obj) -> bool:
        if isinstance(obj, dict):
            return set(obj) in (tx_keys, signed_keys)
        return isinstance(obj, list) and len(obj) == 3 and obj[0] == txlib.TX_DOMAIN

    def counted(name, real, only=lambda *a: True):
        def call(*args, **kwargs):
            if threading.get_ident() == here and only(*args):
                calls[name] += 1
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(txlib, "check_tx", counted("check", real_check))
    monkeypatch.setattr(txlib, "decode_tx", counted("decode", real_decode))
    monkeypatch.setattr(cbor_module, "dumps", counted("encode", real_dumps, tx_shaped))
    return calls


def test_the_tx_path_checks_and_encodes_a_tx_once(node, tmp_path, monkeypatch, capsys):
    """`qos tx` builds, signs (key file or device) and POSTs: one schema check, one encoding."""
    from host.core import tx as txlib
    from host.core.keys import Account as Acc
    from host.devtools.keyfile import save_key
    from tests.bridge.peer import MNEMONIC, PeerDevice

    holder = Acc.from_mnemonic(MNEMONIC)
    node.send(account(0), [transfer(account(4), 5 * QOS), transfer(holder, 5 * QOS)])
    key_file = tmp_path / "key.json"
    save_key(key_file, account(4))

    asked: list[str] = []

    def device(method, params):
        asked.append(method)
        if method == "get_public_key":
            return {"pubkey": holder.pubkey, "bech32": holder.pubkey_string}
        sign_bytes = txlib.sign_bytes(txlib.decode_tx(params["tx"]))  # the device's own work
        return {"pubkey": holder.pubkey, "sig": holder.sign(sign_bytes)}

    peer = PeerDevice(device)
    try:
        for signer in (["--key", str(key_file)], ["--device", peer.path]):
            calls = _count_tx_work(monkeypatch)
            assert qos("tx", "transfer", *signer, "--node", node.url, account(5).address_string,
                       "1", "--fee", "1000", "--json") == 0
            assert json.loads(capsys.readouterr().out)["code"] == 0
            assert calls == {"check": 1, "encode": 1, "decode": 0}, signer
            monkeypatch.undo()
            # the default fee sizes the tx once more (GET /fees/estimate prices its bytes)
            calls = _count_tx_work(monkeypatch)
            assert qos("tx", "transfer", *signer, "--node", node.url, account(5).address_string,
                       "1", "--json") == 0
            assert json.loads(capsys.readouterr().out)["code"] == 0
            assert calls == {"check": 2, "encode": 2, "decode": 0}, signer
            monkeypatch.undo()
        # a tx whose message the block would fail (no proposal 99) is refused before the
        # device is asked to sign it: the user never confirms a fee paid for nothing
        asked.clear()
        assert qos("tx", "msg", "--device", peer.path, "--node", node.url,
                   '{"type":"gov/vote","proposal":99,"option":"yes"}') == 2
        refused = capsys.readouterr().err
        assert "no proposal 99" in refused and "nothing was signed or sent" in refused
        assert set(asked) == {"get_public_key"}, asked
    finally:
        peer.close()


def test_signed_block_is_the_solo_engines_header_and_commit(node):
    from host.chain.engine.solo import verify_commit
    from host.chain.types import ValidatorUpdate

    node.send(account(0), [transfer(account(1), 1)])
    height = node.get("/status")[1]["height"]
    status, doc = node.get(f"/blocks/{height}/signed")
    assert status == 200, doc
    header_bytes = bytes.fromhex(doc["header"])
    header = cbor.loads(header_bytes)
    assert header["height"] == height and header["chain"] == CHAIN
    assert header["app_hash"].hex() == node.get(f"/blocks/{height - 1}")[1]["app_hash"]
    key = node.node.validator_key
    (pubkey, sig), = doc["sigs"]
    assert pubkey == key.pubkey.hex()
    commit = {"height": height, "hash": bytes.fromhex(doc["hash"]),
              "sigs": [{"address": key.address, "pubkey": key.pubkey, "sig": bytes.fromhex(sig)}]}
    validators = [ValidatorUpdate(bytes.fromhex(v["pubkey"]), v["power"])
                  for v in node.get("/validators")[1]["validators"]]
    assert verify_commit(CHAIN, header_bytes, commit, validators)
    commit["hash"] = sha256(b"another block").digest()
    assert not verify_commit(CHAIN, header_bytes, commit, validators)
    assert node.get("/blocks/0/signed")[0] == 400
    assert node.get(f"/blocks/{height + 1000}/signed")[0] == 404


def test_a_websocket_client_that_cannot_keep_up_is_cut_off(monkeypatch):
    from host.chain.engine import recorder as recorder_module
    from host.chain.engine.blockstore import BlockStore

    monkeypatch.setattr(recorder_module, "SUBSCRIBER_QUEUE", 3)

    async def flow():
        recorder = recorder_module.Recorder(BlockStore(None))
        slow, fast = recorder.subscribe(), recorder.subscribe()
        for n in range(3):
            recorder.publish({"n": n})
            await fast.get()
        assert recorder.is_subscribed(slow)
        recorder.publish({"n": 3})  # the slow queue is full: it is dropped, the chain goes on
        assert not recorder.is_subscribed(slow) and recorder.is_subscribed(fast)
        assert (await fast.get())["n"] == 3

    asyncio.run(flow())


def test_rest_client_answers_errors_and_raises_for_what_is_not_an_answer(node):
    from host.chain.rest import BadAnswer, BlockingNodeClient, NodeClient, NodeUnreachable

    with BlockingNodeClient(node.url) as client:
        assert client.chain_id() == CHAIN
        status, doc = client.get("/blocks/0")  # an error status is an answer
        assert status == 400 and "height" in doc["error"]
        assert client.next_nonce(account(2).address) >= 1
        assert client.next_nonce(bytes(20)) == 1  # an account the chain has not seen
        with pytest.raises(BadAnswer, match="HTTP 404"):
            client.call(lambda c: c._ok("/no/such/route"))
    with BlockingNodeClient("http://127.0.0.1:9") as nobody, pytest.raises(NodeUnreachable):
        nobody.status()

    async def shared_session() -> list[str]:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            clients = [NodeClient(node.url, session) for _ in range(3)]
            return await asyncio.gather(*(c.chain_id() for c in clients))

    assert asyncio.run(shared_session()) == [CHAIN] * 3
