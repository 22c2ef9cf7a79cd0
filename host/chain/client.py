"""`qos tx|query|keys`: build, sign and broadcast transactions; read the node's state.

Registered into the `qos` CLI by host/cli.py. Heavy imports (aiohttp, the codec, the bridge client)
stay inside the handlers so `qos --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_NODE = "http://127.0.0.1:1317"


def register(commands: argparse._SubParsersAction) -> None:
    _register_keys(commands)
    _register_tx(commands)
    _register_query(commands)


def _register_keys(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("keys", help="local key files (for tests and scripts)")
    sub = group.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="create a key file from a new or given mnemonic")
    add.add_argument("file", help="key file to write (JSON, mode 0600)")
    add.add_argument("--mnemonic-file", default=None, help="recover from these words")
    add.add_argument("--account", type=int, default=0)
    add.add_argument("--index", type=int, default=0)
    add.set_defaults(func=_run, handler="keys_add")
    show = sub.add_parser("show", help="address and public key of a key file")
    show.add_argument("file")
    show.set_defaults(func=_run, handler="keys_show")


def _register_tx(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("tx", help="build, sign and broadcast a transaction")
    sub = group.add_subparsers(dest="tx_command", required=True, metavar="MSG")
    transfer = _tx_cmd(sub, "transfer", "send QOS (bank/transfer)")
    transfer.add_argument("to", help="recipient address (qosacc1...)")
    transfer.add_argument("amount", help="amount in units, or '1.5qos'")
    raw = _tx_cmd(sub, "msg", "any message given as JSON (addresses as bech32, bytes as hex)")
    raw.add_argument("msg_json", help='e.g. \'{"type":"qsc/transfer","name":"AB",...}\'')


def _tx_cmd(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    cmd = sub.add_parser(name, help=help_text)
    signer = cmd.add_mutually_exclusive_group(required=True)
    signer.add_argument("--key", help="sign with this local key file")
    signer.add_argument("--device", help="sign on a device: udp:HOST:PORT | serial:... | hid:...")
    cmd.add_argument("--account", type=int, default=0, help="device account (BIP44 account')")
    cmd.add_argument("--index", type=int, default=0, help="device address index")
    cmd.add_argument("--node", default=DEFAULT_NODE, help=f"node REST URL (default {DEFAULT_NODE})")
    cmd.add_argument("--chain-id", default=None, help="default: ask the node")
    cmd.add_argument("--nonce", type=int, default=None, help="default: account nonce + 1")
    cmd.add_argument("--fee", type=int, default=None, help="fee limit in units (default: node's)")
    cmd.add_argument("--memo", default="")
    cmd.add_argument("--no-wait", action="store_true", help="return after check_tx")
    cmd.add_argument("--dry-run", action="store_true", help="print the signed tx, do not send")
    cmd.set_defaults(func=_run, handler=f"tx_{name}")
    return cmd


def _register_query(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("query", help="read the node's state")
    group.add_argument("--node", default=DEFAULT_NODE, help=f"node REST URL ({DEFAULT_NODE})")
    sub = group.add_subparsers(dest="query_command", required=True, metavar="WHAT")
    for name, arg, help_text in (
        ("account", "address", "balance, nonce, locked amount of an account"),
        ("tx", "hash", "a committed transaction and its result"),
        ("block", "height", "a block (header, txs); 'latest' for the newest"),
        ("qsc", "name", "a QSC token"),
        ("store", "key", "a raw store key (hex) with its Merkle proof, verified"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument(arg)
        cmd.set_defaults(func=_run, handler=f"query_{name}")
    for name, help_text in (
        ("status", "node status: chain id, height, app hash"),
        ("validators", "the current validator set"),
        ("mint", "the mint schedule and what has been minted"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.set_defaults(func=_run, handler=f"query_{name}")


def _run(args: argparse.Namespace) -> int:
    handler = HANDLERS[args.handler]
    try:
        return handler(args)
    except ClientError as exc:
        print(f"qos: error: {exc}", file=sys.stderr)
        return 1


class ClientError(Exception):
    """A user-facing failure: bad arguments, an unreachable node, a rejected tx."""


# ---- HTTP ---------------------------------------------------------------------------------------


def http_json(
    method: str, url: str, body: bytes | None = None, ctype: str = "", quiet: bool = False
) -> tuple[int, dict]:
    """(HTTP status, JSON body) of one request to a node; error statuses are returned, not
    raised. An unreachable node raises ClientError, or gives (0, {"error": ...}) when quiet."""
    try:
        return _http(method, url, body, ctype)
    except ClientError as exc:
        if quiet:
            return 0, {"error": str(exc)}
        raise


def _http(method: str, url: str, body: bytes | None = None, ctype: str = "") -> tuple[int, dict]:
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method=method)
    if ctype:
        request.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(request, timeout=150) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {"error": exc.reason}
    except (urllib.error.URLError, OSError) as exc:
        raise ClientError(f"cannot reach the node at {url}: {exc}") from None


def _get(node: str, path: str) -> tuple[int, dict]:
    return _http("GET", node.rstrip("/") + path)


def _print(doc: object) -> None:
    import json

    print(json.dumps(doc, indent=2, sort_keys=True))


# ---- keys ---------------------------------------------------------------------------------------


def keys_add(args: argparse.Namespace) -> int:
    from mnemonic import Mnemonic

    from host.chain.engine.localkey import save_key
    from host.core.keys import Account

    if args.mnemonic_file:
        words = Path(args.mnemonic_file).read_text().strip()
        if not Mnemonic("english").check(" ".join(words.split())):
            raise ClientError("the mnemonic's checksum or words are wrong")
        new = False
    else:
        words = Mnemonic("english").generate(256)
        new = True
    account = Account.from_mnemonic(" ".join(words.split()), "", args.account, args.index)
    try:
        save_key(args.file, account)
    except FileExistsError as exc:
        raise ClientError(str(exc)) from None
    print(f"address {account.address_string}")
    if new:
        print(f"mnemonic (write it down; it is not stored): {words}")
    return 0


def keys_show(args: argparse.Namespace) -> int:
    account = _load_key(args.file)
    _print({"address": account.address_string, "pubkey": account.pubkey.hex()})
    return 0


def _load_key(path: str):
    from host.chain.engine.localkey import load_key

    try:
        return load_key(path)
    except ValueError as exc:
        raise ClientError(str(exc)) from None


# ---- tx -----------------------------------------------------------------------------------------

FEE_PER_MSG = 20_000  # default fee limit per message: covers the costliest message's fee


def tx_transfer(args: argparse.Namespace) -> int:
    from host.core import tx as txlib

    try:
        msg = txlib.transfer(args.to, parse_units(args.amount))
    except (ValueError, txlib.TxError) as exc:
        raise ClientError(str(exc)) from None
    return _send(args, [msg])


def tx_msg(args: argparse.Namespace) -> int:
    import json

    try:
        doc = json.loads(args.msg_json)
    except ValueError as exc:
        raise ClientError(f"msg is not JSON: {exc}") from None
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


def message_from_json(doc: object) -> dict:
    """A message dict from JSON: addresses as bech32 (or 40 hex), byte fields as hex."""
    from host.core import tx as txlib

    if not isinstance(doc, dict) or doc.get("type") not in txlib.MESSAGES:
        known = ", ".join(sorted(txlib.MESSAGES))
        raise ClientError(f"msg must be an object with a known type ({known})")
    msg: dict = {"type": doc["type"]}
    for name, kind in txlib.MESSAGES[doc["type"]]:
        if name not in doc:
            raise ClientError(f"{doc['type']}: missing field {name!r}")
        value = doc[name]
        try:
            if kind in (txlib.ADDR, txlib.VALADDR):
                value = _address(value)
            elif kind in (txlib.KEY32, txlib.HASH32, txlib.BLOB):
                value = bytes.fromhex(value)
            elif kind == txlib.PAYLOAD:
                value = message_from_json(value)
        except (ValueError, TypeError, txlib.TxError) as exc:
            raise ClientError(f"{doc['type']}.{name}: {exc}") from None
        msg[name] = value
    extra = set(doc) - {"type"} - {n for n, _ in txlib.MESSAGES[doc["type"]]}
    if extra:
        raise ClientError(f"{doc['type']}: unknown fields {sorted(extra)}")
    return msg


def _address(value: object) -> bytes:
    from host.core.tx import address_bytes

    if isinstance(value, str) and len(value) == 40:
        return bytes.fromhex(value)
    if isinstance(value, str) and value.startswith("qosval1"):
        return address_bytes(value, "qosval")
    return address_bytes(value)  # type: ignore[arg-type]


def _send(args: argparse.Namespace, msgs: list[dict]) -> int:
    from host.core import tx as txlib
    from host.core.keys import address_from_pubkey, encode_address

    signer = _Signer(args)
    address = address_from_pubkey(signer.pubkey)
    chain_id = args.chain_id or _node_chain_id(args.node)
    nonce = args.nonce if args.nonce is not None else _next_nonce(args.node, address)
    fee = args.fee if args.fee is not None else FEE_PER_MSG * len(msgs)
    try:
        tx = txlib.Tx(chain_id, nonce, fee, tuple(msgs), args.memo)
    except (ValueError, txlib.TxError) as exc:
        raise ClientError(f"bad tx: {exc}") from None
    raw = signer.sign(tx)
    if args.dry_run:
        _print({"signer": encode_address(address), "signed_tx": raw.hex()})
        return 0
    wait = "check" if args.no_wait else "commit"
    status, doc = _http("POST", f"{args.node.rstrip('/')}/txs?wait={wait}", raw, "application/cbor")
    _print(doc)
    return 0 if status in (200, 202) and doc.get("code") == 0 else 1


class _Signer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        if args.key:
            self.account = _load_key(args.key)
            self.pubkey = self.account.pubkey
            self.device = None
        else:
            from host.bridge.client import Client

            try:
                self.device = Client.open(args.device)
                self.pubkey = self.device.get_public_key(args.account, args.index).pubkey
            except Exception as exc:
                raise ClientError(f"device {args.device}: {exc}") from None

    def sign(self, tx) -> bytes:
        from host.core.tx import SignedTx

        if self.device is None:
            return SignedTx(tx, self.pubkey, self.account.sign(tx.sign_bytes())).encode()
        print("confirm the transaction on the device ...", file=sys.stderr, flush=True)
        try:
            signature = self.device.sign_tx(tx.encode(), self.args.account, self.args.index)
        except Exception as exc:
            raise ClientError(f"device did not sign: {exc}") from None
        finally:
            self.device.close()
        if signature.pubkey != self.pubkey:
            raise ClientError("the device signed with a different key than it reported")
        return SignedTx(tx, signature.pubkey, signature.sig).encode()


def _node_chain_id(node: str) -> str:
    status, doc = _get(node, "/status")
    if status != 200 or "chain_id" not in doc:
        raise ClientError(f"node status failed ({status}): {doc.get('error', doc)}")
    return doc["chain_id"]


def _next_nonce(node: str, address: bytes) -> int:
    status, doc = _get(node, f"/accounts/{address.hex()}")
    if status == 404:
        return 1
    if status != 200:
        raise ClientError(f"account query failed ({status}): {doc.get('error', doc)}")
    return int(doc["value"]["nonce"]) + 1


# ---- query --------------------------------------------------------------------------------------


def _query(args: argparse.Namespace, path: str) -> int:
    status, doc = _get(args.node, path)
    _print(doc)
    return 0 if status == 200 else 1


def query_account(args: argparse.Namespace) -> int:
    return _query(args, f"/accounts/{args.address}")


def query_tx(args: argparse.Namespace) -> int:
    return _query(args, f"/txs/{args.hash}")


def query_block(args: argparse.Namespace) -> int:
    return _query(args, f"/blocks/{args.height}")


def query_qsc(args: argparse.Namespace) -> int:
    return _query(args, f"/qsc/{args.name}")


def query_status(args: argparse.Namespace) -> int:
    return _query(args, "/status")


def query_validators(args: argparse.Namespace) -> int:
    return _query(args, "/validators")


def query_mint(args: argparse.Namespace) -> int:
    return _query(args, "/mint/schedule")


def query_store(args: argparse.Namespace) -> int:
    """Fetch a key with its proof and verify it against the block's app hash before printing."""
    from host.chain.store import verify_proof

    try:
        key = bytes.fromhex(args.key)
    except ValueError:
        raise ClientError("key must be hex") from None
    status, doc = _get(args.node, f"/store/{key.hex()}?prove=true")
    if status not in (200, 404) or doc.get("proof") is None:
        _print(doc)
        return 1
    bstatus, block = _get(args.node, f"/blocks/{doc['height']}")
    if bstatus != 200 or not block.get("app_hash"):
        raise ClientError(f"no app hash for height {doc['height']} to verify against")
    raw = bytes.fromhex(doc["raw"]) if doc.get("raw") else None
    ok = verify_proof(bytes.fromhex(block["app_hash"]), key, raw, bytes.fromhex(doc["proof"]))
    doc["verified"] = bool(ok)
    _print(doc)
    if not ok:
        raise ClientError("the proof does NOT verify against the app hash")
    return 0 if status == 200 else 1


HANDLERS = {
    "keys_add": keys_add,
    "keys_show": keys_show,
    "tx_transfer": tx_transfer,
    "tx_msg": tx_msg,
    "query_account": query_account,
    "query_tx": query_tx,
    "query_block": query_block,
    "query_qsc": query_qsc,
    "query_store": query_store,
    "query_status": query_status,
    "query_validators": query_validators,
    "query_mint": query_mint,
}
