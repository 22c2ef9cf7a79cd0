"""QCP: outbound queues with strictly increasing seq, inbound relay checked by Merkle proof.

Keys:
    qcp/chain/<chain_id>           {"validators": [[pubkey32, power], ...]} registered at genesis
    qcp/out/<to_chain>/<seq>       det-CBOR QcpPacket (seq in decimal; starts at 1)
    qcp/out_seq/<to_chain>         last seq queued to that chain
    qcp/in_seq/<from_chain>        last seq accepted from that chain
    qcp/result/<from_chain>/<seq>  {"ok", "log"} results of our packets reported back

A relayed packet is accepted only if (1) seq == in_seq + 1, (2) the header is signed by more than
2/3 of the source chain's registered power, (3) the header's height is packet.height + 1
(CometBFT convention: header H+1 carries the app hash after H), and (4) the Merkle proof shows
qcp/out/<our chain>/<seq> -> the packet's exact bytes under the header's app hash. The payload then
runs as a local shadow account of sender@from_chain; its outcome is queued back as a qcp/result.

Header (det-CBOR): {"chain": str, "height": uint, "app_hash": bstr32, "sigs": [[pubkey, sig]...]};
each sig is ed25519 over det-CBOR(["qos/qcp-header/1", chain, height, app_hash]).
"""

from __future__ import annotations

from hashlib import sha256
from typing import Any

from host.chain.store import verify_proof
from host.chain.types import ValidatorUpdate
from host.chain.x.context import Ctx, bech, dec, enc
from host.chain.x.module import AdmissionCheck, AppModule, Handler, Query, QueryRoute, Router
from host.chain.x.qcp import routes
from host.core.errors import Code, TxError
from host.core.tx import Msg

CHAIN = b"qcp/chain/"
OUT = b"qcp/out/"
OUT_SEQ = b"qcp/out_seq/"
IN_SEQ = b"qcp/in_seq/"
RESULT = b"qcp/result/"
HEADER_DOMAIN = "qos/qcp-header/1"
RESULT_TYPE = "qcp/result"


def out_key(to_chain: str, seq: int) -> bytes:
    return OUT + to_chain.encode() + b"/" + str(seq).encode()


def shadow_address(from_chain: str, sender: bytes) -> bytes:
    """The local account a remote sender acts as: never collides with a key-derived address
    except by a SHA-256 collision."""
    return sha256(b"qcp/shadow/" + from_chain.encode() + b"/" + sender).digest()[:20]


def header_sign_bytes(chain: str, height: int, app_hash: bytes) -> bytes:
    return enc([HEADER_DOMAIN, chain, height, app_hash])


def encode_header(
    chain: str, height: int, app_hash: bytes, sigs: list[tuple[bytes, bytes]]
) -> bytes:
    """A signed header from (pubkey, sig) pairs over header_sign_bytes, as relay checks it."""
    return enc({"chain": chain, "height": height, "app_hash": app_hash,
                "sigs": [[pk, sig] for pk, sig in sigs]})


def _registered(ctx: Ctx, chain_id) -> dict:
    if not isinstance(chain_id, str):
        raise TxError(Code.BAD_ENCODING, "chain id must be text")
    info = ctx.get(CHAIN + chain_id.encode())
    if info is None:
        raise TxError(Code.UNKNOWN_CHAIN, f"chain {chain_id!r} is not registered")
    return info


def enqueue(ctx: Ctx, to_chain: str, sender: bytes, payload: dict) -> int:
    seq = (ctx.get(OUT_SEQ + to_chain.encode()) or 0) + 1
    packet = {"from_chain": ctx.chain_id, "to_chain": to_chain, "seq": seq,
              "height": max(ctx.height, 1), "sender": sender, "payload": payload}
    ctx.put(out_key(to_chain, seq), packet)
    ctx.put(OUT_SEQ + to_chain.encode(), seq)
    ctx.emit("qcp_out", to_chain=to_chain, seq=seq, sender=sender)
    return seq


def _check_header(info: dict, raw: bytes, chain: str, height: int) -> bytes:
    from host.core.keys import verify

    try:
        header = dec(raw)
        ok = (isinstance(header, dict) and header.get("chain") == chain
              and header.get("height") == height and isinstance(header.get("app_hash"), bytes)
              and len(header["app_hash"]) == 32 and isinstance(header.get("sigs"), list))
    except Exception:
        ok = False
    if not ok:
        raise TxError(Code.BAD_PROOF, f"header must be chain {chain!r} at height {height}")
    powers = {bytes(pk): p for pk, p in info["validators"]}
    total = sum(powers.values())
    msg = header_sign_bytes(chain, height, header["app_hash"])
    signed: set[bytes] = set()
    for item in header["sigs"]:
        if not (isinstance(item, list) and len(item) == 2):
            raise TxError(Code.BAD_PROOF, "malformed header signature")
        pk, sig = item
        if pk in powers and pk not in signed and verify(pk, msg, sig):
            signed.add(pk)
    if 3 * sum(powers[pk] for pk in signed) <= 2 * total:
        raise TxError(
            Code.BAD_PROOF, "header is not signed by more than 2/3 of the source validators"
        )
    return header["app_hash"]


