"""x/qcp: one ordered channel per pair of registered chains, with proven acknowledgements, proven
timeouts and token transfer. docs/qcp.md is the specification; this is one implementation.

Keys on chain C, for each registered chain X (X's client, qcp/chain/<X>, is client.py's):
    qcp/out/<X>/<seq>      det-CBOR Packet queued to X (immutable; seq from 1)
    qcp/out_seq/<X>        last seq queued to X
    qcp/acked/<X>          last seq to X resolved by a proven ack or a proven timeout (in order)
    qcp/result/<X>/<seq>   {"ok", "log"}: how our packet seq to X ended
    qcp/in_seq/<X>         last seq received from X
    qcp/ack/<X>/<seq>      det-CBOR Ack {"ok", "log"} of X's packet seq, written on receipt; its
                           absence in a proven state is the proof that the packet was not received

Every message from another chain (qcp/relay, qcp/ack, qcp/timeout) carries a header of that chain
signed by more than 2/3 of the power in this chain's client of it, and Merkle proofs under the
header's app hash; check_tx verifies them too, so an unproven message never takes a sequence.
"""

from __future__ import annotations

from typing import Any

from host.chain.store import verify_proof
from host.chain.types import ValidatorUpdate
from host.chain.x.context import Ctx, amount, bech, dec
from host.chain.x.module import (
    AdmissionCheck,
    AppModule,
    Handler,
    Query,
    QueryRoute,
    Router,
    Spend,
)
from host.chain.x.qcp import evidence, routes
from host.chain.x.qcp.client import LAST_TIME, Clients, check_header, registered
from host.chain.x.qcp.gateway import Gateways
from host.chain.x.qcp.tokens import NATIVE, TOKENS_TYPE, Tokens, check_denom
from host.chain.x.staking.keeper import StakingKeeper
from host.core.errors import Code, TxError
from host.core.tx import AMOUNT_LIMIT, Msg, check_payload

OUT = b"qcp/out/"
OUT_SEQ = b"qcp/out_seq/"
ACKED = b"qcp/acked/"
RESULT = b"qcp/result/"
IN_SEQ = b"qcp/in_seq/"
ACK = b"qcp/ack/"
DEFAULT_TIMEOUT_SECONDS = 86_400  # a packet sent without a timeout times out a day later
MAX_LOG = 256  # bytes of an ack's log
PACKET_KEYS = frozenset(("from_chain", "to_chain", "seq", "sender", "payload", "timeout_height",
                         "timeout_time"))
TOKENS_KEYS = frozenset(("type", "denom", "amount", "receiver"))


def _seq_key(prefix: bytes, chain: str, seq: int) -> bytes:
    return prefix + chain.encode() + b"/" + str(seq).encode()


def out_key(to_chain: str, seq: int) -> bytes:
    return _seq_key(OUT, to_chain, seq)


def ack_key(from_chain: str, seq: int) -> bytes:
    return _seq_key(ACK, from_chain, seq)


def result_key(to_chain: str, seq: int) -> bytes:
    return _seq_key(RESULT, to_chain, seq)


def shadow_address(from_chain: str, sender: bytes) -> bytes:
    """The local account a remote sender's qcp/send payload acts as: never collides with a
    key-derived address except by a SHA-256 collision."""
    from hashlib import sha256

    return sha256(b"qcp/shadow/" + from_chain.encode() + b"/" + sender).digest()[:20]


def timed_out(packet: dict, height: int, time: float) -> bool:
    """Whether `packet` is late on its destination at block `height` with block time `time`."""
    return bool((packet["timeout_height"] and height >= packet["timeout_height"])
                or (packet["timeout_time"] and time >= packet["timeout_time"]))


