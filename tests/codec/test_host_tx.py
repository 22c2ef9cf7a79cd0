"""Host-side transaction API: builders, Tx/SignedTx, signatures, amounts."""

from __future__ import annotations

import pytest
from nacl.signing import SigningKey

from host.core import cbor
from host.core import tx as htx
from host.core.errors import Code, TxError
from host.core.keys import AddressError, address_from_pubkey, encode_address

from .helpers import every_message

ALICE = bytes(range(20))
BOB = bytes(range(20, 40))


def _signed(tx: htx.Tx, seed: bytes = b"\x07" * 32) -> htx.SignedTx:
    key = SigningKey(seed)
    sig = key.sign(tx.sign_bytes()).signature
    return htx.SignedTx(tx, bytes(key.verify_key), sig)


def test_builders_cover_every_type_and_the_tx_round_trips():
    msgs = every_message()
    assert {m["type"] for m in msgs} == set(htx.MESSAGES)
    for start in range(0, len(msgs), htx.MAX_MSGS):
        tx = htx.Tx("qos", 1 + start, start, tuple(msgs[start : start + htx.MAX_MSGS]), memo="x")
        assert htx.Tx.decode(tx.encode()) == tx


def test_signed_tx_round_trip_and_verify():
    tx = htx.Tx("qos-test", 5, 180, (htx.transfer(ALICE, 123_400),), memo="hi")
    signed = _signed(tx)
    raw = signed.encode()
    again = htx.SignedTx.decode(raw)
    assert again == signed and again.verify()
    assert again.signer == address_from_pubkey(signed.pubkey)
    # Any change to what was signed, or to the signature, fails verification.
    other_chain = htx.SignedTx(htx.Tx("qos-other", 5, 180, tx.msgs, "hi"), signed.pubkey,
                               signed.sig)
    assert not other_chain.verify()
    flipped = bytes([signed.sig[0] ^ 1]) + signed.sig[1:]
    assert not htx.SignedTx(tx, signed.pubkey, flipped).verify()
    other_key = _signed(tx, b"\x08" * 32)
    assert not htx.SignedTx(tx, other_key.pubkey, signed.sig).verify()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda o: o.pop("sig"), "signed_tx.sig: missing"),
        (lambda o: o.update(sig=b"\x00" * 63), "signed_tx.sig: must be a 64-byte string"),
        (lambda o: o.update(pubkey="key"), "signed_tx.pubkey: must be a 32-byte string"),
        (lambda o: o.update(extra=1), "signed_tx: unexpected key 'extra'"),
        (lambda o: o["tx"].update(nonce=0), "tx.nonce: must be an integer >= 1"),
        (lambda o: o["tx"]["msgs"][0].update(to=b"\x00"), "tx.msgs[0].to: must be a 20-byte"),
    ],
)
def test_signed_tx_decode_rejects_malformed(mutate, message):
    signed = _signed(htx.Tx("qos", 1, 0, (htx.transfer(ALICE, 1),)))
    obj = cbor.loads(signed.encode())
    mutate(obj)
    with pytest.raises(htx.TxError, match=message.replace("[", r"\[").replace("]", r"\]")):
        htx.SignedTx.decode(cbor.dumps(obj))


def test_signed_tx_decode_rejects_non_canonical_and_garbage():
    raw = _signed(htx.Tx("qos", 1, 0, (htx.transfer(ALICE, 1),))).encode()
    for bad, fragment in [
        (raw + b"\x00", "trailing"),
        (raw[:-1], "truncated"),
        (raw.replace(b"enonce\x01", b"enonce\x18\x01"), "non-shortest"),
        (b"\x00" * 20000, "bytes, more than"),
        (b"\x80", "must be a map"),
    ]:
        with pytest.raises(htx.TxError, match=fragment):
            htx.SignedTx.decode(bad)
    with pytest.raises(htx.TxError):
        htx.SignedTx.decode("not bytes")  # type: ignore[arg-type]


def test_decode_signed_tx_returns_the_parts_and_the_sign_bytes():
    signed = _signed(htx.Tx("qos", 3, 7, (htx.transfer(ALICE, 9),), memo="m"))
    tx, pubkey, sig, sign_bytes = htx.decode_signed_tx(signed.encode())
    assert tx == signed.tx.to_cbor_obj() and (pubkey, sig) == (signed.pubkey, signed.sig)
    assert sign_bytes == signed.tx.sign_bytes() == htx.sign_bytes(tx)


@pytest.mark.parametrize(
    "mutate, code",
    [
        (lambda o: o["tx"]["msgs"][0].update(amount=0), Code.INVALID_AMOUNT),
        (lambda o: o["tx"]["msgs"][0].update(amount=2**63), Code.INVALID_AMOUNT),
        (lambda o: o["tx"]["msgs"][0].update(amount=-1), Code.INVALID_AMOUNT),
        (lambda o: o["tx"].update(fee=-1), Code.BAD_ENCODING),  # a fee may be 0: not an AMOUNT
        (lambda o: o["tx"].update(nonce=0), Code.BAD_ENCODING),
        (lambda o: o.update(sig=b"\x00"), Code.BAD_ENCODING),
    ],
)
def test_decode_errors_carry_the_node_result_code(mutate, code):
    obj = cbor.loads(_signed(htx.Tx("qos", 1, 0, (htx.transfer(ALICE, 1),))).encode())
    mutate(obj)
    with pytest.raises(TxError) as caught:
        htx.decode_signed_tx(cbor.dumps(obj))
    assert caught.value.code is code


