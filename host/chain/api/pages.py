"""The explorer and wallet pages, served by the node's API process from host/chain/api/explorer.

Plain HTML, CSS and JavaScript modules with no build step and nothing fetched from elsewhere:
the pages work offline and load only from the node's origin (tests/explorer checks this).
"""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from host.chain.api.server import ApiError, Param, Route

ASSETS = Path(__file__).with_name("explorer")
HTML = "text/html"
_ASSET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\.(js|css|svg|png)")

PAGE_ROUTES: tuple[Route, ...] = (
    Route("GET", "/", "home", "redirects to /explorer", content=HTML),
    Route("GET", "/explorer", "explorer", "the block explorer (a single page)", content=HTML),
    Route("GET", "/wallet", "wallet", "the web wallet (signs through `qos device bridge`)",
          content=HTML),
    Route("GET", "/assets/{name}", "asset", "the pages' scripts, styles and images",
          (Param("name", "path", "file name", required=True),), content="*/*"),
)


class Pages:
    routes = PAGE_ROUTES

    def add_routes(self, web_app: web.Application) -> None:
        for route in PAGE_ROUTES:
            web_app.router.add_route(route.method, route.path, getattr(self, route.handler))

    async def home(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/explorer")

    async def explorer(self, request: web.Request) -> web.FileResponse:
        return _file("index.html")

    async def wallet(self, request: web.Request) -> web.FileResponse:
        return _file("wallet.html")

    async def asset(self, request: web.Request) -> web.FileResponse:
        name = request.match_info["name"]
        if not _ASSET_NAME.fullmatch(name) or not (ASSETS / name).is_file():
            raise ApiError(404, f"no asset {name!r}")
        return _file(name)


def _file(name: str) -> web.FileResponse:
    return web.FileResponse(ASSETS / name, headers={"Cache-Control": "no-cache"})
