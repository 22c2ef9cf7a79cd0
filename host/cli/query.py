"""`qos query ...`: read the node's state (proofs are verified before they are printed).

Accounts, txs, blocks and the status print as text (amounts in QOS) unless --json is given; the
other answers are JSON documents either way. --node and --json go before or after the subcommand.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from host.chain import rest
from host.cli.console import CommandError, UsageError, print_json

NODE_HELP = "node REST URL (default $QOS_NODE, else client.toml's node, else the local node)"


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("query", help="read the node's state")
    group.add_argument("--node", default=None, help=NODE_HELP)
    group.add_argument("--json", action="store_true", help="JSON output for scripts")
    sub = group.add_subparsers(dest="query_command", required=True, metavar="WHAT")
    for name, arg, help_text, func in (
        ("account", "address", "balance, nonce, locked amount of an account", query_account),
        ("tx", "hash", "a committed transaction and its result", query_tx),
        ("block", "height", "a block (header, txs); 'latest' for the newest", query_block),
        ("qsc", "name", "a QSC token", query_qsc),
        ("store", "key", "a raw store key (hex) with its Merkle proof, verified", query_store),
    ):
        cmd = _subcommand(sub, name, help_text, func)
        cmd.add_argument(arg)
    for name, help_text, func in (
        ("status", "node status: chain id, height, app hash", query_status),
        ("validators", "the current validator set", query_validators),
        ("mint", "the mint schedule and what has been minted", query_mint),
    ):
        _subcommand(sub, name, help_text, func)


def _subcommand(sub: argparse._SubParsersAction, name: str, help_text: str,
                func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    # `balances` as Cosmos CLIs say it (`query bank balances ADDR`)
    cmd = sub.add_parser(name, help=help_text, aliases=["balances"] if name == "account" else [])
    # SUPPRESS: a value given before the subcommand is not reset by this parser's default
    cmd.add_argument("--node", default=argparse.SUPPRESS, help=NODE_HELP)
    cmd.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON output")
    cmd.set_defaults(func=func)
    return cmd


def _get(node: str | None, path: str) -> rest.Answer:
    from host.cli.config import default_node

    with rest.BlockingNodeClient(node or default_node()) as client:
        return client.get(path)


def _query(args: argparse.Namespace, path: str,
           text: Callable[[dict[str, Any]], str] | None = None) -> int:
    status, doc = _get(args.node, path)
    answered = status in (200, 202)  # 202: a tx acknowledged, not yet in a block
    if text is None or args.json or not answered:
        print_json(doc)
    else:
        print(text(doc))
    return 0 if answered else 1


def query_account(args: argparse.Namespace) -> int:
    from host.core.keys import parse_address

    try:
        parse_address(args.address)
    except ValueError as exc:
        raise UsageError(f"address: {exc}") from None
    return _query(args, f"/accounts/{args.address}", account_text)


def account_text(doc: dict[str, Any]) -> str:
    """balance/locked in QOS; other fields as they come."""
    from host.core.tx import format_amount

    value = doc.get("value") or {}
    lines = []
    for name, item in sorted(value.items()) if isinstance(value, dict) else ():
        in_qos = name in ("balance", "locked") and isinstance(item, int)
        lines.append(f"{name:<10} {format_amount(item) if in_qos else item}")
    return "\n".join(lines) or "no such account (nothing received yet)"


def status_text(doc: dict[str, Any]) -> str:
    return "\n".join(f"{name:<16} {item}" for name, item in sorted(doc.items()))


def _line(name: str, value: object) -> str:
    return f"{name:<10} {value}"


def tx_text(doc: dict[str, Any]) -> str:
    """A tx's status; once committed, its result, signer, fee and messages (amounts of QOS in
    QOS, token amounts in the token's units) and its events as the node recorded them."""
    if doc.get("status") != "committed":
        return "\n".join(_line(name, item) for name, item in sorted(doc.items()))
    from host.chain.indexer.decode import decoded
    from host.core.tx import format_amount

    lines = [_line("status", "committed"), _line("hash", doc["hash"]),
             _line("height", f"{doc['height']} (tx {doc['index']} in the block)"),
             _line("result", f"{doc['log']} (code {doc['code']}, {doc['codespace']})")]
    body = decoded(bytes.fromhex(doc["tx"]), doc["code"] == 0)
    if body is None:
        return "\n".join([*lines, _line("tx", "does not decode (the block carries it as sent)")])
    lines += [_line("signer", body["signer"]), _line("fee", format_amount(body["fee"])),
              _line("nonce", body["nonce"])]
    if body["memo"]:
        lines.append(_line("memo", body["memo"]))
    for number, msg in enumerate(body["msgs"], 1):
        lines.append(_line(f"msg {number}", msg["type"]))
        fields = sorted(set(msg) - {"type"})
        lines += [f"  {name:<12} {_field_text(msg, name)}" for name in fields]
    return "\n".join(lines + _event_lines(doc.get("events") or []))


