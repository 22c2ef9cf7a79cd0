"""End to end: a 4-validator CometBFT network on loopback under transfer load, while one
validator is killed (-9) and restarted, another paused (SIGSTOP/SIGCONT), a third cut off from
its peers and reconnected. Afterwards: no fork (same block hash at every height on every node),
identical app hashes, every accepted tx committed exactly once, supply invariants hold."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from hashlib import sha256

import pytest

from host.core import cbor
from host.core.keys import Account
from host.devtools import testnet as localnet

pytestmark = [pytest.mark.cometbft, pytest.mark.slow]

CHAIN = "qos-e2e"
QOS = 10_000
SENDERS = 6
BURST = 4  # txs per sender in flight at once (consecutive nonces)


def account(n: int) -> Account:
    return Account.from_ed25519_seed(sha256(b"e2e account %d" % n).digest())


def signed_transfer(sender: Account, nonce: int, to: bytes, amount: int) -> bytes:
    tx = {"chain": CHAIN, "nonce": nonce, "fee": 1000, "memo": "",
          "msgs": [{"type": "bank/transfer", "to": to, "amount": amount}]}
    sig = sender.sign(cbor.dumps(["qos/tx/1", CHAIN, tx]))
    return cbor.dumps({"tx": tx, "pubkey": sender.pubkey, "sig": sig})


def http(method: str, url: str, body: bytes | None = None, timeout: float = 10):
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/cbor")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


class LinkProxies:
    """A TCP relay per ordered validator pair (i dials j through port[i, j]); cut(x) drops every
    link of validator x and refuses new ones until restore(x): a network partition on loopback."""

    def __init__(self, count: int, target_port) -> None:
        self.count = count
        self.target_port = target_port
        self.blocked: set[int] = set()
        self.links: dict[tuple[int, int], set[asyncio.StreamWriter]] = {}
        self.ports: dict[tuple[int, int], int] = {}
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        assert ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        for i in range(self.count):
            for j in range(self.count):
                if i != j:
                    server = self.loop.run_until_complete(
                        asyncio.start_server(self._relay(i, j), "127.0.0.1", 0)
                    )
                    self.ports[i, j] = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def _relay(self, i: int, j: int):
        async def handle(reader, writer):
            if i in self.blocked or j in self.blocked:
                writer.close()
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(
                    "127.0.0.1", self.target_port(j)
                )
            except OSError:
                writer.close()
                return
            links = self.links.setdefault((i, j), set())
            links.update((writer, up_writer))
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            links.discard(writer)
            links.discard(up_writer)

        return handle

    def cut(self, x: int) -> None:
        def do():
            self.blocked.add(x)
            for (i, j), writers in self.links.items():
                if x in (i, j):
                    for writer in list(writers):
                        writer.transport.abort()

        self.loop.call_soon_threadsafe(do)

    def restore(self, x: int) -> None:
        self.loop.call_soon_threadsafe(self.blocked.discard, x)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.transport.abort()


class Load:
    """SENDERS threads, each sending bursts of transfers to a healthy validator's API and
    recording every tx the node accepted (check_tx passed)."""

    def __init__(self, net: localnet.Testnet, healthy) -> None:
        self.net = net
        self.healthy = healthy
        self.accepted: dict[str, tuple[int, int]] = {}  # hash -> (receiver index, amount)
        self.where: dict[str, tuple[int, float]] = {}  # hash -> (validator, time accepted)
        self.inflight = Counter()
        self.rejected = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._sender, args=(s,)) for s in range(SENDERS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(120)

    def drain(self, index: int) -> None:
        """Wait until no submission to validator `index` is in flight (it is already excluded
        from new ones), then give its mempool a moment to gossip what it accepted: a CometBFT
        mempool is not persistent, so a tx only the killed node had would be lost."""
        wait_until(lambda: self.inflight[index] == 0, 30, f"submissions to node{index}")
        time.sleep(1.0)

    def _post(self, index: int, raw: bytes) -> tuple[int, dict]:
        with self.lock:
            if index not in self.healthy():
                return 0, {}
            self.inflight[index] += 1
        try:
            return http("POST", self.net.validators[index].api_url + "/txs", raw)
        finally:
            with self.lock:
                self.inflight[index] -= 1

    def _sender(self, s: int) -> None:
        rng = random.Random(s)
        sender = account(s)
        nonce = 0  # the last nonce a node accepted from us; it never goes back
        unsure: bytes | None = None  # a tx whose POST failed in flight: resend the same bytes
        while not self.stop.is_set():
            index = rng.choice(self.healthy())
            val = self.net.validators[index]
            last = None
            for _ in range(BURST):
                receiver = 100 + rng.randrange(4)
                amount = rng.randrange(1, 1000)
                raw = unsure or signed_transfer(sender, nonce + 1, account(receiver).address,
                                                amount)
                try:
                    status, doc = self._post(index, raw)
                except OSError:
                    unsure = raw
                    break
                if status == 202 and doc.get("code") == 0 or doc.get("codespace") == (
                    "already_exists"
                ):
                    if unsure is not None:
                        tx = cbor.loads(raw)["tx"]
                        receiver = 100 + [account(100 + r).address for r in range(4)].index(
                            tx["msgs"][0]["to"]
                        )
                        amount = tx["msgs"][0]["amount"]
                    unsure = None
                    nonce += 1
                    last = sha256(raw).hexdigest()
                    with self.lock:
                        self.accepted[last] = (receiver, amount)
                        self.where[last] = (index, time.monotonic())
                else:
                    # e.g. bad_nonce from a node that has not seen our previous tx yet: the
                    # same nonce goes to a node again later, never a lower one
                    with self.lock:
                        self.rejected += 1
                    break
            if last is None:
                time.sleep(0.3)
                continue
            self._wait_committed(val.api_url, last)

    def _wait_committed(self, url: str, tx_hash: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.stop.is_set():
            try:
                status, _ = http("GET", f"{url}/txs/{tx_hash}")
                if status == 200:
                    return
            except OSError:
                return
            time.sleep(0.2)


def height(val) -> int:
    try:
        return http("GET", val.api_url + "/status", timeout=5)[1]["height"]
    except (OSError, KeyError, ValueError):
        return -1


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_four_validators_survive_kill_pause_and_partition(tmp_path):
    if localnet.cometbft_binary() is None:
        pytest.skip("cometbft binary not installed (make setup builds it with go install)")
    from host.chain.engine.abci_proto import ProtoUnavailable, messages

    try:
        messages()
    except ProtoUnavailable as exc:
        pytest.skip(f"CometBFT .proto files unavailable: {exc}")
    base = localnet.free_base_port()
    proxies = LinkProxies(4, lambda j: base + 10 * j + 6)
    funded = [(account(s).address, 10**6 * QOS) for s in range(SENDERS)]
    net = localnet.Testnet.create(
        tmp_path / "net", 4, chain_id=CHAIN, base_port=base, accounts=funded,
        peer_address=lambda i, j: f"127.0.0.1:{proxies.ports[i, j]}",
    )
    disturbed: set[int] = set()
    load = Load(net, lambda: [i for i in range(4) if i not in disturbed])
    try:
        net.start()
        wait_until(lambda: min(height(v) for v in net.validators) >= 2, 90, "first blocks")
        load.start()

        def progress(extra: int, timeout: float = 60) -> None:
            target = max(height(net.validators[i]) for i in range(4) if i not in disturbed) + extra
            wait_until(
                lambda: all(height(net.validators[i]) >= target for i in range(4)
                            if i not in disturbed),
                timeout, f"the live validators to reach height {target}",
            )

        def caught_up(i: int) -> None:
            # a lagging node checks txs against old state: it takes load again only once level
            live = max(height(net.validators[j]) for j in range(4) if j not in disturbed)
            wait_until(lambda: height(net.validators[i]) >= live, 120, f"node{i} to catch up")
            disturbed.discard(i)
            progress(2, timeout=120)

        events: list[tuple[str, float]] = []
        progress(3)
        # 1. kill -9 validator 1 (both its processes), keep going on 3 of 4, restart it
        disturbed.add(1)
        load.drain(1)
        events.append(("net.kill(1)", time.monotonic()))
        net.kill(1)
        progress(8)
        net.start_validator(1)
        caught_up(1)
        # 2. pause validator 2 (SIGSTOP), resume it
        disturbed.add(2)
        load.drain(2)
        events.append(("net.pause(2)", time.monotonic()))
        net.pause(2)
        progress(8)
        net.resume(2)
        caught_up(2)
        # 3. cut validator 3 off from every peer, then reconnect it
        disturbed.add(3)
        load.drain(3)
        events.append(("proxies.cut(3)", time.monotonic()))
        proxies.cut(3)
        progress(8)
        proxies.restore(3)
        caught_up(3)
        load.finish()

        accepted = dict(load.accepted)
        assert len(accepted) >= 20, f"too little load got through ({len(accepted)} txs)"
        url0 = net.validators[0].api_url
        wait_until(
            lambda: all(http("GET", f"{url0}/txs/{h}")[0] == 200 for h in list(accepted)[-20:]),
            60, "the last accepted txs to commit",
        )
        progress(1)
        top = min(height(v) for v in net.validators)
        # 0 silently dropped: GET /txs/{hash} says committed or dropped (with a reason) for
        # every accepted tx; these senders never reuse a nonce, so none should be dropped either
        statuses = Counter(http("GET", f"{url0}/txs/{h}")[1].get("status") for h in accepted)
        silent = sum(n for status, n in statuses.items() if status not in ("committed", "dropped"))
        assert silent == 0, f"{silent} accepted txs neither committed nor dropped: {statuses}"
        assert statuses["dropped"] == 0, statuses

        # no fork and identical app hashes at every height, on every validator
        seen: Counter[str] = Counter()
        for h in range(1, top + 1):
            blocks = [http("GET", f"{v.api_url}/blocks/{h}")[1] for v in net.validators]
            assert len({b["hash"] for b in blocks}) == 1, f"fork at height {h}"
            assert len({b["app_hash"] for b in blocks}) == 1, f"app hashes differ at {h}"
            assert len({tuple(b["txs"]) for b in blocks}) == 1
            seen.update(blocks[0]["txs"])
        # every accepted tx committed, exactly once, successfully
        for tx_hash in accepted:
            node_index, accepted_at = load.where[tx_hash]
            assert seen[tx_hash] == 1, (
                f"tx {tx_hash} committed {seen[tx_hash]} times; accepted by node{node_index} "
                f"at {accepted_at:.1f}; perturbations: {events}"
            )
            assert http("GET", f"{url0}/txs/{tx_hash}")[1]["code"] == 0
        assert all(count == 1 for count in seen.values())
        # receivers hold exactly what was sent to them
        expected = Counter()
        for receiver, amount in accepted.values():
            expected[receiver] += amount
        for receiver, total in expected.items():
            for v in net.validators:
                acc = http("GET", f"{v.api_url}/accounts/{account(receiver).address_string}"
                           f"?height={top}")[1]
                assert acc["value"]["balance"] == total
        # the supply invariant holds on every node (each at its own latest height)
        for v in net.validators:
            status, doc = http("GET", f"{v.api_url}/supply")
            assert status == 200, doc
            s = doc["value"]
            assert s["supply"] == s["balances"] + s["locked"] + sum(s["pools"].values())
        print(f"e2e: {len(accepted)} txs accepted and committed once, {load.rejected} refused "
              f"at admission, {top} blocks identical on 4 validators")
    finally:
        load.stop.set()
        for v in net.validators:
            if v.paused:
                net.resume(v.index)
        net.stop()
        proxies.close()