def _verified_relay(ctx: Ctx, msg: Msg) -> tuple[dict, str]:
    """The relayed packet and its source chain, once the header is signed by more than 2/3 of
    the source's registered power and the Merkle proof shows the packet's exact bytes at
    qcp/out/<this chain>/<seq> under the header's app hash (header h + 1 carries the app hash
    after h). Changes nothing: check_tx runs it as well as the handler."""
    packet, proof, header = msg.get("packet"), msg.get("proof"), msg.get("header")
    if not isinstance(packet, dict) or not isinstance(proof, bytes) \
            or not isinstance(header, bytes):
        raise TxError(Code.BAD_ENCODING, "qcp/relay needs packet, proof and header")
    src: str = packet["from_chain"]  # the codec checked the packet's fields
    info = _registered(ctx, src)
    if packet["to_chain"] != ctx.chain_id:
        raise TxError(Code.INVALID_REQUEST, "packet is not addressed to this chain")
    app_hash = _check_header(info, header, src, packet["height"] + 1)
    if not verify_proof(app_hash, out_key(ctx.chain_id, packet["seq"]), enc(packet), proof):
        raise TxError(Code.BAD_PROOF, "Merkle proof does not show this packet in the source state")
    return packet, src


class QcpModule(AppModule):
    name = "qcp"

    def __init__(self, router: Router) -> None:
        self.router = router  # relayed payloads run through the application's message router

    def handlers(self) -> dict[str, Handler]:
        return {"qcp/send": self.send, "qcp/relay": self.relay}

    def admission_checks(self) -> dict[str, AdmissionCheck]:
        return {"qcp/relay": self.check_relay_admission}

    def queries(self) -> dict[str, Query]:
        return {"qcp/out": self.query_out, "qcp/seq": self.query_seq}

    def routes(self) -> tuple[QueryRoute, ...]:
        return routes.ROUTES

    def init_genesis(self, ctx: Ctx, genesis: Any) -> list[ValidatorUpdate]:
        for chain in genesis.chains:
            if chain.chain_id == genesis.chain_id:
                raise ValueError("a chain cannot register itself for QCP")
            ctx.put(CHAIN + chain.chain_id.encode(),
                    {"validators": [[pk, power] for pk, power in chain.validators]})
        return []

    def send(self, ctx: Ctx, msg: Msg) -> None:
        to_chain = msg["to_chain"]  # the codec checked the message's fields
        _registered(ctx, to_chain)
        payload = msg["payload"]
        if not isinstance(payload, dict) or str(payload.get("type", "")).startswith("qcp/"):
            raise TxError(Code.BAD_ENCODING, "payload must be a non-qcp message")
        enqueue(ctx, to_chain, ctx.signer, payload)

    def relay(self, ctx: Ctx, msg: Msg) -> None:
        packet, src = _verified_relay(ctx, msg)
        seq: int = packet["seq"]
        expected = (ctx.get(IN_SEQ + src.encode()) or 0) + 1
        if seq != expected:
            raise TxError(Code.BAD_SEQUENCE, f"seq {seq}, expected {expected}")
        ctx.put(IN_SEQ + src.encode(), seq)
        payload = packet["payload"]
        if payload.get("type") == RESULT_TYPE:
            ctx.put(RESULT + src.encode() + b"/" + str(payload["seq"]).encode(),
                    {"ok": payload["ok"], "log": payload["log"]})
            ctx.emit("qcp_result", from_chain=src, seq=payload["seq"], ok=payload["ok"])
            return
        ok, log = self._execute(ctx, src, packet["sender"], payload)
        log = log.encode()[:256].decode("utf-8", "ignore")  # QcpResult.log is at most 256 bytes
        enqueue(ctx, src, bytes(20), {"type": RESULT_TYPE, "seq": seq, "ok": ok, "log": log})
        ctx.emit("qcp_in", from_chain=src, seq=seq, ok=ok)

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
        packet, src = _verified_relay(ctx, msg)
        received = ctx.get(IN_SEQ + src.encode()) or 0
        highest = max(admitted.get(src, 0), received)
        seq = packet["seq"]
        if not received < seq <= highest + 1:
            raise TxError(Code.BAD_SEQUENCE, f"seq {seq}, expected {received + 1}.."
                          f"{highest + 1} (counting relays already admitted to the mempool)")
        admitted[src] = max(highest, seq)

    def _execute(self, ctx: Ctx, src: str, sender: bytes, payload: dict) -> tuple[bool, str]:
        branch = ctx.branch()
        branch.signer = shadow_address(src, sender)
        branch.fee_by_msg = []  # the relayer paid the relay fee; the payload pays none
        kind: str = payload["type"]
        handler = self.router.handler(kind)
        if handler is None or kind.startswith("qcp/"):
            return False, "unsupported payload type"
        try:
            handler(branch, payload)
        except TxError as err:
            return False, f"{err.label}: {err.log}"
        ctx.merge(branch)
        return True, "ok"

    def query_out(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        try:
            to_chain, seq = dec(data)
        except Exception:
            raise TxError(Code.INVALID_REQUEST, "data must be det-CBOR [to_chain, seq]") from None
        key = out_key(to_chain, seq)
        packet = ctx.get(key)
        if packet is None:
            raise TxError(Code.NOT_FOUND, f"no packet {seq} to {to_chain}")
        return key, {**packet, "sender": bech(packet["sender"])}

    def query_seq(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        chain = data.decode("ascii", "replace")
        return OUT_SEQ + data, {"chain": chain, "out": ctx.get(OUT_SEQ + data) or 0,
                                "in": ctx.get(IN_SEQ + data) or 0}
