"""Staking state.

Keys:
    staking/val/<op20>            validator record (see new_validator)
    staking/cons/<cons20>         operator address of a consensus address
    staking/del/<op20><del20>     {"shares", "index", "renewed"} one delegation
    staking/unb/<t:8><n:8>        {"delegator", "validator", "amount", "complete"} unbonding entry
    staking/set                   {cons_pubkey: power} the active super-node set last sent
    staking/volume                {op20: units} fees paid in blocks it proposed this epoch
    staking/unb_seq               counter for unbonding keys
    staking/ev/<cons20><h:8><kind> height at which that evidence was punished (so only once)
    staking/time/<h:8>            block time of height h, kept for unbonding_seconds (the age and
                                  the time of an infraction at h, whoever reports it)
    staking/time_oldest           the oldest height still under staking/time/
Tokens of validators and delegations sit in the bank pool "bonded"; unbonding ones in "unbonding".
"""

from __future__ import annotations

from hashlib import sha256

from host.chain.x.bank.keeper import BankKeeper
from host.chain.x.context import Ctx, bech
from host.core.errors import Code, TxError

VAL = b"staking/val/"
CONS = b"staking/cons/"
DEL = b"staking/del/"
UNB = b"staking/unb/"
SET = b"staking/set"
VOLUME = b"staking/volume"
UNB_SEQ = b"staking/unb_seq"
EVIDENCE = b"staking/ev/"
BLOCK_TIME = b"staking/time/"
BLOCK_TIME_OLDEST = b"staking/time_oldest"
UNB_NEXT = b"staking/unb_next"  # earliest completion time of any entry (skip work until then)
SCALE = 10**18  # reward index precision
POWER_UNIT = 10_000  # 1 QOS of live weighted stake = 1 unit of consensus power


def epoch(ctx: Ctx) -> int:
    """The consensus period of the running block: blocks 1..E are period 0, and the election in
    block E (closing period 0) picks the set of period 1; genesis belongs to period 0."""
    return max(ctx.height - 1, 0) // ctx.params["staking"]["epoch_blocks"]


def _time_key(height: int) -> bytes:
    return BLOCK_TIME + height.to_bytes(8, "big")


def cons_address(pubkey: bytes) -> bytes:
    return sha256(pubkey).digest()[:20]


def token_value(val: dict, shares: int) -> int:
    return 0 if val["shares"] == 0 else shares * val["tokens"] // val["shares"]


def pending_reward(val: dict, dl: dict) -> int:
    """Rewards a delegation has accrued since it was last settled."""
    return dl["shares"] * (val["index"] - dl["index"]) // SCALE


