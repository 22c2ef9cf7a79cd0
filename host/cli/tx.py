"""`qos tx ...`: build a transaction, sign it with a key file or on a device, broadcast it.

Heavy imports (the codec, the bridge client) stay inside the handlers so `qos --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from host.chain import rest
from host.cli.console import CommandError, print_json
from host.cli.keys import load_key_file

if TYPE_CHECKING:
    from host.core.tx import Tx

Handler = Callable[[argparse.Namespace], int]


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("tx", help="build, sign and broadcast a transaction")
    sub = group.add_subparsers(dest="tx_command", required=True, metavar="MSG")
    transfer = _tx_cmd(sub, "transfer", "send QOS (bank/transfer)", tx_transfer)
    transfer.add_argument("to", help="recipient address (qosacc1...)")
    transfer.add_argument("amount", help="amount in units, or '1.5qos'")
    raw = _tx_cmd(
        sub, "msg", "any message given as JSON (addresses as bech32, bytes as hex)", tx_msg
    )
    raw.add_argument("msg_json", help='e.g. \'{"type":"qsc/transfer","name":"AB",...}\'')
    _register_market(sub)
    _register_identity(sub)
    _register_gov(sub)


def _register_market(sub: argparse._SubParsersAction) -> None:
    """x/exchange and the QSC reserve (docs/protocol.md section 4)."""
    from host.core import tx as txlib

    cmd = _built_cmd(sub, "swap", "trade on a QOS/QSC market (exchange/swap)", lambda a: txlib.swap(
        a.name, a.sell, parse_units(a.amount) if a.sell == "QOS" else qsc_units(a.amount),
        qsc_units(a.min_out) if a.sell == "QOS" else parse_units(a.min_out)))
    cmd.add_argument("name", help="the QSC token whose market it is")
    cmd.add_argument("sell", help="what to sell: QOS or the token's name")
    cmd.add_argument("amount", help="how much: QOS in units or '1.5qos', QSC in units")
    cmd.add_argument("--min-out", default="0", help="refuse if it buys less (slippage limit)")
    cmd = _built_cmd(sub, "add-liquidity", "deposit QOS and QSC into a market (opens it)",
                     lambda a: txlib.add_liquidity(a.name, parse_units(a.qos),
                                                   qsc_units(a.max_qsc), qsc_units(a.min_shares)))
    cmd.add_argument("name")
    cmd.add_argument("qos", help="QOS to deposit, units or '1.5qos'")
    cmd.add_argument("max_qsc", help="at most this much QSC (the opening deposit takes all)")
    cmd.add_argument("--min-shares", default="0", help="refuse fewer shares than this")
    cmd = _built_cmd(sub, "remove-liquidity", "burn market shares for both reserves",
                     lambda a: txlib.remove_liquidity(a.name, qsc_units(a.shares),
                                                      parse_units(a.min_qos), qsc_units(a.min_qsc)))
    cmd.add_argument("name")
    cmd.add_argument("shares")
    cmd.add_argument("--min-qos", default="0")
    cmd.add_argument("--min-qsc", default="0")
    cmd = _built_cmd(sub, "qsc-reserve", "lock a token's reserve, released with value exchanged",
                     lambda a: txlib.qsc_reserve(a.name, qsc_units(a.amount),
                                                 qsc_units(a.full_volume)))
    cmd.add_argument("name")
    cmd.add_argument("amount", help="QSC units locked for the owner")
    cmd.add_argument("full_volume", help="QSC exchanged at which all of it is released")


def _register_identity(sub: argparse._SubParsersAction) -> None:
    """x/identity (docs/protocol.md section 4)."""
    from host.core import tx as txlib

    cmd = _built_cmd(sub, "identity-register", "register this address's identity",
                     lambda a: txlib.register_identity(hash32(a.profile_hash)))
    cmd.add_argument("profile_hash", help="64 hex digits")
    cmd = _built_cmd(sub, "identity-update", "change this identity's profile hash",
                     lambda a: txlib.update_identity(hash32(a.profile_hash)))
    cmd.add_argument("profile_hash", help="64 hex digits")
    _built_cmd(sub, "identity-revoke", "revoke this identity (for good)",
               lambda a: txlib.revoke_identity())
    cmd = _built_cmd(sub, "attest", "attest a claim about a user, as a QSC token's owner",
                     lambda a: txlib.attest_identity(a.subject, a.token, hash32(a.claim_hash)))
    cmd.add_argument("subject", help="the user's address (qosacc1...)")
    cmd.add_argument("token", help="your QSC token's name")
    cmd.add_argument("claim_hash", help="64 hex digits: the hash of what you checked")
    cmd = _built_cmd(sub, "unattest", "withdraw an attestation",
                     lambda a: txlib.unattest_identity(a.subject, a.token))
    cmd.add_argument("subject")
    cmd.add_argument("token")


def _register_gov(sub: argparse._SubParsersAction) -> None:
    """x/gov proposals that change the chain (docs/consensus.md, governance)."""
    from host.core import tx as txlib

    cmd = _built_cmd(sub, "gov-param-change", "propose parameter changes (gov/param_change)",
                     lambda a: txlib.gov_param_change(param_changes(a.changes),
                                                      parse_units(a.deposit)))
    cmd.add_argument("changes", nargs="+", help="section.key=value, e.g. gov.quorum_bps=4000 "
                     "(GET /params lists them)")
    cmd.add_argument("--deposit", default="0", help="initial deposit, units or '1000qos'")
    cmd = _built_cmd(sub, "gov-upgrade", "propose a software upgrade at a height (gov/upgrade)",
                     lambda a: txlib.gov_upgrade(a.plan, a.height, a.info,
                                                 parse_units(a.deposit)))
    cmd.add_argument("plan", help="the upgrade's name: the new binary's handler has it")
    cmd.add_argument("height", type=int, help="nodes halt before executing this block")
    cmd.add_argument("--info", default="", help="where operators find the new binary")
    cmd.add_argument("--deposit", default="0", help="initial deposit, units or '1000qos'")
    cmd = _built_cmd(sub, "gov-cancel-upgrade", "propose dropping a scheduled upgrade",
                     lambda a: txlib.gov_cancel_upgrade(a.plan, parse_units(a.deposit)))
    cmd.add_argument("plan")
    cmd.add_argument("--deposit", default="0", help="initial deposit, units or '1000qos'")
    cmd = _built_cmd(sub, "gov-recover-client", "propose recovering a frozen or expired QCP "
                     "client from a fresh one (gov/recover_client)",
                     lambda a: txlib.gov_recover_client(a.chain, a.substitute,
                                                        parse_units(a.deposit)))
    cmd.add_argument("chain", help="the frozen or expired client's chain id")
    cmd.add_argument("substitute", help="the client registered afresh for the same chain")
    cmd.add_argument("--deposit", default="0", help="initial deposit, units or '1000qos'")


def param_changes(items: list[str]) -> dict[str, int]:
    """section.key=value arguments as gov_param_change's map (the chain checks the rest)."""
    changes: dict[str, int] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not value.isdigit():
            raise ValueError(f"{item!r}: expected section.key=INTEGER")
        changes[key] = int(value)
    return changes


