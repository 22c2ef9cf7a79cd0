"""A live solo node with some history (transfers both ways, a QSC token, a delegation), shared
by the explorer's API and browser tests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from hashlib import sha256

import pytest

from host.chain.node import BackgroundNode
from host.core import cbor
from host.core.keys import Account, parse_address
from host.core.tx import delegate, qsc_create, qsc_issue, qsc_transfer, transfer
from tests.explorer.browser import launch

CHAIN = "qos-explorer-test"
QOS = 10_000
TOKEN = "STAR"


def account(n: int) -> Account:
    return Account.from_ed25519_seed(sha256(b"explorer account %d" % n).digest())


class LiveNode:
    def __init__(self, node: BackgroundNode) -> None:
        self.node = node
        self.url = node.url
        self.nonces: dict[bytes, int] = {}
        self.receipts: list[dict] = []

    def call(self, path: str, method: str = "GET", body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.url + path, data=body, method=method,
                                         headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def get(self, path: str) -> tuple[int, dict]:
        status, _, body = self.call(path)
        return status, json.loads(body)

    def send(self, sender: Account, msgs: list[dict]) -> dict:
        nonce = self.nonces.get(sender.address, 0) + 1
        tx = {"chain": CHAIN, "nonce": nonce, "fee": 50_000, "msgs": msgs, "memo": "explorer"}
        sig = sender.sign(cbor.dumps(["qos/tx/1", CHAIN, tx]))
        raw = cbor.dumps({"tx": tx, "pubkey": sender.pubkey, "sig": sig})
        status, _, body = self.call("/txs?wait=commit", "POST", raw,
                                    {"Content-Type": "application/cbor"})
        receipt = json.loads(body)
        assert status == 200 and receipt["code"] == 0, receipt
        self.nonces[sender.address] = nonce
        self.receipts.append(receipt)
        return receipt


@pytest.fixture(scope="module")
def browser():
    """Headless chromium for a module's page tests (tests/explorer/browser.py)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed (pip install -e '.[dev]')"
    )
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> LiveNode:
    from host.cli.qosd import main as qosd

    home = tmp_path_factory.mktemp("explorer") / "node"
    funded = [f"--account={account(i).address_string}={10**6 * QOS}" for i in range(3)]
    assert qosd(["init", "--home", str(home), "--chain-id", CHAIN, "--block-interval", "0.2",
                 "--api", "127.0.0.1:0", *funded]) == 0
    with BackgroundNode(home) as node:
        chain = LiveNode(node)
        alice, bob, carol = account(0), account(1), account(2)
        for n in range(3):
            chain.send(alice, [transfer(bob.address, (n + 1) * QOS)])
        chain.send(bob, [transfer(alice.address, QOS)])
        chain.send(carol, [qsc_create(TOKEN, carol.address, 10**9)])
        chain.send(carol, [qsc_issue(TOKEN, alice.address, 5000)])
        chain.send(alice, [qsc_transfer(TOKEN, bob.address, 1200)])
        operator = chain.get("/staking/validators")[1]["value"][0]["operator"]
        chain.send(alice, [delegate(parse_address(operator), 100 * QOS)])
        chain.send(carol, [{"type": "gov/spend", "pool": "community", "recipient": carol.address,
                          "amount": 1, "deposit": 1000 * QOS}])
        yield chain
