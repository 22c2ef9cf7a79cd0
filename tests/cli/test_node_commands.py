"""`qos tx` and `qos query` against a running node: text for people, JSON with --json, the
node URL from $QOS_NODE, and a tx over the balance reported as refused (exit 1)."""

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
    code, out = run(capsys, "tx", "bank", "send", RECEIVER.address_string, "100qos", "--key",
                    str(key), "--fee", "1000")
    assert code == 1 and "insufficient" in out
    code, out = run(capsys, "query", "account", "qosacc1nope")
    assert code == 2