def _built_cmd(sub: argparse._SubParsersAction, name: str, help_text: str,
               build: Callable[[argparse.Namespace], dict]) -> argparse.ArgumentParser:
    cmd = _tx_cmd(sub, name, help_text, tx_built)
    cmd.set_defaults(build=build)
    return cmd


def _tx_cmd(
    sub: argparse._SubParsersAction, name: str, help_text: str, func: Handler
) -> argparse.ArgumentParser:
    cmd = sub.add_parser(name, help=help_text)
    signer = cmd.add_mutually_exclusive_group(required=True)
    signer.add_argument("--key", help="sign with this local key file")
    signer.add_argument("--device", help="sign on a device: udp:HOST:PORT | serial:... | hid:...")
    cmd.add_argument("--account", type=int, default=0, help="device account (BIP44 account')")
    cmd.add_argument("--index", type=int, default=0, help="device address index")
    cmd.add_argument(
        "--node", default=rest.DEFAULT_URL, help=f"node REST URL (default {rest.DEFAULT_URL})"
    )
    cmd.add_argument("--chain-id", default=None, help="default: ask the node")
    cmd.add_argument("--nonce", type=int, default=None, help="default: account nonce + 1")
    cmd.add_argument("--fee", type=int, default=None,
                     help="fee offered and paid, in units (default: the node's estimate, "
                     "GET /fees/estimate: the minimum for this tx plus the suggested tip)")
    cmd.add_argument("--memo", default="")
    cmd.add_argument("--no-wait", action="store_true", help="return after check_tx")
    cmd.add_argument("--dry-run", action="store_true", help="print the signed tx, do not send")
    cmd.set_defaults(func=func)
    return cmd


def tx_transfer(args: argparse.Namespace) -> int:
    from host.core import tx as txlib

    try:
        msg = txlib.transfer(args.to, parse_units(args.amount))
    except ValueError as exc:  # TxError and AddressError are ValueErrors
        raise CommandError(str(exc)) from None
    return _send(args, [msg])


def tx_built(args: argparse.Namespace) -> int:
    """A command whose message its parser's `build` makes from the arguments."""
    try:
        msg = args.build(args)
    except ValueError as exc:  # TxError and AddressError are ValueErrors
        raise CommandError(str(exc)) from None
    return _send(args, [msg])


def tx_msg(args: argparse.Namespace) -> int:
    import json

    try:
        doc = json.loads(args.msg_json)
    except ValueError as exc:
        raise CommandError(f"msg is not JSON: {exc}") from None
    return _send(args, [message_from_json(doc)])


