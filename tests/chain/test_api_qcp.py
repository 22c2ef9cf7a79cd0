"""QCP across two solo nodes through the REST API alone: chain A queues a packet, a relayer
reads it with its Merkle proof (/qcp/{chain}/out/{seq}?prove=true) and A's header (its solo
engine's signed block, /blocks/{h}/signed), chain B accepts the relay, runs the payload and
writes its ack, which goes back to A the same way (/qcp/{chain}/ack/{seq}?prove=true)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from hashlib import sha256

from host.chain.engine.privval import ValidatorKey
from host.chain.genesis import Genesis, GenesisAccount, GenesisChain, GenesisValidator
from host.chain.node import BackgroundNode, NodeConfig
from host.chain.store import verify_proof
from host.chain.x.qcp.client import block_header
from host.core import cbor
from host.core.keys import Account
from host.devtools.keyfile import save_key

QOS = 10_000


def account(n: int) -> Account:
    return Account.from_ed25519_seed(sha256(b"qcp api account %d" % n).digest())


def make_home(home, chain: str, key: ValidatorKey, other: str, other_key: ValidatorKey) -> None:
    NodeConfig(chain_id=chain, block_interval=0.2, api_listen="127.0.0.1:0").save(
        home / "config" / "node.toml"
    )
    key.save(home / "config" / "priv_validator_key.json")
    save_key(home / "config" / "operator_key.json", account(50 + len(chain)))
    Genesis(
        chain_id=chain,
        genesis_time=time.time() - 5,
        accounts=[GenesisAccount(account(i).address, 10**5 * QOS) for i in range(3)],
        validators=[GenesisValidator(account(9).address, key.pubkey, 10**4 * QOS)],
        chains=[GenesisChain(other, [(other_key.pubkey, 1)])],
    ).save(home / "config" / "genesis.json")


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def submit(url: str, chain: str, sender: Account, nonce: int, msg: dict) -> dict:
    tx = {"chain": chain, "nonce": nonce, "fee": 50_000, "msgs": [msg], "memo": ""}
    raw = cbor.dumps({"tx": tx, "pubkey": sender.pubkey,
                      "sig": sender.sign(cbor.dumps(["qos/tx/1", chain, tx]))})
    request = urllib.request.Request(url + "/txs?wait=commit", data=raw, method="POST")
    request.add_header("Content-Type", "application/cbor")
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def signed_header(url: str, height: int) -> tuple[bytes, bytes]:
    """The QCP header of the node's block `height` as its solo engine signed it, and the app
    hash it carries (after height - 1)."""
    deadline = time.monotonic() + 30
    while (answer := get(f"{url}/blocks/{height}/signed"))[0] != 200:
        assert time.monotonic() < deadline, answer
        time.sleep(0.1)
    doc = answer[1]
    header = block_header(bytes.fromhex(doc["header"]),
                          [(bytes.fromhex(pk), bytes.fromhex(sig)) for pk, sig in doc["sigs"]])
    return header, cbor.loads(header)["app_hash"]


def test_a_packet_relayed_between_two_solo_nodes_through_the_api(tmp_path):
    key_a = ValidatorKey(sha256(b"chain a validator").digest())
    key_b = ValidatorKey(sha256(b"chain b validator").digest())
    make_home(tmp_path / "a", "chain-a", key_a, "chain-b", key_b)
    make_home(tmp_path / "b", "chain-b", key_b, "chain-a", key_a)
    a, b = BackgroundNode(tmp_path / "a").start(), BackgroundNode(tmp_path / "b").start()
    try:
        url_a, url_b = a.url, b.url
        payload = {"type": "bank/transfer", "to": account(2).address, "amount": 1}
        sent = submit(url_a, "chain-a", account(0), 1,
                      {"type": "qcp/send", "to_chain": "chain-b", "payload": payload})
        assert sent["code"] == 0, sent
        status, out = get(f"{url_a}/qcp/chain-b/out/1?prove=true")
        assert status == 200 and out["proof"], out
        packet_bytes = bytes.fromhex(out["raw"])
        packet = cbor.loads(packet_bytes)
        assert packet["seq"] == 1 and packet["to_chain"] == "chain-b"
        # the proof is for the state after height h; header h+1 carries that app hash
        height = out["height"]
        header, app_hash = signed_header(url_a, height + 1)
        assert verify_proof(app_hash, bytes.fromhex(out["key"]), packet_bytes,
                            bytes.fromhex(out["proof"]))
        relay = {"type": "qcp/relay", "packet": packet_bytes,
                 "proof": bytes.fromhex(out["proof"]), "header": header}
        relayed = submit(url_b, "chain-b", account(1), 1, relay)
        assert relayed["code"] == 0, relayed
        status, seq = get(f"{url_b}/qcp/chain-a/seq")
        assert status == 200 and seq["value"]["in"] == 1
        # replaying the same packet is refused: the sequence moved on
        again = submit(url_b, "chain-b", account(1), 2, relay)
        assert again["code"] != 0 and again["codespace"] == "bad_sequence"
        # a header signed by the wrong chain's key does not verify on B
        forged = cbor.loads(header)
        forged["sigs"] = [[key_b.pubkey, key_b.sign(b"x" * 64)]]
        bad = submit(url_b, "chain-b", account(1), 2, {**relay, "header": cbor.dumps(forged)})
        assert bad["code"] != 0 and bad["codespace"] == "bad_proof"
        # the ack B wrote (an error: the sender's shadow account on B holds nothing) goes back
        # to A with its proof under B's header
        status, ack = get(f"{url_b}/qcp/chain-a/ack/1?prove=true")
        assert status == 200 and ack["value"]["ok"] is False, ack
        assert ack["value"]["log"].startswith("unknown_account"), ack
        header_b, _ = signed_header(url_b, ack["height"] + 1)
        acked = submit(url_a, "chain-a", account(1), 1, {
            "type": "qcp/ack", "chain": "chain-b", "seq": 1, "ack": bytes.fromhex(ack["raw"]),
            "proof": bytes.fromhex(ack["proof"]), "header": header_b})
        assert acked["code"] == 0, acked
        assert get(f"{url_a}/qcp/chain-b/seq")[1]["value"]["acked"] == 1
    finally:
        a.stop()
        b.stop()
