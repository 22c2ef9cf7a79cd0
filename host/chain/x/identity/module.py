"""identity/register: once per address. Key: identity/<addr20> {"profile_hash","height","time"}."""

from __future__ import annotations

from host.chain.errors import TxError
from host.chain.x.context import Ctx, bech

PREFIX = b"identity/"


def register(ctx: Ctx, msg: dict) -> None:
    profile = msg.get("profile_hash")
    if not isinstance(profile, bytes) or len(profile) != 32:
        raise TxError("bad_encoding", "profile_hash must be 32 bytes")
    key = PREFIX + ctx.signer
    if ctx.get(key) is not None:
        raise TxError("already_exists", "this address is already registered")
    ctx.put(key, {"profile_hash": profile, "height": ctx.height, "time": ctx.time})
    ctx.emit("identity_register", address=ctx.signer, profile_hash=profile)


def query_get(ctx: Ctx, data: bytes):
    if len(data) != 20:
        raise TxError("invalid_request", "identity/get needs a 20-byte address")
    rec = ctx.get(PREFIX + data)
    if rec is None:
        raise TxError("not_found", f"{bech(data)} has no identity")
    return PREFIX + data, {"address": bech(data), "profile_hash": rec["profile_hash"].hex(),
                           "height": rec["height"], "time": rec["time"]}


HANDLERS = {"identity/register": register}
QUERIES = {"identity/get": query_get}
