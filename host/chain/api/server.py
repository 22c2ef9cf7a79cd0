"""REST routes over the node's application and engine.

Every route is declared once in ROUTES (method, path, handler, summary, parameters); the aiohttp
router and the OpenAPI document are both built from that table, so the spec cannot drift from
the server. Errors are JSON {"error": text, ...} with a 4xx status for bad input, 404 for
absent things, 503 when the node cannot take a tx right now.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import WSMsgType, web
from aiohttp.typedefs import Handler

from host.chain.api.metrics import render_metrics
from host.chain.engine.base import Engine, EngineError, EngineUnavailable, MempoolFull
from host.chain.engine.blockstore import event_dicts
from host.chain.x.module import QueryRoute
from host.core.errors import Code, TxError

if TYPE_CHECKING:
    from host.chain.app import Application

MAX_BODY = 1 << 20
MAX_BATCH = 1000  # txs in one POST /txs/batch
DEFAULT_WAIT = 30.0
MAX_WAIT = 120.0


class ApiError(Exception):
    def __init__(self, status_code: int, message: str, /, **extra: Any) -> None:
        super().__init__(message)
        self.status = status_code
        self.extra = extra  # more fields of the JSON body (a tx's "status" among them)


def http_status(code: int) -> int:
    """The HTTP status of a refused query or tx, from its result code: the one mapping."""
    return 404 if code == Code.NOT_FOUND else 400


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # path | query
    description: str
    type: str = "string"
    required: bool = False


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: str
    summary: str
    params: tuple[Param, ...] = ()
    body: str | None = None  # a request body description (POST)
    content: str = "application/json"  # what a 200 answer carries


HEIGHT_Q = Param("height", "query", "state at this height (default: latest)", "integer")
PROVE_Q = Param("prove", "query", "include a Merkle proof against the app hash", "boolean")

# The node's own routes; each module adds the routes its queries answer (x/<module>/routes.py).
ROUTES: tuple[Route, ...] = (
    Route("GET", "/status", "status", "chain id, engine, latest height and app hash"),
    Route(
        "POST",
        "/txs",
        "submit_tx",
        "submit a signed tx (det-CBOR SignedTx)",
        (
            Param(
                "wait",
                "query",
                "'check' (default): return after admission; 'commit': wait "
                "until it is in a committed block",
            ),
            Param("timeout", "query", "seconds to wait for commit (default 30, max 120)", "number"),
        ),
        body='application/cbor: the raw SignedTx; or application/json {"tx": hex or base64}',
    ),
    Route(
        "POST",
        "/txs/batch",
        "submit_batch",
        f"submit up to {MAX_BATCH} signed txs in one request, admitted in order (as if POSTed "
        "one after the other): 200 with `results`, per tx {hash, code, codespace, log, status: "
        "accepted | rejected | unavailable}; an accepted tx is acknowledged as by 202 from "
        "POST /txs, an unavailable one (mempool full, engine gone midway) may be sent again",
        body='application/json {"txs": [SignedTx as hex or base64, ...]}',
    ),
    Route(
        "POST",
        "/txs/simulate",
        "simulate_tx",
        "what POST /txs would answer now, all but the signature (not checked: a blank one of 64 "
        "bytes will do), and, if admitted, the tx run on the latest state as the next block "
        "would run it: 200 with {hash, code, codespace, log, fee, tip, events}; code 0 means "
        "admitted and executed. Nothing is admitted, stored or sent",
        body='application/cbor: the raw SignedTx; or application/json {"tx": hex or base64}',
    ),
    Route(
        "GET",
        "/txs/{hash}",
        "get_tx",
        "a tx's status: 200 committed (the tx, its height and result), 202 pending "
        "(acknowledged, not yet in a block), 410 dropped (left the mempool uncommitted; "
        "`reason`), 404 unknown; each body has `status`",
        (Param("hash", "path", "SHA-256 of the tx bytes, hex", required=True),),
    ),
    Route("GET", "/blocks/latest", "latest_block", "the newest block"),
    Route(
        "GET",
        "/blocks/{height}",
        "get_block",
        "a block: header, commit, tx hashes, results",
        (Param("height", "path", "block height", "integer", True),),
    ),
    Route("GET", "/validators", "validators", "the consensus validator set (engine's view)"),
    Route(
        "GET",
        "/blocks/{height}/signed",
        "signed_block",
        "a solo-engine block as signed: its det-CBOR header (hex) and its commit's "
        "[pubkey, signature] pairs; what a QCP relayer proves this chain's state with",
        (Param("height", "path", "block height", "integer", True),),
    ),
    Route(
        "GET",
        "/store/{key}",
        "store",
        "a raw state key with an inclusion/exclusion proof",
        (Param("key", "path", "the key bytes, hex", required=True), HEIGHT_Q, PROVE_Q),
    ),
    Route("GET", "/openapi.json", "openapi", "this document"),
    Route("GET", "/metrics", "metrics", "Prometheus metrics (text format)", content="text/plain"),
    Route(
        "GET",
        "/ws",
        "websocket",
        "websocket: {type: new_block|tx|tx_dropped, ...} events as JSON; tx_dropped carries "
        "hash, reason and the height it was dropped at",
    ),
)


def module_route(query: QueryRoute) -> Route:
    """The API's description of a module's query route (for the router and the OpenAPI doc)."""
    params = tuple(Param(p.name, "path", p.description, p.type, True) for p in query.params)
    params += (HEIGHT_Q,) if query.height else ()
    params += (PROVE_Q,) if query.prove else ()
    return Route("GET", query.path, query.query.replace("/", "_"), query.summary, params)


class RouteSet(Protocol):
    """Routes served beside the node's own (the explorer's, its pages): mounted by make_api
    and listed in the OpenAPI document, without this module importing them."""

    routes: tuple[Route, ...]

    def add_routes(self, web_app: web.Application) -> None: ...


def make_api(
    app: Application,
    engine: Engine,
    extras: Sequence[RouteSet] = (),
    cors_origins: tuple[str, ...] = (),
) -> web.Application:
    """The REST API over ``app`` and ``engine``; ``extras`` add their routes; ``cors_origins``
    may call it from a browser (host/chain/api/cors.py)."""
    from host.chain.api.cors import cors_middleware

    api = Api(app, engine, tuple(extras))
    middlewares = [cors_middleware(cors_origins), _errors]
    web_app = web.Application(client_max_size=MAX_BODY, middlewares=middlewares)
    for route in ROUTES:
        web_app.router.add_route(route.method, route.path, getattr(api, route.handler))
    for extra in extras:
        extra.add_routes(web_app)
    for module in app.modules:
        for query in module.routes():
            web_app.router.add_route("GET", query.path, api.module_query(query))
    return web_app


def api_routes(app: Application, extras: Sequence[RouteSet] = ()) -> tuple[Route, ...]:
    """Every route the API serves: its own, the extras', then the modules'."""
    added = tuple(route for extra in extras for route in extra.routes)
    return ROUTES + added + tuple(module_route(q) for m in app.modules for q in m.routes())


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response({"error": str(exc), **exc.extra}, status=exc.status)
    except EngineError as exc:  # any route: the engine cannot answer now, the client may retry
        return web.json_response({"error": f"engine unavailable: {exc}"}, status=503)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return web.json_response({"error": exc.reason}, status=exc.status)
        raise
    except Exception:  # a bug: logged with its traceback; the client gets JSON, not the trace
        logging.getLogger("qos.api").exception("%s %s failed", request.method, request.path)
        return web.json_response({"error": "internal error (see the node's log)"}, status=500)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, default=_default), status=status, content_type="application/json"
    )


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


# ---- parameter parsing --------------------------------------------------------------------------


def parse_int(text: str | None, what: str, default: int | None = None, low: int = 0) -> int:
    if text is None or text == "":
        if default is None:
            raise ApiError(400, f"{what} is required")
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise ApiError(400, f"{what}: {text!r} is not a non-negative integer")
    value = int(text)
    if value < low:
        raise ApiError(400, f"{what} must be >= {low}")
    return value


def parse_bool(text: str | None, what: str) -> bool:
    if text is None:
        return False
    lowered = text.lower()
    if lowered in ("1", "true", "yes", ""):
        return True
    if lowered in ("0", "false", "no"):
        return False
    raise ApiError(400, f"{what}: {text!r} is not true/false")


def parse_hex(text: str, what: str, length: int | None = None) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ApiError(400, f"{what}: not hex") from None
    if length is not None and len(raw) != length:
        raise ApiError(400, f"{what}: must be {length} bytes ({2 * length} hex digits)")
    return raw


class Api:
    def __init__(
        self,
        app: Application,
        engine: Engine,
        extras: tuple[RouteSet, ...] = (),
    ) -> None:
        self.app = app
        self.engine = engine
        self.extras = extras

    # ---- queries ----------------------------------------------------------------------------
    def _query(self, request: web.Request, path: str, data: bytes = b"") -> web.Response:
        height = parse_int(request.query.get("height"), "height", default=0)
        prove = parse_bool(request.query.get("prove"), "prove")
        result = self.app.query(path, data, height, prove)
        body = {
            "height": result.height,
            "key": result.key.hex(),
            "value": result.value,
            "proof": result.proof.hex() if result.proof is not None else None,
            "raw": result.raw.hex() if result.raw is not None else None,
        }
        if prove:
            # the proof verifies against the app hash of `height`, which is in header height+1
            body["proof_app_hash_in_block"] = result.height + 1
        if result.code == 0:
            return _json(body)
        error = {"error": result.log, "codespace": result.codespace, **body}
        return _json(error, http_status(result.code))

    def module_query(self, query: QueryRoute) -> Handler:
        """The handler of a module's route: path parameters -> the query's data -> _query."""

        async def handler(request: web.Request) -> web.Response:
            try:
                data = query.data(**request.match_info)
            except TxError as exc:
                raise ApiError(http_status(exc.code), exc.log) from None
            return self._query(request, query.query, data)

        return handler

    async def status(self, request: web.Request) -> web.Response:
        return _json(self.engine.status())

    async def store(self, request: web.Request) -> web.Response:
        key = parse_hex(request.match_info["key"], "key")
        if not key:
            raise ApiError(400, "key: must not be empty")
        return self._query(request, "store", key)

    # ---- txs ----------------------------------------------------------------------------------
    async def submit_tx(self, request: web.Request) -> web.Response:
        raw = await _tx_body(request)
        wait = request.query.get("wait", "check")
        if wait not in ("check", "commit"):
            raise ApiError(400, f"wait: {wait!r} must be 'check' or 'commit'")
        timeout = _timeout(request.query.get("timeout"))
        try:
            result = await self.engine.broadcast(raw)
        except MempoolFull as exc:
            raise ApiError(503, str(exc)) from None
        except EngineUnavailable as exc:
            raise ApiError(503, f"engine unavailable: {exc}") from None
        body = {
            "hash": result.tx_hash.hex(),
            "code": result.code,
            "codespace": result.codespace,
            "log": result.log,
        }
        if result.code != 0:
            rejected = f"tx rejected: {result.codespace}: {result.log}"
            raise ApiError(http_status(result.code), rejected, **body)
        await self.engine.recorder.acks_written()  # on disk before the client is told
        if wait == "check":
            return _json({**body, "status": "accepted"}, 202)
        settled = await self.engine.recorder.wait_for_tx(result.tx_hash, timeout)
        if settled is None:
            raise ApiError(504, "tx accepted but not committed in time; it is still pending "
                           "(GET /txs/{hash} follows it)", **body, status="pending")
        if settled["status"] == "dropped":
            raise ApiError(410, f"tx dropped: {settled['reason']}", **{**body, **settled})
        return _json({**body, **settled})

    async def submit_batch(self, request: web.Request) -> web.Response:
        raws = await _batch_body(request)
        try:
            results = await self.engine.broadcast_batch(raws)
        except EngineUnavailable as exc:
            raise ApiError(503, f"engine unavailable: {exc}") from None
        out: list[dict[str, Any]] = []
        for raw, result in zip(raws, results, strict=True):
            if isinstance(result, EngineError):
                out.append({"hash": sha256(raw).hexdigest(), "code": None,
                            "codespace": "unavailable", "log": str(result),
                            "status": "unavailable"})
            else:
                out.append({"hash": result.tx_hash.hex(), "code": result.code,
                            "codespace": result.codespace, "log": result.log,
                            "status": "accepted" if result.code == 0 else "rejected"})
        await self.engine.recorder.acks_written()  # on disk before the client is told
        return _json({"results": out})

    async def simulate_tx(self, request: web.Request) -> web.Response:
        result = self.app.simulate(await _tx_body(request))
        return _json({"hash": result.tx_hash.hex(), "code": result.code,
                      "codespace": result.codespace, "log": result.log, "fee": result.fee,
                      "tip": result.tip, "events": event_dicts(result.events)})

    async def get_tx(self, request: web.Request) -> web.Response:
        tx_hash = parse_hex(request.match_info["hash"], "hash", 32)
        found = self.engine.recorder.tx_status(tx_hash)
        status = found["status"]
        if status == "unknown":
            raise ApiError(404, f"tx {tx_hash.hex()} unknown to this node", **found)
        if status == "dropped":
            raise ApiError(410, f"tx dropped: {found['reason']}", **found)
        return _json(found, 202 if status == "pending" else 200)

    # ---- blocks -------------------------------------------------------------------------------
    async def latest_block(self, request: web.Request) -> web.Response:
        store = self.engine.recorder.store
        height = store.last_executed_height()
        block = store.block(height) if height else None
        if block is None:
            raise ApiError(404, "no blocks yet")
        return _json(block)

    async def get_block(self, request: web.Request) -> web.Response:
        height = parse_int(request.match_info["height"], "height", low=1)
        block = self.engine.recorder.store.block(height)
        if block is None:
            raise ApiError(404, f"no block at height {height}")
        return _json(block)

    async def signed_block(self, request: web.Request) -> web.Response:
        height = parse_int(request.match_info["height"], "height", low=1)
        block = self.engine.recorder.store.raw_block(height)
        if block is None:
            raise ApiError(404, f"no block at height {height}")
        if block["commit"] is None:
            raise ApiError(404, "this chain runs CometBFT: its signed headers are at CometBFT's "
                           "RPC /commit")
        sigs = [[s["pubkey"].hex(), s["sig"].hex()] for s in block["commit"]["sigs"]]
        return _json({"height": height, "hash": block["hash"].hex(),
                      "header": block["header_bytes"].hex(), "sigs": sigs})

    async def validators(self, request: web.Request) -> web.Response:
        try:
            return _json({"validators": await self.engine.validator_set()})
        except EngineUnavailable as exc:
            raise ApiError(503, f"engine unavailable: {exc}") from None

    # ---- service routes -----------------------------------------------------------------------
    async def openapi(self, request: web.Request) -> web.Response:
        from host.chain.api.openapi import spec

        return _json(spec(api_routes(self.app, self.extras)))

    async def metrics(self, request: web.Request) -> web.Response:
        text = render_metrics(self.engine)
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        recorder = self.engine.recorder
        queue = recorder.subscribe()
        reader = asyncio.ensure_future(ws.receive())
        try:
            while not ws.closed:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    getter.cancel()
                    msg = reader.result()
                    if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR):
                        break
                    reader = asyncio.ensure_future(ws.receive())  # clients need not talk
                    continue
                try:
                    await ws.send_str(json.dumps(getter.result(), default=_default))
                except ConnectionResetError:  # the client went away (a relayer killed with -9)
                    break
                if not recorder.is_subscribed(queue) and queue.empty():
                    await ws.close(code=1008, message=b"too slow: events dropped")
                    break
        finally:
            reader.cancel()
            recorder.unsubscribe(queue)
        return ws


def _timeout(text: str | None) -> float:
    if text is None:
        return DEFAULT_WAIT
    try:
        value = float(text)
    except ValueError:
        raise ApiError(400, f"timeout: {text!r} is not a number") from None
    if not 0 < value <= MAX_WAIT:
        raise ApiError(400, f"timeout must be in (0, {MAX_WAIT}] seconds")
    return value


async def _batch_body(request: web.Request) -> list[bytes]:
    """The txs of a batch: JSON {"txs": [hex or base64 SignedTx, ...]}."""
    try:
        texts = json.loads(await request.read())["txs"]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, 'body must be JSON {"txs": ["<hex or base64 SignedTx>", ...]}'
                       ) from None
    if not texts or len(texts) > MAX_BATCH:
        raise ApiError(400, f"a batch holds 1 to {MAX_BATCH} txs, not {len(texts)}")
    raws = [_decode_text_tx(text, f"txs[{i}]") for i, text in enumerate(texts)]
    if not all(raws):
        raise ApiError(400, "a tx in the batch is empty")
    return raws


def _decode_text_tx(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"{what}: neither hex nor base64") from None


async def _tx_body(request: web.Request) -> bytes:
    body = await request.read()
    if not body:
        raise ApiError(400, "empty body: send the SignedTx bytes (application/cbor)")
    if request.content_type != "application/json":
        return body
    try:
        doc = json.loads(body)
        text = doc["tx"]
        if not isinstance(text, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, 'JSON body must be {"tx": "<hex or base64 SignedTx>"}') from None
    return _decode_text_tx(text, "tx")
