"""Building what a relayer submits (docs/qcp.md section 9): a packet relay, an ack or a timeout,
each with its Merkle proofs at the prover chain's latest height h and header h + 1 signed by that
chain's validators, checked locally the way the receiving chain will check it (a message that
would fail costs a fee)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from host.chain.relayer import DEFAULT_FEE
from host.chain.rest import BadAnswer, NodeClient, NodeError
from host.chain.x.context import dec
from host.chain.x.qcp.client import LAST_TIME, block_header
from host.chain.x.qcp.module import ack_key, decode_packet, out_key, timed_out
from host.core.keys import Account

log = logging.getLogger("qos.relay")


class RelayError(Exception):
    """A message that cannot be made now (an answer that is not the one asked for, too few
    signatures, a refused tx): logged and retried after a pause, since the chains may move on
    (another relayer, more signers up). Node failures are rest.NodeError, retried the same way."""


class Equivocation(RelayError):
    """Two headers of one height of a chain, each signed by more than 2/3 of the power the other
    chain holds for it, with different app hashes: evidence that freezes that client."""

    def __init__(self, chain: str, height: int, message: dict) -> None:
        super().__init__(f"{chain}'s validators signed two app hashes for header {height}")
        self.height = height
        self.message = message


@dataclass
class Side:
    """One chain: its primary REST client (queries, txs) and every node that may sign headers."""

    name: str  # "A" or "B", for logs
    clients: list[NodeClient]
    chain_id: str = ""
    rpc: str = ""  # CometBFT's RPC URL when the chain runs CometBFT: headers come from commits

    @property
    def primary(self) -> NodeClient:
        return self.clients[0]


@dataclass
class Proven:
    """One message for the target chain, with what the relayer checked it against."""

    kind: str  # "packet" (qcp/relay), "ack" (qcp/ack), "timeout", "update", "misbehaviour"
    # (freezes the target's client) or "evidence" (the target punishes its own validators)
    seq: int  # the packet's seq; for an update, the header's height
    message: dict
    what: str = ""  # for the log: the payload's type, the ack's outcome
    signed_power: int = 0
    total_power: int = 0


@dataclass
class Channel:
    """One chain's cursors towards the other (GET /qcp/<other>/seq)."""

    out: int  # last seq it queued to the other chain
    received: int  # last seq it received from the other chain
    acked: int  # last seq of its own it resolved (ack or timeout)


async def channel(side: Side, other: str) -> Channel:
    status, doc = await side.primary.get(f"/qcp/{other}/seq")
    value = doc.get("value") if status == 200 else None
    cursors = [value.get(k) for k in ("out", "in", "acked")] if isinstance(value, dict) else []
    checked = [c for c in cursors if isinstance(c, int) and c >= 0]
    if len(checked) != 3:
        raise BadAnswer(f"{side.primary.url}: qcp seq for {other}: HTTP {status}: "
                        f"{doc.get('error', doc)}")
    return Channel(*checked)


def check_packet(raw: bytes, src: str, dst: str, seq: int) -> dict:
    """Decode a packet read from the source and make sure it is the one we asked for."""
    from host.core.errors import TxError

    try:
        packet = decode_packet(raw)
    except TxError as exc:
        raise RelayError(f"packet {seq} from {src}: {exc.log}") from None
    expected = {"from_chain": src, "to_chain": dst, "seq": seq}
    if any(packet.get(k) != v for k, v in expected.items()):
        raise RelayError(f"{src} answered a different packet than {src} -> {dst} seq {seq}")
    return packet


