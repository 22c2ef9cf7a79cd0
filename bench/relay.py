"""QCP relayer: latency and throughput between two in-process solo nodes on loopback.

Reference measured in the same run: a plain bank/transfer submitted to chain B with
wait=commit, one after another (what one client sees per tx with this block interval). Relaying
needs at least one block on each chain, so it is given as a ratio to that.

The packets are token transfers (qcp/transfer of QOS: escrow on A, voucher minted on B, proven
ack back on A). Figures: one packet's latency (A commit of qcp/transfer -> received on B ->
its ack resolved on A), packets/s for a backlog relayed with batch sizes 1, 8 and 16 (received
and acknowledged), the bytes of one relay message, and the time to build and locally verify one
relay (REST fetches, proof and header checks).
"""

from __future__ import annotations

import asyncio
import tempfile
from hashlib import sha256
from pathlib import Path

import aiohttp

from bench.timing import Stopwatch
from host.chain.relayer.relay import Side, build_relay, sign_relay_tx
from host.chain.relayer.service import Relayer
from host.chain.rest import NodeClient
from host.core import cbor
from host.core.keys import Account
from host.core.tx import qcp_transfer, transfer

A, B = "qos-bench-a", "qos-bench-b"
QOS = 10_000
BLOCK_INTERVAL = 0.25
BACKLOG = 48
REFERENCE_TXS = 12


def _account(name: str) -> Account:
    return Account.from_ed25519_seed(sha256(b"relay bench " + name.encode()).digest())


USER, RECIPIENT, RELAYER = _account("user"), _account("recipient"), _account("relayer")


def _homes(root: Path) -> tuple[Path, Path]:
    from host.chain.engine.privval import ValidatorKey
    from host.chain.genesis import Genesis, GenesisChain
    from host.cli.qosd import main as qosd
    from host.core.keys import encode_address

    funded = {A: [USER.address, RELAYER.address],
              B: [RELAYER.address]}
    homes = {}
    for chain, addresses in funded.items():
        homes[chain] = root / chain
        accounts = [f"--account={encode_address(a)}={10**6 * QOS}" for a in addresses]
        assert qosd(["init", "--home", str(homes[chain]), "--chain-id", chain, "--block-interval",
                     str(BLOCK_INTERVAL), "--api", "127.0.0.1:0", *accounts]) == 0
    for chain, other in ((A, B), (B, A)):
        key = ValidatorKey.load(homes[other] / "config" / "priv_validator_key.json")
        path = homes[chain] / "config" / "genesis.json"
        genesis = Genesis.load(path)
        genesis.chains.append(GenesisChain(other, [(key.pubkey, 10)]))
        genesis.save(path)
    return homes[A], homes[B]


class Bench:
    def __init__(self, a_url: str, b_url: str, session: aiohttp.ClientSession) -> None:
        self.a = NodeClient(a_url, session, 60)
        self.b = NodeClient(b_url, session, 60)
        self.urls = a_url, b_url

    async def send(self, client: NodeClient, chain: str, who: Account, msgs: list[dict]) -> None:
        nonce = await client.next_nonce(who.address)
        status, doc = await client.submit(sign_relay_tx(who, chain, nonce, msgs))
        assert status == 200 and doc["code"] == 0, doc

    async def reference(self) -> float:
        watch = Stopwatch()
        for _ in range(REFERENCE_TXS):
            await self.send(self.b, B, RELAYER, [transfer(RECIPIENT.address, 1)])
        return watch.elapsed() / REFERENCE_TXS

    async def relayed(self, batch: int, until) -> float:
        relayer = Relayer([self.urls[0]], [self.urls[1]], RELAYER, poll_interval=0.05,
                          batch=batch)
        stop = asyncio.Event()
        watch = Stopwatch()
        task = asyncio.ensure_future(relayer.run(stop))
        while not await until():
            await asyncio.sleep(0.02)
        elapsed = watch.elapsed()
        stop.set()
        await task
        return elapsed

    async def delivered_on_b(self, seq: int) -> bool:
        return (await self.b.qcp_seqs(A))[1] >= seq

    async def acked_on_a(self, seq: int) -> bool:
        status, doc = await self.a.get(f"/qcp/{B}/seq")
        return status == 200 and doc["value"]["acked"] >= seq

    async def queue(self, count: int) -> int:
        for start in range(0, count, 16):
            n = min(16, count - start)
            msgs = [qcp_transfer(B, "QOS", RECIPIENT.address, 1)] * n
            await self.send(self.a, A, USER, msgs)
        return (await self.a.qcp_seqs(B))[0]

    async def build_cost(self, seq: int) -> tuple[float, int]:
        session = self.a.session
        a = Side("A", [NodeClient(self.urls[0], session)], A)
        b = Side("B", [NodeClient(self.urls[1], session)], B)
        rounds = 20
        watch = Stopwatch()
        for _ in range(rounds):
            relay = await build_relay(a, b, seq)
        size = len(cbor.dumps(relay.message))
        return watch.elapsed() / rounds, size


async def _run() -> None:
    from host.chain.node import Node

    with tempfile.TemporaryDirectory() as tmp:
        nodes = [Node(h) for h in _homes(Path(tmp))]
        for node in nodes:
            await node.start()
        try:
            async with aiohttp.ClientSession() as session:
                bench = Bench(*(f"http://127.0.0.1:{n.api_port}" for n in nodes), session)
                await _measure(bench)
        finally:
            for node in nodes:
                await node.stop()


async def _measure(bench: Bench) -> None:
    ref = await bench.reference()
    print(f"block interval {BLOCK_INTERVAL} s; reference: transfer submit->commit on B "
          f"{ref * 1000:.0f} ms/tx ({1 / ref:.1f} tx/s, one client)")
    seq = await bench.queue(1)  # warm-up: the first round also updates both chains' clients
    await bench.relayed(8, lambda: bench.acked_on_a(seq))
    seq = await bench.queue(1)
    one_way = await bench.relayed(8, lambda: bench.delivered_on_b(seq))
    seq = await bench.queue(1)
    round_trip = await bench.relayed(8, lambda: bench.acked_on_a(seq))
    print(f"one packet: received on B {one_way * 1000:.0f} ms after its send committed "
          f"({one_way / ref:.1f}x reference, {one_way / BLOCK_INTERVAL:.1f} block intervals); "
          f"ack resolved on A {round_trip * 1000:.0f} ms ({round_trip / ref:.1f}x, "
          f"{round_trip / BLOCK_INTERVAL:.1f} block intervals)")
    build, size = await bench.build_cost(seq)
    print(f"build + verify one relay: {build * 1000:.1f} ms; relay message {size} bytes")
    for batch in (1, 8, 16):
        last = await bench.queue(BACKLOG)
        elapsed = await bench.relayed(batch, lambda last=last: bench.acked_on_a(last))
        rate = BACKLOG / elapsed
        print(f"backlog of {BACKLOG}, batch {batch:2d}: delivered and answered in "
              f"{elapsed:.2f} s = {rate:.1f} packets/s ({rate * ref:.2f}x reference tx/s)")


def main() -> None:
    import logging

    logging.getLogger("qos").setLevel(logging.WARNING)  # per-packet logs would drown the figures
    asyncio.run(_run())


if __name__ == "__main__":
    main()
