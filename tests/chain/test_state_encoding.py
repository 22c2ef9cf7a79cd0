"""State values go into the app hash: the fast path of x/context.enc must write exactly the bytes
of cbor2's canonical encoder, for every value a module could store."""

from __future__ import annotations

import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st

from host.chain.x.context import dec, enc

scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),  # past 64 bits: cbor2 bignums
    st.integers(min_value=-300, max_value=70_000),
    st.booleans(),
    st.none(),
    st.binary(max_size=40),
    st.text(max_size=12),
    st.floats(allow_nan=False),  # floats must take the canonical path (shortest float form)
)
anything = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)


@settings(max_examples=400, deadline=None, database=None)
@given(balance=anything, nonce=anything, swap=st.booleans())
def test_account_shaped_maps_encode_as_cbor2_canonical(balance, nonce, swap):
    obj = {"nonce": nonce, "balance": balance} if swap else {"balance": balance, "nonce": nonce}
    assert enc(obj) == cbor2.dumps(obj, canonical=True)


@settings(max_examples=200, deadline=None, database=None)
@given(value=anything)
def test_any_other_value_encodes_as_cbor2_canonical(value):
    assert enc(value) == cbor2.dumps(value, canonical=True)


def test_an_account_round_trips_and_its_bytes_are_fixed():
    acc = {"balance": 10**10, "nonce": 7}
    assert enc(acc).hex() == "a2656e6f6e6365076762616c616e63651b00000002540be400"
    assert dec(enc(acc)) == acc
