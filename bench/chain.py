"""Node throughput and commit latency: the solo engine (in-process and over the REST API) and a
4-validator CometBFT network on loopback, driven by this module's own load generator.

References measured in the same run: bare ed25519 verification of the same signatures (the floor
cost of any tx), and the application alone (check_tx for each tx, then finalize_block + commit in
blocks, SQLite file), the ceiling any engine can reach with this app; each engine figure is given
as a ratio to both.

The 4-validator CometBFT network has its own reference in the same run: the same topology and
CometBFT settings running CometBFT's built-in kvstore app, driven by the same load generator
(32 clients to the validators' broadcast_tx_sync); each QOS network row is a ratio to it, with
the CPU each kind of process spent per tx (the profile behind the ratio).

Latency is submit -> commit: for the in-process engine from check_tx acceptance to the commit of
the block holding the tx; for the solo node over HTTP from just before the POST to the arrival
of the tx's commit event on the node's websocket (/ws), as a client would see it; for the
4-validator networks (QOS and kvstore alike) to the NewBlock event of validator 0's CometBFT.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

from host.core import cbor
from host.core.keys import Account

CHAIN = "qos-bench"
QOS = 10_000
SENDERS = 400
SOLO_TXS = 8_000
HTTP_TXS = 6_000
NET_TXS = 12_000
KV_TXS = 20_000
BATCHES = (100, 300)  # txs per POST /txs/batch in the batch rows
WORKERS = 32
# The saturated 4-validator rows alternate with the kvstore reference this many times: on the
# shared 2-core machine one pair's ratio ranged 0.38-0.61 over eight runs of the same code
# (docs/benchmarks.md)
ROUNDS = 3
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


def recheck_cost(users: list[Account], txs: list[bytes], repeats: int = 5) -> dict:
    """CPU time per tx (us) of a new check_tx (the reference), and of the recheck CometBFT sends
    for every tx still in the mempool after each block: in-process, and through the ABCI
    server's request handling (protobuf, framing; CometBFT pipelines them, 100 per read here).
    The best of `repeats` recheck passes, each after an empty block."""
    from host.chain.app import Application
    from host.chain.engine.abci_proto import encode_uvarint
    from host.chain.engine.abci_server import AbciServer
    from host.chain.types import BlockInfo

    class Discard:
        def write(self, data: bytes) -> None:
            pass

    app = Application(None)
    app.init_chain(_genesis(users, sha256(b"v").digest()))
    server = AbciServer(app, "unix:///nonexistent")
    pb = server.pb
    recheck = pb.enum_value("tendermint.abci.CheckTxType", "RECHECK")
    reads = []
    for i in range(0, len(txs), 100):
        frames = bytearray()
        for raw in txs[i : i + 100]:
            body = pb.abci.Request(check_tx=pb.abci.RequestCheckTx(tx=raw, type=recheck))
            encoded = body.SerializeToString()
            frames += encode_uvarint(len(encoded)) + encoded
        reads.append(bytes(frames))
    height = 0

    def empty_block() -> None:
        nonlocal height
        height += 1
        app.finalize_block(BlockInfo(height, time.time(), bytes(20), []))
        app.commit()

    def per_tx(run: Callable[[], None]) -> float:
        start = time.process_time()
        run()
        return (time.process_time() - start) / len(txs) * 1e6

    def admit_all() -> None:
        for raw in txs:
            assert app.check_tx(raw).code == 0

    new = per_tx(admit_all)
    direct = abci = float("inf")
    for _ in range(repeats):
        empty_block()
        direct = min(direct, per_tx(lambda: [app.check_tx(raw, recheck=True) for raw in txs]))
        empty_block()
        abci = min(abci, per_tx(lambda: [server._handle_buffer(bytearray(r), Discard())
                                         for r in reads]))
    return {"new": new, "recheck": direct, "recheck via ABCI": abci}


def print_recheck_cost(users: list[Account], txs: list[bytes]) -> None:
    cost = recheck_cost(users, txs)
    new, direct, abci = cost["new"], cost["recheck"], cost["recheck via ABCI"]
    print(f"CPU per tx: new check_tx {new:.1f} us (reference); recheck {direct:.1f} us "
          f"({direct / new:.3f}), through the ABCI server {abci:.1f} us ({abci / new:.3f})")


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


# ---- over HTTP: a load generator and a commit listener -----------------------------------------

# One client's submission of a batch of txs (a batch of one: a single request): per tx, True when
# acknowledged, False when refused, None when the node cannot take it now (retried shortly).
Submit = Callable[[Any, int, list[bytes]], Awaitable[list[bool | None]]]
# Commits as a client sees them: calls back with each committed tx's hash (hex) as it arrives.
Listen = Callable[[Any, Callable[[str], None]], Awaitable[None]]


async def drive(
    queues: list[list[bytes]], submit: Submit, listen: Listen, rate: float | None = None,
    batch: int = 1,
) -> dict:
    """len(queues) concurrent clients, each submitting its own txs in order, `batch` per request,
    as fast as the node answers or paced to `rate` tx/s in total; commit times come from
    `listen`. Latency is from just before a tx's request to its commit arriving."""
    import aiohttp

    submitted: dict[str, float] = {}
    committed: dict[str, float] = {}
    refused = 0
    total = sum(len(q) for q in queues)
    all_done = asyncio.Event()

    def on_commit(tx_hash: str) -> None:
        if tx_hash in submitted and tx_hash not in committed:
            committed[tx_hash] = time.perf_counter()
            if len(committed) >= total - refused:
                all_done.set()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def client(w: int) -> None:
            nonlocal refused
            gap = batch * len(queues) / rate if rate else 0.0
            due = time.perf_counter() + gap * w / len(queues)
            mine = queues[w]
            for i in range(0, len(mine), batch):
                if gap:
                    due += gap
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                todo = mine[i : i + batch]
                deadline = time.perf_counter() + 60
                while todo:
                    if time.perf_counter() > deadline:
                        raise TimeoutError(f"client {w}: the node would not take txs for 60 s")
                    now = time.perf_counter()
                    for raw in todo:
                        submitted.setdefault(sha256(raw).hexdigest(), now)
                    answers = await submit(session, w, todo)
                    for raw, ok in zip(todo, answers, strict=True):
                        if ok is False:
                            refused += 1
                            submitted.pop(sha256(raw).hexdigest(), None)
                    todo = [raw for raw, ok in zip(todo, answers, strict=True) if ok is None]
                    if todo:  # mempool full or node busy: back off, send the rest again
                        await asyncio.sleep(0.2)

        listener = asyncio.create_task(listen(session, on_commit))
        await asyncio.sleep(0.5)  # subscribed before the first tx
        start = time.perf_counter()
        await asyncio.gather(*(client(w) for w in range(len(queues))))
        submit_elapsed = time.perf_counter() - start
        if len(committed) >= total - refused:
            all_done.set()
        try:
            await asyncio.wait_for(all_done.wait(), 120)
        except TimeoutError:
            pass
        listener.cancel()
    lat = [committed[h] - submitted[h] for h in committed]
    end = max(committed.values()) if committed else time.perf_counter()
    return {"tps": len(committed) / (end - start), "p50": pct(lat, 0.5), "p99": pct(lat, 0.99),
            "committed": len(committed), "refused": refused,
            "offered": total / submit_elapsed}