def test_size_and_encoding_codes():
    with pytest.raises(TxError, match="more than") as caught:
        htx.decode_signed_tx(b"\xa0" * (htx.MAX_SIGNED_TX_BYTES + 1))
    assert caught.value.code is Code.TX_TOO_LARGE
    with pytest.raises(TxError, match="trailing") as caught:
        htx.decode_signed_tx(b"\xa0" * htx.MAX_SIGNED_TX_BYTES)
    assert caught.value.code is Code.BAD_ENCODING
    assert TxError(Code.BAD_ENCODING).label == "bad_encoding"


def test_builders_reject_bad_fields_and_tx_checks_relations():
    with pytest.raises(htx.TxError, match="amount: must be an integer > 0"):
        htx.transfer(ALICE, 0)
    with pytest.raises(htx.TxError, match="name: must be 1..8 letters A-Z and not QOS"):
        htx.qsc_issue("QOS", ALICE, 1)
    with pytest.raises(htx.TxError, match="commission"):
        htx.edit_validator("n", 10_001)
    with pytest.raises(htx.TxError, match="qcp payload may not"):
        htx.qcp_send("biz", htx.qcp_send("x", htx.transfer(ALICE, 1)))
    with pytest.raises(htx.TxError, match="to_chain: must differ from the tx chain"):
        htx.Tx("biz", 1, 0, (htx.qcp_send("biz", htx.transfer(ALICE, 1)),))
    with pytest.raises(htx.TxError, match="chain: must differ from the tx chain"):
        htx.Tx("qos", 1, 0, (htx.qcp_ack("qos", 1, b"a", b"p", b"h"),))
    with pytest.raises(htx.TxError, match="to_chain: must differ from the tx chain"):
        htx.Tx("qos", 1, 0, (htx.qcp_transfer("qos", "QOS", ALICE, 1),))
    with pytest.raises(htx.TxError, match="tx.msgs: must be a list of 1..16"):
        htx.Tx("qos", 1, 0, ())
    with pytest.raises(htx.TxError, match="tx.memo"):
        htx.Tx("qos", 1, 0, (htx.transfer(ALICE, 1),), memo="\u00e9" * 129)


def test_addresses_accept_bech32_with_the_right_prefix_only():
    text = encode_address(ALICE)
    assert htx.transfer(text, 1)["to"] == ALICE
    assert htx.delegate(encode_address(ALICE, "qosval"), 1)["validator"] == ALICE
    with pytest.raises(AddressError, match="qosval1"):
        htx.delegate(text, 1)
    with pytest.raises(AddressError, match="not a valid"):
        htx.transfer(text[:-1] + ("q" if text[-1] != "q" else "p"), 1)
    with pytest.raises(AddressError, match="20 bytes"):
        htx.transfer(b"\x00" * 19, 1)


def test_format_and_parse_amount():
    assert htx.format_amount(123_400) == "12.3400 QOS"
    assert htx.format_amount(0) == "0.0000 QOS"
    assert htx.format_amount(2**63 - 1, "ABC") == "922337203685477.5807 ABC"
    assert htx.parse_amount("12.34") == 123_400
    assert htx.parse_amount("7") == 70_000
    assert htx.parse_amount("0.0001") == 1
    for bad in ["", "1.23456", "-1", "1e3", "1,5", "٣", "922337203685477.5808", "1."]:
        with pytest.raises(ValueError):
            htx.parse_amount(bad)
    with pytest.raises(ValueError):
        htx.format_amount(-1)


def test_the_vectors_printed_in_protocol_md():
    # docs/protocol.md section 3 quotes these bytes; a change here must change the page too.
    alice = bytes(range(20))
    assert encode_address(alice) == "qosacc1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnzgwjr8"
    tx = htx.Tx("qos-test", 1, 180, (htx.transfer(alice, 123_400),))
    encoded = (
        "a56366656518b4646d656d6f60646d73677381a362746f54000102030405060708090a0b0c0d0e0f101112"
        "1364747970656d62616e6b2f7472616e7366657266616d6f756e741a0001e20865636861696e68716f732d"
        "74657374656e6f6e636501"
    )
    assert tx.encode().hex() == encoded
    assert tx.sign_bytes().hex() == "8368716f732f74782f3168716f732d74657374" + encoded
    assert htx.message_sign_bytes("qos-test", b"hello").hex() == (
        "8369716f732f6d73672f3168716f732d746573744568656c6c6f"
    )
    assert cbor.dumps({"a": 1, "b": [True, None]}).hex() == "a2616101616282f5f6"
