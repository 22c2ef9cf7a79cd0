"""identity/register: once per address. Key: identity/<addr20> {"profile_hash","height","time"}."""

from __future__ import annotations

from typing import Any

from host.chain.x.context import Ctx, bech
from host.chain.x.identity import routes
from host.chain.x.module import AppModule, Handler, Query, QueryRoute
from host.core.errors import Code, TxError
from host.core.tx import Msg

PREFIX = b"identity/"


class IdentityModule(AppModule):
    name = "identity"

    def handlers(self) -> dict[str, Handler]:
        return {"identity/register": self.register}

    def queries(self) -> dict[str, Query]:
        return {"identity/get": self.query_get}

    def routes(self) -> tuple[QueryRoute, ...]:
        return routes.ROUTES

    def register(self, ctx: Ctx, msg: Msg) -> None:
        profile = msg.get("profile_hash")
        if not isinstance(profile, bytes) or len(profile) != 32:
            raise TxError(Code.BAD_ENCODING, "profile_hash must be 32 bytes")
        key = PREFIX + ctx.signer
        if ctx.get(key) is not None:
            raise TxError(Code.ALREADY_EXISTS, "this address is already registered")
        ctx.put(key, {"profile_hash": profile, "height": ctx.height, "time": ctx.time})
        ctx.emit("identity_register", address=ctx.signer, profile_hash=profile)

    def query_get(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        if len(data) != 20:
            raise TxError(Code.INVALID_REQUEST, "identity/get needs a 20-byte address")
        rec = ctx.get(PREFIX + data)
        if rec is None:
            raise TxError(Code.NOT_FOUND, f"{bech(data)} has no identity")
        return PREFIX + data, {"address": bech(data), "profile_hash": rec["profile_hash"].hex(),
                               "height": rec["height"], "time": rec["time"]}
