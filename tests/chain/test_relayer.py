"""The QCP relayer between two real solo nodes (in-process, loopback ports): chain qos-ra sends,
chain qos-rb executes, proven acks come back; tokens go out and home again; a late packet is
refunded; forgeries and out-of-order packets are rejected by the destination; restarts and
competing relayers never deliver twice; an outage is retried; the client follows by the 1/3 rule;
a node serving a conflicting signed block gets the client frozen."""

from __future__ import annotations

import asyncio
import threading
import time
from hashlib import sha256
from pathlib import Path

import pytest

from host.chain.engine.privval import ValidatorKey
from host.chain.engine.solo import commit_sign_bytes
from host.chain.genesis import Genesis, GenesisChain
from host.chain.node import Node, NodeConfig
from host.chain.relayer.relay import RelayError, Side, build_relay, check_packet, sign_relay_tx
from host.chain.relayer.service import Backoff, Relayer, Stats
from host.chain.rest import NodeClient
from host.chain.x.qcp.client import block_header
from host.chain.x.qcp.module import shadow_address
from host.core import cbor
from host.core.keys import Account
from host.core.tx import qcp_send, qcp_transfer, transfer
from host.devtools import ports

pytestmark = pytest.mark.timeout(120)

A, B = "qos-ra", "qos-rb"
QOS = 10_000
AMOUNT = 1_234


def account(name: str) -> Account:
    return Account.from_ed25519_seed(sha256(b"relayer test " + name.encode()).digest())


USER, RECIPIENT = account("user"), account("recipient")
RELAYER, RIVAL = account("relayer"), account("rival")
SHADOW = shadow_address(A, USER.address)  # USER acting on B


def free_port() -> int:
    return ports.free_block(1)


def init_home(root: Path, chain: str, funded: list[bytes]) -> Path:
    from host.cli.qosd import main as qosd
    from host.core.keys import encode_address

    home = root / chain
    accounts = [f"--account={encode_address(a)}={10**6 * QOS}" for a in funded]
    assert qosd(["init", "--home", str(home), "--chain-id", chain, "--block-interval", "0.15",
                 "--api", "127.0.0.1:0", *accounts]) == 0
    return home


def register(home: Path, other: str, other_home: Path,
             extra: list[tuple[bytes, int]] = ()) -> None:
    """Register `other` (its validator's header key with power 10, plus `extra` (key, power))
    in this chain's genesis."""
    key = ValidatorKey.load(other_home / "config" / "priv_validator_key.json")
    path = home / "config" / "genesis.json"
    genesis = Genesis.load(path)
    genesis.chains.append(GenesisChain(other, [(key.pubkey, 10), *extra]))
    genesis.save(path)


