"""x/identity (white paper 3.1, 3.3): registration, update and revocation by the owner only,
attestations by QSC issuers only, and revoked identities' attestations stop counting."""

from __future__ import annotations

from host.chain.store import verify_proof
from host.core.cbor import dumps
from tests.chain.helpers import Chain, account, make_genesis

ISSUER, USER, MALLORY, OTHER_ISSUER = (account(i) for i in range(4))
PROFILE, NEW_PROFILE, CLAIM = bytes([1]) * 32, bytes([2]) * 32, bytes([3]) * 32


def msg(kind: str, **fields) -> dict:
    return {"type": f"identity/{kind}", **fields}


def attest(subject, token: str = "STAR", claim: bytes = CLAIM) -> dict:
    return msg("attest", subject=subject.address, token=token, claim_hash=claim)


def ident(chain: Chain, who) -> dict | None:
    return chain.app.query("identity/get", who.address).value


def attestations(chain: Chain, who) -> list[dict]:
    return chain.app.query("identity/attestations", who.address).value


def setup() -> Chain:
    """ISSUER owns STAR, OTHER_ISSUER owns MOON; ISSUER, USER, OTHER_ISSUER are registered."""
    chain = Chain(genesis=make_genesis(n_accounts=4))
    for owner, name in ((ISSUER, "STAR"), (OTHER_ISSUER, "MOON")):
        assert chain.send(owner, [{"type": "qsc/create", "name": name, "banker": owner.address,
                                   "supply_cap": 10**6}]).ok
    for who in (ISSUER, USER, OTHER_ISSUER):
        assert chain.send(who, [msg("register", profile_hash=PROFILE)]).ok
    return chain


def test_only_the_owner_updates_and_revokes():
    chain = setup()
    assert chain.send(USER, [msg("update", profile_hash=NEW_PROFILE)]).ok
    assert ident(chain, USER)["profile_hash"] == NEW_PROFILE.hex()
    # Attack: MALLORY has no identity; its update and revoke can only ever touch its own address
    assert chain.send(MALLORY, [msg("update", profile_hash=PROFILE)]).codespace == "not_found"
    assert chain.send(MALLORY, [msg("revoke")]).codespace == "not_found"
    assert ident(chain, USER)["profile_hash"] == NEW_PROFILE.hex()
    assert not ident(chain, USER)["revoked"]
    assert chain.send(USER, [msg("revoke")]).ok
    assert ident(chain, USER)["revoked"]
    # a revoked identity stays revoked: no update, no second revoke, never registered again
    for again in (msg("update", profile_hash=PROFILE), msg("revoke"),
                  msg("register", profile_hash=PROFILE)):
        res = chain.send(USER, [again])
        assert res.codespace in ("unauthorized", "already_exists"), again
    assert ident(chain, USER)["profile_hash"] == NEW_PROFILE.hex()


def test_only_a_registered_issuer_attests_under_its_own_token():
    chain = setup()
    # Attack: MALLORY owns no token and has no identity; OTHER_ISSUER is an issuer, of MOON
    assert chain.send(MALLORY, [attest(USER)]).codespace == "unauthorized"
    assert chain.send(OTHER_ISSUER, [attest(USER, "STAR")]).codespace == "unauthorized"
    assert chain.send(MALLORY, [{"type": "qsc/create", "name": "FAKE", "banker": MALLORY.address,
                                 "supply_cap": 1}]).ok
    # owning a token is not enough: an issuer needs a registered identity
    assert chain.send(MALLORY, [attest(USER, "FAKE")]).codespace == "unauthorized"
    assert chain.send(ISSUER, [attest(MALLORY)]).codespace == "not_found"  # no identity to attest
    assert chain.send(ISSUER, [attest(USER, "NOPE")]).codespace == "not_found"
    assert attestations(chain, USER) == []
    assert chain.send(ISSUER, [attest(USER)]).ok
    assert chain.send(OTHER_ISSUER, [attest(USER, "MOON", NEW_PROFILE)]).ok
    got = {a["token"]: a for a in attestations(chain, USER)}
    assert set(got) == {"STAR", "MOON"} and all(a["counts"] for a in got.values())
    assert got["STAR"]["claim_hash"] == CLAIM.hex()
    # only the issuer withdraws its attestation
    unattest = msg("unattest", subject=USER.address, token="STAR")
    assert chain.send(OTHER_ISSUER, [unattest]).codespace == "unauthorized"
    assert chain.send(ISSUER, [unattest]).ok
    assert [a["token"] for a in attestations(chain, USER)] == ["MOON"]
    assert chain.send(ISSUER, [unattest]).codespace == "not_found"


def test_revoked_identities_attestations_stop_counting():
    chain = setup()
    assert chain.send(ISSUER, [attest(USER)]).ok
    assert chain.send(ISSUER, [attest(OTHER_ISSUER)]).ok
    assert chain.send(OTHER_ISSUER, [attest(USER, "MOON")]).ok
    # the subject revokes: nothing about it counts any more
    assert chain.send(USER, [msg("revoke")]).ok
    assert not any(a["counts"] for a in attestations(chain, USER))
    assert chain.send(ISSUER, [attest(USER)]).codespace == "not_found"  # nor can be added
    # the issuer revokes: what it attested stops counting, and it attests no more
    assert attestations(chain, OTHER_ISSUER)[0]["counts"]
    assert chain.send(ISSUER, [msg("revoke")]).ok
    assert not attestations(chain, OTHER_ISSUER)[0]["counts"]
    assert chain.send(ISSUER, [attest(OTHER_ISSUER)]).codespace == "unauthorized"


def test_an_attestation_is_provable_for_a_business_chain():
    """One identity across business chains (3.1, 3.3): another chain checks the record and an
    attestation against this chain's app hash, as QCP does for any state."""
    chain = setup()
    assert chain.send(ISSUER, [attest(USER)]).ok
    app = chain.app
    for path, data in (("identity/get", USER.address),
                       ("identity/attestation", dumps([USER.address, "STAR"]))):
        res = app.query(path, data, prove=True)
        assert res.code == 0, res.log
        root = app.store.root_at(res.height)
        assert verify_proof(root, res.key, res.raw, res.proof)
    assert app.query("identity/attestation", dumps([USER.address, "MOON"])).codespace \
        == "not_found"
    assert app.query("identity/attestation", b"garbage").codespace == "invalid_request"
