"""`qos tx` and `qos query` against a running node: text for people, JSON with --json, the
node URL from $QOS_NODE, and a send over the balance refused before it is signed (exit 2, no fee
charged)."""

from __future__ import annotations

import json

import pytest

from host.cli.qos import main
from host.core.keys import Account
from tests.cli.node import solo_node

SENDER = Account.from_ed25519_seed(b"\x11" * 32)
RECEIVER = Account.from_ed25519_seed(b"\x12" * 32)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    home = tmp_path_factory.mktemp("cli-node")
    with solo_node(home, {SENDER.address_string: 10 * 10_000}) as url:
        yield url


def run(capsys, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_text_and_json_output(node, tmp_path, capsys, monkeypatch):
    from host.devtools.keyfile import save_key

    key = tmp_path / "sender.json"
    save_key(key, SENDER)
    monkeypatch.setenv("QOS_NODE", node)
    code, out = run(capsys, "tx", "bank", "send", RECEIVER.address_string, "1.5qos", "--key",
                    str(key))
    assert code == 0
    assert out.splitlines()[0].split() == ["status", "committed"], out
    assert "hash" in out and "{" not in out
    code, out = run(capsys, "query", "account", RECEIVER.address_string)
    assert code == 0 and "balance    1.5000 QOS" in out, out
    code, out = run(capsys, "query", "account", RECEIVER.address_string, "--json")
    assert json.loads(out)["value"]["balance"] == 15_000
    code, out = run(capsys, "query", "balances", RECEIVER.address_string)  # the Cosmos word
    assert code == 0 and "balance    1.5000 QOS" in out, out
    code, out = run(capsys, "query", "status")
    assert code == 0 and "cli-test" in out
    code, out = run(capsys, "query", "account", SENDER.address_string, "--json")
    before = json.loads(out)["value"]
    capsys.readouterr()
    code = main(["tx", "bank", "send", RECEIVER.address_string, "100qos", "--key", str(key),
                 "--fee", "1000"])
    refused = capsys.readouterr()
    assert code == 2 and refused.out == "" and "nothing was signed or sent" in refused.err
    code, out = run(capsys, "query", "account", SENDER.address_string, "--json")
    assert json.loads(out)["value"] == before  # no fee charged, no nonce used
    code, out = run(capsys, "query", "account", "qosacc1nope")
    assert code == 2


def test_a_committed_tx_and_its_block_as_text_and_json(node, tmp_path, capsys, monkeypatch):
    from host.devtools.keyfile import save_key

    key = tmp_path / "sender.json"
    save_key(key, SENDER)
    monkeypatch.setenv("QOS_NODE", node)
    code, out = run(capsys, "tx", "bank", "send", RECEIVER.address_string, "0.25qos", "--key",
                    str(key), "--memo", "rent", "--json")
    sent = json.loads(out)
    assert code == 0 and sent["status"] == "committed", out
    code, out = run(capsys, "query", "tx", sent["hash"])
    assert code == 0 and "{" not in out, out
    lines = [line.split(None, 1) for line in out.splitlines()]
    fields = {line[0]: line[1] for line in lines if len(line) == 2}
    assert fields["status"] == "committed" and fields["signer"] == SENDER.address_string
    assert fields["result"].startswith("ok (code 0")
    assert fields["fee"].endswith(" QOS") and fields["memo"] == "rent"
    assert fields["amount"] == "0.2500 QOS" and fields["to"] == RECEIVER.address_string
    code, out = run(capsys, "query", "tx", sent["hash"], "--json")
    assert code == 0 and json.loads(out)["height"] == sent["height"]
    code, out = run(capsys, "query", "block", str(sent["height"]))
    assert code == 0 and "{" not in out, out
    assert sent["hash"] in out and f"height     {sent['height']}" in out and "cli-test" in out
    code, out = run(capsys, "query", "block", str(sent["height"]), "--json")
    assert code == 0 and json.loads(out)["txs"] == [sent["hash"]]
    code, out = run(capsys, "query", "block", "latest")
    assert code == 0 and out.startswith("height")


@pytest.mark.parametrize("argv", [["tx", "12ab"], ["tx", "zz" * 32], ["block", "-1"],
                                  ["block", "tip"]])
def test_a_malformed_hash_or_height_is_bad_input(node, capsys, argv):
    code, out = run(capsys, "query", *argv, "--node", node)
    assert code == 2 and out == ""
