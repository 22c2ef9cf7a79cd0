"""`qos tx <module> <action>`: build a transaction, sign it (keyring, test key file or device),
broadcast it; or write it unsigned (`--generate-only`), sign a file (`qos tx sign`) and broadcast a
signed file (`qos tx broadcast`), as Cosmos CLIs do.

Every message command comes from one line of ``COMMANDS``: the CLI's words, the message type, and
how to read any argument that the field's kind (host/core/tx.py MESSAGES) does not say, e.g. an
amount in QOS rather than in a token's whole units. Heavy imports stay inside the handlers so
`qos --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host.cli.console import CommandError, UsageError, print_json

if TYPE_CHECKING:
    from host.core.tx import Tx

# Reads one argument into a field value; it sees the fields read before it (swap's amount is QOS
# or token units depending on `sell`).
FieldParser = Callable[[str, dict[str, Any]], Any]


def parse_units(text: str) -> int:
    """'150' -> 150 units; '1.5qos' / '1.5 QOS' -> 15000 units."""
    from host.core.tx import parse_amount

    lowered = text.strip().lower()
    if lowered.endswith("qos"):
        return parse_amount(lowered[:-3].strip())
    if not lowered.isascii() or not lowered.isdigit():
        raise ValueError(f"amount {text!r}: units (digits) or a decimal ending in 'qos'")
    return int(lowered)


def whole_number(text: str) -> int:
    """Token amounts, share counts, sequence numbers: whole units, digits only."""
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"{text!r}: a whole number of units (digits)")
    return int(text)


def hash32(text: str) -> bytes:
    value = bytes.fromhex(text) if len(text) == 64 else b""
    if len(value) != 32:
        raise ValueError(f"{text!r}: a hash is 64 hex digits")
    return value


def boolean(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError(f"{text!r}: true or false")
    return text.lower() == "true"


def qos(text: str, _: dict[str, Any]) -> int:
    return parse_units(text)


def param_changes(text: str, _: dict[str, Any]) -> str:
    """'section.key=INTEGER,...' as the chain parses it (host/chain/params.py checks the rest)."""
    for item in text.split(","):
        key, eq, value = item.partition("=")
        if not key or not eq or not value.isascii() or not value.isdigit():
            raise ValueError(f"{item!r}: expected section.key=INTEGER[,section.key=INTEGER...]")
    return text


@dataclass(frozen=True)
class QosIf:
    """An amount in QOS units when another field equals ``value`` (or differs, with
    ``invert``), else in a token's whole units: read from the command line, and told apart when
    a committed message is printed."""

    field_name: str
    value: str
    invert: bool = False

    def in_qos(self, fields: dict[str, Any]) -> bool:
        return (fields.get(self.field_name) == self.value) != self.invert

    def __call__(self, text: str, fields: dict[str, Any]) -> int:
        return parse_units(text) if self.in_qos(fields) else whole_number(text)


def _by_kind(kind: int) -> FieldParser:
    from host.core import tx as txlib
    from host.core.keys import parse_address

    readers: dict[int, Callable[[str], Any]] = {
        txlib.ADDR: parse_address, txlib.VALADDR: parse_address,
        txlib.AMOUNT: whole_number, txlib.AMOUNT0: whole_number, txlib.POSITIVE: whole_number,
        txlib.UINT: whole_number, txlib.COMMISSION: whole_number, txlib.BOOL: boolean,
        txlib.KEY32: hash32, txlib.HASH32: hash32, txlib.BLOB: bytes.fromhex,
        txlib.PAYLOAD: lambda text: message_from_json(json.loads(text)),
    }
    plain = readers.get(kind, str)
    return lambda text, _: plain(text)


@dataclass(frozen=True)
class MsgCommand:
    """`qos tx MODULE ACTION ARGS`: one message type. ``parsers`` overrides how a field is read;
    fields of kinds AMOUNT0 and UINT (zero by default) and those named in ``options`` become
    options, the rest positionals."""

    words: str  # "bank send"
    msg_type: str  # "bank/transfer"
    help: str
    parsers: dict[str, FieldParser] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()  # older flat names: `qos tx transfer`
    options: tuple[str, ...] = ()  # text fields given as --options, empty by default


C = MsgCommand
MARKET_QOS = QosIf("sell", "QOS")
COMMANDS: tuple[MsgCommand, ...] = (
    C("bank send", "bank/transfer", "send QOS", {"amount": qos}, ("transfer",)),
    C("qsc create", "qsc/create", "create a QSC token (you choose its banker)"),
    C("qsc issue", "qsc/issue", "issue a token's units, as its banker"),
    C("qsc transfer", "qsc/transfer", "send a QSC token"),
    C("qsc approve", "qsc/approve", "let a spender move your token"),
    C("qsc transfer-from", "qsc/transfer_from", "move an owner's token, as approved spender"),
    C("qsc freeze", "qsc/freeze", "freeze units of an account, as banker"),
    C("qsc unfreeze", "qsc/unfreeze", "unfreeze units of an account, as banker"),
    C("qsc pause", "qsc/pause", "pause (true) or resume (false) a token, as banker"),
    C("qsc reserve", "qsc/reserve", "lock a token's reserve, released with value exchanged",
      aliases=("qsc-reserve",)),
    C("staking create-validator", "staking/create_validator", "bond a new validator",
      {"self_bond": qos}),
    C("staking edit-validator", "staking/edit_validator", "change your moniker, commission"),
    C("staking delegate", "staking/delegate", "delegate QOS to a validator", {"amount": qos}),
    C("staking unbond", "staking/unbond", "unbond delegated QOS", {"amount": qos}),
    C("staking renew", "staking/renew", "renew a validator's term"),
    C("staking vote-remove", "staking/vote_remove", "vote to remove a validator"),
    C("identity register", "identity/register", "register this address's identity",
      aliases=("identity-register",)),
    C("identity update", "identity/update", "change this identity's profile hash",
      aliases=("identity-update",)),
    C("identity revoke", "identity/revoke", "revoke this identity (for good)",
      aliases=("identity-revoke",)),
    C("identity attest", "identity/attest", "attest a claim about a user, as a token's owner",
      aliases=("attest",)),
    C("identity unattest", "identity/unattest", "withdraw an attestation", aliases=("unattest",)),
    C("exchange swap", "exchange/swap", "trade on a QOS/QSC market (sell QOS or the token)",
      {"amount": MARKET_QOS, "min_out": QosIf("sell", "QOS", invert=True)}, ("swap",)),
    C("exchange add-liquidity", "exchange/add_liquidity", "deposit QOS and QSC into a market",
      {"qos": qos}, ("add-liquidity",)),
    C("exchange remove-liquidity", "exchange/remove_liquidity", "burn shares for both reserves",
      {"min_qos": qos}, ("remove-liquidity",)),
    C("qcp send", "qcp/send", "send a payload (a message as JSON) to another chain"),
    C("qcp transfer", "qcp/transfer", "move QOS or a token to another chain",
      {"amount": QosIf("denom", "QOS")}),
    C("qcp relay", "qcp/relay", "relay a packet with its proof (hex)"),
    C("qcp ack", "qcp/ack", "relay an acknowledgement (hex)"),
    C("qcp timeout", "qcp/timeout", "prove a packet timed out (hex)"),
    C("qcp update-client", "qcp/update_client", "update a chain's light client (hex)"),
    C("qcp misbehaviour", "qcp/misbehaviour", "report two conflicting headers (hex)"),
    C("qcp register", "qcp/register", "register a chain with a deposit", {"deposit": qos}),
    C("qcp gateway", "qcp/gateway", "declare this chain the gateway of an outside asset",
      {"deposit": qos}),
    C("qcp gateway-mint", "qcp/gateway_mint", "issue a gateway's token against an outside "
      "deposit (its recorder only)"),
    C("qcp gateway-burn", "qcp/gateway_burn", "burn a gateway's token to be paid out outside"),
    C("gov spend", "gov/spend", "propose a spend from a pool",
      {"amount": qos, "deposit": qos}),
    C("gov deposit", "gov/deposit", "add deposit to a proposal", {"amount": qos}),
    C("gov vote", "gov/vote", "vote on a proposal"),
    C("gov param-change", "gov/param_change", "propose parameter changes (GET /params lists them)",
      {"changes": param_changes, "deposit": qos}, ("gov-param-change",)),
    C("gov upgrade", "gov/upgrade", "propose a software upgrade: nodes halt before HEIGHT",
      {"deposit": qos}, ("gov-upgrade",), options=("info",)),
    C("gov cancel-upgrade", "gov/cancel_upgrade", "propose dropping a scheduled upgrade",
      {"deposit": qos}, ("gov-cancel-upgrade",)),
    C("gov recover-client", "gov/recover_client",
      "propose recovering a frozen or expired QCP client from a fresh one", {"deposit": qos},
      ("gov-recover-client",)),
)

COMMAND_OF_TYPE = {command.msg_type: command for command in COMMANDS}


def amount_in_qos(msg: dict[str, Any], name: str) -> bool:
    """Whether field ``name`` of a message (JSON, as the node shows it) counts QOS units."""
    command = COMMAND_OF_TYPE.get(msg.get("type", ""))
    parser = command.parsers.get(name) if command else None
    if isinstance(parser, QosIf):
        return parser.in_qos(msg)
    return parser is qos


def register(commands: argparse._SubParsersAction) -> None:
    from host.core import tx as txlib

    group = commands.add_parser("tx", help="build, sign and broadcast a transaction")
    sub = group.add_subparsers(dest="tx_module", required=True, metavar="MODULE")
    modules: dict[str, argparse._SubParsersAction] = {}
    for command in COMMANDS:
        module, action = command.words.split()
        if module not in modules:
            parser = sub.add_parser(module, help=f"x/{module} messages")
            modules[module] = parser.add_subparsers(dest="tx_action", required=True,
                                                    metavar="ACTION")
        _msg_cmd(modules[module], action, command, txlib.MESSAGES[command.msg_type])
        for alias in command.aliases:
            _msg_cmd(sub, alias, command, txlib.MESSAGES[command.msg_type],
                     help_text=f"= qos tx {command.words}")
    raw = _tx_cmd(sub, "msg", "any message given as JSON (addresses as bech32, bytes as hex)")
    raw.add_argument("msg_json", help='e.g. \'{"type":"qsc/transfer","name":"AB",...}\'')
    raw.set_defaults(build=lambda a: message_from_json(_json_arg(a.msg_json)))
    sign = _signer_args(sub.add_parser("sign", help="sign an unsigned tx file (--generate-only)"))
    sign.add_argument("file", help="the unsigned tx file; '-' for stdin")
    sign.add_argument("--json", action="store_true", help="accepted; the output is JSON anyway")
    sign.set_defaults(func=tx_sign)
    broadcast = sub.add_parser("broadcast", help="send a signed tx file (qos tx sign, --dry-run)")
    broadcast.add_argument("file", help="the signed tx file; '-' for stdin")
    _node_args(broadcast)
    broadcast.set_defaults(func=tx_broadcast)


def _msg_cmd(sub: argparse._SubParsersAction, name: str, command: MsgCommand,
             fields: tuple[tuple[str, int], ...], help_text: str | None = None) -> None:
    from host.core import tx as txlib

    cmd = _tx_cmd(sub, name, help_text or f"{command.help} ({command.msg_type})")
    for field_name, kind in fields:
        flag = field_name.replace("_", "-")
        if kind in (txlib.AMOUNT0, txlib.UINT) or field_name in command.options:
            default = "" if field_name in command.options else "0"
            cmd.add_argument(f"--{flag}", dest=f"field_{field_name}", default=default,
                             metavar=field_name.upper())
        else:
            cmd.add_argument(f"field_{field_name}", metavar=field_name)
    cmd.set_defaults(build=lambda a: build_message(command, fields, a))


def build_message(command: MsgCommand, fields: tuple[tuple[str, int], ...],
                  args: argparse.Namespace) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": command.msg_type}
    for field_name, kind in fields:
        parse = command.parsers.get(field_name) or _by_kind(kind)
        text = getattr(args, f"field_{field_name}")
        try:
            msg[field_name] = parse(text, msg)
        except (ValueError, TypeError) as exc:  # AddressError is a ValueError
            raise UsageError(f"{field_name.replace('_', '-')}: {exc}") from None
    return msg


def _signer_args(cmd: argparse.ArgumentParser) -> argparse.ArgumentParser:
    signer = cmd.add_mutually_exclusive_group()
    signer.add_argument("--from", dest="from_", metavar="NAME|DEVICE|FILE",
                        help="who signs: a keyring key NAME, a device path (udp:HOST:PORT, "
                        "serial:..., hid:..., usb:...) or an unencrypted test key file; "
                        "default $QOS_DEVICE")
    signer.add_argument("--key", help="an unencrypted test key file (= --from FILE)")
    signer.add_argument("--device", help="a device path (= --from DEVICE)")
    cmd.add_argument("--account", type=int, default=0, help="device account (BIP44 account')")
    cmd.add_argument("--index", type=int, default=0, help="device address index")
    cmd.add_argument("--keyring-dir", default=None,
                     help="the keyring --from NAME is in (default $QOS_HOME/keyring)")
    return cmd


def _node_args(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--node", default=None,
                     help="node REST URL (default $QOS_NODE, else client.toml, else local)")
    cmd.add_argument("--no-wait", action="store_true", help="return after check_tx")
    cmd.add_argument("--json", action="store_true", help="the node's receipt as JSON")


def _tx_cmd(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    cmd = _signer_args(sub.add_parser(name, help=help_text))
    _node_args(cmd)
    cmd.add_argument("--chain-id", default=None, help="default: ask the node")
    cmd.add_argument("--nonce", type=int, default=None, help="default: account nonce + 1")
    cmd.add_argument("--fee", type=int, default=None,
                     help="fee offered and paid, in units (default: the node's estimate, "
                     "GET /fees/estimate: the minimum for this tx plus the suggested tip)")
    cmd.add_argument("--memo", default="")
    out = cmd.add_mutually_exclusive_group()
    out.add_argument("--dry-run", action="store_true",
                     help="print the signed tx (a file `qos tx broadcast` sends), do not send")
    out.add_argument("--generate-only", action="store_true",
                     help="print the unsigned tx (a file `qos tx sign` signs); needs no secret")
    cmd.set_defaults(func=tx_built)
    return cmd


def tx_built(args: argparse.Namespace) -> int:
    """A command whose message its parser's `build` makes from the arguments."""
    return _send(args, [args.build(args)])


