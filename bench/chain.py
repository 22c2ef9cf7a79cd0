"""Node throughput and commit latency: the solo engine (in-process and over the REST API) and a
4-validator CometBFT network on loopback, driven by this module's own load generator.

References measured in the same run: bare ed25519 verification of the same signatures (the floor
cost of any tx), and the application alone (check_tx for each tx, then finalize_block + commit in
blocks, SQLite file), the ceiling any engine can reach with this app; each engine figure is given
as a ratio to both.

Latency is submit -> commit: for the in-process engine from check_tx acceptance to the commit of
the block holding the tx; over HTTP from just before the POST to the arrival of the tx's commit
event on the node's websocket (/ws), as a client would see it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from hashlib import sha256
from pathlib import Path

from host.core import cbor
from host.core.keys import Account

CHAIN = "qos-bench"
QOS = 10_000
SENDERS = 400
SOLO_TXS = 8_000
HTTP_TXS = 6_000
NET_TXS = 3_000
WORKERS = 32
REPO = Path(__file__).resolve().parents[1]


def senders() -> list[Account]:
    seeds = (sha256(b"chain bench %d" % i).digest() for i in range(SENDERS))
    return [Account.from_ed25519_seed(seed) for seed in seeds]


def presign(users: list[Account], total: int, chain: str = CHAIN) -> list[list[bytes]]:
    """Per sender, its txs in nonce order (round-robin over senders until `total`)."""
    per: list[list[bytes]] = [[] for _ in users]
    sink = sha256(b"sink").digest()[:20]
    for n in range(total):
        k = n % len(users)
        nonce = len(per[k]) + 1
        tx = {"chain": chain, "nonce": nonce, "fee": 1000, "memo": "",
              "msgs": [{"type": "bank/transfer", "to": sink, "amount": 1 + n % 7}]}
        sig = users[k].sign(cbor.dumps(["qos/tx/1", chain, tx]))
        per[k].append(cbor.dumps({"tx": tx, "pubkey": users[k].pubkey, "sig": sig}))
    return per


def interleave(per_sender: list[list[bytes]]) -> list[bytes]:
    out = []
    for i in range(max(len(p) for p in per_sender)):
        out.extend(p[i] for p in per_sender if i < len(p))
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _genesis(users: list[Account], validator_pubkey: bytes):
    from host.chain.genesis import Genesis, GenesisAccount, GenesisValidator

    return Genesis(
        chain_id=CHAIN,
        genesis_time=time.time() - 60,
        accounts=[GenesisAccount(u.address, 10**6 * QOS) for u in users],
        validators=[GenesisValidator(users[0].address, validator_pubkey, 10**4 * QOS)],
    )


# ---- references: bare signature checks, the application alone ----------------------------------


def verify_alone(txs: list[bytes]) -> dict:
    """ed25519 verification (PyNaCl) of the same txs' signatures: the floor cost of any tx."""
    from host.core.keys import verify
    from host.core.tx import decode_signed_tx

    parts = [decode_signed_tx(raw) for raw in txs]
    start = time.perf_counter()
    for _, pubkey, sig, sign_bytes in parts:
        verify(pubkey, sign_bytes, sig)
    return {"tps": len(parts) / (time.perf_counter() - start)}



def app_alone(users: list[Account], txs: list[bytes], block_size: int = 1000) -> dict:
    from host.chain.app import Application
    from host.chain.types import BlockInfo

    with tempfile.TemporaryDirectory() as tmp:
        app = Application(Path(tmp) / "app.db")
        app.init_chain(_genesis(users, sha256(b"v").digest()))
        start = time.perf_counter()
        for h, i in enumerate(range(0, len(txs), block_size), start=1):
            block = txs[i : i + block_size]
            for raw in block:
                assert app.check_tx(raw).code == 0
            app.finalize_block(BlockInfo(h, time.time(), bytes(20), block))
            app.commit()
        elapsed = time.perf_counter() - start
        app.store.db.close()
    return {"tps": len(txs) / elapsed}


# ---- the solo engine in-process -----------------------------------------------------------------


