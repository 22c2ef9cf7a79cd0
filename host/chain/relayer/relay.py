"""Building one relay: fetch a packet with its proof and the source validators' header
signatures, check them the way the destination chain will, and sign the relay tx."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from host.chain.relayer import DEFAULT_FEE
from host.chain.rest import NodeClient, NodeError
from host.chain.x.qcp.module import encode_header, header_sign_bytes, out_key
from host.core.keys import Account

log = logging.getLogger("qos.relay")



class RelayError(Exception):
    """A relay that cannot be made now (a packet that is not the one asked for, too few
    signatures, a refused tx): logged and retried after a pause, since the chains may move on
    (another relayer, more signers up). Node failures are rest.NodeError, retried the same way."""


# ---- building a relay -------------------------------------------------------------------------


@dataclass
class Relay:
    """Everything one `qcp/relay` message carries, plus what the relayer checked it against."""

    packet: dict
    proof: bytes
    header: bytes
    app_hash: bytes
    signed_power: int = 0
    total_power: int = 0

    def message(self) -> dict:
        from host.core.tx import qcp_relay

        return qcp_relay(self.packet, self.proof, self.header)


def check_packet(raw: bytes, src: str, dst: str, seq: int) -> dict:
    """Decode a packet read from the source and make sure it is the one we asked for."""
    from host.core import cbor

    try:
        packet = cbor.loads(raw)
    except cbor.CBORError as exc:
        raise RelayError(f"packet {seq} from {src} is not det-CBOR ({exc})") from None
    expected = {"from_chain": src, "to_chain": dst, "seq": seq}
    if not isinstance(packet, dict) or any(packet.get(k) != v for k, v in expected.items()):
        raise RelayError(f"{src} answered a different packet than {src} -> {dst} seq {seq}")
    height = packet.get("height")
    if not isinstance(height, int) or height < 1:
        raise RelayError(f"packet {seq} from {src} has no valid height")
    return packet


@dataclass
class Side:
    """One chain: its primary REST client (queries, txs) and every node that may sign headers."""

    name: str  # "A" or "B", for logs
    clients: list[NodeClient]
    chain_id: str = ""

    @property
    def primary(self) -> NodeClient:
        return self.clients[0]


async def build_relay(src: Side, dst: Side, seq: int) -> Relay:
    """Fetch packet `seq` from src with its proof and a header signed by src's validators, and
    check it locally the way dst will: proof under the header's app hash, > 2/3 of the power."""
    from host.chain.store import verify_proof

    registered = await dst.primary.qcp_registered_validators(src.chain_id)
    if registered is None:
        raise RelayError(f"{dst.chain_id} has not registered {src.chain_id} for QCP")
    powers = dict(registered)
    raw, _, _ = await src.primary.qcp_packet(dst.chain_id, seq)
    packet = check_packet(raw, src.chain_id, dst.chain_id, seq)
    height = packet["height"]
    proved_raw, proof, at = await src.primary.qcp_packet(dst.chain_id, seq, height)
    if proved_raw != raw or proof is None or at != height:
        raise RelayError(f"{src.name}: packet {seq} changed or lacks a proof at height {height}")
    key = out_key(dst.chain_id, seq)
    by_hash = await _header_signatures(src, dst.chain_id, height + 1, powers)
    total = sum(powers.values())
    if not by_hash:
        raise RelayError(_too_little_power(src.chain_id, height + 1, 0, total))
    app_hash = next((h for h in by_hash if verify_proof(h, key, raw, proof)), None)
    if app_hash is None:
        raise RelayError(f"{src.name}: no signed header {height + 1} of {src.chain_id} under "
                         f"which the proof of packet {seq} verifies")
    sigs = sorted(by_hash[app_hash].items())
    signed = sum(powers[pk] for pk, _ in sigs)
    if 3 * signed <= 2 * total:
        raise RelayError(_too_little_power(src.chain_id, height + 1, signed, total))
    header = encode_header(src.chain_id, height + 1, app_hash, sigs)
    return Relay(packet, proof, header, app_hash, signed, total)


async def _header_signatures(src: Side, dst_chain: str, height: int,
                             powers: dict[bytes, int]) -> dict[bytes, dict[bytes, bytes]]:
    """Valid signatures of src's header `height` by keys dst registered, grouped by the app hash
    they sign (nodes that disagree are sorted out by the proof). Only the primary must answer."""
    from host.core.keys import verify

    answers = await asyncio.gather(*(c.qcp_header_signature(height) for c in src.clients),
                                   return_exceptions=True)
    by_hash: dict[bytes, dict[bytes, bytes]] = {}
    for client, answer in zip(src.clients, answers, strict=True):
        if isinstance(answer, NodeError | RelayError):
            if client is src.primary:
                raise answer
            log.warning("%s: header signer unavailable: %s", src.name, answer)  # others may do
            continue
        if isinstance(answer, BaseException):
            raise answer
        if answer is None:
            continue
        app_hash, pubkey, sig = answer
        if pubkey not in powers:
            log.warning("%s: %s signs headers with a key %s has not registered; ignored",
                        src.name, client.url, dst_chain)
        elif verify(pubkey, header_sign_bytes(src.chain_id, height, app_hash), sig):
            by_hash.setdefault(app_hash, {})[pubkey] = sig
        else:
            log.warning("%s: a node gave a bad header signature for height %d; ignored",
                        src.name, height)
    return by_hash


def _too_little_power(chain: str, height: int, signed: int, total: int) -> str:
    return (f"header {height} of {chain} is signed by {signed} of {total} registered power; "
            f"more than 2/3 is needed (give the API URLs of more {chain} validator nodes)")


def sign_relay_tx(account: Account, chain_id: str, nonce: int, messages: list[dict],
                  fee: int = DEFAULT_FEE) -> bytes:
    from host.core.tx import SignedTx, Tx

    tx = Tx(chain_id, nonce, fee, tuple(messages), "qcp relay")
    return SignedTx(tx, account.pubkey, account.sign(tx.sign_bytes())).encode()


def fit_relays(account: Account, chain_id: str, nonce: int, relays: list[Relay],
               fee: int) -> tuple[bytes, list[Relay]]:
    """Sign a tx with the longest prefix of `relays` that fits the chain's tx size limit."""
    from host.core.errors import TxError

    for count in range(len(relays), 0, -1):
        try:
            messages = [r.message() for r in relays[:count]]
            return sign_relay_tx(account, chain_id, nonce, messages, fee), relays[:count]
        except TxError as exc:
            if count == 1:
                raise RelayError(f"packet {relays[0].packet['seq']} cannot be relayed: "
                                 f"{exc}") from None
    raise RelayError("nothing to relay")
