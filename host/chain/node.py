"""A QOS node: the application, an engine (solo or CometBFT) and the REST/websocket API.

Home directory layout (written by `qosd init` / `qosd testnet`):
    config/node.toml               this file's NodeConfig
    config/genesis.json            solo: the app genesis (host.chain.genesis JSON; absent in a
                                   home made by `qosd init --from-export`, host/chain/export.py);
                                   cometbft: CometBFT's genesis with that JSON as app_state
    config/priv_validator_key.json the validator's consensus key (CometBFT format)
    data/app.db                    application state (host.chain.store)
    data/blocks.db                 blocks and tx results (host.chain.engine.blockstore)
    data/index.db                  the explorer's index (host.chain.indexer; rebuilt if deleted)
    data/LOCK                      held (flock) by the running node: one process per home
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from host.chain.homelock import HomeLock
from host.chain.upgrade import UpgradeNeeded

if TYPE_CHECKING:
    from aiohttp import web

    from host.chain.app import Application
    from host.chain.engine.base import Engine
    from host.chain.engine.blockstore import BlockStore
    from host.chain.engine.privval import ValidatorKey
    from host.chain.engine.solo import SoloEngine
    from host.chain.indexer import Indexer

log = logging.getLogger("qos.node")


@dataclass
class NodeConfig:
    chain_id: str = "qos-local"
    engine: str = "solo"  # solo | cometbft
    api_listen: str = "127.0.0.1:1317"
    block_interval: float = 3.0  # solo: seconds between blocks
    create_empty_blocks: bool = True  # solo: also produce blocks with no txs
    max_block_txs: int = 10000  # solo
    mempool_txs: int = 50000  # solo
    abci_listen: str = "unix://data/abci.sock"  # cometbft: where CometBFT's proxy_app connects
    cometbft_rpc: str = "http://127.0.0.1:26657"  # cometbft: its RPC, for broadcast_tx_sync
    # cometbft: calls per JSON-RPC batch (POST /txs/batch); at most CometBFT's [rpc]
    # max_request_batch_size, whose default is 10
    cometbft_rpc_batch: int = 10
    # browser origins (scheme://host[:port], or "*") whose pages may call this API; the
    # explorer this node serves is on its own origin and needs none (docs/explorer.md)
    cors_origins: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> NodeConfig:
        try:
            doc = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{path}: cannot read node config ({exc})") from exc
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(doc) - set(known))
        if unknown:
            raise ValueError(f"{path}: unknown settings {', '.join(unknown)}")
        config = cls(**doc)
        config.validate()
        return config

    def validate(self) -> None:
        if self.engine not in ("solo", "cometbft"):
            raise ValueError(f"engine must be 'solo' or 'cometbft', not {self.engine!r}")
        if not self.block_interval > 0:
            raise ValueError("block_interval must be > 0 seconds")
        if not isinstance(self.cometbft_rpc_batch, int) or self.cometbft_rpc_batch < 1:
            raise ValueError("cometbft_rpc_batch must be an integer >= 1")
        host, sep, port = self.api_listen.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"api_listen {self.api_listen!r}: expected HOST:PORT")
        for origin in self.cors_origins:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", str(origin)):
                raise ValueError(f"cors_origins: {origin!r} is not '*' or scheme://host[:port]")

    def save(self, path: Path) -> None:
        lines = ["# QOS node settings (qosd); see host/chain/node.py"]
        for key, value in asdict(self).items():
            lines.append(f"{key} = {json.dumps(value)}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")


class Node:
    def __init__(self, home: Path | str, config: NodeConfig | None = None) -> None:
        self.home = Path(home)
        self.config = config or NodeConfig.load(self.home / "config" / "node.toml")
        self.config.validate()
        self.app: Application | None = None
        self.engine: Engine | None = None
        self.validator_key: ValidatorKey | None = None  # signs blocks (solo engine)
        self.indexer: Indexer | None = None
        self._runner: web.AppRunner | None = None
        self.api_port: int | None = None
        self._lock = HomeLock(self.home)

    def _abci_address(self) -> str:
        address = self.config.abci_listen
        if address.startswith("unix://") and not address.startswith("unix:///"):
            return "unix://" + str(self.home / address[len("unix://") :])
        return address

    def open(self) -> tuple[Application, Engine]:
        """Lock the home, then open the state and the engine (solo: init_chain on a fresh home)."""
        self._lock.acquire()  # before any key or state is read: one process per home
        try:
            return self._open()
        except BaseException:
            self._lock.release()
            raise

    def _open(self) -> tuple[Application, Engine]:
        from host.chain.app import Application
        from host.chain.engine.blockstore import BlockStore

        data = self.home / "data"
        data.mkdir(parents=True, exist_ok=True)
        app = Application(data / "app.db")
        store = BlockStore(data / "blocks.db", durable=self.config.engine == "solo")
        self.validator_key = self._load_validator_key()
        engine: Engine
        if self.config.engine == "solo":
            engine = self._solo(app, store)
        else:
            from host.chain.engine.cometbft import CometEngine

            engine = CometEngine(app, store, self._abci_address(), self.config.cometbft_rpc,
                                 self.config.cometbft_rpc_batch)
        self.app, self.engine = app, engine
        self.indexer = self._index(store, engine, data)
        return app, engine

    @staticmethod
    def _index(store: BlockStore, engine: Engine, data: Path) -> Indexer:
        from host.chain.indexer import Indexer

        indexer = Indexer(store, data / "index.db")
        indexer.catch_up()  # what was committed while no indexer ran (or index.db was deleted)
        engine.recorder.on_commit.append(indexer.at_commit)
        return indexer

    def _load_validator_key(self) -> ValidatorKey | None:
        from host.chain.engine.privval import ValidatorKey

        for path in (
            self.home / "config" / "priv_validator_key.json",
            self.home / "cometbft" / "config" / "priv_validator_key.json",
        ):
            if path.exists():
                return ValidatorKey.load(path)
        return None

    def _solo(self, app: Application, store: BlockStore) -> SoloEngine:
        from host.chain.engine.solo import SoloEngine

        key = self.validator_key
        if key is None:
            raise FileNotFoundError(f"{self.home}/config/priv_validator_key.json is missing")
        engine = SoloEngine(
            app,
            store,
            key,
            self.config.chain_id,
            block_interval=self.config.block_interval,
            max_block_txs=self.config.max_block_txs,
            mempool_txs=self.config.mempool_txs,
            create_empty_blocks=self.config.create_empty_blocks,
        )
        if store.last_height() == 0 and store.valset(1) is None:  # fresh (not imported)
            genesis = json.loads((self.home / "config" / "genesis.json").read_text())
            if genesis.get("chain_id") != self.config.chain_id:
                raise ValueError("genesis.json chain_id differs from node.toml's chain_id")
            engine.init_chain(genesis)
        return engine

    async def start(self) -> None:
        """Bind the API, then start the engine: a taken port fails before any block is made."""
        if self.app is None or self.engine is None:
            app, engine = self.open()
        else:
            app, engine = self.app, self.engine
        try:
            await self._serve_api(app, engine)
            await engine.start()
        except BaseException:
            await self.stop()
            raise

    async def _serve_api(self, app: Application, engine: Engine) -> None:
        from aiohttp import web

        from host.chain.api.server import make_api

        host, _, port = self.config.api_listen.rpartition(":")
        from host.chain.api.fees import FeeApi
        from host.chain.api.index_routes import IndexApi
        from host.chain.api.pages import Pages

        assert self.indexer is not None  # open() made it
        explorer = (IndexApi(app, engine, self.indexer), Pages(), FeeApi(app, engine))
        api = make_api(app, engine, explorer, tuple(self.config.cors_origins))
        runner = web.AppRunner(api, access_log=None)
        self._runner = runner
        await runner.setup()
        try:
            await web.TCPSite(runner, host, int(port)).start()
        except OSError as exc:
            address = self.config.api_listen
            raise RuntimeError(f"cannot listen on {address}: {exc.strerror}") from None
        self.api_port = runner.addresses[0][1]
        log.info("API on http://%s:%d (engine %s)", host, self.api_port, engine.name)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.engine is not None:
            await self.engine.stop()
        if self.indexer is not None:
            self.indexer.close()
            self.indexer = None
        self._lock.release()


async def run(home: Path | str) -> None:
    """Run a node until SIGINT/SIGTERM."""
    node = Node(home)
    await node.start()
    engine = node.engine
    assert engine is not None  # start() opened it
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(
        f"qosd: {node.config.engine} node for {node.config.chain_id} at height "
        f"{engine.status()['height']}; API http://{node.config.api_listen}",
        flush=True,
    )
    stopped = asyncio.ensure_future(stop.wait())
    failure = asyncio.ensure_future(engine.wait_failed())
    await asyncio.wait([stopped, failure], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    failure.cancel()
    failed = failure.result() if failure.done() and not failure.cancelled() else None
    await node.stop()
    if isinstance(failed, UpgradeNeeded):
        raise failed  # qosd exits with HALT_EXIT_CODE, naming the plan
    if failed is not None:
        raise RuntimeError(f"the engine stopped: {failed}")


class BackgroundNode:
    """A node running on its own event loop thread: for tests, demos and embedding.

        with BackgroundNode(home) as node:
            print(node.url, node.node.engine.status())
    """

    def __init__(self, home: Path | str, config: NodeConfig | None = None) -> None:
        import threading

        self.node = Node(home, config)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="qos-node", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.node.start())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def start(self, timeout: float = 60) -> BackgroundNode:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the node did not start in time")
        if self._error is not None:
            raise self._error
        return self

    @property
    def url(self) -> str:
        host = self.node.config.api_listen.rpartition(":")[0]
        return f"http://{host}:{self.node.api_port}"

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self.node.stop(), self.loop).result(60)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(30)

    def __enter__(self) -> BackgroundNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
