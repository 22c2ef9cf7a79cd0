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
