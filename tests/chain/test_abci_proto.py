"""The CometBFT ABCI messages ship compiled with the package: checked against CometBFT's .proto
files, and a node runs with no Go module cache (an empty HOME)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from host.chain.engine.abci_proto import (
    ProtoUnavailable,
    compile_descriptor_set,
    shipped_descriptor_set,
)

CHAIN = "qos-proto-test"


def test_the_shipped_descriptor_set_is_what_the_proto_files_compile_to():
    from google.protobuf import descriptor_pb2

    try:
        fresh = compile_descriptor_set()
    except ProtoUnavailable as exc:
        pytest.skip(f"cannot recompile to compare: {exc}")
    shipped = descriptor_pb2.FileDescriptorSet.FromString(shipped_descriptor_set())
    compiled = descriptor_pb2.FileDescriptorSet.FromString(fresh)
    assert [f.name for f in shipped.file] == [f.name for f in compiled.file]
    assert shipped == compiled, (
        "host/chain/engine/cometbft-*.pb is stale: run python -m host.chain.engine.abci_proto"
    )


def test_the_abci_messages_are_the_cometbft_ones():
    from host.chain.engine.abci_proto import messages

    msgs = messages()
    request = msgs.abci.Request(finalize_block=msgs.abci.RequestFinalizeBlock(height=7))
    again = msgs.abci.Request.FromString(request.SerializeToString())
    assert again.WhichOneof("value") == "finalize_block" and again.finalize_block.height == 7
    assert msgs.enum_value("tendermint.abci.CheckTxType", "RECHECK") == 1


def test_a_cometbft_node_runs_with_an_empty_home_and_no_go(tmp_path, monkeypatch):
    from host.chain.rest import BlockingNodeClient, NodeUnreachable
    from tests.chain.helpers import account, one_validator_cometbft_net, signed_tx, transfer

    empty = tmp_path / "home"
    empty.mkdir()
    # every process of the network (the qosd app speaks ABCI) gets no Go and no caches
    monkeypatch.setenv("HOME", str(empty))
    monkeypatch.setenv("GOMODCACHE", str(empty / "gomod"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(empty / ".cache"))
    path = [d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "go").exists()]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    net, funded = one_validator_cometbft_net(tmp_path, CHAIN)
    val = net.validators[0]
    client = BlockingNodeClient(val.api_url, timeout=60)
    try:
        net.start()
        deadline = time.monotonic() + 90
        while True:
            assert val.app is not None and val.app.poll() is None, "the app exited"
            try:
                if client.status()["height"] >= 2:
                    break
            except NodeUnreachable:
                pass
            assert time.monotonic() < deadline, "no blocks"
            time.sleep(0.2)
        status, doc = client.submit(signed_tx(funded, 1, [transfer(account(1), 1)], chain=CHAIN))
        assert status == 200 and doc["code"] == 0, doc
    finally:
        client.close()
        net.stop()
    assert sorted(p.name for p in empty.iterdir()) == []  # nothing compiled or cached there


def test_hand_encoded_finalize_block_results_are_what_protobuf_writes():
    from host.chain.engine.abci_proto import (
        encode_exec_tx_result,
        encode_finalize_block_response,
        messages,
    )
    from host.chain.types import Event

    abci = messages().abci
    long_text = "ü" * 70  # 140 bytes: a two-byte length
    block_events = [Event("mint", {"amount": "606449"}), Event("distribute", {"empty": ""})]
    results = [
        (0, "ok", "", [Event("transfer", {"sender": "qosacc1x", "recipient": long_text, "n": 7})]),
        (12, "nonce 3, expected 2", "bad_nonce", []),
        (0, "", "", [Event("", {"": "v"}), Event("many", {f"k{i}": "v" * 40 for i in range(5)})]),
        (2**31, long_text * 2, "internal", [Event("e", {})]),
    ]
    expected = abci.ResponseFinalizeBlock(app_hash=bytes(range(32)))
    for kind, attributes in block_events:
        event = expected.events.add(type=kind)
        for key, value in attributes.items():
            event.attributes.add(key=key, value=value, index=True)
    for code, log, codespace, events in results:
        result = expected.tx_results.add(
            code=code, log=log, codespace=codespace, gas_used=1, gas_wanted=1
        )
        for kind, attributes in events:
            event = result.events.add(type=kind)
            for key, value in attributes.items():
                event.attributes.add(key=str(key), value=str(value), index=True)
    update = expected.validator_updates.add(power=10)
    update.pub_key.ed25519 = b"k" * 32
    rest = abci.ResponseFinalizeBlock(
        app_hash=expected.app_hash, validator_updates=expected.validator_updates
    )
    encoded = encode_finalize_block_response(
        block_events, [encode_exec_tx_result(*r) for r in results], rest.SerializeToString()
    )
    assert encoded == abci.Response(finalize_block=expected).SerializeToString()
    assert abci.Response.FromString(encoded).finalize_block == expected