def solo_in_process(users: list[Account], txs: list[bytes], interval: float) -> dict:
    from host.chain.app import Application
    from host.chain.engine.blockstore import BlockStore
    from host.chain.engine.privval import ValidatorKey
    from host.chain.engine.solo import SoloEngine

    with tempfile.TemporaryDirectory() as tmp:
        key = ValidatorKey.generate()
        app = Application(Path(tmp) / "app.db")
        engine = SoloEngine(app, BlockStore(Path(tmp) / "blocks.db"), key, CHAIN,
                            block_interval=interval, max_block_txs=20_000)
        engine.init_chain(_genesis(users, key.pubkey))

        async def run() -> dict:
            await engine.start()
            start = time.perf_counter()
            for i, raw in enumerate(txs):
                result = await engine.broadcast(raw)
                assert result.code == 0, result.log
                if i % 50 == 0:
                    await asyncio.sleep(0)  # let the block loop keep its schedule
            last = txs[-1]
            done = await engine.recorder.wait_for_tx(sha256(last).digest(), 120)
            elapsed = time.perf_counter() - start
            assert done is not None and done["code"] == 0
            blocks = engine.height
            await engine.stop()
            lat = list(engine.recorder.latencies)
            return {"tps": len(txs) / elapsed, "p50": pct(lat, 0.5), "p99": pct(lat, 0.99),
                    "blocks": blocks, "committed": len(lat)}

        out = asyncio.run(run())
        app.store.db.close()
        return out


# ---- over HTTP: a load generator and a websocket listener ---------------------------------------


async def drive_http(
    api_urls: list[str], ws_url: str, per_sender: list[list[bytes]], rate: float | None = None
) -> dict:
    """WORKERS concurrent submitters (each owns a fixed set of senders, so nonces stay ordered),
    as fast as the node answers or paced to `rate` tx/s in total; commit times come from the
    websocket's tx events."""
    import aiohttp

    from host.chain.rest import NodeClient, NodeUnreachable

    submitted: dict[str, float] = {}
    committed: dict[str, float] = {}
    refused = 0
    total = sum(len(p) for p in per_sender)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        ws = await session.ws_connect(ws_url, heartbeat=30)
        all_done = asyncio.Event()

        async def listen() -> None:
            async for msg in ws:
                event = json.loads(msg.data)
                if event.get("type") == "tx" and event["hash"] in submitted:
                    committed[event["hash"]] = time.perf_counter()
                    if len(committed) >= total - refused:
                        all_done.set()

        async def worker(w: int) -> None:
            nonlocal refused
            mine = [p for k, p in enumerate(per_sender) if k % WORKERS == w]
            node = NodeClient(api_urls[w % len(api_urls)], session, timeout=120)
            gap = WORKERS / rate if rate else 0.0
            due = time.perf_counter() + gap * w / WORKERS
            for raw in interleave(mine):
                if gap:
                    due += gap
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                tx_hash = sha256(raw).hexdigest()
                submitted[tx_hash] = time.perf_counter()
                while True:
                    try:
                        status, _ = await node.submit(raw, wait="check")
                    except NodeUnreachable:  # 503, mempool full: back off, try again
                        await asyncio.sleep(0.2)
                        continue
                    if status != 202:
                        refused += 1
                        submitted.pop(tx_hash, None)
                    break

        listener = asyncio.create_task(listen())
        start = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(WORKERS)))
        submit_elapsed = time.perf_counter() - start
        try:
            await asyncio.wait_for(all_done.wait(), 120)
        except TimeoutError:
            pass
        listener.cancel()
        await ws.close()
    lat = [committed[h] - submitted[h] for h in committed]
    end = max(committed.values()) if committed else time.perf_counter()
    return {"tps": len(committed) / (end - start), "p50": pct(lat, 0.5), "p99": pct(lat, 0.99),
            "committed": len(committed), "refused": refused,
            "offered": total / submit_elapsed}