def decode_packet(raw: bytes) -> dict:
    """A Packet's envelope, checked (docs/qcp.md section 2); its payload is checked on receipt."""
    def uint(v: Any, low: int = 0) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and low <= v < AMOUNT_LIMIT

    try:
        packet = dec(raw)
    except Exception:
        packet = None
    ok = (isinstance(packet, dict) and packet.keys() == PACKET_KEYS
          and isinstance(packet["from_chain"], str) and isinstance(packet["to_chain"], str)
          and uint(packet["seq"], 1) and uint(packet["timeout_height"])
          and uint(packet["timeout_time"]) and isinstance(packet["sender"], bytes)
          and len(packet["sender"]) == 20 and isinstance(packet["payload"], dict))
    if not ok:
        raise TxError(Code.BAD_ENCODING, "packet is not a det-CBOR QCP Packet")
    return packet


def _check_tokens(payload: dict) -> None:
    value = payload.get("amount")
    if payload.keys() != TOKENS_KEYS or not isinstance(value, int) or isinstance(value, bool) \
            or not 0 < value < AMOUNT_LIMIT or not isinstance(payload["receiver"], bytes) \
            or len(payload["receiver"]) != 20:
        raise TxError(Code.BAD_ENCODING, "a qcp/tokens payload is {denom, amount, receiver}")
    check_denom(payload["denom"])


def _ack_log(log: str) -> str:
    return log.encode()[:MAX_LOG].decode("utf-8", "ignore")