def by_client(per_sender: list[list[bytes]]) -> list[list[bytes]]:
    """WORKERS clients, each owning a fixed set of senders (so each sender's nonces stay in
    order), its txs interleaved over them."""
    return [interleave([p for k, p in enumerate(per_sender) if k % WORKERS == w])
            for w in range(WORKERS)]


def qos_submit(api_urls: list[str], batch: int) -> Submit:
    """POST /txs (one tx a request) or POST /txs/batch to the validators' REST APIs, client w
    to validator w mod n."""
    from host.chain.rest import NodeClient, NodeUnreachable

    async def submit(session: Any, w: int, txs: list[bytes]) -> list[bool | None]:
        node = NodeClient(api_urls[w % len(api_urls)], session, timeout=120)
        try:
            if batch == 1:
                status, _ = await node.submit(txs[0], wait="check")
                return [status == 202]
            results = await node.submit_batch(txs)
        except NodeUnreachable:  # 503: mempool full or engine away
            return [None] * len(txs)
        return [None if r["status"] == "unavailable" else r["status"] == "accepted"
                for r in results]

    return submit


def qos_listen(ws_url: str) -> Listen:
    """The node's websocket (/ws): a `tx` event per committed tx."""

    async def listen(session: Any, on_commit: Callable[[str], None]) -> None:
        async with session.ws_connect(ws_url, heartbeat=30) as ws:
            async for msg in ws:
                event = json.loads(msg.data)
                if event.get("type") == "tx":
                    on_commit(event["hash"])

    return listen


def comet_submit(rpc_urls: list[str]) -> Submit:
    """CometBFT's JSON-RPC `broadcast_tx_sync`, one tx a request, client w to validator w mod n."""
    import base64

    async def submit(session: Any, w: int, txs: list[bytes]) -> list[bool | None]:
        body = {"jsonrpc": "2.0", "id": 1, "method": "broadcast_tx_sync",
                "params": {"tx": base64.b64encode(txs[0]).decode()}}
        async with session.post(rpc_urls[w % len(rpc_urls)], json=body) as resp:
            doc = await resp.json(content_type=None)
        if "error" in doc:
            return [None if "mempool is full" in str(doc["error"]) else False]
        return [int(doc["result"]["code"]) == 0]

    return submit


