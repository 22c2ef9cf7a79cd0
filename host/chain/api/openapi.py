"""The OpenAPI 3.0 document, generated from the route table in server.py."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}


def spec(routes: tuple) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in routes:
        operation: dict[str, Any] = {
            "operationId": route.handler,
            "summary": route.summary,
            "parameters": [
                {
                    "name": p.name,
                    "in": p.where,
                    "required": p.where == "path" or p.required,
                    "description": p.description,
                    "schema": {"type": p.type},
                }
                for p in route.params
            ],
            "responses": _responses(route),
        }
        if route.body:
            operation["requestBody"] = {
                "required": True,
                "description": route.body,
                "content": {
                    "application/cbor": {"schema": {"type": "string", "format": "binary"}},
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"tx": {"type": "string"}},
                            "required": ["tx"],
                        }
                    },
                },
            }
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "QOS node API",
            "version": "0.1.0",
            "description": "Accounts, txs, blocks, validators, QSC, mint, QCP queues with "
            "Merkle proofs; events on /ws; Prometheus metrics on /metrics.",
        },
        "paths": paths,
        "components": {"schemas": {"Error": ERROR_SCHEMA}},
    }


def _responses(route: Any) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    ok_type = route.content
    responses: dict[str, Any] = {"200": {"description": "ok", "content": {ok_type: {}}}}
    if route.handler == "websocket":
        return {"101": {"description": "switching to the websocket protocol"}}
    if route.params or route.body:
        responses["400"] = {"description": "bad input", **error}
    if "{" in route.path or route.handler == "latest_block":
        responses["404"] = {"description": "not found", **error}
    if route.handler == "submit_tx":
        responses["202"] = {"description": "accepted into the mempool", "content": {ok_type: {}}}
        responses["503"] = {"description": "mempool full or engine unavailable", **error}
        responses["410"] = {"description": "wait=commit: accepted, then dropped (reason)", **error}
        responses["504"] = {"description": "not committed within the timeout", **error}
    if route.handler == "get_tx":
        responses["200"]["description"] = "committed: the tx, its height and result"
        responses["202"] = {"description": "pending: acknowledged, not yet in a block",
                            "content": {ok_type: {}}}
        responses["404"]["description"] = "unknown to this node"
        responses["410"] = {"description": "dropped from the mempool uncommitted (reason)",
                            **error}
    return responses
