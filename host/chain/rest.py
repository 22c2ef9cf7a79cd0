"""The one client of a node's REST API (docs/consensus.md "API").

``NodeClient`` is asyncio (aiohttp): the relayer, benchmarks and tests use it, several at once on
one session. ``BlockingNodeClient`` runs the same calls to completion for code without an event
loop (the command line). Error statuses are answers, returned with their JSON body; a node that
cannot be reached, or answers 5xx, raises ``NodeUnreachable``, and an answer that is not what the
API documents raises ``BadAnswer``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from host.chain.fees import fit_fee, minimum_fee

if TYPE_CHECKING:
    import aiohttp

DEFAULT_URL = "http://127.0.0.1:1317"
DEFAULT_TIMEOUT = 10.0
COMMIT_TIMEOUT = 30.0  # seconds the node waits for a tx to commit (its API allows <= 120)
CBOR = "application/cbor"
JSON = "application/json"
QCP_REGISTRY = b"qcp/chain/"  # x/qcp's key of a registered chain

Answer = tuple[int, dict[str, Any]]  # HTTP status and JSON body
T = TypeVar("T")


class NodeError(Exception):
    """The node did not give a usable answer."""


class NodeUnreachable(NodeError):
    """The node could not be reached, or answered 5xx: worth retrying later."""


class BadAnswer(NodeError):
    """The node answered something the API does not document (or refused a query)."""


class NodeClient:
    """REST calls to one node. Give a shared aiohttp session, or use ``async with`` to own one."""

    def __init__(
        self, url: str, session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = url.rstrip("/")
        self.session = session
        self.timeout = timeout
        self._owns_session = session is None

    async def __aenter__(self) -> NodeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self.session is not None:
            await self.session.close()
            self.session = None

    # ---- HTTP ---------------------------------------------------------------------------------
    async def request(
        self, method: str, path: str, body: bytes | None = None, timeout: float | None = None,
        content_type: str = CBOR,
    ) -> Answer:
        """One request: (status, JSON body). 5xx other than 504 (a commit wait that timed out,
        which says something about the tx) raises NodeUnreachable, as does a network error."""
        import aiohttp

        if self.session is None:
            self.session = aiohttp.ClientSession()
        headers = {"Content-Type": content_type} if body is not None else {}
        limit = aiohttp.ClientTimeout(total=timeout or self.timeout)
        try:
            async with self.session.request(
                method, self.url + path, data=body, headers=headers, timeout=limit
            ) as resp:
                try:
                    doc = await resp.json(content_type=None)
                except ValueError:
                    doc = {"error": (await resp.text())[:200]}
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise NodeUnreachable(f"cannot reach the node at {self.url}{path}: "
                                  f"{type(exc).__name__}: {exc}") from None
        if not isinstance(doc, dict):
            raise BadAnswer(f"{self.url}{path}: answer is not a JSON object")
        if status >= 500 and status != 504:
            raise NodeUnreachable(f"{self.url}{path}: HTTP {status}: {doc.get('error', doc)}")
        return status, doc

    async def get(self, path: str) -> Answer:
        return await self.request("GET", path)

    async def _ok(self, path: str) -> dict[str, Any]:
        status, doc = await self.get(path)
        if status != 200:
            raise BadAnswer(f"{self.url}{path}: HTTP {status}: {doc.get('error', doc)}")
        return doc

    # ---- the node -----------------------------------------------------------------------------
    async def status(self) -> dict[str, Any]:
        return await self._ok("/status")

    async def chain_id(self) -> str:
        doc = await self.status()
        if not isinstance(doc.get("chain_id"), str):
            raise BadAnswer(f"{self.url}/status: no chain_id in {doc}")
        return doc["chain_id"]

    async def next_nonce(self, address: bytes) -> int:
        """The nonce the account's next tx must carry (1 for an account the chain has not seen)."""
        status, doc = await self.get(f"/accounts/{address.hex()}")
        if status == 404:
            return 1
        try:
            if status != 200:
                raise ValueError(doc.get("error", doc))
            return int(doc["value"]["nonce"]) + 1
        except (KeyError, TypeError, ValueError) as exc:
            raise BadAnswer(f"{self.url}: account {address.hex()}: HTTP {status}: {exc}") from None

    async def fee_for(self, msg_types: Sequence[str], size_at_zero_fee: int) -> int:
        """The fee to offer for a signed tx of `msg_types` that is `size_at_zero_fee` bytes with
        fee 0: the node's minimum for its exact size plus the tip the node suggests now
        (GET /fees/estimate)."""
        doc = await self._ok(f"/fees/estimate?types={quote(','.join(msg_types), safe='/,')}")
        try:
            rules = {"fees": dict(doc["weights"]),
                     "fee_market": {"per_byte": int(doc["per_byte"]),
                                    "free_bytes": int(doc["free_bytes"])}}
            tip = int(doc["tip"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadAnswer(f"{self.url}/fees/estimate: {exc!r} in {doc}") from None
        return fit_fee(size_at_zero_fee, lambda size: minimum_fee(rules, msg_types, size), tip)

    async def submit(
        self, raw: bytes, wait: str = "commit", timeout: float = COMMIT_TIMEOUT
    ) -> Answer:
        """POST a signed tx. wait="check": 202 admitted; "commit": 200 committed (see `code`),
        410 admitted then dropped (see `reason`), 504 not committed in time (still pending:
        GET /txs/{hash} follows it). 400 refused (see `codespace`)."""
        if wait == "check":
            return await self.request("POST", "/txs?wait=check", raw)
        return await self.request("POST", f"/txs?wait=commit&timeout={timeout:g}", raw,
                                  timeout=timeout + 10)

    async def simulate(self, raw: bytes) -> dict[str, Any] | None:
        """POST /txs/simulate: the node's verdict on a tx whose signature may be blank, and its
        events if it would run ({hash, code, codespace, log, fee, tip, events}); None from a
        node without the route. A refused request raises BadAnswer."""
        status, doc = await self.request("POST", "/txs/simulate", raw)
        if status in (404, 405):
            return None
        if status != 200 or not isinstance(doc.get("code"), int):
            raise BadAnswer(f"{self.url}/txs/simulate: HTTP {status}: {doc.get('error', doc)}")
        return doc

    async def submit_batch(self, raws: list[bytes]) -> list[dict[str, Any]]:
        """POST /txs/batch: the txs admitted in order; per tx {hash, code, codespace, log,
        status: accepted | rejected | unavailable}. A refused request raises BadAnswer."""
        import base64
        import json

        body = json.dumps({"txs": [base64.b64encode(raw).decode() for raw in raws]}).encode()
        status, doc = await self.request("POST", "/txs/batch", body, content_type=JSON)
        results = doc.get("results")
        if status != 200 or not isinstance(results, list) or len(results) != len(raws):
            raise BadAnswer(f"{self.url}/txs/batch: HTTP {status}: {doc.get('error', doc)}")
        return results

    async def store(self, key: bytes, height: int = 0, prove: bool = False) -> Answer:
        """A raw state key: 200 with the value, 404 absent; both with a proof when asked."""
        query = "&".join(([f"height={height}"] if height else []) + (["prove=true"] if prove
                                                                        else []))
        return await self.get(f"/store/{key.hex()}" + (f"?{query}" if query else ""))

    # ---- QCP (what a relayer reads) -----------------------------------------------------------
    async def qcp_seqs(self, other_chain: str) -> tuple[int, int]:
        """(last seq queued to other_chain, last seq received from other_chain)."""
        status, doc = await self.get(f"/qcp/{other_chain}/seq")
        value = doc.get("value")
        if status != 200 or not isinstance(value, dict):
            raise BadAnswer(f"{self.url}: qcp seq for {other_chain}: HTTP {status}: "
                            f"{doc.get('error', doc)}")
        out, inbound = value.get("out"), value.get("in")
        if not (isinstance(out, int) and isinstance(inbound, int) and out >= 0 and inbound >= 0):
            raise BadAnswer(f"{self.url}: qcp seq for {other_chain} is malformed: {value}")
        return out, inbound

    async def qcp_packet(
        self, to_chain: str, seq: int, height: int = 0
    ) -> tuple[bytes, bytes | None, int]:
        """The packet's exact stored bytes, its proof (at `height`) and the state height."""
        # only a proved answer carries the exact stored bytes ("raw"), so always ask for one
        query = f"?height={height}&prove=true" if height else "?prove=true"
        status, doc = await self.get(f"/qcp/{to_chain}/out/{seq}{query}")
        if status != 200:
            raise BadAnswer(f"{self.url}: packet {seq} to {to_chain}: HTTP {status}: "
                            f"{doc.get('error', doc)}")
        try:
            raw = bytes.fromhex(doc["raw"]) if doc.get("raw") else None
            proof = bytes.fromhex(doc["proof"]) if doc.get("proof") else None
            at = int(doc["height"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadAnswer(f"{self.url}: packet {seq} answer is malformed ({exc})") from None
        if raw is None:
            raise BadAnswer(f"{self.url}: packet {seq} answer has no raw bytes")
        return raw, proof, at

    async def signed_block(self, height: int) -> tuple[bytes, list[tuple[bytes, bytes]]] | None:
        """(det-CBOR header, commit's (pubkey, sig) pairs) of a solo-engine block; None if this
        node has no such block."""
        status, doc = await self.get(f"/blocks/{height}/signed")
        if status == 404:
            return None
        if status != 200:
            raise BadAnswer(f"{self.url}: block {height}: HTTP {status}: {doc.get('error')}")
        try:
            return bytes.fromhex(doc["header"]), [(bytes.fromhex(pk), bytes.fromhex(sig))
                                                  for pk, sig in doc["sigs"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise BadAnswer(f"{self.url}: block {height} answer is malformed ({exc})") from None

    async def qcp_registered_validators(self, chain: str) -> list[tuple[bytes, int]] | None:
        """The validator set this chain's client of `chain` holds (None: not registered)."""
        client = await self.qcp_client(chain)
        return None if client is None else client["validators"]

    async def qcp_client(self, chain: str) -> dict | None:
        """This chain's client of `chain` (docs/qcp.md section 3; None: not registered), its
        validators as (pubkey, power) pairs."""
        from host.core import cbor

        status, doc = await self.store(QCP_REGISTRY + chain.encode())
        if status == 404:
            return None
        if status != 200 or not doc.get("raw"):
            raise BadAnswer(f"{self.url}: registry of {chain}: HTTP {status}: {doc.get('error')}")
        try:
            info = cbor.loads(bytes.fromhex(doc["raw"]))
            validators = [(bytes(pk), int(power)) for pk, power in info["validators"]]
            return {**info, "validators": validators}
        except (cbor.CBORError, KeyError, TypeError, ValueError) as exc:
            raise BadAnswer(f"{self.url}: registry of {chain} is malformed ({exc})") from None


class BlockingNodeClient:
    """NodeClient's calls for code without an event loop: each one runs to completion.

        with BlockingNodeClient(url) as node:
            status, doc = node.call(lambda c: c.submit(raw))
    """

    def __init__(self, url: str = DEFAULT_URL, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout
        import asyncio  # here, not at the top: `qos --help` need not load it

        self._loop = asyncio.new_event_loop()
        self._client = NodeClient(url, timeout=timeout)

    def __enter__(self) -> BlockingNodeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._client.close())
            self._loop.close()

    def call(self, fn: Callable[[NodeClient], Awaitable[T]]) -> T:
        return self._loop.run_until_complete(fn(self._client))

    def get(self, path: str) -> Answer:
        return self.call(lambda c: c.get(path))

    def status(self) -> dict[str, Any]:
        return self.call(lambda c: c.status())

    def chain_id(self) -> str:
        return self.call(lambda c: c.chain_id())

    def next_nonce(self, address: bytes) -> int:
        return self.call(lambda c: c.next_nonce(address))

    def fee_for(self, msg_types: Sequence[str], size_at_zero_fee: int) -> int:
        return self.call(lambda c: c.fee_for(msg_types, size_at_zero_fee))

    def submit(self, raw: bytes, wait: str = "commit", timeout: float = COMMIT_TIMEOUT) -> Answer:
        return self.call(lambda c: c.submit(raw, wait, timeout))

    def simulate(self, raw: bytes) -> dict[str, Any] | None:
        return self.call(lambda c: c.simulate(raw))

    def store(self, key: bytes, height: int = 0, prove: bool = False) -> Answer:
        return self.call(lambda c: c.store(key, height, prove))
