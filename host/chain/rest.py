"""A client of the node's REST API (docs/consensus.md "API")."""

from __future__ import annotations

DEFAULT_URL = "http://127.0.0.1:1317"


class NodeUnreachable(Exception):
    """The node could not be reached (refused, timed out, no route)."""


def request(method: str, url: str, body: bytes | None = None, ctype: str = "") -> tuple[int, dict]:
    """(HTTP status, JSON body) of one request; error statuses are returned, not raised."""
    import json
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=150) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {"error": exc.reason}
    except (urllib.error.URLError, OSError) as exc:
        raise NodeUnreachable(f"cannot reach the node at {url}: {exc}") from None


def http_json(
    method: str, url: str, body: bytes | None = None, ctype: str = "", quiet: bool = False
) -> tuple[int, dict]:
    """As request(); an unreachable node gives (0, {"error": ...}) when quiet."""
    try:
        return request(method, url, body, ctype)
    except NodeUnreachable as exc:
        if quiet:
            return 0, {"error": str(exc)}
        raise