def _wait_http(url: str, path: str = "/status", timeout: float = 60) -> None:
    from host.chain.rest import BlockingNodeClient, NodeUnreachable

    deadline = time.monotonic() + timeout
    with BlockingNodeClient(url, timeout=2) as node:
        while time.monotonic() < deadline:
            try:
                if node.get(path)[0] == 200:
                    return
            except NodeUnreachable:
                pass
            time.sleep(0.2)
    raise TimeoutError(url + path)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def solo_http(users: list[Account], interval: float, rate: float | None = None) -> dict:
    from host.cli.qosd import main as qosd

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "node"
        port = _free_port()
        funded = [f"--account={u.address_string}={10**6 * QOS}" for u in users]
        with open(os.devnull, "w") as quiet:
            stdout, sys.stdout = sys.stdout, quiet
            try:
                qosd(["init", "--home", str(home), "--chain-id", CHAIN, "--block-interval",
                      str(interval), "--api", f"127.0.0.1:{port}", *funded])
            finally:
                sys.stdout = stdout
        proc = subprocess.Popen(
            [sys.executable, "-m", "host.cli.qosd", "--log-level", "WARNING", "start",
             "--home", str(home)], cwd=REPO, stdout=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_http(url)
            per_sender = presign(users, HTTP_TXS if rate is None else int(rate * 10))
            return asyncio.run(drive_http([url], f"ws://127.0.0.1:{port}/ws", per_sender, rate))
        finally:
            proc.terminate()
            proc.wait(30)


def network(users: list[Account], rate: float | None = None) -> dict | None:
    from host.devtools import testnet as localnet

    if localnet.cometbft_binary() is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        base = localnet.free_base_port()
        net = localnet.Testnet.create(Path(tmp) / "net", 4, chain_id=CHAIN, base_port=base,
                                      accounts=[(u.address, 10**6 * QOS) for u in users])
        try:
            net.start()
            _wait_http(net.validators[0].api_url, "/blocks/2")
            per_sender = presign(users, NET_TXS if rate is None else int(rate * 10))
            apis = [v.api_url for v in net.validators]
            ws = net.validators[0].api_url.replace("http", "ws") + "/ws"
            out = asyncio.run(drive_http(apis, ws, per_sender, rate))
            from host.chain.rest import BlockingNodeClient

            with BlockingNodeClient(apis[0]) as node:
                out["blocks"] = node.status()["height"]
            return out
        finally:
            net.stop()


def main() -> None:
    users = senders()
    print(f"signing {SOLO_TXS} transfers from {SENDERS} accounts ...", flush=True)
    txs = interleave(presign(users, SOLO_TXS))
    floor = verify_alone(txs)
    print(f"reference: bare ed25519 verify (PyNaCl) {floor['tps']:,.0f} /s")
    ref = app_alone(users, txs)
    print(f"reference: app alone (check_tx + finalize_block/commit, SQLite) {ref['tps']:,.0f} tx/s"
          f"  (x{ref['tps'] / floor['tps']:.2f} of bare verify)")
    rows = []
    for interval in (1.0, 0.25):
        solo = solo_in_process(users, txs, interval)
        rows.append((f"solo engine in-process, {interval:g} s blocks", solo))
    rows.append(("solo node over REST (qosd, 0.5 s blocks), saturated", solo_http(users, 0.5)))
    rows.append(("solo node over REST, offered 300 tx/s for 10 s", solo_http(users, 0.5, 300)))
    net = network(users)
    if net is not None:
        rows.append(("4 validators, CometBFT 0.38, saturated", net))
        rows.append(("4 validators, CometBFT 0.38, offered 100 tx/s", network(users, 100)))
    else:
        print("cometbft not installed: 4-validator network skipped")
    print(f"{'engine':55} {'tx/s':>8} {'vs app':>7} {'vs verify':>9} {'p50 s':>7} {'p99 s':>7}")
    for name, r in rows:
        extra = {k: round(v, 1) for k, v in r.items() if k not in ("tps", "p50", "p99")}
        print(f"{name:55} {r['tps']:8,.0f} {r['tps'] / ref['tps']:7.2f} "
              f"{r['tps'] / floor['tps']:9.2f} {r['p50']:7.3f} {r['p99']:7.3f}   {extra}")