def comet_listen(rpc_url: str) -> Listen:
    """CometBFT's websocket: a NewBlock event per block, carrying its txs."""
    import base64

    async def listen(session: Any, on_commit: Callable[[str], None]) -> None:
        ws_url = rpc_url.replace("http", "ws") + "/websocket"
        async with session.ws_connect(ws_url, heartbeat=30, max_msg_size=0) as ws:
            await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "subscribe",
                                "params": {"query": "tm.event='NewBlock'"}})
            async for msg in ws:
                data = json.loads(msg.data).get("result", {}).get("data", {})
                for tx in data.get("value", {}).get("block", {}).get("data", {}).get("txs") or []:
                    on_commit(sha256(base64.b64decode(tx)).hexdigest())

    return listen


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
            return asyncio.run(drive(by_client(per_sender), qos_submit([url], 1),
                                     qos_listen(f"ws://127.0.0.1:{port}/ws"), rate))
        finally:
            proc.terminate()
            proc.wait(30)


def network(users: list[Account], rate: float | None = None, batch: int = 1) -> dict | None:
    """The QOS 4-validator network (`qosd testnet` settings), WORKERS clients to the validators'
    REST APIs, `batch` txs per request."""
    from host.chain.rest import BlockingNodeClient
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
            commits = comet_listen(net.validators[0].rpc_url)  # observed as for the reference
            before = abci_requests(apis)
            out = profiled(net, lambda: asyncio.run(drive(
                by_client(per_sender), qos_submit(apis, batch), commits, rate, batch)))
            after = abci_requests(apis)
            for kind in ("check_tx", "recheck_tx"):
                out[f"{kind}/tx"] = (after[kind] - before[kind]) / max(1, out["committed"])
            with BlockingNodeClient(apis[0]) as node:
                out["blocks"] = node.status()["height"]
            return out
        finally:
            net.stop()


def abci_requests(api_urls: list[str]) -> Counter[str]:
    """ABCI requests served by kind, summed over the validators (their /metrics)."""
    counts: Counter[str] = Counter()
    for url in api_urls:
        with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
            text = resp.read().decode()
        for kind, count in re.findall(r'^qos_abci_requests_total\{kind="(\w+)"\} (\d+)$', text,
                                      re.MULTILINE):
            counts[kind] += int(count)
    return counts


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def profiled(net: Any, run: Callable[[], dict]) -> dict:
    """run(), with the CPU time each kind of process spent during it, in ms per committed tx:
    the qosd processes (app), the cometbft processes, and this load generator."""
    procs = {"app": [v.app for v in net.validators if v.app is not None],
             "cometbft": [v.comet for v in net.validators if v.comet is not None]}
    before = {k: sum(cpu_seconds(p.pid) for p in ps) for k, ps in procs.items()}
    own = time.process_time()
    out = run()
    per_tx = 1000 / max(1, out["committed"])
    for kind, ps in procs.items():
        if ps:
            out[f"{kind} ms/tx"] = (sum(cpu_seconds(p.pid) for p in ps) - before[kind]) * per_tx
    out["loadgen ms/tx"] = (time.process_time() - own) * per_tx
    return out


def kvstore_network(rate: float | None = None) -> dict | None:
    """The reference: the same 4-validator topology and CometBFT settings with CometBFT's
    built-in kvstore app, WORKERS clients to the validators' RPC `broadcast_tx_sync`."""
    from host.devtools import testnet as localnet

    if localnet.cometbft_binary() is None:
        return None
    count = KV_TXS if rate is None else int(rate * 10)
    txs = [b"bench%06d=%d" % (n, n) for n in range(count)]
    queues = [txs[w::WORKERS] for w in range(WORKERS)]
    with tempfile.TemporaryDirectory() as tmp:
        net = localnet.Testnet.create_builtin(Path(tmp) / "net", 4,
                                              base_port=localnet.free_base_port())
        try:
            net.start()
            rpcs = [v.rpc_url for v in net.validators]
            _wait_block(rpcs[0], 2)
            out = profiled(net, lambda: asyncio.run(
                drive(queues, comet_submit(rpcs), comet_listen(rpcs[0]), rate)))
            with urllib.request.urlopen(rpcs[0] + "/status", timeout=10) as resp:
                status = json.loads(resp.read())
            out["blocks"] = int(status["result"]["sync_info"]["latest_block_height"])
            return out
        finally:
            net.stop()


