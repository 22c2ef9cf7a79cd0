"""x/gov wiring: gov/spend, gov/deposit, gov/vote; deadlines and execution at end-block.

A proposal waits up to deposit_seconds for min_deposit; then voting_seconds of votes. At the end
of voting it is tallied (GovKeeper.tally): without quorum_bps of the voting power voting, its
deposits go to the community pool; otherwise they are refunded, and it passes when yes is more
than threshold_bps of yes + no. A passed spend runs at once; if its pool holds too little by then
the proposal ends 'failed' and nothing moves. A proposal that never reaches min_deposit expires
and its deposits are refunded (its submit fee is the cost of trying).
"""

from __future__ import annotations

from typing import Any

from host.chain.types import BlockInfo, ValidatorUpdate
from host.chain.x.bank.keeper import BankKeeper
from host.chain.x.context import Ctx, address, amount, bech
from host.chain.x.gov import routes
from host.chain.x.gov.keeper import (
    ACTIVE,
    DEP,
    DEPOSITS,
    OPTIONS,
    PROP,
    SPENDABLE,
    GovKeeper,
    pid,
)
from host.chain.x.module import AppModule, Handler, Query, QueryRoute
from host.chain.x.qsc.mining import fund_pool
from host.core.errors import Code, TxError
from host.core.tx import Msg

FUND_PREFIX = fund_pool("")  # "qsc_fund/": a QSC token's community fund, by its name


def _proposal_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**63:
        raise TxError(Code.BAD_ENCODING, "proposal must be an id >= 1")
    return value


class GovModule(AppModule):
    name = "gov"

    def __init__(self, keeper: GovKeeper, bank: BankKeeper) -> None:
        self.keeper = keeper
        self.bank = bank

    def handlers(self) -> dict[str, Handler]:
        return {"gov/spend": self.spend, "gov/deposit": self.deposit, "gov/vote": self.vote}

    def queries(self) -> dict[str, Query]:
        return {"gov/proposal": self.query_proposal, "gov/proposals": self.query_proposals}

    def routes(self) -> tuple[QueryRoute, ...]:
        return routes.ROUTES

    # ---- messages -----------------------------------------------------------------------------
    def _content(self, ctx: Ctx, msg: Msg) -> tuple[str, dict]:
        """(kind, content) of a spend proposal: who votes depends on the pool it draws on."""
        pool = msg.get("pool")
        content = {"pool": pool, "recipient": address(msg.get("recipient"), "recipient"),
                   "amount": amount(msg.get("amount"))}
        if pool in SPENDABLE:
            return "community_spend", content
        if isinstance(pool, str) and pool.startswith(FUND_PREFIX):
            content["name"] = self.keeper.qsc.must_token(ctx, pool[len(FUND_PREFIX) :])["name"]
            return "qsc_fund_spend", content
        raise TxError(Code.INVALID_REQUEST,
                      f"pool must be {', '.join(SPENDABLE)} or {FUND_PREFIX}<NAME>")

    def spend(self, ctx: Ctx, msg: Msg) -> None:
        """{pool, recipient, amount, deposit}: propose paying `amount` of a pool to an account."""
        kind, content = self._content(ctx, msg)
        initial = amount(msg.get("deposit"), "deposit", allow_zero=True)
        prop = self.keeper.submit(ctx, kind, content)
        ctx.emit("gov_submit", proposal=prop["id"], kind=kind, proposer=ctx.signer)
        if initial:
            self.keeper.deposit(ctx, prop, ctx.signer, initial)

    def deposit(self, ctx: Ctx, msg: Msg) -> None:
        prop = self.keeper.must_proposal(ctx, _proposal_id(msg.get("proposal")))
        value = amount(msg.get("amount"))
        self.keeper.deposit(ctx, prop, ctx.signer, value)
        ctx.emit("gov_deposit", proposal=prop["id"], depositor=ctx.signer, amount=value)

    def vote(self, ctx: Ctx, msg: Msg) -> None:
        prop = self.keeper.must_proposal(ctx, _proposal_id(msg.get("proposal")))
        option = msg.get("option")
        if option not in OPTIONS:
            raise TxError(Code.BAD_ENCODING, f"option must be one of {', '.join(OPTIONS)}")
        self.keeper.vote(ctx, prop, ctx.signer, option)
        ctx.emit("gov_vote", proposal=prop["id"], voter=ctx.signer, option=option)

    # ---- deadlines ------------------------------------------------------------------------------
    def end_block(self, ctx: Ctx, block: BlockInfo) -> list[ValidatorUpdate]:
        for key, _ in ctx.items(ACTIVE):
            prop = self.keeper.must_proposal(ctx, int.from_bytes(key[len(ACTIVE) :], "big"))
            if prop["status"] == "deposit" and ctx.time >= prop["deposit_end"]:
                self.keeper.refund(ctx, prop["id"])
                self._close(ctx, prop, "expired")
            elif prop["status"] == "voting" and ctx.time >= prop["voting_end"]:
                self._finish(ctx, prop)
        return []

    def _finish(self, ctx: Ctx, prop: dict) -> None:
        prop["tally"] = self.keeper.tally(ctx, prop)
        outcome = self.keeper.decide(ctx, prop["tally"])
        if outcome == "no_quorum":
            self.keeper.forfeit(ctx, prop["id"])
            self._close(ctx, prop, "rejected", "no quorum: deposits to the community pool")
            return
        self.keeper.refund(ctx, prop["id"])
        if outcome == "rejected":
            self._close(ctx, prop, "rejected")
            return
        why = self.keeper.execute(ctx, prop)
        self._close(ctx, prop, "failed" if why else "passed", why)

    def _close(self, ctx: Ctx, prop: dict, status: str, result: str = "") -> None:
        prop["status"], prop["result"] = status, result
        self.keeper.set_proposal(ctx, prop)
        ctx.delete(ACTIVE + pid(prop["id"]))
        ctx.emit("gov_end", proposal=prop["id"], status=status, result=result)

    # ---- queries --------------------------------------------------------------------------------
    def _json(self, ctx: Ctx, prop: dict) -> dict:
        content = {k: bech(v) if isinstance(v, bytes) else v for k, v in prop["content"].items()}
        return {"id": prop["id"], "kind": prop["kind"], "content": content,
                "proposer": bech(prop["proposer"]), "status": prop["status"],
                "result": prop["result"], "deposit": prop["deposit"],
                "submit_time": prop["submit_time"], "deposit_end": prop["deposit_end"],
                "voting_end": prop["voting_end"], "tally": prop["tally"]}

    def query_proposal(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        if len(data) != 8:
            raise TxError(Code.INVALID_REQUEST, "gov/proposal needs an 8-byte big-endian id")
        prop = self.keeper.must_proposal(ctx, int.from_bytes(data, "big"))
        votes = {bech(a): o for a, o in self.keeper.votes(ctx, prop["id"]).items()}
        return PROP + data, {**self._json(ctx, prop), "votes": votes}

    def query_proposals(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        return PROP, [self._json(ctx, p) for _, p in ctx.items(PROP)]

    def invariants(self, ctx: Ctx) -> list[str]:
        held = sum(v for _, v in ctx.items(DEP))
        pool = self.bank.pool(ctx, DEPOSITS)
        return [] if held == pool else [f"gov: deposits {held} != pool {pool}"]

