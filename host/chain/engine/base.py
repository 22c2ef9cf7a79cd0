"""What the node needs from an engine, and the errors an engine raises (CometBFT keeps each
interface with its errors in the package that owns it; so does this one).

The API and the node depend on this protocol only: the solo engine (solo.py) and the CometBFT
adapter (cometbft.py) implement it.
"""

from __future__ import annotations

from typing import Any, Protocol

from host.chain.engine.recorder import Recorder
from host.chain.types import AppInfo, BlockInfo, BlockResult, InitResult, QueryResult, TxResult


class EngineError(Exception):
    """The engine could not take the request now; the client may retry later (HTTP 503)."""


class MempoolFull(EngineError):
    """The mempool cannot take more txs right now; try again after the next block."""


class EngineUnavailable(EngineError):
    """The consensus engine does not answer (CometBFT's RPC is down or failing)."""


class Application(Protocol):
    """What an engine drives: the ABCI-shaped state machine (host/chain/app.py implements it;
    its docstring states the contract)."""

    def info(self) -> AppInfo: ...

    def init_chain(self, genesis: Any) -> InitResult: ...

    def check_tx(self, raw: bytes, recheck: bool = False) -> TxResult: ...

    def finalize_block(self, block: BlockInfo) -> BlockResult: ...

    def commit(self) -> None: ...

    def query(
        self, path: str, data: bytes = b"", height: int = 0, prove: bool = False
    ) -> QueryResult: ...


class Engine(Protocol):
    """Drives the application: orders txs into blocks, executes and commits them."""

    name: str
    recorder: Recorder  # blocks, tx results and events as the node saw them commit

    @property
    def chain_id(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def wait_failed(self) -> BaseException:
        """The error that stopped the engine; never returns while it runs."""
        ...

    async def broadcast(self, raw: bytes) -> TxResult:
        """check_tx, then into the mempool. A refused tx is a TxResult with its code; raises
        MempoolFull or EngineUnavailable when the engine cannot decide now."""
        ...

    async def broadcast_batch(self, raws: list[bytes]) -> list[TxResult | EngineError]:
        """broadcast() of each tx in order, in one round trip where the engine allows: per tx
        its TxResult, or the MempoolFull/EngineUnavailable that kept it out. Raises
        EngineUnavailable when the engine does not answer at all."""
        ...

    def status(self) -> dict[str, Any]: ...

    async def validator_set(self) -> list[dict[str, Any]]:
        """The consensus validator set: [{"address", "pubkey", "power"}] (hex strings)."""
        ...