def parse_units(text: str) -> int:
    """'150' -> 150 units; '1.5qos' / '1.5 QOS' -> 15000 units."""
    from host.core.tx import parse_amount

    lowered = text.strip().lower()
    if lowered.endswith("qos"):
        return parse_amount(lowered[:-3].strip())
    if not lowered.isdigit():
        raise ValueError(f"amount {text!r}: units (digits) or a decimal ending in 'qos'")
    return int(lowered)


def qsc_units(text: str) -> int:
    """QSC amounts and share counts: whole units, digits only."""
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"{text!r}: a whole number of units (digits)")
    return int(text)


def hash32(text: str) -> bytes:
    value = bytes.fromhex(text) if len(text) == 64 else b""
    if len(value) != 32:
        raise ValueError(f"{text!r}: a hash is 64 hex digits")
    return value


def message_from_json(doc: object) -> dict:
    """A message dict from JSON: addresses as bech32 (or 40 hex), byte fields as hex."""
    from host.core import tx as txlib
    from host.core.keys import parse_address

    if not isinstance(doc, dict) or doc.get("type") not in txlib.MESSAGES:
        known = ", ".join(sorted(txlib.MESSAGES))
        raise CommandError(f"msg must be an object with a known type ({known})")
    msg: dict = {"type": doc["type"]}
    for name, kind in txlib.MESSAGES[doc["type"]]:
        if name not in doc:
            raise CommandError(f"{doc['type']}: missing field {name!r}")
        value = doc[name]
        try:
            if kind in (txlib.ADDR, txlib.VALADDR):
                value = parse_address(value)
            elif kind in (txlib.KEY32, txlib.HASH32, txlib.BLOB):
                value = bytes.fromhex(value)
            elif kind == txlib.PAYLOAD:
                value = message_from_json(value)
        except (ValueError, TypeError) as exc:
            raise CommandError(f"{doc['type']}.{name}: {exc}") from None
        msg[name] = value
    extra = set(doc) - {"type"} - {n for n, _ in txlib.MESSAGES[doc["type"]]}
    if extra:
        raise CommandError(f"{doc['type']}: unknown fields {sorted(extra)}")
    return msg


def _send(args: argparse.Namespace, msgs: list[dict]) -> int:
    from host.core import tx as txlib
    from host.core.keys import address_from_pubkey, encode_address

    signer = _Signer(args)
    address = address_from_pubkey(signer.pubkey)
    with rest.BlockingNodeClient(args.node) as node:
        chain_id = args.chain_id or node.chain_id()
        nonce = args.nonce if args.nonce is not None else node.next_nonce(address)

        def build(fee: int) -> Tx:
            try:
                return txlib.Tx(chain_id, nonce, fee, tuple(msgs), args.memo)  # checked once
            except ValueError as exc:  # TxError and AddressError are ValueErrors
                raise CommandError(f"bad tx: {exc}") from None

        fee = args.fee
        if fee is None:  # a blank signature has the real one's size
            sized = txlib.SignedTx(build(0), signer.pubkey, bytes(64)).encode()
            fee = node.fee_for([m["type"] for m in msgs], len(sized))
        tx = build(fee)
        raw = signer.sign(tx)
        if args.dry_run:
            print_json({"signer": encode_address(address), "signed_tx": raw.hex()})
            return 0
        status, doc = node.submit(raw, "check" if args.no_wait else "commit")
    print_json(doc)
    return 0 if status in (200, 202) and doc.get("code") == 0 else 1


class _Signer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        if args.key:
            self.account = load_key_file(args.key)
            self.pubkey = self.account.pubkey
            self.device = None
        else:
            from host.bridge.client import Client
            from host.bridge.exceptions import DeviceError, TransportError

            try:
                self.device = Client.open(args.device)
                self.pubkey = self.device.get_public_key(args.account, args.index).pubkey
            except (DeviceError, TransportError, ValueError) as exc:
                raise CommandError(f"device {args.device}: {exc}") from None

    def sign(self, tx: Tx) -> bytes:
        from host.bridge.exceptions import DeviceError, TransportError
        from host.core.tx import SignedTx

        if self.device is None:
            return SignedTx(tx, self.pubkey, self.account.sign(tx.sign_bytes())).encode()
        print("confirm the transaction on the device ...", file=sys.stderr, flush=True)
        try:
            signature = self.device.sign_tx(tx, self.args.account, self.args.index)
        except (DeviceError, TransportError) as exc:
            raise CommandError(f"device did not sign: {exc}") from None
        finally:
            self.device.close()
        if signature.pubkey != self.pubkey:
            raise CommandError("the device signed with a different key than it reported")
        return SignedTx(tx, signature.pubkey, signature.sig).encode()

