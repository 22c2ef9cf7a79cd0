"""The node's REST API (aiohttp): OpenAPI at /openapi.json, events at /ws, metrics at /metrics."""
