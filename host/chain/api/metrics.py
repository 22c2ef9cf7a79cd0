"""Prometheus text exposition of the node's counters (no client library needed for a handful)."""

from __future__ import annotations

from typing import Any

QUANTILES = (0.5, 0.9, 0.99)


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, int(q * len(sorted_values)))
    return sorted_values[index]


def render_metrics(engine: Any) -> str:
    recorder = engine.recorder
    status = engine.status()
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, value: float, labels: str = "") -> None:
        lines.append(f"# HELP qos_{name} {help_text}")
        lines.append(f"# TYPE qos_{name} {kind}")
        lines.append(f"qos_{name}{labels} {value}")

    metric("height", "gauge", "Latest committed block height.", status["height"])
    metric(
        "last_block_timestamp_seconds",
        "gauge",
        "Wall time of the last commit.",
        recorder.last_block_time,
    )
    metric(
        "mempool_txs",
        "gauge",
        "Txs waiting in the mempool (solo engine).",
        status.get("mempool_txs", 0),
    )
    help_texts = {
        "blocks_committed": "Blocks committed since start.",
        "txs_committed": "Txs committed with code 0 since start.",
        "txs_failed": "Txs committed with a non-zero code since start.",
        "txs_accepted": "Txs admitted by check_tx since start.",
        "txs_rejected": "Txs refused at admission since start.",
        "txs_dropped": "Admitted txs that left the mempool uncommitted (failed recheck).",
    }
    for name, value in recorder.counters.items():
        metric(f"{name}_total", "counter", help_texts.get(name, name), value)
    abci = getattr(engine, "abci", None)  # the CometBFT engine's ABCI server
    if abci is not None:
        lines.append("# HELP qos_abci_requests_total ABCI requests CometBFT sent, by kind.")
        lines.append("# TYPE qos_abci_requests_total counter")
        for kind, count in sorted(abci.requests_served.items()):
            lines.append(f'qos_abci_requests_total{{kind="{kind}"}} {count}')
    latencies = sorted(recorder.latencies)
    lines.append("# HELP qos_commit_latency_seconds Submit-to-commit latency of recent txs.")
    lines.append("# TYPE qos_commit_latency_seconds summary")
    for q in QUANTILES:
        lines.append(f'qos_commit_latency_seconds{{quantile="{q}"}} {_quantile(latencies, q)}')
    lines.append(f"qos_commit_latency_seconds_sum {sum(latencies)}")
    lines.append(f"qos_commit_latency_seconds_count {len(latencies)}")
    return "\n".join(lines) + "\n"
