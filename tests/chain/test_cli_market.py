"""`qos tx` for the market, reserve and identity messages: the CLI builds and signs each (dry
run, key file), and the chain runs what it signed; bad arguments exit 1 with a reason."""

from __future__ import annotations

import json

from host.cli.qos import main
from host.devtools.keyfile import save_key
from tests.chain.helpers import CHAIN, Chain, account, make_genesis

OWNER, USER = account(0), account(1)


def signed_by_cli(key_file, nonce: int, *argv: str, capsys) -> bytes:
    capsys.readouterr()
    assert main(["tx", *argv, "--key", str(key_file), "--chain-id", CHAIN, "--nonce", str(nonce),
                 "--fee", "100000", "--dry-run"]) == 0
    return bytes.fromhex(json.loads(capsys.readouterr().out)["signed_tx"])


def test_each_new_command_signs_what_the_chain_runs(tmp_path, capsys):
    chain = Chain(genesis=make_genesis(n_accounts=2))
    keys = {}
    for who in (OWNER, USER):
        keys[who] = tmp_path / f"{who.address.hex()}.json"
        save_key(keys[who], who)
    assert chain.send(OWNER, [{"type": "qsc/create", "name": "STAR", "banker": OWNER.address,
                               "supply_cap": 10**12}]).ok
    assert chain.send(OWNER, [{"type": "qsc/issue", "name": "STAR", "to": OWNER.address,
                               "amount": 10**9}]).ok
    steps = [
        (OWNER, "add-liquidity", "STAR", "10qos", "100000", "--min-shares", "1"),
        (USER, "swap", "STAR", "QOS", "0.5qos", "--min-out", "1"),
        (USER, "swap", "STAR", "STAR", "100"),
        (OWNER, "remove-liquidity", "STAR", "1000"),
        (OWNER, "qsc-reserve", "STAR", "1000", "50000"),
        (OWNER, "identity-register", "11" * 32),
        (USER, "identity-register", "22" * 32),
        (USER, "identity-update", "33" * 32),
        (OWNER, "attest", USER.address_string, "STAR", "44" * 32),
        (OWNER, "unattest", USER.address_string, "STAR"),
        (USER, "identity-revoke"),
    ]
    for who, *argv in steps:
        raw = signed_by_cli(keys[who], chain.next_nonce(who), *argv, capsys=capsys)
        result = chain.block([raw]).tx_results[0]
        assert result.ok, (argv, result.log)
    assert chain.app.query("identity/get", USER.address).value["revoked"]
    assert chain.app.query("exchange/pool", b"STAR").value["qsc"] > 0


def test_bad_arguments_exit_2_with_a_reason(tmp_path, capsys):
    key = tmp_path / "k.json"
    save_key(key, USER)
    for argv in (["swap", "STAR", "STAR", "1.5qos"],  # QSC is whole units
                 ["swap", "star", "QOS", "1"],  # not a token name
                 ["add-liquidity", "STAR", "lots", "1"],
                 ["identity-update", "abc"],
                 ["attest", "qosacc1nope", "STAR", "44" * 32],
                 ["qsc-reserve", "STAR", "-1", "5"]):
        capsys.readouterr()
        code = main(["tx", *argv, "--key", str(key), "--chain-id", CHAIN, "--nonce", "1",
                     "--dry-run"])
        out = capsys.readouterr()
        assert code == 2, argv
        assert "signed_tx" not in out.out and (out.err or out.out).strip(), argv