def _json_arg(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"not JSON: {exc}") from None


def message_from_json(doc: object) -> dict[str, Any]:
    """A message dict from JSON: addresses as bech32 (or 40 hex), byte fields as hex."""
    from host.core import tx as txlib
    from host.core.keys import parse_address

    if not isinstance(doc, dict) or doc.get("type") not in txlib.MESSAGES:
        known = ", ".join(sorted(txlib.MESSAGES))
        raise UsageError(f"msg must be an object with a known type ({known})")
    msg: dict[str, Any] = {"type": doc["type"]}
    for name, kind in txlib.MESSAGES[doc["type"]]:
        if name not in doc:
            raise UsageError(f"{doc['type']}: missing field {name!r}")
        value = doc[name]
        try:
            if kind in (txlib.ADDR, txlib.VALADDR):
                value = parse_address(value)
            elif kind in (txlib.KEY32, txlib.HASH32, txlib.BLOB):
                value = bytes.fromhex(value)
            elif kind == txlib.PAYLOAD:
                value = message_from_json(value)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{doc['type']}.{name}: {exc}") from None
        msg[name] = value
    extra = set(doc) - {"type"} - {n for n, _ in txlib.MESSAGES[doc["type"]]}
    if extra:
        raise UsageError(f"{doc['type']}: unknown fields {sorted(extra)}")
    return msg


