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

log = logging.getLogger("qos.relay")

DEFAULT_FEE = 20_000  # fee limit of one relay tx, in units (the chain charges its own price)
COMMIT_TIMEOUT = 30.0  # seconds the node waits for our tx to commit (its API allows <= 120)
MAX_BATCH = 16  # messages per tx (host/core/tx.py MAX_MSGS)
REGISTRY_PREFIX = b"qcp/chain/"


class RelayError(Exception):
    """A wrong or refused answer (malformed reply, rejected tx, too few signatures): logged and
    retried after a pause, since the chains may move on (another relayer, more signers up)."""


class NetworkError(Exception):
    """The node could not be reached or answered 5xx: worth retrying after a pause."""


# ---- REST client ------------------------------------------------------------------------------


class NodeClient:
    """The few REST calls the relayer needs, on one aiohttp session."""

    def __init__(self, url: str, session: Any, request_timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.session = session
        self.request_timeout = request_timeout

    async def _request(self, method: str, path: str, body: bytes | None = None,
                       timeout: float | None = None) -> tuple[int, dict]:
        import aiohttp

        headers = {"Content-Type": "application/cbor"} if body is not None else {}
        limit = aiohttp.ClientTimeout(total=timeout or self.request_timeout)
        try:
            async with self.session.request(method, self.url + path, data=body, headers=headers,
                                            timeout=limit) as resp:
                try:
                    doc = await resp.json(content_type=None)
                except ValueError:
                    doc = {"error": (await resp.text())[:200]}
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise NetworkError(f"{self.url}{path}: {type(exc).__name__}: {exc}") from None
        if status >= 500 and status != 504:
            raise NetworkError(f"{self.url}{path}: HTTP {status}: {doc.get('error', doc)}")
        if not isinstance(doc, dict):
            raise RelayError(f"{self.url}{path}: answer is not a JSON object")
        return status, doc

    async def get(self, path: str) -> tuple[int, dict]:
        return await self._request("GET", path)

    async def chain_id(self) -> str:
        status, doc = await self.get("/status")
        if status != 200 or not isinstance(doc.get("chain_id"), str):
            raise RelayError(f"{self.url}/status: HTTP {status}: {doc.get('error', doc)}")
        return doc["chain_id"]

    async def seqs(self, other_chain: str) -> tuple[int, int]:
        """(last seq queued to other_chain, last seq received from other_chain)."""
        status, doc = await self.get(f"/qcp/{other_chain}/seq")
        value = doc.get("value")
        if status != 200 or not isinstance(value, dict):
            raise RelayError(f"{self.url}: qcp seq for {other_chain}: HTTP {status}: "
                             f"{doc.get('error', doc)}")
        out, inbound = value.get("out"), value.get("in")
        if not (isinstance(out, int) and isinstance(inbound, int) and out >= 0 and inbound >= 0):
            raise RelayError(f"{self.url}: qcp seq for {other_chain} is malformed: {value}")
        return out, inbound

    async def packet(self, to_chain: str, seq: int, height: int = 0) -> tuple[bytes, bytes | None,
                                                                             int]:
        """The packet's exact stored bytes, its proof (with height) and the state height."""
        # only a proved answer carries the exact stored bytes ("raw"), so always ask for one
        query = f"?height={height}&prove=true" if height else "?prove=true"
        status, doc = await self.get(f"/qcp/{to_chain}/out/{seq}{query}")
        if status != 200:
            raise RelayError(f"{self.url}: packet {seq} to {to_chain}: HTTP {status}: "
                             f"{doc.get('error', doc)}")
        try:
            raw = bytes.fromhex(doc["raw"]) if doc.get("raw") else None
            proof = bytes.fromhex(doc["proof"]) if doc.get("proof") else None
            at = int(doc["height"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RelayError(f"{self.url}: packet {seq} answer is malformed ({exc})") from None
        if raw is None:
            raise RelayError(f"{self.url}: packet {seq} answer has no raw bytes")
        return raw, proof, at

    async def header_signature(self, height: int) -> tuple[bytes, bytes, bytes] | None:
        """(app_hash, pubkey, sig) this node signs for header `height`; None if it cannot."""
        status, doc = await self.get(f"/qcp/header/{height}")
        if status == 404:
            log.debug("%s: no header %d (%s)", self.url, height, doc.get("error"))
            return None
        if status != 200:
            raise RelayError(f"{self.url}: header {height}: HTTP {status}: {doc.get('error')}")
        try:
            return (bytes.fromhex(doc["app_hash"]), bytes.fromhex(doc["pubkey"]),
                    bytes.fromhex(doc["sig"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise RelayError(f"{self.url}: header {height} answer is malformed ({exc})") from None

    async def registered_validators(self, chain: str) -> list[tuple[bytes, int]] | None:
        """The validator set this chain registered for `chain` (None: not registered)."""
        from host.core import cbor

        status, doc = await self.get(f"/store/{(REGISTRY_PREFIX + chain.encode()).hex()}")
        if status == 404:
            return None
        if status != 200 or not doc.get("raw"):
            raise RelayError(f"{self.url}: registry of {chain}: HTTP {status}: {doc.get('error')}")
        try:
            info = cbor.loads(bytes.fromhex(doc["raw"]))
            return [(bytes(pk), int(power)) for pk, power in info["validators"]]
        except (cbor.CBORError, KeyError, TypeError, ValueError) as exc:
            raise RelayError(f"{self.url}: registry of {chain} is malformed ({exc})") from None

    async def next_nonce(self, address: bytes) -> int:
        status, doc = await self.get(f"/accounts/{address.hex()}")
        if status == 404:
            return 1
        try:
            if status != 200:
                raise ValueError(doc.get("error", doc))
            return int(doc["value"]["nonce"]) + 1
        except (KeyError, TypeError, ValueError) as exc:
            raise RelayError(f"{self.url}: account {address.hex()}: HTTP {status}: {exc}") from None

    async def submit_and_wait(self, raw: bytes,
                              timeout: float = COMMIT_TIMEOUT) -> tuple[int, dict]:
        """POST the tx with wait=commit: 200 committed (see `code`), 400 rejected, 504 pending."""
        return await self._request("POST", f"/txs?wait=commit&timeout={timeout:g}", raw,
                                   timeout=timeout + 10)


# ---- building a relay -------------------------------------------------------------------------


@dataclass
class Relay:
    """Everything one `qcp/relay` message carries, plus what the relayer checked it against."""

    packet: dict
    proof: bytes
    header: bytes
    app_hash: bytes
    signed_power: int = 0
    total_power: int = 0

    def message(self) -> dict:
        from host.core.tx import qcp_relay

        return qcp_relay(self.packet, self.proof, self.header)


def encode_header(chain: str, height: int, app_hash: bytes,
                  sigs: list[tuple[bytes, bytes]]) -> bytes:
    """The signed header x/qcp checks (format in host/chain/x/qcp/module.py), from signatures
    collected from several nodes."""
    from host.core import cbor

    return cbor.dumps({"chain": chain, "height": height, "app_hash": app_hash,
                       "sigs": [[pk, sig] for pk, sig in sigs]})


def check_packet(raw: bytes, src: str, dst: str, seq: int) -> dict:
    """Decode a packet read from the source and make sure it is the one we asked for."""
    from host.core import cbor

    try:
        packet = cbor.loads(raw)
    except cbor.CBORError as exc:
        raise RelayError(f"packet {seq} from {src} is not det-CBOR ({exc})") from None
    expected = {"from_chain": src, "to_chain": dst, "seq": seq}
    if not isinstance(packet, dict) or any(packet.get(k) != v for k, v in expected.items()):
        raise RelayError(f"{src} answered a different packet than {src} -> {dst} seq {seq}")
    height = packet.get("height")
    if not isinstance(height, int) or height < 1:
        raise RelayError(f"packet {seq} from {src} has no valid height")
    return packet


@dataclass
class Side:
    """One chain: its primary REST client (queries, txs) and every node that may sign headers."""

    name: str  # "A" or "B", for logs
    clients: list[NodeClient]
    chain_id: str = ""

    @property
    def primary(self) -> NodeClient:
        return self.clients[0]


async def build_relay(src: Side, dst: Side, seq: int) -> Relay:
    """Fetch packet `seq` from src with its proof and a header signed by src's validators, and
    check it locally the way dst will: proof under the header's app hash, > 2/3 of the power."""
    from host.chain.store import verify_proof
    from host.chain.x.qcp.module import out_key

    registered = await dst.primary.registered_validators(src.chain_id)
    if registered is None:
        raise RelayError(f"{dst.chain_id} has not registered {src.chain_id} for QCP")
    powers = dict(registered)
    raw, _, _ = await src.primary.packet(dst.chain_id, seq)
    packet = check_packet(raw, src.chain_id, dst.chain_id, seq)
    height = packet["height"]
    proved_raw, proof, at = await src.primary.packet(dst.chain_id, seq, height)
    if proved_raw != raw or proof is None or at != height:
        raise RelayError(f"{src.name}: packet {seq} changed or lacks a proof at height {height}")
    key = out_key(dst.chain_id, seq)
    by_hash = await _header_signatures(src, dst.chain_id, height + 1, powers)
    total = sum(powers.values())
    if not by_hash:
        raise RelayError(_too_little_power(src.chain_id, height + 1, 0, total))
    app_hash = next((h for h in by_hash if verify_proof(h, key, raw, proof)), None)
    if app_hash is None:
        raise RelayError(f"{src.name}: no signed header {height + 1} of {src.chain_id} under "
                         f"which the proof of packet {seq} verifies")
    sigs = sorted(by_hash[app_hash].items())
    signed = sum(powers[pk] for pk, _ in sigs)
    if 3 * signed <= 2 * total:
        raise RelayError(_too_little_power(src.chain_id, height + 1, signed, total))
    header = encode_header(src.chain_id, height + 1, app_hash, sigs)
    return Relay(packet, proof, header, app_hash, signed, total)


async def _header_signatures(src: Side, dst_chain: str, height: int,
                             powers: dict[bytes, int]) -> dict[bytes, dict[bytes, bytes]]:
    """Valid signatures of src's header `height` by keys dst registered, grouped by the app hash
    they sign (nodes that disagree are sorted out by the proof). Only the primary must answer."""
    from host.chain.x.qcp.module import header_sign_bytes
    from host.core.keys import verify

    answers = await asyncio.gather(*(c.header_signature(height) for c in src.clients),
                                   return_exceptions=True)
    by_hash: dict[bytes, dict[bytes, bytes]] = {}
    for client, answer in zip(src.clients, answers, strict=True):
        if isinstance(answer, NetworkError | RelayError):
            if client is src.primary:
                raise answer
            log.warning("%s: header signer unavailable: %s", src.name, answer)  # others may do
            continue
        if isinstance(answer, BaseException):
            raise answer
        if answer is None:
            continue
        app_hash, pubkey, sig = answer
        if pubkey not in powers:
            log.warning("%s: %s signs headers with a key %s has not registered; ignored",
                        src.name, client.url, dst_chain)
        elif verify(pubkey, header_sign_bytes(src.chain_id, height, app_hash), sig):
            by_hash.setdefault(app_hash, {})[pubkey] = sig
        else:
            log.warning("%s: a node gave a bad header signature for height %d; ignored",
                        src.name, height)
    return by_hash


def _too_little_power(chain: str, height: int, signed: int, total: int) -> str:
    return (f"header {height} of {chain} is signed by {signed} of {total} registered power; "
            f"more than 2/3 is needed (give the API URLs of more {chain} validator nodes)")


def sign_relay_tx(account: Any, chain_id: str, nonce: int, messages: list[dict],
                  fee: int = DEFAULT_FEE) -> bytes:
    from host.core.tx import SignedTx, Tx

    tx = Tx(chain_id, nonce, fee, tuple(messages), "qcp relay")
    return SignedTx(tx, account.pubkey, account.sign(tx.sign_bytes())).encode()


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
    account: Any  # host.core.keys.Account: pays relay fees on both chains
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
            except NetworkError as exc:
                await self._pause(stop, backoff, f"{side.name}: {exc}")

    async def _direction(self, src: Side, dst: Side, stop: asyncio.Event) -> None:
        name = f"{src.chain_id}->{dst.chain_id}"
        stats = self.stats.setdefault(name, Stats())
        backoff = Backoff(self.backoff_base, self.backoff_cap)
        while not stop.is_set():
            try:
                moved = await self.relay_pending(src, dst, stats, stop)
            except (NetworkError, RelayError) as exc:
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
            out, _ = await src.primary.seqs(dst.chain_id)
            _, received = await dst.primary.seqs(src.chain_id)
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
        status, doc = await dst.primary.submit_and_wait(raw)
        if status == 200 and doc.get("code") == 0:
            for relay in relays:
                self._log_delivered(src, dst, relay, doc.get("height"), stats)
            stats.txs += 1
            stats.batch_limit = 0  # back to full batches
            return len(relays)
        # Rejected, failed in the block, or not committed in time: the chain decides what
        # happened; if dst moved past (another relayer, or our tx after all), move on.
        _, received = await dst.primary.seqs(src.chain_id)
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


def fit_relays(account: Any, chain_id: str, nonce: int, relays: list[Relay],
               fee: int) -> tuple[bytes, list[Relay]]:
    """Sign a tx with the longest prefix of `relays` that fits the chain's tx size limit."""
    from host.core.tx import TxError

    for count in range(len(relays), 0, -1):
        try:
            messages = [r.message() for r in relays[:count]]
            return sign_relay_tx(account, chain_id, nonce, messages, fee), relays[:count]
        except TxError as exc:
            if count == 1:
                raise RelayError(f"packet {relays[0].packet['seq']} cannot be relayed: "
                                 f"{exc}") from None
    raise RelayError("nothing to relay")


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
