"""`qosd join`: a business chain that registers itself for QCP on a running base chain by a
qcp/register tx with a deposit, gets its chain number, and is then proven to the base chain by
its own signed blocks."""

from __future__ import annotations

from host.chain.node import BackgroundNode
from host.chain.store import verify_proof
from host.cli.qosd import main as qosd
from host.core import cbor
from host.devtools.keyfile import save_key
from tests.chain.test_api_qcp import QOS, account, get, signed_header, submit

BASE, BIZ = "qos-base", "biz-one"
DEPOSIT = 1_000 * QOS


def balance(url: str, who) -> int:
    status, doc = get(f"{url}/accounts/{who.address_string}")
    return doc["value"]["balance"] if status == 200 else 0


def test_qosd_join_registers_a_business_chain_on_a_running_base_chain(tmp_path, capsys):
    payer, user = account(0), account(1)
    save_key(tmp_path / "payer.json", payer)
    assert qosd(["init", "--home", str(tmp_path / "base"), "--chain-id", BASE,
                 "--block-interval", "0.2", "--api", "127.0.0.1:0",
                 f"--account={payer.address_string}={10**4 * QOS}"]) == 0
    base = BackgroundNode(tmp_path / "base").start()
    try:
        home = tmp_path / "biz"

        def join(*extra: str, at=home, key="payer.json") -> int:
            return qosd(["join", "--home", str(at), "--chain-id", BIZ, "--base", base.url,
                         "--key", str(tmp_path / key), "--block-interval", "0.2",
                         "--api", "127.0.0.1:0", f"--account={user.address_string}={10 * QOS}",
                         "--no-start", *extra])

        capsys.readouterr()
        before = balance(base.url, payer)
        # a deposit below the minimum: a clear error, nothing spent, no home left behind
        assert join("--deposit", "1") == 2  # bad input
        assert "below the minimum" in capsys.readouterr().err
        assert not home.exists() and balance(base.url, payer) == before
        # a payer the base chain refuses: the registration fails, and the home it made goes
        save_key(tmp_path / "poor.json", account(5))
        assert join(key="poor.json") == 1
        assert f"registering {BIZ}" in capsys.readouterr().err
        assert not home.exists()
        assert join() == 0
        assert f"{BIZ} is QCP chain number 1 on {BASE}" in capsys.readouterr().out
        status, doc = get(f"{base.url}/qcp/{BIZ}/client")
        assert status == 200 and doc["value"]["number"] == 1, doc
        from host.chain.engine.privval import ValidatorKey

        key = ValidatorKey.load(home / "config" / "priv_validator_key.json")
        assert [pk for pk, _ in doc["value"]["validators"]] == [key.pubkey.hex()]
        paid = before - balance(base.url, payer)
        assert DEPOSIT < paid <= DEPOSIT + 20_000
        # again: the same number, no second deposit; another home for the id is refused
        assert join() == 0
        assert "chain number 1" in capsys.readouterr().out
        assert balance(base.url, payer) == before - paid
        assert join(at=tmp_path / "impostor") == 2  # the id is taken: bad input
        assert "already registered" in capsys.readouterr().err
        assert not (tmp_path / "impostor").exists()
        # the business chain runs, and the base chain accepts its packets, proven by its
        # solo engine's signed blocks under the client the registration created
        biz = BackgroundNode(home).start()
        try:
            payload = {"type": "bank/transfer", "to": account(2).address, "amount": 1}
            sent = submit(biz.url, BIZ, user, 1, {"type": "qcp/send", "to_chain": BASE,
                                                  "payload": payload})
            assert sent["code"] == 0, sent
            status, out = get(f"{biz.url}/qcp/{BASE}/out/1?prove=true")
            assert status == 200, out
            header, app_hash = signed_header(biz.url, out["height"] + 1)
            packet = bytes.fromhex(out["raw"])
            assert verify_proof(app_hash, bytes.fromhex(out["key"]), packet,
                                bytes.fromhex(out["proof"]))
            nonce = get(f"{base.url}/accounts/{payer.address_string}")[1]["value"]["nonce"] + 1
            relayed = submit(base.url, BASE, payer, nonce, {
                "type": "qcp/relay", "packet": packet, "proof": bytes.fromhex(out["proof"]),
                "header": header})
            assert relayed["code"] == 0, relayed
            assert get(f"{base.url}/qcp/{BIZ}/seq")[1]["value"]["in"] == 1
            assert cbor.loads(header)["chain"] == BIZ
        finally:
            biz.stop()
    finally:
        base.stop()