def _node_url(args: argparse.Namespace) -> str:
    from host.cli.config import default_node

    return args.node or default_node()


def _send(args: argparse.Namespace, msgs: list[dict[str, Any]]) -> int:
    from host.chain import rest
    from host.core import tx as txlib
    from host.core.keys import address_from_pubkey, encode_address

    signer = Signer.from_args(args, need_secret=not args.generate_only)
    address = address_from_pubkey(signer.pubkey)
    with rest.BlockingNodeClient(_node_url(args)) as node:
        chain_id = args.chain_id or node.chain_id()
        nonce = args.nonce if args.nonce is not None else node.next_nonce(address)

        def build(fee: int) -> Tx:
            try:
                return txlib.Tx(chain_id, nonce, fee, tuple(msgs), args.memo)  # checked once
            except ValueError as exc:  # TxError and AddressError are ValueErrors
                raise UsageError(f"bad tx: {exc}") from None

        fee = args.fee
        if fee is None:  # a blank signature has the real one's size
            sized = txlib.SignedTx(build(0), signer.pubkey, bytes(64)).encode()
            fee = node.fee_for([m["type"] for m in msgs], len(sized))
        tx = build(fee)
        if args.generate_only:
            print_json({"signer": encode_address(address), "pubkey": signer.pubkey.hex(),
                        "unsigned_tx": tx.encode().hex()})
            return 0
        if not args.dry_run:
            _check_with_node(node, txlib.SignedTx(tx, signer.pubkey, bytes(64)).encode())
        raw = signer.sign(tx)
        if args.dry_run:
            print_json({"signer": encode_address(address), "signed_tx": raw.hex()})
            return 0
        status, doc = node.submit(raw, "check" if args.no_wait else "commit")
    return print_receipt(args, status, doc)


