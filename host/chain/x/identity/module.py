"""x/identity (white paper 3.1 "the user's address is registered on the chain as the unique
identifier of the user's identity", 3.3 unified identity authentication).

Keys:
    identity/<addr20>                     {"profile_hash","height","time","revoked"}
    identity.att/<subject20><NAME>        {"issuer","claim_hash","height"}

The owner of an address registers it once, updates its profile hash and may revoke it; a revoked
identity is never registered again and can no longer change. An issuer is a registered, unrevoked
identity that owns a QSC token: it attests claims (a hash of what it checked) about its users under
its token's name, one per user and token, and may withdraw them. An attestation counts while its
subject's and its issuer's identities both stand. Both kinds of record are plain store keys, so a
business chain proves them against this chain's app hash like any other QCP state
(docs/economics.md, "Identity").
"""

from __future__ import annotations

from typing import Any

from host.chain.x.context import Ctx, address, bech
from host.chain.x.identity import routes
from host.chain.x.module import AppModule, Handler, Query, QueryRoute, cbor_items
from host.chain.x.qsc.keeper import QscKeeper
from host.core.errors import Code, TxError
from host.core.tx import Msg

PREFIX = b"identity/"
ATTEST = b"identity.att/"


def attest_key(subject: bytes, token: str) -> bytes:
    return ATTEST + subject + token.encode()


def _profile(msg: Msg, field: str) -> bytes:
    value = msg.get(field)
    if not isinstance(value, bytes) or len(value) != 32:
        raise TxError(Code.BAD_ENCODING, f"{field} must be 32 bytes")
    return value


class IdentityModule(AppModule):
    name = "identity"

    def __init__(self, qsc: QscKeeper) -> None:
        self.qsc = qsc

    def handlers(self) -> dict[str, Handler]:
        return {
            "identity/register": self.register,
            "identity/update": self.update,
            "identity/revoke": self.revoke,
            "identity/attest": self.attest,
            "identity/unattest": self.unattest,
        }

    def queries(self) -> dict[str, Query]:
        return {"identity/get": self.query_get, "identity/attestations": self.query_attestations,
                "identity/attestation": self.query_attestation}

    def routes(self) -> tuple[QueryRoute, ...]:
        return routes.ROUTES

    # ---- state -------------------------------------------------------------------------------
    def record(self, ctx: Ctx, addr: bytes) -> dict | None:
        return ctx.get(PREFIX + addr)

    def live(self, ctx: Ctx, addr: bytes) -> bool:
        rec = self.record(ctx, addr)
        return rec is not None and not rec["revoked"]

    def _own_live(self, ctx: Ctx) -> dict:
        rec = self.record(ctx, ctx.signer)
        if rec is None:
            raise TxError(Code.NOT_FOUND, f"{bech(ctx.signer)} has no identity")
        if rec["revoked"]:
            raise TxError(Code.UNAUTHORIZED, "this identity is revoked")
        return rec

    def counts(self, ctx: Ctx, subject: bytes, att: dict) -> bool:
        return self.live(ctx, subject) and self.live(ctx, att["issuer"])

    # ---- handlers ----------------------------------------------------------------------------
    def register(self, ctx: Ctx, msg: Msg) -> None:
        profile = _profile(msg, "profile_hash")
        rec = self.record(ctx, ctx.signer)
        if rec is not None:
            state = "revoked (never reissued)" if rec["revoked"] else "registered"
            raise TxError(Code.ALREADY_EXISTS, f"this address is already {state}")
        ctx.put(PREFIX + ctx.signer, {"profile_hash": profile, "height": ctx.height,
                                      "time": ctx.time, "revoked": False})
        ctx.emit("identity_register", address=ctx.signer, profile_hash=profile)

    def update(self, ctx: Ctx, msg: Msg) -> None:
        profile = _profile(msg, "profile_hash")
        rec = self._own_live(ctx)
        rec["profile_hash"], rec["height"], rec["time"] = profile, ctx.height, ctx.time
        ctx.put(PREFIX + ctx.signer, rec)
        ctx.emit("identity_update", address=ctx.signer, profile_hash=profile)

    def revoke(self, ctx: Ctx, msg: Msg) -> None:
        rec = self._own_live(ctx)
        rec["revoked"], rec["height"], rec["time"] = True, ctx.height, ctx.time
        ctx.put(PREFIX + ctx.signer, rec)
        ctx.emit("identity_revoke", address=ctx.signer)

    def _issued_token(self, ctx: Ctx, msg: Msg) -> str:
        """The token named in msg, if the signer is its owner with a standing identity."""
        tok = self.qsc.must_token(ctx, msg.get("token"))
        if tok["owner"] != ctx.signer:
            raise TxError(Code.UNAUTHORIZED, f"only {tok['name']}'s owner attests under it")
        if not self.live(ctx, ctx.signer):
            raise TxError(Code.UNAUTHORIZED, "an issuer needs a registered, unrevoked identity")
        return tok["name"]

    def attest(self, ctx: Ctx, msg: Msg) -> None:
        subject = address(msg.get("subject"), "subject")
        claim = _profile(msg, "claim_hash")
        token = self._issued_token(ctx, msg)
        if not self.live(ctx, subject):
            raise TxError(Code.NOT_FOUND, f"{bech(subject)} has no standing identity")
        ctx.put(attest_key(subject, token), {"issuer": ctx.signer, "claim_hash": claim,
                                             "height": ctx.height})
        ctx.emit("identity_attest", subject=subject, token=token, issuer=ctx.signer,
                 claim_hash=claim)

    def unattest(self, ctx: Ctx, msg: Msg) -> None:
        subject = address(msg.get("subject"), "subject")
        tok = self.qsc.must_token(ctx, msg.get("token"))
        token = tok["name"]
        if tok["owner"] != ctx.signer:
            raise TxError(Code.UNAUTHORIZED, f"only {token}'s owner withdraws its attestations")
        if ctx.get(attest_key(subject, token)) is None:
            raise TxError(Code.NOT_FOUND, f"{token} has not attested {bech(subject)}")
        ctx.delete(attest_key(subject, token))
        ctx.emit("identity_unattest", subject=subject, token=token, issuer=ctx.signer)

    # ---- queries -----------------------------------------------------------------------------
    def query_get(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        if len(data) != 20:
            raise TxError(Code.INVALID_REQUEST, "identity/get needs a 20-byte address")
        rec = self.record(ctx, data)
        if rec is None:
            raise TxError(Code.NOT_FOUND, f"{bech(data)} has no identity")
        return PREFIX + data, {"address": bech(data), "profile_hash": rec["profile_hash"].hex(),
                               "height": rec["height"], "time": rec["time"],
                               "revoked": rec["revoked"]}

    def query_attestations(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        if len(data) != 20:
            raise TxError(Code.INVALID_REQUEST, "identity/attestations needs a 20-byte address")
        prefix = ATTEST + data
        return prefix, [self._attestation_json(ctx, data, key[len(prefix) :].decode(), att)
                        for key, att in ctx.items(prefix)]

    def query_attestation(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        subject, token = cbor_items(data, 2)
        att = ctx.get(attest_key(subject, token))
        if att is None:
            raise TxError(Code.NOT_FOUND, f"{token} has not attested {bech(subject)}")
        return attest_key(subject, token), self._attestation_json(ctx, subject, token, att)

    def _attestation_json(self, ctx: Ctx, subject: bytes, token: str, att: dict) -> dict:
        return {"subject": bech(subject), "token": token, "issuer": bech(att["issuer"]),
                "claim_hash": att["claim_hash"].hex(), "height": att["height"],
                "counts": self.counts(ctx, subject, att)}