class QcpModule(AppModule):
    name = "qcp"

    def __init__(self, router: Router, tokens: Tokens, staking: StakingKeeper) -> None:
        self.router = router  # relayed payloads run through the application's message router
        self.tokens = tokens
        self.clients = Clients(tokens.bank)
        self.staking = staking  # punishes this chain's validators caught equivocating
        self.gateways = Gateways(tokens.bank, tokens.assets)

    def handlers(self) -> dict[str, Handler]:
        return {"qcp/send": self.send, "qcp/transfer": self.transfer, "qcp/relay": self.relay,
                "qcp/ack": self.ack, "qcp/timeout": self.timeout,
                "qcp/update_client": self.clients.update_client,
                "qcp/misbehaviour": self.misbehaviour,
                "qcp/register": self.clients.register, **self.gateways.handlers()}

    def spends(self) -> dict[str, Spend]:
        return {"qcp/transfer": _qos_sent, "qcp/register": _deposit, "qcp/gateway": _deposit}

    def admission_checks(self) -> dict[str, AdmissionCheck]:
        return {"qcp/relay": self.check_relay_admission, "qcp/ack": self.check_ack_admission,
                "qcp/timeout": self.check_ack_admission}

    def queries(self) -> dict[str, Query]:
        return {"qcp/out": self.query_out, "qcp/seq": self.query_seq, "qcp/ack": self.query_ack,
                "qcp/client": self.clients.query, "qcp/gateway": self.gateways.query}

    def routes(self) -> tuple[QueryRoute, ...]:
        return routes.ROUTES

    def invariants(self, ctx: Ctx) -> list[str]:
        return self.gateways.invariants(ctx)

    def init_genesis(self, ctx: Ctx, genesis: Any) -> list[ValidatorUpdate]:
        for chain in genesis.chains:
            if chain.chain_id == genesis.chain_id:
                raise ValueError("a chain cannot register itself for QCP")
            self.clients.new_client(ctx, chain.chain_id,
                                    [[pk, power] for pk, power in chain.validators])
        return []

    def misbehaviour(self, ctx: Ctx, msg: Msg) -> None:
        """Conflicting headers of the chain `chain` freeze its client (client.py); conflicting
        headers of this chain itself (seen on `chain`) get the validators of this chain that
        signed both punished (evidence.py)."""
        if evidence.of_this_chain(ctx, msg):
            evidence.punish(ctx, self.staking, msg)
        else:
            self.clients.misbehaviour(ctx, msg)

    # ---- the source: queue ------------------------------------------------------------------

    def _enqueue(self, ctx: Ctx, to_chain: str, payload: dict, timeout_height: int = 0,
                 timeout_time: int = 0) -> int:
        registered(ctx, to_chain)
        if not timeout_height and not timeout_time:
            timeout_time = int(ctx.time) + DEFAULT_TIMEOUT_SECONDS
        seq = (ctx.get(OUT_SEQ + to_chain.encode()) or 0) + 1
        ctx.put(out_key(to_chain, seq), {
            "from_chain": ctx.chain_id, "to_chain": to_chain, "seq": seq, "sender": ctx.signer,
            "payload": payload, "timeout_height": timeout_height, "timeout_time": timeout_time})
        ctx.put(OUT_SEQ + to_chain.encode(), seq)
        ctx.emit("qcp_out", to_chain=to_chain, seq=seq, sender=ctx.signer)
        return seq

    def send(self, ctx: Ctx, msg: Msg) -> None:
        """Queue a message to run on another chain as the sender's shadow account there."""
        self._enqueue(ctx, msg["to_chain"], msg["payload"])  # the codec checked the fields

    def transfer(self, ctx: Ctx, msg: Msg) -> None:
        """Escrow (or burn, for a voucher going home) and queue a qcp/tokens packet."""
        to_chain, denom, value = msg["to_chain"], check_denom(msg["denom"]), msg["amount"]
        registered(ctx, to_chain)
        self.tokens.send(ctx, to_chain, denom, ctx.signer, value)
        seq = self._enqueue(ctx, to_chain, {"type": TOKENS_TYPE, "denom": denom, "amount": value,
                                            "receiver": msg["receiver"]},
                            msg["timeout_height"], msg["timeout_time"])
        ctx.emit("qcp_transfer", to_chain=to_chain, seq=seq, denom=denom, amount=value,
                 receiver=msg["receiver"])

    # ---- the destination: receive -----------------------------------------------------------

    def _proven_packet(self, ctx: Ctx, msg: Msg) -> dict:
        """The relayed packet, once the header and the proof of its exact bytes at
        qcp/out/<this chain>/<seq> in the source's state check out. Changes nothing."""
        raw = msg["packet"]
        packet = decode_packet(raw)
        src = packet["from_chain"]
        info = registered(ctx, src)
        if packet["to_chain"] != ctx.chain_id:
            raise TxError(Code.INVALID_REQUEST, "packet is not addressed to this chain")
        _, app_hash = check_header(info, msg["header"], src)
        if not verify_proof(app_hash, out_key(ctx.chain_id, packet["seq"]), raw, msg["proof"]):
            raise TxError(Code.BAD_PROOF, "Merkle proof does not show this packet in the source "
                          "state")
        return packet

    def relay(self, ctx: Ctx, msg: Msg) -> None:
        """Receive the next packet: run it (or, if it is late, only record it as timed out, so
        the ordered channel goes on) and write its ack."""
        packet = self._proven_packet(ctx, msg)
        src, seq = packet["from_chain"], packet["seq"]
        expected = (ctx.get(IN_SEQ + src.encode()) or 0) + 1
        if seq != expected:
            raise TxError(Code.BAD_SEQUENCE, f"seq {seq}, expected {expected}")
        ctx.put(IN_SEQ + src.encode(), seq)
        if timed_out(packet, ctx.height, ctx.time):
            ok, log = False, f"timeout: late at height {ctx.height}"
        else:
            ok, log = self._execute(ctx, packet)
        ctx.put(ack_key(src, seq), {"ok": ok, "log": _ack_log(log)})
        ctx.emit("qcp_in", from_chain=src, seq=seq, ok=ok)

    def _execute(self, ctx: Ctx, packet: dict) -> tuple[bool, str]:
        """Run the payload on a branch, kept only if it succeeds: (ok, log for the ack)."""
        src, payload = packet["from_chain"], packet["payload"]
        branch = ctx.branch()
        branch.fee_by_msg = []  # the relayer paid the relay fee; the payload pays none
        try:
            if payload.get("type") == TOKENS_TYPE:
                _check_tokens(payload)
                got = self.tokens.receive(branch, src, payload["denom"], payload["receiver"],
                                          payload["amount"])
                branch.emit("qcp_receive", from_chain=src, seq=packet["seq"], denom=got,
                            amount=payload["amount"], receiver=payload["receiver"])
            else:
                check_payload(payload)
                branch.signer = shadow_address(src, packet["sender"])
                handler = self.router.handler(payload["type"])
                if handler is None:
                    return False, "unsupported payload type"
                handler(branch, payload)
        except TxError as err:
            return False, f"{err.label}: {err.log}"
        ctx.merge(branch)
        return True, "ok"

    # ---- the source: resolve (ack or timeout), in order --------------------------------------

    def _own_packet(self, ctx: Ctx, chain: str, seq: int) -> dict:
        packet = ctx.get(out_key(chain, seq))
        if packet is None:
            raise TxError(Code.NOT_FOUND, f"no packet {seq} to {chain}")
        return packet

    def _proven_ack(self, ctx: Ctx, msg: Msg) -> tuple[dict, dict]:
        """(our packet, its ack) once the destination's header and the proof of the ack's exact
        bytes at qcp/ack/<this chain>/<seq> in its state check out."""
        chain, seq = msg["chain"], msg["seq"]
        info = registered(ctx, chain)
        packet = self._own_packet(ctx, chain, seq)
        _, app_hash = check_header(info, msg["header"], chain)
        if not verify_proof(app_hash, ack_key(ctx.chain_id, seq), msg["ack"], msg["proof"]):
            raise TxError(Code.BAD_PROOF, "Merkle proof does not show this ack in the "
                          "destination state")
        ack = dec(msg["ack"])
        if not (isinstance(ack, dict) and ack.keys() == {"ok", "log"}
                and isinstance(ack["ok"], bool) and isinstance(ack["log"], str)):
            raise TxError(Code.BAD_ENCODING, "ack must be {ok, log}")
        return packet, ack

    def _proven_timeout(self, ctx: Ctx, msg: Msg) -> dict:
        """Our packet, once the destination's state after block h (header h + 1) is proven to
        hold no ack for it while h and that state's block time are past its timeout."""
        chain, seq = msg["chain"], msg["seq"]
        info = registered(ctx, chain)
        packet = self._own_packet(ctx, chain, seq)
        header_height, app_hash = check_header(info, msg["header"], chain)
        try:
            proof = dec(msg["proof"])
            parts = (proof["absence"], proof["time"], proof["time_proof"])
            ok = isinstance(proof, dict) and len(proof) == 3 \
                and all(isinstance(p, bytes) for p in parts)
        except Exception:
            ok = False
        if not ok:
            raise TxError(Code.BAD_PROOF, "timeout proof must be {absence, time, time_proof}")
        if not verify_proof(app_hash, ack_key(ctx.chain_id, seq), None, proof["absence"]):
            raise TxError(Code.BAD_PROOF, "no proof that the destination lacks the packet's ack")
        if not verify_proof(app_hash, LAST_TIME, proof["time"], proof["time_proof"]):
            raise TxError(Code.BAD_PROOF, "Merkle proof does not show the destination's time")
        time = dec(proof["time"])
        if isinstance(time, bool) or not isinstance(time, int | float):
            raise TxError(Code.BAD_PROOF, "the destination's time is not a number")
        height = header_height - 1
        if not timed_out(packet, height, time):
            raise TxError(Code.INVALID_REQUEST, f"packet {seq} has not timed out on {chain} at "
                          f"height {height} (time {time})")
        return packet

    def ack(self, ctx: Ctx, msg: Msg) -> None:
        packet, ack = self._proven_ack(ctx, msg)
        self._resolve(ctx, packet, ack["ok"], ack["log"])

    def timeout(self, ctx: Ctx, msg: Msg) -> None:
        self._resolve(ctx, self._proven_timeout(ctx, msg), False, "timeout")

    def _resolve(self, ctx: Ctx, packet: dict, ok: bool, log: str) -> None:
        """Record how packet ended; refund a transfer that did not arrive. Strictly in seq order,
        so each packet is resolved once (an ack after a timeout, or a replay, is refused)."""
        chain, seq = packet["to_chain"], packet["seq"]
        expected = (ctx.get(ACKED + chain.encode()) or 0) + 1
        if seq != expected:
            raise TxError(Code.BAD_SEQUENCE, f"seq {seq} resolved out of order, expected "
                          f"{expected}")
        ctx.put(ACKED + chain.encode(), seq)
        ctx.put(result_key(chain, seq), {"ok": ok, "log": log})
        payload = packet["payload"]
        if not ok and payload.get("type") == TOKENS_TYPE:
            self.tokens.refund(ctx, chain, payload["denom"], packet["sender"], payload["amount"])
        ctx.emit("qcp_resolved", to_chain=chain, seq=seq, ok=ok, timeout=log == "timeout")

    # ---- mempool admission: proven first, then in order ------------------------------------

    def check_relay_admission(self, ctx: Ctx, msg: Msg, admitted: dict) -> None:
        """check_tx only: refuse a relay that is sure to fail, counting the relays admitted since
        the last commit (``admitted``: from_chain -> highest seq admitted; updated).

        The header and the Merkle proof are verified first: an unproven relay must not count,
        or a griefer's bogus relay for the next seq would lock the honest one out of the block
        (issue 10). A proven relay for a seq already admitted is admitted too: the tx that
        carries the first copy may still fail in the block (a griefer can append a message it
        cannot pay), so it must not lock out the honest copy either; the later copy fails with
        bad_sequence and its relayer pays one relay fee. Refused: a seq already received
        (committed) and a seq that leaves a gap after the highest one admitted.
        """
        packet = self._proven_packet(ctx, msg)
        src = packet["from_chain"]
        _admit_in_order(admitted, src, ctx.get(IN_SEQ + src.encode()) or 0, packet["seq"])

    def check_ack_admission(self, ctx: Ctx, msg: Msg, admitted: dict) -> None:
        """The same for an ack or a timeout: proven first, then in order after qcp/acked."""
        if msg["type"] == "qcp/ack":
            self._proven_ack(ctx, msg)
        else:
            self._proven_timeout(ctx, msg)
        chain = msg["chain"]
        _admit_in_order(admitted, chain, ctx.get(ACKED + chain.encode()) or 0, msg["seq"])

    # ---- queries ------------------------------------------------------------------------------

    def query_out(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        to_chain, seq = _chain_seq(data)
        key = out_key(to_chain, seq)
        packet = ctx.get(key)
        if packet is None:
            raise TxError(Code.NOT_FOUND, f"no packet {seq} to {to_chain}")
        payload = dict(packet["payload"])
        if payload.get("type") == TOKENS_TYPE:
            payload["receiver"] = bech(payload["receiver"])
        return key, {**packet, "sender": bech(packet["sender"]), "payload": payload}

    def query_ack(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        from_chain, seq = _chain_seq(data)
        key = ack_key(from_chain, seq)
        ack = ctx.get(key)
        if ack is None:
            raise TxError(Code.NOT_FOUND, f"no ack of packet {seq} from {from_chain}")
        return key, ack

    def query_seq(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        chain = data.decode("ascii", "replace")
        return OUT_SEQ + data, {"chain": chain, "out": ctx.get(OUT_SEQ + data) or 0,
                                "in": ctx.get(IN_SEQ + data) or 0,
                                "acked": ctx.get(ACKED + data) or 0}


def _admit_in_order(admitted: dict, chain: str, done: int, seq: int) -> None:
    highest = max(admitted.get(chain, 0), done)
    if not done < seq <= highest + 1:
        raise TxError(Code.BAD_SEQUENCE, f"seq {seq}, expected {done + 1}..{highest + 1} "
                      "(counting messages already admitted to the mempool)")
    admitted[chain] = max(highest, seq)


def _chain_seq(data: bytes) -> tuple[str, int]:
    try:
        chain, seq = dec(data)
    except Exception:
        raise TxError(Code.INVALID_REQUEST, "data must be det-CBOR [chain, seq]") from None
    if not isinstance(chain, str) or not isinstance(seq, int):
        raise TxError(Code.INVALID_REQUEST, "data must be det-CBOR [chain, seq]")
    return chain, seq


def _qos_sent(msg: Msg) -> int:
    return amount(msg.get("amount")) if msg.get("denom") == NATIVE else 0


def _deposit(msg: Msg) -> int:
    return amount(msg.get("deposit"), "deposit")
