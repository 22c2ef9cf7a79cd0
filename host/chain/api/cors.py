"""Cross-origin access to the API (CORS): off unless node.toml lists origins.

The explorer served by this node is on the node's own origin and needs nothing. An explorer
served elsewhere that shows this chain (one explorer, several chains) needs its origin in
`cors_origins` of node.toml; "*" allows any origin. Only GET, POST and OPTIONS are offered.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type"
PREFLIGHT_CACHE_SECONDS = "600"


def cors_middleware(origins: Iterable[str]) -> Middleware:
    allowed = frozenset(origins)

    def permitted(request: web.Request, origin: str) -> bool:
        own = f"{request.scheme}://{request.host}"
        return origin == own or origin in allowed or "*" in allowed

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None:
            return await handler(request)
        ok = permitted(request, origin)
        asks = "Access-Control-Request-Method" in request.headers
        preflight = request.method == "OPTIONS" and asks
        if preflight:
            if not ok:
                return web.json_response(
                    {"error": f"origin {origin} is not in this node's cors_origins"}, status=403
                )
            return web.Response(status=204, headers={
                **_allow(origin),
                "Access-Control-Allow-Methods": ALLOWED_METHODS,
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": PREFLIGHT_CACHE_SECONDS,
            })
        response = await handler(request)
        if ok and not response.prepared:  # a websocket is already under way
            response.headers.update(_allow(origin))
        return response

    return cors


def _allow(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