RECEIPT_ORDER = ("status", "code", "codespace", "log", "hash", "height")


def _public_key_unlocking(device: Any, where: tuple[int, int]) -> bytes:
    """The signing key's public key; a locked device is unlocked with the PIN asked at the
    terminal, as `qos device` and trezorctl do (a script without a terminal gets the error)."""
    from host.bridge.exceptions import DeviceLocked
    from host.cli.device import read_pin

    try:
        return bytes(device.get_public_key(*where).pubkey)
    except DeviceLocked:
        if not sys.stdin.isatty():
            raise
    print("the device is locked: its PIN unlocks it", file=sys.stderr)
    device.unlock(read_pin(None, "PIN: ", confirm=False))
    return bytes(device.get_public_key(*where).pubkey)


def _check_with_node(node: Any, blank_signed: bytes) -> None:
    """Refuses, before anything is signed, a tx the node would refuse or fail now (a send over
    the balance, a stale nonce, an unbond of more than is bonded: POST /txs/simulate), which the
    user would otherwise learn only after confirming it on the device. A node that cannot say
    (no such route, unreachable) leaves the verdict to the submission."""
    from host.chain.rest import NodeError

    try:
        verdict = node.simulate(blank_signed)
    except NodeError:
        return
    if verdict is not None and verdict["code"] != 0:
        raise UsageError(f"the node would refuse this tx: {verdict['codespace']}: "
                         f"{verdict['log']}: nothing was signed or sent")


