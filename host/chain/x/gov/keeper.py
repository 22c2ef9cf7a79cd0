"""Governance state and the tally.

Keys:
    gov/next                      int  the next proposal id (from 1)
    gov/prop/<id:8>               proposal record (see GovKeeper.submit)
    gov/active/<id:8>             1 while the proposal waits for deposits or votes
    gov/dep/<id:8><addr20>        int  what that account deposited
    gov/vote/<id:8><addr20>       "yes" | "no" | "abstain"
Deposits sit in the bank pool "gov_deposits" until they are refunded or forfeited.
"""

from __future__ import annotations

from host.chain import params, upgrade
from host.chain.x.bank.keeper import BankKeeper
from host.chain.x.context import Ctx
from host.chain.x.qcp import client
from host.chain.x.qsc.keeper import QscKeeper
from host.chain.x.staking.keeper import StakingKeeper, token_value
from host.core.errors import Code, TxError

NEXT = b"gov/next"
PROP = b"gov/prop/"
ACTIVE = b"gov/active/"
DEP = b"gov/dep/"
VOTE = b"gov/vote/"
DEPOSITS = "gov_deposits"
OPTIONS = ("yes", "no", "abstain")
# Pools a community spend may draw on: the 2% of every block plus slashes, and the genesis
# allocation nobody holds. A QSC token's fund is spent by its holders' vote (kind qsc_fund_spend).
SPENDABLE = ("community", "genesis_reserve")


def pid(n: int) -> bytes:
    return n.to_bytes(8, "big")