class Network:
    """Both nodes on one background event loop; tests run coroutines on it with run()."""

    def __init__(self, root: Path, more_a_validators: list[tuple[bytes, int]] = ()) -> None:
        ha = init_home(root, A, [USER.address, RELAYER.address, RIVAL.address])
        hb = init_home(root, B, [RELAYER.address, RIVAL.address, SHADOW, RECIPIENT.address])
        register(ha, B, hb)
        register(hb, A, ha, more_a_validators)
        self.nodes = [Node(h, NodeConfig.load(h / "config" / "node.toml")) for h in (ha, hb)]
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        for node in self.nodes:
            self.run(node.start())
        self.a_url, self.b_url = (f"http://127.0.0.1:{n.api_port}" for n in self.nodes)
        self.user_nonce = 0

    def run(self, coro, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        for node in self.nodes:
            self.run(node.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    # -- helpers over REST, the same way any client sees the chains --
    async def _with_client(self, url: str, fn):
        import aiohttp

        async with aiohttp.ClientSession() as session:
            return await fn(NodeClient(url, session))

    def seqs(self, url: str, other: str) -> tuple[int, int]:
        return self.run(self._with_client(url, lambda c: c.qcp_seqs(other)))

    def acked(self, url: str, other: str) -> int:
        async def get(client: NodeClient) -> int:
            return (await client.get(f"/qcp/{other}/seq"))[1]["value"]["acked"]

        return self.run(self._with_client(url, get))

    def voucher(self, url: str, address: bytes, denom: str) -> int:
        async def get(client: NodeClient) -> int:
            status, doc = await client.get(f"/accounts/{address.hex()}/assets")
            return doc["value"]["assets"].get(denom, 0) if status == 200 else 0

        return self.run(self._with_client(url, get))

    def balance(self, url: str, address: bytes) -> int:
        async def get(client: NodeClient) -> int:
            status, doc = await client.get(f"/accounts/{address.hex()}")
            return doc["value"]["balance"] if status == 200 else 0

        return self.run(self._with_client(url, get))

    def result_on_a(self, seq: int, url: str = "", other: str = B) -> dict | None:
        async def get(client: NodeClient):
            status, doc = await client.get(f"/store/{f'qcp/result/{other}/{seq}'.encode().hex()}")
            return cbor.loads(bytes.fromhex(doc["raw"])) if status == 200 else None

        return self.run(self._with_client(url or self.a_url, get))

    def submit(self, url: str, raw: bytes) -> tuple[int, dict]:
        return self.run(self._with_client(url, lambda c: c.submit(raw)))

    def send_cross(self, amount: int = AMOUNT, count: int = 1) -> int:
        """USER on A queues `count` transfers to RECIPIENT on B in one tx; returns the last seq."""
        self.user_nonce += 1
        msgs = [qcp_send(B, transfer(RECIPIENT.address, amount))] * count
        status, doc = self.submit(self.a_url, sign_relay_tx(USER, A, self.user_nonce, msgs))
        assert status == 200 and doc["code"] == 0, doc
        return self.seqs(self.a_url, B)[0]

    def send_tokens(self, url: str, chain: str, to: str, who: Account, denom: str, amount: int,
                    timeout_time: int = 0) -> int:
        """`who` on `chain` sends `amount` of `denom` to RECIPIENT (or USER) on `to`."""
        receiver = RECIPIENT if who is USER else USER
        nonce = self.run(_nonce(url, who))
        msg = qcp_transfer(to, denom, receiver.address, amount, 0, timeout_time)
        status, doc = self.submit(url, sign_relay_tx(who, chain, nonce, [msg]))
        assert status == 200 and doc["code"] == 0, doc
        if who is USER and chain == A:
            self.user_nonce = nonce
        return self.seqs(url, to)[0]

    def sides(self, session, a_urls: list[str] | None = None) -> tuple[Side, Side]:
        a = Side("A", [NodeClient(u, session) for u in (a_urls or [self.a_url])], A)
        b = Side("B", [NodeClient(self.b_url, session)], B)
        return a, b

    def build(self, seq: int, a_urls: list[str] | None = None):
        import aiohttp

        async def go():
            async with aiohttp.ClientSession() as session:
                a, b = self.sides(session, a_urls)
                return await build_relay(a, b, seq)

        return self.run(go())

    def relay_until(self, relayers: list[Relayer], done, timeout: float = 40) -> None:
        """Run relayers on the nodes' loop until done() holds, then stop them."""
        async def go():
            stop = asyncio.Event()
            tasks = [asyncio.ensure_future(r.run(stop)) for r in relayers]
            try:
                for _ in range(int(timeout / 0.1)):
                    if await asyncio.to_thread(done):
                        return
                    await asyncio.sleep(0.1)
                raise AssertionError("relaying did not finish in time")
            finally:
                stop.set()
                await asyncio.gather(*tasks)

        self.run(go(), timeout + 30)

    def fully_relayed(self) -> bool:
        """Every packet both ways received and its ack back at its source."""
        a_out, a_in = self.seqs(self.a_url, B)
        b_out, b_in = self.seqs(self.b_url, A)
        return (b_in == a_out and a_in == b_out and self.acked(self.a_url, B) == a_out
                and self.acked(self.b_url, A) == b_out)


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    network = Network(tmp_path_factory.mktemp("relay"))
    yield network
    network.close()


def fast_relayer(net: Network, key: Account = RELAYER, a_urls=None) -> Relayer:
    return Relayer(a_urls or [net.a_url], [net.b_url], key, poll_interval=0.1,
                   backoff_base=0.05, backoff_cap=0.5)


def test_transfer_runs_once_on_b_and_result_returns_to_a(net):
    before = net.balance(net.b_url, RECIPIENT.address)
    seq = net.send_cross()
    relayer = fast_relayer(net)
    net.relay_until([relayer], lambda: net.result_on_a(seq) is not None)
    assert net.result_on_a(seq) == {"ok": True, "log": "ok"}
    assert net.balance(net.b_url, RECIPIENT.address) == before + AMOUNT
    assert net.seqs(net.b_url, A)[1] == seq
    stats = relayer.stats
    assert stats[f"{A}->{B}"].delivered == 1 and stats[f"{B}->{A}"].acks == 1
    # another second of polling delivers nothing again
    again = fast_relayer(net)
    until = time.monotonic() + 1.0
    net.relay_until([again], lambda: time.monotonic() > until)
    assert net.balance(net.b_url, RECIPIENT.address) == before + AMOUNT
    assert all(s.delivered == s.acks == 0 for s in again.stats.values())


def test_tokens_go_out_and_home_again_through_the_relayer(net):
    """QOS from A to B becomes the voucher qcp/qos-ra/QOS on B; sent home, it is burned on B and
    A's escrow releases it. Every ack comes back proven."""
    from host.chain.x.qcp.tokens import escrow_address

    voucher = f"qcp/{A}/QOS"
    escrow = escrow_address(B)
    escrowed = net.balance(net.a_url, escrow)
    seq = net.send_tokens(net.a_url, A, B, USER, "QOS", 5 * QOS)
    net.relay_until([fast_relayer(net)], lambda: net.result_on_a(seq) is not None)
    assert net.result_on_a(seq) == {"ok": True, "log": "ok"}
    held = net.voucher(net.b_url, RECIPIENT.address, voucher)
    assert held >= 5 * QOS
    assert net.balance(net.a_url, escrow) == escrowed + 5 * QOS
    user = net.balance(net.a_url, USER.address)
    back = net.send_tokens(net.b_url, B, A, RECIPIENT, voucher, 2 * QOS)
    net.relay_until([fast_relayer(net)],
                    lambda: net.result_on_a(back, net.b_url, A) is not None)
    assert net.result_on_a(back, net.b_url, A) == {"ok": True, "log": "ok"}
    assert net.voucher(net.b_url, RECIPIENT.address, voucher) == held - 2 * QOS
    assert net.balance(net.a_url, USER.address) == user + 2 * QOS
    assert net.balance(net.a_url, escrow) == escrowed + 3 * QOS


def test_late_transfer_is_refunded_through_the_relayer(net):
    """No relayer runs until the packet is past its timeout: the relayer then brings the proven
    timeout (or delivers the late packet, which B records as timed out, and brings its error
    ack): either way A refunds once, and B mints nothing."""
    import time as clock

    from host.chain.x.qcp.tokens import escrow_address

    net.relay_until([fast_relayer(net)], net.fully_relayed)
    escrow = escrow_address(B)
    escrowed = net.balance(net.a_url, escrow)
    vouchers = net.voucher(net.b_url, RECIPIENT.address, f"qcp/{A}/QOS")
    seq = net.send_tokens(net.a_url, A, B, USER, "QOS", 3 * QOS, timeout_time=int(clock.time()))
    assert net.balance(net.a_url, escrow) == escrowed + 3 * QOS
    user = net.balance(net.a_url, USER.address)
    clock.sleep(1.5)  # B's blocks pass the timeout time
    net.relay_until([fast_relayer(net)], net.fully_relayed)
    outcome = net.result_on_a(seq)
    assert outcome["ok"] is False and outcome["log"].startswith("timeout"), outcome
    assert net.balance(net.a_url, USER.address) == user + 3 * QOS
    assert net.balance(net.a_url, escrow) == escrowed
    assert net.voucher(net.b_url, RECIPIENT.address, f"qcp/{A}/QOS") == vouchers


def test_an_idle_relayer_wakes_on_new_blocks_not_its_poll_interval(net):
    """Idle, the relayer sleeps until the next block on either chain (its /ws events): a packet
    queued while it sleeps moves long before a 10-minute poll would come round."""
    relayer = Relayer([net.a_url], [net.b_url], RELAYER, poll_interval=600,
                      backoff_base=0.05, backoff_cap=0.5)
    net.relay_until([fast_relayer(net)], net.fully_relayed)

    async def scenario():
        stop = asyncio.Event()
        task = asyncio.ensure_future(relayer.run(stop))
        try:
            await _until(lambda: len(relayer.stats) == 2)  # both tasks ran a round: now idle
            await asyncio.sleep(0.5)
            seq = await asyncio.to_thread(net.send_cross)
            await _until(lambda: net.result_on_a(seq) is not None, timeout=60)
        finally:
            stop.set()
            await task

    net.run(scenario(), 120)
    assert relayer.stats[f"{A}->{B}"].delivered == 1


def _rejected(status: int, doc: dict) -> str:
    """The codespace of a relay tx the chain did not accept (admission or block)."""
    assert status in (200, 400), doc
    assert doc.get("code") != 0, doc
    return doc["codespace"]


def test_failed_payload_comes_back_as_a_failed_result(net):
    before = net.balance(net.b_url, RECIPIENT.address)
    seq = net.send_cross(amount=10**9 * QOS)  # more than USER's shadow account holds on B
    net.relay_until([fast_relayer(net)], lambda: net.result_on_a(seq) is not None)
    result = net.result_on_a(seq)
    assert result["ok"] is False and "insufficient_funds" in result["log"], result
    assert net.balance(net.b_url, RECIPIENT.address) == before
    assert net.fully_relayed()


@pytest.mark.parametrize("tamper", ["proof", "payload", "header_key", "header_app_hash",
                                    "header_height"])
def test_tampered_relay_is_rejected_and_changes_nothing(net, tamper):
    seq = net.send_cross()
    relay = net.build(seq)
    packet, proof, header = (relay.message[k] for k in ("packet", "proof", "header"))
    fields = cbor.loads(header)
    height = fields["height"]
    if tamper == "proof":  # a valid proof, of another key
        other = net.build(seq - 1) if seq > 1 else None
        proof = other.message["proof"] if other else bytes(len(proof))
    elif tamper == "payload":
        forged = cbor.loads(packet)
        forged["payload"] = transfer(RECIPIENT.address, AMOUNT * 1000)
        packet = cbor.dumps(forged)
    elif tamper == "header_key":  # the right block, signed by a key B never registered
        forger = ValidatorKey(sha256(b"forger").digest())
        sig = forger.sign(commit_sign_bytes(A, height, sha256(fields["block"]).digest()))
        header = block_header(fields["block"], [(forger.pubkey, sig)])
    elif tamper == "header_app_hash":  # the registered key's signature, on another app hash
        block = cbor.loads(fields["block"])
        block["app_hash"] = bytes(32)
        header = block_header(cbor.dumps(block), [tuple(s) for s in fields["sigs"]])
    elif tamper == "header_height":
        fields["height"] += 1
        header = cbor.dumps(fields)
    before = net.balance(net.b_url, RECIPIENT.address)
    received = net.seqs(net.b_url, A)[1]
    nonce = net.run(_nonce(net.b_url, RELAYER))
    from host.core.tx import qcp_relay

    raw = sign_relay_tx(RELAYER, B, nonce, [qcp_relay(packet, proof, header)])
    assert _rejected(*net.submit(net.b_url, raw)) == "bad_proof"
    assert net.seqs(net.b_url, A)[1] == received
    assert net.balance(net.b_url, RECIPIENT.address) == before
    # the honest relay still goes through afterwards, exactly once
    net.relay_until([fast_relayer(net)], net.fully_relayed)
    assert net.balance(net.b_url, RECIPIENT.address) == before + AMOUNT


async def _nonce(url: str, who: Account) -> int:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        return await NodeClient(url, session).next_nonce(who.address)


def test_out_of_order_seq_is_rejected(net):
    first = net.send_cross()
    second = net.send_cross()
    assert second == first + 1
    before = net.balance(net.b_url, RECIPIENT.address)
    ahead = net.build(second)  # a perfectly proved packet, but B expects `first`
    nonce = net.run(_nonce(net.b_url, RELAYER))
    raw = sign_relay_tx(RELAYER, B, nonce, [ahead.message])
    assert _rejected(*net.submit(net.b_url, raw)) == "bad_sequence"
    assert net.seqs(net.b_url, A)[1] == first - 1
    assert net.balance(net.b_url, RECIPIENT.address) == before
    net.relay_until([fast_relayer(net)], net.fully_relayed)
    assert net.balance(net.b_url, RECIPIENT.address) == before + 2 * AMOUNT
    # replaying an already delivered packet is rejected too
    nonce = net.run(_nonce(net.b_url, RELAYER))
    raw = sign_relay_tx(RELAYER, B, nonce, [ahead.message])
    assert _rejected(*net.submit(net.b_url, raw)) == "bad_sequence"


def test_restart_and_competing_relayers_deliver_nothing_twice(net):
    before = net.balance(net.b_url, RECIPIENT.address)
    a_out0, _ = net.seqs(net.a_url, B)
    b_out0, _ = net.seqs(net.b_url, A)
    count = 4
    for _ in range(count):
        net.send_cross()
    # the first relayer is killed as soon as it delivered one packet (maybe mid-submit)
    first = fast_relayer(net)
    first.batch = 1

    async def kill_after_one():
        task = asyncio.ensure_future(first.run())
        for _ in range(400):
            if first.stats.get(f"{A}->{B}", Stats()).delivered >= 1:
                break
            await asyncio.sleep(0.02)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    net.run(kill_after_one())
    assert net.seqs(net.b_url, A)[1] < a_out0 + count  # it really stopped mid-way
    # a restarted relayer and a rival with its own key race for the rest
    net.relay_until([fast_relayer(net), fast_relayer(net, RIVAL)], net.fully_relayed)
    assert net.balance(net.b_url, RECIPIENT.address) == before + count * AMOUNT
    assert net.seqs(net.b_url, A) == (b_out0, a_out0 + count)  # each packet received once
    assert net.acked(net.a_url, B) == a_out0 + count  # and resolved once
    for seq in range(a_out0 + 1, a_out0 + count + 1):
        assert net.result_on_a(seq) == {"ok": True, "log": "ok"}


def test_batches_many_packets_per_tx(net):
    before = net.balance(net.b_url, RECIPIENT.address)
    _, received = net.seqs(net.b_url, A)
    last = net.send_cross(count=12)
    relayer = fast_relayer(net)
    relayer.batch = 5
    net.relay_until([relayer], net.fully_relayed)
    assert net.seqs(net.b_url, A)[1] == last == received + 12
    assert net.balance(net.b_url, RECIPIENT.address) == before + 12 * AMOUNT
    forward, back = relayer.stats[f"{A}->{B}"], relayer.stats[f"{B}->{A}"]
    assert forward.delivered == 12 and back.acks == 12
    assert 3 <= forward.txs < 12 and back.txs < 12  # batched, at most 5 per tx


class OutageProxy:
    """A TCP proxy in front of a node that can be taken down (open connections cut, new ones
    refused at once) and brought back, to simulate a network outage mid-run."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.down = False
        self.refused = 0
        self.open: set[asyncio.StreamWriter] = set()
        self.server = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        self.cut()
        self.server.close()
        await self.server.wait_closed()

    def cut(self) -> None:
        for writer in list(self.open):
            writer.transport.abort()
        self.open.clear()

    async def _serve(self, reader, writer) -> None:
        if self.down:
            self.refused += 1
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.open.update((writer, up_writer))

        async def pipe(src, dst):
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def test_outage_is_retried_and_dead_extra_signers_tolerated(net):
    before = net.balance(net.b_url, RECIPIENT.address)
    proxy = OutageProxy(net.nodes[1].api_port)
    net.run(proxy.start())
    dead = f"http://127.0.0.1:{free_port()}"  # an extra A header signer that is down
    relayer = Relayer([net.a_url, dead], [f"http://127.0.0.1:{proxy.port}"], RELAYER,
                      poll_interval=0.1, backoff_base=0.05, backoff_cap=0.3)
    first = net.send_cross()

    async def scenario():
        stop = asyncio.Event()
        task = asyncio.ensure_future(relayer.run(stop))
        try:
            await _until(lambda: net.result_on_a(first) is not None)
            proxy.down = True  # B becomes unreachable while the relayer is polling it
            proxy.cut()
            second = await asyncio.to_thread(net.send_cross)
            await _until(lambda: sum(s.failures for s in relayer.stats.values()) >= 3)
            proxy.down = False
            await _until(lambda: net.result_on_a(second) is not None)
        finally:
            stop.set()
            await task

    try:
        net.run(scenario(), 60)
    finally:
        net.run(proxy.stop())
    assert proxy.refused >= 1
    assert net.balance(net.b_url, RECIPIENT.address) == before + 2 * AMOUNT
    assert net.fully_relayed()


async def _until(condition, timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.05)):
        if await asyncio.to_thread(condition):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


class TwinNode:
    """Stands in for a second node holding chain A's validator key that serves, at
    /blocks/{h}/signed, another block h than A's node: A's block with another app hash, signed
    with that key (the solo engine equivocating)."""

    def __init__(self, key: ValidatorKey, a_url: str) -> None:
        self.key, self.a_url = key, a_url
        self.runner = None
        self.url = ""

    async def start(self) -> None:
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/blocks/{height}/signed", self.block)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def block(self, request):
        import aiohttp
        from aiohttp import web

        height = int(request.match_info["height"])
        async with aiohttp.ClientSession() as session:
            answer = await NodeClient(self.a_url, session).signed_block(height)
        if answer is None:
            return web.json_response({"error": "not committed"}, status=404)
        header = cbor.loads(answer[0])
        header["app_hash"] = sha256(header["app_hash"]).digest()
        raw = cbor.dumps(header)
        block_hash = sha256(raw).digest()
        sig = self.key.sign(commit_sign_bytes(A, height, block_hash))
        return web.json_response({"height": height, "hash": block_hash.hex(), "header": raw.hex(),
                                  "sigs": [[self.key.pubkey.hex(), sig.hex()]]})


def test_the_relayer_updates_a_client_by_the_one_third_rule(tmp_path_factory):
    """B registered A with A's node key (10) and a key A never ran (10): A's blocks, signed by
    its node alone, hold 10 of the 20 B trusts. Too little for a packet (> 2/3), enough for a
    skipping update (> 1/3 of the trusted power and all of the set it proves): the relayer
    updates B's client of A first, and then the packet goes through."""
    ghost = ValidatorKey(sha256(b"a validator A never ran").digest())
    net = Network(tmp_path_factory.mktemp("relay2"), [(ghost.pubkey, 10)])
    try:
        node_key = ValidatorKey.load(net.nodes[0].home / "config" / "priv_validator_key.json")
        seq = net.send_cross()
        with pytest.raises(RelayError, match="signed by 10 of 20"):
            net.build(seq)
        relayer = fast_relayer(net)
        net.relay_until([relayer], lambda: net.result_on_a(seq) is not None)
        assert relayer.stats[f"{A}->{B}"].updates == 1
        client = net.run(net._with_client(net.b_url, lambda c: c.qcp_client(A)))
        assert [pk for pk, _ in client["validators"]] == [node_key.pubkey]
        assert net.balance(net.b_url, RECIPIENT.address) == 10**6 * QOS + AMOUNT
    finally:
        net.close()


def test_relayer_reports_conflicting_blocks_the_client_freezes_and_the_offender_pays(
        tmp_path_factory):
    """A node holding A's validator key serves another block of the same height: the relayer
    sees two blocks of one height, each signed by all of A's power, and submits them as
    evidence to both chains: B's client of A freezes before the packet is delivered, and A
    slashes and bars its validator, once per height reported."""
    net = Network(tmp_path_factory.mktemp("relay3"))
    try:
        node_key = ValidatorKey.load(net.nodes[0].home / "config" / "priv_validator_key.json")
        twin = TwinNode(node_key, net.a_url)
        net.run(twin.start())

        def validator() -> dict:
            status, doc = net.run(net._with_client(net.a_url,
                                                   lambda c: c.get("/staking/validators")))
            assert status == 200, doc
            return doc["value"][0]

        before = validator()
        net.send_cross()
        relayer = fast_relayer(net, a_urls=[net.a_url, twin.url])

        def frozen() -> bool:
            status, doc = net.run(net._with_client(
                net.b_url, lambda c: c.get(f"/qcp/{A}/client")))
            return status == 200 and doc["value"]["frozen"] is True

        net.relay_until([relayer], lambda: frozen() and validator()["tokens"] < before["tokens"])
        assert relayer.stats[f"{A}->{B}"].evidence == 1  # B's client froze
        # A punished its validator, once per height: the twin equivocates at every height, so
        # the relayer may report a second height before the test stops it
        punished = relayer.stats[f"{B}->{A}"].evidence
        assert punished >= 1
        after, expected = validator(), before["tokens"]
        for _ in range(punished):
            expected -= expected * 500 // 10_000
        assert after["tokens"] == expected
        assert after["barred_epoch"] != before["barred_epoch"]
        assert net.seqs(net.b_url, A)[1] == 0  # nothing from A was accepted
        net.run(twin.runner.cleanup())
    finally:
        net.close()


def test_check_packet_refuses_a_wrong_answer():
    good = {"from_chain": A, "to_chain": B, "seq": 3, "sender": bytes(20),
            "payload": transfer(RECIPIENT.address, 1), "timeout_height": 0, "timeout_time": 9}
    assert check_packet(cbor.dumps(good), A, B, 3) == good
    for bad in ({**good, "seq": 4}, {**good, "to_chain": A}, {**good, "timeout_time": -1}):
        with pytest.raises(RelayError):
            check_packet(cbor.dumps(bad), A, B, 3)
    with pytest.raises(RelayError, match="det-CBOR"):
        check_packet(b"\xff\x00", A, B, 3)


def test_backoff_grows_to_its_cap_and_resets():
    backoff = Backoff(base=1.0, cap=8.0)
    delays = [backoff.next_delay() for _ in range(6)]
    for n, delay in enumerate(delays):
        ceiling = min(8.0, 2.0**n)
        assert ceiling / 2 <= delay <= ceiling
    backoff.reset()
    assert backoff.next_delay() <= 1.0
    for _ in range(5000):  # days of failures: still capped, never an overflow
        delay = backoff.next_delay()
    assert 4.0 <= delay <= 8.0


def test_cli_registers_relay_and_refuses_bad_arguments(tmp_path, capsys):
    import argparse

    from host.cli.relay import register as register_relay
    from host.devtools.keyfile import save_key

    parser = argparse.ArgumentParser(prog="qos")
    register_relay(parser.add_subparsers(dest="command"))
    key = tmp_path / "relayer.json"
    save_key(key, RELAYER)
    args = parser.parse_args(["relay", "--a", "http://x:1", "--a", "http://y:2",
                              "--b", "http://z:3", "--key", str(key)])
    assert args.a == ["http://x:1", "http://y:2"] and args.b == ["http://z:3"]
    bad_url = parser.parse_args(["relay", "--a", "x:1", "--b", "http://z:3", "--key", str(key)])
    assert args.func(bad_url) == 2 and "not an http" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("{}")
    bad_key = parser.parse_args(["relay", "--a", "http://x:1", "--b", "http://z:3",
                                 "--key", str(tmp_path / "junk.json")])
    assert args.func(bad_key) == 2 and "cannot load key" in capsys.readouterr().err
    for option, value in (("--batch", "17"), ("--batch", "0"), ("--poll", "0"),
                          ("--log-level", "LOUD")):
        bad = parser.parse_args(["relay", "--a", "http://x:1", "--b", "http://z:3",
                                 "--key", str(key), option, value])
        assert args.func(bad) == 2 and option in capsys.readouterr().err


def test_relay_command_runs_until_sigterm(net, tmp_path):
    import signal
    import subprocess
    import sys

    from host.devtools.keyfile import save_key

    key = tmp_path / "relayer.json"
    save_key(key, RIVAL)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "host.cli.qos", "relay", "--a", net.a_url, "--b", net.b_url,
         "--key", str(key), "--poll", "0.1"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        seq = net.send_cross()
        for _ in range(600):
            if net.result_on_a(seq) is not None or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert net.result_on_a(seq) == {"ok": True, "log": "ok"}
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, output
    assert f"{A} -> {B} seq {seq}: bank/transfer delivered" in output
    assert f"{B} -> {A}: ack (ok) of {A}'s seq {seq}" in output and "stopped:" in output