class StakingKeeper:
    """Validators, delegations and unbondings (the keys above); stake moves through x/bank."""

    def __init__(self, bank: BankKeeper) -> None:
        self.bank = bank

    def validator(self, ctx: Ctx, op: bytes) -> dict | None:
        return ctx.get(VAL + op)

    def must_validator(self, ctx: Ctx, op: bytes) -> dict:
        val = self.validator(ctx, op)
        if val is None:
            raise TxError(Code.NOT_FOUND, f"no validator {bech(op)}")
        return val

    def set_validator(self, ctx: Ctx, val: dict) -> None:
        ctx.put(VAL + val["operator"], val)

    def validators(self, ctx: Ctx) -> list[dict]:
        return [v for _, v in ctx.items(VAL)]

    def by_cons(self, ctx: Ctx, cons: bytes) -> dict | None:
        op = ctx.get(CONS + cons)
        return None if op is None else self.validator(ctx, op)

    def new_validator(
        self, ctx: Ctx, op: bytes, cons_pubkey: bytes, moniker: str, commission: int
    ) -> dict:
        if self.validator(ctx, op) is not None:
            raise TxError(Code.ALREADY_EXISTS, f"{bech(op)} is already a validator")
        cons = cons_address(cons_pubkey)
        if ctx.get(CONS + cons) is not None:
            raise TxError(Code.ALREADY_EXISTS, "consensus key already in use")
        val = {"operator": op, "cons_pubkey": cons_pubkey, "moniker": moniker,
               "commission": commission, "tokens": 0, "shares": 0, "index": 0,
               "barred_epoch": -1, "removed": False, "missed": 0, "missed_epoch": 0,
               "remove_votes": [], "created": ctx.height}
        ctx.put(CONS + cons, op)
        self.set_validator(ctx, val)
        return val

    def delegation(self, ctx: Ctx, op: bytes, delegator: bytes) -> dict | None:
        return ctx.get(DEL + op + delegator)

    def set_delegation(self, ctx: Ctx, op: bytes, delegator: bytes, dl: dict) -> None:
        ctx.put(DEL + op + delegator, dl)

    def delegations_of(self, ctx: Ctx, op: bytes) -> list[tuple[bytes, dict]]:
        return [(k[len(DEL) + 20 :], v) for k, v in ctx.items(DEL + op)]

    def settle(self, ctx: Ctx, val: dict, delegator: bytes, dl: dict) -> None:
        """Pay a delegation's accrued rewards into its owner's balance (from the rewards pool).
        A lapsed delegation (时效 over) earns nothing: what accrued since it was last settled
        goes to the community pool. Everyone is settled every payout_blocks, so a delegation
        loses at most that many blocks of rewards earned just before it lapsed."""
        owed = pending_reward(val, dl)
        dl["index"] = val["index"]
        if owed <= 0:
            return
        if self.lapsed(ctx, dl):
            self.bank.pool_sub(ctx, "rewards", owed)
            self.bank.pool_add(ctx, "community", owed)
            ctx.emit("reward_forfeit", delegator=delegator, validator=val["operator"],
                     amount=owed)
            return
        self.bank.move_from_pool(ctx, "rewards", delegator, owed)
        ctx.emit("reward", delegator=delegator, validator=val["operator"], amount=owed)

    def lapsed(self, ctx: Ctx, dl: dict) -> bool:
        return dl["renewed"] < ctx.time - ctx.params["staking"]["renew_seconds"]

    def bond(self, ctx: Ctx, val: dict, delegator: bytes, amount: int) -> None:
        if val["removed"]:
            raise TxError(Code.JAILED, "validator was removed")
        if val["shares"] and not val["tokens"]:
            raise TxError(Code.INVALID_REQUEST, "validator has no tokens left")
        self.bank.move_to_pool(ctx, delegator, "bonded", amount)
        shares = amount if val["shares"] == 0 else amount * val["shares"] // val["tokens"]
        if shares == 0:
            raise TxError(Code.INVALID_AMOUNT, "amount too small for one share")
        dl = self.delegation(ctx, val["operator"], delegator)
        if dl is None:
            dl = {"shares": 0, "index": val["index"], "renewed": ctx.time}
        else:
            self.settle(ctx, val, delegator, dl)
        dl["shares"] += shares
        dl["renewed"] = ctx.time  # delegating renews the delegation's 时效
        val["shares"] += shares
        val["tokens"] += amount
        self.set_delegation(ctx, val["operator"], delegator, dl)
        self.set_validator(ctx, val)

    def unbond(self, ctx: Ctx, val: dict, delegator: bytes, amount: int) -> int:
        dl = self.delegation(ctx, val["operator"], delegator)
        if dl is None:
            raise TxError(Code.NOT_FOUND, "no delegation to this validator")
        have = token_value(val, dl["shares"])
        if amount > have:
            raise TxError(Code.INSUFFICIENT_FUNDS, f"delegation worth {have} < {amount}")
        self.settle(ctx, val, delegator, dl)
        # Shares to burn, rounded up so nobody withdraws more than their shares are worth.
        shares = -(-amount * val["shares"] // val["tokens"])
        shares = min(shares, dl["shares"])
        dl["shares"] -= shares
        val["shares"] -= shares
        val["tokens"] -= amount
        if dl["shares"] == 0:
            ctx.delete(DEL + val["operator"] + delegator)
        else:
            self.set_delegation(ctx, val["operator"], delegator, dl)
        self.set_validator(ctx, val)
        self.bank.pool_sub(ctx, "bonded", amount)
        self.bank.pool_add(ctx, "unbonding", amount)
        seq = (ctx.get(UNB_SEQ) or 0) + 1
        ctx.put(UNB_SEQ, seq)
        complete = ctx.time + ctx.params["staking"]["unbonding_seconds"]
        key = UNB + int(complete).to_bytes(8, "big") + seq.to_bytes(8, "big")
        ctx.put(key, {"delegator": delegator, "validator": val["operator"], "amount": amount,
                      "complete": complete})
        due = ctx.get(UNB_NEXT)
        if due is None or complete < due:
            ctx.put(UNB_NEXT, complete)
        return int(complete)

    def mature_unbondings(self, ctx: Ctx) -> None:
        due = ctx.get(UNB_NEXT)
        if due is None or due > ctx.time:
            return
        ctx.delete(UNB_NEXT)
        for key, entry in ctx.items(UNB):
            if entry["complete"] > ctx.time:
                ctx.put(UNB_NEXT, entry["complete"])  # keys sort by completion time
                break
            self.bank.move_from_pool(ctx, "unbonding", entry["delegator"], entry["amount"])
            ctx.delete(key)
            ctx.emit("unbond_complete", delegator=entry["delegator"], amount=entry["amount"])

    def slash(self, ctx: Ctx, val: dict, bps: int, reason: str) -> int:
        """Cut `bps` of the validator's bonded tokens into the community pool (shares unchanged)."""
        cut = val["tokens"] * bps // 10_000
        if cut:
            val["tokens"] -= cut
            self.bank.pool_sub(ctx, "bonded", cut)
            self.bank.pool_add(ctx, "community", cut)
        ctx.emit("slash", validator=val["operator"], amount=cut, reason=reason)
        return cut

    def slash_unbonding(self, ctx: Ctx, op: bytes, since: float, bps: int) -> int:
        """Cut `bps` of the validator's unbonding entries that started at or after `since` (stake
        that was bonded when the infraction happened cannot escape by unbonding)."""
        unbonding = ctx.params["staking"]["unbonding_seconds"]
        total = 0
        for key, entry in ctx.items(UNB):
            if entry["validator"] != op or entry["complete"] - unbonding < since:
                continue
            cut = entry["amount"] * bps // 10_000
            if cut:
                entry["amount"] -= cut
                total += cut
                if entry["amount"]:
                    ctx.put(key, entry)
                else:
                    ctx.delete(key)
        if total:
            self.bank.pool_sub(ctx, "unbonding", total)
            self.bank.pool_add(ctx, "community", total)
        return total

    def bar_for_period(self, ctx: Ctx, val: dict, reason: str) -> None:
        """White paper 3.1.4: lose this consensus period's vote and its election."""
        val["barred_epoch"] = epoch(ctx)
        ctx.emit("bar", validator=val["operator"], epoch=val["barred_epoch"], reason=reason)

    def record_block_time(self, ctx: Ctx) -> None:
        """Keep this block's time under its height and forget the times older than the
        unbonding period: evidence of those heights could no longer reach the stake that did it.
        The oldest kept height is remembered, so a block deletes what expired without a scan."""
        ctx.put(_time_key(ctx.height), ctx.time)
        cutoff = ctx.time - ctx.params["staking"]["unbonding_seconds"]
        first = oldest = ctx.get(BLOCK_TIME_OLDEST) or ctx.height
        while oldest < ctx.height:  # block times never decrease: stop at the first one kept
            time = ctx.get(_time_key(oldest))
            if time is not None and time >= cutoff:
                break
            ctx.delete(_time_key(oldest))
            oldest += 1
        if oldest != first or ctx.get(BLOCK_TIME_OLDEST) is None:
            ctx.put(BLOCK_TIME_OLDEST, oldest)

    def infraction_time(self, ctx: Ctx, height: int) -> float | None:
        """When an infraction at `height` happened, by this chain's own clock (never the dates
        the offenders put in the blocks they signed), or None if that is more than the unbonding
        period ago. A height this chain has not reached yet was signed at an unknown time
        before now: every unbonding entry still held may have started after it."""
        unbonding = ctx.params["staking"]["unbonding_seconds"]
        if height > ctx.height:
            return ctx.time - unbonding
        time = ctx.get(_time_key(height))
        return None if time is None or time < ctx.time - unbonding else float(time)

    def punish_equivocation(self, ctx: Ctx, cons: bytes, height: int, kind: str) -> bool:
        """Slash a validator that signed two blocks at `height` (its bonded tokens and what it
        unbonded since the infraction) and bar it for the period; once per (validator, height,
        kind), however many times and by whatever route (the engine, QCP) it is reported.
        Returns whether it was punished now. The caller refuses evidence whose
        infraction_time is None (too old) first."""
        since = self.infraction_time(ctx, height)
        val = self.by_cons(ctx, cons)
        if since is None or val is None or not self.first_report(ctx, cons, height, kind):
            return False
        bps = ctx.params["staking"]["double_sign_slash_bps"]
        self.slash(ctx, val, bps, kind)
        self.slash_unbonding(ctx, val["operator"], since, bps)
        self.bar_for_period(ctx, val, kind)
        self.set_validator(ctx, val)
        return True

    def first_report(self, ctx: Ctx, cons: bytes, height: int, kind: str) -> bool:
        """True once per (validator, infraction height, kind): a replayed report punishes nobody."""
        key = EVIDENCE + cons + height.to_bytes(8, "big") + kind.encode()
        if ctx.get(key) is not None:
            return False
        ctx.put(key, ctx.height)
        return True

    def is_active_candidate(self, ctx: Ctx, val: dict) -> bool:
        return not val["removed"] and val["barred_epoch"] < epoch(ctx)

    def live_weight(self, ctx: Ctx, val: dict) -> int:
        """Stake whose 时效 has not lapsed: delegations renewed within renew_seconds."""
        delegations = self.delegations_of(ctx, val["operator"])
        return sum(token_value(val, dl["shares"]) for _, dl in delegations
                   if not self.lapsed(ctx, dl))

    def election_weights(self, ctx: Ctx, candidates: list[dict]) -> dict[bytes, int]:
        """Each candidate's stake for the election: live stake (时效) while at least
        renew_quorum_bps of the candidates' bonded stake is live; below that, bonded stake, so
        a renewal by few (or by nobody) neither shrinks the set to the few nor freezes stale
        powers."""
        live = {val["operator"]: self.live_weight(ctx, val) for val in candidates}
        bonded = sum(val["tokens"] for val in candidates)
        quorum = ctx.params["staking"]["renew_quorum_bps"]
        if sum(live.values()) * 10_000 >= quorum * bonded:
            return live
        ctx.emit("election_fallback", live=sum(live.values()), bonded=bonded)
        return {val["operator"]: val["tokens"] for val in candidates}

    def election(self, ctx: Ctx) -> dict[bytes, int]:
        """The next super-node set: top max_validators by stake (election_weights) weighted by
        tx volume."""
        params = ctx.params["staking"]
        volume: dict = ctx.get(VOLUME) or {}
        # A floor under the total: a period with little fee volume hands out little bonus, so a
        # cheap tx or two cannot buy a node the whole +volume_bps.
        total_volume = max(sum(volume.values()), params["volume_full_fees"])
        candidates = [val for val in self.validators(ctx) if self._eligible(ctx, val)]
        stakes = self.election_weights(ctx, candidates)
        ranked = []
        for val in candidates:
            bonus = params["volume_bps"] * volume.get(val["operator"], 0) // total_volume
            power = stakes[val["operator"]] * (10_000 + bonus) // 10_000 // POWER_UNIT
            if power > 0:
                ranked.append((-power, val["operator"], val["cons_pubkey"], power))
        ranked.sort()
        return {cons_pk: power for _, _, cons_pk, power in ranked[: params["max_validators"]]}

    def _eligible(self, ctx: Ctx, val: dict) -> bool:
        """Not barred or removed, and still holding its own min_self_bond."""
        if not self.is_active_candidate(ctx, val):
            return False
        self_dl = self.delegation(ctx, val["operator"], val["operator"])
        min_bond = ctx.params["staking"]["min_self_bond"]
        return self_dl is not None and token_value(val, self_dl["shares"]) >= min_bond

    def active_set(self, ctx: Ctx) -> dict[bytes, int]:
        return ctx.get(SET) or {}