class GovKeeper:
    def __init__(self, bank: BankKeeper, staking: StakingKeeper, qsc: QscKeeper) -> None:
        self.bank = bank
        self.staking = staking
        self.qsc = qsc

    def proposal(self, ctx: Ctx, n: int) -> dict | None:
        return ctx.get(PROP + pid(n))

    def must_proposal(self, ctx: Ctx, n: int) -> dict:
        prop = self.proposal(ctx, n)
        if prop is None:
            raise TxError(Code.NOT_FOUND, f"no proposal {n}")
        return prop

    def set_proposal(self, ctx: Ctx, prop: dict) -> None:
        ctx.put(PROP + pid(prop["id"]), prop)

    def submit(self, ctx: Ctx, kind: str, content: dict) -> dict:
        n = ctx.get(NEXT) or 1
        ctx.put(NEXT, n + 1)
        prop = {"id": n, "kind": kind, "content": content, "proposer": ctx.signer,
                "status": "deposit", "deposit": 0, "submit_time": ctx.time,
                "deposit_end": ctx.time + ctx.params["gov"]["deposit_seconds"],
                "voting_end": 0.0, "tally": {}, "result": ""}
        ctx.put(ACTIVE + pid(n), 1)
        self.set_proposal(ctx, prop)
        return prop

    def deposit(self, ctx: Ctx, prop: dict, who: bytes, value: int) -> None:
        if prop["status"] != "deposit":
            raise TxError(Code.INVALID_REQUEST, f"proposal {prop['id']} takes no deposits now")
        self.bank.move_to_pool(ctx, who, DEPOSITS, value)
        key = DEP + pid(prop["id"]) + who
        ctx.put(key, (ctx.get(key) or 0) + value)
        prop["deposit"] += value
        if prop["deposit"] >= ctx.params["gov"]["min_deposit"]:
            prop["status"] = "voting"
            prop["voting_end"] = ctx.time + ctx.params["gov"]["voting_seconds"]
            ctx.emit("gov_voting", proposal=prop["id"], until=prop["voting_end"])
        self.set_proposal(ctx, prop)

    def vote(self, ctx: Ctx, prop: dict, who: bytes, option: str) -> None:
        if prop["status"] != "voting":
            raise TxError(Code.INVALID_REQUEST, f"proposal {prop['id']} is not open for votes")
        ctx.put(VOTE + pid(prop["id"]) + who, option)  # a later vote replaces an earlier one

    def votes(self, ctx: Ctx, n: int) -> dict[bytes, str]:
        prefix = VOTE + pid(n)
        return {k[len(prefix) :]: v for k, v in ctx.items(prefix)}

    # ---- the tally ----------------------------------------------------------------------------
    def tally(self, ctx: Ctx, prop: dict) -> dict:
        """Voting power at the end of the voting period. Bonded stake for the chain's pools: a
        delegation votes as its delegator voted, or else as its validator's operator voted
        (Cosmos x/gov inheritance). A QSC fund's spend: the token's holders by balance. Each
        unit is counted once, where it is at the tally, so moving it after a vote gains nothing."""
        votes = self.votes(ctx, prop["id"])
        tally = dict.fromkeys(OPTIONS, 0)
        total = 0
        if prop["kind"] == "qsc_fund_spend":
            for holder, h in self.qsc.holders(ctx, prop["content"]["name"]):
                total += h["balance"]
                if holder in votes:
                    tally[votes[holder]] += h["balance"]
        else:
            for val in self.staking.validators(ctx):
                inherited = votes.get(val["operator"])
                for delegator, dl in self.staking.delegations_of(ctx, val["operator"]):
                    power = token_value(val, dl["shares"])
                    total += power
                    option = votes.get(delegator, inherited)
                    if option is not None:
                        tally[option] += power
        return {**tally, "total": total}

    def decide(self, ctx: Ctx, tally: dict) -> str:
        """'passed', 'rejected' or 'no_quorum' under the params' quorum and threshold."""
        params = ctx.params["gov"]
        voted = tally["yes"] + tally["no"] + tally["abstain"]
        if tally["total"] == 0 or voted * 10_000 < params["quorum_bps"] * tally["total"]:
            return "no_quorum"
        decisive = tally["yes"] + tally["no"]
        if decisive and tally["yes"] * 10_000 > params["threshold_bps"] * decisive:
            return "passed"
        return "rejected"

    # ---- settling deposits ----------------------------------------------------------------------
    def refund(self, ctx: Ctx, n: int) -> None:
        for key, value in ctx.items(DEP + pid(n)):
            self.bank.move_from_pool(ctx, DEPOSITS, key[len(DEP) + 8 :], value)
            ctx.delete(key)

    def forfeit(self, ctx: Ctx, n: int) -> int:
        """A proposal nobody cared to vote on loses its deposits to the community pool (spam)."""
        total = 0
        for key, value in ctx.items(DEP + pid(n)):
            total += value
            ctx.delete(key)
        self.bank.pool_sub(ctx, DEPOSITS, total)
        self.bank.pool_add(ctx, "community", total)
        return total

    # ---- execution ------------------------------------------------------------------------------
    def execute(self, ctx: Ctx, prop: dict) -> str:
        """Run a passed proposal: '' when done, else why it could not run (nothing changes)."""
        content = prop["content"]
        if prop["kind"] == "param_change":
            return self.change_params(ctx, prop)
        if prop["kind"] == "upgrade":
            return upgrade.schedule(ctx, {**content, "proposal": prop["id"]})
        if prop["kind"] == "cancel_upgrade":
            return upgrade.cancel(ctx, content["name"])
        if prop["kind"] == "recover_client":
            return client.recover(ctx, content["chain"], content["substitute"])
        return self.spend(ctx, prop)

    def change_params(self, ctx: Ctx, prop: dict) -> str:
        changes = [(section, key, value) for section, key, value in prop["content"]["changes"]]
        try:
            new = params.changed(ctx.get(params.STORE_KEY), changes)
        except TxError as err:
            return err.log
        ctx.put(params.STORE_KEY, new)
        for section, key, value in changes:
            ctx.emit("gov_param", proposal=prop["id"], key=f"{section}.{key}", value=value)
        return ""

    def spend(self, ctx: Ctx, prop: dict) -> str:
        content = prop["content"]
        pool = content["pool"]
        have = self.bank.pool(ctx, pool)
        if have < content["amount"]:
            return f"pool {pool} holds {have} < {content['amount']}"
        self.bank.move_from_pool(ctx, pool, content["recipient"], content["amount"])
        ctx.emit("gov_spend", proposal=prop["id"], pool=pool, recipient=content["recipient"],
                 amount=content["amount"])
        return ""
