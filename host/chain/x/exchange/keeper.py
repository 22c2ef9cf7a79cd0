"""Pool state and the pools' exact integer arithmetic.

Keys:
    exchange/pool/<NAME>        {"name","qos","qsc","shares","cum","depth","last_ms","start_cum",
                                 "start_depth","start_ms"}
    exchange/share/<NAME>/<addr> int   liquidity shares an account holds
The QOS reserve sits in the x/bank pool "exchange/<NAME>"; the QSC reserve is in no account's
holding, and x/qsc counts it in the token's supply (qsc_reserve).

Every rounding favours the pool: a trader gets the floor of the constant-product output, a
provider the floor of its shares and pays the ceiling of the QSC side, a withdrawal the floor of
its part. So k = qos * qsc never decreases on a trade, and the value of a share never decreases.
LOCKED_SHARES of the first deposit belong to nobody, so a pool once opened never empties and a
share cannot be inflated to round later deposits down to nothing.

Price accumulator (what x/qsc's mining rate comes from): `cum` grows by the price (QOS units per
QSC unit, times PRICE_SCALE) times the milliseconds it stood, brought up to date before every
change of the reserves with the reserves as they were. A price set inside a block therefore counts
only from that block's time to the next change, never within the block it was set in.
`start_cum`/`start_ms` mark the start of the settlement period, so the period's time-weighted
average price is (cum - start_cum) / ((now - start_ms) * PRICE_SCALE). `depth` accumulates the QOS
reserve the same way: a market whose time-weighted QOS depth over the period is below
`exchange.min_depth` gives no rate (x/qsc then mines at the creation rate), so nobody can open a
thin market for a token at a silly price and mine its QSC by the million.
"""

from __future__ import annotations

from math import isqrt

from host.chain.x.bank.keeper import BankKeeper
from host.chain.x.context import Ctx, checked_add
from host.chain.x.qsc.keeper import QscKeeper
from host.core.errors import Code, TxError

POOL = b"exchange/pool/"
SHARE = b"exchange/share/"
PRICE_SCALE = 10**18
LOCKED_SHARES = 1_000
QOS = "QOS"


def reserve_pool(name: str) -> str:
    """The x/bank pool that holds a market's QOS reserve."""
    return f"exchange/{name}"


def share_key(name: str, addr: bytes) -> bytes:
    return SHARE + name.encode() + b"/" + addr


def now_ms(ctx: Ctx) -> int:
    return round(ctx.time * 1000)


def accrue(pool: dict, at_ms: int) -> None:
    """Bring the price accumulator up to `at_ms` with the reserves as they stand."""
    if at_ms > pool["last_ms"]:
        elapsed = at_ms - pool["last_ms"]
        pool["cum"] += pool["qos"] * PRICE_SCALE // pool["qsc"] * elapsed
        pool["depth"] += pool["qos"] * elapsed
        pool["last_ms"] = at_ms


def swap_output(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int) -> int:
    """Constant product with the fee left in the pool: floor(in' * R_out / (R_in + in')), where
    in' = amount_in * (1 - fee). Always < reserve_out."""
    kept = amount_in * (10_000 - fee_bps)
    return kept * reserve_out // (reserve_in * 10_000 + kept)


