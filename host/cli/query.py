"""`qos query ...`: read the node's state (proofs are verified before they are printed)."""

from __future__ import annotations

import argparse

from host.chain import rest
from host.cli.console import CommandError, print_json


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("query", help="read the node's state")
    group.add_argument(
        "--node", default=rest.DEFAULT_URL, help=f"node REST URL ({rest.DEFAULT_URL})"
    )
    sub = group.add_subparsers(dest="query_command", required=True, metavar="WHAT")
    for name, arg, help_text, func in (
        ("account", "address", "balance, nonce, locked amount of an account", query_account),
        ("tx", "hash", "a committed transaction and its result", query_tx),
        ("block", "height", "a block (header, txs); 'latest' for the newest", query_block),
        ("qsc", "name", "a QSC token", query_qsc),
        ("store", "key", "a raw store key (hex) with its Merkle proof, verified", query_store),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument(arg)
        cmd.set_defaults(func=func)
    for name, help_text, func in (
        ("status", "node status: chain id, height, app hash", query_status),
        ("validators", "the current validator set", query_validators),
        ("mint", "the mint schedule and what has been minted", query_mint),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.set_defaults(func=func)


def _get(node: str, path: str) -> rest.Answer:
    with rest.BlockingNodeClient(node) as client:
        return client.get(path)


def _query(args: argparse.Namespace, path: str) -> int:
    status, doc = _get(args.node, path)
    print_json(doc)
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
        raise CommandError("key must be hex") from None
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
