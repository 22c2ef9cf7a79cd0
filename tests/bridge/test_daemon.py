"""The local bridge daemon: origin allow-list, loopback Host check, calls relayed to a device."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from host.bridge.daemon import Bridge, from_json, host_allowed, origin_allowed, to_json

from .peer import PeerDevice, PeerError

ALLOWED = ("https://wallet.qos.example", "http://localhost:*")


def echo_device(method: str, params: dict[str, Any]) -> Any:
    if method == "ping":
        return {"data": params.get("data", b"")}
    if method == "unlock":
        raise PeerError(-32006, "wrong PIN", {"retries_left": 3})
    raise PeerError(-32601, "unknown method")


def request(method: str, url: str, headers: dict | None = None, body: Any = None, peer=None):
    """Runs one request against a fresh daemon and returns (status, json, headers)."""

    async def go():
        async with TestServer(Bridge(ALLOWED).app(), host="127.0.0.1") as server:
            async with TestClient(server) as client:
                response = await client.request(method, url, headers=headers or {}, json=body)
                data = await response.json() if response.status != 204 else None
                return response.status, data, response.headers

    return asyncio.run(go())


@pytest.fixture
def device():
    peer = PeerDevice(echo_device)
    yield peer
    peer.close()


def test_foreign_origin_gets_403_and_reaches_no_device(device):
    status, data, _ = request(
        "POST",
        "/call",
        {"Origin": "https://evil.example"},
        {"path": device.path, "method": "ping", "params": {}},
    )
    assert status == 403 and "not allowed" in data["error"]
    assert device.requests == []


def test_allowed_origin_is_relayed_with_cors_headers(device):
    body = {"path": device.path, "method": "ping", "params": {"data": {"hex": "00ff"}}}
    status, data, headers = request("POST", "/call", {"Origin": "https://wallet.qos.example"}, body)
    assert status == 200 and data == {"result": {"data": {"hex": "00ff"}}}
    assert headers["Access-Control-Allow-Origin"] == "https://wallet.qos.example"
    assert device.requests[0]["params"] == {"data": b"\x00\xff"}


def test_wildcard_origin_and_no_origin(device):
    body = {"path": device.path, "method": "ping", "params": {}}
    assert request("POST", "/call", {"Origin": "http://localhost:5173"}, body)[0] == 200
    assert request("POST", "/call", {}, body)[0] == 200  # a local tool, no browser involved
    assert request("POST", "/call", {"Origin": "http://localhost.evil.example:80"}, body)[0] == 403


def test_device_errors_come_back_as_json(device):
    body = {"path": device.path, "method": "unlock", "params": {"pin": "1111"}}
    status, data, _ = request("POST", "/call", {}, body)
    assert status == 200
    assert data["error"] == {"code": -32006, "message": "wrong PIN", "data": {"retries_left": 3}}


def test_rebinding_host_header_is_refused(device):
    body = {"path": device.path, "method": "ping", "params": {}}
    status, _, _ = request("POST", "/call", {"Host": "attacker.example:21330"}, body)
    assert status == 403
    assert device.requests == []


@pytest.mark.parametrize(
    "body",
    [[1, 2], {"params": {}}, {"method": "", "params": {}}, {"method": "ping", "params": []}],
)
def test_bad_bodies_are_400(body):
    status, data, _ = request("POST", "/call", {}, body)
    assert status == 400 and data["error"]["code"] == -32600


def test_unreachable_device_is_502():
    body = {"path": "udp:bad", "method": "ping", "params": {}}
    status, data, _ = request("POST", "/call", {}, body)
    assert status == 502 and "bad UDP address" in data["error"]["message"]


def test_preflight_and_version():
    status, _, headers = request("OPTIONS", "/call", {"Origin": "https://wallet.qos.example"})
    assert status == 204 and headers["Access-Control-Allow-Methods"] == "POST"
    assert request("OPTIONS", "/call", {"Origin": "https://other.example"})[0] == 403
    assert request("POST", "/", {})[1] == {"version": "0.1.0"}
    status, data, _ = request("POST", "/enumerate", {})
    assert status == 200 and isinstance(data["devices"], list)


def test_helpers():
    assert to_json({"a": b"\x01", "b": [b"\x02"]}) == {"a": {"hex": "01"}, "b": [{"hex": "02"}]}
    assert from_json({"a": {"hex": "01"}, "b": [{"hex": "02"}]}) == {"a": b"\x01", "b": [b"\x02"]}
    with pytest.raises(ValueError, match="not hex"):
        from_json({"hex": "zz"})
    assert origin_allowed("https://a.b.example", ("https://*.example",))
    assert not origin_allowed("https://example", ("https://*.example",))
    assert host_allowed("127.0.0.1:21330") and host_allowed("localhost") and host_allowed("[::1]:1")
    assert not host_allowed("127.0.0.1.evil.example:21330") and not host_allowed(None)


def test_enumerate_lists_the_device_qos_device_names_when_it_answers(device, monkeypatch):
    """The daemon shows what `qos device list` shows (both call bridge.client.find_devices)."""
    monkeypatch.setenv("QOS_DEVICE", device.path)
    status, data, _ = request("POST", "/enumerate", {})
    assert status == 200
    assert {"path": device.path, "kind": "udp", "description": "emulator"} in data["devices"]
