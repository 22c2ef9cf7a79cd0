"""The index is rebuilt from the block store: a node restarted without its index.db (or whose
index fell behind in a crash) answers the same history as before."""

from __future__ import annotations

import json
import urllib.request

from host.chain.indexer import Indexer
from host.chain.node import BackgroundNode
from host.core import cbor
from host.core.tx import transfer
from tests.explorer.conftest import CHAIN, QOS, account


def history(url: str, address: str) -> list[str]:
    with urllib.request.urlopen(f"{url}/accounts/{address}/txs?limit=100", timeout=30) as resp:
        return [t["hash"] for t in json.loads(resp.read())["items"]]


def send(url: str, nonce: int) -> None:
    tx = {"chain": CHAIN, "nonce": nonce, "fee": 50_000, "memo": "",
          "msgs": [transfer(account(1).address, QOS)]}
    raw = cbor.dumps({"tx": tx, "pubkey": account(0).pubkey,
                      "sig": account(0).sign(cbor.dumps(["qos/tx/1", CHAIN, tx]))})
    request = urllib.request.Request(f"{url}/txs?wait=commit", data=raw, method="POST",
                                     headers={"Content-Type": "application/cbor"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert json.loads(resp.read())["code"] == 0


def test_deleted_or_stale_index_is_rebuilt(tmp_path):
    from host.cli.qosd import main as qosd

    home = tmp_path / "node"
    funded = f"--account={account(0).address_string}={10**6 * QOS}"
    assert qosd(["init", "--home", str(home), "--chain-id", CHAIN, "--block-interval", "0.2",
                 "--api", "127.0.0.1:0", funded]) == 0
    bob = account(1).address_string
    with BackgroundNode(home) as node:
        for nonce in (1, 2, 3):
            send(node.url, nonce)
        before = history(node.url, bob)
    assert len(before) == 3
    (home / "data" / "index.db").unlink()
    for suffix in ("-wal", "-shm"):
        (home / "data" / f"index.db{suffix}").unlink(missing_ok=True)
    with BackgroundNode(home) as node:
        assert history(node.url, bob) == before
        indexer = node.node.indexer
        assert isinstance(indexer, Indexer)
        # an index left behind (a crash between the block store's write and the index's)
        indexer.db.execute("DELETE FROM account_txs WHERE height >= 0")
        indexer.db.execute("UPDATE meta SET value = 0")
        send(node.url, 4)
        after = history(node.url, bob)
    assert after[1:] == before and len(after) == 4
