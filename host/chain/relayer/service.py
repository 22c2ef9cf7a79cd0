"""The QCP relayer: carries packets between two QOS chains, each reached through its REST API.

For each direction (A -> B and B -> A) it repeats:

1. read B's last received seq from A (`GET B/qcp/A/seq`, field `in`) and A's last queued seq
   for B (`GET A/qcp/B/seq`, field `out`); the chain is the only cursor, so a restart or a
   competing relayer never makes us deliver twice (and B rejects duplicates anyway);
2. fetch packets `in + 1` ... (up to `batch` of them; `GET A/qcp/B/out/<seq>`), then each
   one's Merkle proof at the packet's height h (`...?height=h&prove=true`);
3. collect header signatures for height h + 1 (header h + 1 carries the app hash after h) from
   every URL given for A (`GET A/qcp/header/<h+1>`; each validator's node signs with its key),
   and check locally that the proof verifies under that app hash and that the signers hold
   more than 2/3 of the power B has registered for A: a relay that would fail costs a fee;
4. sign one tx of consecutive `qcp/relay` messages (as many as fit the tx size limit) with
   the relayer's key for B, submit it with `wait=commit`, and re-read B's seq before the
   next batch. A failed batch is retried one packet per tx until one lands.

Result packets (B's `qcp/result` answers) travel back the same way in the other direction.
Network errors and 5xx answers are retried with capped exponential backoff and jitter (the
original QOS relayer, cassini, gave up on the first error).
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from host.chain.relayer import DEFAULT_FEE
from host.chain.relayer.relay import (
    Relay,
    RelayError,
    Side,
    build_relay,
    fit_relays,
)
from host.chain.rest import NodeClient, NodeError, NodeUnreachable
from host.core.keys import Account

log = logging.getLogger("qos.relay")



# ---- the service ------------------------------------------------------------------------------


@dataclass
class Backoff:
    """Capped exponential backoff with jitter; reset() after a success."""

    base: float = 0.5
    cap: float = 30.0
    failures: int = 0

    def next_delay(self) -> float:
        self.failures += 1
        delay = min(self.cap, self.base * 2 ** min(self.failures - 1, 40))  # no float overflow
        return delay * random.uniform(0.5, 1.0)  # spread competing relayers apart

    def reset(self) -> None:
        self.failures = 0


@dataclass
class Stats:
    delivered: int = 0
    txs: int = 0  # relay txs that landed (a tx carries a batch)
    results: int = 0
    skipped: int = 0  # batches someone else delivered first
    failures: int = 0
    batch_limit: int = 0  # 0: the relayer's batch size; 1 after a failed batch


@dataclass
class Relayer:
    """Relays both ways between chains A and B (lists of REST URLs; the first is the primary,
    the rest are further validator nodes whose header signatures are needed for > 2/3)."""

    a_urls: list[str]
    b_urls: list[str]
    account: Account  # pays the relay fees on both chains
    poll_interval: float = 1.0
    fee: int = DEFAULT_FEE
    batch: int = 8  # packets per relay tx (1..16); the tx size limit may cut a batch shorter
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    stats: dict[str, Stats] = field(default_factory=dict)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Relay until `stop` is set (or the task is cancelled)."""
        import aiohttp

        stop = stop or asyncio.Event()
        async with aiohttp.ClientSession() as session:
            a = Side("A", [NodeClient(u, session) for u in self.a_urls])
            b = Side("B", [NodeClient(u, session) for u in self.b_urls])
            await self._identify(a, stop)
            await self._identify(b, stop)
            if stop.is_set():
                return
            if a.chain_id == b.chain_id:
                raise RelayError(f"both URLs serve the same chain {a.chain_id}")
            log.info("relaying %s <-> %s as %s", a.chain_id, b.chain_id,
                     self.account.address_string)
            await asyncio.gather(self._direction(a, b, stop), self._direction(b, a, stop))

    async def _identify(self, side: Side, stop: asyncio.Event) -> None:
        backoff = Backoff(self.backoff_base, self.backoff_cap)
        while not stop.is_set():
            try:
                # Only the primary must answer: an extra URL only adds header signatures, and a
                # signature from a node of another chain fails verification and is ignored.
                side.chain_id = await side.primary.chain_id()
                return
            except NodeUnreachable as exc:
                await self._pause(stop, backoff, f"{side.name}: {exc}")

    async def _direction(self, src: Side, dst: Side, stop: asyncio.Event) -> None:
        name = f"{src.chain_id}->{dst.chain_id}"
        stats = self.stats.setdefault(name, Stats())
        backoff = Backoff(self.backoff_base, self.backoff_cap)
        while not stop.is_set():
            try:
                moved = await self.relay_pending(src, dst, stats, stop)
            except (NodeError, RelayError) as exc:
                stats.failures += 1
                await self._pause(stop, backoff, f"{name}: {exc}")
                continue
            except Exception:  # a bug or an answer nobody foresaw: keep the service alive
                stats.failures += 1
                log.exception("%s: unexpected error", name)
                await self._pause(stop, backoff, f"{name}: unexpected error (above)")
                continue
            backoff.reset()
            if not moved:
                await _wait(stop, self.poll_interval)

    async def _pause(self, stop: asyncio.Event, backoff: Backoff, why: str) -> None:
        delay = backoff.next_delay()
        log.warning("%s; retrying in %.1f s", why, delay)
        await _wait(stop, delay)

    async def relay_pending(self, src: Side, dst: Side, stats: Stats,
                            stop: asyncio.Event | None = None) -> int:
        """Deliver every packet src has queued for dst that dst has not received; returns how
        many this relayer delivered. The cursor is always re-read from dst."""
        moved = 0
        while stop is None or not stop.is_set():
            out, _ = await src.primary.qcp_seqs(dst.chain_id)
            _, received = await dst.primary.qcp_seqs(src.chain_id)
            if received >= out:
                return moved
            count = min(out - received, stats.batch_limit or self.batch)
            seqs = range(received + 1, received + 1 + count)
            relays = list(await asyncio.gather(*(build_relay(src, dst, s) for s in seqs)))
            moved += await self._deliver(src, dst, relays, stats)
        return moved

    async def _deliver(self, src: Side, dst: Side, relays: list[Relay], stats: Stats) -> int:
        """Submit consecutive relays in one tx (as many as fit); returns how many landed."""
        nonce = await dst.primary.next_nonce(self.account.address)
        raw, relays = fit_relays(self.account, dst.chain_id, nonce, relays, self.fee)
        first, last = relays[0].packet["seq"], relays[-1].packet["seq"]
        status, doc = await dst.primary.submit(raw)
        if status == 200 and doc.get("code") == 0:
            for relay in relays:
                self._log_delivered(src, dst, relay, doc.get("height"), stats)
            stats.txs += 1
            stats.batch_limit = 0  # back to full batches
            return len(relays)
        # Rejected, failed in the block, or not committed in time: the chain decides what
        # happened; if dst moved past (another relayer, or our tx after all), move on.
        _, received = await dst.primary.qcp_seqs(src.chain_id)
        if received >= first:
            stats.skipped += 1
            log.info("%s -> %s seq %d..%d: already delivered (received %d); skipping",
                     src.chain_id, dst.chain_id, first, last, received)
            return 0
        if len(relays) > 1:
            stats.batch_limit = 1  # find the packet that fails: one at a time until a success
        reason = doc.get("error") or f"{doc.get('codespace')}: {doc.get('log')}"
        raise RelayError(f"{dst.chain_id} did not take seq {first}..{last} (HTTP {status}): "
                         f"{reason}")

    @staticmethod
    def _log_delivered(src: Side, dst: Side, relay: Relay, height: Any, stats: Stats) -> None:
        seq, payload = relay.packet["seq"], relay.packet["payload"]
        stats.delivered += 1
        if payload.get("type") == "qcp/result":
            stats.results += 1
            log.info("%s -> %s seq %d: result of our seq %d (ok=%s) delivered at height %s",
                     src.chain_id, dst.chain_id, seq, payload.get("seq"), payload.get("ok"),
                     height)
        else:
            log.info("%s -> %s seq %d: %s delivered at height %s (signed power %d/%d)",
                     src.chain_id, dst.chain_id, seq, payload.get("type"), height,
                     relay.signed_power, relay.total_power)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