def _field_text(msg: dict[str, Any], name: str) -> str:
    from host.cli.tx import amount_in_qos
    from host.core.tx import format_amount

    value = msg[name]
    if amount_in_qos(msg, name) and isinstance(value, int):
        return format_amount(value)
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)


def _event_lines(events: list[dict[str, Any]]) -> list[str]:
    # Events are the modules' own records: amounts there stay in units (1 QOS = 10000 units).
    return [_line("event", " ".join([event["type"], *(
        f"{key}={value}" for key, value in sorted(event.get("attributes", {}).items()))]))
        for event in events]


def block_text(doc: dict[str, Any]) -> str:
    from host.core.tx import utc_text

    lines = [_line("height", doc["height"]), _line("hash", doc["hash"]),
             _line("time", utc_text(doc["time_ns"] // 1_000_000_000) + " UTC"),
             _line("chain", doc["header"]["chain"]), _line("proposer", doc["proposer"]),
             _line("app_hash", f"{doc['app_hash']} (after this block)"),
             _line("txs", doc["num_txs"])]
    lines += [f"  {tx_hash}" for tx_hash in doc["txs"]]
    return "\n".join(lines + _event_lines(doc.get("events") or []))


def query_tx(args: argparse.Namespace) -> int:
    if len(args.hash) != 64 or not all(c in "0123456789abcdefABCDEF" for c in args.hash):
        raise UsageError("hash: expected the tx's SHA-256, 64 hex digits")
    return _query(args, f"/txs/{args.hash.lower()}", tx_text)


def query_block(args: argparse.Namespace) -> int:
    if args.height != "latest" and not (args.height.isascii() and args.height.isdigit()):
        raise UsageError("height: expected a block height (1, 2, ...) or 'latest'")
    return _query(args, f"/blocks/{args.height}", block_text)


def query_qsc(args: argparse.Namespace) -> int:
    return _query(args, f"/qsc/{args.name}")


def query_status(args: argparse.Namespace) -> int:
    return _query(args, "/status", status_text)


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
        raise UsageError("key must be hex") from None
    status, doc = _get(args.node, f"/store/{key.hex()}?prove=true")
    if status not in (200, 404) or doc.get("proof") is None:
        print_json(doc)
        return 1
    bstatus, block = _get(args.node, f"/blocks/{doc['height']}")
    if bstatus != 200 or not block.get("app_hash"):
        raise CommandError(f"no app hash for height {doc['height']} to verify against")
    raw = bytes.fromhex(doc["raw"]) if doc.get("raw") else None
    ok = verify_proof(bytes.fromhex(block["app_hash"]), key, raw, bytes.fromhex(doc["proof"]))
    doc["verified"] = bool(ok)
    print_json(doc)
    if not ok:
        raise CommandError("the proof does NOT verify against the app hash")
    return 0 if status == 200 else 1