class ExchangeKeeper:
    """The pools (keys above); moves QOS through x/bank and QSC through x/qsc."""

    def __init__(self, bank: BankKeeper, qsc: QscKeeper) -> None:
        self.bank = bank
        self.qsc = qsc

    # ---- state -------------------------------------------------------------------------------
    def pool(self, ctx: Ctx, name: str) -> dict | None:
        return ctx.get(POOL + name.encode())

    def must_pool(self, ctx: Ctx, name: str) -> dict:
        pool = self.pool(ctx, name)
        if pool is None:
            raise TxError(Code.NOT_FOUND, f"no QOS/{name} market (add liquidity to open it)")
        return pool

    def set_pool(self, ctx: Ctx, pool: dict) -> None:
        ctx.put(POOL + pool["name"].encode(), pool)

    def pools(self, ctx: Ctx) -> list[dict]:
        return [pool for _, pool in ctx.items(POOL)]

    def shares_of(self, ctx: Ctx, name: str, addr: bytes) -> int:
        return ctx.get(share_key(name, addr)) or 0

    def set_shares(self, ctx: Ctx, name: str, addr: bytes, shares: int) -> None:
        if shares:
            ctx.put(share_key(name, addr), shares)
        else:
            ctx.delete(share_key(name, addr))

    def holders(self, ctx: Ctx, name: str) -> list[tuple[bytes, int]]:
        prefix = SHARE + name.encode() + b"/"
        return [(k[len(prefix) :], v) for k, v in ctx.items(prefix)]

    def qsc_reserve(self, ctx: Ctx, name: str) -> int:
        pool = self.pool(ctx, name)
        return 0 if pool is None else pool["qsc"]

    # ---- liquidity ---------------------------------------------------------------------------
    def add_liquidity(self, ctx: Ctx, name: str, provider: bytes, qos: int, max_qsc: int,
                      min_shares: int) -> tuple[int, int]:
        """Deposit `qos` and the matching QSC (at most max_qsc); returns (shares, qsc paid)."""
        pool = self.pool(ctx, name)
        if pool is None:
            qsc, minted = max_qsc, isqrt(qos * max_qsc)
            if minted <= LOCKED_SHARES:
                raise TxError(Code.INVALID_REQUEST, "opening deposit too small: "
                                                    f"sqrt(qos * qsc) must exceed {LOCKED_SHARES}")
            at = now_ms(ctx)
            pool = {"name": name, "qos": 0, "qsc": 0, "shares": LOCKED_SHARES, "cum": 0,
                    "depth": 0, "last_ms": at, "start_cum": 0, "start_depth": 0, "start_ms": at}
            shares = minted - LOCKED_SHARES
        else:
            accrue(pool, now_ms(ctx))
            qsc = -(-qos * pool["qsc"] // pool["qos"])  # ceiling: the provider rounds up
            shares = qos * pool["shares"] // pool["qos"]  # floor: the pool keeps the rest
            if qsc > max_qsc:
                raise TxError(Code.SLIPPAGE, f"{qos} QOS needs {qsc} {name} > max_qsc {max_qsc}")
            if shares == 0:
                raise TxError(Code.INVALID_REQUEST, "deposit too small for one share")
        if shares < min_shares:
            raise TxError(Code.SLIPPAGE, f"{shares} shares < min_shares {min_shares}")
        self.bank.move_to_pool(ctx, provider, reserve_pool(name), qos)
        self.qsc.debit(ctx, name, provider, qsc)
        pool["qos"] = checked_add(pool["qos"], qos, "pool QOS")
        pool["qsc"] = checked_add(pool["qsc"], qsc, "pool QSC")
        pool["shares"] += shares
        self.set_pool(ctx, pool)
        self.set_shares(ctx, name, provider, self.shares_of(ctx, name, provider) + shares)
        return shares, qsc

    def remove_liquidity(self, ctx: Ctx, name: str, provider: bytes, shares: int, min_qos: int,
                         min_qsc: int) -> tuple[int, int]:
        """Burn `shares` for their floor part of both reserves; returns (qos, qsc)."""
        pool = self.must_pool(ctx, name)
        held = self.shares_of(ctx, name, provider)
        if held < shares:
            raise TxError(Code.INSUFFICIENT_FUNDS, f"{held} shares < {shares}")
        accrue(pool, now_ms(ctx))
        qos = shares * pool["qos"] // pool["shares"]
        qsc = shares * pool["qsc"] // pool["shares"]
        if qos < min_qos or qsc < min_qsc:
            raise TxError(Code.SLIPPAGE, f"{qos} QOS and {qsc} {name} < min {min_qos}, {min_qsc}")
        pool["qos"] -= qos
        pool["qsc"] -= qsc
        pool["shares"] -= shares
        self.set_pool(ctx, pool)
        self.set_shares(ctx, name, provider, held - shares)
        self.bank.move_from_pool(ctx, reserve_pool(name), provider, qos)
        self.qsc.credit(ctx, name, provider, qsc)
        return qos, qsc

    # ---- trading -----------------------------------------------------------------------------
    def swap(self, ctx: Ctx, name: str, trader: bytes, sell_qos: bool, amount: int,
             min_out: int) -> int:
        """Sell `amount` of QOS (sell_qos) or of the token; returns what the trader got."""
        pool = self.must_pool(ctx, name)
        accrue(pool, now_ms(ctx))
        side_in, side_out = ("qos", "qsc") if sell_qos else ("qsc", "qos")
        out = swap_output(amount, pool[side_in], pool[side_out],
                          ctx.params["exchange"]["swap_fee_bps"])
        if out == 0:
            raise TxError(Code.INVALID_REQUEST, f"selling {amount} buys nothing at this price")
        if out < min_out:
            raise TxError(Code.SLIPPAGE, f"would receive {out} < min_out {min_out}")
        if sell_qos:
            self.bank.move_to_pool(ctx, trader, reserve_pool(name), amount)
            self.qsc.credit(ctx, name, trader, out)
        else:
            self.qsc.debit(ctx, name, trader, amount)
            self.bank.move_from_pool(ctx, reserve_pool(name), trader, out)
        pool[side_in] = checked_add(pool[side_in], amount, f"pool {side_in}")
        pool[side_out] -= out
        self.set_pool(ctx, pool)
        return out

    def add_qos_income(self, ctx: Ctx, name: str, from_pool: str, amount: int) -> None:
        """QOS the pool's QSC earned as a holder (x/qsc's 80%): it stays with the providers."""
        pool = self.must_pool(ctx, name)
        accrue(pool, now_ms(ctx))
        self.bank.pool_sub(ctx, from_pool, amount)
        self.bank.pool_add(ctx, reserve_pool(name), amount)
        pool["qos"] = checked_add(pool["qos"], amount, "pool QOS")
        self.set_pool(ctx, pool)

    # ---- the settlement period's average price ------------------------------------------------
    def period_rate(self, ctx: Ctx, name: str) -> tuple[int, int] | None:
        """The time-weighted QOS-per-QSC price since the period began (or the pool opened), as
        (numerator, denominator); None without a pool, with no time elapsed, or when the pool's
        time-weighted QOS depth was below exchange.min_depth."""
        pool = self.pool(ctx, name)
        if pool is None:
            return None
        accrue(pool, now_ms(ctx))
        elapsed = pool["last_ms"] - pool["start_ms"]
        weighted = pool["cum"] - pool["start_cum"]
        depth = pool["depth"] - pool["start_depth"]
        if elapsed <= 0 or weighted <= 0 or depth < ctx.params["exchange"]["min_depth"] * elapsed:
            return None
        return weighted, elapsed * PRICE_SCALE

    def start_period(self, ctx: Ctx) -> None:
        """Open a new averaging window on every pool (at a settlement boundary)."""
        for pool in self.pools(ctx):
            accrue(pool, now_ms(ctx))
            pool["start_cum"], pool["start_depth"] = pool["cum"], pool["depth"]
            pool["start_ms"] = pool["last_ms"]
            self.set_pool(ctx, pool)

    def invariants(self, ctx: Ctx) -> list[str]:
        problems = []
        for pool in self.pools(ctx):
            name = pool["name"]
            if self.bank.pool(ctx, reserve_pool(name)) != pool["qos"]:
                problems.append(f"exchange: {name} QOS reserve != bank pool")
            owned = sum(shares for _, shares in self.holders(ctx, name))
            if owned + LOCKED_SHARES != pool["shares"]:
                problems.append(f"exchange: {name} shares {pool['shares']} != {owned} + locked")
            if pool["qos"] <= 0 or pool["qsc"] <= 0:
                problems.append(f"exchange: {name} has an empty side")
        return problems
