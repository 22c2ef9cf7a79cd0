"""Balances of assets other than QOS and this chain's QSC tokens: the vouchers of tokens that came
over QCP from another chain, denominated by their path (``qcp/<chain>/<denom>``, docs/qcp.md),
and the tokens this chain issues as the gateway of an outside asset (``<chain>:<NAME>``).

Keys:
    bank/asset/<denom>/<addr20>     int   a holder's balance (deleted at 0)
    bank/asset_supply/<denom>       int   units in existence on this chain (deleted at 0)

Only x/qcp mints and burns them (a voucher exists while its original is escrowed elsewhere, a
gateway's token while its deposit records back it); a denom never contains a "/" after its base
name, so `<denom>/` prefixes never overlap.
"""

from __future__ import annotations

from host.chain.x.context import Ctx, bech, checked_add
from host.core.errors import Code, TxError

ASSET = b"bank/asset/"
ASSET_SUPPLY = b"bank/asset_supply/"


def asset_key(denom: str, addr: bytes) -> bytes:
    return ASSET + denom.encode() + b"/" + addr


class AssetKeeper:
    """Multi-asset balances with a supply per denom (the keys above)."""

    def balance(self, ctx: Ctx, denom: str, addr: bytes) -> int:
        return ctx.get(asset_key(denom, addr)) or 0

    def supply(self, ctx: Ctx, denom: str) -> int:
        return ctx.get(ASSET_SUPPLY + denom.encode()) or 0

    def mint(self, ctx: Ctx, denom: str, to: bytes, amount: int) -> None:
        self._set_supply(ctx, denom, checked_add(self.supply(ctx, denom), amount, "supply"))
        self._credit(ctx, denom, to, amount)

    def burn(self, ctx: Ctx, denom: str, holder: bytes, amount: int) -> None:
        self._debit(ctx, denom, holder, amount)
        self._set_supply(ctx, denom, self.supply(ctx, denom) - amount)

    def move(self, ctx: Ctx, denom: str, frm: bytes, to: bytes, amount: int) -> None:
        self._debit(ctx, denom, frm, amount)
        self._credit(ctx, denom, to, amount)

    def holdings(self, ctx: Ctx, addr: bytes) -> dict[str, int]:
        """Every asset `addr` holds (a scan: for queries, not for handlers)."""
        return {denom: value for denom, holder, value in self._all(ctx) if holder == addr}

    def invariants(self, ctx: Ctx) -> list[str]:
        totals: dict[str, int] = {}
        for denom, _, value in self._all(ctx):
            totals[denom] = totals.get(denom, 0) + value
        supplies = {k[len(ASSET_SUPPLY):].decode(): v for k, v in ctx.items(ASSET_SUPPLY)}
        return [f"bank: asset {denom} supply {supplies.get(denom, 0)} != balances "
                f"{totals.get(denom, 0)}" for denom in sorted(set(totals) | set(supplies))
                if totals.get(denom, 0) != supplies.get(denom, 0)]

    def _all(self, ctx: Ctx) -> list[tuple[str, bytes, int]]:
        # <denom>/<addr20>: the address is the last 20 bytes, after one "/"
        return [(k[len(ASSET):-21].decode(), k[-20:], v) for k, v in ctx.items(ASSET)]

    def _credit(self, ctx: Ctx, denom: str, to: bytes, amount: int) -> None:
        ctx.put(asset_key(denom, to), checked_add(self.balance(ctx, denom, to), amount))

    def _debit(self, ctx: Ctx, denom: str, holder: bytes, amount: int) -> None:
        have = self.balance(ctx, denom, holder)
        if have < amount:
            raise TxError(Code.INSUFFICIENT_FUNDS,
                          f"{bech(holder)} holds {have} {denom}, fewer than {amount}")
        if have == amount:
            ctx.delete(asset_key(denom, holder))
        else:
            ctx.put(asset_key(denom, holder), have - amount)

    def _set_supply(self, ctx: Ctx, denom: str, value: int) -> None:
        if value:
            ctx.put(ASSET_SUPPLY + denom.encode(), value)
        else:
            ctx.delete(ASSET_SUPPLY + denom.encode())
