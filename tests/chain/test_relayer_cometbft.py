"""QCP across engines: a chain under real CometBFT (one validator) and a solo-engine chain, each
registering the other's validator key; the relayer moves QOS from the CometBFT chain to the solo
chain and home again, acks proven both ways. Headers of the CometBFT chain are its signed headers
with the commit of its validators (RPC /commit), checked by the solo chain's client; a forged one
is refused."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from host.chain.engine.privval import ValidatorKey
from host.chain.genesis import Genesis, GenesisChain
from host.chain.node import BackgroundNode
from host.chain.relayer.relay import sign_relay_tx
from host.chain.relayer.service import Relayer
from host.chain.x.qcp.tokens import escrow_address
from host.core import cbor
from host.core.keys import Account
from host.core.tx import qcp_transfer
from tests.chain.test_api_qcp import get
from tests.chain.test_relayer import QOS, RECIPIENT, RELAYER, USER, init_home

pytestmark = pytest.mark.timeout(240)

COMET, SOLO = "qos-rc", "qos-rs"


def submit(url: str, chain: str, who: Account, msg: dict) -> dict:
    deadline = time.monotonic() + 60  # a node just started may not have run its genesis yet
    while (answer := get(f"{url}/accounts/{who.address.hex()}"))[0] != 200:
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)
    nonce = answer[1]["value"]["nonce"] + 1
    request = urllib.request.Request(f"{url}/txs?wait=commit", method="POST",
                                     data=sign_relay_tx(who, chain, nonce, [msg]))
    request.add_header("Content-Type", "application/cbor")
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def balance(url: str, address: bytes) -> int:
    status, doc = get(f"{url}/accounts/{address.hex()}")
    return doc["value"]["balance"] if status == 200 else 0


def voucher(url: str, address: bytes, denom: str) -> int:
    return get(f"{url}/accounts/{address.hex()}/assets")[1]["value"]["assets"].get(denom, 0)


def result(url: str, other: str, seq: int) -> dict | None:
    status, doc = get(f"{url}/store/{f'qcp/result/{other}/{seq}'.encode().hex()}")
    return cbor.loads(bytes.fromhex(doc["raw"])) if status == 200 else None


def register_in_comet(net, other: str, key: ValidatorKey) -> None:
    """Add `other` to the QCP chains of every CometBFT validator's genesis (before the start)."""
    for val in net.validators:
        for path in (val.comet_home / "config" / "genesis.json",
                     val.home / "config" / "genesis.json"):
            doc = json.loads(path.read_text())
            doc["app_state"]["chains"].append({"chain_id": other,
                                               "validators": [[key.pubkey.hex(), 10]]})
            path.write_text(json.dumps(doc, indent=2))


def relay_until(a_url: str, b_url: str, done, timeout: float = 90) -> None:
    async def go() -> None:
        stop = asyncio.Event()
        relayer = Relayer([a_url], [b_url], RELAYER, poll_interval=0.1, backoff_base=0.05,
                          backoff_cap=0.5)
        task = asyncio.ensure_future(relayer.run(stop))
        try:
            for _ in range(int(timeout / 0.1)):
                if await asyncio.to_thread(done):
                    return
                await asyncio.sleep(0.1)
            raise AssertionError("relaying did not finish in time")
        finally:
            stop.set()
            await task

    asyncio.run(go())


async def _build(comet_url: str, solo_url: str, seq: int):
    import aiohttp

    from host.chain.relayer.relay import Side, build_relay
    from host.chain.rest import NodeClient

    async with aiohttp.ClientSession() as session:
        comet = Side("A", [NodeClient(comet_url, session)], COMET)
        comet.rpc = (await comet.primary.status())["cometbft_rpc"]
        solo = Side("B", [NodeClient(solo_url, session)], SOLO)
        return await build_relay(comet, solo, seq)


def test_tokens_round_trip_between_a_cometbft_chain_and_a_solo_chain(tmp_path: Path):
    from host.devtools.testnet import Testnet, cometbft_binary, free_base_port

    if cometbft_binary() is None:
        pytest.skip("cometbft binary not installed (make setup builds it with go install)")
    net = Testnet.create(tmp_path / "net", 1, chain_id=COMET, base_port=free_base_port(1),
                         accounts=[(USER.address, 10**6 * QOS), (RELAYER.address, 10**6 * QOS)])
    solo_home = init_home(tmp_path, SOLO, [RELAYER.address, RECIPIENT.address])
    comet_key = ValidatorKey.load(net.validators[0].comet_home / "config"
                                  / "priv_validator_key.json")
    solo_key = ValidatorKey.load(solo_home / "config" / "priv_validator_key.json")
    register_in_comet(net, SOLO, solo_key)
    genesis = Genesis.load(solo_home / "config" / "genesis.json")
    genesis.chains.append(GenesisChain(COMET, [(comet_key.pubkey, 10)]))
    genesis.save(solo_home / "config" / "genesis.json")
    net.start()
    solo = BackgroundNode(solo_home).start()
    try:
        comet_url, solo_url = net.validators[0].api_url, solo.url
        assert get(f"{comet_url}/status")[1]["engine"] == "cometbft"
        assert get(f"{solo_url}/status")[1]["engine"] == "solo"
        sent = submit(comet_url, COMET, USER, qcp_transfer(SOLO, "QOS", RECIPIENT.address,
                                                           4 * QOS))
        assert sent.get("code") == 0, sent
        relay_until(comet_url, solo_url, lambda: result(comet_url, SOLO, 1) is not None)
        assert result(comet_url, SOLO, 1) == {"ok": True, "log": "ok"}
        assert voucher(solo_url, RECIPIENT.address, f"qcp/{COMET}/QOS") == 4 * QOS
        assert balance(comet_url, escrow_address(SOLO)) == 4 * QOS
        # home again from the solo chain: burned there, released from the escrow here
        user = balance(comet_url, USER.address)
        back = submit(solo_url, SOLO, RECIPIENT, qcp_transfer(COMET, f"qcp/{COMET}/QOS",
                                                              USER.address, QOS))
        assert back["code"] == 0, back
        relay_until(comet_url, solo_url, lambda: result(solo_url, COMET, 1) is not None)
        assert result(solo_url, COMET, 1) == {"ok": True, "log": "ok"}
        assert balance(comet_url, USER.address) == user + QOS
        assert balance(comet_url, escrow_address(SOLO)) == 3 * QOS
        assert voucher(solo_url, RECIPIENT.address, f"qcp/{COMET}/QOS") == 3 * QOS
        # The relay used a CometBFT light header; one with another app hash is refused.
        sent = submit(comet_url, COMET, USER, qcp_transfer(SOLO, "QOS", RECIPIENT.address, QOS))
        assert sent.get("code") == 0, sent
        relay = asyncio.run(_build(comet_url, solo_url, 2)).message
        header = cbor.loads(relay["header"])
        assert set(header) == {"chain", "height", "app_hash", "cometbft"}
        forged = cbor.dumps({**header, "app_hash": bytes(32)})
        refused = submit(solo_url, SOLO, RELAYER, {**relay, "header": forged})
        assert refused["codespace"] == "bad_proof", refused
        assert submit(solo_url, SOLO, RELAYER, relay)["code"] == 0
    finally:
        solo.stop()
        net.stop()
