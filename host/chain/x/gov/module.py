"""x/gov wiring: gov/spend, gov/param_change, gov/upgrade, gov/cancel_upgrade,
gov/recover_client, gov/deposit, gov/vote; deadlines and execution at end-block.

A proposal waits up to deposit_seconds for min_deposit; then voting_seconds of votes. At the end
of voting it is tallied (GovKeeper.tally): without quorum_bps of the voting power voting, its
deposits go to the community pool; otherwise they are refunded, and it passes when yes is more
than threshold_bps of yes + no. A passed spend runs at once; if its pool holds too little by then
the proposal ends 'failed' and nothing moves. A passed parameter change writes all its changes
or, if they no longer form valid params (another change passed first), none ('failed'); the
application reloads the params after the block commits, so they rule from the next block. A
proposal that never reaches min_deposit expires and its deposits are refunded (its submit fee
is the cost of trying). A passed upgrade stores its plan for host/chain/upgrade.py, unless its
height has passed by then ('failed'); a passed cancel removes the plan of that name. A passed
recovery gives a frozen or expired QCP client the state of a fresh one (x/qcp/client.py), if
both still qualify.
"""

from __future__ import annotations

from typing import Any

from host.chain import params, upgrade
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
from host.chain.x.module import AdmissionCheck, AppModule, Handler, Query, QueryRoute, Spend
from host.chain.x.qcp import client
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
        return {"gov/spend": self.spend, "gov/param_change": self.param_change,
                "gov/upgrade": self.upgrade, "gov/cancel_upgrade": self.cancel_upgrade,
                "gov/recover_client": self.recover_client,
                "gov/deposit": self.deposit, "gov/vote": self.vote}

    def spends(self) -> dict[str, Spend]:
        proposals = ("gov/spend", "gov/param_change", "gov/upgrade", "gov/cancel_upgrade",
                     "gov/recover_client")
        return {**dict.fromkeys(proposals, _initial_deposit),
                "gov/deposit": lambda msg: amount(msg.get("amount"))}

    def admission_checks(self) -> dict[str, AdmissionCheck]:
        return {"gov/param_change": self.check_param_change, "gov/upgrade": self.check_upgrade,
                "gov/recover_client": self.check_recover_client}

    def queries(self) -> dict[str, Query]:
        return {"gov/proposal": self.query_proposal, "gov/proposals": self.query_proposals,
                "params": self.query_params, "upgrade/plan": upgrade.query_plan}

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
        self._submit(ctx, msg, kind, content)

    def param_change(self, ctx: Ctx, msg: Msg) -> None:
        """{changes, deposit}: propose setting parameters ("section.key=value,..."); refused here
        unless every change is known, governable and in range (host/chain/params.py)."""
        changes = params.parse_changes(msg.get("changes"), ctx.params)
        self._submit(ctx, msg, "param_change", {"changes": [list(c) for c in changes]})

    def check_param_change(self, ctx: Ctx, msg: Msg, view: dict) -> None:
        """A bad change never enters the mempool (it would only burn its fee)."""
        params.parse_changes(msg.get("changes"), ctx.params)

    def upgrade(self, ctx: Ctx, msg: Msg) -> None:
        """{plan, height, info, deposit}: propose halting at `height` for the binary that has an
        upgrade handler named `plan` (host/chain/upgrade.py)."""
        self.check_upgrade(ctx, msg, {})
        content = {"name": msg["plan"], "height": msg["height"], "info": msg.get("info", "")}
        self._submit(ctx, msg, "upgrade", content)

    def check_upgrade(self, ctx: Ctx, msg: Msg, view: dict) -> None:
        upgrade.check_plan(ctx, msg.get("plan"), msg.get("height"))

    def cancel_upgrade(self, ctx: Ctx, msg: Msg) -> None:
        """{plan, deposit}: propose dropping the scheduled plan of that name."""
        name = msg.get("plan")
        if not isinstance(name, str) or not upgrade.NAME_RE.match(name):
            raise TxError(Code.BAD_ENCODING, "plan must be an upgrade plan's name")
        self._submit(ctx, msg, "cancel_upgrade", {"name": name})

    def recover_client(self, ctx: Ctx, msg: Msg) -> None:
        """{chain, substitute, deposit}: propose giving the frozen or expired client of `chain`
        the state of the fresh client `substitute` (registered for the same counterparty)."""
        self.check_recover_client(ctx, msg, {})
        self._submit(ctx, msg, "recover_client",
                     {"chain": msg["chain"], "substitute": msg["substitute"]})

    def check_recover_client(self, ctx: Ctx, msg: Msg, view: dict) -> None:
        client.check_recovery(ctx, msg.get("chain"), msg.get("substitute"))

    def _submit(self, ctx: Ctx, msg: Msg, kind: str, content: dict) -> None:
        initial = _initial_deposit(msg)
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

    def query_params(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        """The parameters in force (at the queried height), as stored."""
        return params.STORE_KEY, ctx.get(params.STORE_KEY)

    def invariants(self, ctx: Ctx) -> list[str]:
        held = sum(v for _, v in ctx.items(DEP))
        pool = self.bank.pool(ctx, DEPOSITS)
        return [] if held == pool else [f"gov: deposits {held} != pool {pool}"]


def _initial_deposit(msg: Msg) -> int:
    return amount(msg.get("deposit"), "deposit", allow_zero=True)