def print_receipt(args: argparse.Namespace, status: int, doc: dict[str, Any]) -> int:
    """The node's answer: JSON with --json, else one `name  value` line per field (the outcome
    first); 0 when the tx was accepted (and committed, unless --no-wait) with code 0."""
    if args.json:
        print_json(doc)
    else:
        names = [n for n in RECEIPT_ORDER if n in doc] + sorted(set(doc) - set(RECEIPT_ORDER))
        for name in names:
            value = doc[name]
            text = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value
            print(f"{name:<10} {text}")
    return 0 if status in (200, 202) and doc.get("code") == 0 else 1


def _read_doc(path: str, key: str) -> bytes:
    """The hex field ``key`` of a JSON tx file (as --generate-only and --dry-run print it)."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
        value = json.loads(text)[key]
        return bytes.fromhex(value)
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise UsageError(f"{path}: not a tx file with a hex {key!r} ({exc})") from None


def tx_sign(args: argparse.Namespace) -> int:
    from host.core import tx as txlib
    from host.core.keys import address_from_pubkey, encode_address

    try:
        tx = txlib.Tx.decode(_read_doc(args.file, "unsigned_tx"))
    except ValueError as exc:
        raise UsageError(f"{args.file}: not a valid tx ({exc})") from None
    signer = Signer.from_args(args, need_secret=True)
    raw = signer.sign(tx)
    print_json({"signer": encode_address(address_from_pubkey(signer.pubkey)),
                "signed_tx": raw.hex()})
    return 0


def tx_broadcast(args: argparse.Namespace) -> int:
    from host.chain import rest
    from host.core import tx as txlib

    raw = _read_doc(args.file, "signed_tx")
    try:
        signed = txlib.SignedTx.decode(raw)
    except ValueError as exc:
        raise UsageError(f"{args.file}: not a valid signed tx ({exc})") from None
    if not signed.verify():
        raise UsageError(f"{args.file}: the signature does not verify")
    with rest.BlockingNodeClient(_node_url(args)) as node:
        status, doc = node.submit(raw, "check" if args.no_wait else "commit")
    return print_receipt(args, status, doc)


DEVICE_SCHEMES = ("udp:", "serial:", "hid:", "usb:")


class Signer:
    """A keyring key, an unencrypted test key file or a device, as --from/--key/--device say."""

    def __init__(self, pubkey: bytes, account: Any = None, device: Any = None,
                 path: tuple[int, int] = (0, 0), source: str = "") -> None:
        self.pubkey, self.account, self.device = pubkey, account, device
        self.path, self.source = path, source

    @classmethod
    def from_args(cls, args: argparse.Namespace, need_secret: bool) -> Signer:
        import os

        from host.cli.keys import key_entry, open_key, public_key_of
        from host.core.keyring import is_key_name

        source = args.from_ or args.key or args.device or os.environ.get("QOS_DEVICE")
        if not source:
            raise UsageError("who signs? --from NAME|DEVICE|FILE (or set $QOS_DEVICE)")
        if args.device or source.startswith(DEVICE_SCHEMES):
            return cls._device(source, (args.account, args.index))
        if not need_secret:
            return cls(public_key_of(source, args.keyring_dir), source=source)
        entry = key_entry(source, args.keyring_dir) if is_key_name(source) else None
        if entry is not None and entry.device is not None:
            where = entry.device
            signer = cls._device(where.path, (where.account, where.index))
            if signer.pubkey.hex() != entry.pubkey:
                signer.device.close()
                raise CommandError(f"key {source!r}: the device at {where.path} holds another "
                                   "key (another wallet, passphrase or device)")
            return signer
        account = open_key(source, args.keyring_dir)
        return cls(account.pubkey, account=account, source=source)

    @classmethod
    def _device(cls, path: str, where: tuple[int, int]) -> Signer:
        from host.bridge.client import Client
        from host.bridge.exceptions import BadDevicePath, DeviceError, TransportError

        try:
            device = Client.open(path)
            pubkey = _public_key_unlocking(device, where)
        except BadDevicePath as exc:
            raise UsageError(str(exc)) from None
        except (DeviceError, TransportError, ValueError) as exc:
            raise CommandError(f"device {path}: {exc}") from None
        return cls(pubkey, device=device, path=where, source=path)

    def sign(self, tx: Tx) -> bytes:
        from host.bridge.exceptions import DeviceError, TransportError
        from host.core.tx import SignedTx

        if self.account is not None:
            return SignedTx(tx, self.pubkey, self.account.sign(tx.sign_bytes())).encode()
        if self.device is None:
            raise UsageError(f"{self.source}: no secret opened to sign with")
        print("confirm the transaction on the device ...", file=sys.stderr, flush=True)
        try:
            signature = self.device.sign_tx(tx, *self.path)
        except (DeviceError, TransportError) as exc:
            raise CommandError(f"device did not sign: {exc}") from None
        finally:
            self.device.close()
        if signature.pubkey != self.pubkey:
            raise CommandError("the device signed with a different key than it reported")
        return SignedTx(tx, signature.pubkey, signature.sig).encode()
