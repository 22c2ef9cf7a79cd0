"""CORS on the node's API: off by default, the listed origins (or "*") allowed, preflights
answered, and node.toml refusing an origin that is not scheme://host[:port]."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from host.chain.api.cors import cors_middleware
from host.chain.node import NodeConfig

WALLET = "https://wallet.example"


async def _exchange(origins: tuple[str, ...], method: str, headers: dict[str, str]):
    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application(middlewares=[cors_middleware(origins)])
    app.router.add_get("/status", hello)
    app.router.add_post("/txs", hello)
    async with TestClient(TestServer(app)) as client:
        path = "/txs" if method != "GET" else "/status"
        response = await client.request(method, path, headers=headers)
        return response.status, dict(response.headers)


def exchange(origins, method="GET", **headers):
    return asyncio.run(_exchange(tuple(origins), method, headers))


def test_listed_origin_is_allowed_and_preflight_answered():
    status, headers = exchange([WALLET], Origin=WALLET)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == WALLET
    assert headers["Vary"] == "Origin"
    status, headers = exchange([WALLET], "OPTIONS", Origin=WALLET,
                               **{"Access-Control-Request-Method": "POST"})
    assert status == 204 and "POST" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Allow-Origin"] == WALLET


def test_unlisted_origin_gets_no_grant_and_a_403_preflight():
    status, headers = exchange([WALLET], Origin="https://evil.example")
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    status, _ = exchange([WALLET], "OPTIONS", Origin="https://evil.example",
                         **{"Access-Control-Request-Method": "POST"})
    assert status == 403


def test_star_allows_any_origin_and_no_origin_is_plain():
    status, headers = exchange(["*"], Origin="https://any.example")
    assert headers["Access-Control-Allow-Origin"] == "https://any.example"
    status, headers = exchange([])
    assert status == 200 and "Access-Control-Allow-Origin" not in headers


@pytest.mark.parametrize("bad", ["wallet.example", "ftp://x", "https://a/b", "https://a b"])
def test_node_config_refuses_a_malformed_origin(bad):
    with pytest.raises(ValueError, match="cors_origins"):
        NodeConfig(cors_origins=[bad]).validate()
    NodeConfig(cors_origins=[WALLET, "http://127.0.0.1:8080", "*"]).validate()
