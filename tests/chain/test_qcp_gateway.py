"""Tokens from outside the QOS chains (white paper figure 2.6, docs/qcp.md section 11): qos-a is
the gateway of ETH; its recorder issues qos-a:ETH against deposit records on qos-a, and the token
moves over QCP to qos-b and back like any other. The chains' invariants (the gateway's supply
equals what its deposit records back) are checked after every block (helpers.Chain)."""

from __future__ import annotations

from hashlib import sha256

import cbor2

from host.chain.store import MerkleStore
from host.chain.x.context import bech
from host.chain.x.qcp.module import out_key
from host.chain.x.qcp.tokens import escrow_address
from host.core.cbor import dumps
from tests.chain.helpers import QOS, cons_key, make_header
from tests.chain.test_qcp import (
    OTHER,
    RELAYER,
    USER,
    ack_msg,
    asset,
    ok,
    relay_msg,
    result,
    transfer,
    two_chains,
)
from tests.chain.test_qcp_supply import assert_conserved

ETH = "qos-a:ETH"  # what qos-a issues for ETH
ON_B = "qcp/qos-a/qos-a:ETH"  # its voucher on qos-b
RECORDER = USER


def deposit_id(n: int) -> bytes:
    """The outside network's id of a deposit (e.g. the hash of its tx and log index)."""
    return sha256(b"outside deposit %d" % n).digest()


def declare(chain, who=RECORDER, asset_name: str = "ETH", deposit: int = 1_000 * QOS):
    return chain.send(who, [{"type": "qcp/gateway", "asset": asset_name, "deposit": deposit}])


def mint(chain, n: int, amount: int, who=RECORDER, name: str = "ETH", receiver=OTHER):
    return chain.send(who, [{"type": "qcp/gateway_mint", "name": name, "deposit_id": deposit_id(n),
                             "receiver": receiver.address, "amount": amount}])


def burn(chain, amount: int, who=OTHER, external: str = "0x00aa"):
    return chain.send(who, [{"type": "qcp/gateway_burn", "name": "ETH", "amount": amount,
                             "external": external}])


def gateway(chain) -> dict | None:
    raw = chain.app.store.get(b"qcp/gateway/ETH")
    return None if raw is None else cbor2.loads(raw)


def supply(chain, denom: str) -> int:
    raw = chain.app.store.get(b"bank/asset_supply/" + denom.encode())
    return 0 if raw is None else cbor2.loads(raw)


def test_an_outside_asset_enters_at_its_gateway_travels_and_leaves_again():
    a, b = two_chains()
    ok(declare(a))
    ok(mint(a, 1, 5_000))  # ETH deposited outside, recorded and issued on qos-a
    assert asset(a, ETH, OTHER) == 5_000 and gateway(a)["backed"] == 5_000
    ok(a.send(OTHER, [transfer("qos-b", ETH, 3_000)]))  # out over QCP: escrowed on qos-a
    ok(b.send(RELAYER, [relay_msg(a, "qos-b", 1)]))
    assert asset(b, ON_B, USER) == 3_000
    ok(a.send(RELAYER, [ack_msg(b, "qos-a", 1)]))
    assert result(a, "qos-b", 1)["ok"]
    assert_conserved(a, b)
    ok(b.send(USER, [transfer("qos-a", ON_B, 1_000, receiver=OTHER)]))  # home: burned on qos-b
    ok(a.send(RELAYER, [relay_msg(b, "qos-a", 1)]))
    ok(b.send(RELAYER, [ack_msg(a, "qos-b", 1)]))
    assert asset(a, ETH, OTHER) == 3_000 and asset(a, ETH, escrow_address("qos-b")) == 2_000
    assert_conserved(a, b)
    # out of the QOS chains: burned on the gateway, a withdrawal record for the recorder to pay
    ok(burn(a, 2_500, external="0x00aa"))
    assert gateway(a)["backed"] == 2_500 == supply(a, ETH)
    shown = a.app.query("qcp/gateway", b"ETH")  # GET /qcp/gateway/ETH
    assert shown.value == {"denom": ETH, "recorder": bech(RECORDER.address), "backed": 2_500,
                           "withdrawals": 1}, shown.log
    assert a.app.query("qcp/gateway", b"BTC").code != 0
    raw = a.app.store.get(b"qcp/gw_withdrawal/ETH/1")
    assert raw is not None and b"0x00aa" in raw
    assert_conserved(a, b)


def test_nothing_is_minted_without_a_recorded_deposit_of_the_declared_gateway():
    """Attacks on the gateway chain: mint as someone else, mint an asset never declared, mint one
    deposit twice (replay), take over a declaration, burn what one does not hold."""
    a, _ = two_chains()
    assert mint(a, 1, 100).codespace == "not_found"  # no gateway declared yet
    assert declare(a, deposit=999 * QOS).codespace == "invalid_amount"
    ok(declare(a))
    assert declare(a, who=OTHER).codespace == "already_exists"
    ok(mint(a, 1, 100))
    for res, code in ((mint(a, 2, 100, who=OTHER), "unauthorized"),
                      (mint(a, 1, 100), "already_exists"),  # the same deposit again
                      (mint(a, 3, 100, name="BTC"), "not_found"),
                      (burn(a, 101), "insufficient_funds"),
                      (burn(a, 1, external=""), "bad_encoding")):
        assert res.codespace == code, (code, res.log)
    assert gateway(a)["backed"] == 100 == supply(a, ETH) == asset(a, ETH, OTHER)


def test_a_chain_that_is_not_the_gateway_cannot_pass_off_the_asset():
    """Attack: the validators of a registered chain qos-m (keys the attacker holds) commit a
    state whose packet carries qos-a:ETH as if qos-m issued it. qos-b refuses it with an error
    ack: only qos-a issues qos-a:ETH, so no voucher of it exists without qos-a's escrow. On its
    own chain the attacker can only issue qos-m:<NAME>, which names it."""
    _, b = two_chains()
    m_key = cons_key(40)
    ok(b.send(USER, [{"type": "qcp/register", "chain": "qos-m", "deposit": 1_000 * QOS,
                      "validators": dumps([[m_key.pubkey, 1]])}]))
    packet = dumps({"from_chain": "qos-m", "to_chain": "qos-b", "seq": 1,
                    "sender": OTHER.address, "timeout_height": 0, "timeout_time": 0,
                    "payload": {"type": "qcp/tokens", "denom": ETH, "amount": 10**6,
                                "receiver": OTHER.address}})
    state = MerkleStore(None)
    root = state.stage(1, {out_key("qos-b", 1): packet})
    state.commit()
    _, proof, _ = state.prove(out_key("qos-b", 1))
    header = make_header("qos-m", 2, root, [m_key])
    ok(b.send(RELAYER, [{"type": "qcp/relay", "packet": packet, "proof": proof,
                         "header": header}]))
    ack = cbor2.loads(b.app.store.get(b"qcp/ack/qos-m/1"))
    assert not ack["ok"] and "gateway qos-a" in ack["log"], ack
    assert supply(b, "qcp/qos-m/" + ETH) == 0 and asset(b, "qcp/qos-m/" + ETH, OTHER) == 0