def _wait_block(rpc_url: str, height: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(rpc_url + "/status", timeout=2) as resp:
                info = json.loads(resp.read())["result"]["sync_info"]
            if int(info["latest_block_height"]) >= height:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{rpc_url}: no block {height} after {timeout:.0f} s")


def network_rows(rounds: int = ROUNDS) -> list[tuple[str, dict]]:
    """The 4-validator rows against the kvstore reference. The saturated rows are measured in
    `rounds` rounds, each the reference then the QOS rows, and given as medians; a QOS row's
    ratio is taken against its own round's reference ("vs kvstore" its median, "min"/"max" its
    spread)."""
    users = senders()
    measured: list[list[tuple[str, dict]]] = []
    for _ in range(rounds):
        kv = kvstore_network()
        if kv is None:
            print("cometbft not installed: 4-validator network skipped")
            return []
        this_round = [("reference: 4 x CometBFT kvstore, saturated", kv)]
        for batch in (1, *BATCHES):
            net = network(users, batch=batch)
            assert net is not None
            net["vs kvstore"] = net["tps"] / kv["tps"]
            how = "POST /txs" if batch == 1 else f"POST /txs/batch of {batch}"
            this_round.append((f"4 validators, saturated, {how}", net))
        measured.append(this_round)
    rows = [(name, _medians([r[i][1] for r in measured])) for i, (name, _) in
            enumerate(measured[0])]
    for rate in (100, 300):
        rows.append((f"reference: 4 x kvstore, offered {rate} tx/s", kvstore_network(rate) or {}))
        rows.append((f"4 validators, offered {rate} tx/s, POST /txs", network(users, rate) or {}))
    return rows


def _medians(runs: list[dict]) -> dict:
    """Each figure's median over the rounds, the ratio's spread beside it."""
    out = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    if "vs kvstore" in out:
        out["min"] = min(run["vs kvstore"] for run in runs)
        out["max"] = max(run["vs kvstore"] for run in runs)
    out["rounds"] = len(runs)
    return out


def print_network(rows: list[tuple[str, dict]]) -> None:
    ref = rows[0][1]["tps"] if rows else float("nan")
    print(f"{'4 validators, CometBFT 0.38':50} {'tx/s':>8} {'vs kvstore':>10} {'p50 s':>7} "
          f"{'p99 s':>7}")
    for name, r in rows:
        ratio = r.get("vs kvstore", r["tps"] / ref)
        extra = {k: round(v, 2) for k, v in r.items()
                 if k not in ("tps", "p50", "p99", "vs kvstore")}
        print(f"{name:50} {r['tps']:8,.0f} {ratio:10.2f} {r['p50']:7.3f} "
              f"{r['p99']:7.3f}   {extra}", flush=True)


def main() -> None:
    users = senders()
    print(f"signing {SOLO_TXS} transfers from {SENDERS} accounts ...", flush=True)
    txs = interleave(presign(users, SOLO_TXS))
    floor = verify_alone(txs)
    print(f"reference: bare ed25519 verify (PyNaCl) {floor['tps']:,.0f} /s")
    ref = app_alone(users, txs)
    print(f"reference: app alone (check_tx + finalize_block/commit, SQLite) {ref['tps']:,.0f} tx/s"
          f"  (x{ref['tps'] / floor['tps']:.2f} of bare verify)")
    print_recheck_cost(users, txs)
    rows = []
    for interval in (1.0, 0.25):
        solo = solo_in_process(users, txs, interval)
        rows.append((f"solo engine in-process, {interval:g} s blocks", solo))
    rows.append(("solo node over REST (qosd, 0.5 s blocks), saturated", solo_http(users, 0.5)))
    rows.append(("solo node over REST, offered 300 tx/s for 10 s", solo_http(users, 0.5, 300)))
    print(f"{'engine':55} {'tx/s':>8} {'vs app':>7} {'vs verify':>9} {'p50 s':>7} {'p99 s':>7}")
    for name, r in rows:
        extra = {k: round(v, 1) for k, v in r.items() if k not in ("tps", "p50", "p99")}
        print(f"{name:55} {r['tps']:8,.0f} {r['tps'] / ref['tps']:7.2f} "
              f"{r['tps'] / floor['tps']:9.2f} {r['p50']:7.3f} {r['p99']:7.3f}   {extra}")
    print_network(network_rows())


if __name__ == "__main__":  # python -m bench.chain: the 4-validator rows (or: recheck)
    if sys.argv[1:] == ["recheck"]:
        bench_users = senders()
        print_recheck_cost(bench_users, interleave(presign(bench_users, 4_000)))
    else:
        print_network(network_rows())
