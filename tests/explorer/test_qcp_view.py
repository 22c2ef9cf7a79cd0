"""The explorer's QCP counterparties after a real round trip: two solo chains and the relayer
(tests/chain/test_relayer.py's network), a cross-chain message from A to B and its ack back."""

from __future__ import annotations

import json
import urllib.request

from tests.chain.test_relayer import QOS, RECIPIENT, USER, A, B, Network, fast_relayer


def counterparties(url: str) -> dict[str, dict]:
    with urllib.request.urlopen(f"{url}/index/qcp", timeout=30) as resp:
        return {c["chain"]: c for c in json.loads(resp.read())["counterparties"]}


def test_each_chain_lists_the_other_with_packets_and_acks(tmp_path):
    net = Network(tmp_path)
    try:
        seq = net.send_cross()
        net.relay_until([fast_relayer(net)], lambda: net.result_on_a(seq) is not None)
        on_a, on_b = counterparties(net.a_url)[B], counterparties(net.b_url)[A]
        tokens = net.send_tokens(net.a_url, A, B, USER, "QOS", 5 * QOS)
        net.relay_until([fast_relayer(net)], lambda: net.result_on_a(tokens) is not None)
        with urllib.request.urlopen(
            f"{net.b_url}/accounts/{RECIPIENT.address_string}/holdings", timeout=30
        ) as resp:
            vouchers = json.loads(resp.read())["vouchers"]
    finally:
        net.close()
    assert on_a["events"]["qcp_out"] >= 1 and on_a["events"]["qcp_resolved_ok"] >= 1
    assert on_a["seq"]["out"] == on_a["seq"]["acked"] == seq  # nothing in flight
    assert on_a["client"]["frozen"] is False and on_a["client"]["validators"] >= 1
    assert on_b["events"]["qcp_in"] >= 1 and on_b["seq"]["in"] == seq
    assert vouchers[f"qcp/{A}/QOS"] >= 5 * QOS  # the holdings show the other chain's tokens
