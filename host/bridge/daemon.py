"""The local bridge daemon: lets a web page on an allowed origin talk to the signer.

    qos device bridge [--port 21330] [--allow-origin https://wallet.example]

It listens on 127.0.0.1 only. Browsers send an ``Origin`` header with every cross-site request;
requests from an origin not on the allow-list get 403 before anything touches a device, and so do
requests whose ``Host`` is not the loopback address (a DNS-rebinding page would name its own
host). Tools without an Origin (curl, scripts) are local processes and are let through.

Endpoints (JSON in and out; byte strings travel as ``{"hex": "..."}``):
    POST /             -> {"version"}
    POST /enumerate    -> {"devices": [{path, kind, description}]}
    POST /call         {"path"?, "method", "params"?} -> {"result"} | {"error": {code, message}}
Calls to one device are serialised, as the device handles one request at a time. The daemon holds
one device session per path (acquired at the first call), so a page's multi-step flows (setup's
commit and reveal, a PIN-server unlock) stay together; if another host acquires the device in
between, the daemon takes it back at the next call and a flow the other host broke fails cleanly.
"""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from host.bridge.client import Client, default_path, find_devices
from host.bridge.exceptions import DeviceError, InvalidSession, TransportError

DEFAULT_PORT = 21330
VERSION = "0.1.0"
DEFAULT_ORIGINS = ("http://localhost:*", "http://127.0.0.1:*", "https://localhost:*")
MAX_BODY = 64 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def to_json(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"hex": bytes(value).hex()}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"hex"} and isinstance(value["hex"], str):
            try:
                return bytes.fromhex(value["hex"])
            except ValueError as exc:
                raise ValueError(f"not hex: {value['hex'][:40]!r}") from exc
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def origin_allowed(origin: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(origin, pattern) for pattern in patterns)


def host_allowed(host: str | None) -> bool:
    if not host:
        return False
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return name in LOOPBACK_HOSTS


class Bridge:
    def __init__(self, origins: tuple[str, ...] = DEFAULT_ORIGINS, device_timeout: float = 10.0):
        self.origins = origins
        self.device_timeout = device_timeout
        self._locks: dict[str, asyncio.Lock] = {}
        self._clients: dict[str, Client] = {}

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.guard], client_max_size=MAX_BODY)
        app.router.add_post("/", self.version)
        app.router.add_post("/enumerate", self.enumerate)
        app.router.add_post("/call", self.call)
        app.router.add_route("OPTIONS", "/{tail:.*}", self.preflight)
        app.on_cleanup.append(self.release_devices)
        return app

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not host_allowed(request.host):
            return web.json_response({"error": "host not allowed"}, status=403)
        origin = request.headers.get("Origin")
        if origin is not None and not origin_allowed(origin, self.origins):
            return web.json_response({"error": f"origin {origin} not allowed"}, status=403)
        response = await handler(request)
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    async def preflight(self, request: web.Request) -> web.Response:
        response = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        return response

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": VERSION})

    async def enumerate(self, request: web.Request) -> web.Response:
        devices = await asyncio.to_thread(find_devices)
        listed = [{"path": d.path, "kind": d.kind, "description": d.description} for d in devices]
        return web.json_response({"devices": listed})

    async def call(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            method = body.get("method")
            params = from_json(body.get("params", {}))
            path = body.get("path") or default_path()
            if not isinstance(method, str) or not method or not isinstance(params, dict):
                raise ValueError("need a method name and a params object")
            if not isinstance(path, str):
                raise ValueError("path must be a string")
        except ValueError as exc:
            return web.json_response({"error": {"code": -32600, "message": str(exc)}}, status=400)
        lock = self._locks.setdefault(path, asyncio.Lock())
        async with lock:
            try:
                result = await asyncio.to_thread(self._call_device, path, method, params)
            except DeviceError as exc:
                error = {"code": exc.code, "message": exc.message, "data": to_json(exc.data)}
                return web.json_response({"error": error})
            except TransportError as exc:
                error = {"code": -32603, "message": str(exc)}
                return web.json_response({"error": error}, status=502)
        return web.json_response({"result": to_json(result)})

    def _call_device(self, path: str, method: str, params: dict[str, Any]) -> Any:
        device = self._clients.get(path)
        if device is None:
            device = self._clients[path] = Client.open(path, timeout=self.device_timeout)
        try:
            # The user may need time to press the button: wait as long as the client would.
            return device.call(method, params, device.user_timeout)
        except (InvalidSession, TransportError):
            del self._clients[path]
            device.close()
            raise

    async def release_devices(self, app: web.Application) -> None:
        for device in self._clients.values():
            device.close()
        self._clients.clear()


def serve(port: int = DEFAULT_PORT, origins: tuple[str, ...] = DEFAULT_ORIGINS) -> None:
    web.run_app(Bridge(origins).app(), host="127.0.0.1", port=port, print=None)
