"""The market and identity over a running node's REST API: txs in through POST /txs, state out
through the modules' routes (with a Merkle proof where one key answers)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from host.chain.node import BackgroundNode
from host.chain.store import verify_proof
from host.core import cbor
from tests.chain.helpers import CHAIN, QOS, account
from tests.chain.test_api_qcp import get

OWNER, USER = account(0), account(1)


def send(url: str, who, nonce: int, msg: dict) -> None:
    tx = {"chain": CHAIN, "nonce": nonce, "fee": 50_000, "memo": "", "msgs": [msg]}
    raw = cbor.dumps({"tx": tx, "pubkey": who.pubkey,
                      "sig": who.sign(cbor.dumps(["qos/tx/1", CHAIN, tx]))})
    request = urllib.request.Request(f"{url}/txs?wait=commit", data=raw, method="POST",
                                     headers={"Content-Type": "application/cbor"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        doc = json.loads(resp.read())
    assert doc["code"] == 0, (msg["type"], doc)


def test_market_and_identity_routes(tmp_path):
    from host.cli.qosd import main as qosd

    home = tmp_path / "node"
    funded = [f"--account={who.address_string}={10**5 * QOS}" for who in (OWNER, USER)]
    assert qosd(["init", "--home", str(home), "--chain-id", CHAIN, "--block-interval", "0.2",
                 "--api", "127.0.0.1:0", *funded]) == 0
    owner, user = OWNER.address_string, USER.address_string
    with BackgroundNode(home) as node:
        steps = [
            (OWNER, {"type": "qsc/create", "name": "STAR", "banker": OWNER.address,
                     "supply_cap": 10**12}),
            (OWNER, {"type": "qsc/issue", "name": "STAR", "to": OWNER.address, "amount": 10**8}),
            (OWNER, {"type": "exchange/add_liquidity", "name": "STAR", "qos": 10**8,
                     "max_qsc": 10**7, "min_shares": 0}),
            (OWNER, {"type": "identity/register", "profile_hash": bytes(32)}),
            (USER, {"type": "identity/register", "profile_hash": bytes([1]) * 32}),
            (OWNER, {"type": "identity/attest", "subject": USER.address, "token": "STAR",
                     "claim_hash": bytes([2]) * 32}),
        ]
        nonces = {OWNER.address: 0, USER.address: 0}
        for who, msg in steps:
            nonces[who.address] += 1
            send(node.url, who, nonces[who.address], msg)
        status, pool = get(f"{node.url}/exchange/pools/STAR")
        assert status == 200 and (pool["value"]["qos"], pool["value"]["qsc"]) == (10**8, 10**7)
        status, pools = get(f"{node.url}/exchange/pools")
        assert status == 200 and [p["name"] for p in pools["value"]] == ["STAR"]
        status, shares = get(f"{node.url}/exchange/pools/STAR/shares/{owner}")
        assert status == 200 and shares["value"]["shares"] > 0
        status, listed = get(f"{node.url}/identity/{user}/attestations")
        assert status == 200 and listed["value"][0]["issuer"] == owner
        assert listed["value"][0]["counts"] is True
        status, one = get(f"{node.url}/identity/{user}/attestations/STAR?prove=true")
        assert status == 200, one
        block = get(f"{node.url}/blocks/{one['height']}")[1]
        assert verify_proof(bytes.fromhex(block["app_hash"]), bytes.fromhex(one["key"]),
                            bytes.fromhex(one["raw"]), bytes.fromhex(one["proof"]))
        assert get(f"{node.url}/exchange/pools/MOON")[0] == 404
        assert get(f"{node.url}/identity/{user}/attestations/star")[0] == 400
