"""The QCP relayer: carries packets, acks and timeouts between two QOS chains, each reached
through its REST API (docs/qcp.md section 9).

One task per target chain (so one submitter per chain and account: no nonce races), repeating:

1. read both chains' cursors (`GET X/qcp/<other>/seq`: `out`, `in`, `acked`); the chains are the
   only cursor, so a restart or a competing relayer never makes us deliver twice (and the target
   rejects duplicates anyway);
2. packets: the source's packets `in + 1 .. out` the target has not received, each proven at the
   source's latest height h with header h + 1 (`GET src/qcp/<dst>/out/<seq>?prove=true`, and
   block h + 1 as the source's engine signed it: `GET src/blocks/<h+1>/signed` from every URL
   given for the source, or CometBFT's RPC `/commit`); the header's signers must hold more than
   2/3 of the power the target's client of the source holds, checked locally: a message that
   would fail costs a fee;
3. acks: the target's own packets the source has received but the target has not resolved
   (`acked + 1 .. in`), with the proof of the source's `qcp/ack/<dst>/<seq>`;
4. a timeout: the target's next unresolved packet, when the source has not received it and is
   past its timeout (absence of the ack and the block time proven at one height);
   before all of these, a client update when the target's client of the source holds another
   validator set than the source's active one (its proven staking/set), by bisection if one
   header is not enough, or when half its trusting period has passed; and first of all the
   evidence of an equivocation of the target's own validators that the other task found;
5. sign one tx per kind with as many consecutive messages as fit (`batch`, the tx size limit),
   submit it with `wait=commit`, and re-read the cursors. A failed batch is retried one message
   per tx until one lands.

With nothing to do, a task sleeps until the next block on either chain (each chain's /ws
`new_block` events), or at most `poll_interval` while an event stream is down.

Network errors and 5xx answers are retried with capped exponential backoff and jitter (the
original QOS relayer, cassini, gave up on the first error).
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from host.chain.relayer.relay import (
    Channel,
    Equivocation,
    Proven,
    RelayError,
    Side,
    build_ack,
    build_client_update,
    build_relay,
    build_timeout,
    channel,
    fit_batch,
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
    """What one task delivered to its target chain."""

    delivered: int = 0  # packets
    acks: int = 0
    timeouts: int = 0
    updates: int = 0  # client updates (the source's validator set changed)
    evidence: int = 0  # conflicting headers reported (the client froze, or the offenders paid)
    txs: int = 0  # txs that landed (a tx carries a batch)
    skipped: int = 0  # batches someone else delivered first
    failures: int = 0
    batch_limit: int = 0  # 0: the relayer's batch size; 1 after a failed batch


@dataclass
class Relayer:
    """Relays both ways between chains A and B (lists of REST URLs; the first is the primary,
    the rest are further nodes whose signed blocks are compared: two signed blocks of one
    height are an equivocation)."""

    a_urls: list[str]
    b_urls: list[str]
    account: Account  # pays the relay fees on both chains
    poll_interval: float = 1.0
    fee: int | None = None  # per relay tx; None: the destination's estimate (GET /fees/estimate)
    batch: int = 8  # packets per relay tx (1..16); the tx size limit may cut a batch shorter
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    stats: dict[str, Stats] = field(default_factory=dict)
    # chain id -> {height: qcp/misbehaviour carrying its own validators' conflicting headers,
    # for the task that submits to that chain; None once taken (each height reported once)}
    evidence: dict[str, dict[int, dict | None]] = field(default_factory=dict)

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
            wakes = [asyncio.Event(), asyncio.Event()]  # one per task: a block on either chain
            followers = [asyncio.ensure_future(self._follow(side, wakes, stop))
                         for side in (a, b)]
            try:
                await asyncio.gather(self._direction(a, b, stop, wakes[0]),
                                     self._direction(b, a, stop, wakes[1]))
            finally:
                for follower in followers:
                    follower.cancel()
                await asyncio.gather(*followers, return_exceptions=True)

    async def _identify(self, side: Side, stop: asyncio.Event) -> None:
        backoff = Backoff(self.backoff_base, self.backoff_cap)
        while not stop.is_set():
            try:
                # Only the primary must answer: an extra URL only adds header signatures, and a
                # signature from a node of another chain fails verification and is ignored.
                side.chain_id = await side.primary.chain_id()
                status = await side.primary.status()
                if status.get("engine") == "cometbft":  # headers from consensus commits
                    side.rpc = str(status.get("cometbft_rpc") or "")
                return
            except NodeUnreachable as exc:
                await self._pause(stop, backoff, f"{side.name}: {exc}")

    async def _follow(self, side: Side, wakes: list[asyncio.Event], stop: asyncio.Event) -> None:
        """Wake the tasks on every new block of `side` (its /ws event stream), so a packet moves
        in the block after it is queued; the poll interval stays the fallback while the stream
        is down (reconnected with backoff)."""
        import aiohttp

        backoff = Backoff(self.backoff_base, self.backoff_cap)
        client = side.primary
        while client.session is not None and not stop.is_set():
            try:
                async with client.session.ws_connect(f"{client.url}/ws", heartbeat=30) as ws:
                    backoff.reset()
                    async for msg in ws:
                        if msg.type == aiohttp.WSMsgType.TEXT and '"new_block"' in msg.data:
                            for wake in wakes:
                                wake.set()
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.debug("%s: event stream unavailable (%s); polling meanwhile", side.name, exc)
            await _wait(stop, backoff.next_delay())

    async def _direction(self, src: Side, dst: Side, stop: asyncio.Event,
                         wake: asyncio.Event) -> None:
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
                await _wait_either(stop, wake, self.poll_interval)
                wake.clear()

    async def _pause(self, stop: asyncio.Event, backoff: Backoff, why: str) -> None:
        delay = backoff.next_delay()
        log.warning("%s; retrying in %.1f s", why, delay)
        await _wait(stop, delay)

    async def relay_pending(self, src: Side, dst: Side, stats: Stats,
                            stop: asyncio.Event | None = None) -> int:
        """Deliver to dst everything src has for it: src's packets dst has not received, acks
        of dst's packets src received, and the timeout of dst's next packet if src can no
        longer receive it. Returns how many messages this relayer delivered; the cursors are
        always re-read from the chains."""
        moved = 0
        while stop is None or not stop.is_set():
            try:
                batch = await self._next_batch(src, dst, stats.batch_limit or self.batch)
            except Equivocation as exc:  # report it: dst freezes its client of src, and src
                # punishes the offenders (the task that submits to src takes it from here)
                log.error("%s -> %s: %s; submitting the evidence", src.chain_id, dst.chain_id, exc)
                batch = [Proven("misbehaviour", exc.height, exc.message, str(exc))]
                self.evidence.setdefault(src.chain_id, {}).setdefault(
                    exc.height, {**exc.message, "chain": dst.chain_id})
            if not batch:
                return moved
            moved += await self._deliver(src, dst, batch, stats)
        return moved

    async def _next_batch(self, src: Side, dst: Side, limit: int) -> list[Proven]:
        pending = self.evidence.get(dst.chain_id, {})
        for height, message in pending.items():
            if message is not None:
                pending[height] = None
                return [Proven("evidence", height, message, "own validators equivocated")]
        # The client first: headers need > 2/3 of the set dst holds, so it follows src's set
        # (bisecting when it moved far) and is refreshed before its trusting period ends.
        updates = await build_client_update(src, dst)
        if updates:
            return updates
        here, there = await asyncio.gather(channel(src, dst.chain_id), channel(dst, src.chain_id))
        if there.received < here.out:  # then packets: they keep the ordered channel moving
            seqs = range(there.received + 1, min(here.out, there.received + limit) + 1)
            return list(await asyncio.gather(*(build_relay(src, dst, s) for s in seqs)))
        if there.acked < here.received:
            seqs = range(there.acked + 1, min(here.received, there.acked + limit) + 1)
            return list(await asyncio.gather(*(build_ack(src, dst, s) for s in seqs)))
        if there.acked < there.out:
            timeout = await build_timeout(src, dst, there.acked + 1)
            if timeout is not None:
                return [timeout]
        return []

    async def _deliver(self, src: Side, dst: Side, batch: list[Proven], stats: Stats) -> int:
        """Submit one kind of consecutive messages in one tx (as many as fit); returns how many
        landed."""
        nonce = await dst.primary.next_nonce(self.account.address)
        fee = self.fee
        if fee is None:  # the destination's reference fee for this batch's exact size
            sized, batch = fit_batch(self.account, dst.chain_id, nonce, batch, 0)
            fee = await dst.primary.fee_for([item.message["type"] for item in batch], len(sized))
        raw, batch = fit_batch(self.account, dst.chain_id, nonce, batch, fee)
        kind, first, last = batch[0].kind, batch[0].seq, batch[-1].seq
        status, doc = await dst.primary.submit(raw)
        if status == 200 and doc.get("code") == 0:
            for item in batch:
                self._log_delivered(src, dst, item, doc.get("height"), stats)
            stats.txs += 1
            stats.batch_limit = 0  # back to full batches
            return len(batch)
        # Rejected, failed in the block, or not committed in time: the chain decides what
        # happened; if dst moved past (another relayer, or our tx after all), move on.
        if await _done(kind, src, dst, first):
            stats.skipped += 1
            log.info("%s -> %s %s %d..%d: already delivered; skipping", src.chain_id,
                     dst.chain_id, kind, first, last)
            return 0
        if len(batch) > 1:
            stats.batch_limit = 1  # find the message that fails: one at a time until a success
        reason = doc.get("error") or f"{doc.get('codespace')}: {doc.get('log')}"
        raise RelayError(f"{dst.chain_id} did not take {kind} {first}..{last} (HTTP {status}): "
                         f"{reason}")

    @staticmethod
    def _log_delivered(src: Side, dst: Side, item: Proven, height: Any, stats: Stats) -> None:
        if item.kind == "packet":
            stats.delivered += 1
            log.info("%s -> %s seq %d: %s delivered at height %s (signed power %d/%d)",
                     src.chain_id, dst.chain_id, item.seq, item.what, height,
                     item.signed_power, item.total_power)
        elif item.kind == "ack":
            stats.acks += 1
            log.info("%s -> %s: ack (%s) of %s's seq %d delivered at height %s", src.chain_id,
                     dst.chain_id, item.what, dst.chain_id, item.seq, height)
        elif item.kind == "timeout":
            stats.timeouts += 1
            log.info("%s -> %s: timeout of %s's seq %d (%s) delivered at height %s",
                     src.chain_id, dst.chain_id, dst.chain_id, item.seq, item.what, height)
        elif item.kind == "misbehaviour":
            stats.evidence += 1
            log.error("%s -> %s: client of %s frozen by the evidence at height %s",
                      src.chain_id, dst.chain_id, src.chain_id, height)
        elif item.kind == "evidence":
            stats.evidence += 1
            log.error("%s -> %s: %s's validators punished for equivocating, at height %s",
                      src.chain_id, dst.chain_id, dst.chain_id, height)
        else:
            stats.updates += 1
            log.info("%s -> %s: client of %s updated to header %d (%s) at height %s",
                     src.chain_id, dst.chain_id, src.chain_id, item.seq, item.what, height)


async def _done(kind: str, src: Side, dst: Side, first: int) -> bool:
    """Whether dst already has what a failed batch carried (another relayer was faster)."""
    if kind == "update":
        return not await build_client_update(src, dst)
    if kind == "misbehaviour":
        status, doc = await dst.primary.get(f"/qcp/{src.chain_id}/client")
        return status == 200 and doc["value"]["frozen"] is True
    if kind == "evidence":
        return True  # refused: already punished, or not evidence after all; not retried
    there: Channel = await channel(dst, src.chain_id)
    return (there.received if kind == "packet" else there.acked) >= first


async def _wait_either(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Until `stop` or `wake` is set, or `seconds` pass."""
    waiters = [asyncio.ensure_future(e.wait()) for e in (stop, wake)]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