async def _proved(side: Side, key: bytes, height: int = 0) -> tuple[bytes | None, bytes, int]:
    """(stored bytes or None when absent, Merkle proof, state height) of a key on `side`."""
    status, doc = await side.primary.store(key, height, prove=True)
    try:
        if status not in (200, 404) or not doc.get("proof"):
            raise ValueError(f"HTTP {status}: {doc.get('error', doc)}")
        raw = bytes.fromhex(doc["raw"]) if status == 200 else None
        return raw, bytes.fromhex(doc["proof"]), int(doc["height"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadAnswer(f"{side.primary.url}: proof of {key!r}: {exc}") from None


async def build_relay(src: Side, dst: Side, seq: int) -> Proven:
    """Packet `seq` of src for dst, proven at src's latest height."""
    raw, proof, height = await _proved(src, out_key(dst.chain_id, seq))
    if raw is None:
        raise RelayError(f"{src.name}: no packet {seq} to {dst.chain_id}")
    packet = check_packet(raw, src.chain_id, dst.chain_id, seq)
    header, signed, total = await signed_header(src, dst, height + 1,
                                                [(out_key(dst.chain_id, seq), raw, proof)])
    from host.core.tx import qcp_relay

    return Proven("packet", seq, qcp_relay(raw, proof, header),
                  str(packet["payload"].get("type")), signed, total)


async def build_ack(prover: Side, target: Side, seq: int) -> Proven:
    """The ack `prover` wrote for target's packet `seq`, for target to resolve it."""
    from host.core import cbor
    from host.core.tx import qcp_ack

    key = ack_key(target.chain_id, seq)
    raw, proof, height = await _proved(prover, key)
    if raw is None:
        raise RelayError(f"{prover.name}: no ack of {target.chain_id}'s packet {seq} yet")
    header, signed, total = await signed_header(prover, target, height + 1, [(key, raw, proof)])
    outcome = "ok" if cbor.loads(raw).get("ok") is True else "error"
    return Proven("ack", seq, qcp_ack(prover.chain_id, seq, raw, proof, header), outcome,
                  signed, total)


async def build_timeout(prover: Side, target: Side, seq: int) -> Proven | None:
    """A proof that target's packet `seq` can no longer be received on `prover` (no ack there
    at a height and time past its timeout), or None while it is not late."""
    import cbor2

    from host.core.tx import qcp_timeout

    raw_packet, _, _ = await _proved(target, out_key(prover.chain_id, seq))
    if raw_packet is None:
        raise RelayError(f"{target.name}: no packet {seq} to {prover.chain_id}")
    packet = check_packet(raw_packet, target.chain_id, prover.chain_id, seq)
    key = ack_key(target.chain_id, seq)
    ack, absence, height = await _proved(prover, key)
    if ack is not None:
        return None  # received after all: its ack resolves it
    time_raw, time_proof, at = await _proved(prover, LAST_TIME, height)
    if time_raw is None or at != height:
        raise RelayError(f"{prover.name}: no block time at height {height}")
    if not timed_out(packet, height, cbor2.loads(time_raw)):
        return None
    header, signed, total = await signed_header(
        prover, target, height + 1, [(key, None, absence), (LAST_TIME, time_raw, time_proof)])
    proof = cbor2.dumps({"absence": absence, "time": time_raw, "time_proof": time_proof},
                        canonical=True)
    return Proven("timeout", seq, qcp_timeout(prover.chain_id, seq, proof, header),
                  f"late at height {height}", signed, total)


async def build_client_update(prover: Side, target: Side) -> list[Proven]:
    """The updates that bring target's client of `prover` to prover's active set (its
    staking/set), or refresh it once half its trusting period has passed in prover's time:
    one update, or several by bisection (bisect_updates) when the set moved too far for one.
    Empty while the client is current."""
    import cbor2

    from host.chain.x.staking.keeper import SET

    client = await target.primary.qcp_client(prover.chain_id)
    raw, _, height = await _proved(prover, SET)
    if raw is None or client is None or client.get("frozen"):
        return []
    time_raw, _, _ = await _proved(prover, LAST_TIME, height)
    trusted = dict(client["validators"])
    active = {pk: power for pk, power in cbor2.loads(raw).items() if power > 0}
    stale = time_raw is not None and \
        cbor2.loads(time_raw) >= client["time"] + client["trusting_period"] / 2
    if active == trusted and not stale:
        return []

    async def update_at(h: int, keys: dict[bytes, int]) -> Candidate:
        return await _update_candidate(prover, h, keys)

    return await bisect_updates(trusted, max(client["height"] - 1, 0), height, update_at)


@dataclass
class Candidate:
    """An update of a client proven at one height: its message, the keys that signed its
    header and the set it proves."""

    proven: Proven
    signed: set[bytes]
    validators: dict[bytes, int]


async def bisect_updates(trusted: dict[bytes, int], low: int, high: int,
                         update_at: Callable[[int, dict[bytes, int]], Awaitable[Candidate]],
                         ) -> list[Proven]:
    """CometBFT's bisection: the updates, in order, that move a client trusting `trusted` (as
    of state height `low`) to the state at `high`. `update_at(h, trusted)` proves the set at
    state height h under header h + 1, with its signers among the trusted and proven keys.
    A candidate the chain would refuse (client.trusts_update) is retried halfway between the
    last trusted height and it; an accepted one becomes the trust. Updates that do not change
    the set are not sent, except the last (it carries the newest time)."""
    from host.chain.x.qcp.client import trusts_update

    path: list[Proven] = []
    pivot = high
    while True:
        candidate = await update_at(pivot, trusted)
        if trusts_update(trusted, candidate.signed, candidate.validators):
            if candidate.validators != trusted or pivot == high:
                path.append(candidate.proven)
            if pivot == high:
                return path
            trusted, low, pivot = candidate.validators, pivot, high
        elif pivot - low <= 1:
            raise RelayError(f"no header between state heights {low} and {high} is trusted "
                             "by the client's set: the client must be registered again")
        else:
            pivot = (low + pivot) // 2


async def _update_candidate(prover: Side, height: int, trusted: dict[bytes, int]) -> Candidate:
    import cbor2

    from host.chain.x.staking.keeper import SET
    from host.core.tx import qcp_update_client

    raw, proof, _ = await _proved(prover, SET, height)
    time_raw, time_proof, _ = await _proved(prover, LAST_TIME, height)
    if raw is None or time_raw is None:
        raise RelayError(f"{prover.name}: no validator set or time at height {height}")
    validators = {pk: power for pk, power in cbor2.loads(raw).items() if power > 0}
    header, signers = await header_signers_at(
        prover, height + 1, [(SET, raw, proof), (LAST_TIME, time_raw, time_proof)],
        {**trusted, **validators})
    message = qcp_update_client(prover.chain_id, header, cbor2.dumps(
        {"set": raw, "proof": proof, "time": time_raw, "time_proof": time_proof},
        canonical=True))
    signed = sum(validators.get(pk, 0) for pk in signers)
    proven = Proven("update", height + 1, message, f"{len(validators)} validators", signed,
                    sum(validators.values()))
    return Candidate(proven, signers, validators)


async def signed_header(src: Side, dst: Side, height: int,
                        checks: list[tuple[bytes, bytes | None, bytes]]) -> tuple[bytes, int, int]:
    """Header `height` of src, signed by more than 2/3 of the power dst registered for src, over
    the app hash under which every (key, value or None, proof) of `checks` verifies; with the
    signed and the total power."""
    registered = await dst.primary.qcp_registered_validators(src.chain_id)
    if registered is None:
        raise RelayError(f"{dst.chain_id} has not registered {src.chain_id} for QCP")
    powers = dict(registered)
    header, signers = await header_signers_at(src, height, checks, powers)
    signed, total = sum(powers[pk] for pk in signers), sum(powers.values())
    if 3 * signed <= 2 * total:
        raise RelayError(_too_little_power(src.chain_id, height, signed, total))
    return header, signed, total


async def header_signers_at(src: Side, height: int,
                            checks: list[tuple[bytes, bytes | None, bytes]],
                            powers: dict[bytes, int]) -> tuple[bytes, set[bytes]]:
    """Header `height` of src over the app hash under which every check verifies, with the
    keys of `powers` that signed it."""
    from host.chain.store import verify_proof

    if src.rpc:
        return await _commit_header(src, height, checks, powers)
    total = sum(powers.values())
    blocks = await _signed_blocks(src, height, powers)
    strong = {dec(block)["app_hash"]: header for header, (block, signers) in blocks.items()
              if 3 * sum(powers[pk] for pk in signers) > 2 * total}
    if len(strong) > 1:
        from host.core.tx import qcp_misbehaviour

        first, second = list(strong.values())[:2]
        raise Equivocation(src.chain_id, height, qcp_misbehaviour(src.chain_id, first, second))
    for header, (block, signers) in blocks.items():
        if all(verify_proof(dec(block)["app_hash"], k, v, p) for k, v, p in checks):
            return header, signers
    if not blocks:
        raise RelayError(_too_little_power(src.chain_id, height, 0, total))
    raise RelayError(f"{src.name}: no signed block {height} of {src.chain_id} under which the "
                     "proofs verify")


async def _commit_header(src: Side, height: int, checks: list[tuple[bytes, bytes | None, bytes]],
                         powers: dict[bytes, int]) -> tuple[bytes, set[bytes]]:
    """Header `height` of a CometBFT chain with the commit its validators signed in consensus
    (RPC /commit), in the QCP form of cometbft.py; waits a few blocks for it to be committed."""
    import aiohttp

    from host.chain.store import verify_proof
    from host.chain.x.context import enc
    from host.chain.x.qcp.cometbft import commit_signers, light_header

    session = src.primary.session
    if session is None:
        raise RelayError(f"{src.name}: no HTTP session")
    for _ in range(50):
        try:
            async with session.get(f"{src.rpc}/commit", params={"height": str(height)},
                                   timeout=aiohttp.ClientTimeout(total=10)) as resp:
                doc = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RelayError(f"{src.name}: CometBFT RPC {src.rpc}: {exc}") from None
        if isinstance(doc, dict) and "result" in doc:
            break
        await asyncio.sleep(0.2)  # block `height` is not committed yet
    else:
        raise RelayError(f"{src.name}: CometBFT has no commit for height {height} yet")
    header = light_header(doc["result"]["signed_header"])
    if not all(verify_proof(header["app_hash"], k, v, p) for k, v, p in checks):
        raise RelayError(f"{src.name}: the proofs do not verify under CometBFT header {height}")
    signers = commit_signers(header["chain"], height, header["app_hash"], header["cometbft"],
                             powers)
    return enc(header), signers


async def _signed_blocks(src: Side, height: int, powers: dict[bytes, int],
                         ) -> dict[bytes, tuple[bytes, set[bytes]]]:
    """src's block `height` as each of its nodes serves it, as QCP headers keeping only the
    signatures of keys in `powers` that verify: {header: (block, signers)}. Two blocks each
    signed by > 2/3 are an equivocation. Only the primary must answer (it is waited for)."""
    from host.chain.x.qcp.client import header_signers, parse_header
    from host.core.errors import TxError

    for _ in range(100):  # block `height` is the one after the proven state: wait for it
        if await src.primary.signed_block(height) is not None:
            break
        await asyncio.sleep(0.1)
    answers = await asyncio.gather(*(c.signed_block(height) for c in src.clients),
                                   return_exceptions=True)
    blocks: dict[bytes, tuple[bytes, set[bytes]]] = {}
    for client, answer in zip(src.clients, answers, strict=True):
        if isinstance(answer, NodeError | RelayError):
            if client is src.primary:
                raise answer
            log.warning("%s: block source unavailable: %s", src.name, answer)  # others may do
            continue
        if isinstance(answer, BaseException):
            raise answer
        if answer is None:
            continue
        block, sigs = answer
        try:
            header = block_header(block, [(pk, sig) for pk, sig in sigs if pk in powers])
            signers = header_signers(parse_header(header, src.chain_id), powers)
        except (TxError, KeyError, TypeError, ValueError) as exc:
            log.warning("%s: %s served a bad block %d: %s; ignored", src.name, client.url,
                        height, exc)
            continue
        if signers:
            header = block_header(block, [(pk, sig) for pk, sig in sigs if pk in signers])
            blocks[header] = (block, signers)
    return blocks


def _too_little_power(chain: str, height: int, signed: int, total: int) -> str:
    return (f"header {height} of {chain} is signed by {signed} of {total} registered power; "
            f"more than 2/3 is needed (give the API URLs of more {chain} validator nodes)")


def sign_relay_tx(account: Account, chain_id: str, nonce: int, messages: list[dict],
                  fee: int = DEFAULT_FEE) -> bytes:
    from host.core.tx import SignedTx, Tx

    tx = Tx(chain_id, nonce, fee, tuple(messages), "qcp relay")
    return SignedTx(tx, account.pubkey, account.sign(tx.sign_bytes())).encode()


def fit_batch(account: Account, chain_id: str, nonce: int, items: list[Proven],
              fee: int) -> tuple[bytes, list[Proven]]:
    """Sign a tx with the longest prefix of `items` that fits the chain's tx size limit."""
    from host.core.errors import TxError

    for count in range(len(items), 0, -1):
        try:
            messages = [item.message for item in items[:count]]
            return sign_relay_tx(account, chain_id, nonce, messages, fee), items[:count]
        except TxError as exc:
            if count == 1:
                raise RelayError(f"{items[0].kind} {items[0].seq} cannot be relayed: "
                                 f"{exc}") from None
    raise RelayError("nothing to relay")
