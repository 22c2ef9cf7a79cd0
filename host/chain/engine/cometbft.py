"""The QOS application under CometBFT: the ABCI server plus the node-side view the API needs.

CometBFT owns consensus, the mempool and the signed block store; this side records each block's
txs and results as FinalizeBlock/Commit pass by (so the API reads txs and blocks locally and wakes
tx waiters at commit), and forwards submitted txs to CometBFT's RPC (broadcast_tx_sync).

CometBFT keeps its mempool in memory only, and it restarts whenever it or this app process dies
(it exits when it loses the ABCI connection). Txs this node acknowledged before such a restart
are then in no mempool and, unless another validator holds them, would never commit, and nothing
rechecks them. So after the first block committed in a new CometBFT session, the txs still
pending from before it are broadcast again: CometBFT takes back each it lost (or answers
"already exists" for one a client re-sent), and one that no longer passes CheckTx is reported
dropped with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from host.chain.engine.abci_server import AbciServer
from host.chain.engine.base import Application, EngineError, EngineUnavailable, MempoolFull
from host.chain.engine.blockstore import BlockStore
from host.chain.engine.recorder import Recorder
from host.chain.types import TxResult
from host.core.errors import Code

log = logging.getLogger("qos.cometbft")


class RpcError(EngineError):
    """CometBFT answered a JSON-RPC call with an error."""


class CometEngine:
    name = "cometbft"

    def __init__(
        self, app: Application, store: BlockStore, abci_address: str, rpc_url: str,
        rpc_batch: int = 10,
    ) -> None:
        self.app = app
        self.rpc_batch = rpc_batch  # CometBFT refuses JSON-RPC batches over its configured size
        self.store = store
        self.rpc_url = rpc_url.rstrip("/")
        self.recorder = Recorder(store)
        self.abci = AbciServer(app, abci_address, listener=self)
        self._session: Any = None
        self._last_hash = b""
        self._executing: tuple[int, bytes, int, bytes, dict] | None = None  # begun, not stored
        self._lost_before: float | None = None  # a CometBFT session began: txs acked earlier
        self._resubmitting: asyncio.Task | None = None

    @property
    def chain_id(self) -> str:
        return self.app.info().chain_id

    async def start(self) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        info = self.app.info()
        self.recorder.last_height = info.last_height
        self.recorder.last_app_hash = info.last_app_hash
        # a block recorded but not committed before a crash is re-sent by CometBFT's handshake
        self.store.truncate_above(info.last_height)
        await self.abci.start()

    async def stop(self) -> None:
        if self._resubmitting is not None:
            self._resubmitting.cancel()
        await self.abci.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ---- AbciServer listener ------------------------------------------------------------------
    def begin(self, req: Any, txs: list[bytes]) -> None:
        time_ns = req.time.seconds * 1_000_000_000 + req.time.nanos
        header = {
            "chain": self.app.info().chain_id,
            "height": req.height,
            "time": time_ns,
            "hash": bytes(req.hash),
            "proposer": bytes(req.proposer_address),
            "next_validators_hash": bytes(req.next_validators_hash),
        }
        self._last_hash = bytes(req.hash)
        self._executing = (req.height, bytes(req.hash), time_ns, header["proposer"], header)

    def executed(self, height: int, txs: list[bytes], result: Any) -> None:
        """Store the block with its results (each tx written once), then record it."""
        block, self._executing = self._executing, None
        assert block is not None and block[0] == height, "the AbciServer calls begin() first"
        self.store.save_block(*block, txs, result=result)
        self.recorder.executed(height, txs, result)

    def committed(self, height: int) -> None:
        self.recorder.committed(height)
        if self._lost_before is not None and self._resubmitting is None:
            cutoff, self._lost_before = self._lost_before, None
            self._resubmitting = asyncio.get_running_loop().create_task(self._resubmit(cutoff))

    def session_started(self) -> None:
        import time

        self._lost_before = time.time()

    def dropped(self, tx_hash: bytes, reason: str) -> None:
        self.recorder.dropped(tx_hash, reason)

    async def _resubmit(self, cutoff: float) -> None:
        """Broadcast again, in the order they were acknowledged, the txs pending since before
        `cutoff` (a CometBFT restart); if CometBFT cannot take them now, try after the next
        block."""
        import base64

        sent = 0
        try:
            for tx_hash, raw, since in self.store.pending():
                if since >= cutoff:
                    break
                sent += 1
                try:
                    res = await self.rpc("broadcast_tx_sync", tx=base64.b64encode(raw).decode())
                except RpcError as exc:
                    if "already exists" in str(exc):
                        continue  # a client sent it again since: CometBFT holds it
                    raise
                code = int(res.get("code", 0))
                if code != 0:
                    reason = f"{res.get('codespace', '')}: {res.get('log', '')}"
                    self.recorder.dropped(
                        tx_hash, f"lost in a CometBFT restart and refused again: {reason}"
                    )
            if sent:
                log.info("%d txs pending from before the CometBFT session broadcast again", sent)
        except EngineError as exc:
            log.warning("broadcasting pending txs again after the next block: %s", exc)
            self._lost_before = cutoff
        finally:
            self._resubmitting = None

    # ---- what the API calls -------------------------------------------------------------------
    async def wait_failed(self) -> BaseException:
        """CometBFT runs (and fails) in its own process; this side stops only when the app
        refused a block for a governance upgrade plan (UpgradeNeeded: qosd exits with 3)."""
        while self.abci.halted is None:
            await asyncio.sleep(0.5)
        return self.abci.halted

    async def rpc(self, method: str, **params: Any) -> Any:
        """A CometBFT JSON-RPC call: its `result`, or RpcError with its error; EngineUnavailable
        when CometBFT does not answer."""
        answer = (await self._post({"jsonrpc": "2.0", "id": 1, "method": method,
                                    "params": params}))[0]
        if isinstance(answer, RpcError):
            raise answer
        return answer

    async def _post(self, body: dict | list[dict]) -> list[Any]:
        """POST one JSON-RPC call or a batch of them (CometBFT runs a batch's calls in order):
        per call its `result` or an RpcError, in the order of the calls."""
        import aiohttp

        if self._session is None:
            raise EngineUnavailable("engine not started")
        calls = body if isinstance(body, list) else [body]
        try:
            async with self._session.post(self.rpc_url, json=body) as resp:
                doc = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            raise EngineUnavailable(f"CometBFT RPC {self.rpc_url}: {exc}") from exc
        answers = doc if isinstance(body, list) and isinstance(doc, list) else [doc]
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
        out: list[Any] = []
        for call in calls:
            answer = by_id.get(call["id"])
            if answer is None or ("error" not in answer and "result" not in answer):
                raise EngineUnavailable(
                    f"CometBFT RPC {self.rpc_url}: not a JSON-RPC answer: {str(doc)[:300]}")
            if "error" in answer:
                err = answer["error"]
                message = f"{err.get('message', '')}: {err.get('data', '')}".strip(": ")
                out.append(RpcError(message))
            else:
                out.append(answer["result"])
        return out

    async def broadcast(self, raw: bytes) -> TxResult:
        import base64

        answer = await self._post({"jsonrpc": "2.0", "id": 0, "method": "broadcast_tx_sync",
                                   "params": {"tx": base64.b64encode(raw).decode()}})
        return self._admitted(raw, answer[0])

    async def broadcast_batch(self, raws: list[bytes]) -> list[TxResult | EngineError]:
        """JSON-RPC batches of broadcast_tx_sync calls: one HTTP round trip per rpc_batch txs.
        Each batch's answers are recorded before the next is sent, so if CometBFT stops answering
        midway the txs it took are still acknowledged and the rest are EngineUnavailable."""
        import base64

        calls = [{"jsonrpc": "2.0", "id": i, "method": "broadcast_tx_sync",
                  "params": {"tx": base64.b64encode(raw).decode()}} for i, raw in enumerate(raws)]
        results: list[TxResult | EngineError] = []
        for i in range(0, len(calls), self.rpc_batch):
            try:
                answers = await self._post(calls[i : i + self.rpc_batch])
            except EngineUnavailable as exc:
                if not results:
                    raise
                return results + [exc] * (len(raws) - len(results))
            for raw, answer in zip(raws[i : i + self.rpc_batch], answers, strict=True):
                try:
                    results.append(self._admitted(raw, answer))
                except EngineError as exc:
                    results.append(exc)
        return results

    def _admitted(self, raw: bytes, answer: Any) -> TxResult:
        """The TxResult of CometBFT's answer to broadcast_tx_sync(raw) (recorded as accepted or
        rejected); MempoolFull or EngineUnavailable when CometBFT could not decide."""
        from hashlib import sha256

        tx_hash = sha256(raw).digest()
        if isinstance(answer, RpcError):
            text = str(answer)
            if "already exists" in text:
                self.recorder.rejected()
                return TxResult.failed(Code.ALREADY_EXISTS, text, tx_hash)
            if "mempool is full" in text:
                raise MempoolFull(text) from answer
            if "too large" in text:
                self.recorder.rejected()
                return TxResult.failed(Code.TX_TOO_LARGE, text, tx_hash)
            raise EngineUnavailable(f"broadcast_tx_sync: {text}") from answer
        code = int(answer.get("code", 0))
        if code == 0:
            self.recorder.accepted(tx_hash, raw)
        else:
            self.recorder.rejected()
        codespace = answer.get("codespace") or ("ok" if code == 0 else "")
        return TxResult(code, answer.get("log", ""), codespace, tx_hash=tx_hash)

    def status(self) -> dict:
        info = self.app.info()
        return {
            "engine": self.name,
            "chain_id": info.chain_id,
            "height": info.last_height,
            "app_hash": info.last_app_hash.hex(),
            "last_block_hash": self._last_hash.hex(),
            "cometbft_rpc": self.rpc_url,
        }

    async def validator_set(self) -> list[dict]:
        import base64

        try:
            res = await self.rpc("validators", per_page="100")
        except RpcError as exc:
            raise EngineUnavailable(f"validators: {exc}") from exc
        return [
            {
                "address": v["address"].lower(),
                "pubkey": base64.b64decode(v["pub_key"]["value"]).hex(),
                "power": int(v["voting_power"]),
            }
            for v in res["validators"]
        ]
